package vfs

import (
	"bulwark.dev/pkg/abi/linux"
)

// fallocateModes are the fallocate(2) modes Allocate supports.
var fallocateModes = map[uint32]bool{
	0:                         true,
	linux.FALLOC_FL_KEEP_SIZE: true,
	linux.FALLOC_FL_PUNCH_HOLE | linux.FALLOC_FL_KEEP_SIZE: true,
}

// Allocate implements fallocate(2) on regular files through the generic
// inode operations: mode 0 extends the file to off+length (space is
// allocated lazily, as tmpfs does), FALLOC_FL_KEEP_SIZE changes nothing
// visible, and FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE zeroes the range
// within the file. Other modes fail with linux.EOPNOTSUPP.
func (f *File) Allocate(ctx Context, mode uint32, off, length int64) error {
	if off < 0 || length <= 0 {
		return linux.EINVAL
	}
	if mode&linux.FALLOC_FL_PUNCH_HOLE != 0 && mode&linux.FALLOC_FL_KEEP_SIZE == 0 {
		return linux.EOPNOTSUPP
	}
	if !f.Writable() {
		return linux.EBADF
	}
	switch f.fileType(ctx) {
	case linux.S_IFREG:
	case linux.S_IFDIR:
		return linux.EISDIR
	case linux.S_IFIFO:
		return linux.ESPIPE
	default:
		return linux.ENODEV
	}
	if !fallocateModes[mode] {
		return linux.EOPNOTSUPP
	}
	end := off + length
	if end < 0 {
		return linux.EFBIG
	}
	if f.loc.ok() && f.loc.Mount.opts.ReadOnly {
		return linux.EROFS
	}
	if mode&linux.FALLOC_FL_PUNCH_HOLE != 0 && f.StatusFlags()&linux.O_APPEND != 0 {
		return linux.EPERM
	}
	a, err := f.inode.Stat(ctx)
	if err != nil {
		return err
	}
	switch mode {
	case 0:
		if end > a.Size {
			if err := setAttrRaw(ctx, f.inode, SetAttrRequest{Mask: SetSize, Size: end}); err != nil {
				return err
			}
			notifyFile(ctx, f, linux.IN_MODIFY)
		}
	case linux.FALLOC_FL_PUNCH_HOLE | linux.FALLOC_FL_KEEP_SIZE:
		end = min(end, a.Size)
		zeros := make([]byte, min(end-off, 64<<10))
		for pos := off; pos < end; {
			n, err := f.impl.Write(ctx, f, zeros[:min(int64(len(zeros)), end-pos)], pos)
			if err != nil {
				return err
			}
			if n == 0 {
				return linux.EIO
			}
			pos += int64(n)
		}
		if off < end {
			notifyFile(ctx, f, linux.IN_MODIFY)
		}
	}
	return nil
}

// SameFilesystem reports whether a and b are files of the same
// filesystem instance (copy_file_range's EXDEV rule). Anonymous files are
// only on the same filesystem as themselves.
func SameFilesystem(a, b *File) bool {
	if !a.loc.ok() || !b.loc.ok() {
		return lockable(a.inode) && a.inode == b.inode
	}
	return a.loc.Mount.fs == b.loc.Mount.fs
}
