// Package loader loads executables into a fresh address space: static and
// dynamic (PT_INTERP) x86-64 ELF and "#!" scripts, and builds the initial
// stack with argv, envp and the auxiliary vector.
//
// CONTRACT (lead): the exported names in this file are used by pkg/kernel
// (execve and CreateProcess). The loader work owns this file.
package loader

import (
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
)

// File is an executable opened by the kernel.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	// Name is the absolute path in the sandbox.
	Name() string
	Close()
}

// Opener opens a path for execution in the calling task's filesystem
// context, checking that it is a regular file with execute permission
// (linux.EACCES, linux.ENOENT, ...).
type Opener func(path string) (File, error)

// Args are the inputs of Load.
type Args struct {
	Path                 string // as given to execve (or resolved from PATH)
	Argv                 []string
	Envv                 []string
	Open                 Opener
	MM                   *mm.MemoryManager // fresh, empty
	Random               [16]byte          // AT_RANDOM bytes
	UID, EUID, GID, EGID uint32
}

// Result says where the new program starts.
type Result struct {
	Regs     platform.Registers // rip = entry (interpreter's if dynamic), rsp = initial stack
	Argv     []string           // final argv (rewritten for #! scripts)
	ExecPath string             // the executable actually loaded (the script, not the interpreter), for /proc/self/exe
	Comm     string             // basename of the path, truncated to 15 bytes
}

// Load loads the program. On error the memory manager may hold partial
// mappings and must be discarded. Errors are linux.Errno values (ENOEXEC,
// ENOENT, EACCES, ELOOP for too many #! levels, ENOMEM).
func Load(a Args) (Result, error) { panic("unimplemented") }
