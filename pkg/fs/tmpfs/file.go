package tmpfs

import (
	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

// maxFileSize bounds a tmpfs file (EFBIG beyond).
const maxFileSize = 1 << 40

// File is a tmpfs regular file; its data is a byte slice.
type File struct {
	base
	data []byte // guarded by mu
}

func (fs *FS) newFile(opts vfs.CreateOpts) *File {
	f := &File{}
	f.init(fs, opts)
	return f
}

// Open implements vfs.Inode.
func (f *File) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return &regularFD{f: f}, nil }

// SetAttr implements vfs.SetAttrer.
func (f *File) SetAttr(_ vfs.Context, req vfs.SetAttrRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Mask&vfs.SetSize != 0 {
		if req.Size > maxFileSize {
			return linux.EFBIG
		}
		f.resizeLocked(req.Size)
		f.attr.Mtime = now()
	}
	f.setAttrLocked(req)
	return nil
}

// resizeLocked sets the size, zero filling. f.mu must be held.
func (f *File) resizeLocked(size int64) {
	old := int64(len(f.data))
	switch {
	case size < old:
		clear(f.data[size:])
		f.data = f.data[:size]
	case size > old:
		if size <= int64(cap(f.data)) {
			f.data = f.data[:size]
		} else {
			n := make([]byte, size, size+size/4)
			copy(n, f.data)
			f.data = n
		}
	}
	f.fs.bytes.Add(size - old)
	f.attr.Size = size
	f.attr.Blocks = (size + 511) / 512
}

// Data returns a copy of the file's content (for tests and copy-up).
func (f *File) Data() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.data...)
}

// regularFD is an open tmpfs regular file.
type regularFD struct{ f *File }

func (r *regularFD) Read(_ vfs.Context, _ *vfs.File, dst []byte, off int64) (int, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if off >= int64(len(f.data)) {
		return 0, nil
	}
	f.attr.Atime = now()
	return copy(dst, f.data[off:]), nil
}

func (r *regularFD) Write(_ vfs.Context, file *vfs.File, src []byte, off int64) (int, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if file != nil && file.StatusFlags()&linux.O_APPEND != 0 {
		off = int64(len(f.data))
	}
	end := off + int64(len(src))
	if end > maxFileSize {
		return 0, linux.EFBIG
	}
	if end > int64(len(f.data)) {
		f.resizeLocked(end)
	}
	n := copy(f.data[off:], src)
	t := now()
	f.attr.Mtime, f.attr.Ctime = t, t
	return n, nil
}

func (r *regularFD) Release() {}
