package kernel

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"bulwark.dev/pkg/abi/linux"
)

// strace output: one line when a syscall enters ("... ") and one when it
// returns ("= result"), both with the decoded arguments, e.g.
//
//	[   12] openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC, 0) = 3
//	[   12] read(3, "root:x:0:0:root:/root:/bin/sh\n", 4096) = 31
//	[   12] openat(AT_FDCWD, "/nope", O_RDONLY, 0) = -1 ENOENT (no such file or directory)

// straceMaxString is how many bytes of a string or buffer are shown.
const straceMaxString = 64

// straceMaxArray is how many elements of an argv/envp are shown.
const straceMaxArray = 32

// straceCall is a syscall being traced: its entry formatting, kept for the
// exit line (arguments may no longer be readable after execve).
type straceCall struct {
	name    string
	formats []ArgFormat
	raw     SyscallArguments
	args    []string // "" for arguments formatted on exit (ReadBuf)
	start   time.Time
}

// straceEnter logs a syscall's entry.
func (t *Task) straceEnter(nr uintptr, sc Syscall, known bool, raw SyscallArguments) *straceCall {
	c := &straceCall{name: sc.Name, formats: sc.Args, raw: raw, start: time.Now()}
	if !known {
		c.name = syscallName(nr)
		c.formats = []ArgFormat{Hex, Hex, Hex, Hex, Hex, Hex}
	}
	if len(c.formats) > len(raw) {
		c.formats = c.formats[:len(raw)]
	}
	c.args = make([]string, len(c.formats))
	for i, f := range c.formats {
		if f != ReadBuf {
			c.args[i] = formatArg(t, f, raw, i)
		}
	}
	t.Debugf("%s(%s) ...", c.name, strings.Join(c.args, ", "))
	return c
}

// straceExit logs a syscall's result.
func (t *Task) straceExit(c *straceCall, ret uintptr, err error) {
	for i, f := range c.formats {
		if f == ReadBuf {
			if err == nil {
				c.args[i] = formatBuf(t, c.raw[i], int64(ret))
			} else {
				c.args[i] = formatHex(c.raw[i])
			}
		}
	}
	t.Debugf("%s(%s) = %s <%v>", c.name, strings.Join(c.args, ", "),
		formatResult(c.name, ret, err, t.exitRequested), time.Since(c.start).Round(time.Microsecond))
}

// formatResult formats a return value or error the way strace does.
func formatResult(name string, ret uintptr, err error, exited bool) string {
	if exited {
		return "?"
	}
	if err != nil {
		e := linux.Errno(-int64(ret))
		msg := e.Error()
		if isRestart(e) {
			msg = "to be restarted"
		}
		return fmt.Sprintf("-1 %s (%s)", e.Name(), msg)
	}
	switch name {
	case "mmap", "brk", "mremap", "shmat":
		return formatHex(ret)
	}
	return strconv.FormatInt(int64(ret), 10)
}

// argFormatters format one argument; raw holds every argument so WriteBuf
// can use the next one as its length.
var argFormatters = map[ArgFormat]func(t *Task, raw SyscallArguments, i int) string{
	Hex:         func(_ *Task, raw SyscallArguments, i int) string { return formatHex(raw[i]) },
	Int:         func(_ *Task, raw SyscallArguments, i int) string { return strconv.FormatInt(int64(raw[i]), 10) },
	FD:          func(_ *Task, raw SyscallArguments, i int) string { return formatFD(raw[i]) },
	Path:        func(t *Task, raw SyscallArguments, i int) string { return formatPath(t, raw[i]) },
	Oct:         func(_ *Task, raw SyscallArguments, i int) string { return "0" + strconv.FormatUint(uint64(raw[i]), 8) },
	Signal:      func(_ *Task, raw SyscallArguments, i int) string { return signalName(int(int32(raw[i]))) },
	OpenFlags:   func(_ *Task, raw SyscallArguments, i int) string { return formatOpenFlags(uint32(raw[i])) },
	StringArray: func(t *Task, raw SyscallArguments, i int) string { return formatStringArray(t, raw[i]) },
	WriteBuf: func(t *Task, raw SyscallArguments, i int) string {
		if i+1 >= len(raw) {
			return formatHex(raw[i])
		}
		return formatBuf(t, raw[i], int64(raw[i+1]))
	},
}

func formatArg(t *Task, f ArgFormat, raw SyscallArguments, i int) string {
	if fn, ok := argFormatters[f]; ok {
		return fn(t, raw, i)
	}
	return formatHex(raw[i])
}

func formatHex(v uintptr) string { return "0x" + strconv.FormatUint(uint64(v), 16) }

func formatFD(v uintptr) string {
	fd := int32(v)
	if fd == linux.AT_FDCWD {
		return "AT_FDCWD"
	}
	return strconv.FormatInt(int64(fd), 10)
}

// quote quotes b like strace, marking truncation with "...".
func quote(b []byte, truncated bool) string {
	s := strconv.Quote(string(b))
	if truncated {
		s += "..."
	}
	return s
}

func formatPath(t *Task, addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	s, err := t.CopyInString(addr, linux.PATH_MAX)
	if err != nil {
		return formatHex(addr)
	}
	if len(s) > straceMaxString {
		return quote([]byte(s[:straceMaxString]), true)
	}
	return quote([]byte(s), false)
}

// formatBuf shows up to straceMaxString bytes of an n-byte buffer.
func formatBuf(t *Task, addr uintptr, n int64) string {
	if n < 0 {
		return formatHex(addr)
	}
	show := min(n, straceMaxString)
	b := make([]byte, show)
	if got, err := t.CopyIn(addr, b); err != nil && got == 0 && show > 0 {
		return formatHex(addr)
	} else {
		b = b[:got]
	}
	return quote(b, n > show)
}

func formatStringArray(t *Task, addr uintptr) string {
	if addr == 0 {
		return "NULL"
	}
	var parts []string
	for i := 0; ; i++ {
		if i == straceMaxArray {
			parts = append(parts, "...")
			break
		}
		var p [8]byte
		if _, err := t.CopyIn(addr+uintptr(8*i), p[:]); err != nil {
			return formatHex(addr)
		}
		ptr := uintptr(binary.LittleEndian.Uint64(p[:]))
		if ptr == 0 {
			break
		}
		parts = append(parts, formatPath(t, ptr))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// openFlagNames are the open(2) flags strace names, besides the access mode.
var openFlagNames = []struct {
	bit  uint32
	name string
}{
	{linux.O_CREAT, "O_CREAT"}, {linux.O_EXCL, "O_EXCL"}, {linux.O_NOCTTY, "O_NOCTTY"},
	{linux.O_TRUNC, "O_TRUNC"}, {linux.O_APPEND, "O_APPEND"}, {linux.O_NONBLOCK, "O_NONBLOCK"},
	{linux.O_SYNC, "O_SYNC"}, {linux.O_DSYNC, "O_DSYNC"}, {linux.O_ASYNC, "O_ASYNC"},
	{linux.O_DIRECT, "O_DIRECT"}, {linux.O_LARGEFILE, "O_LARGEFILE"},
	{linux.O_DIRECTORY, "O_DIRECTORY"}, {linux.O_NOFOLLOW, "O_NOFOLLOW"},
	{linux.O_NOATIME, "O_NOATIME"}, {linux.O_CLOEXEC, "O_CLOEXEC"},
	{linux.O_TMPFILE &^ linux.O_DIRECTORY, "O_TMPFILE"}, {linux.O_PATH, "O_PATH"},
}

func formatOpenFlags(flags uint32) string {
	parts := []string{[]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[flags&linux.O_ACCMODE]}
	rest := flags &^ linux.O_ACCMODE
	for _, f := range openFlagNames {
		if rest&f.bit == f.bit {
			parts = append(parts, f.name)
			rest &^= f.bit
		}
	}
	if rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "|")
}

// signalName names a signal: "SIGTERM", "SIGRT3" or the number.
func signalName(sig int) string {
	if n, ok := linux.SignalNames[sig]; ok {
		return n
	}
	if sig >= linux.SIGRTMIN && sig <= linux.SIGRTMAX {
		return "SIGRT" + strconv.Itoa(sig-linux.SIGRTMIN)
	}
	return strconv.Itoa(sig)
}
