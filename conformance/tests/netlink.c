/*
 * NETLINK_ROUTE sockets: the interface listing glibc builds on them
 * (getifaddrs, if_nameindex) and raw rtnetlink dumps. The host has more
 * interfaces than the sandbox's lone "lo", so only properties true of
 * both are asserted.
 */
#include "common.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static const char *case_getifaddrs_lists_lo(void) {
    struct ifaddrs *list;
    CHECK(getifaddrs(&list) == 0);
    int lo4 = 0, lo_link = 0;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") != 0 || i->ifa_addr == NULL)
            continue;
        if (!(i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) {
            freeifaddrs(list);
            FAILF("lo flags %#x", i->ifa_flags);
        }
        if (i->ifa_addr->sa_family == AF_PACKET)
            lo_link = 1;
        if (i->ifa_addr->sa_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
            struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;
            if (a->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && m && m->sin_addr.s_addr == htonl(0xff000000))
                lo4 = 1;
        }
    }
    freeifaddrs(list);
    CHECK(lo4);
    CHECK(lo_link);
    return NULL;
}

static const char *case_if_nametoindex_round_trip(void) {
    unsigned idx = if_nametoindex("lo");
    CHECK(idx > 0);
    char name[IF_NAMESIZE];
    CHECK(if_indextoname(idx, name) != NULL);
    CHECK(strcmp(name, "lo") == 0);
    struct if_nameindex *ni = if_nameindex();
    CHECK(ni != NULL);
    int found = 0;
    for (struct if_nameindex *p = ni; p->if_index; p++)
        if (p->if_index == idx && strcmp(p->if_name, "lo") == 0)
            found = 1;
    if_freenameindex(ni);
    CHECK(found);
    CHECK(if_nametoindex("rvisor-none0") == 0);
    return NULL;
}

static const char *case_bad_protocol_and_type(void) {
    CHECK_ERR(socket(AF_NETLINK, SOCK_RAW, 31), EPROTONOSUPPORT);
    CHECK_ERR(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
    int sv[2];
    CHECK_ERR(socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, sv), EOPNOTSUPP);
    return NULL;
}

static const char *case_bind_and_getsockname(void) {
    int s;
    CHECK_OK(s, socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    struct sockaddr_nl a;
    socklen_t len = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    CHECK(len == sizeof a && a.nl_family == AF_NETLINK && a.nl_pid == 0);
    memset(&a, 0, sizeof a);
    a.nl_family = AF_NETLINK;
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    len = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    CHECK(a.nl_family == AF_NETLINK && a.nl_pid != 0);
    /* Another socket cannot take the same port id. */
    int t;
    CHECK_OK(t, socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE));
    CHECK_ERR(bind(t, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    CHECK_ERR(bind(t, (struct sockaddr *)&a, 4), EINVAL);
    int v = 0;
    len = sizeof v;
    CHECK(getsockopt(t, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_DGRAM);
    CHECK(getsockopt(t, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == NETLINK_ROUTE);
    CHECK_ERR(listen(t, 1), EOPNOTSUPP);
    close(t);
    close(s);
    return NULL;
}

/* Sends one rtnetlink request; returns 0 or -1. */
static int send_req(int s, int type, int flags, unsigned seq, const void *body, size_t blen) {
    char buf[256];
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    memset(buf, 0, sizeof buf);
    h->nlmsg_len = NLMSG_LENGTH(blen);
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    h->nlmsg_seq = seq;
    memcpy(NLMSG_DATA(h), body, blen);
    struct sockaddr_nl k = {.nl_family = AF_NETLINK};
    return sendto(s, buf, h->nlmsg_len, 0, (struct sockaddr *)&k, sizeof k) == (ssize_t)h->nlmsg_len ? 0 : -1;
}

static const char *case_raw_link_dump(void) {
    int s;
    CHECK_OK(s, socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
    struct rtgenmsg g = {.rtgen_family = AF_PACKET};
    CHECK(send_req(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 4711, &g, sizeof g) == 0);
    struct sockaddr_nl me;
    socklen_t len = sizeof me;
    CHECK(getsockname(s, (struct sockaddr *)&me, &len) == 0 && me.nl_pid != 0);
    static char buf[65536];
    int done = 0, saw_lo = 0;
    while (!done) {
        /* Peek with no buffer: MSG_TRUNC reports the datagram's size. */
        ssize_t want = recv(s, NULL, 0, MSG_PEEK | MSG_TRUNC);
        CHECK(want > 0 && (size_t)want <= sizeof buf);
        struct sockaddr_nl from;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(s, &m, 0);
        CHECK(n == want);
        CHECK(m.msg_namelen == sizeof from && from.nl_family == AF_NETLINK && from.nl_pid == 0);
        CHECK(!(m.msg_flags & MSG_TRUNC));
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != 4711 || h->nlmsg_pid != me.nl_pid)
                FAILF("seq %u pid %u, expected 4711 %u", h->nlmsg_seq, h->nlmsg_pid, me.nl_pid);
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            CHECK(h->nlmsg_type == RTM_NEWLINK && (h->nlmsg_flags & NLM_F_MULTI));
            struct ifinfomsg *ifi = NLMSG_DATA(h);
            int alen = IFLA_PAYLOAD(h);
            for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == IFLA_IFNAME && strcmp(RTA_DATA(a), "lo") == 0) {
                    saw_lo = 1;
                    CHECK(ifi->ifi_type == 772 /* ARPHRD_LOOPBACK */ && (ifi->ifi_flags & IFF_LOOPBACK));
                }
        }
    }
    CHECK(saw_lo);
    close(s);
    return NULL;
}

static const char *case_getlink_errors_and_ack(void) {
    int s;
    CHECK_OK(s, socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_ROUTE));
    char buf[8192];
    CHECK_ERR(recv(s, buf, sizeof buf, 0), EAGAIN);
    /* A link index no interface has: NLMSG_ERROR -ENODEV with our seq. */
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 0x7ffffff0};
    CHECK(send_req(s, RTM_GETLINK, NLM_F_REQUEST, 9, &ifi, sizeof ifi) == 0);
    ssize_t n;
    CHECK_OK(n, recv(s, buf, sizeof buf, 0));
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    CHECK(NLMSG_OK(h, (size_t)n) && h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == 9);
    struct nlmsgerr *e = NLMSG_DATA(h);
    CHECK(e->error == -ENODEV && e->msg.nlmsg_seq == 9 && e->msg.nlmsg_type == RTM_GETLINK);
    /* Loopback by index with an ack: the link, then an ack of 0. */
    ifi.ifi_index = (int)if_nametoindex("lo");
    CHECK(send_req(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 10, &ifi, sizeof ifi) == 0);
    int got_link = 0, got_ack = 0;
    for (int tries = 0; tries < 4 && !got_ack; tries++) {
        n = recv(s, buf, sizeof buf, 0);
        CHECK(n > 0);
        for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            CHECK(h->nlmsg_seq == 10);
            if (h->nlmsg_type == RTM_NEWLINK) {
                got_link = 1;
            } else {
                CHECK(h->nlmsg_type == NLMSG_ERROR);
                e = NLMSG_DATA(h);
                CHECK(e->error == 0);
                got_ack = 1;
            }
        }
    }
    CHECK(got_link && got_ack);
    /* A short read truncates the datagram and drops the rest. */
    struct rtgenmsg g = {.rtgen_family = AF_INET};
    CHECK(send_req(s, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 11, &g, sizeof g) == 0);
    struct iovec iov = {buf, 8};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(recvmsg(s, &m, 0) == 8);
    CHECK(m.msg_flags & MSG_TRUNC);
    close(s);
    return NULL;
}

static const char *case_interface_ioctls(void) {
    int s;
    CHECK_OK(s, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    CHECK(ioctl(s, SIOCGIFFLAGS, &r) == 0);
    CHECK((r.ifr_flags & (IFF_UP | IFF_LOOPBACK)) == (IFF_UP | IFF_LOOPBACK));
    CHECK(ioctl(s, SIOCGIFADDR, &r) == 0);
    CHECK(((struct sockaddr_in *)&r.ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    strcpy(r.ifr_name, "rvisor-none0");
    CHECK_ERR(ioctl(s, SIOCGIFINDEX, &r), ENODEV);
    /* SIOCGIFCONF lists lo's 127.0.0.1 among the IPv4 addresses. */
    static struct ifreq reqs[64];
    struct ifconf conf = {.ifc_len = sizeof reqs, .ifc_req = reqs};
    CHECK(ioctl(s, SIOCGIFCONF, &conf) == 0);
    int found = 0;
    for (size_t i = 0; i < conf.ifc_len / sizeof(struct ifreq); i++)
        if (strcmp(reqs[i].ifr_name, "lo") == 0 &&
            ((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
            found = 1;
    CHECK(found);
    close(s);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(getifaddrs_lists_lo);
    RUN(if_nametoindex_round_trip);
    RUN(bad_protocol_and_type);
    RUN(bind_and_getsockname);
    RUN(raw_link_dump);
    RUN(getlink_errors_and_ack);
    RUN(interface_ioctls);
    return 0;
}
