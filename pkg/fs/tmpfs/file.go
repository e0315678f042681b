package tmpfs

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// maxFileSize bounds a tmpfs file (EFBIG beyond).
const maxFileSize = 1 << 40

// File is a tmpfs regular file. Its data lives in memory file pages,
// allocated one page at a time as they are first written (a file is
// sparse: holes read as zeros) and freed by truncation or when the file is
// both unlinked and closed. Shared mappings take their own references to
// the pages (mm.FileBacked), so a mapping outlives the file's data.
//
// Locking: FS.mu → File.mu → the memory file's lock.
type File struct {
	base
	pages map[int64]int64 // page index → memory file offset, guarded by mu
	opens int             // open file descriptions, guarded by mu
}

func (fs *FS) newFile(opts vfs.CreateOpts) *File {
	f := &File{pages: map[int64]int64{}}
	f.init(fs, opts)
	return f
}

// NewUnlinkedFile returns a regular file that no directory links to (for
// memfd_create and O_TMPFILE), open once with the returned FileImpl. Its
// data is freed when that is released.
func (fs *FS) NewUnlinkedFile(opts vfs.CreateOpts) (*File, vfs.FileImpl) {
	f := fs.newFile(opts)
	f.attr.Nlink = 0
	return f, f.open()
}

// open returns a new open file description of f.
func (f *File) open() *regularFD {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	return &regularFD{f: f}
}

// Open implements vfs.Inode.
func (f *File) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return f.open(), nil }

// SetAttr implements vfs.SetAttrer.
func (f *File) SetAttr(_ vfs.Context, req vfs.SetAttrRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Mask&vfs.SetSize != 0 {
		if req.Size > maxFileSize {
			return linux.EFBIG
		}
		if err := f.resizeLocked(req.Size); err != nil {
			return err
		}
		f.attr.Mtime = now()
	}
	f.setAttrLocked(req)
	return nil
}

// resizeLocked sets the size. Shrinking frees the pages past the end and
// zeroes the rest of the last page; growing zeroes the bytes of existing
// pages in the new range (pages past EOF exist only for mappings). f.mu
// must be held.
func (f *File) resizeLocked(size int64) error {
	old := f.attr.Size
	switch {
	case size < old:
		if err := f.zeroLocked(size, min(old, pageRoundUp(size))); err != nil {
			return err
		}
		f.freeFromLocked(pageRoundUp(size) / linux.PageSize)
	case size > old:
		if err := f.zeroLocked(old, size); err != nil {
			return err
		}
	}
	f.fs.bytes.Add(size - old)
	f.attr.Size = size
	f.attr.Blocks = (size + 511) / 512
	return nil
}

func pageRoundUp(n int64) int64 { return (n + linux.PageSize - 1) &^ (linux.PageSize - 1) }

// zeroLocked zeroes the bytes [from, to) of the pages that exist.
func (f *File) zeroLocked(from, to int64) error {
	if from >= to || len(f.pages) == 0 {
		return nil
	}
	first, last := from/linux.PageSize, (to-1)/linux.PageSize
	zeroPage := func(idx, off int64) error {
		lo, hi := max(from, idx*linux.PageSize), min(to, (idx+1)*linux.PageSize)
		b, err := f.mem().Bytes(off+lo-idx*linux.PageSize, hi-lo)
		if err != nil {
			return linux.EIO
		}
		clear(b)
		return nil
	}
	if last-first < int64(len(f.pages)) {
		for idx := first; idx <= last; idx++ {
			if off, ok := f.pages[idx]; ok {
				if err := zeroPage(idx, off); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for idx, off := range f.pages {
		if idx >= first && idx <= last {
			if err := zeroPage(idx, off); err != nil {
				return err
			}
		}
	}
	return nil
}

// freeFromLocked drops the file's reference to every page from index
// first on.
func (f *File) freeFromLocked(first int64) {
	var offs []int64
	for idx, off := range f.pages {
		if idx >= first {
			offs = append(offs, off)
			delete(f.pages, idx)
		}
	}
	decRefPages(f.mem(), offs)
}

// maybeFree frees the data of a file that is neither linked nor open.
func (f *File) maybeFree() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.attr.Nlink == 0 && f.opens == 0 && len(f.pages) > 0 {
		f.freeFromLocked(0)
	}
}

// mem returns the memory file holding f's pages (set once pages exist).
func (f *File) mem() *mm.MemoryFile { return f.fs.mf.Load() }

// allocateLocked makes sure every page of [first, last] exists,
// allocating the missing ones in one block (linux.ENOSPC when the memory
// file is full).
func (f *File) allocateLocked(first, last int64) error {
	var missing []int64
	for idx := first; idx <= last; idx++ {
		if _, ok := f.pages[idx]; !ok {
			missing = append(missing, idx)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	mf, err := f.fs.memoryFile()
	if err != nil {
		return linux.ENOSPC
	}
	off, err := mf.Allocate(int64(len(missing)) * linux.PageSize)
	if err != nil {
		return linux.ENOSPC
	}
	for i, idx := range missing {
		f.pages[idx] = off + int64(i)*linux.PageSize
	}
	mf.Populate(off, int64(len(missing))*linux.PageSize)
	return nil
}

// Data returns a copy of the file's content (for tests and copy-up).
func (f *File) Data() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := make([]byte, f.attr.Size)
	f.readLocked(b, 0)
	return b
}

// readLocked copies the file's bytes at off into dst, which must lie
// within the file.
func (f *File) readLocked(dst []byte, off int64) {
	for done := 0; done < len(dst); {
		pos := off + int64(done)
		idx, in := pos/linux.PageSize, pos%linux.PageSize
		n := min(int64(len(dst)-done), linux.PageSize-in)
		out := dst[done : done+int(n)]
		if poff, ok := f.pages[idx]; ok {
			if b, err := f.mem().Bytes(poff+in, n); err == nil {
				copy(out, b)
			} else {
				clear(out)
			}
		} else {
			clear(out)
		}
		done += int(n)
	}
}

// writeLocked copies src into the file at off; its pages must exist.
func (f *File) writeLocked(src []byte, off int64) error {
	for done := 0; done < len(src); {
		pos := off + int64(done)
		idx, in := pos/linux.PageSize, pos%linux.PageSize
		n := min(int64(len(src)-done), linux.PageSize-in)
		b, err := f.mem().Bytes(f.pages[idx]+in, n)
		if err != nil {
			return linux.EIO
		}
		copy(b, src[done:])
		done += int(n)
	}
	return nil
}

// regularFD is an open tmpfs regular file.
type regularFD struct{ f *File }

func (r *regularFD) Read(_ vfs.Context, _ *vfs.File, dst []byte, off int64) (int, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if off >= f.attr.Size {
		return 0, nil
	}
	n := min(int64(len(dst)), f.attr.Size-off)
	f.readLocked(dst[:n], off)
	f.attr.Atime = now()
	return int(n), nil
}

func (r *regularFD) Write(_ vfs.Context, file *vfs.File, src []byte, off int64) (int, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if file != nil && file.StatusFlags()&linux.O_APPEND != 0 {
		off = f.attr.Size
	}
	if len(src) == 0 {
		return 0, nil
	}
	end := off + int64(len(src))
	if off < 0 || end > maxFileSize {
		return 0, linux.EFBIG
	}
	if end > f.attr.Size {
		// Bytes between the old end and off must read as zeros. Pages
		// allocated below are zero already.
		if err := f.zeroLocked(f.attr.Size, off); err != nil {
			return 0, err
		}
	}
	if err := f.allocateLocked(off/linux.PageSize, (end-1)/linux.PageSize); err != nil {
		return 0, err
	}
	if err := f.writeLocked(src, off); err != nil {
		return 0, err
	}
	if end > f.attr.Size {
		f.fs.bytes.Add(end - f.attr.Size)
		f.attr.Size = end
		f.attr.Blocks = (end + 511) / 512
	}
	t := now()
	f.attr.Mtime, f.attr.Ctime = t, t
	return len(src), nil
}

// Release implements vfs.FileImpl: the last close of an unlinked file
// frees its data.
func (r *regularFD) Release() {
	f := r.f
	f.mu.Lock()
	f.opens--
	f.mu.Unlock()
	f.maybeFree()
}

// MemoryFile implements mm.FileBacked.
func (r *regularFD) MemoryFile() *mm.MemoryFile {
	mf, _ := r.f.fs.memoryFile()
	return mf
}

// MapRanges implements mm.FileBacked.
func (r *regularFD) MapRanges(off, length int64) ([]mm.MemoryRange, error) {
	return r.f.MapRanges(off, length)
}

// MapRanges implements mm.FileBacked for shared mappings of the file.
func (f *File) MapRanges(off, length int64) ([]mm.MemoryRange, error) {
	if off < 0 || length <= 0 || off%linux.PageSize != 0 || length%linux.PageSize != 0 || off+length > maxFileSize {
		return nil, linux.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	first, last := off/linux.PageSize, (off+length)/linux.PageSize-1
	if err := f.allocateLocked(first, last); err != nil {
		return nil, linux.ENOMEM
	}
	var out []mm.MemoryRange
	for idx := first; idx <= last; idx++ {
		p := f.pages[idx]
		if n := len(out); n > 0 && out[n-1].Off+out[n-1].Length == p {
			out[n-1].Length += linux.PageSize
			continue
		}
		out = append(out, mm.MemoryRange{Off: p, Length: linux.PageSize})
	}
	for i, r := range out {
		if err := f.mem().IncRef(r.Off, r.Length); err != nil {
			for _, d := range out[:i] {
				f.mem().DecRef(d.Off, d.Length)
			}
			return nil, linux.ENOMEM
		}
	}
	return out, nil
}
