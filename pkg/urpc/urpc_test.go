package urpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type echoArg struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

// startServer serves s on a fresh socket and returns a connected client.
func startServer(t *testing.T, s *Server) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRoundTrip(t *testing.T) {
	s := NewServer()
	s.Register("Echo", func(req json.RawMessage, files []*os.File) (any, error) {
		var a echoArg
		if err := json.Unmarshal(req, &a); err != nil {
			return nil, err
		}
		a.Text += "!"
		a.N *= 2
		return a, nil
	})
	c := startServer(t, s)
	var got echoArg
	if err := c.Call("Echo", echoArg{Text: "hi", N: 21}, &got); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got != (echoArg{Text: "hi!", N: 42}) {
		t.Errorf("got %+v", got)
	}
	// A nil result discards the answer.
	if err := c.Call("Echo", echoArg{}, nil); err != nil {
		t.Fatalf("Call with nil result: %v", err)
	}
}

func TestErrors(t *testing.T) {
	s := NewServer()
	s.Register("Fail", func(json.RawMessage, []*os.File) (any, error) {
		return nil, fmt.Errorf("no such process: pid %d", 7)
	})
	c := startServer(t, s)

	err := c.Call("Fail", nil, nil)
	var re *RemoteError
	if !errors.As(err, &re) || err.Error() != "no such process: pid 7" {
		t.Errorf("Fail: got %v (%T), want RemoteError with the handler's text", err, err)
	}
	err = c.Call("Nope", nil, nil)
	if !errors.As(err, &re) || err.Error() != `unknown method "Nope"` {
		t.Errorf("unknown method: got %v", err)
	}
	s.Register("Panic", func(json.RawMessage, []*os.File) (any, error) { panic("boom") })
	if err := c.Call("Panic", nil, nil); !errors.As(err, &re) || err.Error() != "internal error: boom" {
		t.Errorf("Panic: got %v", err)
	}
	// The connection survives handler errors.
	s.Register("Ok", func(json.RawMessage, []*os.File) (any, error) { return 1, nil })
	var n int
	if err := c.Call("Ok", nil, &n); err != nil || n != 1 {
		t.Errorf("Ok after errors: %d, %v", n, err)
	}
}

func TestFDPassing(t *testing.T) {
	s := NewServer()
	s.Register("ReadAll", func(req json.RawMessage, files []*os.File) (any, error) {
		var out []string
		for _, f := range files {
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, err
			}
			out = append(out, string(b))
		}
		return out, nil
	})
	c := startServer(t, s)

	var files []*os.File
	for _, text := range []string{"one", "two", "three"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteString(text); err != nil {
			t.Fatal(err)
		}
		w.Close()
		defer r.Close()
		files = append(files, r)
	}
	var got []string
	if err := c.Call("ReadAll", nil, &got, files...); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if fmt.Sprint(got) != "[one two three]" {
		t.Errorf("got %q", got)
	}
	// Calls with and without files interleave correctly.
	got = nil
	if err := c.Call("ReadAll", nil, &got); err != nil || len(got) != 0 {
		t.Errorf("no files: %q, %v", got, err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	s := NewServer()
	release := make(chan struct{})
	s.Register("Block", func(json.RawMessage, []*os.File) (any, error) {
		<-release
		return "released", nil
	})
	s.Register("Add", func(req json.RawMessage, _ []*os.File) (any, error) {
		var v [2]int
		if err := json.Unmarshal(req, &v); err != nil {
			return nil, err
		}
		return v[0] + v[1], nil
	})
	c := startServer(t, s)

	blocked := make(chan error, 1)
	go func() {
		var r string
		err := c.Call("Block", nil, &r)
		if err == nil && r != "released" {
			err = fmt.Errorf("got %q", r)
		}
		blocked <- err
	}()

	// Many calls proceed while Block is pending on the same connection.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum int
			if err := c.Call("Add", [2]int{i, 1000}, &sum); err != nil {
				errs <- err
			} else if sum != i+1000 {
				errs <- fmt.Errorf("Add(%d, 1000) = %d", i, sum)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	select {
	case err := <-blocked:
		t.Fatalf("Block returned early: %v", err)
	default:
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Errorf("Block: %v", err)
	}
}

func TestConnectionDrop(t *testing.T) {
	s := NewServer()
	entered := make(chan struct{})
	s.Register("Hang", func(json.RawMessage, []*os.File) (any, error) {
		close(entered)
		select {} // never answers
	})
	c := startServer(t, s)
	done := make(chan error, 1)
	go func() { done <- c.Call("Hang", nil, nil) }()
	<-entered
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending call not failed after the server closed")
	}
	if err := c.Call("Hang", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after drop: %v, want ErrClosed", err)
	}
}

func TestOversizedFrameRejected(t *testing.T) {
	a, b, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	// A header announcing more than MaxFrame.
	if _, err := a.Write([]byte{0xff, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	var v request
	if _, err := (&conn{c: b}).readFrame(&v); err == nil {
		t.Fatal("oversized frame accepted")
	}
}

func socketPair() (*net.UnixConn, *net.UnixConn, error) {
	dir, err := os.MkdirTemp("", "urpc")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	a, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, nil, err
	}
	b, err := ln.AcceptUnix()
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

func TestShutdownDrainsCalls(t *testing.T) {
	s := NewServer()
	entered := make(chan struct{})
	release := make(chan struct{})
	s.Register("Slow", func(json.RawMessage, []*os.File) (any, error) {
		close(entered)
		<-release
		return "done", nil
	})
	c := startServer(t, s)
	got := make(chan error, 1)
	go func() {
		var r string
		err := c.Call("Slow", nil, &r)
		if err == nil && r != "done" {
			err = fmt.Errorf("got %q", r)
		}
		got <- err
	}()
	<-entered
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(release)
	}()
	if !s.Shutdown(5 * time.Second) {
		t.Error("Shutdown timed out")
	}
	// The answer was written before the connection closed.
	if err := <-got; err != nil {
		t.Errorf("Slow: %v", err)
	}
}
