package boot

import (
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// confineEnv makes the test binary run confine and report what it sees.
const confineEnv = "BOOT_TEST_CONFINE"

type confineReport struct {
	Err      string
	Entries  []string
	Hostname string
	CanWrite bool
	HostSeen bool // a host path (an fd opened before is fine) still resolves
}

func TestMain(m *testing.M) {
	if os.Getenv(confineEnv) != "" {
		var r confineReport
		if err := confine("bulwark-test"); err != nil {
			r.Err = err.Error()
		} else {
			ents, _ := os.ReadDir("/")
			for _, e := range ents {
				r.Entries = append(r.Entries, e.Name())
			}
			r.Hostname, _ = os.Hostname()
			r.CanWrite = os.WriteFile("/x", []byte("x"), 0o644) == nil
			for _, p := range []string{"/proc/self", "/etc/passwd", "/usr", "/../etc"} {
				if _, err := os.Stat(p); err == nil {
					r.HostSeen = true
				}
			}
		}
		json.NewEncoder(os.Stdout).Encode(r)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestConfine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), confineEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWUTS}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("confined child: %v", err)
	}
	var r confineReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	if r.Err != "" {
		t.Fatalf("confine: %s", r.Err)
	}
	if len(r.Entries) != 0 || r.HostSeen || r.CanWrite {
		t.Errorf("after confine: root holds %v, host paths visible %v, root writable %v", r.Entries, r.HostSeen, r.CanWrite)
	}
	if r.Hostname != "bulwark-test" {
		t.Errorf("hostname %q", r.Hostname)
	}
	// The host's own view is untouched.
	if h, _ := os.Hostname(); h == "bulwark-test" {
		t.Error("confine changed the host's hostname")
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Errorf("host /proc affected: %v", err)
	}
}
