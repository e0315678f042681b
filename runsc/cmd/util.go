// Package cmd holds runsc's subcommands (google/subcommands). Each file
// parses one command's flags and arguments and calls runsc/container, which
// holds the logic.
package cmd

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"bulwark.dev/runsc/config"
	"bulwark.dev/runsc/container"

	"github.com/google/subcommands"
)

// Where the commands of this file set write (SetOutput).
var (
	cliStdout io.Writer = os.Stdout
	cliStderr io.Writer = os.Stderr
)

// SetOutput makes the lifecycle commands write their output to stdout and
// their error lines to stderr instead of os.Stdout and os.Stderr.
func SetOutput(stdout, stderr io.Writer) {
	cliStdout, cliStderr = stdout, stderr
}

// session is one command invocation's logging: the debug log
// (--debug-log), runsc's own log (--log) and the error line on stderr.
type session struct {
	conf  *config.Config
	log   *log.Logger // debug messages: --debug-log, --log, or stderr with --debug
	files []*os.File  // the open log files
}

// newSession opens the logs of command acting on container id.
func newSession(conf *config.Config, id, command string) (*session, error) {
	s := &session{conf: conf}
	var ws []io.Writer
	dbg, err := conf.OpenDebugLog(id, command)
	if err != nil {
		return nil, err
	}
	if dbg != nil {
		s.files = append(s.files, dbg)
		ws = append(ws, dbg)
	}
	if conf.Log != "" {
		f, err := os.OpenFile(conf.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("opening log %q: %w", conf.Log, err)
		}
		s.files = append(s.files, f)
		ws = append(ws, f)
	}
	if len(ws) == 0 && conf.Debug {
		ws = append(ws, cliStderr)
	}
	if len(ws) > 0 {
		s.log = conf.NewLogger(io.MultiWriter(ws...), fmt.Sprintf("[%d] %s: ", os.Getpid(), command))
	} else {
		s.log = conf.NewLogger(nil, "")
	}
	container.SetLogger(s.log) // hook failures and cgroup notes go to this log
	return s, nil
}

// close closes the log files.
func (s *session) close() {
	for _, f := range s.files {
		f.Close()
	}
	s.files = nil
}

// fail reports err: one line "runsc: <err>" on stderr, the same as an
// error line in each log file, and exit status 1.
func (s *session) fail(err error) subcommands.ExitStatus {
	fmt.Fprintf(cliStderr, "runsc: %v\n", err)
	for _, f := range s.files {
		logError(f, s.conf.LogFormat, err)
	}
	return subcommands.ExitFailure
}

// logError writes err to a log file: a JSON object with level "error" in
// json format (what containerd's shim looks for), else a text line.
func logError(w io.Writer, format string, err error) {
	if format != "json" {
		log.New(w, "", log.LstdFlags|log.Lmicroseconds).Printf("error: %v", err)
		return
	}
	line, jerr := json.Marshal(struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Time  string `json:"time"`
	}{"error", err.Error(), time.Now().UTC().Format(time.RFC3339Nano)})
	if jerr == nil {
		w.Write(append(line, '\n'))
	}
}

// failEarly reports an error that happened before a session was open.
func failEarly(err error) subcommands.ExitStatus {
	fmt.Fprintf(cliStderr, "runsc: %v\n", err)
	return subcommands.ExitFailure
}

// usageError reports a wrong command line with the command's usage and
// exit status 2, as subcommands does for a bad flag.
func usageError(f *flag.FlagSet, format string, args ...any) subcommands.ExitStatus {
	fmt.Fprintf(cliStderr, "runsc %s: %s\n", f.Name(), fmt.Sprintf(format, args...))
	f.Usage()
	return subcommands.ExitUsageError
}

// oneID returns the single container id argument of f; ok is false when
// there is not exactly one argument.
func oneID(f *flag.FlagSet) (id string, ok bool) {
	if f.NArg() != 1 {
		return "", false
	}
	return f.Arg(0), true
}

// errOneID is the usage error for commands taking one container id.
func errOneID(f *flag.FlagSet) subcommands.ExitStatus {
	return usageError(f, "expected exactly one container id, got %d arguments", f.NArg())
}

// usageText builds a command's help text, man-page style: the synopsis
// line, then a description that ends with the exit statuses.
func usageText(synopsis, description string) string {
	return synopsis + "\n\n" + strings.TrimLeft(description, "\n")
}

// usageWithFlags is usageText for a command with flags, which subcommands
// prints after it.
func usageWithFlags(synopsis, description string) string {
	return usageText(synopsis, description) + "\nFlags:\n"
}

// onContainer runs op on the one container named by f's argument, as
// command (for its log), and logs done ("started", "paused", ...) on
// success: the whole body of the commands that only change a container's
// state.
func onContainer(conf *config.Config, f *flag.FlagSet, command, done string, op func(*container.Container) error) subcommands.ExitStatus {
	id, ok := oneID(f)
	if !ok {
		return errOneID(f)
	}
	s, err := newSession(conf, id, command)
	if err != nil {
		return failEarly(err)
	}
	defer s.close()
	cont, err := container.Load(conf.Root, id)
	if err != nil {
		return s.fail(err)
	}
	if err := op(cont); err != nil {
		return s.fail(err)
	}
	s.log.Printf("%s container %q", done, cont.ID)
	return subcommands.ExitSuccess
}
