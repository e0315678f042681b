package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestSandboxNet(t *testing.T) {
	a := fakeArgs(t)
	if np := sandboxNet(a); !np.own {
		t.Errorf("none: %+v, want its own namespace", np)
	}
	a.Conf.Network = ""
	a.Spec.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/run/netns/x"}}}
	if np := sandboxNet(a); np.own || np.path != "/run/netns/x" {
		t.Errorf("default with a path: %+v, want to join it", np)
	}
	a.Conf.Network = "host"
	a.Spec.Linux = nil
	if np := sandboxNet(a); np.own || np.path != "" {
		t.Errorf("host without a path: %+v, want this process's namespace", np)
	}
	if err := checkArgs(a); err != nil {
		t.Errorf("host mode refused: %v", err)
	}
}

// TestStartInNetns starts a child in a namespace named by path and checks
// it is there, while this process's threads are not.
func TestStartInNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	paths := make(chan string)
	release := make(chan struct{})
	defer close(release)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			paths <- ""
			return
		}
		paths <- fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		<-release
	}()
	path := <-paths
	if path == "" {
		t.Skip("cannot create a network namespace")
	}
	want, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mine, _ := os.Readlink("/proc/thread-self/ns/net")
	if mine == want {
		t.Fatal("the test namespace is this process's")
	}
	var out strings.Builder
	cmd := exec.Command("/bin/readlink", "/proc/self/ns/net")
	cmd.Stdout = &out
	if err := startIn(cmd, netPlacement{path: path}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("child in %s, want %s", got, want)
	}
	if now, _ := os.Readlink("/proc/thread-self/ns/net"); now != mine {
		t.Errorf("this thread moved to %s", now)
	}
	if err := startIn(exec.Command("/bin/true"), netPlacement{path: "/nonexistent/ns"}); err == nil {
		t.Error("a missing namespace path was accepted")
	}
}
