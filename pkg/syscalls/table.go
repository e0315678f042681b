// Package syscalls is the system call table: one file per subsystem
// (sys_file.go, sys_signal.go, ...), each registering thin handlers that call
// into pkg/kernel, pkg/mm and pkg/vfs.
package syscalls

import (
	"fmt"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
)

var table = kernel.SyscallTable{}

// register adds a handler for syscall nr; its name comes from the ABI table.
// Files call it from init.
func register(nr uintptr, fn kernel.SyscallFn, args ...kernel.ArgFormat) {
	name, ok := linux.SyscallNames[nr]
	if !ok {
		panic(fmt.Sprintf("register: unknown syscall number %d", nr))
	}
	if _, dup := table[nr]; dup {
		panic("register: duplicate handler for " + name)
	}
	table[nr] = kernel.Syscall{Name: name, Fn: fn, Args: args}
}

// Table returns the complete syscall table.
func Table() kernel.SyscallTable { return table }
