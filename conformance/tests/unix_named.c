/* unix_named: named AF_UNIX sockets: bind (paths, abstract names,
 * autobind), listen/accept/connect, addressed datagrams, names reported by
 * getsockname/getpeername/accept/recvfrom, SO_PEERCRED, unlink and rename
 * of the socket node, and the errno cases. */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static socklen_t mkaddr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path, path, sizeof a->sun_path - 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static socklen_t mkabstract(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static int bound(int type, const char *path) {
    struct sockaddr_un a;
    socklen_t len = mkaddr(&a, path);
    int s = socket(AF_UNIX, type, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, len) != 0)
        return -1;
    return s;
}

static int connect_to(int type, const char *path) {
    struct sockaddr_un a;
    socklen_t len = mkaddr(&a, path);
    int s = socket(AF_UNIX, type, 0);
    if (s < 0)
        return -1;
    if (connect(s, (struct sockaddr *)&a, len) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

static const char *case_bind_creates_node(void) {
    unlink("n1");
    mode_t old = umask(022);
    int s = bound(SOCK_STREAM, "n1");
    umask(old);
    CHECK(s >= 0);
    struct stat st;
    CHECK(stat("n1", &st) == 0 && S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0755);
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    CHECK(len == offsetof(struct sockaddr_un, sun_path) + 3);
    CHECK(strcmp(a.sun_path, "n1") == 0);
    /* A short buffer gets a prefix and the full length. */
    len = 3;
    memset(&a, 0x7f, sizeof a);
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0 && len == 5 && a.sun_path[0] == 'n' && a.sun_path[1] == 0x7f);
    struct sockaddr_un b;
    socklen_t blen = mkaddr(&b, "n1");
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(bind(t, (struct sockaddr *)&b, blen), EADDRINUSE);
    blen = mkaddr(&b, "n1-other");
    CHECK_ERR(bind(s, (struct sockaddr *)&b, blen), EINVAL);
    CHECK_ERR(bind(t, (struct sockaddr *)&b, 1), EINVAL);
    b.sun_family = AF_INET;
    CHECK_ERR(bind(t, (struct sockaddr *)&b, blen), EINVAL);
    close(t);
    close(s);
    /* The node outlives the socket: binding again needs an unlink. */
    CHECK(stat("n1", &st) == 0);
    t = bound(SOCK_STREAM, "n1");
    CHECK(t < 0 && errno == EADDRINUSE);
    CHECK(unlink("n1") == 0);
    return NULL;
}

static const char *case_listen_connect_accept(void) {
    unlink("n2");
    int l = bound(SOCK_STREAM, "n2");
    CHECK(l >= 0);
    int v = -1;
    socklen_t vl = sizeof v;
    CHECK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 0);
    CHECK(listen(l, 5) == 0);
    CHECK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1);
    int c = connect_to(SOCK_STREAM, "n2");
    CHECK(c >= 0);
    struct pollfd p = {l, POLLIN, 0};
    CHECK(poll(&p, 1, 1000) == 1 && (p.revents & POLLIN));
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    memset(&a, 0x55, sizeof a);
    int s = accept4(l, (struct sockaddr *)&a, &len, SOCK_CLOEXEC);
    CHECK(s >= 0);
    CHECK(len == offsetof(struct sockaddr_un, sun_path) && a.sun_family == AF_UNIX);
    CHECK(fcntl(s, F_GETFD) == FD_CLOEXEC);
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 0);
    CHECK(write(c, "hello", 5) == 5);
    char buf[16] = {0};
    CHECK(read(s, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(send(s, "back", 4, 0) == 4);
    CHECK(recv(c, buf, sizeof buf, 0) == 4 && memcmp(buf, "back", 4) == 0);
    len = sizeof a;
    CHECK(getpeername(c, (struct sockaddr *)&a, &len) == 0 && len == 5 && strcmp(a.sun_path, "n2") == 0);
    len = sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0 && len == 5 && strcmp(a.sun_path, "n2") == 0);
    len = sizeof a;
    CHECK(getpeername(s, (struct sockaddr *)&a, &len) == 0 && len == offsetof(struct sockaddr_un, sun_path));
    len = sizeof a;
    CHECK(getsockname(c, (struct sockaddr *)&a, &len) == 0 && len == offsetof(struct sockaddr_un, sun_path));
    CHECK_ERR(connect(c, (struct sockaddr *)&a, mkaddr(&a, "n2")), EISCONN);
    /* Closing the client gives the server EOF. */
    close(c);
    CHECK(read(s, buf, sizeof buf) == 0);
    close(s);
    close(l);
    unlink("n2");
    return NULL;
}

static const char *case_connect_errors(void) {
    unlink("n3");
    unlink("n3d");
    struct sockaddr_un a;
    socklen_t len = mkaddr(&a, "missing-socket");
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, len), ENOENT);
    CHECK_ERR(connect(c, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)), EINVAL);
    int s = bound(SOCK_STREAM, "n3");
    CHECK(s >= 0);
    len = mkaddr(&a, "n3");
    CHECK_ERR(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED);
    int d = bound(SOCK_DGRAM, "n3d");
    CHECK(d >= 0);
    len = mkaddr(&a, "n3d");
    CHECK_ERR(connect(c, (struct sockaddr *)&a, len), EPROTOTYPE);
    /* A regular file is no socket. */
    int f = open("n3f", O_CREAT | O_WRONLY, 0666);
    CHECK(f >= 0);
    close(f);
    len = mkaddr(&a, "n3f");
    CHECK_ERR(connect(c, (struct sockaddr *)&a, len), ECONNREFUSED);
    unlink("n3f");
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(listen(u, 1), EINVAL);
    CHECK_ERR(accept(u, NULL, NULL), EINVAL);
    CHECK_ERR(listen(d, 1), EOPNOTSUPP);
    CHECK_ERR(accept(d, NULL, NULL), EOPNOTSUPP);
    CHECK(listen(s, 1) == 0);
    CHECK_ERR(accept4(s, NULL, NULL, 0x40), EINVAL);
    int nb = fcntl(s, F_GETFL);
    CHECK(fcntl(s, F_SETFL, nb | O_NONBLOCK) == 0);
    CHECK_ERR(accept(s, NULL, NULL), EAGAIN);
    close(u);
    close(c);
    close(d);
    close(s);
    unlink("n3");
    unlink("n3d");
    return NULL;
}

static const char *case_backlog_full(void) {
    unlink("n4");
    int l = bound(SOCK_STREAM, "n4");
    CHECK(l >= 0 && listen(l, 0) == 0);
    struct sockaddr_un a;
    socklen_t len = mkaddr(&a, "n4");
    int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(connect(c1, (struct sockaddr *)&a, len) == 0);
    CHECK_ERR(connect(c2, (struct sockaddr *)&a, len), EAGAIN);
    /* A larger backlog lets it in. */
    CHECK(listen(l, 4) == 0);
    CHECK(connect(c2, (struct sockaddr *)&a, len) == 0);
    int s1 = accept(l, NULL, NULL), s2 = accept(l, NULL, NULL);
    CHECK(s1 >= 0 && s2 >= 0);
    close(s1);
    close(s2);
    close(c1);
    close(c2);
    close(l);
    unlink("n4");
    return NULL;
}

static const char *case_abstract_and_autobind(void) {
    char name[64];
    snprintf(name, sizeof name, "rvisor-abs-%d", (int)getpid());
    struct sockaddr_un a;
    socklen_t len = mkabstract(&a, name);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(l, (struct sockaddr *)&a, len) == 0 && listen(l, 1) == 0);
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_ERR(bind(t, (struct sockaddr *)&a, len), EADDRINUSE);
    struct sockaddr_un got;
    socklen_t glen = sizeof got;
    CHECK(getsockname(l, (struct sockaddr *)&got, &glen) == 0 && glen == len);
    CHECK(got.sun_path[0] == 0 && memcmp(got.sun_path + 1, name, strlen(name)) == 0);
    CHECK(connect(t, (struct sockaddr *)&a, len) == 0);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    close(s);
    close(t);
    close(l);
    /* The name is free again once the socket is closed. */
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(l, (struct sockaddr *)&a, len) == 0);
    close(l);
    /* Autobind: five hex digits in the abstract namespace. */
    int b = socket(AF_UNIX, SOCK_DGRAM, 0);
    a.sun_family = AF_UNIX;
    CHECK(bind(b, (struct sockaddr *)&a, sizeof(sa_family_t)) == 0);
    glen = sizeof got;
    CHECK(getsockname(b, (struct sockaddr *)&got, &glen) == 0);
    CHECK(glen == offsetof(struct sockaddr_un, sun_path) + 6);
    CHECK(got.sun_path[0] == 0);
    for (int i = 1; i <= 5; i++)
        CHECK(strchr("0123456789abcdef", got.sun_path[i]) != NULL);
    close(b);
    return NULL;
}

static const char *case_dgram_addresses(void) {
    unlink("n5a");
    unlink("n5b");
    int a = bound(SOCK_DGRAM, "n5a"), b = bound(SOCK_DGRAM, "n5b");
    CHECK(a >= 0 && b >= 0);
    struct sockaddr_un to, from;
    socklen_t tolen = mkaddr(&to, "n5b"), flen = sizeof from;
    CHECK(sendto(a, "one", 3, 0, (struct sockaddr *)&to, tolen) == 3);
    char buf[16];
    CHECK(recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 3);
    CHECK(flen == 6 && strcmp(from.sun_path, "n5a") == 0);
    /* An unnamed sender reports no address. */
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(sendto(u, "two", 3, 0, (struct sockaddr *)&to, tolen) == 3);
    flen = sizeof from;
    CHECK(recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 3 && flen == 0);
    /* recvmsg reports the name too. */
    CHECK(sendto(a, "3", 1, 0, (struct sockaddr *)&to, tolen) == 1);
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    CHECK(recvmsg(b, &m, 0) == 1 && m.msg_namelen == 6 && strcmp(from.sun_path, "n5a") == 0);
    /* connect sets the default destination. */
    CHECK_ERR(send(u, "x", 1, 0), ENOTCONN);
    CHECK(connect(u, (struct sockaddr *)&to, tolen) == 0);
    CHECK(send(u, "four", 4, 0) == 4);
    CHECK(recv(b, buf, sizeof buf, 0) == 4);
    flen = sizeof from;
    CHECK(getpeername(u, (struct sockaddr *)&from, &flen) == 0 && strcmp(from.sun_path, "n5b") == 0);
    /* b connected to a: u may no longer send to b. */
    struct sockaddr_un aa;
    socklen_t alen = mkaddr(&aa, "n5a");
    CHECK(connect(b, (struct sockaddr *)&aa, alen) == 0);
    CHECK_ERR(send(u, "x", 1, 0), EPERM);
    CHECK(sendto(a, "ok", 2, 0, (struct sockaddr *)&to, tolen) == 2);
    CHECK(recv(b, buf, sizeof buf, 0) == 2);
    /* Missing path; stream target. */
    struct sockaddr_un bad;
    socklen_t blen = mkaddr(&bad, "n5-missing");
    CHECK_ERR(sendto(a, "x", 1, 0, (struct sockaddr *)&bad, blen), ENOENT);
    /* The peer closes: reported once, then unconnected. */
    close(b);
    CHECK_ERR(send(u, "x", 1, 0), ECONNREFUSED);
    close(u);
    close(a);
    unlink("n5a");
    unlink("n5b");
    return NULL;
}

static const char *case_peercred_across_fork(void) {
    unlink("n6");
    int l = bound(SOCK_STREAM, "n6");
    CHECK(l >= 0 && listen(l, 1) == 0);
    pid_t parent = getpid();
    int sv[2];
    CHECK(pipe(sv) == 0);
    pid_t child = fork();
    if (child == 0) {
        int c = connect_to(SOCK_STREAM, "n6");
        struct ucred cr;
        socklen_t cl = sizeof cr;
        int ok = c >= 0 && getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.pid == parent;
        char r = ok ? 'y' : 'n';
        if (write(sv[1], &r, 1) != 1)
            _exit(2);
        char buf[4];
        if (c >= 0 && read(c, buf, sizeof buf) < 0)
            _exit(3);
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0);
    CHECK(cr.pid == child && cr.uid == geteuid() && cr.gid == getegid());
    char r = 0;
    CHECK(read(sv[0], &r, 1) == 1 && r == 'y');
    close(s);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sv[0]);
    close(sv[1]);
    close(l);
    unlink("n6");
    return NULL;
}

static const char *case_blocking_accept_wakes(void) {
    unlink("n7");
    int l = bound(SOCK_STREAM, "n7");
    CHECK(l >= 0 && listen(l, 1) == 0);
    pid_t child = fork();
    if (child == 0) {
        usleep(50000);
        int c = connect_to(SOCK_STREAM, "n7");
        if (c < 0 || write(c, "z", 1) != 1)
            _exit(1);
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    char z = 0;
    CHECK(read(s, &z, 1) == 1 && z == 'z');
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(s);
    close(l);
    unlink("n7");
    return NULL;
}

static void on_alarm(int sig) {
    (void)sig;
}

static const char *case_accept_interrupted(void) {
    unlink("n7i");
    int l = bound(SOCK_STREAM, "n7i");
    CHECK(l >= 0 && listen(l, 1) == 0);
    struct sigaction sa = {.sa_handler = on_alarm};
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    alarm(1);
    CHECK_ERR(accept(l, NULL, NULL), EINTR);
    signal(SIGALRM, SIG_DFL);
    close(l);
    unlink("n7i");
    return NULL;
}

static const char *case_unlink_and_rename(void) {
    unlink("n8");
    unlink("n8b");
    int l = bound(SOCK_STREAM, "n8");
    CHECK(l >= 0 && listen(l, 4) == 0);
    int c = connect_to(SOCK_STREAM, "n8");
    CHECK(c >= 0);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    /* A renamed node still reaches the socket. */
    CHECK(rename("n8", "n8b") == 0);
    int c2 = connect_to(SOCK_STREAM, "n8b");
    CHECK(c2 >= 0);
    CHECK(connect_to(SOCK_STREAM, "n8") < 0 && errno == ENOENT);
    /* Unlinked: existing connections work, new ones cannot find it. */
    CHECK(unlink("n8b") == 0);
    CHECK(connect_to(SOCK_STREAM, "n8b") < 0 && errno == ENOENT);
    CHECK(write(c, "still", 5) == 5);
    char buf[8];
    CHECK(read(s, buf, sizeof buf) == 5);
    /* A new node at the old name is not the old socket. */
    int f = bound(SOCK_STREAM, "n8b");
    CHECK(f >= 0);
    CHECK(connect_to(SOCK_STREAM, "n8b") < 0 && errno == ECONNREFUSED);
    close(f);
    close(c2);
    close(c);
    close(s);
    close(l);
    unlink("n8b");
    return NULL;
}

static const char *case_permission_denied(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rvisor-un-%d", (int)getpid());
    unlink(path);
    int l = bound(SOCK_STREAM, path);
    CHECK(l >= 0 && listen(l, 1) == 0);
    CHECK(chmod(path, 0700) == 0);
    pid_t child = fork();
    if (child == 0) {
        if (setuid(65534) != 0)
            _exit(2);
        int c = connect_to(SOCK_STREAM, path);
        _exit(c < 0 && errno == EACCES ? 0 : 1);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    close(l);
    unlink(path);
    return NULL;
}

static const char *case_seqpacket_named(void) {
    unlink("n9");
    int l = bound(SOCK_SEQPACKET, "n9");
    CHECK(l >= 0 && listen(l, 1) == 0);
    int c = connect_to(SOCK_SEQPACKET, "n9");
    CHECK(c >= 0);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    CHECK(send(c, "ab", 2, 0) == 2 && send(c, "cde", 3, 0) == 3);
    char buf[8];
    CHECK(recv(s, buf, sizeof buf, 0) == 2 && recv(s, buf, sizeof buf, 0) == 3);
    CHECK(connect_to(SOCK_STREAM, "n9") < 0 && errno == EPROTOTYPE);
    close(c);
    close(s);
    close(l);
    unlink("n9");
    return NULL;
}

static const char *case_listener_close_resets_pending(void) {
    unlink("n10");
    int l = bound(SOCK_STREAM, "n10");
    CHECK(l >= 0 && listen(l, 1) == 0);
    int c = connect_to(SOCK_STREAM, "n10");
    CHECK(c >= 0);
    close(l);
    char b;
    CHECK_ERR(read(c, &b, 1), ECONNRESET);
    close(c);
    unlink("n10");
    return NULL;
}

static const char *case_proc_net_unix(void) {
    unlink("n11");
    int l = bound(SOCK_STREAM, "n11");
    CHECK(l >= 0 && listen(l, 1) == 0);
    struct stat st;
    CHECK(fstat(l, &st) == 0);
    FILE *f = fopen("/proc/net/unix", "r");
    CHECK(f != NULL);
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long ino;
        unsigned flags, type, state;
        char path[256] = "";
        if (sscanf(line, "%*x: %*x %*x %x %x %x %lu %255s", &flags, &type, &state, &ino, path) >= 4 && ino == st.st_ino) {
            found = flags == 0x10000 && type == 1 && state == 1 && strstr(path, "n11") != NULL;
        }
    }
    fclose(f);
    CHECK(found);
    close(l);
    unlink("n11");
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(bind_creates_node);
    RUN(listen_connect_accept);
    RUN(connect_errors);
    RUN(backlog_full);
    RUN(abstract_and_autobind);
    RUN(dgram_addresses);
    RUN(peercred_across_fork);
    RUN(blocking_accept_wakes);
    RUN(accept_interrupted);
    RUN(unlink_and_rename);
    RUN(permission_denied);
    RUN(seqpacket_named);
    RUN(listener_close_resets_pending);
    RUN(proc_net_unix);
    return 0;
}
