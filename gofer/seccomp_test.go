package gofer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fsproto"
	"bulwark.dev/pkg/seccomp"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData encodes a struct seccomp_data for bpf.VM, which loads
// 32-bit words big-endian where the kernel loads them little-endian: each
// word is stored big-endian, a 64-bit argument's low word first.
func seccompData(nr uintptr, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], uint32(nr))
	binary.BigEndian.PutUint32(b[4:], unix.AUDIT_ARCH_X86_64)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}

// TestGoferFilter checks the filter's decisions on the calls that matter
// for the gofer's invariants.
func TestGoferFilter(t *testing.T) {
	f := goferFilter()
	prog, err := f.Compile()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	const atFDCWD = 1<<64 - 100
	kill, allow := seccomp.KillProcess, seccomp.Allow
	for _, tc := range []struct {
		name string
		nr   uintptr
		args []uint64
		want seccomp.Action
	}{
		{"walk", unix.SYS_OPENAT, []uint64{5, 0, unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC}, allow},
		{"create", unix.SYS_OPENAT, []uint64{5, 0, unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW}, allow},
		{"open following symlinks", unix.SYS_OPENAT, []uint64{atFDCWD, 0, unix.O_RDONLY | unix.O_CLOEXEC}, kill},
		{"open (not openat)", unix.SYS_OPEN, nil, kill},
		{"stat nofollow", unix.SYS_NEWFSTATAT, []uint64{5, 0, 0, unix.AT_EMPTY_PATH | unix.AT_SYMLINK_NOFOLLOW}, allow},
		{"stat following", unix.SYS_NEWFSTATAT, []uint64{5, 0, 0, unix.AT_EMPTY_PATH}, kill},
		{"fchownat following", unix.SYS_FCHOWNAT, []uint64{5, 0, 0, 0, 0}, kill},
		{"utimensat following", unix.SYS_UTIMENSAT, []uint64{5, 0, 0, 0}, kill},
		{"link", unix.SYS_LINKAT, []uint64{5, 0, 6, 0, unix.AT_EMPTY_PATH}, allow},
		{"link following", unix.SYS_LINKAT, []uint64{5, 0, 6, 0, unix.AT_SYMLINK_FOLLOW}, kill},
		{"mkfifo", unix.SYS_MKNODAT, []uint64{5, 0, unix.S_IFIFO | 0o644, 0}, allow},
		{"mknod socket", unix.SYS_MKNODAT, []uint64{5, 0, unix.S_IFSOCK | 0o644, 0}, allow},
		{"mknod char device", unix.SYS_MKNODAT, []uint64{5, 0, unix.S_IFCHR | 0o644, 0x103}, kill},
		{"so_type", unix.SYS_GETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_TYPE}, allow},
		{"so_peercred", unix.SYS_GETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_PEERCRED}, kill},
		{"thread", unix.SYS_CLONE, []uint64{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
			unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS}, allow},
		{"fork", unix.SYS_CLONE, []uint64{uint64(unix.SIGCHLD)}, kill},
		{"clone3", unix.SYS_CLONE3, nil, seccomp.Errno(unix.ENOSYS)},
		{"execve", unix.SYS_EXECVE, nil, kill},
		{"mount", unix.SYS_MOUNT, nil, kill},
		{"socket", unix.SYS_SOCKET, nil, kill},
		{"ptrace", unix.SYS_PTRACE, nil, kill},
		{"mmap exec", unix.SYS_MMAP, []uint64{0, 4096, unix.PROT_READ | unix.PROT_EXEC}, kill},
		{"read", unix.SYS_READ, nil, allow},
		{"futex", unix.SYS_FUTEX, nil, allow},
	} {
		r, err := vm.Run(seccompData(tc.nr, tc.args...))
		if err != nil {
			t.Fatal(err)
		}
		if got := seccomp.Action(uint32(r)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// goferProc is a gofer running as a child process (see TestMain).
type goferProc struct {
	cmd     *exec.Cmd
	clients []*fsproto.Client
	exited  chan error
	stderr  bytes.Buffer
	logPath string
}

// startGofer runs the gofer for b in new namespaces, as `runsc gofer`
// would be. With plain it runs as runsc starts it by default: without a
// debug log and with the spec in a memfd (neither starts the network
// poller before the filter); otherwise with a debug log and the spec in a
// pipe.
func startGofer(t *testing.T, b bundle, plain bool) *goferProc {
	t.Helper()
	var specR *os.File
	if plain {
		fd, err := unix.MemfdCreate("spec", unix.MFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		specR = os.NewFile(uintptr(fd), "spec")
		if _, err := specR.Write(specJSON(t, b.spec)); err != nil {
			t.Fatal(err)
		}
		if _, err := specR.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { w.Write(specJSON(t, b.spec)); w.Close() }()
		specR = r
	}
	sfds, clients := pairs(t, 3)
	files := []*os.File{specR}
	for _, fd := range sfds {
		files = append(files, os.NewFile(uintptr(fd), "io"))
	}
	g := &goferProc{clients: clients, exited: make(chan error, 1)}
	if !plain {
		g.logPath = filepath.Join(t.TempDir(), "gofer.log")
	}
	g.cmd = exec.Command(os.Args[0], "-test.run=^$")
	g.cmd.Env = append(os.Environ(), childEnv+"=3", childMallocEnv, "BULWARK_GOFER_TEST_BUNDLE="+b.dir, "BULWARK_GOFER_TEST_LOG="+g.logPath)
	g.cmd.ExtraFiles = files
	g.cmd.Stderr = &g.stderr
	g.cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET,
		Pdeathsig:  syscall.SIGKILL,
	}
	err := g.cmd.Start()
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		t.Fatalf("starting the gofer: %v", err)
	}
	go func() { g.exited <- g.cmd.Wait() }()
	t.Cleanup(func() {
		if g.cmd.ProcessState == nil {
			g.cmd.Process.Kill()
			<-g.exited
		}
	})
	return g
}

// alive fails the test if the gofer has died, saying how.
func (g *goferProc) alive(t *testing.T, when string) {
	t.Helper()
	select {
	case err := <-g.exited:
		g.died(t, when, err)
	default:
	}
}

// check fails the test if a request failed with err, saying whether the
// gofer died.
func (g *goferProc) check(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	select {
	case exit := <-g.exited:
		g.died(t, what, exit)
	case <-time.After(2 * time.Second):
		t.Fatalf("%s: %v", what, err)
	}
}

func (g *goferProc) died(t *testing.T, when string, exit error) {
	t.Helper()
	var log []byte
	if g.logPath != "" {
		log, _ = os.ReadFile(g.logPath)
	}
	t.Fatalf("gofer died %s: %v (a syscall missing from the filter kills it with SIGSYS)\nstderr: %s\nlog:\n%s",
		when, exit, g.stderr.String(), log)
}

// TestProcessAllOps runs every request type through a confined gofer
// with its seccomp filter, long enough for the runtime's periodic work,
// and checks it is still alive, filtered, and exits cleanly.
func TestProcessAllOps(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	b := newBundle(t)
	many := filepath.Join(b.dir, "rootfs", "many")
	if err := os.Mkdir(many, 0o755); err != nil {
		t.Fatal(err)
	}
	const nMany = 600 // several readdir pages: seeks to a cookie
	for i := range nMany {
		name := fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 200))
		if err := os.WriteFile(filepath.Join(many, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := startGofer(t, b, false)
	_, _, err := g.clients[0].Attach()
	g.check(t, "Attach", err)
	checkMounts(t, g.clients)
	g.alive(t, "serving the basic requests")

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(status, []byte("\nSeccomp:\t2\n")) {
		t.Errorf("gofer runs without a seccomp filter:\n%s", status)
	}

	exerciseAll(t, g, filepath.Join(b.dir, "rootfs"))
	g.alive(t, "serving every request type")

	// The runtime refreshes GOMAXPROCS about once a second while busy,
	// and collects garbage: keep it busy past that.
	data := g.clients[1]
	d, _, err := data.Attach()
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
		_, err := g.clients[0].Readdir(mustWalk(t, g.clients[0], "many"))
		g.check(t, "Readdir", err)
		_, err = data.Stat(d)
		g.check(t, "Stat", err)
	}
	g.alive(t, "after a busy second")

	g.stop(t)
	if log, err := os.ReadFile(g.logPath); err != nil || !bytes.Contains(log, []byte("all connections closed")) {
		t.Errorf("debug log: %v\n%s", err, log)
	}
}

// TestProcessPlain serves as runsc runs the gofer by default, where the
// network poller starts under the filter.
func TestProcessPlain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	g := startGofer(t, newBundle(t), true)
	_, _, err := g.clients[0].Attach()
	g.check(t, "Attach", err)
	checkMounts(t, g.clients)
	g.alive(t, "serving")
	g.stop(t)
}

// stop closes g's connections and checks it exits cleanly.
func (g *goferProc) stop(t *testing.T) {
	t.Helper()
	for _, c := range g.clients {
		c.Close()
	}
	select {
	case err := <-g.exited:
		if err != nil {
			t.Errorf("gofer exited with %v; stderr: %s", err, g.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gofer did not exit after its connections closed")
	}
}

func mustWalk(t *testing.T, c *fsproto.Client, name string) fsproto.FID {
	t.Helper()
	r, _, err := c.Attach()
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := c.Walk(r, name)
	if err != nil {
		t.Fatalf("Walk(%s): %v", name, err)
	}
	return f
}

// exerciseAll makes every request type the server has, on g's writable
// root filesystem whose host directory is root.
func exerciseAll(t *testing.T, g *goferProc, root string) {
	t.Helper()
	c := g.clients[0]
	ok := func(what string, err error) {
		t.Helper()
		g.check(t, what, err)
	}
	r, _, err := c.Attach()
	ok("Attach", err)
	ents, err := c.Readdir(mustWalk(t, c, "many"))
	ok("Readdir", err)
	if len(ents) != 600 {
		t.Errorf("Readdir(many) = %d entries, want 600", len(ents))
	}
	bin, _, err := c.Walk(r, "bin")
	ok("Walk", err)
	p, _, err := c.WalkParent(bin)
	ok("WalkParent", err)
	_, err = c.Stat(p)
	ok("Stat", err)
	_, err = c.StatFS(r)
	ok("StatFS", err)

	d, _, err := c.Mkdir(r, "d", 0o750, 1234, 1234)
	ok("Mkdir", err)
	dfd, err := c.Open(d, unix.O_RDONLY)
	ok("Open dir", err)
	unix.Close(dfd)
	f, _, fd, err := c.Create(d, "f", unix.O_RDWR, 0o640, 1234, 1234)
	ok("Create", err)
	_, err = unix.Write(fd, []byte("hello"))
	unix.Close(fd)
	ok("write", err)
	ok("SetAttr", c.SetAttr(f, fsproto.SetAttrRequest{
		Mask: fsproto.SetMode | fsproto.SetUID | fsproto.SetGID | fsproto.SetSize | fsproto.SetAtime | fsproto.SetMtime,
		Mode: 0o600, UID: 4321, GID: 4321, Size: 3, Atime: 1e9, Mtime: 2e9,
	}))
	ok("SetAttr dir mode", c.SetAttr(d, fsproto.SetAttrRequest{Mask: fsproto.SetMode, Mode: 0o755}))
	var st unix.Stat_t
	ok("host stat", unix.Lstat(filepath.Join(root, "d", "f"), &st))
	if st.Mode&0o7777 != 0o600 || st.Uid != 4321 || st.Size != 3 || st.Mtim.Sec != 2 {
		t.Errorf("after SetAttr the host file has mode %o uid %d size %d mtime %d", st.Mode&0o7777, st.Uid, st.Size, st.Mtim.Sec)
	}

	fifo, _, err := c.Mknod(d, "fifo", unix.S_IFIFO|0o600, 0, 0)
	ok("Mknod fifo", err)
	ffd, err := c.Open(fifo, unix.O_RDONLY)
	ok("Open fifo", err)
	unix.Close(ffd)
	if _, _, err := c.Mknod(d, "null", unix.S_IFCHR|0o600, 0, 0); err != linux.EPERM {
		t.Errorf("Mknod of a device = %v, want EPERM", err)
	}
	ln, _, err := c.Symlink(d, "ln", "f", 1234, 1234)
	ok("Symlink", err)
	target, err := c.Readlink(ln)
	ok("Readlink", err)
	if target != "f" {
		t.Errorf("Readlink = %q", target)
	}
	if _, err := c.Open(ln, unix.O_RDONLY); err != linux.ELOOP {
		t.Errorf("Open of a symlink = %v, want ELOOP", err)
	}
	_, err = c.Link(d, "hard", f)
	ok("Link", err)
	ok("Rename", c.Rename(d, "hard", r, "hard2"))
	ok("Unlink", c.Unlink(r, "hard2", 0))
	if err := c.Unlink(r, "d", unix.AT_REMOVEDIR); err != linux.ENOTEMPTY {
		t.Errorf("Unlink of a full directory = %v, want ENOTEMPTY", err)
	}
	for _, name := range []string{"f", "fifo", "ln"} {
		ok("Unlink "+name, c.Unlink(d, name, 0))
	}
	ok("rmdir", c.Unlink(r, "d", unix.AT_REMOVEDIR))
	ok("Release", c.Release(f))
	if _, err := os.Lstat(filepath.Join(root, "d")); !os.IsNotExist(err) {
		t.Errorf("d still on the host: %v", err)
	}
}
