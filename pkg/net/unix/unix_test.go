package unix

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
)

func TestFamilies(t *testing.T) {
	s, ctx := newWorld(t)
	for _, fam := range []int{linux.AF_INET, linux.AF_INET6, linux.AF_NETLINK, linux.AF_PACKET} {
		_, _, err := s.NewSocket(ctx, fam, linux.SOCK_STREAM, 0)
		wantErr(t, err, linux.EAFNOSUPPORT, "socket of an unregistered family")
	}
	_, _, err := s.NewSocket(ctx, linux.AF_UNIX, 9, 0)
	wantErr(t, err, linux.ESOCKTNOSUPPORT, "bad type")
	_, _, err = s.NewSocket(ctx, linux.AF_UNIX, linux.SOCK_STREAM, 6)
	wantErr(t, err, linux.EPROTONOSUPPORT, "bad protocol")
	_, _, err = s.NewSocket(ctx, linux.AF_UNIX, linux.SOCK_STREAM|0x10000000, 0)
	wantErr(t, err, linux.EINVAL, "bad flags")

	f, cloexec, err := s.NewSocket(ctx, linux.AF_UNIX, linux.SOCK_STREAM|linux.SOCK_NONBLOCK|linux.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	if !cloexec || f.StatusFlags()&linux.O_NONBLOCK == 0 {
		t.Errorf("flags not applied: cloexec %v, status %#x", cloexec, f.StatusFlags())
	}
	st, err := f.Stat(ctx)
	if err != nil || uint32(st.Mode)&linux.S_IFMT != linux.S_IFSOCK {
		t.Errorf("fstat mode %#o, %v", st.Mode, err)
	}
	if want := "socket:["; !strings.HasPrefix(f.PathName(), want) {
		t.Errorf("name %q", f.PathName())
	}
	if _, err := f.PRead(ctx, make([]byte, 1), 0); err != linux.ESPIPE {
		t.Errorf("pread on a socket: %v", err)
	}
}

func TestStreamPair(t *testing.T) {
	s, ctx := newWorld(t)
	a, b := pair(t, s, ctx, linux.SOCK_STREAM)
	if r := b.Readiness(linux.POLLIN | linux.POLLOUT); r != linux.POLLOUT {
		t.Errorf("idle readiness %#x", r)
	}
	ch := b.Notify()
	if n, err := a.Write(ctx, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("write %d %v", n, err)
	}
	select {
	case <-ch:
	default:
		t.Error("Notify channel not closed by a write")
	}
	if r := b.Readiness(linux.POLLIN); r != linux.POLLIN {
		t.Errorf("readiness after write %#x", r)
	}
	if got, _ := recv(t, ctx, b, 3, linux.MSG_PEEK); got != "hel" {
		t.Errorf("peek %q", got)
	}
	buf := make([]byte, 10)
	if n, err := b.Read(ctx, buf); string(buf[:n]) != "hello" || err != nil {
		t.Errorf("read %q %v", buf[:n], err)
	}
	_, err := so(b).RecvMsg(ctx, b, buf, linux.MSG_DONTWAIT)
	wantErr(t, err, linux.EAGAIN, "empty MSG_DONTWAIT read")

	// Shut down writing: the peer reads EOF and sees RDHUP.
	if err := so(a).Shutdown(ctx, linux.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if r := b.Readiness(linux.POLLIN | linux.POLLRDHUP); r&linux.POLLRDHUP == 0 {
		t.Errorf("no RDHUP after peer SHUT_WR: %#x", r)
	}
	if n, err := b.Read(ctx, buf); n != 0 || err != nil {
		t.Errorf("read after SHUT_WR %d %v", n, err)
	}
	_, err = a.Write(ctx, []byte("x"))
	wantErr(t, err, linux.EPIPE, "write after own SHUT_WR")
	// b may still write to a.
	send(t, ctx, b, "back", 0)
	if got, _ := recv(t, ctx, a, 10, 0); got != "back" {
		t.Errorf("reverse direction %q", got)
	}
	err = so(a).Shutdown(ctx, 7)
	wantErr(t, err, linux.EINVAL, "bad how")
}

func TestStreamCloseAndHangup(t *testing.T) {
	s, ctx := newWorld(t)
	a, b, _, _ := s.NewPair(ctx, linux.AF_UNIX, linux.SOCK_STREAM, 0)
	defer b.DecRef()
	send(t, ctx, a, "last", 0)
	a.DecRef()
	if r := b.Readiness(linux.POLLIN | linux.POLLOUT); r&(linux.POLLHUP|linux.POLLIN) != linux.POLLHUP|linux.POLLIN {
		t.Errorf("readiness after peer close %#x", r)
	}
	if got, _ := recv(t, ctx, b, 10, 0); got != "last" {
		t.Errorf("buffered data lost: %q", got)
	}
	if got, _ := recv(t, ctx, b, 10, 0); got != "" {
		t.Errorf("want EOF, got %q", got)
	}
	_, err := so(b).SendMsg(ctx, b, net.SendRequest{Data: []byte("x")})
	wantErr(t, err, linux.EPIPE, "send to a closed peer")

	// Closing with unread data resets the peer.
	c, d, _, _ := s.NewPair(ctx, linux.AF_UNIX, linux.SOCK_STREAM, 0)
	defer c.DecRef()
	send(t, ctx, c, "unread", 0)
	d.DecRef()
	_, err = so(c).RecvMsg(ctx, c, make([]byte, 4), 0)
	wantErr(t, err, linux.ECONNRESET, "read after the peer closed with unread data")
}

func TestWaitAllAndBlocking(t *testing.T) {
	s, ctx := newWorld(t)
	a, b := pair(t, s, ctx, linux.SOCK_STREAM)
	go func() {
		time.Sleep(10 * time.Millisecond)
		send(t, ctx, a, "ab", 0)
		time.Sleep(10 * time.Millisecond)
		send(t, ctx, a, "cd", 0)
	}()
	if got, _ := recv(t, ctx, b, 4, linux.MSG_WAITALL); got != "abcd" {
		t.Errorf("MSG_WAITALL got %q", got)
	}
	// A blocked read is interrupted by a signal.
	ictx := *ctx
	ictx.Context = ctx.as(1, 0, 0).Context
	go func() { time.Sleep(10 * time.Millisecond); ictx.Interrupt() }()
	_, err := so(b).RecvMsg(&ictx, b, make([]byte, 1), 0)
	wantErr(t, err, linux.ERESTARTSYS, "interrupted read")
}

func TestStreamBufferFull(t *testing.T) {
	s, ctx := newWorld(t)
	a, b := pair(t, s, ctx, linux.SOCK_STREAM)
	if err := a.SetStatusFlags(linux.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 65536)
	total := 0
	for {
		n, err := a.Write(ctx, chunk)
		total += n
		if err == linux.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if total > 10<<20 {
			t.Fatal("socket buffer never filled")
		}
	}
	if total != net.DefaultBufSize {
		t.Errorf("buffered %d bytes, want %d", total, net.DefaultBufSize)
	}
	if r := a.Readiness(linux.POLLOUT); r != 0 {
		t.Errorf("full socket writable: %#x", r)
	}
	ch := a.Notify()
	recv(t, ctx, b, 1000, 0)
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("reader did not wake the writer")
	}
	if r := a.Readiness(linux.POLLOUT); r != linux.POLLOUT {
		t.Errorf("not writable after a read: %#x", r)
	}
}

func TestDgramAndSeqpacket(t *testing.T) {
	s, ctx := newWorld(t)
	a, b := pair(t, s, ctx, linux.SOCK_DGRAM)
	send(t, ctx, a, "one", 0)
	send(t, ctx, a, "second", 0)
	got, res := recv(t, ctx, b, 10, 0)
	if got != "one" || res.Flags != 0 {
		t.Errorf("first datagram %q flags %#x", got, res.Flags)
	}
	got, res = recv(t, ctx, b, 3, linux.MSG_TRUNC)
	if got != "sec" || res.Len != 6 || res.Flags&linux.MSG_TRUNC == 0 {
		t.Errorf("truncated datagram %q len %d flags %#x", got, res.Len, res.Flags)
	}
	if res.From != nil {
		t.Errorf("unnamed sender has address %q", res.From)
	}
	send(t, ctx, a, "", 0)
	if got, _ := recv(t, ctx, b, 3, 0); got != "" {
		t.Errorf("empty datagram %q", got)
	}

	p, q := pair(t, s, ctx, linux.SOCK_SEQPACKET)
	send(t, ctx, p, "rec1", 0)
	send(t, ctx, p, "rec2", 0)
	if got, res := recv(t, ctx, q, 2, 0); got != "re" || res.Flags&linux.MSG_TRUNC == 0 {
		t.Errorf("seqpacket truncation %q %#x", got, res.Flags)
	}
	if got, _ := recv(t, ctx, q, 10, 0); got != "rec2" {
		t.Errorf("seqpacket boundary %q", got)
	}
	so(p).Shutdown(ctx, linux.SHUT_RDWR)
	if got, _ := recv(t, ctx, q, 10, 0); got != "" {
		t.Errorf("seqpacket EOF %q", got)
	}
	_, err := so(q).SendMsg(ctx, q, net.SendRequest{Data: []byte("x")})
	wantErr(t, err, linux.EPIPE, "seqpacket send after peer SHUT_RD")
}

func TestPathBindConnectAccept(t *testing.T) {
	s, ctx := newWorld(t)
	ctx.fs.SetUmask(0)
	l := sock(t, s, ctx, linux.SOCK_STREAM)
	c := sock(t, s, ctx, linux.SOCK_STREAM)
	err := so(c).Connect(ctx, c, pathAddr("/sock"))
	wantErr(t, err, linux.ENOENT, "connect to a missing path")
	err = so(l).Listen(ctx, 1)
	wantErr(t, err, linux.EINVAL, "listen unbound")
	if err := so(l).Bind(ctx, pathAddr("/sock")); err != nil {
		t.Fatal(err)
	}
	err = so(l).Bind(ctx, pathAddr("/sock2"))
	wantErr(t, err, linux.EINVAL, "second bind")
	st, err := vfs.StatAt(ctx, ctx.fs, nil, "/sock", 0)
	if err != nil || uint32(st.Mode) != linux.S_IFSOCK|0o777 {
		t.Errorf("socket file mode %#o, %v", st.Mode, err)
	}
	other := sock(t, s, ctx, linux.SOCK_STREAM)
	err = so(other).Bind(ctx, pathAddr("/sock"))
	wantErr(t, err, linux.EADDRINUSE, "bind to an existing path")
	err = so(c).Connect(ctx, c, pathAddr("/sock"))
	wantErr(t, err, linux.ECONNREFUSED, "connect before listen")
	if err := so(l).Listen(ctx, 5); err != nil {
		t.Fatal(err)
	}
	name, _ := so(l).GetSockName(ctx)
	if want := "\x01\x00/sock\x00"; string(name) != want {
		t.Errorf("getsockname %q, want %q", name, want)
	}
	if v, _ := so(l).GetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_ACCEPTCONN, 4); v[0] != 1 {
		t.Error("SO_ACCEPTCONN not set")
	}
	if r := l.Readiness(linux.POLLIN); r != 0 {
		t.Errorf("idle listener readiness %#x", r)
	}
	cctx := ctx.as(20, 1000, 1000)
	if err := so(c).Connect(cctx, c, pathAddr("/sock")); err != nil {
		t.Fatal(err)
	}
	err = so(c).Connect(cctx, c, pathAddr("/sock"))
	wantErr(t, err, linux.EISCONN, "second connect")
	if r := l.Readiness(linux.POLLIN); r != linux.POLLIN {
		t.Errorf("listener with a pending connection %#x", r)
	}
	sf, err := so(l).Accept(ctx, l, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.DecRef()
	peer, _ := so(c).GetPeerName(cctx)
	if string(peer) != string(name) {
		t.Errorf("client getpeername %q", peer)
	}
	sname, _ := so(sf).GetSockName(ctx)
	speer, _ := so(sf).GetPeerName(ctx)
	if string(sname) != string(name) || string(speer) != "\x01\x00" {
		t.Errorf("accepted socket names %q %q", sname, speer)
	}
	cred, _ := so(sf).GetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_PEERCRED, 12)
	if u, _ := net.DecodeUcred(cred); u != (linux.Ucred{PID: 20, UID: 1000, GID: 1000}) {
		t.Errorf("server SO_PEERCRED %+v", u)
	}
	cred, _ = so(c).GetSockOpt(cctx, linux.SOL_SOCKET, linux.SO_PEERCRED, 12)
	if u, _ := net.DecodeUcred(cred); u != (linux.Ucred{PID: 10}) {
		t.Errorf("client SO_PEERCRED %+v", u)
	}
	send(t, cctx, c, "ping", 0)
	if got, _ := recv(t, ctx, sf, 10, 0); got != "ping" {
		t.Errorf("server got %q", got)
	}
	// Closing the listener frees the name but keeps the file.
	l.DecRef()
	l2 := sock(t, s, ctx, linux.SOCK_STREAM)
	err = so(l2).Connect(ctx, l2, pathAddr("/sock"))
	wantErr(t, err, linux.ECONNREFUSED, "connect after the listener closed")
	d := sock(t, s, ctx, linux.SOCK_DGRAM)
	_, err = so(d).SendMsg(ctx, d, net.SendRequest{Data: []byte("x"), To: pathAddr("/sock")})
	wantErr(t, err, linux.ECONNREFUSED, "sendto an unbound socket file")
}

func TestPathPermissionAndType(t *testing.T) {
	s, ctx := newWorld(t)
	ctx.fs.SetUmask(0o077)
	l := sock(t, s, ctx, linux.SOCK_STREAM)
	if err := so(l).Bind(ctx, pathAddr("/private")); err != nil {
		t.Fatal(err)
	}
	so(l).Listen(ctx, 1)
	uctx := ctx.as(30, 1000, 1000)
	c := sock(t, s, uctx, linux.SOCK_STREAM)
	err := so(c).Connect(uctx, c, pathAddr("/private"))
	wantErr(t, err, linux.EACCES, "connect without write permission")
	d := sock(t, s, ctx, linux.SOCK_DGRAM)
	err = so(d).Connect(ctx, d, pathAddr("/private"))
	wantErr(t, err, linux.EPROTOTYPE, "dgram connect to a stream socket")
	if _, err := vfs.OpenAt(ctx, ctx.fs, nil, "/private", linux.O_RDWR, 0); err != linux.ENXIO {
		t.Errorf("open of a socket file: %v", err)
	}
}

func TestAbstractAndAutobind(t *testing.T) {
	s, ctx := newWorld(t)
	l := sock(t, s, ctx, linux.SOCK_SEQPACKET)
	if err := so(l).Bind(ctx, absAddr("bulwark")); err != nil {
		t.Fatal(err)
	}
	name, _ := so(l).GetSockName(ctx)
	if string(name) != "\x01\x00\x00bulwark" {
		t.Errorf("abstract name %q", name)
	}
	dup := sock(t, s, ctx, linux.SOCK_SEQPACKET)
	wantErr(t, so(dup).Bind(ctx, absAddr("bulwark")), linux.EADDRINUSE, "abstract name in use")
	// A different length is a different name.
	if err := so(dup).Bind(ctx, absAddr("bulwark\x00")); err != nil {
		t.Errorf("bind to a longer abstract name: %v", err)
	}
	so(l).Listen(ctx, 0)
	a := sock(t, s, ctx, linux.SOCK_SEQPACKET)
	if err := so(a).Bind(ctx, []byte{linux.AF_UNIX, 0}); err != nil {
		t.Fatal(err)
	}
	an, _ := so(a).GetSockName(ctx)
	if len(an) != 8 || an[2] != 0 {
		t.Errorf("autobind name %q", an)
	}
	if err := so(a).Connect(ctx, a, absAddr("bulwark")); err != nil {
		t.Fatal(err)
	}
	// Backlog 0 admits one pending connection; the next must wait.
	b := sock(t, s, ctx, linux.SOCK_SEQPACKET)
	b.SetStatusFlags(linux.O_NONBLOCK)
	wantErr(t, so(b).Connect(ctx, b, absAddr("bulwark")), linux.EAGAIN, "connect to a full backlog")
	done := make(chan error)
	b2 := sock(t, s, ctx, linux.SOCK_SEQPACKET)
	go func() { done <- so(b2).Connect(ctx, b2, absAddr("bulwark")) }()
	select {
	case err := <-done:
		t.Fatalf("connect did not wait: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	sf, err := so(l).Accept(ctx, l, linux.O_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.DecRef()
	if err := <-done; err != nil {
		t.Fatalf("blocked connect: %v", err)
	}
	peer, _ := so(sf).GetPeerName(ctx)
	if string(peer) != string(an) {
		t.Errorf("peer of accepted socket %q, want %q", peer, an)
	}
	if sf.StatusFlags()&linux.O_NONBLOCK == 0 {
		t.Error("accept flags not applied")
	}
}

func TestDgramUnconnected(t *testing.T) {
	s, ctx := newWorld(t)
	srv := sock(t, s, ctx, linux.SOCK_DGRAM)
	if err := so(srv).Bind(ctx, pathAddr("dg")); err != nil { // relative to cwd
		t.Fatal(err)
	}
	cl := sock(t, s, ctx, linux.SOCK_DGRAM)
	_, err := so(cl).SendMsg(ctx, cl, net.SendRequest{Data: []byte("x")})
	wantErr(t, err, linux.ENOTCONN, "send without address")
	so(cl).Bind(ctx, absAddr("client"))
	if _, err := so(cl).SendMsg(ctx, cl, net.SendRequest{Data: []byte("hi"), To: pathAddr("/dg")}); err != nil {
		t.Fatal(err)
	}
	got, res := recv(t, ctx, srv, 10, 0)
	if got != "hi" || string(res.From) != "\x01\x00\x00client" {
		t.Errorf("recvfrom %q from %q", got, res.From)
	}
	// A socket connected elsewhere refuses others' datagrams.
	third := sock(t, s, ctx, linux.SOCK_DGRAM)
	so(third).Bind(ctx, absAddr("third"))
	so(srv).Connect(ctx, srv, absAddr("third"))
	_, err = so(cl).SendMsg(ctx, cl, net.SendRequest{Data: []byte("x"), To: pathAddr("/dg")})
	wantErr(t, err, linux.EPERM, "send to a socket connected elsewhere")
	// The queue of an unconnected receiver is bounded.
	cl.SetStatusFlags(linux.O_NONBLOCK)
	n := 0
	for ; n < 100; n++ {
		if _, err := so(cl).SendMsg(ctx, cl, net.SendRequest{Data: []byte("x"), To: absAddr("third")}); err != nil {
			wantErr(t, err, linux.EAGAIN, "full dgram queue")
			break
		}
	}
	if n != maxDgramQlen+1 {
		t.Errorf("queued %d datagrams", n)
	}
	// A connected datagram socket whose peer closed: ECONNREFUSED once.
	x := sock(t, s, ctx, linux.SOCK_DGRAM)
	y, _, _ := s.NewSocket(ctx, linux.AF_UNIX, linux.SOCK_DGRAM, 0)
	so(y).Bind(ctx, absAddr("y"))
	if err := so(x).Connect(ctx, x, absAddr("y")); err != nil {
		t.Fatal(err)
	}
	y.DecRef()
	_, err = so(x).SendMsg(ctx, x, net.SendRequest{Data: []byte("x")})
	wantErr(t, err, linux.ECONNREFUSED, "send to a closed peer")
	_, err = so(x).SendMsg(ctx, x, net.SendRequest{Data: []byte("x")})
	wantErr(t, err, linux.ENOTCONN, "second send to a closed peer")
}

// countingFile is a FileImpl that counts releases.
type countingFile struct {
	vfs.NoFile
	released *int
}

func (c countingFile) Release() { *c.released++ }

func TestRights(t *testing.T) {
	s, ctx := newWorld(t)
	a, b := pair(t, s, ctx, linux.SOCK_STREAM)
	released := 0
	f := vfs.NewFile(&inode{}, countingFile{released: &released}, linux.O_RDONLY, "x")
	f.IncRef() // the "sender's fd"
	if _, err := so(a).SendMsg(ctx, a, net.SendRequest{Data: []byte("ab"), Control: net.ControlMessages{Rights: []*vfs.File{f}}}); err != nil {
		t.Fatal(err)
	}
	send(t, ctx, a, "cd", 0)
	f.DecRef() // sender closes its fd: the file stays in flight
	if released != 0 {
		t.Fatal("in-flight file released")
	}
	// Peek duplicates; the read stops after the segment with rights.
	got, res := recv(t, ctx, b, 10, linux.MSG_PEEK)
	if got != "ab" || len(res.Control.Rights) != 1 {
		t.Fatalf("peek %q rights %d", got, len(res.Control.Rights))
	}
	res.Control.Release()
	got, res = recv(t, ctx, b, 10, 0)
	if got != "ab" || len(res.Control.Rights) != 1 || res.Control.Rights[0] != f {
		t.Fatalf("recv %q rights %v", got, res.Control.Rights)
	}
	res.Control.Release()
	if released != 1 {
		t.Errorf("released %d times after the receiver closed it", released)
	}
	if got, _ := recv(t, ctx, b, 10, 0); got != "cd" {
		t.Errorf("rest %q", got)
	}

	// Files still queued are closed when the receiving socket goes away.
	released = 0
	c, d, _, _ := s.NewPair(ctx, linux.AF_UNIX, linux.SOCK_DGRAM, 0)
	g := vfs.NewFile(&inode{}, countingFile{released: &released}, linux.O_RDONLY, "y")
	so(c).SendMsg(ctx, c, net.SendRequest{Data: []byte("z"), Control: net.ControlMessages{Rights: []*vfs.File{g}}})
	c.DecRef()
	if released != 0 {
		t.Fatal("released before the receiver closed")
	}
	d.DecRef()
	if released != 1 {
		t.Errorf("in-flight file not closed with the socket (%d)", released)
	}
}

func TestCredentials(t *testing.T) {
	s, ctx := newWorld(t)
	a, b := pair(t, s, ctx, linux.SOCK_DGRAM)
	send(t, ctx, a, "no", 0)
	if _, res := recv(t, ctx, b, 4, 0); res.Control.Creds != nil {
		t.Error("credentials without SO_PASSCRED")
	}
	if err := so(b).SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_PASSCRED, net.Int32(1)); err != nil {
		t.Fatal(err)
	}
	uctx := ctx.as(42, 7, 8)
	send(t, uctx, a, "yes", 0)
	_, res := recv(t, ctx, b, 4, 0)
	if res.Control.Creds == nil || *res.Control.Creds != (linux.Ucred{PID: 42, UID: 7, GID: 8}) {
		t.Errorf("SCM_CREDENTIALS %+v", res.Control.Creds)
	}
	explicit := linux.Ucred{PID: 42, UID: 7, GID: 8}
	so(a).SendMsg(uctx, a, net.SendRequest{Data: []byte("e"), Control: net.ControlMessages{Creds: &explicit}})
	if _, res := recv(t, ctx, b, 4, 0); *res.Control.Creds != explicit {
		t.Errorf("explicit creds %+v", res.Control.Creds)
	}
	pc, _ := so(a).GetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_PEERCRED, 12)
	if u, _ := net.DecodeUcred(pc); u.PID != 10 {
		t.Errorf("socketpair SO_PEERCRED %+v", u)
	}
	lone := sock(t, s, ctx, linux.SOCK_STREAM)
	pc, _ = so(lone).GetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_PEERCRED, 12)
	if u, _ := net.DecodeUcred(pc); u != (linux.Ucred{UID: ^uint32(0), GID: ^uint32(0)}) {
		t.Errorf("unconnected SO_PEERCRED %+v", u)
	}
}

func TestSockOpts(t *testing.T) {
	s, ctx := newWorld(t)
	f := sock(t, s, ctx, linux.SOCK_SEQPACKET)
	sk := so(f)
	get := func(name int) int32 {
		v, err := sk.GetSockOpt(ctx, linux.SOL_SOCKET, name, 4)
		if err != nil {
			t.Fatalf("getsockopt %d: %v", name, err)
		}
		return int32(v[0]) | int32(v[1])<<8 | int32(v[2])<<16 | int32(v[3])<<24
	}
	if get(linux.SO_TYPE) != linux.SOCK_SEQPACKET || get(linux.SO_DOMAIN) != linux.AF_UNIX || get(linux.SO_PROTOCOL) != 0 {
		t.Error("SO_TYPE/SO_DOMAIN/SO_PROTOCOL")
	}
	if get(linux.SO_ERROR) != 0 || get(linux.SO_ACCEPTCONN) != 0 {
		t.Error("SO_ERROR/SO_ACCEPTCONN")
	}
	if get(linux.SO_SNDBUF) != net.DefaultBufSize {
		t.Errorf("default SO_SNDBUF %d", get(linux.SO_SNDBUF))
	}
	sk.SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_SNDBUF, net.Int32(10000))
	sk.SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_RCVBUF, net.Int32(1))
	if get(linux.SO_SNDBUF) != 20000 || get(linux.SO_RCVBUF) != 2304 {
		t.Errorf("SO_SNDBUF %d SO_RCVBUF %d", get(linux.SO_SNDBUF), get(linux.SO_RCVBUF))
	}
	if err := sk.SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_REUSEADDR, net.Int32(5)); err != nil || get(linux.SO_REUSEADDR) != 1 {
		t.Errorf("SO_REUSEADDR: %v", err)
	}
	wantErr(t, sk.SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_TYPE, net.Int32(1)), linux.ENOPROTOOPT, "set SO_TYPE")
	wantErr(t, sk.SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_REUSEADDR, []byte{1}), linux.EINVAL, "short value")
	wantErr(t, sk.SetSockOpt(ctx, 6, 1, net.Int32(1)), linux.EOPNOTSUPP, "TCP level")
	_, err := sk.GetSockOpt(ctx, linux.SOL_SOCKET, 999, 4)
	wantErr(t, err, linux.ENOPROTOOPT, "unknown option")
	// Messages larger than the send buffer are refused.
	a, _ := pair(t, s, ctx, linux.SOCK_DGRAM)
	so(a).SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_SNDBUF, net.Int32(5000))
	_, err = so(a).SendMsg(ctx, a, net.SendRequest{Data: make([]byte, 20000)})
	wantErr(t, err, linux.EMSGSIZE, "datagram larger than SO_SNDBUF")
}

func TestTimeouts(t *testing.T) {
	s, ctx := newWorld(t)
	a, b := pair(t, s, ctx, linux.SOCK_STREAM)
	tv := make([]byte, 16)
	tv[8] = 0x20 // 0x4e20 = 20000 µs
	tv[9] = 0x4e
	if err := so(b).SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_RCVTIMEO, tv); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := so(b).RecvMsg(ctx, b, make([]byte, 1), 0)
	wantErr(t, err, linux.EAGAIN, "recv past SO_RCVTIMEO")
	if d := time.Since(start); d < 20*time.Millisecond || d > 2*time.Second {
		t.Errorf("SO_RCVTIMEO waited %v", d)
	}
	got, _ := so(b).GetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_RCVTIMEO, 16)
	if !bytes.Equal(got, tv) {
		t.Errorf("SO_RCVTIMEO reads back %x", got)
	}
	bad := make([]byte, 16)
	bad[10] = 0x10 // usec >= 1e6
	wantErr(t, so(a).SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_SNDTIMEO, bad), linux.EDOM, "bad timeval")
	// A signal during a timed wait is EINTR, not a restart.
	ictx := &testCtx{Context: ctx.as(1, 0, 0).Context, pid: 1, creds: ctx.creds, fs: ctx.fs}
	tv = make([]byte, 16)
	tv[0] = 5 // seconds
	so(b).SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_RCVTIMEO, tv)
	go func() { time.Sleep(10 * time.Millisecond); ictx.Interrupt() }()
	_, err = so(b).RecvMsg(ictx, b, make([]byte, 1), 0)
	wantErr(t, err, linux.EINTR, "interrupted timed recv")
}
