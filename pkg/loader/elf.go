package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/mm"
)

// Limits on what the loader accepts, as Linux does.
const (
	maxPhdrBytes  = 64 << 10 // all program headers
	maxInterpPath = 4096     // PT_INTERP contents
	phentSize     = 56       // size of an ELF64 program header
	// dynBase is where a position-independent executable with an
	// interpreter is loaded (Linux's ELF_ET_DYN_BASE without randomization).
	dynBase = 0x555555554000
)

// elfInfo is what the loader needs from an ELF file's headers.
type elfInfo struct {
	typ       elf.Type
	entry     uintptr
	phoff     uint64
	phdrs     []elf.Prog64
	interp    string // PT_INTERP, or ""
	execStack bool   // PT_GNU_STACK with PF_X
}

// readFull reads len(p) bytes at off; a short file is ENOEXEC.
func readFull(f File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return linux.ENOEXEC
	}
	return asErrno(err, linux.EIO)
}

// asErrno returns err's linux.Errno, or def when it has none.
func asErrno(err error, def linux.Errno) error {
	var e linux.Errno
	if errors.As(err, &e) {
		return e
	}
	return def
}

// isELF reports whether hdr starts with the ELF magic.
func isELF(hdr []byte) bool { return bytes.HasPrefix(hdr, []byte(elf.ELFMAG)) }

// parseELF reads and validates the headers of an x86-64 executable or
// shared object (linux.ENOEXEC for anything else).
func parseELF(f File) (*elfInfo, error) {
	var h elf.Header64
	buf := make([]byte, binary.Size(h))
	if err := readFull(f, buf, 0); err != nil {
		return nil, err
	}
	binary.Decode(buf, binary.LittleEndian, &h)
	id := h.Ident
	switch {
	case !isELF(id[:]),
		elf.Class(id[elf.EI_CLASS]) != elf.ELFCLASS64,
		elf.Data(id[elf.EI_DATA]) != elf.ELFDATA2LSB,
		elf.Version(id[elf.EI_VERSION]) != elf.EV_CURRENT,
		elf.Machine(h.Machine) != elf.EM_X86_64,
		elf.Type(h.Type) != elf.ET_EXEC && elf.Type(h.Type) != elf.ET_DYN,
		h.Phentsize != phentSize,
		h.Phnum == 0,
		int(h.Phnum)*int(h.Phentsize) > maxPhdrBytes:
		return nil, linux.ENOEXEC
	}
	info := &elfInfo{typ: elf.Type(h.Type), entry: uintptr(h.Entry), phoff: h.Phoff}
	pbuf := make([]byte, int(h.Phnum)*int(h.Phentsize))
	if h.Phoff > 1<<40 {
		return nil, linux.ENOEXEC
	}
	if err := readFull(f, pbuf, int64(h.Phoff)); err != nil {
		return nil, err
	}
	info.phdrs = make([]elf.Prog64, h.Phnum)
	if _, err := binary.Decode(pbuf, binary.LittleEndian, info.phdrs); err != nil {
		return nil, linux.ENOEXEC
	}
	loads := 0
	for _, p := range info.phdrs {
		switch elf.ProgType(p.Type) {
		case elf.PT_LOAD:
			if err := checkLoad(p); err != nil {
				return nil, err
			}
			loads++
		case elf.PT_INTERP:
			if info.interp != "" || p.Filesz < 2 || p.Filesz > maxInterpPath || p.Off > 1<<40 {
				return nil, linux.ENOEXEC
			}
			b := make([]byte, p.Filesz)
			if err := readFull(f, b, int64(p.Off)); err != nil {
				return nil, err
			}
			i := bytes.IndexByte(b, 0)
			if i != len(b)-1 {
				return nil, linux.ENOEXEC
			}
			info.interp = string(b[:i])
		case elf.PT_GNU_STACK:
			info.execStack = elf.ProgFlag(p.Flags)&elf.PF_X != 0
		}
	}
	if loads == 0 {
		return nil, linux.ENOEXEC
	}
	return info, nil
}

// checkLoad validates one PT_LOAD header.
func checkLoad(p elf.Prog64) error {
	const limit = 1 << 47
	if p.Filesz > p.Memsz || p.Vaddr >= limit || p.Memsz >= limit || p.Vaddr+p.Memsz >= limit ||
		p.Off >= 1<<40 || p.Filesz >= 1<<40 || (p.Vaddr-p.Off)%linux.PageSize != 0 {
		return linux.ENOEXEC
	}
	return nil
}

// span returns the page-aligned range of addresses the PT_LOADs cover,
// before relocation.
func (info *elfInfo) span() (lo, hi uintptr) {
	lo = ^uintptr(0)
	for _, p := range info.phdrs {
		if elf.ProgType(p.Type) != elf.PT_LOAD {
			continue
		}
		lo = min(lo, pageDown(uintptr(p.Vaddr)))
		hi = max(hi, pageUp(uintptr(p.Vaddr+p.Memsz)))
	}
	return lo, hi
}

// phdrAddr returns the unrelocated address of the program headers in
// memory (PT_PHDR, or the PT_LOAD that contains them in the file), or 0.
func (info *elfInfo) phdrAddr() uintptr {
	for _, p := range info.phdrs {
		if elf.ProgType(p.Type) == elf.PT_PHDR {
			return uintptr(p.Vaddr)
		}
	}
	for _, p := range info.phdrs {
		if elf.ProgType(p.Type) == elf.PT_LOAD && info.phoff >= p.Off && info.phoff < p.Off+p.Filesz {
			return uintptr(p.Vaddr + info.phoff - p.Off)
		}
	}
	return 0
}

// loadELF maps the PT_LOAD segments of f. ET_DYN objects are placed at
// base (a hint; 0 lets mmap choose). It returns the load bias and the end
// of the highest segment.
func loadELF(m *mm.MemoryManager, f File, info *elfInfo, base uintptr) (bias, end uintptr, err error) {
	lo, hi := info.span()
	if info.typ == elf.ET_DYN {
		// Reserve the whole image to find room, then map the segments
		// into the reservation with MAP_FIXED (gaps end up unmapped).
		addr, err := m.MMap(mm.MMapOpts{Addr: base, Length: hi - lo, Private: true})
		if err != nil {
			return 0, 0, err
		}
		if err := m.Munmap(addr, hi-lo); err != nil {
			return 0, 0, err
		}
		bias = addr - lo
	}
	for _, p := range info.phdrs {
		if elf.ProgType(p.Type) != elf.PT_LOAD {
			continue
		}
		if err := loadSegment(m, f, p, bias); err != nil {
			return 0, 0, err
		}
		end = max(end, bias+uintptr(p.Vaddr+p.Memsz))
	}
	return bias, end, nil
}

// progProt converts PF_* flags to PROT_*.
func progProt(flags uint32) int {
	prot := 0
	for _, b := range []struct {
		pf   elf.ProgFlag
		prot int
	}{{elf.PF_R, linux.PROT_READ}, {elf.PF_W, linux.PROT_WRITE}, {elf.PF_X, linux.PROT_EXEC}} {
		if elf.ProgFlag(flags)&b.pf != 0 {
			prot |= b.prot
		}
	}
	return prot
}

// loadSegment maps one PT_LOAD: the file part as a private file mapping
// (with the rest of its last page zeroed when the segment has bss), then
// anonymous zero pages up to p_memsz.
func loadSegment(m *mm.MemoryManager, f File, p elf.Prog64, bias uintptr) error {
	prot := progProt(p.Flags)
	start := bias + uintptr(p.Vaddr)
	pstart := pageDown(start)
	fileEnd := start + uintptr(p.Filesz)
	memEnd := start + uintptr(p.Memsz)
	mapEnd := pstart
	if p.Filesz > 0 {
		mapEnd = pageUp(fileEnd)
		bss := p.Memsz > p.Filesz && fileEnd < mapEnd
		fprot := prot
		if bss {
			fprot |= linux.PROT_WRITE
		}
		_, err := m.MMap(mm.MMapOpts{
			Addr: pstart, Length: mapEnd - pstart, Prot: fprot, Private: true, Fixed: true,
			Mappable: mappable(f), Offset: int64(pageDown(uintptr(p.Off))),
		})
		if err != nil {
			return err
		}
		if bss {
			if _, err := m.CopyOut(fileEnd, make([]byte, mapEnd-fileEnd)); err != nil {
				return err
			}
			if fprot != prot {
				if err := m.Mprotect(pstart, mapEnd-pstart, prot); err != nil {
					return err
				}
			}
		}
	}
	if zeroEnd := pageUp(memEnd); zeroEnd > mapEnd {
		_, err := m.MMap(mm.MMapOpts{Addr: mapEnd, Length: zeroEnd - mapEnd, Prot: prot, Private: true, Fixed: true})
		if err != nil {
			return err
		}
	}
	return nil
}

func pageDown(a uintptr) uintptr { return a &^ (linux.PageSize - 1) }
func pageUp(a uintptr) uintptr   { return (a + linux.PageSize - 1) &^ (linux.PageSize - 1) }
