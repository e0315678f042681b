package gofer

import (
	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
	"bulwark.dev/pkg/vfs"
)

// regularFD is an open regular file. I/O goes to the donated host fd
// (which other open files of the inode may share: it is used with pread
// and pwrite at this file's own offsets), or through the inode's page
// cache when it has one (mm.FileBacked: shared mappings create it).
type regularFD struct {
	inode    *inode
	fd       int
	acc      uint32 // access mode the host fd was opened with
	readable bool
	writable bool
}

// newRegularFD returns the open file of host fd, opened with flags.
func (i *inode) newRegularFD(fd int, flags uint32) *regularFD {
	i.data.Lock()
	i.opens++
	i.data.Unlock()
	acc := accMode(flags)
	return &regularFD{inode: i, fd: fd, acc: acc, readable: acc != linux.O_WRONLY, writable: acc != linux.O_RDONLY}
}

// io runs host when the inode has no page cache (holding the data lock
// for reading, so a cache cannot appear meanwhile), else cached with the
// data lock held.
func (r *regularFD) io(host func() (int, error), cached func(c *pageCache) (int, error)) (int, error) {
	i := r.inode
	i.data.RLock()
	if i.cache == nil {
		defer i.data.RUnlock()
		return host()
	}
	i.data.RUnlock()
	i.data.Lock()
	defer i.data.Unlock()
	if i.cache == nil { // dropped meanwhile
		return host()
	}
	return cached(i.cache)
}

func (r *regularFD) Read(_ vfs.Context, _ *vfs.File, dst []byte, off int64) (int, error) {
	return r.io(func() (int, error) {
		for {
			n, err := unix.Pread(r.fd, dst, off)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return 0, errno(err)
			}
			return n, nil
		}
	}, func(c *pageCache) (int, error) { return c.read(dst, off) })
}

func (r *regularFD) Write(_ vfs.Context, _ *vfs.File, src []byte, off int64) (int, error) {
	return r.io(func() (int, error) {
		for {
			n, err := unix.Pwrite(r.fd, src, off)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return 0, errno(err)
			}
			r.inode.invalidate() // size, times and blocks changed on the host
			return n, nil
		}
	}, func(c *pageCache) (int, error) {
		if err := c.addWriter(r.fd); err != nil {
			return 0, err
		}
		n, err := c.write(src, off)
		if n > 0 {
			r.inode.noteSizeLocked()
		}
		return n, err
	})
}

// noteSizeLocked copies the cache's size and time into the cached
// attributes. i.data must be held.
func (i *inode) noteSizeLocked() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.attr.Size, i.attr.Blocks = i.cache.size, (i.cache.size+511)/512
	i.attr.Mtime, i.attr.Ctime = i.cache.mtime, i.cache.mtime
}

// Release implements vfs.FileImpl: the last close of the inode writes its
// page cache back (the cache stays: mappings may still use its pages).
func (r *regularFD) Release() {
	i := r.inode
	i.data.Lock()
	i.opens--
	if i.opens == 0 && i.cache != nil {
		i.cache.writeback() // nobody is left to report an error to
	}
	i.data.Unlock()
	i.putFD(r.acc, r.fd)
}

// Sync implements vfs.Syncer: it writes the page cache back, then has
// the host flush the file.
func (r *regularFD) Sync(vfs.Context) error {
	i := r.inode
	i.data.Lock()
	defer i.data.Unlock()
	if i.cache != nil {
		if err := i.cache.writeback(); err != nil {
			return err
		}
	}
	return errno(unix.Fsync(r.fd))
}

// MemoryFile implements mm.FileBacked.
func (r *regularFD) MemoryFile() *mm.MemoryFile {
	mf, err := mm.DefaultMemoryFile()
	if err != nil {
		return nil
	}
	return mf
}

// MapRanges implements mm.FileBacked: the first call gives the inode its
// page cache. Pages of a writable file's mappings count as dirty from then
// on.
func (r *regularFD) MapRanges(off, length int64) ([]mm.MemoryRange, error) {
	if off < 0 || length <= 0 || off%pageSize != 0 || length%pageSize != 0 || off+length > maxFileSize {
		return nil, linux.EINVAL
	}
	if !r.readable {
		return nil, linux.EACCES
	}
	i := r.inode
	i.data.Lock()
	defer i.data.Unlock()
	if i.cache == nil {
		mf := r.MemoryFile()
		if mf == nil {
			return nil, linux.ENOMEM
		}
		c, err := newPageCache(mf, r.fd, r.writable)
		if err != nil {
			return nil, err
		}
		i.cache = c
		i.fs.mu.Lock()
		if i.fs.cached == nil {
			i.fs.cached = map[*inode]bool{}
		}
		i.fs.cached[i] = true
		i.fs.mu.Unlock()
	}
	if r.writable {
		if err := i.cache.addWriter(r.fd); err != nil {
			return nil, err
		}
	}
	return i.cache.mapRanges(off, length, r.writable)
}

// dropCache writes back and frees the inode's page cache, if any; I/O
// goes to the host directly again.
func (i *inode) dropCache() error {
	i.data.Lock()
	defer i.data.Unlock()
	c := i.cache
	if c == nil {
		return nil
	}
	i.cache = nil
	i.fs.mu.Lock()
	delete(i.fs.cached, i)
	i.fs.mu.Unlock()
	return c.release()
}
