// Package loader loads executables into a fresh address space: static and
// dynamic (PT_INTERP) x86-64 ELF and "#!" scripts, and builds the initial
// stack with argv, envp and the auxiliary vector.
package loader

import (
	"bytes"
	"debug/elf"
	"path"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/platform"
	"bulwark.dev/pkg/vdso"
)

// File is an executable opened by the kernel.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	// Name is the absolute path in the sandbox.
	Name() string
	Close()
}

// MappableFile is a File that names the source its segments are mapped
// from, such as one whose pages are shared copy-on-write (mm.FileBacked)
// instead of copied. Without it a File is mapped as a plain mm.Mappable.
type MappableFile interface {
	File
	Mappable() mm.Mappable
}

// mappable returns the source to map f's segments from.
func mappable(f File) mm.Mappable {
	if mf, ok := f.(MappableFile); ok {
		return mf.Mappable()
	}
	return f
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
	secure               bool // AT_SECURE, from SetID
	// StackLimit is the soft RLIMIT_STACK in bytes; 0 means Linux's
	// default of 8 MiB. It sizes the [stack] mapping (see stackSize).
	StackLimit uint64
	// VDSO, if not nil, is mapped above the stack and passed as
	// AT_SYSINFO_EHDR.
	VDSO *vdso.VDSO
	// SetID, if not nil, is called with the file whose image is loaded
	// (the binary a #! chain ends in) before the stack is built, and
	// returns the identity the program runs with (set-user-ID and
	// set-group-ID bits). Without it, the ids above are used and
	// AT_SECURE is 0.
	SetID func(File) (Identity, error)
}

// Identity is what the auxiliary vector says of the new program's
// credentials: AT_UID, AT_EUID, AT_GID, AT_EGID and AT_SECURE (set when
// the program gained privileges, so that ld.so ignores LD_PRELOAD and the
// like).
type Identity struct {
	UID, EUID, GID, EGID uint32
	Secure               bool
}

// Result says where the new program starts.
type Result struct {
	Regs     platform.Registers // rip = entry (interpreter's if dynamic), rsp = initial stack
	Argv     []string           // final argv (rewritten for #! scripts)
	ExecPath string             // the executable actually loaded (the script, not the interpreter), for /proc/self/exe
	Comm     string             // basename of the path, truncated to 15 bytes
}

// Script and register constants.
const (
	maxScriptDepth = 4   // nested #! interpreters before ELOOP
	scriptBufSize  = 256 // bytes of a #! line that are looked at (BINPRM_BUF_SIZE)
	userCS         = 0x33
	userSS         = 0x2b
	initialFlags   = 0x202 // IF and the reserved bit
	commLen        = 15
)

// Load loads the program. On error the memory manager may hold partial
// mappings and must be discarded. Errors are linux.Errno values (ENOEXEC,
// ENOENT, EACCES, ELOOP for too many #! levels, ENOMEM, E2BIG).
//
// The executable's bytes are copied into the address space, so the files
// are closed before Load returns.
func Load(a Args) (Result, error) {
	if a.MM == nil || a.Open == nil {
		return Result{}, linux.EINVAL
	}
	res := Result{Argv: a.Argv, Comm: comm(a.Path)}
	p := a.Path
	for depth := 0; ; depth++ {
		f, err := a.Open(p)
		if err != nil {
			return Result{}, err
		}
		hdr := make([]byte, scriptBufSize)
		n, rerr := f.ReadAt(hdr, 0)
		hdr = hdr[:n]
		if n == 0 && rerr != nil {
			f.Close()
			return Result{}, asErrno(rerr, linux.ENOEXEC)
		}
		if res.ExecPath == "" {
			res.ExecPath = f.Name()
		}
		if !bytes.HasPrefix(hdr, []byte("#!")) {
			if a.SetID != nil {
				id, err := a.SetID(f)
				if err != nil {
					f.Close()
					return Result{}, err
				}
				a.UID, a.EUID, a.GID, a.EGID, a.secure = id.UID, id.EUID, id.GID, id.EGID, id.Secure
			}
			err := loadBinary(a, f, hdr, &res)
			f.Close()
			if err != nil {
				return Result{}, err
			}
			a.MM.SetExecutable(res.ExecPath)
			return res, nil
		}
		f.Close()
		if depth >= maxScriptDepth {
			return Result{}, linux.ELOOP
		}
		interp, arg, err := parseShebang(hdr)
		if err != nil {
			return Result{}, err
		}
		argv := []string{interp}
		if arg != "" {
			argv = append(argv, arg)
		}
		argv = append(argv, p)
		if len(res.Argv) > 1 {
			argv = append(argv, res.Argv[1:]...)
		}
		res.Argv, p = argv, interp
	}
}

// parseShebang splits a "#!interpreter [argument]" line. The argument is
// the rest of the line with surrounding blanks removed (one argument, as
// Linux passes it).
func parseShebang(hdr []byte) (interp, arg string, err error) {
	line := hdr[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	} else {
		// A truncated line is only usable if the interpreter's name ends
		// within it.
		trimmed := bytes.TrimLeft(line, " \t")
		if bytes.IndexAny(trimmed, " \t") < 0 {
			return "", "", linux.ENOEXEC
		}
	}
	line = bytes.Trim(line, " \t\r\x00")
	if len(line) == 0 {
		return "", "", linux.ENOEXEC
	}
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		interp, arg = string(line[:i]), string(bytes.Trim(line[i:], " \t"))
	} else {
		interp = string(line)
	}
	return interp, arg, nil
}

// loadBinary loads an ELF executable (and its interpreter) and builds the
// stack.
func loadBinary(a Args, f File, hdr []byte, res *Result) error {
	if !isELF(hdr) {
		return linux.ENOEXEC
	}
	info, err := parseELF(f)
	if err != nil {
		return err
	}
	base := uintptr(0)
	if info.interp != "" {
		base = dynBase
	}
	bias, end, err := loadELF(a.MM, f, info, base)
	if err != nil {
		return err
	}
	a.MM.SetBrkStart(pageUp(end))
	entry := bias + info.entry
	var interpBase uintptr
	if info.interp != "" {
		if interpBase, entry, err = loadInterpreter(a, info.interp); err != nil {
			return err
		}
	}
	var phdr uintptr
	if p := info.phdrAddr(); p != 0 {
		phdr = bias + p
	}
	sa := &stackArgs{
		argv:      res.Argv,
		envv:      a.Envv,
		execfn:    a.Path,
		random:    a.Random,
		execStack: info.execStack,
		stackSize: stackSize(a.StackLimit),
		aux: []auxEntry{
			{linux.AT_HWCAP, hwcap()},
			{linux.AT_PAGESZ, linux.PageSize},
			{linux.AT_CLKTCK, clockTicks},
			{linux.AT_PHDR, uint64(phdr)},
			{linux.AT_PHENT, phentSize},
			{linux.AT_PHNUM, uint64(len(info.phdrs))},
			{linux.AT_BASE, uint64(interpBase)},
			{linux.AT_FLAGS, 0},
			{linux.AT_ENTRY, uint64(bias + info.entry)},
			{linux.AT_UID, uint64(a.UID)},
			{linux.AT_EUID, uint64(a.EUID)},
			{linux.AT_GID, uint64(a.GID)},
			{linux.AT_EGID, uint64(a.EGID)},
			{linux.AT_SECURE, boolAux(a.secure)},
		},
	}
	top := a.MM.MaxUserAddress()
	if a.VDSO != nil {
		// Like Linux, the vDSO sits next to the stack: at the top of
		// user memory, with the stack's random gap below it.
		top -= a.VDSO.Size()
		ehdr, err := a.VDSO.Map(a.MM, top)
		if err != nil {
			return err
		}
		sa.aux = append([]auxEntry{{linux.AT_SYSINFO_EHDR, uint64(ehdr)}}, sa.aux...)
	}
	sp, err := buildStack(a.MM, top, sa)
	if err != nil {
		return err
	}
	res.Regs = platform.Registers{Rip: uint64(entry), Rsp: uint64(sp), Cs: userCS, Ss: userSS, Eflags: initialFlags}
	return nil
}

// loadInterpreter loads the PT_INTERP program and returns its load base
// and entry point.
func loadInterpreter(a Args, p string) (base, entry uintptr, err error) {
	f, err := a.Open(p)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	info, err := parseELF(f)
	if err != nil {
		return 0, 0, err
	}
	if info.interp != "" {
		return 0, 0, linux.ELIBBAD
	}
	bias, _, err := loadELF(a.MM, f, info, 0)
	if err != nil {
		return 0, 0, err
	}
	if info.typ == elf.ET_EXEC {
		return 0, info.entry, nil
	}
	return bias, bias + info.entry, nil
}

// comm is the task name for path: its basename, at most 15 bytes.
func comm(p string) string {
	c := path.Base(p)
	if len(c) > commLen {
		c = c[:commLen]
	}
	return c
}

// boolAux is an auxiliary vector flag's value.
func boolAux(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
