/* inet_loopback: loopback TCP and UDP over IPv4 and IPv6: bind (ports
 * chosen by the kernel), listen/accept/connect, non-blocking connect,
 * shutdown and close semantics, EPIPE/SIGPIPE, MSG_* flags, readiness,
 * dual-stack sockets, options, addressed datagrams, a forked 10 MB
 * transfer and an epoll server with many clients. Only loopback is used:
 * the host running the suite natively has real networking. */
#include "common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

static struct sockaddr_in lo4(uint16_t port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static uint16_t port_of(int s) {
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &len) != 0)
        return 0;
    if (a.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&a)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
}

/* A TCP listener on 127.0.0.1 and a kernel-chosen port. */
static int listener4(uint16_t *port) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 64) != 0)
        return -1;
    *port = port_of(l);
    return l;
}

static int connect4(uint16_t port) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port);
    if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    return c;
}

static const char *case_tcp_bind_and_names(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0 && len == sizeof a);
    CHECK(a.sin_family == AF_INET && a.sin_port == 0 && a.sin_addr.s_addr == 0);
    a = lo4(0);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    unsigned lo = 0, hi = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    CHECK(f != NULL && fscanf(f, "%u %u", &lo, &hi) == 2);
    fclose(f);
    uint16_t p = port_of(s);
    CHECK(p >= lo && p <= hi);
    CHECK_ERR(bind(s, (struct sockaddr *)&a, sizeof a), EINVAL);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    a = lo4(p);
    CHECK_ERR(bind(t, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    a.sin_addr.s_addr = inet_addr("192.0.2.1");
    CHECK_ERR(bind(t, (struct sockaddr *)&a, sizeof a), EADDRNOTAVAIL);
    CHECK_ERR(bind(t, (struct sockaddr *)&a, sizeof a - 1), EINVAL);
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    CHECK_ERR(bind(t, (struct sockaddr *)&six, sizeof six), EAFNOSUPPORT);
    /* Any other 127/8 address is local. */
    a.sin_addr.s_addr = inet_addr("127.0.0.2");
    a.sin_port = 0;
    CHECK(bind(t, (struct sockaddr *)&a, sizeof a) == 0);
    close(t);
    close(s);
    return NULL;
}

static const char *case_tcp_reuseaddr(void) {
    int one = 1;
    int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    CHECK(setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    struct sockaddr_in sa = lo4(0);
    CHECK(bind(a, (struct sockaddr *)&sa, sizeof sa) == 0);
    sa = lo4(port_of(a));
    /* Both reuse and neither listens: shared. */
    CHECK(bind(b, (struct sockaddr *)&sa, sizeof sa) == 0);
    close(b);
    CHECK(listen(a, 1) == 0);
    b = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    CHECK_ERR(bind(b, (struct sockaddr *)&sa, sizeof sa), EADDRINUSE);
    close(b);
    /* A closed listener's port is free again. */
    close(a);
    b = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    CHECK(bind(b, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(b, 1) == 0);
    close(b);
    return NULL;
}

static const char *case_tcp_connect_accept(void) {
    uint16_t port;
    int l = listener4(&port);
    CHECK(l >= 0);
    int c = connect4(port);
    CHECK(c >= 0);
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int s = accept(l, (struct sockaddr *)&peer, &len);
    CHECK(s >= 0 && len == sizeof peer);
    CHECK(peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(peer.sin_port) == port_of(c));
    struct sockaddr_in a;
    len = sizeof a;
    CHECK(getpeername(c, (struct sockaddr *)&a, &len) == 0 && ntohs(a.sin_port) == port);
    len = sizeof a;
    CHECK(getsockname(c, (struct sockaddr *)&a, &len) == 0 && a.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    CHECK(port_of(s) == port);
    CHECK(write(c, "ping", 4) == 4);
    char buf[16];
    CHECK(read(s, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
    struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
    CHECK(writev(s, iov, 2) == 5);
    char x[2], y[8];
    struct iovec in[2] = {{x, 2}, {y, 8}};
    CHECK(readv(c, in, 2) == 5 && memcmp(y, "cde", 3) == 0);
    /* recvfrom on TCP reports no address. */
    CHECK(write(s, "q", 1) == 1);
    len = sizeof a;
    CHECK(recvfrom(c, buf, sizeof buf, 0, (struct sockaddr *)&a, &len) == 1 && len == 0);
    int v = 0;
    len = sizeof v;
    CHECK(getsockopt(c, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == IPPROTO_TCP);
    CHECK(getsockopt(c, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0 && v == AF_INET);
    close(c);
    close(s);
    close(l);
    return NULL;
}

static const char *case_tcp_errors(void) {
    /* A port nobody listens on (freed right away). */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(0);
    CHECK(bind(t, (struct sockaddr *)&a, sizeof a) == 0);
    uint16_t p = port_of(t);
    CHECK(connect4(p) < 0 && errno == ECONNREFUSED);
    char c;
    CHECK_ERR(recv(t, &c, 1, MSG_DONTWAIT), ENOTCONN);
    CHECK_ERR(send(t, "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK_ERR(shutdown(t, SHUT_WR), ENOTCONN);
    socklen_t len = sizeof a;
    CHECK_ERR(getpeername(t, (struct sockaddr *)&a, &len), ENOTCONN);
    CHECK_ERR(accept(t, NULL, NULL), EINVAL);
    close(t);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_ERR(listen(u, 1), EOPNOTSUPP);
    close(u);
    CHECK_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
    int sv[2];
    CHECK_ERR(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
    return NULL;
}

static const char *case_off_loopback_unreachable(void) {
    SANDBOX_ONLY();
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(80);
    a.sin_addr.s_addr = inet_addr("192.0.2.1");
    CHECK_ERR(connect(t, (struct sockaddr *)&a, sizeof a), ENETUNREACH);
    close(t);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_ERR(sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a), ENETUNREACH);
    close(u);
    return NULL;
}

static const char *case_listen_autobinds(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listen(l, 1) == 0);
    uint16_t p = port_of(l);
    CHECK(p != 0);
    int c = connect4(p);
    CHECK(c >= 0);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    close(s);
    close(c);
    close(l);
    return NULL;
}

static const char *case_nonblocking_connect(void) {
    uint16_t port;
    int l = listener4(&port);
    CHECK(l >= 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = lo4(port);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, sizeof a), EINPROGRESS);
    struct pollfd p = {c, POLLOUT, 0};
    CHECK(poll(&p, 1, 2000) == 1 && (p.revents & POLLOUT));
    int err = -1;
    socklen_t len = sizeof err;
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    /* Linux: the first connect after completion answers 0, then EISCONN. */
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, sizeof a), EISCONN);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    char b;
    CHECK_ERR(recv(c, &b, 1, 0), EAGAIN);
    CHECK(send(s, "k", 1, 0) == 1);
    p.events = POLLIN;
    CHECK(poll(&p, 1, 2000) == 1 && recv(c, &b, 1, 0) == 1);
    close(s);
    close(c);
    close(l);
    return NULL;
}

static const char *case_shutdown_and_close(void) {
    uint16_t port;
    int l = listener4(&port);
    int c = connect4(port);
    int s = accept(l, NULL, NULL);
    CHECK(l >= 0 && c >= 0 && s >= 0);
    CHECK(write(c, "bye", 3) == 3);
    CHECK(shutdown(c, SHUT_WR) == 0);
    CHECK_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    char buf[8];
    CHECK(read(s, buf, sizeof buf) == 3);
    struct pollfd p = {s, POLLIN | POLLRDHUP, 0};
    CHECK(poll(&p, 1, 1000) == 1 && (p.revents & POLLRDHUP) && !(p.revents & POLLHUP));
    CHECK(read(s, buf, sizeof buf) == 0);
    /* The other direction still works. */
    CHECK(write(s, "ok", 2) == 2);
    CHECK(read(c, buf, sizeof buf) == 2);
    close(s);
    CHECK(read(c, buf, sizeof buf) == 0);
    close(c);
    close(l);
    return NULL;
}

static int sigpipes;
static void on_sigpipe(int sig) {
    (void)sig;
    sigpipes++;
}

static const char *case_epipe_after_peer_close(void) {
    uint16_t port;
    int l = listener4(&port);
    int c = connect4(port);
    int s = accept(l, NULL, NULL);
    CHECK(l >= 0 && c >= 0 && s >= 0);
    close(s);
    struct sigaction sa = {.sa_handler = on_sigpipe};
    CHECK(sigaction(SIGPIPE, &sa, NULL) == 0);
    sigpipes = 0;
    /* Linux may take the first write (the peer answers it with a reset). */
    int r = 0, e = 0;
    for (int i = 0; i < 5; i++) {
        r = (int)write(c, "x", 1);
        e = errno;
        if (r < 0)
            break;
        usleep(20000);
    }
    signal(SIGPIPE, SIG_DFL);
    CHECK(r == -1 && (e == EPIPE || e == ECONNRESET));
    if (e == EPIPE)
        CHECK(sigpipes == 1);
    close(c);
    close(l);
    return NULL;
}

static const char *case_close_with_unread_data_resets(void) {
    uint16_t port;
    int l = listener4(&port);
    int c = connect4(port);
    int s = accept(l, NULL, NULL);
    CHECK(l >= 0 && c >= 0 && s >= 0);
    CHECK(write(c, "unread", 6) == 6);
    usleep(20000);
    close(s);
    char b;
    struct pollfd p = {c, POLLIN, 0};
    CHECK(poll(&p, 1, 1000) == 1);
    CHECK_ERR(read(c, &b, 1), ECONNRESET);
    close(c);
    close(l);
    return NULL;
}

static const char *case_msg_flags_and_fionread(void) {
    uint16_t port;
    int l = listener4(&port);
    int c = connect4(port);
    int s = accept(l, NULL, NULL);
    CHECK(l >= 0 && c >= 0 && s >= 0);
    char buf[16];
    CHECK_ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    CHECK(send(c, "hello", 5, 0) == 5);
    struct pollfd p = {s, POLLIN, 0};
    CHECK(poll(&p, 1, 1000) == 1);
    int n = -1;
    CHECK(ioctl(s, FIONREAD, &n) == 0 && n == 5);
    CHECK(recv(s, buf, 3, MSG_PEEK) == 3 && memcmp(buf, "hel", 3) == 0);
    CHECK(recv(s, buf, sizeof buf, 0) == 5);
    /* MSG_WAITALL gathers pieces written by another process. */
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 4; i++) {
            if (write(c, "abcd", 4) != 4)
                _exit(1);
            usleep(10000);
        }
        _exit(0);
    }
    CHECK(recv(s, buf, 16, MSG_WAITALL) == 16);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(s);
    close(c);
    close(l);
    return NULL;
}

static const char *case_tcp_options(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int v = 1, got = -1;
    socklen_t len = sizeof got;
    CHECK(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &got, &len) == 0 && got == 0);
    CHECK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) == 0);
    CHECK(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &got, &len) == 0 && got == 1);
    v = 5;
    CHECK(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) == 0);
    CHECK(getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &got, &len) == 0 && got == 1);
    CHECK(getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &got, &len) == 0 && got == 0);
    struct linger lg = {1, 7}, lgot;
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    len = sizeof lgot;
    CHECK(getsockopt(s, SOL_SOCKET, SO_LINGER, &lgot, &len) == 0 && lgot.l_onoff == 1 && lgot.l_linger == 7);
    v = 0x10;
    CHECK(setsockopt(s, IPPROTO_IP, IP_TOS, &v, sizeof v) == 0);
    len = sizeof got;
    CHECK(getsockopt(s, IPPROTO_IP, IP_TOS, &got, &len) == 0 && got == 0x10);
    CHECK(getsockopt(s, IPPROTO_IP, IP_TTL, &got, &len) == 0 && got == 64);
    v = 0;
    CHECK_ERR(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof v), EINVAL);
    CHECK_ERR(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, 1), EINVAL);
    close(s);
    return NULL;
}

static const char *case_udp_datagrams(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = lo4(0);
    CHECK(bind(b, (struct sockaddr *)&sa, sizeof sa) == 0);
    struct sockaddr_in to = lo4(port_of(b)), from;
    CHECK_ERR(send(a, "x", 1, 0), EDESTADDRREQ);
    CHECK(sendto(a, "first", 5, 0, (struct sockaddr *)&to, sizeof to) == 5);
    CHECK(port_of(a) != 0);
    CHECK(sendto(a, "second!", 7, 0, (struct sockaddr *)&to, sizeof to) == 7);
    char buf[16];
    socklen_t flen = sizeof from;
    CHECK(recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 5);
    CHECK(flen == sizeof from && ntohs(from.sin_port) == port_of(a) && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    struct iovec iov = {buf, 3};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(recvmsg(b, &m, 0) == 3 && (m.msg_flags & MSG_TRUNC));
    /* Size limits. */
    static char big[65508];
    CHECK(sendto(a, big, 65507, 0, (struct sockaddr *)&to, sizeof to) == 65507);
    CHECK_ERR(sendto(a, big, 65508, 0, (struct sockaddr *)&to, sizeof to), EMSGSIZE);
    CHECK(recv(b, big, sizeof big, MSG_TRUNC) == 65507);
    /* connect: default destination, and only the peer's datagrams. */
    CHECK(connect(a, (struct sockaddr *)&to, sizeof to) == 0);
    CHECK(send(a, "c", 1, 0) == 1);
    CHECK(recv(b, buf, sizeof buf, 0) == 1);
    struct sockaddr_in pa;
    socklen_t plen = sizeof pa;
    CHECK(getpeername(a, (struct sockaddr *)&pa, &plen) == 0 && pa.sin_port == to.sin_port);
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ato = lo4(port_of(a));
    CHECK(sendto(other, "no", 2, 0, (struct sockaddr *)&ato, sizeof ato) == 2);
    CHECK(sendto(b, "yes", 3, 0, (struct sockaddr *)&ato, sizeof ato) == 3);
    CHECK(recv(a, buf, sizeof buf, 0) == 3 && memcmp(buf, "yes", 3) == 0);
    CHECK_ERR(recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    /* AF_UNSPEC dissolves the association. */
    struct sockaddr un = {.sa_family = AF_UNSPEC};
    CHECK(connect(a, &un, sizeof un) == 0);
    plen = sizeof pa;
    CHECK_ERR(getpeername(a, (struct sockaddr *)&pa, &plen), ENOTCONN);
    close(other);
    close(a);
    close(b);
    return NULL;
}

static const char *case_udp_connected_refused(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = lo4(0);
    CHECK(bind(t, (struct sockaddr *)&sa, sizeof sa) == 0);
    struct sockaddr_in to = lo4(port_of(t));
    close(t);
    CHECK(connect(a, (struct sockaddr *)&to, sizeof to) == 0);
    CHECK(send(a, "x", 1, 0) == 1);
    usleep(20000);
    char b;
    CHECK_ERR(recv(a, &b, 1, MSG_DONTWAIT), ECONNREFUSED);
    close(a);
    return NULL;
}

/* Whether ::1 exists (some hosts run with IPv6 disabled; the sandbox
 * always has it). */
static int have_v6_loopback(void) {
    if (in_sandbox())
        return 1;
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

static const char *case_ipv6_and_dual_stack(void) {
    int v6lo = have_v6_loopback();
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    CHECK(bind(l, (struct sockaddr *)&any, sizeof any) == 0 && listen(l, 4) == 0);
    uint16_t port = port_of(l);
    /* An IPv4 client reaches the dual-stack listener... */
    int c4 = connect4(port);
    CHECK(c4 >= 0);
    struct sockaddr_in6 peer;
    socklen_t len = sizeof peer;
    int s4 = accept(l, (struct sockaddr *)&peer, &len);
    CHECK(s4 >= 0 && len == sizeof peer && IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr));
    CHECK(ntohs(peer.sin6_port) == port_of(c4));
    /* ...and so does ::1. */
    if (!v6lo) {
        close(s4);
        close(c4);
        close(l);
        return NULL;
    }
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    CHECK(connect(c6, (struct sockaddr *)&to, sizeof to) == 0);
    len = sizeof peer;
    int s6 = accept(l, (struct sockaddr *)&peer, &len);
    CHECK(s6 >= 0 && IN6_IS_ADDR_LOOPBACK(&peer.sin6_addr));
    CHECK(write(c6, "6", 1) == 1);
    char b;
    CHECK(read(s6, &b, 1) == 1 && b == '6');
    close(s4);
    close(s6);
    close(c4);
    close(c6);
    close(l);
    /* IPV6_V6ONLY keeps IPv4 out. */
    int one = 1;
    l = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0);
    CHECK(bind(l, (struct sockaddr *)&any, sizeof any) == 0 && listen(l, 4) == 0);
    port = port_of(l);
    CHECK(connect4(port) < 0 && errno == ECONNREFUSED);
    struct sockaddr_in6 mapped = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
    int v6 = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(setsockopt(v6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0);
    CHECK_ERR(bind(v6, (struct sockaddr *)&mapped, sizeof mapped), EINVAL);
    close(v6);
    close(l);
    /* UDP over ::1. */
    int u = socket(AF_INET6, SOCK_DGRAM, 0), w = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 ul = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    CHECK(bind(u, (struct sockaddr *)&ul, sizeof ul) == 0);
    ul.sin6_port = htons(port_of(u));
    CHECK(sendto(w, "v6", 2, 0, (struct sockaddr *)&ul, sizeof ul) == 2);
    char buf[4];
    len = sizeof peer;
    CHECK(recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len) == 2 && len == sizeof peer);
    CHECK(IN6_IS_ADDR_LOOPBACK(&peer.sin6_addr) && ntohs(peer.sin6_port) == port_of(w));
    close(u);
    close(w);
    return NULL;
}

static const char *case_transfer_10mb_checksum(void) {
    uint16_t port;
    int l = listener4(&port);
    CHECK(l >= 0);
    const size_t total = 10u << 20;
    pid_t child = fork();
    if (child == 0) {
        int c = connect4(port);
        if (c < 0)
            _exit(1);
        static unsigned char chunk[65536];
        size_t sent = 0;
        while (sent < total) {
            for (size_t i = 0; i < sizeof chunk; i++)
                chunk[i] = (unsigned char)((sent + i) * 131 + 7);
            ssize_t n = write(c, chunk, sizeof chunk);
            if (n != (ssize_t)sizeof chunk)
                _exit(2);
            sent += (size_t)n;
        }
        close(c);
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    static unsigned char buf[100000];
    size_t got = 0;
    int bad = 0;
    for (;;) {
        ssize_t n = read(s, buf, sizeof buf);
        CHECK(n >= 0);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (unsigned char)((got + (size_t)i) * 131 + 7))
                bad = 1;
        got += (size_t)n;
    }
    CHECK(got == total && !bad);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(s);
    close(l);
    return NULL;
}

static const char *case_epoll_many_clients(void) {
    enum { N = 24 };
    uint16_t port;
    int l = listener4(&port);
    CHECK(l >= 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) == 0);
    pid_t child = fork();
    if (child == 0) {
        int cs[N];
        for (int i = 0; i < N; i++) {
            cs[i] = connect4(port);
            if (cs[i] < 0 || write(cs[i], &i, sizeof i) != sizeof i)
                _exit(1);
        }
        for (int i = 0; i < N; i++) {
            int back = -1;
            if (read(cs[i], &back, sizeof back) != sizeof back || back != i * 2)
                _exit(2);
            close(cs[i]);
        }
        _exit(0);
    }
    int answered = 0, closed = 0;
    while (closed < N) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, 5000);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
                CHECK(s >= 0);
                struct epoll_event e2 = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = s};
                CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e2) == 0);
                continue;
            }
            int v;
            ssize_t r = read(fd, &v, sizeof v);
            if (r == sizeof v) {
                v *= 2;
                CHECK(write(fd, &v, sizeof v) == sizeof v);
                answered++;
            } else if (r == 0) {
                CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == 0);
                close(fd);
                closed++;
            } else {
                CHECK(r < 0 && errno == EAGAIN);
            }
        }
    }
    CHECK(answered == N);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ep);
    close(l);
    return NULL;
}

static const char *case_proc_net_tcp(void) {
    uint16_t port;
    int l = listener4(&port);
    CHECK(l >= 0);
    FILE *f = fopen("/proc/net/tcp", "r");
    CHECK(f != NULL);
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned addr, lport, st;
        if (sscanf(line, " %*d: %x:%x %*x:%*x %x", &addr, &lport, &st) == 3 && lport == port)
            found = addr == htonl(INADDR_LOOPBACK) && st == 0x0A;
    }
    fclose(f);
    CHECK(found);
    close(l);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(tcp_bind_and_names);
    RUN(tcp_reuseaddr);
    RUN(tcp_connect_accept);
    RUN(tcp_errors);
    RUN(off_loopback_unreachable);
    RUN(listen_autobinds);
    RUN(nonblocking_connect);
    RUN(shutdown_and_close);
    RUN(epipe_after_peer_close);
    RUN(close_with_unread_data_resets);
    RUN(msg_flags_and_fionread);
    RUN(tcp_options);
    RUN(udp_datagrams);
    RUN(udp_connected_refused);
    RUN(ipv6_and_dual_stack);
    RUN(transfer_10mb_checksum);
    RUN(epoll_many_clients);
    RUN(proc_net_tcp);
    return 0;
}
