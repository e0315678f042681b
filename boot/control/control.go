// Package control defines the control-socket protocol between runsc (the
// sandbox package) and the sandbox process (boot): method names, their
// argument and result types, and the exit-status file. It has no logic
// beyond encoding, so both sides can import it cheaply.
package control

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Control-socket methods served by the sandbox process.
const (
	// Ready answers once the kernel is built and the root filesystem is
	// mounted (the init is not started yet). Result: ReadyResult.
	Ready = "Ready"
	// StartRoot creates and starts the container's init process from the
	// spec. Result: StartResult.
	StartRoot = "StartRoot"
	// Signal sends a signal. Argument: SignalArgs.
	Signal = "Signal"
	// Wait blocks until the init exits. Result: WaitResult.
	Wait = "Wait"
	// WaitPID blocks until the process PID (one the controller started)
	// exits. Argument: WaitPIDArgs. Result: WaitResult.
	WaitPID = "WaitPID"
	// Processes lists processes. Result: []kernel.ProcessInfo.
	Processes = "Processes"
	// Destroy kills every process and makes the sandbox process exit.
	Destroy = "Destroy"
	// Exec starts a new process in the running container. Argument:
	// ExecArgs; files: the process's fds 0..n-1 (ExecArgs.NumFDs of them),
	// then the session's liveness fd. Result: ExecResult.
	Exec = "Exec"
	// ExecWait blocks until an exec'd process exits and collects its
	// status (the session ends). Argument: WaitPIDArgs. Result: WaitResult.
	ExecWait = "ExecWait"
	// Pause freezes every process of the sandbox.
	Pause = "Pause"
	// Resume thaws a paused sandbox.
	Resume = "Resume"
)

// ReadyResult is the answer to Ready.
type ReadyResult struct {
	Pid int `json:"pid"` // the sandbox process's host pid, as it sees itself (1 in its PID namespace)
}

// StartResult is the answer to StartRoot.
type StartResult struct {
	PID int32 `json:"pid"` // the init's pid inside the sandbox
}

// SignalArgs selects who gets signal Signo: every process when All, else
// PID, or the init when PID is 0. With Foreground, the signal goes where
// the keyboard's would: to the foreground process group of the terminal
// controlling PID's session (to PID itself when it has none).
type SignalArgs struct {
	Signo      int   `json:"signo"`
	PID        int32 `json:"pid,omitempty"`
	All        bool  `json:"all,omitempty"`
	Foreground bool  `json:"foreground,omitempty"`
}

// WaitPIDArgs names the process WaitPID waits for.
type WaitPIDArgs struct {
	PID int32 `json:"pid"`
}

// WaitResult is a process's exit status as a shell reports it (exit code,
// or 128+signal).
type WaitResult struct {
	Status int `json:"status"`
}

// ExecArgs describe a process to start in the running container. Process
// is complete: the caller merged the container's defaults (env, cwd,
// user) as runc does. NumFDs files come with the call and become the
// process's fds 0..NumFDs-1 (stdin, stdout, stderr, then preserved fds);
// one more file follows them: the read end of a pipe whose write end the
// caller's host process keeps open for as long as it lives. When that end
// closes (the caller died) the sandbox kills the process with SIGKILL, so
// the process never outlives the host process standing for it.
type ExecArgs struct {
	Process *specs.Process `json:"process"`
	NumFDs  int            `json:"numFDs"`
}

// ExecResult is the answer to Exec.
type ExecResult struct {
	PID int32 `json:"pid"` // the new process's pid inside the sandbox
}

// ExitRecord is the content of the exit-status file, e.g. {"status":137}.
type ExitRecord struct {
	Status int `json:"status"`
}

// WriteExitFile replaces the content of the (already open) exit file with
// status and syncs it.
func WriteExitFile(f *os.File, status int) error {
	data, err := json.Marshal(ExitRecord{Status: status})
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("truncating exit file: %w", err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("writing exit file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing exit file: %w", err)
	}
	return nil
}

// ReadExitFile returns the status recorded in the exit file at path, and
// false when there is none yet (missing, empty or partial file).
func ReadExitFile(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return 0, false
	}
	var r ExitRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, false
	}
	return r.Status, true
}

// NetworkMode resolves the --network flag for a spec: "" means host when
// the spec names a network namespace path to join, else none.
func NetworkMode(flag string, spec *specs.Spec) string {
	if flag != "" {
		return flag
	}
	if spec.Linux != nil {
		for _, ns := range spec.Linux.Namespaces {
			if ns.Type == specs.NetworkNamespace && ns.Path != "" {
				return "host"
			}
		}
	}
	return "none"
}
