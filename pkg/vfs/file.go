package vfs

import (
	"io"
	"sync"
	"sync/atomic"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/kernel/auth"
)

// File is an open file description, shared by dup'd fds and across fork.
// It is reference counted.
type File struct {
	refs  atomic.Int64
	impl  FileImpl
	inode Inode
	loc   Location // zero for anonymous files (pipes, host fds)
	name  string   // PathName of anonymous files
	flags atomic.Uint32
	owner atomic.Int64 // F_SETOWN: pid (>0) or -pgid (<0) to signal for O_ASYNC; sig in the high 32 bits

	// asyncMu guards asyncStop, which is closed to end the goroutine
	// that delivers SIGIO for the file (WatchAsync); nil when none runs.
	asyncMu   sync.Mutex
	asyncStop chan struct{}

	// mu serializes position-changing I/O on seekable files (never held
	// while a stream file blocks).
	mu      sync.Mutex
	off     int64    // guarded by mu
	dirents []Dirent // directory listing snapshot, guarded by mu
}

// statusFlagsMask are the flags F_SETFL may change.
const statusFlagsMask = linux.O_APPEND | linux.O_NONBLOCK | linux.O_ASYNC | linux.O_DIRECT | linux.O_NOATIME

// NewFile returns a File (one reference) for an inode that is not in a
// mount tree (a pipe end, a host fd): name is its PathName, e.g.
// "pipe:[12]". flags are open(2) flags (access mode and status flags).
func NewFile(in Inode, impl FileImpl, flags uint32, name string) *File {
	f := &File{impl: impl, inode: in, name: name}
	f.flags.Store(flags &^ (linux.O_CREAT | linux.O_EXCL | linux.O_TRUNC | linux.O_CLOEXEC | linux.O_NOCTTY))
	f.refs.Store(1)
	return f
}

func newFileAt(l Location, impl FileImpl, flags uint32) *File {
	f := NewFile(l.Dentry.inode, impl, flags, "")
	f.loc = l
	return f
}

// IncRef takes a reference.
func (f *File) IncRef() { f.refs.Add(1) }

// DecRef drops a reference; the last one releases the file.
func (f *File) DecRef() {
	if f.refs.Add(-1) == 0 {
		f.StopAsync()
		f.releaseFileLocks()
		notifyClose(f)
		f.impl.Release()
	}
}

// Impl returns the filesystem's side of the file.
func (f *File) Impl() FileImpl { return f.impl }

// Inode returns the file's inode.
func (f *File) Inode() Inode { return f.inode }

// Location returns where the file was opened (zero for anonymous files).
func (f *File) Location() Location { return f.loc }

// StatusFlags returns the access mode and status flags (F_GETFL).
func (f *File) StatusFlags() uint32 { return f.flags.Load() }

// SetStatusFlags changes the flags F_SETFL may change (O_APPEND,
// O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME) and keeps the others.
func (f *File) SetStatusFlags(flags uint32) error {
	old := f.flags.Load()
	nf := old&^statusFlagsMask | flags&statusFlagsMask
	if s, ok := f.impl.(StatusFlagsSetter); ok {
		if err := s.SetStatusFlags(nf); err != nil {
			return err
		}
	}
	f.flags.Store(nf)
	return nil
}

// Owner returns the F_SETOWN owner (a pid, or a negative process group id)
// and the F_SETSIG signal (0: SIGIO), to which O_ASYNC files signal I/O.
func (f *File) Owner() (owner int32, sig int32) {
	v := f.owner.Load()
	return int32(v), int32(v >> 32)
}

// SetOwner records the F_SETOWN owner.
func (f *File) SetOwner(owner int32) {
	for {
		old := f.owner.Load()
		nv := old&^0xffffffff | int64(uint32(owner))
		if f.owner.CompareAndSwap(old, nv) {
			return
		}
	}
}

// SetOwnerSignal records the F_SETSIG signal.
func (f *File) SetOwnerSignal(sig int32) {
	for {
		old := f.owner.Load()
		nv := old&0xffffffff | int64(sig)<<32
		if f.owner.CompareAndSwap(old, nv) {
			return
		}
	}
}

// WatchAsync starts watch in a goroutine of its own, unless one started by
// an earlier call still runs: the O_ASYNC delivery of SIGIO. stop is closed
// by StopAsync, at the latest when the file is released.
func (f *File) WatchAsync(watch func(stop <-chan struct{})) {
	f.asyncMu.Lock()
	defer f.asyncMu.Unlock()
	if f.asyncStop != nil {
		return
	}
	f.asyncStop = make(chan struct{})
	go watch(f.asyncStop)
}

// StopAsync ends the goroutine WatchAsync started, if any.
func (f *File) StopAsync() {
	f.asyncMu.Lock()
	defer f.asyncMu.Unlock()
	if f.asyncStop != nil {
		close(f.asyncStop)
		f.asyncStop = nil
	}
}

// IsPath reports whether the file was opened with O_PATH.
func (f *File) IsPath() bool { return f.flags.Load()&linux.O_PATH != 0 }

// Readable reports whether the file was opened for reading.
func (f *File) Readable() bool {
	fl := f.flags.Load()
	return fl&linux.O_PATH == 0 && fl&linux.O_ACCMODE != linux.O_WRONLY
}

// Writable reports whether the file was opened for writing.
func (f *File) Writable() bool {
	fl := f.flags.Load()
	return fl&linux.O_PATH == 0 && (fl&linux.O_ACCMODE == linux.O_WRONLY || fl&linux.O_ACCMODE == linux.O_RDWR)
}

// fileType returns the S_IF* bits of the file.
func (f *File) fileType(ctx Context) uint32 {
	a, err := cachedStat(ctx, f.inode)
	if err != nil {
		return 0
	}
	return a.Type()
}

// isStream reports whether the file has no position (FIFOs, sockets).
func (f *File) isStream(ctx Context) bool {
	if s, ok := f.impl.(StreamImpl); ok && s.IsStream() {
		return true
	}
	t := f.fileType(ctx)
	return t == linux.S_IFIFO || t == linux.S_IFSOCK
}

// Read reads at the file offset and advances it.
func (f *File) Read(ctx Context, dst []byte) (int, error) {
	if !f.Readable() {
		return 0, linux.EBADF
	}
	if p, ok := f.impl.(PositionOwner); ok {
		return p.ReadCurrent(ctx, f, dst)
	}
	if f.isStream(ctx) {
		return f.impl.Read(ctx, f, dst, 0)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.impl.Read(ctx, f, dst, f.off)
	f.off += int64(n)
	return n, err
}

// Write writes at the file offset (or the end with O_APPEND) and advances it.
func (f *File) Write(ctx Context, src []byte) (int, error) {
	if !f.Writable() {
		return 0, linux.EBADF
	}
	if p, ok := f.impl.(PositionOwner); ok {
		return p.WriteCurrent(ctx, f, src)
	}
	if f.isStream(ctx) {
		return f.impl.Write(ctx, f, src, 0)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flags.Load()&linux.O_APPEND != 0 {
		if a, err := f.inode.Stat(ctx); err == nil {
			f.off = a.Size
		}
	}
	n, err := f.impl.Write(ctx, f, src, f.off)
	f.off += int64(n)
	if n > 0 {
		notifyFile(ctx, f, linux.IN_MODIFY)
	}
	return n, err
}

// PRead reads at off without moving the offset (used by the ELF loader).
func (f *File) PRead(ctx Context, dst []byte, off int64) (int, error) {
	if !f.Readable() {
		return 0, linux.EBADF
	}
	if f.isStream(ctx) {
		return 0, linux.ESPIPE
	}
	if off < 0 {
		return 0, linux.EINVAL
	}
	return f.impl.Read(ctx, f, dst, off)
}

// PWrite writes at off without moving the offset.
func (f *File) PWrite(ctx Context, src []byte, off int64) (int, error) {
	if !f.Writable() {
		return 0, linux.EBADF
	}
	if f.isStream(ctx) {
		return 0, linux.ESPIPE
	}
	if off < 0 {
		return 0, linux.EINVAL
	}
	n, err := f.impl.Write(ctx, f, src, off)
	if n > 0 {
		notifyFile(ctx, f, linux.IN_MODIFY)
	}
	return n, err
}

// ReadAt reads at off like io.ReaderAt (io.EOF at the end), so a File is
// an mm.Mappable and a loader.File. It runs with root credentials and
// cannot be interrupted.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	ctx := BackgroundContext(auth.NewRootCredentials())
	total := 0
	for total < len(p) {
		n, err := f.impl.Read(ctx, f, p[total:], off+int64(total))
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, io.EOF
		}
	}
	return total, nil
}

// Name returns PathName (for mm.Mappable and loader.File).
func (f *File) Name() string { return f.PathName() }

// Seek implements lseek(2).
func (f *File) Seek(ctx Context, offset int64, whence int) (int64, error) {
	if f.IsPath() {
		return 0, linux.EBADF
	}
	if s, ok := f.impl.(Seeker); ok {
		return s.Seek(ctx, f, offset, whence)
	}
	if f.isStream(ctx) {
		return 0, linux.ESPIPE
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case linux.SEEK_SET:
	case linux.SEEK_CUR:
		base = f.off
	case linux.SEEK_END:
		a, err := f.inode.Stat(ctx)
		if err != nil {
			return 0, err
		}
		base = a.Size
	default:
		return 0, linux.EINVAL
	}
	n := base + offset
	if n < 0 || (offset > 0 && n < base) {
		return 0, linux.EINVAL
	}
	if n == 0 {
		f.dirents = nil // rewinddir
	}
	f.off = n
	return n, nil
}

// Offset returns the file position.
func (f *File) Offset() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.off
}

// Stat returns the file's attributes.
func (f *File) Stat(ctx Context) (linux.Statx, error) {
	a, err := f.inode.Stat(ctx)
	if err != nil {
		return linux.Statx{}, err
	}
	if a.Dev == 0 && f.loc.Mount != nil {
		a.Dev = f.loc.Mount.dev
	}
	return AttrToStatx(a), nil
}

// PathName is the file's absolute path in the sandbox's mount tree, or a
// name such as "pipe:[1234]" for files that have none.
func (f *File) PathName() string {
	if !f.loc.ok() {
		return f.name
	}
	p := pathFrom(Location{}, f.loc)
	if f.loc.Dentry.dead.Load() {
		p += " (deleted)"
	}
	return p
}

// Ioctl implements ioctl(2) for the file's own commands (linux.ENOTTY when
// it has none).
func (f *File) Ioctl(ctx Context, cmd uint32, arg uintptr) (uintptr, error) {
	if f.IsPath() {
		return 0, linux.EBADF
	}
	if i, ok := f.impl.(Ioctler); ok {
		return i.Ioctl(ctx, f, cmd, arg)
	}
	return 0, linux.ENOTTY
}

// Sync implements fsync(2).
func (f *File) Sync(ctx Context) error {
	if f.IsPath() {
		return linux.EBADF
	}
	if s, ok := f.impl.(Syncer); ok {
		return s.Sync(ctx)
	}
	return nil
}

// Truncate implements ftruncate(2).
func (f *File) Truncate(ctx Context, size int64) error {
	if size < 0 {
		return linux.EINVAL
	}
	if f.IsPath() {
		return linux.EBADF
	}
	if !f.Writable() || f.fileType(ctx) != linux.S_IFREG {
		return linux.EINVAL
	}
	if f.loc.ok() && f.loc.Mount.opts.ReadOnly {
		return linux.EROFS
	}
	if err := setAttrRaw(ctx, f.inode, SetAttrRequest{Mask: SetSize, Size: size}); err != nil {
		return err
	}
	notifyFile(ctx, f, linux.IN_MODIFY)
	return nil
}

// Readiness returns the subset of mask (POLL* bits) that is ready now.
func (f *File) Readiness(mask uint32) uint32 {
	if w, ok := f.impl.(Waiter); ok {
		return w.Readiness(mask)
	}
	return mask & (linux.POLLIN | linux.POLLOUT | linux.POLLRDNORM | linux.POLLWRNORM)
}

// Notify returns a channel closed at the next readiness change, or nil for
// files that are always ready.
func (f *File) Notify() <-chan struct{} {
	if w, ok := f.impl.(Waiter); ok {
		return w.Notify()
	}
	return nil
}

// StatFS implements fstatfs(2).
func (f *File) StatFS(ctx Context) (linux.Statfs, error) {
	if !f.loc.ok() {
		return linux.Statfs{Type: linux.PIPEFS_MAGIC, Bsize: 4096, Namelen: linux.NAME_MAX}, nil
	}
	return f.loc.Mount.fs.StatFS(ctx)
}

// Readdir emits directory entries (including "." and "..") from the file
// position on, until emit returns false (no room); the position advances
// past each accepted entry. It returns linux.ENOTDIR for non-directories.
func (f *File) Readdir(ctx Context, emit func(d Dirent, next int64) bool) error {
	if f.IsPath() {
		return linux.EBADF
	}
	dir, ok := f.inode.(DirInode)
	if !ok || f.fileType(ctx) != linux.S_IFDIR {
		return linux.ENOTDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirents == nil || f.off == 0 {
		list, err := dir.Readdir(ctx)
		if err != nil {
			return err
		}
		self, _ := cachedStat(ctx, f.inode)
		parentIno := self.Ino
		if f.loc.ok() {
			r := &resolver{ctx: ctx, root: Location{}, ns: nil}
			p := r.parentOf(f.loc)
			if pa, err := cachedStat(ctx, p.Dentry.inode); err == nil {
				parentIno = pa.Ino
			}
		}
		f.dirents = append([]Dirent{
			{Name: ".", Ino: self.Ino, Type: linux.DT_DIR},
			{Name: "..", Ino: parentIno, Type: linux.DT_DIR},
		}, list...)
	}
	for f.off < int64(len(f.dirents)) {
		if !emit(f.dirents[f.off], f.off+1) {
			break
		}
		f.off++
	}
	return nil
}

// Type returns the S_IF* type bits of the file (0 if unknown).
func (f *File) Type(ctx Context) uint32 { return f.fileType(ctx) }
