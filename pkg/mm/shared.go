package mm

// MemoryRange is a page-aligned range [Off, Off+Length) of the memory file.
type MemoryRange struct{ Off, Length int64 }

// FileBacked is implemented by a Mappable whose data lives in memory file
// pages (tmpfs and memfd files). A MAP_SHARED mapping of it maps those
// very pages, so stores through the mapping, read(2) and write(2) of the
// file, and other processes' mappings all see the same bytes. Without it
// a shared file mapping is a read-only snapshot (writable ones fail with
// linux.ENODEV), which is the case of gofer (host) files for now.
type FileBacked interface {
	// MemoryFile returns the memory file holding the data. Pages are only
	// mapped when it is the address space's own memory file.
	MemoryFile() *MemoryFile
	// MapRanges returns, in file order, the memory file ranges backing the
	// page-aligned file range [off, off+length), allocating zeroed pages
	// where the file has none (the file's size does not change). Each
	// returned range carries one new reference for the caller, who drops
	// it with MemoryFile.DecRef when the mapping goes away.
	MapRanges(off, length int64) ([]MemoryRange, error)
}
