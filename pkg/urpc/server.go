package urpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Handler serves one method. It owns files (it must close them or keep
// them). The returned value is encoded as JSON; a non-nil error reaches the
// caller as an error with the same text.
type Handler func(req json.RawMessage, files []*os.File) (any, error)

// Server dispatches calls to registered handlers. Each connection is served
// by its own goroutine and each call by another, so a blocking call (a wait)
// does not hold up others on the same connection.
type Server struct {
	mu       sync.Mutex
	handlers map[string]Handler
	conns    map[*net.UnixConn]struct{}
	ln       net.Listener
	closed   bool
	stopping bool          // Shutdown began: Accept errors are expected
	active   int           // calls whose answer is not written yet
	idle     chan struct{} // closed when active drops to 0, if set
}

// NewServer returns a server with no methods.
func NewServer() *Server {
	return &Server{handlers: map[string]Handler{}, conns: map[*net.UnixConn]struct{}{}}
}

// Register adds the handler for method name, replacing any earlier one.
func (s *Server) Register(name string, fn Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[name] = fn
}

// Serve accepts connections on ln until it is closed (by Close or
// otherwise) and serves each in a goroutine. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed || s.stopping
			s.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("urpc: accepting connection: %w", err)
		}
		uc, ok := c.(*net.UnixConn)
		if !ok {
			c.Close()
			continue
		}
		go s.ServeConn(uc)
	}
}

// ServeConn serves calls on one connection until the peer closes it. It
// closes c when done.
func (s *Server) ServeConn(c *net.UnixConn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()

	cn := &conn{c: c}
	for {
		var req request
		files, err := cn.readFrame(&req)
		if err != nil {
			return
		}
		s.begin()
		go func() {
			defer s.end()
			resp := s.call(req, files)
			// A write error means the peer went away (or the
			// server closed); the read loop notices it too.
			_ = cn.writeFrame(resp, nil)
		}()
	}
}

// call runs the handler of one request and builds its response.
func (s *Server) call(req request, files []*os.File) response {
	resp := response{ID: req.ID}
	s.mu.Lock()
	fn, ok := s.handlers[req.Method]
	s.mu.Unlock()
	switch {
	case !ok:
		closeFiles(files)
		resp.Error = fmt.Sprintf("unknown method %q", req.Method)
		return resp
	case len(files) != req.NumFDs:
		closeFiles(files)
		resp.Error = fmt.Sprintf("%s: expected %d files, received %d", req.Method, req.NumFDs, len(files))
		return resp
	}
	result, err := safeCall(fn, req.Body, files)
	if err != nil {
		resp.Error = err.Error()
		if resp.Error == "" {
			resp.Error = "unknown error"
		}
		return resp
	}
	body, err := json.Marshal(result)
	if err != nil {
		resp.Error = fmt.Sprintf("%s: encoding result: %v", req.Method, err)
		return resp
	}
	resp.Body = body
	return resp
}

// safeCall runs fn, turning a panic (a bug in a handler) into an error so
// one bad call does not bring the whole process down.
func safeCall(fn Handler, body json.RawMessage, files []*os.File) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn(body, files)
}

// Shutdown stops accepting connections, waits up to limit for the calls in
// progress to finish and their answers to be written, then closes
// everything. It reports whether every call finished in time.
func (s *Server) Shutdown(limit time.Duration) bool {
	s.mu.Lock()
	s.stopping = true
	if s.ln != nil {
		s.ln.Close()
	}
	done := make(chan struct{})
	if s.active == 0 {
		close(done)
	} else {
		s.idle = done
	}
	s.mu.Unlock()
	ok := true
	select {
	case <-done:
	case <-time.After(limit):
		ok = false
	}
	s.Close()
	return ok
}

// begin and end count calls in progress for Shutdown.
func (s *Server) begin() {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
}

func (s *Server) end() {
	s.mu.Lock()
	s.active--
	if s.active == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
}

// Close stops accepting and closes every connection. Calls in progress
// finish, but their answers are lost.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
