/* socketpair: unix domain socket pairs in one process: stream, datagram and
 * seqpacket semantics, flags, shutdown, options and ancillary data. */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

static int pair(int type, int sv[2]) {
    return socketpair(AF_UNIX, type, 0, sv);
}

static const char *case_stream_round_trip(void) {
    int sv[2];
    char buf[16] = {0};
    CHECK(pair(SOCK_STREAM, sv) == 0);
    CHECK(write(sv[0], "ping", 4) == 4);
    CHECK(read(sv[1], buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK(send(sv[1], "pong!", 5, 0) == 5);
    CHECK(recv(sv[0], buf, 2, 0) == 2 && memcmp(buf, "po", 2) == 0);
    CHECK(recv(sv[0], buf, sizeof buf, 0) == 3 && memcmp(buf, "ng!", 3) == 0);
    struct stat st;
    CHECK(fstat(sv[0], &st) == 0 && S_ISSOCK(st.st_mode));
    struct stat st2;
    CHECK(fstat(sv[1], &st2) == 0 && st2.st_ino != st.st_ino && st2.st_dev == st.st_dev);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_stream_writev_readv(void) {
    int sv[2];
    CHECK(pair(SOCK_STREAM, sv) == 0);
    struct iovec out[2] = {{"abc", 3}, {"defg", 4}};
    CHECK(writev(sv[0], out, 2) == 7);
    char a[2], b[10];
    struct iovec in[2] = {{a, 2}, {b, 10}};
    CHECK(readv(sv[1], in, 2) == 7);
    CHECK(memcmp(a, "ab", 2) == 0 && memcmp(b, "cdefg", 5) == 0);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_dgram_boundaries_and_trunc(void) {
    int sv[2];
    char buf[16];
    CHECK(pair(SOCK_DGRAM, sv) == 0);
    CHECK(send(sv[0], "one", 3, 0) == 3);
    CHECK(send(sv[0], "second", 6, 0) == 6);
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 3);
    /* Truncated: the rest of the datagram is lost, MSG_TRUNC reports it. */
    struct iovec iov = {buf, 2};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(recvmsg(sv[1], &msg, 0) == 2);
    CHECK(msg.msg_flags & MSG_TRUNC);
    CHECK(memcmp(buf, "se", 2) == 0);
    CHECK(send(sv[0], "abcdef", 6, 0) == 6);
    CHECK(recv(sv[1], buf, 2, MSG_TRUNC) == 6);
    CHECK_ERR(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_seqpacket(void) {
    int sv[2];
    char buf[16];
    CHECK(pair(SOCK_SEQPACKET, sv) == 0);
    CHECK(send(sv[0], "msg1", 4, 0) == 4);
    CHECK(send(sv[0], "m2", 2, 0) == 2);
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 4);
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 2);
    close(sv[0]);
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 0);
    close(sv[1]);
    return NULL;
}

static const char *case_msg_peek(void) {
    int sv[2];
    char buf[16] = {0};
    CHECK(pair(SOCK_STREAM, sv) == 0);
    CHECK(send(sv[0], "peek", 4, 0) == 4);
    CHECK(recv(sv[1], buf, sizeof buf, MSG_PEEK) == 4);
    CHECK(recv(sv[1], buf, sizeof buf, MSG_PEEK) == 4);
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 4 && memcmp(buf, "peek", 4) == 0);
    CHECK_ERR(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_nonblocking_full_buffer(void) {
    int sv[2];
    static char big[65536];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
    char c;
    CHECK_ERR(read(sv[1], &c, 1), EAGAIN);
    long total = 0;
    ssize_t n;
    while ((n = write(sv[0], big, sizeof big)) > 0)
        total += n;
    CHECK(n == -1 && errno == EAGAIN);
    CHECK(total >= 100000);
    struct pollfd p = {sv[0], POLLOUT, 0};
    CHECK(poll(&p, 1, 0) == 0);
    /* Draining makes room again. */
    while (read(sv[1], big, sizeof big) > 0) {
    }
    CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLOUT));
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_msg_dontwait(void) {
    int sv[2];
    char buf[4];
    CHECK(pair(SOCK_DGRAM, sv) == 0);
    CHECK_ERR(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_shutdown_eof(void) {
    int sv[2];
    char buf[8];
    CHECK(pair(SOCK_STREAM, sv) == 0);
    CHECK(send(sv[0], "bye", 3, 0) == 3);
    CHECK(shutdown(sv[0], SHUT_WR) == 0);
    struct pollfd p = {sv[1], POLLIN | POLLRDHUP, 0};
    CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP) && (p.revents & POLLIN));
    CHECK(read(sv[1], buf, sizeof buf) == 3);
    CHECK(read(sv[1], buf, sizeof buf) == 0);
    CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    /* The other direction still works. */
    CHECK(send(sv[1], "ok", 2, 0) == 2);
    CHECK(read(sv[0], buf, sizeof buf) == 2);
    CHECK_ERR(shutdown(sv[0], 7), EINVAL);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_epipe_nosignal(void) {
    int sv[2];
    char buf[8];
    CHECK(pair(SOCK_STREAM, sv) == 0);
    close(sv[1]);
    CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    CHECK(read(sv[0], buf, sizeof buf) == 0);
    struct pollfd p = {sv[0], POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));
    close(sv[0]);
    return NULL;
}

static const char *case_epipe_raises_sigpipe(void) {
    int sv[2];
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    CHECK(pair(SOCK_STREAM, sv) == 0);
    close(sv[1]);
    CHECK_ERR(write(sv[0], "x", 1), EPIPE);
    CHECK(sigpending(&pending) == 0);
    CHECK(sigismember(&pending, SIGPIPE));
    /* Consume it while blocked, then restore the mask. */
    int sig = 0;
    CHECK(sigwait(&set, &sig) == 0 && sig == SIGPIPE);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    close(sv[0]);
    return NULL;
}

static const char *case_scm_rights(void) {
    int sv[2], p[2];
    CHECK(pair(SOCK_DGRAM, sv) == 0);
    CHECK(pipe(p) == 0);
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"F", 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = CMSG_SPACE(2 * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(c), p, 2 * sizeof(int));
    CHECK(sendmsg(sv[0], &msg, 0) == 1);
    /* The sender may close its copies: the message holds the files. */
    close(p[0]);
    close(p[1]);

    char data[4];
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } r;
    memset(&r, 0, sizeof r);
    struct iovec riov = {data, sizeof data};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = r.buf,
                          .msg_controllen = sizeof r.buf};
    CHECK(recvmsg(sv[1], &rmsg, MSG_CMSG_CLOEXEC) == 1);
    CHECK((rmsg.msg_flags & MSG_CTRUNC) == 0);
    c = CMSG_FIRSTHDR(&rmsg);
    CHECK(c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS);
    CHECK(c->cmsg_len == CMSG_LEN(2 * sizeof(int)));
    int got[2];
    memcpy(got, CMSG_DATA(c), sizeof got);
    CHECK(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
    CHECK(write(got[1], "via", 3) == 3);
    char out[4] = {0};
    CHECK(read(got[0], out, sizeof out) == 3 && memcmp(out, "via", 3) == 0);
    close(got[0]);
    close(got[1]);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_scm_rights_ctrunc(void) {
    int sv[2];
    CHECK(pair(SOCK_STREAM, sv) == 0);
    int fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"N", 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    CHECK(sendmsg(sv[0], &msg, 0) == 1);
    /* No room for the fd: MSG_CTRUNC and the file is dropped. */
    char data[2];
    struct iovec riov = {data, sizeof data};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1};
    CHECK(recvmsg(sv[1], &rmsg, 0) == 1);
    CHECK(rmsg.msg_flags & MSG_CTRUNC);
    /* A bad fd is EBADF; a use of it on the next free fd is not installed. */
    int bad = 999;
    memcpy(CMSG_DATA(c), &bad, sizeof bad);
    CHECK_ERR(sendmsg(sv[0], &msg, 0), EBADF);
    close(fd);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_peercred(void) {
    int sv[2];
    CHECK(pair(SOCK_STREAM, sv) == 0);
    struct ucred cr;
    socklen_t len = sizeof cr;
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0);
    CHECK(len == sizeof cr);
    CHECK(cr.pid == getpid() && cr.uid == geteuid() && cr.gid == getegid());
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_passcred(void) {
    int sv[2];
    CHECK(pair(SOCK_DGRAM, sv) == 0);
    int one = 1;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    int v = 0;
    socklen_t len = sizeof v;
    CHECK(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &len) == 0 && v == 1);
    /* Nothing sent explicitly: the sender's credentials arrive anyway. */
    CHECK(send(sv[0], "a", 1, 0) == 1);
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } r;
    char data[2];
    struct iovec riov = {data, sizeof data};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = r.buf,
                          .msg_controllen = sizeof r.buf};
    CHECK(recvmsg(sv[1], &rmsg, 0) == 1);
    struct cmsghdr *c = CMSG_FIRSTHDR(&rmsg);
    CHECK(c != NULL && c->cmsg_type == SCM_CREDENTIALS);
    struct ucred got;
    memcpy(&got, CMSG_DATA(c), sizeof got);
    CHECK(got.pid == getpid() && got.uid == getuid() && got.gid == getgid());

    /* Explicit credentials: our own are accepted. */
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"b", 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                         .msg_controllen = sizeof u.buf};
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred mine = {getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    CHECK(sendmsg(sv[0], &msg, 0) == 1);
    rmsg.msg_controllen = sizeof r.buf;
    CHECK(recvmsg(sv[1], &rmsg, 0) == 1);
    c = CMSG_FIRSTHDR(&rmsg);
    CHECK(c != NULL && c->cmsg_type == SCM_CREDENTIALS);
    memcpy(&got, CMSG_DATA(c), sizeof got);
    CHECK(got.pid == mine.pid && got.uid == mine.uid);
    /* Someone else's pid is refused unless we are root. */
    if (geteuid() != 0) {
        mine.pid = getpid() + 1;
        memcpy(CMSG_DATA(c = CMSG_FIRSTHDR(&msg)), &mine, sizeof mine);
        CHECK_ERR(sendmsg(sv[0], &msg, 0), EPERM);
    }
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_sockopts(void) {
    int sv[2];
    CHECK(pair(SOCK_SEQPACKET, sv) == 0);
    int v;
    socklen_t len = sizeof v;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_SEQPACKET);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &len) == 0 && v == AF_UNIX);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len) == 0 && v == 0);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && v > 0);
    v = 1;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v) == 0);
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && v == 4608);
    CHECK_ERR(getsockopt(sv[0], SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
    struct timeval tv = {0, 2000000};
    CHECK_ERR(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM);
    tv.tv_usec = 20000;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    char c;
    CHECK_ERR(recv(sv[0], &c, 1, 0), EAGAIN);
    struct sockaddr_un a;
    len = sizeof a;
    CHECK(getsockname(sv[0], (struct sockaddr *)&a, &len) == 0);
    CHECK(len == 2 && a.sun_family == AF_UNIX);
    len = sizeof a;
    CHECK(getpeername(sv[0], (struct sockaddr *)&a, &len) == 0 && len == 2);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static const char *case_socketpair_errors(void) {
    int sv[2];
    CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM, 5, sv), EPROTONOSUPPORT);
    CHECK_ERR(socketpair(AF_UNIX, SOCK_STREAM | 0x100, 0, sv), EINVAL);
    CHECK_ERR(socketpair(AF_UNIX, 9, 0, sv), ESOCKTNOSUPPORT);
    CHECK_ERR(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
    CHECK_ERR(socketpair(999, SOCK_STREAM, 0, sv), EAFNOSUPPORT);
    CHECK_ERR(shutdown(0 + 999, SHUT_RD), EBADF);
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    CHECK_ERR(shutdown(fd, SHUT_RD), ENOTSOCK);
    close(fd);
    return NULL;
}

static const char *case_unconnected_socket(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(s >= 0);
    char c;
    CHECK_ERR(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
    CHECK_ERR(recv(s, &c, 1, MSG_DONTWAIT), EINVAL);
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    CHECK_ERR(getpeername(s, (struct sockaddr *)&a, &len), ENOTCONN);
    close(s);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(stream_round_trip);
    RUN(stream_writev_readv);
    RUN(dgram_boundaries_and_trunc);
    RUN(seqpacket);
    RUN(msg_peek);
    RUN(nonblocking_full_buffer);
    RUN(msg_dontwait);
    RUN(shutdown_eof);
    RUN(epipe_nosignal);
    RUN(epipe_raises_sigpipe);
    RUN(scm_rights);
    RUN(scm_rights_ctrunc);
    RUN(peercred);
    RUN(passcred);
    RUN(sockopts);
    RUN(socketpair_errors);
    RUN(unconnected_socket);
    return 0;
}
