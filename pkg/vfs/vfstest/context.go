// Package vfstest has helpers for tests of filesystems and file syscalls.
package vfstest

import (
	"sync"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// Context is a vfs.Context for tests: root credentials, no application
// memory (CopyIn and CopyOut fail with EFAULT), and waits that Interrupt
// ends with ERESTARTSYS, as a signal would.
type Context struct {
	once sync.Once
	intr chan struct{}
}

// NewContext returns a context that is not interrupted.
func NewContext() *Context { return &Context{intr: make(chan struct{})} }

// Interrupt makes every current and later Block return ERESTARTSYS.
func (c *Context) Interrupt() { c.once.Do(func() { close(c.intr) }) }

// Block waits for ch or an interruption.
func (c *Context) Block(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-c.intr:
		return linux.ERESTARTSYS
	}
}

// Credentials are root's.
func (c *Context) Credentials() *auth.Credentials { return auth.NewRootCredentials() }

// CopyIn fails: a test context has no application memory.
func (c *Context) CopyIn(uintptr, []byte) (int, error) { return 0, linux.EFAULT }

// CopyOut fails: a test context has no application memory.
func (c *Context) CopyOut(uintptr, []byte) (int, error) { return 0, linux.EFAULT }
