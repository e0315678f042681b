package seccomp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// childEnv makes the test binary install a filter and report what it sees
// (see child): "errno" or "kill".
const childEnv = "BULWARK_SECCOMP_TEST_CHILD"

// testErrno is the default action's errno in the child: one no syscall
// the child makes would return by itself.
const testErrno = unix.EHWPOISON

// lseekOffset is the only offset the child's filter lets lseek take: it
// needs both 32-bit halves of the argument to be checked right.
const lseekOffset = 1<<32 | 5

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "errno":
		errnoChild()
	case "kill":
		killChild()
	}
	os.Exit(3)
}

// childRules are GoRuntime plus what the children do after installing.
func childRules() Rules {
	r := GoRuntime()
	for _, nr := range []uintptr{unix.SYS_OPENAT, unix.SYS_GETDENTS64, unix.SYS_FSTAT, unix.SYS_NEWFSTATAT} {
		r.Add(nr)
	}
	r.Add(unix.SYS_LSEEK, Rule{ArgEq(1, lseekOffset)})
	return r
}

func errnoOf(e syscall.Errno) string {
	if e == 0 {
		return "ok"
	}
	return e.Error()
}

// errnoChild installs a filter failing everything else with testErrno and
// prints one "what result" line per check.
func errnoChild() {
	f, err := os.CreateTemp("", "seccomp-test")
	if err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	os.Remove(f.Name())
	// A thread that exists before Install: TSYNC must cover it.
	ask, answer := make(chan bool), make(chan syscall.Errno)
	go func() {
		runtime.LockOSThread()
		for range ask {
			_, _, e := unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
			answer <- e
		}
	}()
	ask <- true
	fmt.Println("before", errnoOf(<-answer))

	if err := Install(Filter{Allow: childRules(), Deny: map[uintptr]Action{unix.SYS_CLONE3: Errno(unix.ENOSYS)},
		Default: Errno(testErrno)}); err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	_, _, e := unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
	fmt.Println("getppid", errnoOf(e))
	ask <- true
	fmt.Println("other-thread", errnoOf(<-answer))
	off, _, e := unix.Syscall(unix.SYS_LSEEK, f.Fd(), lseekOffset, 0)
	fmt.Println("lseek-match", errnoOf(e), off == lseekOffset)
	_, _, e = unix.Syscall(unix.SYS_LSEEK, f.Fd(), lseekOffset&0xffffffff, 0)
	fmt.Println("lseek-low", errnoOf(e))
	_, _, e = unix.Syscall(maxNr|unix.SYS_GETPID, 0, 0, 0)
	fmt.Println("x32-getpid", errnoOf(e))
	_, _, e = unix.Syscall(unix.SYS_GETPID, 0, 0, 0)
	fmt.Println("getpid", errnoOf(e))

	// Threads started now work: block goroutines on their own threads
	// so that the runtime must start more.
	before, _ := os.ReadDir("/proc/self/task")
	const locked = 6
	release, ready := make(chan bool), make(chan syscall.Errno)
	for range locked {
		go func() {
			runtime.LockOSThread()
			_, _, e := unix.Syscall(unix.SYS_GETTID, 0, 0, 0)
			ready <- e
			<-release
		}()
	}
	started := "ok"
	for range locked {
		if e := <-ready; e != 0 {
			started = e.Error()
		}
	}

	// Every thread, including the new ones, runs the filter.
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	filtered := 0
	for _, t := range tasks {
		st, err := os.ReadFile(filepath.Join("/proc/self/task", t.Name(), "status"))
		if err == nil && bytes.Contains(st, []byte("\nSeccomp:\t2\n")) && bytes.Contains(st, []byte("\nNoNewPrivs:\t1\n")) {
			filtered++
		}
	}
	fmt.Println("threads", len(tasks) > len(before), filtered == len(tasks))
	fmt.Println("new-threads", started)
	close(release)
	os.Exit(0)
}

// killChild installs a filter killing the process on anything else and
// makes a denied syscall.
func killChild() {
	if err := Install(Filter{Allow: childRules(), Default: KillProcess}); err != nil {
		fmt.Println("fatal", err)
		os.Exit(1)
	}
	fmt.Println("installed")
	unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
	fmt.Println("survived")
	os.Exit(0)
}

// runChild runs the test binary in mode and returns its output lines.
func runChild(t *testing.T, mode string) (map[string]string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	lines := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		lines[k] = v
	}
	if f, ok := lines["fatal"]; ok {
		t.Fatalf("child: %s", f)
	}
	if err != nil && stderr.Len() > 0 {
		t.Logf("child stderr: %s", stderr.String())
	}
	return lines, err
}

func TestInstallErrno(t *testing.T) {
	got, err := runChild(t, "errno")
	if err != nil {
		t.Fatalf("child: %v (output %v)", err, got)
	}
	want := map[string]string{
		"before":       "ok",
		"getppid":      testErrno.Error(),
		"other-thread": testErrno.Error(),
		"lseek-match":  "ok true",
		"lseek-low":    testErrno.Error(),
		"x32-getpid":   testErrno.Error(),
		"getpid":       "ok",
		"threads":      "true true",
		"new-threads":  "ok",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
}

func TestInstallKill(t *testing.T) {
	got, err := runChild(t, "kill")
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child: %v (output %v), want it killed", err, got)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != unix.SIGSYS {
		t.Errorf("child ended with %v, want killed by SIGSYS", err)
	}
	if _, ok := got["installed"]; !ok {
		t.Error("child died before its denied syscall")
	}
	if _, ok := got["survived"]; ok {
		t.Error("child survived its denied syscall")
	}
}
