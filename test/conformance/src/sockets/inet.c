/* AF_INET and AF_INET6 sockets on loopback: TCP and UDP, blocking and
 * non-blocking connect (EINPROGRESS, SO_ERROR), MSG_PEEK, MSG_WAITALL,
 * MSG_TRUNC, getsockname/getpeername, IPV6_V6ONLY, poll and epoll
 * readiness, shutdown, SIGPIPE, socket options, sendfile, and the refused
 * raw and packet sockets. Loopback is up in the container's own network
 * namespace under runc and runsc alike. */
#include "../check.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t pipes;

static void on_pipe(int sig) {
	(void)sig;
	pipes++;
}

static void sleep_ms(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* lo4 fills a 127.0.0.1 address with port (host order). */
static socklen_t lo4(struct sockaddr_in *sa, int port) {
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof *sa;
}

/* listener returns a listening TCP socket on loopback of family fam and
 * stores its address. */
static int listener(int fam, struct sockaddr_storage *ss, socklen_t *len) {
	int l = socket(fam, SOCK_STREAM, 0);
	memset(ss, 0, sizeof *ss);
	if (fam == AF_INET) {
		*len = lo4((struct sockaddr_in *)ss, 0);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		*len = sizeof *s6;
	}
	if (bind(l, (struct sockaddr *)ss, *len) < 0 || listen(l, 8) < 0)
		return -1;
	getsockname(l, (struct sockaddr *)ss, len);
	return l;
}

static int getint(int fd, int level, int opt) {
	int v = -12345;
	socklen_t len = sizeof v;
	if (getsockopt(fd, level, opt, &v, &len) < 0)
		return -errno;
	return v;
}

static void tcp_echo(int fam, const char *name) {
	char d[128];
	struct sockaddr_storage ss, peer, local;
	socklen_t len, plen = sizeof peer, llen = sizeof local;
	int l = listener(fam, &ss, &len);
	snprintf(d, sizeof d, "%s listener", name);
	CHECK(l >= 0, d);
	CHECK(((struct sockaddr_in *)&ss)->sin_port != 0, "getsockname gives the bound port");
	CHECK_EQ(ss.ss_family, fam, "getsockname family");
	int c = socket(fam, SOCK_STREAM, 0);
	snprintf(d, sizeof d, "%s blocking connect", name);
	CHECK_OK(connect(c, (struct sockaddr *)&ss, len), d);
	int a = CHECK_OK(accept4(l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC), "accept4");
	CHECK_OK(getsockname(c, (struct sockaddr *)&local, &llen), "client getsockname");
	CHECK(plen == llen && memcmp(&peer, &local, plen) == 0, "accept's peer is the client's address");
	CHECK_EQ(fcntl(a, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "accept4 SOCK_CLOEXEC");
	struct sockaddr_storage pn;
	socklen_t pnlen = sizeof pn;
	CHECK_OK(getpeername(c, (struct sockaddr *)&pn, &pnlen), "getpeername");
	CHECK(pnlen == len && memcmp(&pn, &ss, len) == 0, "getpeername is the listener");

	CHECK_EQ(send(c, "hello", 5, 0), 5, "send");
	struct pollfd p = {a, POLLIN, 0};
	CHECK_EQ(poll(&p, 1, 5000), 1, "poll: accepted socket readable");
	char buf[16] = {0};
	int n = 0;
	CHECK_OK(ioctl(a, FIONREAD, &n), "FIONREAD");
	CHECK_EQ(n, 5, "FIONREAD counts the queued bytes");
	CHECK_EQ(recv(a, buf, sizeof buf, MSG_PEEK), 5, "MSG_PEEK");
	CHECK_EQ(recv(a, buf, sizeof buf, 0), 5, "recv after peek");
	CHECK(memcmp(buf, "hello", 5) == 0, "received data");
	CHECK_ERRNO(recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "MSG_DONTWAIT on empty socket");
	CHECK_EQ(write(a, "world", 5), 5, "write");
	CHECK_EQ(read(c, buf, 5), 5, "read");
	CHECK(memcmp(buf, "world", 5) == 0, "echoed data");

	CHECK_OK(shutdown(c, SHUT_WR), "shutdown SHUT_WR");
	CHECK_EQ(recv(a, buf, sizeof buf, 0), 0, "peer sees end of stream");
	CHECK_ERRNO(send(c, "x", 1, MSG_NOSIGNAL), EPIPE, "send after SHUT_WR with MSG_NOSIGNAL");
	int before = pipes;
	CHECK_ERRNO(send(c, "x", 1, 0), EPIPE, "send after SHUT_WR");
	CHECK_EQ(pipes, before + 1, "SIGPIPE without MSG_NOSIGNAL");
	close(a);
	close(c);
	close(l);
}

static void nonblocking_connect(void) {
	struct sockaddr_storage ss;
	socklen_t len;
	int l = listener(AF_INET, &ss, &len);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(c, (struct sockaddr *)&ss, len);
	CHECK(r == 0 || errno == EINPROGRESS, "non-blocking connect: 0 or EINPROGRESS");
	struct pollfd p = {c, POLLOUT, 0};
	CHECK_EQ(poll(&p, 1, 5000), 1, "poll: connected socket writable");
	CHECK_EQ(getint(c, SOL_SOCKET, SO_ERROR), 0, "SO_ERROR after connecting");
	struct pollfd pl = {l, POLLIN, 0};
	CHECK_EQ(poll(&pl, 1, 5000), 1, "poll: listener readable with a pending connection");
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0, "accept");
	close(a);
	close(c);

	/* A port bound but not listening refuses connections. */
	int b = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in dead;
	socklen_t dlen = lo4(&dead, 0);
	bind(b, (struct sockaddr *)&dead, dlen);
	getsockname(b, (struct sockaddr *)&dead, &dlen);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(c, (struct sockaddr *)&dead, dlen);
	if (r < 0 && errno == EINPROGRESS) {
		p.fd = c;
		poll(&p, 1, 5000);
		CHECK_EQ(getint(c, SOL_SOCKET, SO_ERROR), ECONNREFUSED, "SO_ERROR: ECONNREFUSED");
		CHECK_EQ(getint(c, SOL_SOCKET, SO_ERROR), 0, "SO_ERROR is cleared by reading it");
	} else {
		CHECK(r < 0 && errno == ECONNREFUSED, "non-blocking connect refused at once");
	}
	close(c);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERRNO(connect(c, (struct sockaddr *)&dead, dlen), ECONNREFUSED, "blocking connect: ECONNREFUSED");
	close(c);
	close(b);
	close(l);
}

static void waitall_and_sendfile(void) {
	struct sockaddr_storage ss;
	socklen_t len;
	int l = listener(AF_INET, &ss, &len);
	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&ss, len) < 0)
			_exit(1);
		const char *parts[] = {"ab", "cd", "ef"};
		for (int i = 0; i < 3; i++) {
			sleep_ms(20);
			send(c, parts[i], 2, 0);
		}
		int f = open("/tmp/inet-sendfile", O_RDWR | O_CREAT | O_TRUNC, 0600);
		write(f, "file-contents", 13);
		off_t off = 0;
		if (sendfile(c, f, &off, 13) != 13)
			_exit(2);
		_exit(0);
	}
	int a = accept(l, NULL, NULL);
	char buf[32] = {0};
	CHECK_EQ(recv(a, buf, 6, MSG_WAITALL), 6, "MSG_WAITALL gathers three sends");
	CHECK(memcmp(buf, "abcdef", 6) == 0, "MSG_WAITALL data");
	CHECK_EQ(recv(a, buf, 13, MSG_WAITALL), 13, "sendfile from a file to a socket");
	CHECK(memcmp(buf, "file-contents", 13) == 0, "sendfile data");
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client exits 0");
	close(a);
	close(l);
}

static void ipv6(void) {
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_EQ(getint(s, IPPROTO_IPV6, IPV6_V6ONLY), 0, "IPV6_V6ONLY defaults to 0");
	int one = 1;
	CHECK_OK(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one), "set IPV6_V6ONLY");
	CHECK_EQ(getint(s, IPPROTO_IPV6, IPV6_V6ONLY), 1, "IPV6_V6ONLY reads back");
	close(s);

	/* A dual-stack listener on :: takes an IPv4 connection as v4-mapped. */
	int l = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 any = {0};
	any.sin6_family = AF_INET6;
	any.sin6_addr = in6addr_any;
	socklen_t alen = sizeof any;
	CHECK_OK(bind(l, (struct sockaddr *)&any, alen), "bind ::");
	listen(l, 4);
	getsockname(l, (struct sockaddr *)&any, &alen);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to;
	lo4(&to, ntohs(any.sin6_port));
	CHECK_OK(connect(c, (struct sockaddr *)&to, sizeof to), "IPv4 connect to a dual-stack listener");
	struct sockaddr_in6 peer;
	socklen_t plen = sizeof peer;
	int a = accept(l, (struct sockaddr *)&peer, &plen);
	CHECK(a >= 0 && IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr), "peer is v4-mapped");
	close(a);
	close(c);
	close(l);
}

static void udp(int fam, const char *name) {
	char d[128];
	int r = socket(fam, SOCK_DGRAM, 0), s = socket(fam, SOCK_DGRAM, 0);
	struct sockaddr_storage ra = {0}, from;
	socklen_t rlen;
	if (fam == AF_INET) {
		rlen = lo4((struct sockaddr_in *)&ra, 0);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ra;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		rlen = sizeof *s6;
	}
	snprintf(d, sizeof d, "%s udp bind", name);
	CHECK_OK(bind(r, (struct sockaddr *)&ra, rlen), d);
	getsockname(r, (struct sockaddr *)&ra, &rlen);
	CHECK_EQ(sendto(s, "datagram", 8, 0, (struct sockaddr *)&ra, rlen), 8, "sendto");
	char buf[16];
	socklen_t flen = sizeof from;
	CHECK_EQ(recvfrom(r, buf, 4, MSG_TRUNC, (struct sockaddr *)&from, &flen), 8, "recvfrom MSG_TRUNC: full length");
	CHECK_EQ(from.ss_family, fam, "recvfrom: sender family");
	CHECK_OK(connect(s, (struct sockaddr *)&ra, rlen), "udp connect");
	CHECK_EQ(send(s, "two", 3, 0), 3, "connected send");
	struct msghdr m = {0};
	struct iovec iov = {buf, 2};
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	CHECK_EQ(recvmsg(r, &m, 0), 2, "recvmsg truncates");
	CHECK(m.msg_flags & MSG_TRUNC, "recvmsg sets MSG_TRUNC");
	CHECK_ERRNO(recv(r, buf, sizeof buf, MSG_DONTWAIT), EAGAIN, "udp queue empty");
	close(r);
	close(s);
}

static void epoll_readiness(void) {
	struct sockaddr_storage ss;
	socklen_t len;
	int l = listener(AF_INET, &ss, &len);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&ss, len);
	int a = accept(l, NULL, NULL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 7};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev), "epoll_ctl ADD socket");
	struct epoll_event out;
	CHECK_EQ(epoll_wait(ep, &out, 1, 0), 0, "epoll: nothing yet");
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		send(c, "late", 4, 0);
		_exit(0);
	}
	CHECK_EQ(epoll_wait(ep, &out, 1, 5000), 1, "epoll_wait woken by data from another process");
	CHECK(out.data.u32 == 7 && (out.events & EPOLLIN), "epoll event");
	CHECK_EQ(epoll_wait(ep, &out, 1, 0), 0, "edge-triggered: reported once");
	waitpid(pid, NULL, 0);
	close(ep);
	close(a);
	close(c);
	close(l);
}

static void options(void) {
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_TYPE), SOCK_STREAM, "SO_TYPE");
	int one = 1;
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), "SO_REUSEADDR");
	CHECK_EQ(getint(s, SOL_SOCKET, SO_REUSEADDR), 1, "SO_REUSEADDR reads back");
	CHECK_OK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), "TCP_NODELAY");
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_NODELAY), 1, "TCP_NODELAY reads back");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa;
	bind(u, (struct sockaddr *)&sa, lo4(&sa, 0));
	struct timeval tv = {0, 30000};
	CHECK_OK(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), "SO_RCVTIMEO");
	char b;
	CHECK_ERRNO(recv(u, &b, 1, 0), EAGAIN, "recv times out with SO_RCVTIMEO");
	close(u);
	close(s);
	CHECK_ERRNO(socket(AF_INET, SOCK_RAW, IPPROTO_UDP), EPERM, "SOCK_RAW without CAP_NET_RAW");
	CHECK_ERRNO(socket(AF_PACKET, SOCK_RAW, 0), EPERM, "AF_PACKET without CAP_NET_RAW");
	CHECK_ERRNO(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT, "TCP type with UDP protocol");
}

int main(void) {
	signal(SIGPIPE, on_pipe);
	tcp_echo(AF_INET, "ipv4");
	tcp_echo(AF_INET6, "ipv6");
	nonblocking_connect();
	waitall_and_sendfile();
	ipv6();
	udp(AF_INET, "ipv4");
	udp(AF_INET6, "ipv6");
	epoll_readiness();
	options();
	return check_done();
}
