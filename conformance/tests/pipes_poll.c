/* pipes_poll: pipes, eventfds, poll/select/epoll on them (single process). */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static long elapsed_ms(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* Bytes written to a pipe come out of the read end in order. */
static const char *case_write_then_read(void) {
    int p[2];
    char buf[16];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "hello", 5) == 5);
    CHECK(write(p[1], "world", 5) == 5);
    CHECK(read(p[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0);
    CHECK(read(p[0], buf, sizeof buf) == 7 && memcmp(buf, "loworld", 7) == 0);
    CHECK_ERR(write(p[0], "x", 1), EBADF);
    CHECK_ERR(read(p[1], buf, 1), EBADF);
    CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
    close(p[0]);
    close(p[1]);
    return NULL;
}

/* pipe2 flags: O_NONBLOCK and O_CLOEXEC land where they belong; junk is EINVAL. */
static const char *case_pipe2_flags(void) {
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK(fcntl(p[0], F_GETFL) == (O_RDONLY | O_NONBLOCK));
    CHECK(fcntl(p[1], F_GETFL) == (O_WRONLY | O_NONBLOCK));
    CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    close(p[0]);
    close(p[1]);
    CHECK_ERR(pipe2(p, O_APPEND), EINVAL);
    return NULL;
}

/* An empty O_NONBLOCK pipe reads EAGAIN; a full one writes EAGAIN, or a
 * partial count for a large write. */
static const char *case_nonblock_eagain(void) {
    int p[2];
    char buf[4096];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    CHECK_ERR(read(p[0], buf, sizeof buf), EAGAIN);
    static char big[100000];
    ssize_t n = write(p[1], big, sizeof big);
    CHECK(n == 65536);
    CHECK_ERR(write(p[1], "x", 1), EAGAIN);
    CHECK(read(p[0], buf, 100) == 100);
    /* 100 bytes free: an atomic write of 200 still does not fit. */
    CHECK_ERR(write(p[1], big, 200), EAGAIN);
    close(p[0]);
    close(p[1]);
    return NULL;
}

/* With every write end closed, read drains the data then returns 0. */
static const char *case_eof_after_close(void) {
    int p[2];
    char buf[8];
    CHECK(pipe(p) == 0);
    int w2 = dup(p[1]);
    CHECK(write(p[1], "ab", 2) == 2);
    close(p[1]);
    CHECK(read(p[0], buf, 1) == 1);
    close(w2);
    CHECK(read(p[0], buf, sizeof buf) == 1 && buf[0] == 'b');
    CHECK(read(p[0], buf, sizeof buf) == 0);
    close(p[0]);
    return NULL;
}

/* No readers: EPIPE (SIGPIPE ignored); with a handler SIGPIPE arrives. */
static volatile sig_atomic_t got_sigpipe;
static void on_sigpipe(int sig) {
    (void)sig;
    got_sigpipe++;
}

static const char *case_epipe(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    close(p[1]);
    return NULL;
}

static const char *case_sigpipe_delivered(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    got_sigpipe = 0;
    signal(SIGPIPE, on_sigpipe);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    signal(SIGPIPE, SIG_IGN);
    CHECK(got_sigpipe == 1);
    close(p[1]);
    return NULL;
}

/* F_GETPIPE_SZ/F_SETPIPE_SZ: default 64 KiB, rounding up to pages, EBUSY
 * when shrinking below the data held, EBADF on a non-pipe. */
static const char *case_pipe_size(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(fcntl(p[0], F_GETPIPE_SZ) == 65536);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 5000) == 8192);
    CHECK(fcntl(p[0], F_GETPIPE_SZ) == 8192);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 1) == 4096);
    CHECK(fcntl(p[1], F_SETPIPE_SZ, 1 << 18) == 1 << 18);
    static char big[20000];
    CHECK(write(p[1], big, sizeof big) == sizeof big);
    CHECK_ERR(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
    CHECK(fcntl(p[0], F_GETPIPE_SZ) == 1 << 18);
    int fd;
    CHECK_OK(fd, open("/dev/null", O_RDONLY));
    CHECK_ERR(fcntl(fd, F_GETPIPE_SZ), EBADF);
    close(fd);
    close(p[0]);
    close(p[1]);
    return NULL;
}

/* FIONREAD reports the bytes waiting in the pipe. */
static const char *case_fionread(void) {
    int p[2], n = -1;
    char buf[8];
    CHECK(pipe(p) == 0);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 0);
    CHECK(write(p[1], "12345", 5) == 5);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 5);
    CHECK(read(p[0], buf, 2) == 2);
    CHECK(ioctl(p[0], FIONREAD, &n) == 0 && n == 3);
    close(p[0]);
    close(p[1]);
    return NULL;
}

/* fstat: a FIFO, both ends one inode, a new inode per pipe. */
static const char *case_fstat(void) {
    int p[2], q[2];
    struct stat a, b, c;
    CHECK(pipe(p) == 0 && pipe(q) == 0);
    CHECK(fstat(p[0], &a) == 0 && fstat(p[1], &b) == 0 && fstat(q[0], &c) == 0);
    CHECK(S_ISFIFO(a.st_mode));
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    CHECK(a.st_ino != c.st_ino);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    return NULL;
}

/* O_DIRECT: each write is a packet; a short read discards the rest. */
static const char *case_packet_mode(void) {
    int p[2];
    char buf[16];
    if (pipe2(p, O_DIRECT) != 0)
        return NULL; /* kernels without packet mode */
    CHECK(write(p[1], "abcdef", 6) == 6);
    CHECK(write(p[1], "xyz", 3) == 3);
    CHECK(read(p[0], buf, 2) == 2 && memcmp(buf, "ab", 2) == 0);
    CHECK(read(p[0], buf, sizeof buf) == 3 && memcmp(buf, "xyz", 3) == 0);
    close(p[0]);
    close(p[1]);
    return NULL;
}

/* poll: readiness of both ends, POLLHUP/POLLERR, POLLNVAL, zero and short timeouts. */
static const char *case_poll_pipe(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd fds[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    CHECK(poll(fds, 3, 0) == 1);
    CHECK(fds[0].revents == 0 && fds[1].revents == POLLOUT && fds[2].revents == 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(poll(fds, 1, 50) == 0);
    long ms = elapsed_ms(&t0);
    CHECK(ms >= 45 && ms < 2000);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(poll(fds, 1, -1) == 1 && fds[0].revents == POLLIN);
    close(p[1]);
    CHECK(poll(fds, 1, 0) == 1 && fds[0].revents == (POLLIN | POLLHUP));
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    CHECK(poll(fds, 1, 0) == 1 && fds[0].revents == POLLHUP);
    struct pollfd bad = {p[1], POLLIN, 0}; /* closed above */
    CHECK(poll(&bad, 1, 0) == 1 && bad.revents == POLLNVAL);

    int q[2];
    CHECK(pipe(q) == 0);
    close(q[0]);
    struct pollfd w = {q[1], POLLOUT, 0};
    CHECK(poll(&w, 1, 0) == 1 && (w.revents & POLLERR));
    close(q[1]);
    close(p[0]);
    CHECK_ERR(syscall(SYS_poll, fds, 1UL << 30, 0), EINVAL);
    return NULL;
}

/* ppoll with a timespec and a signal mask. */
static const char *case_ppoll(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd fds = {p[0], POLLIN, 0};
    struct timespec ts = {0, 20 * 1000 * 1000};
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    CHECK(ppoll(&fds, 1, &ts, &mask) == 0);
    CHECK(write(p[1], "x", 1) == 1);
    ts.tv_sec = 5;
    CHECK(ppoll(&fds, 1, &ts, NULL) == 1 && fds.revents == POLLIN);
    ts.tv_nsec = -1;
    CHECK_ERR(ppoll(&fds, 1, &ts, NULL), EINVAL);
    close(p[0]);
    close(p[1]);
    return NULL;
}

/* select: sets rewritten with results, EBADF for closed fds, EINVAL for
 * nfds < 0, the timeout written back. */
static const char *case_select(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    struct timeval tv = {0, 0};
    int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;
    CHECK(select(nfds, &r, &w, NULL, &tv) == 1);
    CHECK(!FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w));

    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    CHECK(select(nfds, &r, NULL, NULL, &tv) == 0);
    CHECK(!FD_ISSET(p[0], &r));
    CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);

    CHECK(write(p[1], "x", 1) == 1);
    FD_SET(p[0], &r);
    tv.tv_sec = 10;
    tv.tv_usec = 0;
    CHECK(select(nfds, &r, NULL, NULL, &tv) == 1 && FD_ISSET(p[0], &r));
    CHECK(tv.tv_sec >= 8 && tv.tv_sec <= 10);

    CHECK_ERR(select(-1, NULL, NULL, NULL, &tv), EINVAL);
    int closed = dup(p[0]);
    close(closed);
    FD_ZERO(&r);
    FD_SET(closed, &r);
    tv.tv_sec = 0;
    CHECK_ERR(select(closed + 1, &r, NULL, NULL, &tv), EBADF);
    tv.tv_usec = -1;
    FD_ZERO(&r);
    CHECK_ERR(select(1, &r, NULL, NULL, &tv), EINVAL);

    /* pselect with a mask */
    struct timespec ts = {0, 0};
    sigset_t mask;
    sigemptyset(&mask);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    CHECK(pselect(nfds, &r, NULL, NULL, &ts, &mask) == 1 && FD_ISSET(p[0], &r));
    close(p[0]);
    close(p[1]);
    return NULL;
}

/* eventfd: counter semantics, short buffers, overflow, readiness. */
static const char *case_eventfd(void) {
    int fd;
    uint64_t v;
    CHECK_OK(fd, eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC));
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    v = 4;
    CHECK(write(fd, &v, 8) == 8);
    CHECK(read(fd, &v, 8) == 8 && v == 7);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    char small[4];
    CHECK_ERR(read(fd, small, 4), EINVAL);
    CHECK_ERR(write(fd, small, 4), EINVAL);
    v = UINT64_MAX;
    CHECK_ERR(write(fd, &v, 8), EINVAL);
    v = UINT64_MAX - 1;
    CHECK(write(fd, &v, 8) == 8);
    v = 1;
    CHECK_ERR(write(fd, &v, 8), EAGAIN);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLIN);
    CHECK(read(fd, &v, 8) == 8 && v == UINT64_MAX - 1);
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT);
    close(fd);
    CHECK_ERR(eventfd(0, 0x12345), EINVAL);
    return NULL;
}

/* EFD_SEMAPHORE: each read takes one. */
static const char *case_eventfd_semaphore(void) {
    int fd;
    uint64_t v;
    CHECK_OK(fd, eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK));
    CHECK(read(fd, &v, 8) == 8 && v == 1);
    CHECK(read(fd, &v, 8) == 8 && v == 1);
    CHECK_ERR(read(fd, &v, 8), EAGAIN);
    close(fd);
    return NULL;
}

/* epoll: level-triggered reporting on pipes and eventfds, data round trip,
 * ctl errors, short timeouts. */
static const char *case_epoll_level(void) {
    int ep, p[2], efd;
    CHECK_OK(ep, epoll_create1(EPOLL_CLOEXEC));
    CHECK(fcntl(ep, F_GETFD) == FD_CLOEXEC);
    CHECK(pipe(p) == 0);
    CHECK_OK(efd, eventfd(0, EFD_NONBLOCK));
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
    ev.data.u64 = 99;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    struct epoll_event out[4];
    CHECK(epoll_wait(ep, out, 4, 0) == 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(epoll_wait(ep, out, 4, 30) == 0);
    CHECK(elapsed_ms(&t0) >= 25);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(epoll_wait(ep, out, 4, -1) == 1);
    CHECK(out[0].events == EPOLLIN && out[0].data.u64 == 0x1122334455667788ULL);
    CHECK(epoll_wait(ep, out, 4, 0) == 1); /* still ready: level */
    uint64_t one = 1;
    CHECK(write(efd, &one, 8) == 8);
    CHECK(epoll_wait(ep, out, 4, 0) == 2);
    /* The epoll fd itself polls readable. */
    struct pollfd pf = {ep, POLLIN, 0};
    CHECK(poll(&pf, 1, 0) == 1 && pf.revents == POLLIN);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL) == 0);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL), ENOENT);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev), ENOENT);
    CHECK(epoll_wait(ep, out, 4, 0) == 1);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    CHECK_ERR(epoll_ctl(p[0], EPOLL_CTL_ADD, efd, &ev), EINVAL);
    CHECK_ERR(epoll_ctl(ep, 42, efd, &ev), EINVAL);
    CHECK_ERR(epoll_wait(ep, out, 0, 0), EINVAL);
    CHECK_ERR(epoll_wait(p[0], out, 1, 0), EINVAL);
    int reg;
    CHECK_OK(reg, open("/etc/passwd", O_RDONLY));
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev), EPERM);
    close(reg);
    /* Closing the last reference to a watched file removes it. */
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    close(p[1]);
    CHECK(epoll_wait(ep, out, 4, 0) == 1 && out[0].events == EPOLLHUP);
    close(p[0]);
    CHECK(epoll_wait(ep, out, 4, 0) == 0);
    close(efd);
    close(ep);
    return NULL;
}

/* EPOLLET: one report per new event, again after drain and refill. */
static const char *case_epoll_edge(void) {
    int ep, p[2];
    CHECK_OK(ep, epoll_create(1));
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = p[0]};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    struct epoll_event out[2];
    CHECK(epoll_wait(ep, out, 2, 0) == 0);
    CHECK(write(p[1], "ab", 2) == 2);
    CHECK(epoll_wait(ep, out, 2, 0) == 1 && out[0].data.fd == p[0]);
    CHECK(epoll_wait(ep, out, 2, 20) == 0); /* no new edge */
    char buf[8];
    CHECK(read(p[0], buf, sizeof buf) == 2);
    CHECK(write(p[1], "c", 1) == 1);
    CHECK(epoll_wait(ep, out, 2, 0) == 1);
    CHECK(epoll_wait(ep, out, 2, 0) == 0);
    /* An output edge for the write end. */
    ev.events = EPOLLOUT | EPOLLET;
    ev.data.fd = p[1];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev) == 0);
    CHECK(epoll_wait(ep, out, 2, 0) == 1 && out[0].events == EPOLLOUT);
    CHECK(epoll_wait(ep, out, 2, 0) == 0);
    close(p[0]);
    close(p[1]);
    close(ep);
    return NULL;
}

/* EPOLLONESHOT: reported once, then silent until EPOLL_CTL_MOD re-arms it. */
static const char *case_epoll_oneshot(void) {
    int ep, efd;
    CHECK_OK(ep, epoll_create1(0));
    CHECK_OK(efd, eventfd(1, EFD_NONBLOCK));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = 5};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    struct epoll_event out[2];
    CHECK(epoll_wait(ep, out, 2, 0) == 1 && out[0].data.u32 == 5);
    CHECK(epoll_wait(ep, out, 2, 0) == 0);
    ev.data.u32 = 6;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) == 0);
    CHECK(epoll_wait(ep, out, 2, 0) == 1 && out[0].data.u32 == 6);
    CHECK(epoll_wait(ep, out, 2, 0) == 0);
    /* EPOLLEXCLUSIVE: ADD only. */
    int e2;
    CHECK_OK(e2, eventfd(0, 0));
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e2, &ev) == 0);
    CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, e2, &ev), EINVAL);
    close(e2);
    close(efd);
    close(ep);
    return NULL;
}

/* Nested epoll: an inner instance in an outer one; a cycle is ELOOP. */
static const char *case_epoll_nested(void) {
    int a, b, efd;
    CHECK_OK(a, epoll_create1(0));
    CHECK_OK(b, epoll_create1(0));
    CHECK_OK(efd, eventfd(0, EFD_NONBLOCK));
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(epoll_ctl(a, EPOLL_CTL_ADD, b, &ev) == 0);
    CHECK_ERR(epoll_ctl(b, EPOLL_CTL_ADD, a, &ev), ELOOP);
    CHECK(epoll_ctl(b, EPOLL_CTL_ADD, efd, &ev) == 0);
    struct epoll_event out[2];
    CHECK(epoll_wait(a, out, 2, 0) == 0);
    uint64_t one = 1;
    CHECK(write(efd, &one, 8) == 8);
    CHECK(epoll_wait(a, out, 2, 100) == 1 && out[0].events == EPOLLIN);
    close(efd);
    close(b);
    close(a);
    return NULL;
}

/* epoll_pwait2 with a timespec timeout. */
static const char *case_epoll_pwait2(void) {
#ifdef SYS_epoll_pwait2
    int ep, efd;
    CHECK_OK(ep, epoll_create1(0));
    CHECK_OK(efd, eventfd(0, 0));
    struct epoll_event ev = {.events = EPOLLIN}, out[1];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(syscall(SYS_epoll_pwait2, ep, out, 1, &ts, NULL, 8) == 0);
    CHECK(elapsed_ms(&t0) >= 15);
    uint64_t one = 1;
    CHECK(write(efd, &one, 8) == 8);
    CHECK(syscall(SYS_epoll_pwait2, ep, out, 1, NULL, NULL, 8) == 1);
    close(efd);
    close(ep);
#endif
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(write_then_read);
    RUN(pipe2_flags);
    RUN(nonblock_eagain);
    RUN(eof_after_close);
    RUN(epipe);
    RUN(sigpipe_delivered);
    RUN(pipe_size);
    RUN(fionread);
    RUN(fstat);
    RUN(packet_mode);
    RUN(poll_pipe);
    RUN(ppoll);
    RUN(select);
    RUN(eventfd);
    RUN(eventfd_semaphore);
    RUN(epoll_level);
    RUN(epoll_edge);
    RUN(epoll_oneshot);
    RUN(epoll_nested);
    RUN(epoll_pwait2);
    return 0;
}
