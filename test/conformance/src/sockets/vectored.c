/* readv/writev on message and stream files: one writev is one datagram, one
 * readv scatters one datagram, and a writev to a pipe is one write. */
#include "../check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

static void datagrams(int domain, int type, const char *what) {
	int sv[2];
	char desc[128];
	snprintf(desc, sizeof desc, "%s socketpair", what);
	if (CHECK_OK(socketpair(domain, type, 0, sv), desc) < 0)
		return;
	struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
	snprintf(desc, sizeof desc, "%s writev sends every iovec", what);
	CHECK_EQ(writev(sv[0], out, 3), 5, desc);
	char a[2], b[8];
	struct iovec in[2] = {{a, sizeof a}, {b, sizeof b}};
	snprintf(desc, sizeof desc, "%s readv reads the whole datagram", what);
	CHECK_EQ(readv(sv[1], in, 2), 5, desc);
	snprintf(desc, sizeof desc, "%s readv scatters it in order", what);
	CHECK(memcmp(a, "ab", 2) == 0 && memcmp(b, "cde", 3) == 0, desc);
	close(sv[0]);
	close(sv[1]);
}

static void udp(void) {
	int r = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0), "udp receiver");
	int s = CHECK_OK(socket(AF_INET, SOCK_DGRAM, 0), "udp sender");
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof addr;
	CHECK_OK(bind(r, (struct sockaddr *)&addr, sizeof addr), "bind udp on loopback");
	CHECK_OK(getsockname(r, (struct sockaddr *)&addr, &len), "getsockname");
	CHECK_OK(connect(s, (struct sockaddr *)&addr, sizeof addr), "connect udp");
	struct iovec out[2] = {{"hello ", 6}, {"world", 5}};
	CHECK_EQ(writev(s, out, 2), 11, "udp writev of two iovecs");
	char buf[64];
	CHECK_EQ(recv(r, buf, sizeof buf, 0), 11, "udp writev of two iovecs is one datagram");
	CHECK(memcmp(buf, "hello world", 11) == 0, "udp datagram holds both iovecs in order");
	close(r);
	close(s);
}

static void pipe_atomic(void) {
	int p[2];
	if (CHECK_OK(pipe(p), "pipe") < 0)
		return;
	struct iovec out[2] = {{"12", 2}, {"345", 3}};
	CHECK_EQ(writev(p[1], out, 2), 5, "pipe writev");
	char a[1], b[16];
	struct iovec in[2] = {{a, 1}, {b, sizeof b}};
	CHECK_EQ(readv(p[0], in, 2), 5, "pipe readv reads across iovecs");
	CHECK(a[0] == '1' && memcmp(b, "2345", 4) == 0, "pipe readv scatters in order");
	close(p[0]);
	close(p[1]);
}

int main(void) {
	check_pid = getpid();
	datagrams(AF_UNIX, SOCK_DGRAM, "unix dgram");
	datagrams(AF_UNIX, SOCK_SEQPACKET, "unix seqpacket");
	udp();
	pipe_atomic();
	return check_done();
}
