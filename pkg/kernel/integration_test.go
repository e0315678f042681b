package kernel_test

import (
	"bytes"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/dev"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/fs/proc"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform/ptrace"
	"bulwark.dev/pkg/syscalls"
	"bulwark.dev/pkg/vfs"
)

const busybox = "/bin/busybox"

// sandbox is a kernel on the ptrace platform with a tmpfs root holding
// busybox as /bin/busybox and the applets the tests use.
type sandbox struct {
	k  *kernel.Kernel
	ns *vfs.MountNamespace
}

// available reports whether the memory manager and loader are
// implemented (they land in parallel with the kernel).
func available() (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	mf, err := mm.NewMemoryFile("probe", 1<<20)
	if err != nil {
		return false
	}
	mf.Close()
	return true
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root for ptrace")
	}
	bin, err := os.ReadFile(busybox)
	if err != nil {
		t.Skipf("no %s: %v", busybox, err)
	}
	if !available() {
		t.Skip("pkg/mm is not implemented yet")
	}
	mf, err := mm.NewMemoryFile("kernel-test", 4<<30)
	if err != nil {
		t.Fatalf("memory file: %v", err)
	}
	t.Cleanup(mf.Close)
	p, err := ptrace.New(mf.FD())
	if err != nil {
		t.Fatalf("ptrace platform: %v", err)
	}
	t.Cleanup(p.Close)

	ns, err := vfs.NewMountNamespace(tmpfs.New(tmpfs.Options{Mode: 0o755}), vfs.MountOptions{})
	if err != nil {
		t.Fatalf("mount namespace: %v", err)
	}
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	fsc, err := ns.NewFSContext("/", 0o022)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/bin", "/tmp", "/proc", "/dev"} {
		if err := vfs.MkdirAt(ctx, fsc, nil, d, 0o1777); err != nil {
			t.Fatalf("mkdir %s: %v", d, err)
		}
	}
	for _, applet := range []string{"sh", "echo", "wc", "ls", "cat", "uname", "sleep", "kill", "true", "false", "readlink", "printf", "chmod", "xargs"} {
		if err := vfs.SymlinkAt(ctx, fsc, "busybox", nil, "/bin/"+applet); err != nil {
			t.Fatalf("symlink %s: %v", applet, err)
		}
	}

	k, err := kernel.New(kernel.Config{
		Platform: p, MemoryFile: mf, Syscalls: syscalls.Table(),
		Hostname: "bulwark-test", Release: "5.15.0-bulwark", NumCPU: 2,
		Log: testLogger(t), Strace: os.Getenv("KERNEL_TEST_STRACE") != "",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Mount("/proc", proc.New(k), vfs.MountOptions{}); err != nil {
		t.Fatalf("mounting /proc: %v", err)
	}
	devfs, err := dev.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Mount("/dev", devfs, vfs.MountOptions{}); err != nil {
		t.Fatalf("mounting /dev: %v", err)
	}
	t.Cleanup(k.Shutdown)
	s := &sandbox{k: k, ns: ns}
	s.install(t, busybox, bin)
	return s
}

// run runs argv with stdout and stderr captured and returns both (mixed)
// with the exit status.
func (s *sandbox) run(t *testing.T, argv ...string) (string, kernel.ExitStatus) {
	t.Helper()
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	r, w := pipe.NewPair(ctx, 0)
	defer r.DecRef()
	fdt := vfs.NewFDTable()
	for fd := int32(1); fd <= 2; fd++ {
		if err := fdt.NewFDAt(fd, w, vfs.FDFlags{}); err != nil {
			t.Fatal(err)
		}
	}
	w.DecRef()
	fsc, err := s.ns.NewFSContext("/", 0o022)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := s.k.CreateProcess(kernel.CreateProcessArgs{
		Argv: argv, Envv: []string{"PATH=/bin", "HOME=/"}, FDTable: fdt, FSContext: fsc,
		Creds: auth.NewRootCredentials(),
	})
	if err != nil {
		t.Fatalf("CreateProcess %q: %v", argv, err)
	}
	s.k.Start(tg)
	out := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(ctx, buf)
			b.Write(buf[:n])
			if err != nil || n == 0 {
				break
			}
		}
		out <- b.String()
	}()
	done := make(chan kernel.ExitStatus, 1)
	go func() { done <- tg.Wait() }()
	select {
	case st := <-done:
		select {
		case o := <-out:
			return o, st
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: output not closed after exit", argv)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%q did not exit; processes: %+v", argv, s.k.Processes())
	}
	return "", kernel.ExitStatus{}
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testLogger logs the kernel's debug output (and --strace with
// KERNEL_TEST_STRACE) to the test log when KERNEL_TEST_LOG is set.
func testLogger(t *testing.T) *log.Logger {
	if os.Getenv("KERNEL_TEST_LOG") == "" {
		return log.New(io.Discard, "", 0)
	}
	return log.New(logWriter{t}, "", log.Lmicroseconds)
}

func TestBusyboxPipeline(t *testing.T) {
	s := newSandbox(t)
	out, st := s.run(t, "sh", "-c", "echo a b c | wc -w")
	if st != (kernel.ExitStatus{}) || strings.TrimSpace(out) != "3" {
		t.Fatalf("output %q status %+v; want \"3\" and exit 0", out, st)
	}
}

func TestBusyboxShellFeatures(t *testing.T) {
	s := newSandbox(t)
	cases := []struct {
		script string
		want   string
		status kernel.ExitStatus
	}{
		{"echo $(echo inner)-outer", "inner-outer\n", kernel.ExitStatus{}},
		{"uname -r", "5.15.0-bulwark\n", kernel.ExitStatus{}},
		{"exit 3", "", kernel.ExitStatus{Code: 3}},
		{"false || echo alt", "alt\n", kernel.ExitStatus{}},
		{"echo hi > /tmp/f && cat /tmp/f && ls /tmp", "hi\nf\n", kernel.ExitStatus{}},
		{"kill -9 $$", "", kernel.ExitStatus{Signo: linux.SIGKILL}},
		{"trap 'echo got USR1' USR1; kill -USR1 $$; echo after", "got USR1\nafter\n", kernel.ExitStatus{}},
		{"sleep 0.1; echo slept", "slept\n", kernel.ExitStatus{}},
		{"cat /proc/self/cmdline | wc -c; echo $(cat /proc/$$/comm)", "23\nsh\n", kernel.ExitStatus{}},
		{"ls /proc/self/fd; readlink /proc/self/exe", "0\n1\n2\n/bin/busybox\n", kernel.ExitStatus{}},
		{"sh -c 'exit 5'; echo $?", "5\n", kernel.ExitStatus{}},
		{"trap 'echo trapped' USR1; (sleep 0.1; kill -USR1 $$) & wait; echo done", "trapped\ndone\n", kernel.ExitStatus{}},
		{"sleep 5 & p=$!; kill -STOP $p; kill -CONT $p; kill $p; wait $p; echo $?", "Terminated\n143\n", kernel.ExitStatus{}},
		{"/tmp/missing; echo $?", "sh: /tmp/missing: not found\n127\n", kernel.ExitStatus{}},
		{"printf '#!/bin/sh\\necho script $0 $1\\n' > /tmp/s; chmod +x /tmp/s; /tmp/s arg", "script /tmp/s arg\n", kernel.ExitStatus{}},
		{"echo x y | xargs echo vforked", "vforked x y\n", kernel.ExitStatus{}},
		{"sh -c 'kill -SEGV $$'; echo $?", "Segmentation fault\n139\n", kernel.ExitStatus{}},
	}
	for _, c := range cases {
		out, st := s.run(t, "sh", "-c", c.script)
		if out != c.want || st != c.status {
			t.Errorf("sh -c %q: output %q status %+v; want %q %+v", c.script, out, st, c.want, c.status)
		}
	}
}

func TestCreateProcessErrors(t *testing.T) {
	s := newSandbox(t)
	fsc, _ := s.ns.NewFSContext("/", 0o022)
	_, err := s.k.CreateProcess(kernel.CreateProcessArgs{
		Argv: []string{"nonexistent"}, Envv: []string{"PATH=/bin"},
		FDTable: vfs.NewFDTable(), FSContext: fsc,
	})
	if err == nil || !strings.Contains(err.Error(), "executable file not found in $PATH") {
		t.Errorf("missing command: %v", err)
	}
	_, err = s.k.CreateProcess(kernel.CreateProcessArgs{
		Argv: []string{"/tmp"}, FDTable: vfs.NewFDTable(), FSContext: fsc,
	})
	if err == nil {
		t.Error("executing a directory succeeded")
	}
}

// TestSignalsAndProcesses runs testdata/sigtest.c (built static with the
// host's gcc): vfork, posix_spawn, siginfo, sigaltstack, SA_RESTART and
// EINTR, nanosleep, sigsuspend, a SIGSEGV handler, waitid, stop/continue.
func TestSignalsAndProcesses(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build testdata/sigtest.c")
	}
	exe := filepath.Join(t.TempDir(), "sigtest")
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", exe, "testdata/sigtest.c").CombinedOutput(); err != nil {
		t.Skipf("cannot build a static test program: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t)
	s.install(t, "/bin/sigtest", bin)
	out, st := s.run(t, "sigtest")
	if st != (kernel.ExitStatus{}) || strings.Contains(out, "FAIL") || strings.Count(out, "ok ") != 16 {
		t.Fatalf("sigtest: status %+v, output:\n%s", st, out)
	}
}

// install writes an executable file into the sandbox.
func (s *sandbox) install(t *testing.T, path string, data []byte) {
	t.Helper()
	ctx := vfs.BackgroundContext(auth.NewRootCredentials())
	fsc, err := s.ns.NewFSContext("/", 0)
	if err != nil {
		t.Fatal(err)
	}
	f, err := vfs.OpenAt(ctx, fsc, nil, path, linux.O_WRONLY|linux.O_CREAT|linux.O_TRUNC, 0o755)
	if err != nil {
		t.Fatalf("creating %s: %v", path, err)
	}
	defer f.DecRef()
	if n, err := f.Write(ctx, data); err != nil || n != len(data) {
		t.Fatalf("writing %s: %d, %v", path, n, err)
	}
}

// TestThreads runs testdata/threadtest.c (static, -pthread): mutexes and
// condition variables on futexes, pthread_join, thread-directed and
// process-directed signals, FP state across handlers and threads,
// exit_group and execve from a thread, and a leader exiting first.
func TestThreads(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build testdata/threadtest.c")
	}
	exe := filepath.Join(t.TempDir(), "threadtest")
	if out, err := exec.Command(gcc, "-static", "-pthread", "-O1", "-o", exe, "testdata/threadtest.c").CombinedOutput(); err != nil {
		t.Skipf("cannot build a static test program: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t)
	s.install(t, "/bin/threadtest", bin)
	out, st := s.run(t, "threadtest")
	if st != (kernel.ExitStatus{}) || strings.Contains(out, "FAIL") || strings.Count(out, "ok ") != 9 {
		t.Fatalf("threadtest: status %+v, output:\n%s", st, out)
	}
}
