package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// Data transfer: read, write and their positioned, vectored forms, lseek,
// fsync (sendfile and splice are in sys_splice.go).

func init() {
	register(linux.SYS_READ, sysRead, kernel.FD, kernel.ReadBuf, kernel.Int)
	register(linux.SYS_WRITE, sysWrite, kernel.FD, kernel.WriteBuf, kernel.Int)
	register(linux.SYS_PREAD64, sysPread64, kernel.FD, kernel.ReadBuf, kernel.Int, kernel.Int)
	register(linux.SYS_PWRITE64, sysPwrite64, kernel.FD, kernel.WriteBuf, kernel.Int, kernel.Int)
	register(linux.SYS_READV, sysReadv, kernel.FD, kernel.Hex, kernel.Int)
	register(linux.SYS_WRITEV, sysWritev, kernel.FD, kernel.Hex, kernel.Int)
	register(linux.SYS_PREADV, sysPreadv, kernel.FD, kernel.Hex, kernel.Int, kernel.Int)
	register(linux.SYS_PWRITEV, sysPwritev, kernel.FD, kernel.Hex, kernel.Int, kernel.Int)
	register(linux.SYS_LSEEK, sysLseek, kernel.FD, kernel.Int, kernel.Int)
	register(linux.SYS_FSYNC, sysFsync, kernel.FD)
	register(linux.SYS_FDATASYNC, sysFsync, kernel.FD)
	register(linux.SYS_SYNC, sysSync)
}

// chunk is the most bytes copied between the task and the kernel at once.
const chunk = 64 << 10

// maxRW is the largest count a single read or write transfers (Linux's
// MAX_RW_COUNT).
const maxRW = 0x7ffff000

// isStream reports whether a short transfer should end a read loop at once
// (pipes, sockets, terminals and other devices).
func isStream(t *kernel.Task, f *vfs.File) bool {
	typ := f.Type(t)
	return typ != linux.S_IFREG && typ != linux.S_IFBLK
}

// readTo reads up to count bytes from f into the task's memory at addr,
// using read (off < 0) or pread.
func readTo(t *kernel.Task, f *vfs.File, addr uintptr, count int, off int64) (int, error) {
	if count < 0 {
		return 0, linux.EINVAL
	}
	count = min(count, maxRW)
	buf := make([]byte, min(count, chunk))
	stream := isStream(t, f)
	done := 0
	for done < count {
		b := buf[:min(len(buf), count-done)]
		n, err := readBuf(t, f, b, off, done)
		if n > 0 {
			if c, cerr := t.CopyOut(addr+uintptr(done), b[:n]); cerr != nil {
				done += c
				if done == 0 {
					return 0, cerr
				}
				return done, nil
			}
			done += n
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n < len(b) || stream {
			break
		}
	}
	return done, nil
}

// writeFrom writes count bytes from the task's memory at addr to f (write
// when off < 0, else pwrite). EPIPE sends SIGPIPE.
func writeFrom(t *kernel.Task, f *vfs.File, addr uintptr, count int, off int64) (int, error) {
	if count < 0 {
		return 0, linux.EINVAL
	}
	count = min(count, maxRW)
	if count == 0 {
		// Still check the file is writable.
		if !f.Writable() {
			return 0, linux.EBADF
		}
		return 0, nil
	}
	buf := make([]byte, min(count, chunk))
	done := 0
	for done < count {
		b := buf[:min(len(buf), count-done)]
		c, cerr := t.CopyIn(addr+uintptr(done), b)
		if cerr != nil {
			if c == 0 {
				if done == 0 {
					return 0, cerr
				}
				return done, nil
			}
			b = b[:c]
		}
		n, err := writeBuf(t, f, b, off, done)
		done += n
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n < len(b) || cerr != nil {
			break
		}
	}
	return done, nil
}

// readBuf reads into b from f: at the file position (off < 0) or at
// off+done.
func readBuf(t *kernel.Task, f *vfs.File, b []byte, off int64, done int) (int, error) {
	if off < 0 {
		return f.Read(t, b)
	}
	return f.PRead(t, b, off+int64(done))
}

// writeBuf writes b to f like readBuf reads; a broken pipe or stream
// also raises SIGPIPE.
func writeBuf(t *kernel.Task, f *vfs.File, b []byte, off int64, done int) (int, error) {
	var n int
	var err error
	if off < 0 {
		n, err = f.Write(t, b)
	} else {
		n, err = f.PWrite(t, b, off+int64(done))
	}
	if err == linux.EPIPE {
		t.SendSignal(linux.SIGPIPE)
	}
	return n, err
}

func sysRead(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.Type(t) == linux.S_IFDIR {
		return 0, linux.EISDIR
	}
	n, err := readTo(t, f, a[1], int(a[2]), -1)
	return uintptr(n), err
}

func sysWrite(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := writeFrom(t, f, a[1], int(a[2]), -1)
	return uintptr(n), err
}

func sysPread64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off := int64(a[3])
	if off < 0 {
		return 0, linux.EINVAL
	}
	if f.Type(t) == linux.S_IFDIR {
		return 0, linux.EISDIR
	}
	n, err := readTo(t, f, a[1], int(a[2]), off)
	return uintptr(n), err
}

func sysPwrite64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off := int64(a[3])
	if off < 0 {
		return 0, linux.EINVAL
	}
	n, err := writeFrom(t, f, a[1], int(a[2]), off)
	return uintptr(n), err
}

// iovec is one struct iovec.
type iovec struct {
	base uintptr
	len  int
}

// copyIovecs reads an iovec array (at most IOV_MAX = 1024 entries).
func copyIovecs(t *kernel.Task, addr uintptr, cnt int) ([]iovec, error) {
	if cnt < 0 || cnt > 1024 {
		return nil, linux.EINVAL
	}
	raw := make([]byte, 16*cnt)
	if _, err := t.CopyIn(addr, raw); err != nil {
		return nil, err
	}
	out := make([]iovec, cnt)
	total := 0
	for i := range out {
		out[i].base = uintptr(binary.LittleEndian.Uint64(raw[16*i:]))
		l := int64(binary.LittleEndian.Uint64(raw[16*i+8:]))
		if l < 0 {
			return nil, linux.EINVAL
		}
		out[i].len = int(l)
		total += out[i].len
		if total > maxRW || total < 0 {
			return nil, linux.EINVAL
		}
	}
	return out, nil
}

// vectored runs one transfer per iovec until one is short or fails.
func vectored(t *kernel.Task, fdArg, iovArg, cnt uintptr, off int64, write bool) (uintptr, error) {
	f, err := getFile(t, fdArg)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	iovs, err := copyIovecs(t, iovArg, int(cnt))
	if err != nil {
		return 0, err
	}
	if !write && f.Type(t) == linux.S_IFDIR {
		return 0, linux.EISDIR
	}
	if size := iovecsLen(iovs); isStream(t, f) && size <= chunk {
		return vectoredOnce(t, f, iovs, size, off, write)
	}
	total := 0
	for _, v := range iovs {
		if v.len == 0 {
			continue
		}
		o := off
		if off >= 0 {
			o = off + int64(total)
		}
		var n int
		if write {
			n, err = writeFrom(t, f, v.base, v.len, o)
		} else {
			n, err = readTo(t, f, v.base, v.len, o)
		}
		total += n
		if err != nil {
			if total > 0 {
				return uintptr(total), nil
			}
			return 0, err
		}
		if n < v.len {
			break
		}
	}
	return uintptr(total), nil
}

func sysReadv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return vectored(t, a[0], a[1], a[2], -1, false)
}

func sysWritev(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return vectored(t, a[0], a[1], a[2], -1, true)
}

func sysPreadv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if int64(a[3]) < 0 {
		return 0, linux.EINVAL
	}
	return vectored(t, a[0], a[1], a[2], int64(a[3]), false)
}

func sysPwritev(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if int64(a[3]) < 0 {
		return 0, linux.EINVAL
	}
	return vectored(t, a[0], a[1], a[2], int64(a[3]), true)
}

func sysLseek(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off, err := f.Seek(t, int64(a[1]), int(a[2]))
	return uintptr(off), err
}

func sysFsync(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.Sync(t)
}

func sysSync(*kernel.Task, kernel.SyscallArguments) (uintptr, error) { return 0, nil }

// iovecsLen is the total length of iovs (copyIovecs bounds it).
func iovecsLen(iovs []iovec) int {
	n := 0
	for _, v := range iovs {
		n += v.len
	}
	return n
}

// vectoredOnce makes a vectored transfer of size bytes one transfer of a
// gathered buffer, as Linux does for sockets, pipes and terminals: a
// datagram is one message, and a pipe write of at most PIPE_BUF stays
// atomic. A fault in an iovec shortens the transfer to the bytes before
// it (EFAULT when there are none).
func vectoredOnce(t *kernel.Task, f *vfs.File, iovs []iovec, size int, off int64, write bool) (uintptr, error) {
	buf := make([]byte, size)
	if write {
		got := 0
		for _, v := range iovs {
			c, err := t.CopyIn(v.base, buf[got:got+v.len])
			got += c
			if err != nil {
				if got == 0 {
					return 0, err
				}
				break
			}
		}
		n, err := writeBuf(t, f, buf[:got], off, 0)
		if n > 0 {
			return uintptr(n), nil
		}
		return 0, err
	}
	n, err := readBuf(t, f, buf, off, 0)
	if n <= 0 {
		return 0, err
	}
	done := 0
	for _, v := range iovs {
		if done == n {
			break
		}
		c, cerr := t.CopyOut(v.base, buf[done:done+min(v.len, n-done)])
		done += c
		if cerr != nil {
			if done == 0 {
				return 0, cerr
			}
			break
		}
	}
	return uintptr(done), nil
}
