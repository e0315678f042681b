package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DebugLogPath returns the file --debug-log names for one process: the flag's
// value itself, or inside a directory (a value ending in "/" or an existing
// directory) the file runsc.<id>.<command>.log. It returns "" when the flag
// is unset.
func (c *Config) DebugLogPath(id, command string) string {
	if c.DebugLog == "" {
		return ""
	}
	if strings.HasSuffix(c.DebugLog, "/") {
		return filepath.Join(c.DebugLog, fmt.Sprintf("runsc.%s.%s.log", id, command))
	}
	if fi, err := os.Stat(c.DebugLog); err == nil && fi.IsDir() {
		return filepath.Join(c.DebugLog, fmt.Sprintf("runsc.%s.%s.log", id, command))
	}
	return c.DebugLog
}

// OpenDebugLog opens (creating, appending) the debug log of one process, or
// returns nil, nil when none is configured.
func (c *Config) OpenDebugLog(id, command string) (*os.File, error) {
	p := c.DebugLogPath(id, command)
	if p == "" {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("creating debug log directory: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening debug log %q: %w", p, err)
	}
	return f, nil
}

// NewLogger returns a logger writing to w in the configured format (text or
// json lines with "time", "level", "msg"). Nil w gives a discarding logger.
func (c *Config) NewLogger(w io.Writer, prefix string) *log.Logger {
	if w == nil {
		return log.New(io.Discard, "", 0)
	}
	if c.LogFormat == "json" {
		return log.New(jsonWriter{w: w, prefix: prefix}, "", 0)
	}
	return log.New(w, prefix, log.LstdFlags|log.Lmicroseconds)
}

// jsonWriter turns each log line into one JSON object.
type jsonWriter struct {
	w      io.Writer
	prefix string
}

func (j jsonWriter) Write(p []byte) (int, error) {
	line, err := json.Marshal(struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Time  string `json:"time"`
	}{"debug", j.prefix + strings.TrimRight(string(p), "\n"), time.Now().UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return 0, err
	}
	if _, err := j.w.Write(append(line, '\n')); err != nil {
		return 0, err
	}
	return len(p), nil
}
