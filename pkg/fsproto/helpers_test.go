package fsproto

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"golang.org/x/sys/unix"
)

// socketpair returns a connected SOCK_SEQPACKET pair.
func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	return fds[0], fds[1]
}

// serve starts a server on srv and returns a connected client; cleanup
// closes the client and checks the server ended cleanly.
func serve(t *testing.T, srv *Server) *Client {
	t.Helper()
	sfd, cfd := socketpair(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sfd) }()
	c, err := NewClient(cfd)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		srv.Close()
	})
	return c
}

// newTree serves a fresh temp directory and returns the client, its root
// FID and the directory's host path.
func newTree(t *testing.T, opts ServerOptions) (*Client, FID, string) {
	t.Helper()
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	srv, err := NewServer(fd, opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	c := serve(t, srv)
	root, _, err := c.Attach()
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return c, root, dir
}

// walkPath walks each component in turn.
func walkPath(t *testing.T, c *Client, f FID, names ...string) (FID, Attr) {
	t.Helper()
	var a Attr
	for _, n := range names {
		var err error
		if f, a, err = c.Walk(f, n); err != nil {
			t.Fatalf("Walk(%q): %v", n, err)
		}
	}
	return f, a
}

// readFD reads everything from a donated fd and closes it.
func readFD(t *testing.T, fd int) string {
	t.Helper()
	f := os.NewFile(uintptr(fd), "donated")
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("reading donated fd: %v", err)
	}
	return string(b)
}

// wantErrno checks err is the errno want.
func wantErrno(t *testing.T, what string, err error, want linux.Errno) {
	t.Helper()
	var got linux.Errno
	if !errors.As(err, &got) || got != want {
		t.Errorf("%s: got error %v, want %s", what, err, want.Name())
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}
