package fsproto

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkRawPingPong is the floor a round trip cannot beat here: one
// SOCK_SEQPACKET message each way between two threads with blocking
// syscalls.
func BenchmarkRawPingPong(b *testing.B) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fds[0])
	go func() {
		runtime.LockOSThread()
		buf := make([]byte, 128)
		for {
			n, err := unix.Read(fds[1], buf)
			if err != nil || n == 0 {
				unix.Close(fds[1])
				return
			}
			unix.Write(fds[1], buf[:n])
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, 128)
	b.ResetTimer()
	for b.Loop() {
		if _, err := unix.Write(fds[0], buf[:64]); err != nil {
			b.Fatal(err)
		}
		if _, err := unix.Read(fds[0], buf); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStat times Stat round trips through a real Client and Server; with
// locked, from a goroutine locked to its thread, as the sandbox's task
// goroutines are.
func benchStat(b *testing.B, locked bool) {
	dir := b.TempDir()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := NewServer(fd, ServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(fds[0]) }()
	c, err := NewClient(fds[1])
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		c.Close()
		<-done
		srv.Close()
	}()
	root, _, err := c.Attach()
	if err != nil {
		b.Fatal(err)
	}
	if locked {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Stat(root); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStat is one stat round trip from an ordinary goroutine.
func BenchmarkStat(b *testing.B) { benchStat(b, false) }

// BenchmarkStatLocked is one stat round trip from a goroutine locked to
// its thread, like a sandbox task.
func BenchmarkStatLocked(b *testing.B) { benchStat(b, true) }
