/* inotify: instances, watches, events of file and directory operations,
 * read semantics, readiness and the queue limit. Everything happens under a
 * fresh mkdtemp directory in /tmp. */
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAXEV 64

struct ev {
    int wd;
    unsigned mask, cookie;
    char name[64];
};

static struct ev evs[MAXEV];
static char tmpdir[64];

/* Reads every queued event (non-blocking fd) into evs; the count. */
static int drain(int in) {
    static char buf[65536] __attribute__((aligned(8)));
    int count = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (void *)p;
            if (count < MAXEV) {
                evs[count].wd = e->wd;
                evs[count].mask = e->mask;
                evs[count].cookie = e->cookie;
                snprintf(evs[count].name, sizeof evs[count].name, "%s", e->len ? e->name : "");
            }
            count++;
            p += sizeof *e + e->len;
        }
    }
    return count;
}

/* Whether evs[i] is (wd, mask, name). */
static int is(int i, int wd, unsigned mask, const char *name) {
    return evs[i].wd == wd && evs[i].mask == mask && strcmp(evs[i].name, name) == 0;
}

static const char *fmt_evs(int n) {
    static char out[1024];
    size_t o = 0;
    for (int i = 0; i < n && i < MAXEV && o < sizeof out - 64; i++)
        o += snprintf(out + o, sizeof out - o, "[%d %#x %s] ", evs[i].wd, evs[i].mask, evs[i].name);
    return out;
}

#define CHECK_EVS(cond, n)                                                   \
    do {                                                                     \
        if (!(cond))                                                         \
            FAILF("line %d: %s; events: %s", __LINE__, #cond, fmt_evs(n));   \
    } while (0)

static const char *path_in(const char *name) {
    static char bufs[4][128];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 128, "%s/%s", tmpdir, name);
    return b;
}

static const char *case_init_and_add_watch_errors(void) {
    int in;
    CHECK_OK(in, inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    CHECK(fcntl(in, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(in, F_GETFL) & O_NONBLOCK);
    CHECK_ERR(inotify_init1(0x1234), EINVAL);
    char buf[256];
    CHECK_ERR(read(in, buf, sizeof buf), EAGAIN);
    CHECK_ERR(inotify_add_watch(in, tmpdir, 0), EINVAL);
    CHECK_ERR(inotify_add_watch(in, tmpdir, IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
    CHECK_ERR(inotify_add_watch(in, path_in("missing"), IN_MODIFY), ENOENT);
    CHECK_ERR(inotify_add_watch(999, tmpdir, IN_MODIFY), EBADF);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK_ERR(inotify_add_watch(p[0], tmpdir, IN_MODIFY), EINVAL);
    CHECK_ERR(inotify_rm_watch(p[0], 1), EINVAL);
    close(p[0]);
    close(p[1]);
    int f;
    CHECK_OK(f, open(path_in("plain"), O_CREAT | O_WRONLY, 0644));
    close(f);
    CHECK_ERR(inotify_add_watch(in, path_in("plain"), IN_MODIFY | IN_ONLYDIR), ENOTDIR);
    CHECK(symlink("plain", path_in("lnk")) == 0);
    int wd1, wd2, wd3;
    CHECK_OK(wd1, inotify_add_watch(in, path_in("lnk"), IN_MODIFY));
    CHECK_OK(wd2, inotify_add_watch(in, path_in("plain"), IN_ATTRIB));
    CHECK(wd1 == wd2); /* the link was followed: same node, same wd */
    CHECK_OK(wd3, inotify_add_watch(in, path_in("lnk"), IN_MODIFY | IN_DONT_FOLLOW));
    CHECK(wd3 != wd1);
    CHECK_ERR(inotify_add_watch(in, path_in("plain"), IN_MODIFY | IN_MASK_CREATE), EEXIST);
    CHECK_ERR(inotify_rm_watch(in, 12345), EINVAL);
    CHECK(inotify_rm_watch(in, wd1) == 0);
    CHECK(inotify_rm_watch(in, wd3) == 0);
    int n = drain(in);
    CHECK_EVS(n == 2 && is(0, wd1, IN_IGNORED, "") && is(1, wd3, IN_IGNORED, ""), n);
    CHECK(unlink(path_in("lnk")) == 0 && unlink(path_in("plain")) == 0);
    close(in);
    /* inotify_init gives a blocking instance. */
    CHECK_OK(in, inotify_init());
    CHECK(!(fcntl(in, F_GETFL) & O_NONBLOCK));
    close(in);
    return NULL;
}

static const char *case_file_events(void) {
    int in, fd;
    CHECK_OK(in, inotify_init1(IN_NONBLOCK));
    int wdd, wdf;
    CHECK_OK(wdd, inotify_add_watch(in, tmpdir, IN_ALL_EVENTS));
    CHECK_OK(fd, open(path_in("f"), O_CREAT | O_RDWR, 0644));
    CHECK_OK(wdf, inotify_add_watch(in, path_in("f"), IN_ALL_EVENTS));
    int n = drain(in);
    CHECK_EVS(n == 2 && is(0, wdd, IN_CREATE, "f") && is(1, wdd, IN_OPEN, "f"), n);
    char c;
    CHECK(write(fd, "x", 1) == 1);
    CHECK(pread(fd, &c, 1, 0) == 1);
    CHECK(close(fd) == 0);
    n = drain(in);
    CHECK_EVS(n == 6, n);
    CHECK_EVS(is(0, wdd, IN_MODIFY, "f") && is(1, wdf, IN_MODIFY, ""), n);
    CHECK_EVS(is(2, wdd, IN_ACCESS, "f") && is(3, wdf, IN_ACCESS, ""), n);
    CHECK_EVS(is(4, wdd, IN_CLOSE_WRITE, "f") && is(5, wdf, IN_CLOSE_WRITE, ""), n);
    /* O_TRUNC: open, then modify; a read-only close. */
    CHECK_OK(fd, open(path_in("f"), O_RDONLY | O_TRUNC));
    close(fd);
    n = drain(in);
    CHECK_EVS(n == 6 && is(0, wdd, IN_OPEN, "f") && is(1, wdf, IN_OPEN, "") && is(2, wdd, IN_MODIFY, "f") &&
                  is(4, wdd, IN_CLOSE_NOWRITE, "f"),
              n);
    /* Attribute changes. */
    CHECK(chmod(path_in("f"), 0600) == 0);
    CHECK(truncate(path_in("f"), 10) == 0);
    CHECK(utimensat(AT_FDCWD, path_in("f"), NULL, 0) == 0);
    n = drain(in);
    CHECK_EVS(n == 6 && is(1, wdf, IN_ATTRIB, "") && is(3, wdf, IN_MODIFY, "") && is(5, wdf, IN_ATTRIB, ""), n);
    /* A hard link: IN_ATTRIB on the file, IN_CREATE in the directory;
     * removing one name of two: IN_ATTRIB and IN_DELETE only. */
    CHECK(link(path_in("f"), path_in("g")) == 0);
    CHECK(unlink(path_in("g")) == 0);
    n = drain(in);
    CHECK_EVS(n == 4 && is(0, wdf, IN_ATTRIB, "") && is(1, wdd, IN_CREATE, "g") && is(2, wdf, IN_ATTRIB, "") &&
                  is(3, wdd, IN_DELETE, "g"),
              n);
    /* The last name: IN_ATTRIB, IN_DELETE_SELF, IN_IGNORED, then IN_DELETE. */
    CHECK(unlink(path_in("f")) == 0);
    n = drain(in);
    CHECK_EVS(n == 4 && is(0, wdf, IN_ATTRIB, "") && is(1, wdf, IN_DELETE_SELF, "") && is(2, wdf, IN_IGNORED, "") &&
                  is(3, wdd, IN_DELETE, "f"),
              n);
    CHECK_ERR(inotify_rm_watch(in, wdf), EINVAL);
    close(in);
    return NULL;
}

static const char *case_directory_events(void) {
    int in, wdd, wds;
    CHECK_OK(in, inotify_init1(IN_NONBLOCK));
    CHECK_OK(wdd, inotify_add_watch(in, tmpdir, IN_ALL_EVENTS));
    CHECK(mkdir(path_in("sub"), 0755) == 0);
    CHECK_OK(wds, inotify_add_watch(in, path_in("sub"), IN_ALL_EVENTS));
    DIR *d = opendir(path_in("sub"));
    CHECK(d != NULL);
    while (readdir(d) != NULL) {
    }
    closedir(d);
    int n = drain(in);
    /* The parent sees the open/read/close of its child directory too. */
    CHECK_EVS(n >= 4 && is(0, wdd, IN_CREATE | IN_ISDIR, "sub") && is(1, wdd, IN_OPEN | IN_ISDIR, "sub") &&
                  is(2, wds, IN_OPEN | IN_ISDIR, ""),
              n);
    CHECK_EVS(is(n - 1, wds, IN_CLOSE_NOWRITE | IN_ISDIR, "") && is(n - 2, wdd, IN_CLOSE_NOWRITE | IN_ISDIR, "sub"),
              n);
    int found_access = 0;
    for (int i = 0; i < n; i++)
        found_access |= is(i, wds, IN_ACCESS | IN_ISDIR, "");
    CHECK_EVS(found_access, n);
    /* Rename: one cookie for both names; the moved node gets IN_MOVE_SELF. */
    CHECK(rename(path_in("sub"), path_in("sub2")) == 0);
    n = drain(in);
    CHECK_EVS(n == 3 && is(0, wdd, IN_MOVED_FROM | IN_ISDIR, "sub") && is(1, wdd, IN_MOVED_TO | IN_ISDIR, "sub2") &&
                  is(2, wds, IN_MOVE_SELF, ""),
              n);
    CHECK(evs[0].cookie != 0 && evs[0].cookie == evs[1].cookie);
    /* Files created in the moved directory reach its watch by name. */
    CHECK(symlink("target", path_in("sub2/l")) == 0);
    CHECK(mknod(path_in("sub2/fifo"), S_IFIFO | 0600, 0) == 0);
    CHECK(unlink(path_in("sub2/l")) == 0 && unlink(path_in("sub2/fifo")) == 0);
    n = drain(in);
    CHECK_EVS(n == 4 && is(0, wds, IN_CREATE, "l") && is(1, wds, IN_CREATE, "fifo") && is(2, wds, IN_DELETE, "l") &&
                  is(3, wds, IN_DELETE, "fifo"),
              n);
    /* Two renames get different cookies. */
    int f;
    CHECK_OK(f, creat(path_in("a"), 0644));
    close(f);
    drain(in);
    CHECK(rename(path_in("a"), path_in("sub2/b")) == 0);
    CHECK(rename(path_in("sub2/b"), path_in("a")) == 0);
    n = drain(in);
    CHECK_EVS(n == 4 && is(0, wdd, IN_MOVED_FROM, "a") && is(1, wds, IN_MOVED_TO, "b") &&
                  is(2, wds, IN_MOVED_FROM, "b") && is(3, wdd, IN_MOVED_TO, "a"),
              n);
    CHECK(evs[0].cookie == evs[1].cookie && evs[2].cookie == evs[3].cookie && evs[0].cookie != evs[2].cookie);
    CHECK(unlink(path_in("a")) == 0);
    /* rmdir: the directory's IN_DELETE_SELF and IN_IGNORED, then the
     * parent's IN_DELETE | IN_ISDIR. */
    drain(in);
    CHECK(rmdir(path_in("sub2")) == 0);
    n = drain(in);
    CHECK_EVS(n == 3 && is(0, wds, IN_DELETE_SELF, "") && is(1, wds, IN_IGNORED, "") &&
                  is(2, wdd, IN_DELETE | IN_ISDIR, "sub2"),
              n);
    close(in);
    return NULL;
}

static const char *case_mask_flags(void) {
    int in, wd, wd2, f;
    CHECK_OK(in, inotify_init1(IN_NONBLOCK));
    CHECK_OK(f, open(path_in("m"), O_CREAT | O_RDWR, 0644));
    /* Only the asked-for events arrive. */
    CHECK_OK(wd, inotify_add_watch(in, path_in("m"), IN_ATTRIB));
    CHECK(write(f, "a", 1) == 1);
    CHECK(fchmod(f, 0600) == 0);
    int n = drain(in);
    CHECK_EVS(n == 1 && is(0, wd, IN_ATTRIB, ""), n);
    /* A new mask replaces the old one; IN_MASK_ADD adds to it. */
    CHECK_OK(wd2, inotify_add_watch(in, path_in("m"), IN_MODIFY));
    CHECK(wd2 == wd);
    CHECK(fchmod(f, 0644) == 0 && write(f, "b", 1) == 1);
    n = drain(in);
    CHECK_EVS(n == 1 && is(0, wd, IN_MODIFY, ""), n);
    CHECK(inotify_add_watch(in, path_in("m"), IN_ATTRIB | IN_MASK_ADD) == wd);
    CHECK(fchmod(f, 0600) == 0 && write(f, "c", 1) == 1);
    n = drain(in);
    CHECK_EVS(n == 2 && is(0, wd, IN_ATTRIB, "") && is(1, wd, IN_MODIFY, ""), n);
    /* IN_ONESHOT: one event, then IN_IGNORED, and the watch is gone. */
    CHECK(inotify_add_watch(in, path_in("m"), IN_MODIFY | IN_ONESHOT) == wd);
    CHECK(write(f, "d", 1) == 1 && write(f, "e", 1) == 1);
    n = drain(in);
    CHECK_EVS(n == 2 && is(0, wd, IN_MODIFY, "") && is(1, wd, IN_IGNORED, ""), n);
    CHECK_ERR(inotify_rm_watch(in, wd), EINVAL);
    /* A new watch after that gets a new descriptor. */
    CHECK_OK(wd2, inotify_add_watch(in, path_in("m"), IN_MODIFY));
    CHECK(wd2 > wd);
    close(f);
    CHECK(unlink(path_in("m")) == 0);
    close(in);
    return NULL;
}

static const char *case_read_semantics(void) {
    int in, f, wd;
    CHECK_OK(in, inotify_init1(IN_NONBLOCK));
    CHECK_OK(wd, inotify_add_watch(in, tmpdir, IN_CREATE | IN_MODIFY));
    CHECK_OK(f, open(path_in("a-longer-name"), O_CREAT | O_RDWR, 0644));
    /* Identical consecutive events are merged into one. */
    for (int i = 0; i < 5; i++)
        CHECK(write(f, "z", 1) == 1);
    int avail = -1;
    CHECK(ioctl(in, FIONREAD, &avail) == 0);
    /* "a-longer-name" + NUL padded to 16: 16 + 16 per event, two events. */
    CHECK(avail == 64);
    char small[20];
    CHECK_ERR(read(in, small, sizeof small), EINVAL);
    char buf[48] __attribute__((aligned(8)));
    /* Room for one whole event and a half: one is returned. */
    CHECK(read(in, buf, sizeof buf) == 32);
    struct inotify_event *e = (void *)buf;
    CHECK(e->wd == wd && e->mask == IN_CREATE && e->len == 16 && strcmp(e->name, "a-longer-name") == 0);
    CHECK(ioctl(in, FIONREAD, &avail) == 0 && avail == 32);
    CHECK(read(in, buf, sizeof buf) == 32);
    CHECK(e->mask == IN_MODIFY);
    CHECK_ERR(read(in, buf, sizeof buf), EAGAIN);
    close(f);
    CHECK(unlink(path_in("a-longer-name")) == 0);
    close(in);
    return NULL;
}

static void *late_writer(void *arg) {
    usleep(50000);
    int f = open((const char *)arg, O_WRONLY);
    if (f >= 0) {
        (void)!write(f, "q", 1);
        close(f);
    }
    return NULL;
}

static const char *case_blocking_read_poll_epoll(void) {
    int in, f, wd;
    CHECK_OK(in, inotify_init());
    CHECK_OK(f, creat(path_in("w"), 0644));
    close(f);
    CHECK_OK(wd, inotify_add_watch(in, path_in("w"), IN_MODIFY));
    struct pollfd pfd = {.fd = in, .events = POLLIN};
    CHECK(poll(&pfd, 1, 0) == 0);
    int ep;
    CHECK_OK(ep, epoll_create1(0));
    struct epoll_event ee = {.events = EPOLLIN, .data.fd = in};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, in, &ee) == 0);
    CHECK(epoll_wait(ep, &ee, 1, 0) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, late_writer, (void *)path_in("w")) == 0);
    /* Blocks until the thread writes. */
    char buf[256] __attribute__((aligned(8)));
    ssize_t n = read(in, buf, sizeof buf);
    pthread_join(t, NULL);
    CHECK(n >= 16);
    struct inotify_event *e = (void *)buf;
    CHECK(e->wd == wd && e->mask == IN_MODIFY);
    /* The close was not asked for; nothing more is queued. */
    CHECK(poll(&pfd, 1, 0) == 0);
    CHECK_OK(f, open(path_in("w"), O_WRONLY));
    CHECK(write(f, "r", 1) == 1);
    close(f);
    CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
    CHECK(epoll_wait(ep, &ee, 1, 1000) == 1 && ee.data.fd == in);
    close(ep);
    CHECK(unlink(path_in("w")) == 0);
    close(in);
    return NULL;
}

static const char *case_queue_overflow(void) {
    int in, wd;
    CHECK_OK(in, inotify_init1(IN_NONBLOCK));
    CHECK_OK(wd, inotify_add_watch(in, tmpdir, IN_OPEN | IN_CLOSE_NOWRITE));
    int max = 16384;
    FILE *mq = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    if (mq != NULL) {
        CHECK(fscanf(mq, "%d", &max) == 1);
        fclose(mq);
    }
    CHECK(max == 16384);
    int f;
    CHECK_OK(f, creat(path_in("o"), 0644));
    close(f);
    /* Two distinct events per open/close, never merged. */
    for (int i = 0; i < max / 2 + 10; i++) {
        CHECK_OK(f, open(path_in("o"), O_RDONLY));
        close(f);
    }
    static char buf[1 << 20] __attribute__((aligned(8)));
    long total = 0, overflow = 0, last_overflow = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (void *)p;
            total++;
            if (e->mask & IN_Q_OVERFLOW) {
                overflow++;
                last_overflow = total;
                CHECK(e->wd == -1);
            }
            p += sizeof *e + e->len;
        }
    }
    CHECK(overflow == 1);
    CHECK(total == max + 1 && last_overflow == total);
    CHECK(unlink(path_in("o")) == 0);
    close(in);
    return NULL;
}

static const char *case_close_removes_watches(void) {
    int in, f;
    CHECK_OK(in, inotify_init1(IN_NONBLOCK));
    CHECK(inotify_add_watch(in, tmpdir, IN_CREATE) >= 0);
    /* Events reach every instance watching the node. */
    int in2;
    CHECK_OK(in2, inotify_init1(IN_NONBLOCK));
    CHECK(inotify_add_watch(in2, tmpdir, IN_CREATE) >= 0);
    CHECK_OK(f, creat(path_in("c"), 0644));
    close(f);
    CHECK(drain(in) == 1 && drain(in2) == 1);
    close(in2);
    CHECK(unlink(path_in("c")) == 0);
    CHECK_OK(f, creat(path_in("c"), 0644));
    close(f);
    CHECK(drain(in) == 1);
    CHECK(unlink(path_in("c")) == 0);
    close(in);
    /* A forked child's changes are seen too. */
    CHECK_OK(in, inotify_init1(IN_NONBLOCK));
    int wd;
    CHECK_OK(wd, inotify_add_watch(in, tmpdir, IN_CREATE));
    pid_t pid = fork();
    if (pid == 0) {
        int c = creat(path_in("child"), 0644);
        _exit(c >= 0 ? 0 : 1);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int n = drain(in);
    CHECK_EVS(n == 1 && is(0, wd, IN_CREATE, "child"), n);
    CHECK(unlink(path_in("child")) == 0);
    close(in);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    strcpy(tmpdir, "/tmp/rvisor-inotify-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(init_and_add_watch_errors);
    RUN(file_events);
    RUN(directory_events);
    RUN(mask_flags);
    RUN(read_semantics);
    RUN(blocking_read_poll_epoll);
    RUN(queue_overflow);
    RUN(close_removes_watches);
    rmdir(tmpdir);
    return 0;
}
