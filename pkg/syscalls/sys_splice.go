package syscalls

import (
	"encoding/binary"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/fs/pipe"
	"bulwark.dev/pkg/kernel"
	"bulwark.dev/pkg/vfs"
)

// In-kernel copies: sendfile, splice, tee, copy_file_range; and the sync
// calls that have nothing to flush (sync_file_range, syncfs).

func init() {
	fd, h, i := kernel.FD, kernel.Hex, kernel.Int
	register(linux.SYS_SENDFILE, sysSendfile, fd, fd, h, i)
	register(linux.SYS_SPLICE, sysSplice, fd, h, fd, h, i, h)
	register(linux.SYS_TEE, sysTee, fd, fd, i, h)
	register(linux.SYS_COPY_FILE_RANGE, sysCopyFileRange, fd, h, fd, h, i, h)
	register(linux.SYS_SYNC_FILE_RANGE, sysSyncFileRange, fd, i, i, h)
	register(linux.SYS_SYNCFS, sysSyncfs, fd)
}

// spliceFlags are the flags splice and tee accept.
const spliceFlags = linux.SPLICE_F_MOVE | linux.SPLICE_F_NONBLOCK | linux.SPLICE_F_MORE | linux.SPLICE_F_GIFT

// readOffset reads a loff_t argument (linux.EINVAL when negative).
func readOffset(t *kernel.Task, addr uintptr) (int64, error) {
	var b [8]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	off := int64(binary.LittleEndian.Uint64(b[:]))
	if off < 0 {
		return 0, linux.EINVAL
	}
	return off, nil
}

func writeOffset(t *kernel.Task, addr uintptr, off int64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(off))
	_, err := t.CopyOut(addr, b[:])
	return err
}

// getTwoFiles returns the files at two fds (both referenced).
func getTwoFiles(t *kernel.Task, a, b uintptr) (*vfs.File, *vfs.File, error) {
	fa, err := getFile(t, a)
	if err != nil {
		return nil, nil, err
	}
	fb, err := getFile(t, b)
	if err != nil {
		fa.DecRef()
		return nil, nil, err
	}
	return fa, fb, nil
}

// filePos returns where a copy starts in f: *addr when addr is set, else
// the file position (-1 for stream files).
func filePos(t *kernel.Task, f *vfs.File, addr uintptr) (int64, error) {
	if addr != 0 {
		if isStream(t, f) {
			return 0, linux.ESPIPE
		}
		return readOffset(t, addr)
	}
	if isStream(t, f) {
		return -1, nil
	}
	return f.Offset(), nil
}

// advance records that n bytes were copied from pos: into *addr, else
// into the file position (stream files have none).
func advance(t *kernel.Task, f *vfs.File, addr uintptr, pos int64, n int) error {
	if addr != 0 {
		return writeOffset(t, addr, pos+int64(n))
	}
	if pos >= 0 && n > 0 {
		_, err := f.Seek(t, pos+int64(n), linux.SEEK_SET)
		return err
	}
	return nil
}

// readAt reads at pos, or at the stream's head when pos < 0.
func readAt(t *kernel.Task, f *vfs.File, b []byte, pos int64) (int, error) {
	if pos < 0 {
		return f.Read(t, b)
	}
	return f.PRead(t, b, pos)
}

// writeAt writes at pos, or to the stream when pos < 0. EPIPE sends
// SIGPIPE.
func writeAt(t *kernel.Task, f *vfs.File, b []byte, pos int64) (int, error) {
	var n int
	var err error
	if pos < 0 {
		n, err = f.Write(t, b)
	} else {
		n, err = f.PWrite(t, b, pos)
	}
	if err == linux.EPIPE {
		t.SendSignal(linux.SIGPIPE)
	}
	return n, err
}

// copyRange copies up to count bytes from in at inPos to out at outPos
// (either < 0: the stream's head) until a short transfer. It returns
// what it copied, and the error only when that is nothing.
func copyRange(t *kernel.Task, in *vfs.File, inPos int64, out *vfs.File, outPos int64, count int) (int, error) {
	buf := make([]byte, min(count, chunk))
	done := 0
	for done < count {
		b := buf[:min(len(buf), count-done)]
		ip, op := inPos, outPos
		if ip >= 0 {
			ip += int64(done)
		}
		if op >= 0 {
			op += int64(done)
		}
		n, err := readAt(t, in, b, ip)
		if n > 0 {
			w, werr := writeAt(t, out, b[:n], op)
			done += w
			if werr != nil {
				err = werr
			} else if w < n {
				break
			}
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if n < len(b) || (inPos < 0 && isStream(t, in)) {
			break
		}
	}
	return done, nil
}

func sysSendfile(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	out, in, err := getTwoFiles(t, a[0], a[1])
	if err != nil {
		return 0, err
	}
	defer out.DecRef()
	defer in.DecRef()
	if !in.Readable() || !out.Writable() {
		return 0, linux.EBADF
	}
	if out.StatusFlags()&linux.O_APPEND != 0 || pipe.EndOf(in) != nil {
		return 0, linux.EINVAL
	}
	offAddr, count := a[2], int(min(a[3], maxRW))
	pos, err := filePos(t, in, offAddr)
	if err != nil {
		return 0, err
	}
	if count == 0 {
		return 0, nil
	}
	n, err := copyRange(t, in, pos, out, -1, count)
	if aerr := advance(t, in, offAddr, pos, n); aerr != nil && err == nil {
		return 0, aerr
	}
	return uintptr(n), err
}

// pipeNonblock reports whether a splice on the pipe file f must not wait.
func pipeNonblock(f *vfs.File, flags uint32) bool {
	return flags&linux.SPLICE_F_NONBLOCK != 0 || f.StatusFlags()&linux.O_NONBLOCK != 0
}

func sysSplice(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	inAddr, outAddr, count, flags := a[1], a[3], int(min(a[4], maxRW)), uint32(a[5])
	if flags&^spliceFlags != 0 {
		return 0, linux.EINVAL
	}
	in, out, err := getTwoFiles(t, a[0], a[2])
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	if !in.Readable() || !out.Writable() {
		return 0, linux.EBADF
	}
	ip, op := pipe.EndOf(in), pipe.EndOf(out)
	switch {
	case ip == nil && op == nil:
		return 0, linux.EINVAL
	case ip != nil && inAddr != 0, op != nil && outAddr != 0:
		return 0, linux.ESPIPE
	case ip != nil && op != nil && ip.SamePipe(op):
		return 0, linux.EINVAL
	case op == nil && out.StatusFlags()&linux.O_APPEND != 0:
		return 0, linux.EINVAL
	}
	if count == 0 {
		return 0, nil
	}
	if ip != nil {
		return spliceFromPipe(t, in, ip, out, op, outAddr, count, flags)
	}
	// File to pipe: wait for room, then fill it from the file.
	pos, err := filePos(t, in, inAddr)
	if err != nil {
		return 0, err
	}
	room, err := op.Room(t, pipeNonblock(out, flags))
	if err != nil {
		if err == linux.EPIPE {
			t.SendSignal(linux.SIGPIPE)
		}
		return 0, err
	}
	buf := make([]byte, min(count, room))
	n, err := readAt(t, in, buf, pos)
	if n == 0 {
		return 0, err
	}
	w, err := op.Put(buf[:n])
	if err == linux.EPIPE {
		t.SendSignal(linux.SIGPIPE)
	}
	if aerr := advance(t, in, inAddr, pos, w); aerr != nil {
		return 0, aerr
	}
	if w == 0 {
		return 0, err
	}
	return uintptr(w), nil
}

// spliceFromPipe moves up to count bytes from the pipe ip (open as in) to
// out: another pipe (op) or a file at *outAddr or its position.
func spliceFromPipe(t *kernel.Task, in *vfs.File, ip *pipe.End, out *vfs.File, op *pipe.End, outAddr uintptr, count int, flags uint32) (uintptr, error) {
	data, err := ip.Peek(t, count, pipeNonblock(in, flags))
	if err != nil || len(data) == 0 {
		return 0, err
	}
	var n int
	if op != nil {
		if _, err := op.Room(t, pipeNonblock(out, flags)); err != nil {
			if err == linux.EPIPE {
				t.SendSignal(linux.SIGPIPE)
			}
			return 0, err
		}
		n, err = op.Put(data)
	} else {
		pos, perr := filePos(t, out, outAddr)
		if perr != nil {
			return 0, perr
		}
		n, err = writeAt(t, out, data, pos)
		if aerr := advance(t, out, outAddr, pos, n); aerr != nil && n == 0 {
			return 0, aerr
		}
	}
	ip.Consume(n)
	if n == 0 {
		return 0, err
	}
	return uintptr(n), nil
}

func sysTee(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	count, flags := int(min(a[2], maxRW)), uint32(a[3])
	if flags&^spliceFlags != 0 {
		return 0, linux.EINVAL
	}
	in, out, err := getTwoFiles(t, a[0], a[1])
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	if !in.Readable() || !out.Writable() {
		return 0, linux.EBADF
	}
	ip, op := pipe.EndOf(in), pipe.EndOf(out)
	if ip == nil || op == nil || ip.SamePipe(op) {
		return 0, linux.EINVAL
	}
	if count == 0 {
		return 0, nil
	}
	data, err := ip.Peek(t, count, pipeNonblock(in, flags))
	if err != nil || len(data) == 0 {
		return 0, err
	}
	if _, err := op.Room(t, pipeNonblock(out, flags)); err != nil {
		if err == linux.EPIPE {
			t.SendSignal(linux.SIGPIPE)
		}
		return 0, err
	}
	n, err := op.Put(data)
	if n == 0 {
		return 0, err
	}
	return uintptr(n), nil
}

func sysCopyFileRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	inAddr, outAddr, count, flags := a[1], a[3], int(min(a[4], maxRW)), uint32(a[5])
	if flags != 0 {
		return 0, linux.EINVAL
	}
	in, out, err := getTwoFiles(t, a[0], a[2])
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	defer out.DecRef()
	if !in.Readable() || !out.Writable() || out.StatusFlags()&linux.O_APPEND != 0 {
		return 0, linux.EBADF
	}
	for _, f := range []*vfs.File{in, out} {
		switch f.Type(t) {
		case linux.S_IFREG:
		case linux.S_IFDIR:
			return 0, linux.EISDIR
		default:
			return 0, linux.EINVAL
		}
	}
	if !vfs.SameFilesystem(in, out) {
		return 0, linux.EXDEV
	}
	ipos, err := filePos(t, in, inAddr)
	if err != nil {
		return 0, err
	}
	opos, err := filePos(t, out, outAddr)
	if err != nil {
		return 0, err
	}
	if in.Inode() == out.Inode() && ipos < opos+int64(count) && opos < ipos+int64(count) {
		return 0, linux.EINVAL
	}
	if count == 0 {
		return 0, nil
	}
	n, err := copyRange(t, in, ipos, out, opos, count)
	if aerr := advance(t, in, inAddr, ipos, n); aerr != nil && err == nil {
		err = aerr
	}
	if aerr := advance(t, out, outAddr, opos, n); aerr != nil && err == nil {
		err = aerr
	}
	if n == 0 {
		return 0, err
	}
	return uintptr(n), nil
}

func sysSyncFileRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	off, n, flags := int64(a[1]), int64(a[2]), uint32(a[3])
	if flags&^7 != 0 || off < 0 || n < 0 || off+n < 0 {
		return 0, linux.EINVAL
	}
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	switch f.Type(t) {
	case linux.S_IFREG, linux.S_IFDIR, linux.S_IFBLK, linux.S_IFLNK:
		return 0, nil
	}
	return 0, linux.ESPIPE
}

func sysSyncfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	f.DecRef()
	return 0, nil
}
