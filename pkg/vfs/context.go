package vfs

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// BackgroundContext returns a Context for work done by the sandbox itself
// (boot building the mount tree, mapping a file): Block waits without
// interruption and CopyIn/CopyOut fail with linux.EFAULT.
func BackgroundContext(creds *auth.Credentials) Context {
	return bgContext{creds}
}

type bgContext struct{ creds *auth.Credentials }

func (c bgContext) Block(ch <-chan struct{}) error {
	<-ch
	return nil
}

func (c bgContext) Credentials() *auth.Credentials { return c.creds }

func (c bgContext) CopyIn(uintptr, []byte) (int, error) { return 0, linux.EFAULT }

func (c bgContext) CopyOut(uintptr, []byte) (int, error) { return 0, linux.EFAULT }
