/* Interface requests on sockets of any family, and netlink requests
 * followed by padding (what glibc's if_nametoindex and iproute2 do). */
#include "../check.h"
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int main(void) {
	int u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (!CHECK(u >= 0, "socket AF_UNIX"))
		return check_done();
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	CHECK_OK(ioctl(u, SIOCGIFINDEX, &ifr), "SIOCGIFINDEX on an AF_UNIX socket succeeds");
	CHECK(ifr.ifr_ifindex > 0, "lo has a positive index");
	CHECK_OK(ioctl(u, SIOCGIFFLAGS, &ifr), "SIOCGIFFLAGS on an AF_UNIX socket succeeds");
	CHECK((ifr.ifr_flags & IFF_LOOPBACK) != 0, "lo is a loopback interface");
	CHECK(if_nametoindex("lo") > 0, "if_nametoindex(lo) is positive");
	strcpy(ifr.ifr_name, "nosuchif0");
	CHECK_ERRNO(ioctl(u, SIOCGIFINDEX, &ifr), ENODEV, "SIOCGIFINDEX of a missing interface is ENODEV");
	close(u);

	int n = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (!CHECK(n >= 0, "socket NETLINK_ROUTE"))
		return check_done();
	/* One RTM_GETLINK dump request, then zero padding in the same send. */
	char buf[128];
	memset(buf, 0, sizeof buf);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	h->nlmsg_type = RTM_GETLINK;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	h->nlmsg_seq = 1;
	CHECK_EQ(send(n, buf, sizeof buf, 0), (long)sizeof buf, "a request followed by padding is accepted whole");
	char rbuf[16384];
	long got = recv(n, rbuf, sizeof rbuf, 0);
	CHECK(got >= (long)NLMSG_HDRLEN, "the dump answers");
	struct nlmsghdr *r = (struct nlmsghdr *)rbuf;
	CHECK(r->nlmsg_type == RTM_NEWLINK || r->nlmsg_type == NLMSG_DONE, "the answer is a link message");
	CHECK_EQ(r->nlmsg_seq, 1, "the answer carries the request's sequence number");
	close(n);
	return check_done();
}
