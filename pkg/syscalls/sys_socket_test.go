package syscalls

import (
	"encoding/binary"
	"testing"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/vfs"
)

type nullInode struct{}

func (nullInode) Stat(vfs.Context) (vfs.Attr, error)             { return vfs.Attr{Mode: linux.S_IFREG}, nil }
func (nullInode) Open(vfs.Context, uint32) (vfs.FileImpl, error) { return vfs.NoFile{}, nil }

func TestControlWriterCreds(t *testing.T) {
	w := controlWriter{buf: make([]byte, 64)}
	w.put(linux.SCM_CREDENTIALS, make([]byte, linux.SizeofUcred))
	if w.used != linux.CmsgSpace(linux.SizeofUcred) || w.flags != 0 {
		t.Errorf("used %d flags %#x", w.used, w.flags)
	}
	if l := binary.LittleEndian.Uint64(w.buf); l != uint64(linux.CmsgLen(linux.SizeofUcred)) {
		t.Errorf("cmsg_len %d", l)
	}
	// Too short for the data: truncated with MSG_CTRUNC.
	w = controlWriter{buf: make([]byte, 20)}
	w.put(linux.SCM_CREDENTIALS, make([]byte, linux.SizeofUcred))
	if w.used != 20 || w.flags&linux.MSG_CTRUNC == 0 || binary.LittleEndian.Uint64(w.buf) != 20 {
		t.Errorf("truncated: used %d flags %#x", w.used, w.flags)
	}
	// Too short for a header: nothing written.
	w = controlWriter{buf: make([]byte, 8)}
	w.put(linux.SCM_CREDENTIALS, make([]byte, linux.SizeofUcred))
	if w.used != 0 || w.flags&linux.MSG_CTRUNC == 0 {
		t.Errorf("no room: used %d flags %#x", w.used, w.flags)
	}
}

func TestControlWriterRights(t *testing.T) {
	newFile := func() *vfs.File { return vfs.NewFile(nullInode{}, vfs.NoFile{}, linux.O_RDONLY, "f") }
	files := []*vfs.File{newFile(), newFile(), newFile()}
	tab := vfs.NewFDTable()
	defer tab.Release()
	install := func(f *vfs.File) (int32, error) { return tab.NewFD(0, f, vfs.FDFlags{}) }
	w := controlWriter{buf: make([]byte, linux.CmsgLen(8))} // room for two fds
	w.putRights(files, install)
	if w.flags&linux.MSG_CTRUNC == 0 {
		t.Error("no MSG_CTRUNC with a third fd left over")
	}
	if got := tab.FDs(); len(got) != 2 {
		t.Errorf("installed fds %v", got)
	}
	if binary.LittleEndian.Uint32(w.buf[16:]) != 0 || binary.LittleEndian.Uint32(w.buf[20:]) != 1 {
		t.Errorf("fd numbers %x", w.buf[16:24])
	}
	if files[2].TryIncRef() {
		t.Error("the fd that did not fit was not closed")
	}
}
