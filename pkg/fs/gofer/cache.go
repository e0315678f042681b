package gofer

import (
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
)

// pageCache holds a gofer regular file's data in memory file pages once
// the file has been mapped shared (mm.FileBacked): shared mappings map
// these very pages, and read(2), write(2) and truncate of the inode go
// through them, so all see the same bytes. Pages are loaded from the host
// one by one as they are first touched; pages at or past the end of the
// file read as zeros.
//
// The host file lags the cache: write(2) data (dirty pages) and stores
// through writable mappings (every page handed to one may be dirty at any
// time: stores are not tracked) reach the host only at writeback, which
// happens on fsync, on the last close of the inode and when the filesystem
// is closed. Truncation is applied to the host at once. Changes made to
// the host file by others are not seen while the cache exists.
//
// A pageCache is guarded by its inode's data lock.
type pageCache struct {
	mf     *mm.MemoryFile
	rfd    int             // readable host fd (a dup) pages are loaded from
	wfd    int             // writable host fd (a dup) for writeback, -1 until one is seen
	size   int64           // file size (the host's may be smaller until writeback)
	mtime  linux.Timespec  // time of the last write through the cache
	pages  map[int64]int64 // page index → memory file offset
	dirty  map[int64]bool  // pages written by write(2) since the last writeback
	mapped map[int64]bool  // pages handed to writable shared mappings
}

const pageSize = linux.PageSize

// maxFileSize bounds offsets in the cache (EFBIG beyond).
const maxFileSize = 1 << 46

func pageUp(n int64) int64 { return (n + pageSize - 1) &^ (pageSize - 1) }

// dupFD duplicates a host fd (close-on-exec).
func dupFD(fd int) (int, error) {
	n, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, errno(err)
	}
	return n, nil
}

// newPageCache makes an empty cache of the file open as host fd (readable;
// writable says whether it is also writable), whose size is read from the
// host.
func newPageCache(mf *mm.MemoryFile, fd int, writable bool) (*pageCache, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, errno(err)
	}
	rfd, err := dupFD(fd)
	if err != nil {
		return nil, err
	}
	c := &pageCache{mf: mf, rfd: rfd, wfd: -1, size: st.Size,
		pages: map[int64]int64{}, dirty: map[int64]bool{}, mapped: map[int64]bool{}}
	if writable {
		c.wfd = rfd
	}
	return c, nil
}

// addWriter gives the cache a writable host fd for writeback if it has
// none: a dup of fd, which is open for writing.
func (c *pageCache) addWriter(fd int) error {
	if c.wfd >= 0 {
		return nil
	}
	w, err := dupFD(fd)
	if err != nil {
		return err
	}
	c.wfd = w
	return nil
}

// load makes sure the pages [first, last] exist, allocating the missing
// ones in one block and reading their bytes below the end of the file from
// the host. Pages entirely inside [skipFrom, skipTo) are about to be
// overwritten and are not read.
func (c *pageCache) load(first, last, skipFrom, skipTo int64) error {
	var missing []int64
	for idx := first; idx <= last; idx++ {
		if _, ok := c.pages[idx]; !ok {
			missing = append(missing, idx)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	base, err := c.mf.Allocate(int64(len(missing)) * pageSize)
	if err != nil {
		return linux.ENOMEM
	}
	c.mf.Populate(base, int64(len(missing))*pageSize)
	for k, idx := range missing {
		c.pages[idx] = base + int64(k)*pageSize
	}
	// Read runs of consecutive pages (consecutive in the memory file too)
	// with one pread each.
	for k := 0; k < len(missing); {
		j := k + 1
		for j < len(missing) && missing[j] == missing[j-1]+1 {
			j++
		}
		if err := c.readRun(missing[k], missing[j-1], c.pages[missing[k]], skipFrom, skipTo); err != nil {
			for _, idx := range missing {
				delete(c.pages, idx)
			}
			c.mf.DecRef(base, int64(len(missing))*pageSize)
			return err
		}
		k = j
	}
	return nil
}

// readRun fills the fresh pages [first, last], at memory file offset off,
// from the host, up to the end of the file.
func (c *pageCache) readRun(first, last, off, skipFrom, skipTo int64) error {
	// Trim pages that will be overwritten whole from both ends of the run.
	whole := func(idx int64) bool { return idx*pageSize >= skipFrom && (idx+1)*pageSize <= skipTo }
	for first <= last && whole(first) {
		first, off = first+1, off+pageSize
	}
	for last >= first && whole(last) {
		last--
	}
	start := first * pageSize
	end := min((last+1)*pageSize, c.size)
	if start >= end {
		return nil
	}
	b, err := c.mf.Bytes(off, end-start)
	if err != nil {
		return linux.EIO
	}
	for done := 0; done < len(b); {
		n, err := unix.Pread(c.rfd, b[done:], start+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			clear(b)
			return errno(err)
		}
		if n == 0 {
			break // the host file is shorter: the rest stays zero
		}
		done += n
	}
	return nil
}

// span calls fn for each piece of the file range [off, off+n) within one
// page, with the page's bytes of that piece (the pages must exist).
func (c *pageCache) span(off int64, n int, fn func(b []byte, done int)) error {
	for done := 0; done < n; {
		pos := off + int64(done)
		idx, in := pos/pageSize, pos%pageSize
		k := min(int64(n-done), pageSize-in)
		b, err := c.mf.Bytes(c.pages[idx]+in, k)
		if err != nil {
			return linux.EIO
		}
		fn(b, done)
		done += int(k)
	}
	return nil
}

// read copies the file's bytes at off into dst (short at the end of file).
func (c *pageCache) read(dst []byte, off int64) (int, error) {
	if off >= c.size || len(dst) == 0 {
		return 0, nil
	}
	n := int(min(int64(len(dst)), c.size-off))
	if err := c.load(off/pageSize, (off+int64(n)-1)/pageSize, 0, 0); err != nil {
		return 0, err
	}
	if err := c.span(off, n, func(b []byte, done int) { copy(dst[done:], b) }); err != nil {
		return 0, err
	}
	return n, nil
}

// write copies src into the file at off, growing it as needed.
func (c *pageCache) write(src []byte, off int64) (int, error) {
	if len(src) == 0 {
		return 0, nil
	}
	end := off + int64(len(src))
	if off < 0 || end > maxFileSize || end < off {
		return 0, linux.EFBIG
	}
	if off > c.size {
		// The gap must read as zeros, whatever mappings stored past the
		// old end of file.
		if err := c.zero(c.size, off); err != nil {
			return 0, err
		}
	}
	first, last := off/pageSize, (end-1)/pageSize
	if err := c.load(first, last, off, end); err != nil {
		return 0, err
	}
	if err := c.span(off, len(src), func(b []byte, done int) { copy(b, src[done:]) }); err != nil {
		return 0, err
	}
	for idx := first; idx <= last; idx++ {
		c.dirty[idx] = true
	}
	c.size = max(c.size, end)
	c.mtime = nowSpec()
	return len(src), nil
}

// zero zeroes the bytes [from, to) of the pages that exist.
func (c *pageCache) zero(from, to int64) error {
	for idx, moff := range c.pages {
		lo, hi := max(from, idx*pageSize), min(to, (idx+1)*pageSize)
		if lo >= hi {
			continue
		}
		b, err := c.mf.Bytes(moff+lo-idx*pageSize, hi-lo)
		if err != nil {
			return linux.EIO
		}
		clear(b)
	}
	return nil
}

// truncate sets the size (the host file has been truncated already).
// Shrinking zeroes the cached bytes past the new end and frees the pages
// there that no mapping uses; mapped ones stay (zero), so that mappings
// still see the file if it grows again. Growing zeroes what mappings
// stored past the old end.
func (c *pageCache) truncate(size int64) error {
	if size < c.size {
		if err := c.zero(size, maxFileSize); err != nil {
			return err
		}
		c.dropFrom(pageUp(size)/pageSize, false)
	} else if err := c.zero(c.size, size); err != nil {
		return err
	}
	c.size = size
	c.mtime = nowSpec()
	return nil
}

// dropFrom releases the cache's pages from index first on, but for those
// of mappings unless all is set.
func (c *pageCache) dropFrom(first int64, all bool) {
	for idx, moff := range c.pages {
		if _, mapped := c.mapped[idx]; idx >= first && (all || !mapped) {
			c.mf.DecRef(moff, pageSize)
			delete(c.pages, idx)
			delete(c.dirty, idx)
			delete(c.mapped, idx)
		}
	}
}

// mapRanges implements mm.FileBacked.MapRanges for the page-aligned range
// [off, off+length); writable marks the pages as possibly dirty from now
// on (until the cache is dropped).
func (c *pageCache) mapRanges(off, length int64, writable bool) ([]mm.MemoryRange, error) {
	first, last := off/pageSize, (off+length)/pageSize-1
	if err := c.load(first, last, 0, 0); err != nil {
		return nil, err
	}
	var out []mm.MemoryRange
	for idx := first; idx <= last; idx++ {
		p := c.pages[idx]
		if n := len(out); n > 0 && out[n-1].Off+out[n-1].Length == p {
			out[n-1].Length += pageSize
			continue
		}
		out = append(out, mm.MemoryRange{Off: p, Length: pageSize})
	}
	for k, r := range out {
		if err := c.mf.IncRef(r.Off, r.Length); err != nil {
			for _, d := range out[:k] {
				c.mf.DecRef(d.Off, d.Length)
			}
			return nil, linux.ENOMEM
		}
	}
	for idx := first; idx <= last; idx++ {
		c.mapped[idx] = c.mapped[idx] || writable
	}
	return out, nil
}

// writeback writes the dirty pages and those of writable mappings, below
// the end of file, to the host.
func (c *pageCache) writeback() error {
	var idxs []int64
	for idx := range c.pages {
		if c.dirty[idx] || c.mapped[idx] {
			idxs = append(idxs, idx)
		}
	}
	if len(idxs) == 0 {
		return nil
	}
	if c.wfd < 0 {
		return linux.EBADF // cannot happen: only writable files dirty pages
	}
	slices.Sort(idxs)
	for k := 0; k < len(idxs); {
		// A run of pages consecutive in the file and the memory file.
		j := k + 1
		for j < len(idxs) && idxs[j] == idxs[j-1]+1 && c.pages[idxs[j]] == c.pages[idxs[j-1]]+pageSize {
			j++
		}
		start, end := idxs[k]*pageSize, min((idxs[j-1]+1)*pageSize, c.size)
		if start < end {
			b, err := c.mf.Bytes(c.pages[idxs[k]], end-start)
			if err != nil {
				return linux.EIO
			}
			if err := pwriteAll(c.wfd, b, start); err != nil {
				return err
			}
		}
		for _, idx := range idxs[k:j] {
			delete(c.dirty, idx)
		}
		k = j
	}
	return nil
}

// release writes the cache back and frees its pages and fds.
func (c *pageCache) release() error {
	err := c.writeback()
	c.dropFrom(0, true)
	if c.wfd >= 0 && c.wfd != c.rfd {
		unix.Close(c.wfd)
	}
	unix.Close(c.rfd)
	c.rfd, c.wfd = -1, -1
	return err
}

func pwriteAll(fd int, b []byte, off int64) error {
	for done := 0; done < len(b); {
		n, err := unix.Pwrite(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return errno(err)
		}
		done += n
	}
	return nil
}

func nowSpec() linux.Timespec {
	t := time.Now()
	return linux.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}
