package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds every runtime command unless the caller sets another.
const DefaultTimeout = 60 * time.Second

// Runtime runs one OCI runtime binary (runsc or runc) with fixed global flags.
type Runtime struct {
	Bin     string        // path of the binary
	Global  []string      // flags placed before the subcommand, e.g. --root R
	Dir     string        // working directory; "" means the caller's
	Timeout time.Duration // per command; 0 means DefaultTimeout
	Env     []string      // environment; nil means the caller's
}

// Result is the outcome of one command.
type Result struct {
	Args     []string // the full command line
	Stdout   string
	Stderr   string
	ExitCode int // -1 when the command did not exit by itself (timeout, start failure)
	TimedOut bool
	Err      error // start failure or timeout; nil for any exit status
	Duration time.Duration
}

// String describes r for failure messages.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "command: %s\nexit code: %d", strings.Join(r.Args, " "), r.ExitCode)
	if r.Err != nil {
		fmt.Fprintf(&b, "\nerror: %v", r.Err)
	}
	fmt.Fprintf(&b, "\nstdout: %q\nstderr: %q", r.Stdout, r.Stderr)
	return b.String()
}

// Run runs the binary with the global flags and args and waits for it, at
// most the timeout. Output goes to temporary files rather than pipes, so
// that processes which outlive the command (a detached sandbox inheriting
// stdout) cannot make Run wait for them. The command runs in its own process
// group, which is killed on timeout.
func (rt Runtime) Run(args ...string) Result {
	full := append(append([]string{rt.Bin}, rt.Global...), args...)
	res := Result{Args: full, ExitCode: -1}
	timeout := rt.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	stdout, err := os.CreateTemp("", "bw-stdout-")
	if err != nil {
		res.Err = fmt.Errorf("creating stdout file: %w", err)
		return res
	}
	defer os.Remove(stdout.Name())
	defer stdout.Close()
	stderr, err := os.CreateTemp("", "bw-stderr-")
	if err != nil {
		res.Err = fmt.Errorf("creating stderr file: %w", err)
		return res
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rt.Bin, full[1:]...)
	cmd.Dir = rt.Dir
	cmd.Env = rt.Env
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	err = cmd.Run()
	res.Duration = time.Since(start)
	res.Stdout = readAll(stdout.Name())
	res.Stderr = readAll(stderr.Name())
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.TimedOut = true
		res.Err = fmt.Errorf("timed out after %v and was killed", timeout)
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.ExitCode = 128 + int(ws.Signal())
			res.Err = fmt.Errorf("killed by signal %v", ws.Signal())
		}
	default:
		res.Err = err
	}
	return res
}

func readAll(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("<reading %s: %v>", path, err)
	}
	return string(data)
}

// NewStateRoot creates a fresh, short state directory /tmp/bw-<random> for a
// runtime's --root: unix socket paths under it must stay below 108 bytes.
func NewStateRoot() (string, error) {
	dir, err := os.MkdirTemp("/tmp", "bw-")
	if err != nil {
		return "", fmt.Errorf("creating state root: %w", err)
	}
	return dir, nil
}

// Leftovers lists the processes (other than this one) whose command line
// names the state root dir, as runsc's child processes (gofer, sandbox) do
// through their --root flag.
func Leftovers(root string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && namesRoot(strings.Split(string(cmdline), "\x00"), root) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// KillLeftovers SIGKILLs the Leftovers of root, again and again until none
// remain (for at most five seconds: a process between fork and exec, or in
// the middle of exec, can escape one pass), and returns the pids it killed. Tests call it after
// deleting their containers so that a broken runtime leaves nothing running.
func KillLeftovers(root string) []int {
	var killed []int
	seen := map[int]bool{}
	empty := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pids := Leftovers(root)
		if len(pids) == 0 {
			// A process in the middle of execve shows an empty command
			// line for an instant: believe "none" only twice in a row.
			if empty++; empty == 2 {
				break
			}
			continue
		}
		empty = 0
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil && !seen[pid] {
				seen[pid] = true
				killed = append(killed, pid)
			}
		}
	}
	return killed
}

// namesRoot reports whether a command line mentions root as a flag value or
// path prefix.
func namesRoot(args []string, root string) bool {
	for _, a := range args {
		if a == root || strings.HasSuffix(a, "="+root) || strings.Contains(a, root+"/") {
			return true
		}
	}
	return false
}

// DirEntries lists the names under dir (recursively, relative paths), for
// "nothing left behind" checks. A missing dir has no entries.
func DirEntries(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && p == dir {
				return filepath.SkipAll
			}
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %q: %w", dir, err)
	}
	return names, nil
}

// WithGlobalFlags returns bin, or, when flags (split at spaces) is not
// empty, the path of a script written in dir that runs bin with flags
// before its own arguments: the global flags (e.g. --platform=systrap)
// then reach every command a harness runs.
func WithGlobalFlags(bin, dir, flags string) (string, error) {
	if strings.TrimSpace(flags) == "" {
		return bin, nil
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	script := "#!/bin/sh\nexec " + quote(bin)
	for _, f := range strings.Fields(flags) {
		script += " " + quote(f)
	}
	path := filepath.Join(dir, "runsc-with-flags")
	if err := os.WriteFile(path, []byte(script+` "$@"`+"\n"), 0o755); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
