package unix

import (
	"errors"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/tmpfs"
	"bulwark.dev/pkg/kernel/auth"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

// testCtx is a net.Context over vfstest.Context with a PID, credentials
// and a tmpfs root.
type testCtx struct {
	*vfstest.Context
	pid   int32
	creds *auth.Credentials
	fs    *vfs.FSContext
}

func (c *testCtx) PID() int32                     { return c.pid }
func (c *testCtx) FSContext() *vfs.FSContext      { return c.fs }
func (c *testCtx) Credentials() *auth.Credentials { return c.creds }

// newWorld returns a stack with AF_UNIX and a root context on a fresh
// tmpfs (umask 022).
func newWorld(t *testing.T) (*net.Stack, *testCtx) {
	t.Helper()
	ns, err := vfs.NewMountNamespace(tmpfs.New(tmpfs.Options{Mode: 0o1777}), vfs.MountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := ns.NewFSContext("/", 0o022)
	if err != nil {
		t.Fatal(err)
	}
	s := net.NewStack()
	Register(s)
	return s, &testCtx{Context: vfstest.NewContext(), pid: 10, creds: auth.NewRootCredentials(), fs: fs}
}

// as returns a context for another process with user credentials.
func (c *testCtx) as(pid int32, uid, gid uint32) *testCtx {
	return &testCtx{Context: vfstest.NewContext(), pid: pid, creds: auth.NewUserCredentials(uid, gid, nil), fs: c.fs.Fork()}
}

func sock(t *testing.T, s *net.Stack, ctx *testCtx, typ int) *vfs.File {
	t.Helper()
	f, _, err := s.NewSocket(ctx, linux.AF_UNIX, typ, 0)
	if err != nil {
		t.Fatalf("socket(%d): %v", typ, err)
	}
	t.Cleanup(f.DecRef)
	return f
}

func pair(t *testing.T, s *net.Stack, ctx *testCtx, typ int) (*vfs.File, *vfs.File) {
	t.Helper()
	a, b, _, err := s.NewPair(ctx, linux.AF_UNIX, typ, 0)
	if err != nil {
		t.Fatalf("socketpair(%d): %v", typ, err)
	}
	t.Cleanup(a.DecRef)
	t.Cleanup(b.DecRef)
	return a, b
}

func so(f *vfs.File) net.Socket {
	s, err := net.FromFile(f)
	if err != nil {
		panic(err)
	}
	return s
}

func pathAddr(p string) []byte {
	return append([]byte{linux.AF_UNIX, 0}, p...)
}

func absAddr(name string) []byte {
	return append([]byte{linux.AF_UNIX, 0, 0}, name...)
}

func send(t *testing.T, ctx *testCtx, f *vfs.File, data string, flags uint32) {
	t.Helper()
	n, err := so(f).SendMsg(ctx, f, net.SendRequest{Data: []byte(data), Flags: flags})
	if err != nil || n != len(data) {
		t.Fatalf("send %q = %d, %v", data, n, err)
	}
}

func recv(t *testing.T, ctx *testCtx, f *vfs.File, size int, flags uint32) (string, net.RecvResult) {
	t.Helper()
	buf := make([]byte, size)
	res, err := so(f).RecvMsg(ctx, f, buf, flags)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return string(buf[:res.N]), res
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// inode is a minimal vfs.Inode for test files.
type inode struct{}

func (*inode) Stat(vfs.Context) (vfs.Attr, error) {
	return vfs.Attr{Mode: linux.S_IFREG | 0o644, Nlink: 1}, nil
}

func (*inode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return vfs.NoFile{}, nil }
