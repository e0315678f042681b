package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"bulwark.dev/boot/control"
	"bulwark.dev/pkg/urpc"
	"bulwark.dev/runsc/config"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The test binary doubles as a fake runsc: Create runs os.Executable(), so
// with fakeEnv set its "boot" and "gofer" subcommands are served by
// fakeBoot and fakeGofer, which check the fd conventions Create uses.
const fakeEnv = "SANDBOX_TEST_FAKE_RUNSC"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		for i, a := range os.Args {
			switch a {
			case "boot":
				os.Exit(fakeBoot(mode, parseFlags(os.Args[i+1:])))
			case "gofer":
				os.Exit(fakeGofer(parseFlags(os.Args[i+1:])))
			}
		}
		fmt.Fprintln(os.Stderr, "fake runsc: no subcommand in", os.Args)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// parseFlags reads --name=value arguments.
func parseFlags(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok {
			m[k] = v
		}
	}
	return m
}

func fdFlag(flags map[string]string, name string) *os.File {
	n, err := strconv.Atoi(flags[name])
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake runsc: bad --%s=%q\n", name, flags[name])
		os.Exit(2)
	}
	return os.NewFile(uintptr(n), name)
}

func fdsFlag(flags map[string]string, name string) []*os.File {
	var fs []*os.File
	for _, s := range strings.Split(flags[name], ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fake runsc: bad --%s=%q\n", name, flags[name])
			os.Exit(2)
		}
		fs = append(fs, os.NewFile(uintptr(n), name))
	}
	return fs
}

func readSpec(f *os.File) (*specs.Spec, error) {
	var spec specs.Spec
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return &spec, json.Unmarshal(data, &spec)
}

func fakeGofer(flags map[string]string) int {
	if _, err := readSpec(fdFlag(flags, "spec-fd")); err != nil {
		fmt.Fprintln(os.Stderr, "gofer: spec:", err)
		return 1
	}
	ios := fdsFlag(flags, "io-fds")
	// Serve until the sandbox's end closes.
	io.Copy(io.Discard, ios[0])
	return 0
}

func fakeBoot(mode string, flags map[string]string) int {
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "runsc boot: mounting root: boom")
		return 1
	}
	spec, err := readSpec(fdFlag(flags, "spec-fd"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "boot: spec:", err)
		return 1
	}
	ln, err := net.FileListener(fdFlag(flags, "controller-fd"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "boot: controller:", err)
		return 1
	}
	exitFile := fdFlag(flags, "exit-fd")
	stdio := fdsFlag(flags, "stdio-fds")
	ios := fdsFlag(flags, "io-fds")
	host, _ := os.Hostname()

	done := make(chan int, 1)
	s := urpc.NewServer()
	s.Register(control.Ready, func(json.RawMessage, []*os.File) (any, error) {
		if len(ios) != 2 || len(stdio) != 3 {
			return nil, fmt.Errorf("got %d io fds and %d stdio fds", len(ios), len(stdio))
		}
		return control.ReadyResult{Pid: os.Getpid()}, nil
	})
	s.Register(control.StartRoot, func(json.RawMessage, []*os.File) (any, error) {
		fmt.Fprintf(stdio[1], "started %s pid=%d host=%s\n", spec.Process.Args[0], os.Getpid(), host)
		return control.StartResult{PID: 1}, nil
	})
	s.Register(control.Signal, func(req json.RawMessage, _ []*os.File) (any, error) {
		var a control.SignalArgs
		if err := json.Unmarshal(req, &a); err != nil {
			return nil, err
		}
		if a.Signo == 15 && a.All {
			return nil, nil
		}
		return nil, fmt.Errorf("no such process")
	})
	s.Register(control.Wait, func(json.RawMessage, []*os.File) (any, error) {
		if err := control.WriteExitFile(exitFile, 7); err != nil {
			return nil, err
		}
		done <- 7
		return control.WaitResult{Status: 7}, nil
	})
	go s.Serve(ln)
	return <-done
}

func fakeArgs(t *testing.T) CreateArgs {
	t.Helper()
	conf := &config.Config{Root: t.TempDir(), LogFormat: "text", Platform: "ptrace", Network: "none"}
	return CreateArgs{
		ID: "test-" + strconv.Itoa(os.Getpid()),
		Spec: &specs.Spec{
			Process: &specs.Process{Args: []string{"/bin/true"}, Cwd: "/"},
			Root:    &specs.Root{Path: "rootfs"},
			Mounts: []specs.Mount{
				{Destination: "/proc", Type: "proc"},
				{Destination: "/data", Type: "bind", Source: "/tmp"},
				{Destination: "/tmp", Type: "tmpfs"},
			},
		},
		BundleDir: t.TempDir(),
		StateDir:  t.TempDir(),
		Conf:      conf,
	}
}

func TestCreateLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	t.Setenv(fakeEnv, "ok")
	args := fakeArgs(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	args.Stdio = []*os.File{os.Stdin, w, os.Stderr}
	s, err := Create(args)
	w.Close()
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer s.Destroy()
	if !s.IsRunning() || !alive(s.GoferPid, s.GoferStartTime) {
		t.Fatal("sandbox or gofer not running after Create")
	}
	if err := s.StartRoot(); err != nil {
		t.Fatalf("StartRoot: %v", err)
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// pid 1: the sandbox has its own PID namespace.
	if !strings.HasPrefix(line, "started /bin/true pid=1 ") {
		t.Errorf("sandbox wrote %q", line)
	}
	if err := s.Signal(15, true); err != nil {
		t.Errorf("Signal: %v", err)
	}
	err = s.Signal(9, false)
	var re *urpc.RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "no such process") {
		t.Errorf("Signal error: %v", err)
	}
	st, err := s.Wait()
	if err != nil || st != 7 {
		t.Errorf("Wait = %d, %v; want 7", st, err)
	}
	if st, ok := s.ExitStatus(); !ok || st != 7 {
		t.Errorf("ExitStatus = %d, %v", st, ok)
	}
	if err := s.Destroy(); err != nil {
		t.Errorf("Destroy: %v", err)
	}
	if s.IsRunning() || alive(s.GoferPid, s.GoferStartTime) {
		t.Error("processes still running after Destroy")
	}
}

func TestCreateReportsBootFailure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	t.Setenv(fakeEnv, "fail")
	args := fakeArgs(t)
	_, err := Create(args)
	if err == nil || !strings.Contains(err.Error(), "mounting root: boom") {
		t.Fatalf("Create error %v does not carry the sandbox's reason", err)
	}
	// Nothing is left behind: no control socket, exit file or logs.
	ents, _ := os.ReadDir(args.StateDir)
	for _, e := range ents {
		t.Errorf("left behind %s", e.Name())
	}
}
