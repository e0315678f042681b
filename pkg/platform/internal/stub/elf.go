package stub

import "encoding/binary"

// WriteELFHeaders writes into b, the start of a stub image of size bytes, an
// ELF64 header whose entry point is Addr+CodeOffset and one PT_LOAD program
// header that maps the whole image read+exec at Addr. b must hold at least
// CodeOffset bytes.
func WriteELFHeaders(b []byte, size uint64) {
	le := binary.LittleEndian
	copy(b, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}) // ELFCLASS64, LSB, version 1, SYSV
	le.PutUint16(b[16:], 2)                          // ET_EXEC
	le.PutUint16(b[18:], 62)                         // EM_X86_64
	le.PutUint32(b[20:], 1)                          // EV_CURRENT
	le.PutUint64(b[24:], Addr+CodeOffset)            // e_entry
	le.PutUint64(b[32:], ELFHeaderSize)              // e_phoff
	le.PutUint64(b[40:], 0)                          // e_shoff
	le.PutUint32(b[48:], 0)                          // e_flags
	le.PutUint16(b[52:], ELFHeaderSize)              // e_ehsize
	le.PutUint16(b[54:], ProgHdrSize)                // e_phentsize
	le.PutUint16(b[56:], 1)                          // e_phnum
	p := b[ELFHeaderSize:]
	le.PutUint32(p[0:], 1)         // PT_LOAD
	le.PutUint32(p[4:], 5)         // PF_R|PF_X
	le.PutUint64(p[8:], 0)         // p_offset
	le.PutUint64(p[16:], Addr)     // p_vaddr
	le.PutUint64(p[24:], Addr)     // p_paddr
	le.PutUint64(p[32:], size)     // p_filesz
	le.PutUint64(p[40:], PageSize) // p_memsz
	le.PutUint64(p[48:], PageSize) // p_align
}
