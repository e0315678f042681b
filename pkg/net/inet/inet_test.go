package inet

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bulwark.dev/pkg/abi/linux"
	"bulwark.dev/pkg/net"
	"bulwark.dev/pkg/vfs"
	"bulwark.dev/pkg/vfs/vfstest"
)

// testCtx is a net.Context over vfstest.Context.
type testCtx struct{ *vfstest.Context }

func (testCtx) PID() int32                { return 1 }
func (testCtx) FSContext() *vfs.FSContext { return nil }

func newCtx() testCtx { return testCtx{vfstest.NewContext()} }

var stack = func() *net.Stack {
	s := net.NewStack()
	if err := Register(s); err != nil {
		panic(err)
	}
	return s
}()

func newSock(t *testing.T, domain, typ int) *vfs.File {
	t.Helper()
	f, _, err := stack.NewSocket(newCtx(), domain, typ, 0)
	if err != nil {
		t.Fatalf("socket(%d, %d): %v", domain, typ, err)
	}
	t.Cleanup(f.DecRef)
	return f
}

func so(f *vfs.File) net.Socket {
	s, err := net.FromFile(f)
	if err != nil {
		panic(err)
	}
	return s
}

func loopback(domain int) []byte {
	if domain == linux.AF_INET {
		sa := make([]byte, unix.SizeofSockaddrInet4)
		binary.LittleEndian.PutUint16(sa, linux.AF_INET)
		copy(sa[4:], []byte{127, 0, 0, 1})
		return sa
	}
	sa := make([]byte, unix.SizeofSockaddrInet6)
	binary.LittleEndian.PutUint16(sa, linux.AF_INET6)
	sa[8+15] = 1
	return sa
}

// listener returns a listening TCP socket on loopback and its address.
func listener(t *testing.T, domain int) (*vfs.File, []byte) {
	t.Helper()
	ctx := newCtx()
	l := newSock(t, domain, linux.SOCK_STREAM)
	if err := so(l).Bind(ctx, loopback(domain)); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := so(l).Listen(ctx, 8); err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr, err := so(l).GetSockName(ctx)
	if err != nil || binary.BigEndian.Uint16(addr[2:]) == 0 {
		t.Fatalf("getsockname = %v, %v", addr, err)
	}
	return l, addr
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func sendAll(t *testing.T, f *vfs.File, data string, flags uint32) {
	t.Helper()
	n, err := so(f).SendMsg(newCtx(), f, net.SendRequest{Data: []byte(data), Flags: flags})
	if err != nil || n != len(data) {
		t.Fatalf("send %q = %d, %v", data, n, err)
	}
}

func recvStr(t *testing.T, f *vfs.File, size int, flags uint32) (string, net.RecvResult) {
	t.Helper()
	buf := make([]byte, size)
	res, err := so(f).RecvMsg(newCtx(), f, buf, flags)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return string(buf[:res.N]), res
}

func TestTCPEcho(t *testing.T) {
	for _, domain := range []int{linux.AF_INET, linux.AF_INET6} {
		l, addr := listener(t, domain)
		c := newSock(t, domain, linux.SOCK_STREAM)
		ctx := newCtx()
		if err := so(c).Connect(ctx, c, addr); err != nil {
			t.Fatalf("connect: %v", err)
		}
		a, err := so(l).Accept(ctx, l, 0)
		if err != nil {
			t.Fatalf("accept: %v", err)
		}
		defer a.DecRef()
		peer, err := so(a).GetPeerName(ctx)
		local, _ := so(c).GetSockName(ctx)
		if err != nil || string(peer) != string(local) {
			t.Errorf("accepted peer %v, %v; client is %v", peer, err, local)
		}
		sendAll(t, c, "hello", 0)
		if got, _ := recvStr(t, a, 16, linux.MSG_PEEK); got != "hello" {
			t.Errorf("peek = %q", got)
		}
		if got, _ := recvStr(t, a, 16, 0); got != "hello" {
			t.Errorf("recv = %q", got)
		}
		// Echo back through Write/Read.
		if n, err := a.Write(ctx, []byte("world")); n != 5 || err != nil {
			t.Fatalf("write = %d, %v", n, err)
		}
		buf := make([]byte, 5)
		if n, err := c.Read(ctx, buf); n != 5 || err != nil || string(buf) != "world" {
			t.Fatalf("read = %d, %v, %q", n, err, buf)
		}
		// Shutdown: the reader sees end of stream, a writer EPIPE.
		if err := so(c).Shutdown(ctx, linux.SHUT_WR); err != nil {
			t.Fatal(err)
		}
		if got, res := recvStr(t, a, 16, 0); got != "" || res.N != 0 {
			t.Errorf("recv after shutdown = %q", got)
		}
		_, err = so(c).SendMsg(ctx, c, net.SendRequest{Data: []byte("x")})
		wantErr(t, err, linux.EPIPE, "send after SHUT_WR")
	}
}

func TestWaitAll(t *testing.T) {
	l, addr := listener(t, linux.AF_INET)
	c := newSock(t, linux.AF_INET, linux.SOCK_STREAM)
	ctx := newCtx()
	if err := so(c).Connect(ctx, c, addr); err != nil {
		t.Fatal(err)
	}
	a, err := so(l).Accept(ctx, l, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.DecRef()
	go func() {
		for _, part := range []string{"ab", "cd", "ef"} {
			time.Sleep(10 * time.Millisecond)
			so(c).SendMsg(newCtx(), c, net.SendRequest{Data: []byte(part)})
		}
	}()
	if got, _ := recvStr(t, a, 6, linux.MSG_WAITALL); got != "abcdef" {
		t.Errorf("MSG_WAITALL = %q", got)
	}
}

func TestUDP(t *testing.T) {
	for _, domain := range []int{linux.AF_INET, linux.AF_INET6} {
		ctx := newCtx()
		r := newSock(t, domain, linux.SOCK_DGRAM)
		if err := so(r).Bind(ctx, loopback(domain)); err != nil {
			t.Fatal(err)
		}
		raddr, _ := so(r).GetSockName(ctx)
		s := newSock(t, domain, linux.SOCK_DGRAM)
		n, err := so(s).SendMsg(ctx, s, net.SendRequest{Data: []byte("datagram"), To: raddr})
		if err != nil || n != 8 {
			t.Fatalf("sendto = %d, %v", n, err)
		}
		got, res := recvStr(t, r, 4, linux.MSG_TRUNC)
		saddr, _ := so(s).GetSockName(ctx)
		if got != "data" || res.Len != 8 || res.Flags&linux.MSG_TRUNC == 0 || len(res.From) < 4 || string(res.From[:4]) != string(saddr[:4]) {
			t.Errorf("recvfrom = %q %+v; sender %v", got, res, saddr)
		}
		_, err = so(r).RecvMsg(ctx, r, make([]byte, 8), linux.MSG_DONTWAIT)
		wantErr(t, err, linux.EAGAIN, "empty recv")
	}
}

func TestNonBlockingConnect(t *testing.T) {
	_, addr := listener(t, linux.AF_INET)
	ctx := newCtx()
	c := newSock(t, linux.AF_INET, linux.SOCK_STREAM|linux.SOCK_NONBLOCK)
	ch := c.Notify()
	err := so(c).Connect(ctx, c, addr)
	if err != nil && err != linux.EINPROGRESS {
		t.Fatalf("connect = %v", err)
	}
	for c.Readiness(linux.POLLOUT) == 0 {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no wakeup for the connection")
		}
		ch = c.Notify()
	}
	v, err := so(c).GetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_ERROR, 4)
	if err != nil || binary.LittleEndian.Uint32(v) != 0 {
		t.Errorf("SO_ERROR = %v, %v", v, err)
	}

	// A refused connection: SO_ERROR for the non-blocking one, the
	// error itself for a blocking one.
	closed := newSock(t, linux.AF_INET, linux.SOCK_STREAM)
	so(closed).Bind(ctx, loopback(linux.AF_INET))
	dead, _ := so(closed).GetSockName(ctx) // bound, not listening
	b := newSock(t, linux.AF_INET, linux.SOCK_STREAM)
	wantErr(t, so(b).Connect(ctx, b, dead), linux.ECONNREFUSED, "blocking connect to a closed port")
}

func TestReadinessWakeup(t *testing.T) {
	l, addr := listener(t, linux.AF_INET)
	accepted := make(chan *vfs.File, 1)
	go func() {
		a, err := so(l).Accept(newCtx(), l, 0)
		if err != nil {
			t.Error(err)
		}
		accepted <- a
	}()
	time.Sleep(20 * time.Millisecond)
	c := newSock(t, linux.AF_INET, linux.SOCK_STREAM)
	if err := so(c).Connect(newCtx(), c, addr); err != nil {
		t.Fatal(err)
	}
	var a *vfs.File
	select {
	case a = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("blocked accept not woken")
	}
	defer a.DecRef()
	ch := a.Notify()
	if a.Readiness(linux.POLLIN) != 0 {
		t.Fatal("readable before data")
	}
	sendAll(t, c, "x", 0)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("data did not close the Notify channel")
	}
	if a.Readiness(linux.POLLIN) != linux.POLLIN {
		t.Error("not readable after data")
	}

	// A blocked receive ends on an interruption.
	ctx := newCtx()
	done := make(chan error, 1)
	go func() {
		_, err := so(c).RecvMsg(ctx, c, make([]byte, 4), 0)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	ctx.Interrupt()
	select {
	case err := <-done:
		wantErr(t, err, linux.ERESTARTSYS, "interrupted recv")
	case <-time.After(5 * time.Second):
		t.Fatal("interrupt did not end the recv")
	}
}

func TestSockOpts(t *testing.T) {
	ctx := newCtx()
	s := newSock(t, linux.AF_INET, linux.SOCK_STREAM)
	one := net.Int32(1)
	for _, o := range [][2]int{
		{linux.SOL_SOCKET, linux.SO_REUSEADDR}, {linux.SOL_SOCKET, linux.SO_KEEPALIVE},
		{linux.IPPROTO_TCP, unix.TCP_NODELAY},
	} {
		if err := so(s).SetSockOpt(ctx, o[0], o[1], one); err != nil {
			t.Fatalf("setsockopt%v: %v", o, err)
		}
		v, err := so(s).GetSockOpt(ctx, o[0], o[1], 4)
		if err != nil || binary.LittleEndian.Uint32(v) != 1 {
			t.Errorf("getsockopt%v = %v, %v", o, v, err)
		}
	}
	v, err := so(s).GetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_TYPE, 4)
	if err != nil || binary.LittleEndian.Uint32(v) != linux.SOCK_STREAM {
		t.Errorf("SO_TYPE = %v, %v", v, err)
	}
	if v, err := so(s).GetSockOpt(ctx, linux.IPPROTO_TCP, unix.TCP_INFO, 1024); err != nil || len(v) < 100 {
		t.Errorf("TCP_INFO = %d bytes, %v", len(v), err)
	}
	wantErr(t, so(s).SetSockOpt(ctx, linux.SOL_SOCKET, unix.SO_BINDTODEVICE, []byte("lo\x00")),
		linux.ENOPROTOOPT, "SO_BINDTODEVICE")
	wantErr(t, so(s).SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_ERROR, one), linux.ENOPROTOOPT, "set SO_ERROR")

	// SO_RCVTIMEO is kept here and bounds a blocking receive.
	u := newSock(t, linux.AF_INET, linux.SOCK_DGRAM)
	so(u).Bind(ctx, loopback(linux.AF_INET))
	tv := make([]byte, 16)
	binary.LittleEndian.PutUint64(tv[8:], 20000) // 20ms
	if err := so(u).SetSockOpt(ctx, linux.SOL_SOCKET, linux.SO_RCVTIMEO, tv); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = so(u).RecvMsg(ctx, u, make([]byte, 4), 0)
	wantErr(t, err, linux.EAGAIN, "recv with SO_RCVTIMEO")
	if d := time.Since(start); d < 15*time.Millisecond || d > 2*time.Second {
		t.Errorf("timeout after %v", d)
	}
}

func TestRefused(t *testing.T) {
	ctx := newCtx()
	cases := []struct {
		domain, typ, proto int
		want               error
	}{
		{linux.AF_INET, linux.SOCK_RAW, linux.IPPROTO_UDP, linux.EPERM},
		{linux.AF_PACKET, linux.SOCK_RAW, 0, linux.EPERM},
		{linux.AF_INET, linux.SOCK_DGRAM, linux.IPPROTO_ICMP, linux.EACCES},
		{linux.AF_INET, linux.SOCK_STREAM, linux.IPPROTO_UDP, linux.EPROTONOSUPPORT},
		{linux.AF_INET6, linux.SOCK_SEQPACKET, 0, linux.ESOCKTNOSUPPORT},
		{linux.AF_NETLINK, linux.SOCK_RAW, 4 /* NETLINK_SOCK_DIAG */, linux.EPROTONOSUPPORT},
	}
	for _, c := range cases {
		_, _, err := stack.NewSocket(ctx, c.domain, c.typ, c.proto)
		wantErr(t, err, c.want, "socket")
	}
}

// nlRequest is a netlink request header plus a struct rtgenmsg.
func nlRequest(typ uint16, flags uint16, seq uint32) []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b, 20)
	binary.LittleEndian.PutUint16(b[4:], typ)
	binary.LittleEndian.PutUint16(b[6:], flags)
	binary.LittleEndian.PutUint32(b[8:], seq)
	b[16] = linux.AF_UNSPEC
	return b
}

func TestNetlink(t *testing.T) {
	ctx := newCtx()
	s := newSock(t, linux.AF_NETLINK, linux.SOCK_RAW)
	const nlmFRequest, nlmFDump = 1, 0x300
	sendAll(t, s, string(nlRequest(unix.RTM_GETLINK, nlmFRequest|nlmFDump, 7)), 0)
	got, _ := recvStr(t, s, 1<<16, 0)
	if len(got) < 16 || binary.LittleEndian.Uint16([]byte(got[4:])) != unix.RTM_NEWLINK {
		t.Fatalf("RTM_GETLINK answer: %d bytes %q", len(got), got[:min(len(got), 16)])
	}
	// A change is refused with an EPERM answer, never sent.
	sendAll(t, s, string(nlRequest(unix.RTM_NEWADDR, nlmFRequest, 9)), 0)
	if s.Readiness(linux.POLLIN) == 0 {
		t.Error("refusal not readable")
	}
	for {
		got, _ = recvStr(t, s, 1<<16, 0)
		typ := binary.LittleEndian.Uint16([]byte(got[4:]))
		if typ == linux.NLMSG_ERROR {
			break
		}
	}
	b := []byte(got)
	if seq := binary.LittleEndian.Uint32(b[8:]); seq != 9 {
		t.Errorf("error answer for seq %d", seq)
	}
	if e := int32(binary.LittleEndian.Uint32(b[16:])); e != -int32(linux.EPERM) {
		t.Errorf("error answer %d, want -EPERM", e)
	}
	to := make([]byte, unix.SizeofSockaddrNetlink)
	binary.LittleEndian.PutUint16(to, linux.AF_NETLINK)
	binary.LittleEndian.PutUint32(to[4:], 1234)
	_, err := so(s).SendMsg(ctx, s, net.SendRequest{Data: nlRequest(unix.RTM_GETLINK, nlmFRequest, 1), To: to})
	wantErr(t, err, linux.EPERM, "send to another port")
}
