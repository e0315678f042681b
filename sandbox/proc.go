package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// killWaitLimit bounds how long Destroy waits for a killed process to go.
const killWaitLimit = 5 * time.Second

// procStat is what IsRunning needs from /proc/<pid>/stat.
type procStat struct {
	State     byte   // field 3: R, S, D, Z, T, X, ...
	StartTime uint64 // field 22, in clock ticks since boot
}

// parseStat parses the text of /proc/<pid>/stat. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, errors.New("no command name")
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("%d fields after the command name, want at least 20", len(fields))
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("start time: %w", err)
	}
	return procStat{State: fields[0][0], StartTime: start}, nil
}

// readStat reads and parses /proc/<pid>/stat.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(data)
	if err != nil {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
	}
	return st, nil
}

// startTime returns field 22 of /proc/<pid>/stat.
func startTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return st.StartTime, nil
}

// alive reports whether the process pid exists with start time start and
// is not a zombie.
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	if err != nil {
		return false
	}
	return st.StartTime == start && st.State != 'Z' && st.State != 'X'
}

// kill sends SIGKILL to pid if it is still the process started at start.
// A process that is already gone is not an error.
func kill(pid int, start uint64) error {
	if !alive(pid, start) {
		return nil
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
		return err
	}
	return nil
}

// waitGone waits up to limit for the process (pid, start) to stop existing
// (or become a zombie, which only its parent can clear).
func waitGone(pid int, start uint64, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for alive(pid, start) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// descendants returns pid and, recursively, its children (from
// /proc/<pid>/task/<tid>/children), depth first.
func descendants(pid int) []int {
	pids := []int{pid}
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, t := range tasks {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(data) {
			if child, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, descendants(child)...)
			}
		}
	}
	return pids
}
