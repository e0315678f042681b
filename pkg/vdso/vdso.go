// Package vdso provides the sandbox's virtual dynamic shared object: a
// small ELF shared object mapped into every process (AT_SYSINFO_EHDR) whose
// clock_gettime, gettimeofday and time read the time from a data page (the
// vvar page) instead of trapping into the sandbox kernel on every call.
//
// The image is built from src/vdso.c and src/vdso.lds by `go generate` (gen.go)
// and committed as image_amd64.go. The vvar page is one memory file page
// shared by every process; a goroutine calibrates the TSC against the
// host's clocks and refreshes the page every refreshPeriod under a
// sequence count. Without an invariant TSC the page stays disabled and
// the vDSO makes the system calls.
package vdso

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
)

//go:generate go run gen.go

// Names of the mappings in /proc/[pid]/maps, as on Linux.
const (
	VVarName  = "[vvar]"
	ImageName = "[vdso]"
)

// VDSO is the vDSO of one kernel: its vvar page in the kernel's memory file
// and the goroutine keeping it current. It is safe for concurrent use.
type VDSO struct{ r *refresher }

// refresher owns the vvar page, the sandbox's mapping of it and the
// goroutine that updates it. It is separate from VDSO so that an
// unreachable VDSO can be cleaned up while the goroutine runs.
type refresher struct {
	mf   *mm.MemoryFile
	off  int64 // the vvar page in mf
	c    clock
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New allocates the vvar page in mf and starts keeping it current.
// Monotonic times count from boot (the kernel's CLOCK_MONOTONIC epoch).
//
// The page is written through a mapping of its own rather than mf's, so
// the refresher never touches memory that mf.Close unmaps.
func New(mf *mm.MemoryFile, boot time.Time) (*VDSO, error) {
	if mf == nil {
		return nil, fmt.Errorf("creating the vDSO: no memory file")
	}
	off, err := mf.Allocate(linux.PageSize)
	if err != nil {
		return nil, fmt.Errorf("allocating the vvar page: %w", err)
	}
	page, err := unix.Mmap(mf.FD(), off, linux.PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		mf.DecRef(off, linux.PageSize)
		return nil, fmt.Errorf("mapping the vvar page: %w", err)
	}
	r := &refresher{
		mf: mf, off: off, c: clock{page: page, boot: boot},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	v := &VDSO{r}
	if invariantTSC() {
		// Calibrate before the first process starts, so that every
		// process gets the fast path; run refines the rate.
		r.c.update(takeSample(boot))
		time.Sleep(calibration)
		r.c.update(takeSample(boot))
		go r.run()
	} else {
		close(r.done)
	}
	runtime.AddCleanup(v, func(r *refresher) { r.close() }, r)
	return v, nil
}

// run refreshes the page until stopped.
func (r *refresher) run() {
	defer close(r.done)
	t := time.NewTicker(refreshPeriod)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.c.update(takeSample(r.c.boot))
		}
	}
}

// close stops the goroutine, disables the page (processes still mapping
// it fall back to system calls), unmaps the sandbox's view of it and drops
// the reference New took. It is idempotent.
func (r *refresher) close() {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		r.c.disable()
		unix.Munmap(r.c.page)
		r.mf.DecRef(r.off, linux.PageSize)
	})
}

// Stop stops refreshing the page and releases it; processes that map it
// keep working, with system calls. A VDSO that becomes unreachable is
// stopped by the garbage collector.
func (v *VDSO) Stop() { v.r.close() }

// Size is the length of the address range Map uses: the vvar page and the
// image.
func (v *VDSO) Size() uintptr { return linux.PageSize + imageSize() }

// imageSize is the image's length rounded up to pages.
func imageSize() uintptr {
	return (uintptr(len(image)) + linux.PageSize - 1) &^ (linux.PageSize - 1)
}

// Map maps the vvar page (read-only, shared) at addr and the image
// (read+exec, private) right above it, into the empty range [addr,
// addr+Size()) of m, and returns the image's address for AT_SYSINFO_EHDR.
func (v *VDSO) Map(m *mm.MemoryManager, addr uintptr) (uintptr, error) {
	if _, err := m.MMap(mm.MMapOpts{
		Addr: addr, Length: linux.PageSize, Prot: linux.PROT_READ, NoReplace: true,
		Mappable: vvarFile{v.r},
	}); err != nil {
		return 0, err
	}
	ehdr := addr + linux.PageSize
	if _, err := m.MMap(mm.MMapOpts{
		Addr: ehdr, Length: imageSize(), Prot: linux.PROT_READ | linux.PROT_EXEC, Private: true, NoReplace: true,
		Mappable: imageFile{},
	}); err != nil {
		m.Munmap(addr, linux.PageSize)
		return 0, err
	}
	return ehdr, nil
}

// vvarFile is the vvar page as a mm.FileBacked mappable, so that every
// process maps the very page the refresher writes.
type vvarFile struct{ r *refresher }

// ReadAt reads the page (only used for private mappings, which Map does
// not make).
func (f vvarFile) ReadAt(p []byte, off int64) (int, error) {
	b, err := f.r.mf.Bytes(f.r.off, linux.PageSize)
	if err != nil || off >= linux.PageSize {
		return 0, linux.EIO
	}
	return copy(p, b[off:]), nil
}

// Name is shown in /proc/[pid]/maps.
func (vvarFile) Name() string { return VVarName }

// MemoryFile is the kernel's memory file, which holds the page.
func (f vvarFile) MemoryFile() *mm.MemoryFile { return f.r.mf }

// MapRanges returns the page with a new reference for the mapping.
func (f vvarFile) MapRanges(off, length int64) ([]mm.MemoryRange, error) {
	if off != 0 || length != linux.PageSize {
		return nil, linux.EINVAL
	}
	if err := f.r.mf.IncRef(f.r.off, linux.PageSize); err != nil {
		return nil, linux.ENOMEM
	}
	return []mm.MemoryRange{{Off: f.r.off, Length: linux.PageSize}}, nil
}

// imageFile is the vDSO image as a mm.Mappable (copied into each process,
// so debuggers may write to it as on Linux).
type imageFile struct{}

// ReadAt reads the image.
func (imageFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(image)) {
		return 0, nil
	}
	return copy(p, image[off:]), nil
}

// Name is shown in /proc/[pid]/maps.
func (imageFile) Name() string { return ImageName }

// Image returns a copy of the vDSO's ELF image.
func Image() []byte { return append([]byte(nil), image...) }
