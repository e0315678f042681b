/* AF_UNIX sockets: socketpair, stream/dgram/seqpacket, path and abstract
 * addresses, listen/accept/connect, shutdown, SCM_RIGHTS, SCM_CREDENTIALS,
 * socket options, readiness. */
#include "../check.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static socklen_t path_addr(struct sockaddr_un *sa, const char *path) {
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path, path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *sa, const char *name) {
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, name, strlen(name));
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static int getint(int fd, int opt) {
	int v = -12345;
	socklen_t len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		return -1000 - errno;
	return v;
}

static short revents(int fd, short events) {
	struct pollfd p = {.fd = fd, .events = events};
	if (poll(&p, 1, 0) < 0)
		return -1;
	return p.revents;
}

static void test_families(void) {
	CHECK_ERRNO(socket(AF_UNIX, 9, 0), ESOCKTNOSUPPORT, "socket with a bad type fails ESOCKTNOSUPPORT");
	CHECK_ERRNO(socket(AF_UNIX, SOCK_STREAM, 6), EPROTONOSUPPORT, "AF_UNIX with a protocol fails EPROTONOSUPPORT");
	CHECK_ERRNO(socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT, "an unknown family fails EAFNOSUPPORT");
	int fd = CHECK_OK(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket with SOCK_NONBLOCK|SOCK_CLOEXEC");
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "SOCK_NONBLOCK sets O_NONBLOCK");
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC, "SOCK_CLOEXEC sets FD_CLOEXEC");
	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR, "a socket is O_RDWR");
	CHECK_EQ(getint(fd, SO_TYPE), SOCK_STREAM, "SO_TYPE");
	CHECK_EQ(getint(fd, SO_DOMAIN), AF_UNIX, "SO_DOMAIN");
	CHECK_EQ(getint(fd, SO_PROTOCOL), 0, "SO_PROTOCOL");
	CHECK_EQ(getint(fd, SO_ERROR), 0, "SO_ERROR is 0");
	CHECK_EQ(getint(fd, SO_ACCEPTCONN), 0, "SO_ACCEPTCONN is 0 before listen");
	int v = 1;
	CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), "SO_REUSEADDR is accepted");
	CHECK_EQ(getint(fd, SO_REUSEADDR), 1, "SO_REUSEADDR reads back");
	v = 10000;
	CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v), "SO_SNDBUF is accepted");
	CHECK_EQ(getint(fd, SO_SNDBUF), 20000, "SO_SNDBUF reads back doubled");
	CHECK_ERRNO(setsockopt(fd, SOL_SOCKET, SO_TYPE, &v, sizeof v), ENOPROTOOPT, "SO_TYPE is read-only");
	struct ucred uc;
	socklen_t ul = sizeof uc;
	CHECK_OK(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul), "SO_PEERCRED of an unconnected socket");
	CHECK(uc.pid == 0 && uc.uid == (uid_t)-1 && uc.gid == (gid_t)-1, "unconnected SO_PEERCRED is {0,-1,-1}");
	char c;
	CHECK_ERRNO(read(fd, &c, 1), EINVAL, "read from an unconnected stream socket fails EINVAL");
	CHECK_ERRNO(send(fd, "x", 1, MSG_NOSIGNAL), ENOTCONN, "send on an unconnected stream socket fails ENOTCONN");
	CHECK_ERRNO(accept(fd, NULL, NULL), EINVAL, "accept on a non-listening socket fails EINVAL");
	CHECK_EQ(revents(fd, POLLIN | POLLOUT), POLLOUT | POLLHUP, "an unconnected stream socket polls OUT|HUP");
	CHECK_ERRNO(listen(fd, 1), EINVAL, "listen on an unbound socket fails EINVAL");
	close(fd);
	fd = CHECK_OK(open("/dev/null", O_RDONLY), "open /dev/null");
	CHECK_ERRNO(listen(fd, 1), ENOTSOCK, "listen on a file fails ENOTSOCK");
	close(fd);
}

static void test_pair_stream(void) {
	int sv[2];
	char buf[64], path[64], link[64], want[64];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair SOCK_STREAM");
	struct stat st;
	CHECK_OK(fstat(sv[0], &st), "fstat of a socket");
	CHECK(S_ISSOCK(st.st_mode), "a socket is S_IFSOCK");
	snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
	snprintf(path, sizeof path, "/proc/self/fd/%d", sv[0]);
	ssize_t ln = readlink(path, link, sizeof link - 1);
	link[ln > 0 ? ln : 0] = 0;
	CHECK_STREQ(link, want, "/proc/self/fd shows socket:[ino]");
	CHECK_ERRNO(lseek(sv[0], 0, SEEK_SET), ESPIPE, "lseek on a socket fails ESPIPE");
	CHECK_EQ(revents(sv[0], POLLIN | POLLOUT), POLLOUT, "an idle connected socket is only writable");
	CHECK_EQ(write(sv[0], "hello", 5), 5, "write to a socketpair");
	CHECK_EQ(revents(sv[1], POLLIN), POLLIN, "the peer becomes readable");
	int n = -1;
	CHECK_OK(ioctl(sv[1], FIONREAD, &n), "FIONREAD");
	CHECK_EQ(n, 5, "FIONREAD counts unread bytes");
	CHECK_EQ(recv(sv[1], buf, 3, MSG_PEEK), 3, "MSG_PEEK reads without consuming");
	CHECK_EQ(read(sv[1], buf, sizeof buf), 5, "read gets all the bytes");
	CHECK(memcmp(buf, "hello", 5) == 0, "bytes arrive in order");
	CHECK_ERRNO(recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN, "MSG_DONTWAIT on an empty socket fails EAGAIN");
	struct ucred uc;
	socklen_t ul = sizeof uc;
	CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul), "SO_PEERCRED of a socketpair");
	CHECK(uc.pid == getpid() && uc.uid == geteuid() && uc.gid == getegid(), "socketpair SO_PEERCRED is the creator");
	CHECK_EQ(ul, sizeof uc, "SO_PEERCRED length");
	struct sockaddr_un sa;
	socklen_t sl = sizeof sa;
	CHECK_OK(getsockname(sv[0], (struct sockaddr *)&sa, &sl), "getsockname of a socketpair");
	CHECK_EQ(sl, sizeof(sa_family_t), "an unnamed socket's name is just the family");
	sl = sizeof sa;
	CHECK_OK(getpeername(sv[0], (struct sockaddr *)&sa, &sl), "getpeername of a socketpair");
	CHECK_EQ(sl, sizeof(sa_family_t), "an unnamed peer's name is just the family");

	/* MSG_WAITALL waits for the whole buffer. */
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(20);
		write(sv[0], "ab", 2);
		sleep_ms(20);
		write(sv[0], "cd", 2);
		_exit(0);
	}
	CHECK_EQ(recv(sv[1], buf, 4, MSG_WAITALL), 4, "MSG_WAITALL waits for all the bytes");
	CHECK(memcmp(buf, "abcd", 4) == 0, "MSG_WAITALL data");
	waitpid(pid, NULL, 0);

	CHECK_OK(shutdown(sv[0], SHUT_WR), "shutdown SHUT_WR");
	CHECK_EQ(revents(sv[1], POLLIN | POLLRDHUP), POLLIN | POLLRDHUP, "the peer sees POLLIN|POLLRDHUP");
	CHECK_EQ(read(sv[1], buf, 1), 0, "the peer reads EOF after SHUT_WR");
	CHECK_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE, "send after SHUT_WR fails EPIPE");
	CHECK_EQ(write(sv[1], "back", 4), 4, "the other direction still works");
	CHECK_EQ(read(sv[0], buf, sizeof buf), 4, "and is read");
	CHECK_ERRNO(shutdown(sv[0], 9), EINVAL, "shutdown with a bad how fails EINVAL");
	close(sv[1]);
	CHECK(revents(sv[0], POLLIN) & POLLHUP, "POLLHUP once the peer is closed");
	CHECK_EQ(read(sv[0], buf, 1), 0, "read returns EOF once the peer is closed");
	close(sv[0]);

	/* SIGPIPE unless MSG_NOSIGNAL. */
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE, "send to a closed peer fails EPIPE");
	signal(SIGPIPE, SIG_DFL);
	pid = fork();
	if (pid == 0) {
		write(sv[0], "x", 1);
		_exit(0);
	}
	CHECK_EQ(wait_status(pid), SIGPIPE, "write to a closed peer raises SIGPIPE");
	pid = fork();
	if (pid == 0) {
		send(sv[0], "x", 1, MSG_NOSIGNAL);
		_exit(7);
	}
	CHECK_EQ(exit_code(pid), 7, "MSG_NOSIGNAL suppresses SIGPIPE");
	close(sv[0]);

	/* Closing with unread data resets the peer. */
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	write(sv[0], "unread", 6);
	close(sv[1]);
	CHECK_ERRNO(read(sv[0], buf, 1), ECONNRESET, "peer closed with unread data gives ECONNRESET");
	CHECK_EQ(read(sv[0], buf, 1), 0, "then EOF");
	close(sv[0]);

	/* A full buffer blocks (EAGAIN when non-blocking) and epoll sees it drain. */
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), "socketpair SOCK_NONBLOCK");
	static char big[65536];
	long total = 0;
	ssize_t w;
	while ((w = write(sv[0], big, sizeof big)) > 0 && total < (64 << 20))
		total += w;
	CHECK(w < 0 && errno == EAGAIN, "a full socket fails EAGAIN");
	CHECK_EQ(revents(sv[0], POLLOUT), 0, "a full socket is not writable");
	int ep = CHECK_OK(epoll_create1(0), "epoll_create1");
	struct epoll_event ev = {.events = EPOLLOUT, .data.fd = sv[0]};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev), "epoll_ctl ADD a socket");
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0, "epoll: not writable while full");
	static char sink[1 << 20];
	while (read(sv[1], sink, sizeof sink) > 0)
		;
	CHECK_EQ(epoll_wait(ep, &ev, 1, 1000), 1, "epoll: writable after the peer drained it");
	close(ep);
	close(sv[0]);
	close(sv[1]);
}

static void test_dgram_seqpacket(void) {
	int sv[2];
	char buf[64];
	CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), "socketpair SOCK_DGRAM");
	CHECK_EQ(send(sv[0], "one", 3, 0), 3, "send a datagram");
	CHECK_EQ(send(sv[0], "second", 6, 0), 6, "send another");
	CHECK_EQ(send(sv[0], "", 0, 0), 0, "send an empty datagram");
	CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 3, "datagrams keep their boundaries");
	struct iovec iov = {buf, 3};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK_EQ(recvmsg(sv[1], &mh, 0), 3, "a truncated datagram returns the buffer size");
	CHECK(mh.msg_flags & MSG_TRUNC, "and sets MSG_TRUNC in msg_flags");
	CHECK_EQ(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), 0, "an empty datagram is received");
	CHECK_ERRNO(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "the rest of a truncated datagram is gone");
	send(sv[0], "123456", 6, 0);
	CHECK_EQ(recv(sv[1], buf, 2, MSG_TRUNC), 6, "MSG_TRUNC returns the real length");
	CHECK_EQ(getint(sv[0], SO_TYPE), SOCK_DGRAM, "SO_TYPE of a datagram socket");
	CHECK_ERRNO(listen(sv[0], 1), EOPNOTSUPP, "listen on a datagram socket fails EOPNOTSUPP");
	close(sv[0]);
	close(sv[1]);

	CHECK_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), "socketpair SOCK_SEQPACKET");
	send(sv[0], "rec1", 4, 0);
	send(sv[0], "rec2", 4, 0);
	CHECK_EQ(recv(sv[1], buf, 2, 0), 2, "a seqpacket record is truncated to the buffer");
	CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 4, "the next read gets the next record");
	CHECK(memcmp(buf, "rec2", 4) == 0, "seqpacket record data");
	close(sv[0]);
	CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 0, "seqpacket reads EOF after the peer closed");
	close(sv[1]);
}

static void test_path(void) {
	char buf[64];
	struct sockaddr_un sa, got;
	socklen_t len = path_addr(&sa, "/tmp/unix.sock"), gl;
	unlink(sa.sun_path);
	int l = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0), "socket");
	int c = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0), "socket");
	CHECK_ERRNO(connect(c, (struct sockaddr *)&sa, len), ENOENT, "connect to a missing path fails ENOENT");
	mode_t old = umask(022);
	CHECK_OK(bind(l, (struct sockaddr *)&sa, len), "bind to a path");
	umask(old);
	struct stat st;
	CHECK_OK(stat(sa.sun_path, &st), "bind creates the socket file");
	CHECK(S_ISSOCK(st.st_mode), "the file is S_IFSOCK");
	CHECK_EQ(st.st_mode & 0777, 0755, "the file mode is 0777 minus the umask");
	CHECK_ERRNO(open(sa.sun_path, O_RDWR), ENXIO, "open of a socket file fails ENXIO");
	CHECK_ERRNO(bind(l, (struct sockaddr *)&sa, len), EADDRINUSE, "binding again to the same path fails EADDRINUSE");
	struct sockaddr_un sa2;
	socklen_t len2 = path_addr(&sa2, "/tmp/unix.sock2");
	CHECK_ERRNO(bind(l, (struct sockaddr *)&sa2, len2), EINVAL, "a second bind to a new path fails EINVAL");
	CHECK_ERRNO(access(sa2.sun_path, F_OK), ENOENT, "and leaves no file behind");
	int o = CHECK_OK(socket(AF_UNIX, SOCK_STREAM, 0), "socket");
	CHECK_ERRNO(bind(o, (struct sockaddr *)&sa, len), EADDRINUSE, "bind to an existing path fails EADDRINUSE");
	CHECK_ERRNO(connect(c, (struct sockaddr *)&sa, len), ECONNREFUSED, "connect before listen fails ECONNREFUSED");
	int d = CHECK_OK(socket(AF_UNIX, SOCK_DGRAM, 0), "socket");
	CHECK_ERRNO(connect(d, (struct sockaddr *)&sa, len), EPROTOTYPE, "dgram connect to a stream socket fails EPROTOTYPE");
	CHECK_OK(listen(l, 5), "listen");
	CHECK_EQ(getint(l, SO_ACCEPTCONN), 1, "SO_ACCEPTCONN after listen");
	gl = sizeof got;
	CHECK_OK(getsockname(l, (struct sockaddr *)&got, &gl), "getsockname of a bound socket");
	CHECK_EQ(gl, len, "getsockname length is family + path + NUL");
	CHECK_STREQ(got.sun_path, "/tmp/unix.sock", "getsockname path");
	gl = 4;
	memset(&got, 0, sizeof got);
	CHECK_OK(getsockname(l, (struct sockaddr *)&got, &gl), "getsockname with a short buffer");
	CHECK_EQ(gl, len, "reports the full length");
	CHECK_EQ(revents(l, POLLIN), 0, "an idle listener is not readable");
	CHECK_ERRNO(accept4(l, NULL, NULL, SOCK_NONBLOCK | 0x1), EINVAL, "accept4 with a bad flag fails EINVAL");
	fcntl(l, F_SETFL, O_NONBLOCK);
	CHECK_ERRNO(accept(l, NULL, NULL), EAGAIN, "non-blocking accept with nothing pending fails EAGAIN");
	fcntl(l, F_SETFL, 0);
	CHECK_OK(connect(c, (struct sockaddr *)&sa, len), "connect to a listening path");
	CHECK_ERRNO(connect(c, (struct sockaddr *)&sa, len), EISCONN, "a second connect fails EISCONN");
	CHECK_EQ(revents(l, POLLIN), POLLIN, "a listener with a pending connection is readable");
	gl = sizeof got;
	int s = CHECK_OK(accept4(l, (struct sockaddr *)&got, &gl, SOCK_CLOEXEC), "accept4");
	CHECK_EQ(gl, sizeof(sa_family_t), "accept returns the unnamed client's address");
	CHECK_EQ(fcntl(s, F_GETFD), FD_CLOEXEC, "accept4 SOCK_CLOEXEC");
	gl = sizeof got;
	CHECK_OK(getpeername(c, (struct sockaddr *)&got, &gl), "getpeername of the client");
	CHECK_STREQ(got.sun_path, "/tmp/unix.sock", "the client's peer is the listener's path");
	gl = sizeof got;
	CHECK_OK(getsockname(s, (struct sockaddr *)&got, &gl), "getsockname of the accepted socket");
	CHECK_STREQ(got.sun_path, "/tmp/unix.sock", "the accepted socket has the listener's name");
	struct ucred uc;
	socklen_t ul = sizeof uc;
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul), "SO_PEERCRED of an accepted socket");
	CHECK_EQ(uc.pid, getpid(), "SO_PEERCRED pid is the connecting process");
	CHECK_EQ(send(c, "ping", 4, 0), 4, "send on a connected path socket");
	CHECK_EQ(recv(s, buf, sizeof buf, 0), 4, "the server receives it");
	CHECK_ERRNO(sendto(c, "x", 1, 0, (struct sockaddr *)&sa, len), EISCONN, "sendto with an address on a connected stream fails EISCONN");
	close(s);
	close(c);

	/* A blocking connect to a full backlog waits for accept. */
	CHECK_OK(listen(l, 0), "listen with backlog 0");
	int c1 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(c1, (struct sockaddr *)&sa, len), "the first connection fits a 0 backlog");
	int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_ERRNO(connect(c2, (struct sockaddr *)&sa, len), EAGAIN, "non-blocking connect to a full backlog fails EAGAIN");
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		int a = accept(l, NULL, NULL);
		_exit(a >= 0 ? 0 : 1);
	}
	int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(c3, (struct sockaddr *)&sa, len), "a blocking connect waits until accept makes room");
	CHECK_EQ(exit_code(pid), 0, "the child accepted");
	close(c1);
	close(c2);
	close(c3);

	close(l);
	int c4 = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERRNO(connect(c4, (struct sockaddr *)&sa, len), ECONNREFUSED, "connect after the listener closed fails ECONNREFUSED");
	CHECK_OK(stat(sa.sun_path, &st), "the socket file outlives the socket");
	CHECK_OK(unlink(sa.sun_path), "unlink the socket file");
	close(c4);
	close(o);
	close(d);

	/* Datagrams to a path, with the sender's address. */
	len = path_addr(&sa, "/tmp/unix.dgram");
	unlink(sa.sun_path);
	int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_OK(bind(srv, (struct sockaddr *)&sa, len), "bind a datagram socket");
	int cl = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_ERRNO(send(cl, "x", 1, 0), ENOTCONN, "send without a destination fails ENOTCONN");
	struct sockaddr_un ca;
	socklen_t cal = path_addr(&ca, "/tmp/unix.client");
	unlink(ca.sun_path);
	CHECK_OK(bind(cl, (struct sockaddr *)&ca, cal), "bind the client");
	CHECK_EQ(sendto(cl, "hi", 2, 0, (struct sockaddr *)&sa, len), 2, "sendto a path");
	gl = sizeof got;
	memset(&got, 0, sizeof got);
	CHECK_EQ(recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&got, &gl), 2, "recvfrom");
	CHECK_EQ(gl, cal, "recvfrom address length");
	CHECK_STREQ(got.sun_path, "/tmp/unix.client", "recvfrom gives the sender's path");
	int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
	sendto(anon, "u", 1, 0, (struct sockaddr *)&sa, len);
	gl = sizeof got;
	CHECK_EQ(recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&got, &gl), 1, "recvfrom an unnamed sender");
	CHECK_EQ(gl, 0, "an unnamed sender's address length is 0");
	close(srv);
	CHECK_ERRNO(sendto(cl, "x", 1, 0, (struct sockaddr *)&sa, len), ECONNREFUSED, "sendto a closed socket's path fails ECONNREFUSED");
	close(cl);
	close(anon);
	unlink(sa.sun_path);
	unlink(ca.sun_path);
}

static void test_abstract(void) {
	struct sockaddr_un sa, got;
	socklen_t len = abstract_addr(&sa, "bulwark-test"), gl;
	int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_OK(bind(l, (struct sockaddr *)&sa, len), "bind an abstract address");
	int o = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_ERRNO(bind(o, (struct sockaddr *)&sa, len), EADDRINUSE, "abstract address in use fails EADDRINUSE");
	gl = sizeof got;
	CHECK_OK(getsockname(l, (struct sockaddr *)&got, &gl), "getsockname abstract");
	CHECK_EQ(gl, len, "abstract name length has no NUL terminator");
	CHECK(got.sun_path[0] == 0 && memcmp(got.sun_path + 1, "bulwark-test", 12) == 0, "abstract name bytes");
	CHECK_OK(listen(l, 4), "listen abstract");
	int a = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un fam = {.sun_family = AF_UNIX};
	CHECK_OK(bind(a, (struct sockaddr *)&fam, sizeof(sa_family_t)), "bind with only the family autobinds");
	gl = sizeof got;
	CHECK_OK(getsockname(a, (struct sockaddr *)&got, &gl), "getsockname autobound");
	CHECK(gl == offsetof(struct sockaddr_un, sun_path) + 6 && got.sun_path[0] == 0, "autobind gives a 5-character abstract name");
	CHECK_OK(connect(a, (struct sockaddr *)&sa, len), "connect to an abstract address");
	int s = CHECK_OK(accept(l, NULL, NULL), "accept abstract");
	struct sockaddr_un peer;
	socklen_t pl = sizeof peer;
	CHECK_OK(getpeername(s, (struct sockaddr *)&peer, &pl), "getpeername of the accepted socket");
	CHECK(pl == gl && memcmp(&peer, &got, gl) == 0, "the peer is the client's autobound name");
	close(s);
	close(a);
	close(o);
	close(l);
	int b = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_ERRNO(connect(b, (struct sockaddr *)&sa, len), ECONNREFUSED, "the abstract name goes away with its socket");
	close(b);
}

static void test_rights(void) {
	int sv[2], p[2];
	char buf[16];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	CHECK_OK(pipe(p), "pipe");
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(2 * sizeof(int))];
	} u;
	memset(&u, 0, sizeof u);
	struct iovec iov = {"x", 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = CMSG_SPACE(2 * sizeof(int))};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(cm), p, sizeof p);
	CHECK_EQ(sendmsg(sv[0], &mh, 0), 1, "sendmsg with SCM_RIGHTS");
	close(p[0]);
	close(p[1]);
	memset(&u, 0, sizeof u);
	iov.iov_base = buf;
	mh.msg_controllen = sizeof u.b;
	CHECK_EQ(recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC), 1, "recvmsg with SCM_RIGHTS");
	cm = CMSG_FIRSTHDR(&mh);
	CHECK(cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS, "an SCM_RIGHTS message arrives");
	CHECK_EQ(cm ? cm->cmsg_len : 0, CMSG_LEN(2 * sizeof(int)), "it carries two fds");
	CHECK_EQ(mh.msg_flags & MSG_CTRUNC, 0, "no MSG_CTRUNC");
	int fds[2] = {-1, -1};
	if (cm)
		memcpy(fds, CMSG_DATA(cm), sizeof fds);
	CHECK_EQ(fcntl(fds[0], F_GETFD), FD_CLOEXEC, "MSG_CMSG_CLOEXEC marks received fds");
	CHECK_EQ(write(fds[1], "via", 3), 3, "the received write end works");
	CHECK_EQ(read(fds[0], buf, sizeof buf), 3, "and reaches the received read end");
	close(fds[0]);

	/* A short control buffer: MSG_CTRUNC, extra fds closed. */
	int q[2];
	pipe(q);
	memset(&u, 0, sizeof u);
	iov.iov_base = "y";
	mh.msg_control = u.b;
	mh.msg_controllen = CMSG_SPACE(2 * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(cm), q, sizeof q);
	sendmsg(sv[0], &mh, 0);
	close(q[1]);
	iov.iov_base = buf;
	mh.msg_controllen = CMSG_LEN(sizeof(int));
	memset(&u, 0, sizeof u);
	CHECK_EQ(recvmsg(sv[1], &mh, 0), 1, "recvmsg with room for one fd");
	CHECK(mh.msg_flags & MSG_CTRUNC, "MSG_CTRUNC when fds do not fit");
	cm = CMSG_FIRSTHDR(&mh);
	int r = -1;
	if (cm)
		memcpy(&r, CMSG_DATA(cm), sizeof r);
	CHECK(r >= 0 && fcntl(r, F_GETFD) == 0, "the fd that fit was installed");
	CHECK_EQ(read(r, buf, 1), 0, "the write end that did not fit was closed");
	close(r);
	close(fds[1]);

	memset(&u, 0, sizeof u);
	iov.iov_base = "z";
	mh.msg_controllen = CMSG_SPACE(sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	int bad = 999;
	memcpy(CMSG_DATA(cm), &bad, sizeof bad);
	CHECK_ERRNO(sendmsg(sv[0], &mh, 0), EBADF, "SCM_RIGHTS with a bad fd fails EBADF");
	close(sv[0]);
	close(sv[1]);
}

static void test_creds(void) {
	int sv[2];
	char buf[16];
	CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), "socketpair");
	int on = 1;
	CHECK_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), "SO_PASSCRED");
	CHECK_EQ(getint(sv[1], SO_PASSCRED), 1, "SO_PASSCRED reads back");
	send(sv[0], "c", 1, 0);
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} u;
	struct iovec iov = {buf, sizeof buf};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
	CHECK_EQ(recvmsg(sv[1], &mh, 0), 1, "recvmsg with SO_PASSCRED");
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	CHECK(cm && cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len == CMSG_LEN(sizeof(struct ucred)), "an SCM_CREDENTIALS message arrives");
	struct ucred uc = {0};
	if (cm)
		memcpy(&uc, CMSG_DATA(cm), sizeof uc);
	CHECK(uc.pid == getpid() && uc.uid == getuid() && uc.gid == getgid(), "SCM_CREDENTIALS names the sender");

	/* Explicit credentials: a wrong pid needs CAP_SYS_ADMIN (we have it as root). */
	uc.pid = getpid();
	memset(&u, 0, sizeof u);
	iov.iov_base = "e";
	iov.iov_len = 1;
	mh.msg_controllen = sizeof u.b;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof uc);
	memcpy(CMSG_DATA(cm), &uc, sizeof uc);
	CHECK_EQ(sendmsg(sv[0], &mh, 0), 1, "sendmsg with explicit SCM_CREDENTIALS");
	iov.iov_base = buf;
	iov.iov_len = sizeof buf;
	CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 1, "and it is received");
	close(sv[0]);
	close(sv[1]);
}

static void test_misc(void) {
	int sv[2];
	char buf[16];
	CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), "socketpair");
	struct mmsghdr mm[3];
	struct iovec iov[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	CHECK_EQ(sendmmsg(sv[0], mm, 3, 0), 3, "sendmmsg sends three datagrams");
	CHECK_EQ(mm[2].msg_len, 3, "sendmmsg sets msg_len");
	char r0[8], r1[8], r2[8];
	struct iovec riov[3] = {{r0, 8}, {r1, 8}, {r2, 8}};
	for (int i = 0; i < 3; i++)
		mm[i].msg_hdr.msg_iov = &riov[i];
	CHECK_EQ(recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL), 3, "recvmmsg receives three datagrams");
	CHECK(mm[0].msg_len == 1 && mm[1].msg_len == 2 && mm[2].msg_len == 3, "recvmmsg sets each msg_len");
	CHECK_ERRNO(recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL), EAGAIN, "recvmmsg with nothing queued fails EAGAIN");
	struct timeval tv = {0, 20000};
	CHECK_OK(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "SO_RCVTIMEO");
	CHECK_ERRNO(recv(sv[1], buf, 1, 0), EAGAIN, "recv fails EAGAIN when SO_RCVTIMEO expires");
	tv.tv_usec = 2000000;
	CHECK_ERRNO(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM, "SO_RCVTIMEO with tv_usec out of range fails EDOM");
	close(sv[0]);
	close(sv[1]);

	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(shutdown(fd, SHUT_RDWR), "shutdown of an unconnected unix socket succeeds");
	close(fd);

	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = sv[1]};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev), "epoll_ctl ADD edge-triggered");
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0, "nothing ready yet");
	write(sv[0], "x", 1);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 1000), 1, "EPOLLIN after a write");
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0, "edge-triggered: reported once");
	shutdown(sv[0], SHUT_WR);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 1000), 1, "an event after the peer shut down writing");
	CHECK(ev.events & EPOLLRDHUP, "EPOLLRDHUP after the peer's SHUT_WR");
	close(ep);
	close(sv[0]);
	close(sv[1]);
}

int main(void) {
	test_families();
	test_pair_stream();
	test_dgram_seqpacket();
	test_path();
	test_abstract();
	test_rights();
	test_creds();
	test_misc();
	return check_done();
}
