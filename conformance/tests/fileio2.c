/* openat2 (open_how checks, RESOLVE_*), O_TMPFILE and linkat, mknod of
 * FIFOs and sockets, named pipe open semantics, tee, statx masks and
 * attributes. Files live under a fresh mkdtemp directory in /tmp. */
#include "common.h"
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static char tmpdir[64];

static const char *path_in(const char *name) {
    static char bufs[4][160];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 160, "%s/%s", tmpdir, name);
    return b;
}

static long openat2_(int dirfd, const char *path, void *how, size_t size) {
    return syscall(SYS_openat2, dirfd, path, how, size);
}

static const char *case_openat2_open_how_checks(void) {
    int d;
    CHECK_OK(d, open(tmpdir, O_RDONLY | O_DIRECTORY));
    struct open_how how = {.flags = O_RDONLY};
    int fd;
    CHECK_OK(fd, openat2_(AT_FDCWD, "/etc/passwd", &how, sizeof how));
    close(fd);
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &how, 16), EINVAL);
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &how, 8192), E2BIG);
    /* A larger struct is fine while the tail is zero. */
    struct {
        struct open_how how;
        unsigned long long extra;
    } big = {{.flags = O_RDONLY}, 0};
    CHECK_OK(fd, openat2_(AT_FDCWD, "/etc/passwd", &big, sizeof big));
    close(fd);
    big.extra = 1;
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &big, sizeof big), E2BIG);
    /* Unknown flags, a mode without O_CREAT, bad resolve bits. */
    how = (struct open_how){.flags = 1ULL << 40};
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &how, sizeof how), EINVAL);
    how = (struct open_how){.flags = O_RDONLY | 04};
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &how, sizeof how), EINVAL);
    how = (struct open_how){.flags = O_RDONLY, .mode = 0644};
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &how, sizeof how), EINVAL);
    how = (struct open_how){.flags = O_CREAT | O_WRONLY, .mode = 010644};
    CHECK_ERR(openat2_(d, "new", &how, sizeof how), EINVAL);
    how = (struct open_how){.flags = O_RDONLY, .resolve = 0x1000};
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &how, sizeof how), EINVAL);
    how = (struct open_how){.flags = O_RDONLY, .resolve = RESOLVE_BENEATH | RESOLVE_IN_ROOT};
    CHECK_ERR(openat2_(d, ".", &how, sizeof how), EINVAL);
    how = (struct open_how){.flags = O_PATH | O_RDWR};
    CHECK_ERR(openat2_(AT_FDCWD, "/etc/passwd", &how, sizeof how), EINVAL);
    how = (struct open_how){.flags = O_CREAT | O_WRONLY, .mode = 0600, .resolve = RESOLVE_CACHED};
    CHECK_ERR(openat2_(d, "new", &how, sizeof how), EAGAIN);
    /* O_CREAT with a mode: created, umask applied. */
    mode_t old = umask(022);
    how = (struct open_how){.flags = O_CREAT | O_WRONLY | O_EXCL, .mode = 0666};
    CHECK_OK(fd, openat2_(d, "new", &how, sizeof how));
    umask(old);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0644);
    close(fd);
    CHECK(unlinkat(d, "new", 0) == 0);
    close(d);
    return NULL;
}

static const char *case_openat2_resolve(void) {
    int d, fd;
    CHECK(mkdir(path_in("r"), 0755) == 0 && mkdir(path_in("r/sub"), 0755) == 0);
    CHECK_OK(fd, open(path_in("r/f"), O_CREAT | O_WRONLY, 0644));
    CHECK(write(fd, "in-root", 7) == 7);
    close(fd);
    CHECK(symlink("/f", path_in("r/abs")) == 0);
    CHECK(symlink("sub/../f", path_in("r/rel")) == 0);
    CHECK(symlink("../../../../../f", path_in("r/sub/up")) == 0);
    CHECK_OK(d, open(path_in("r"), O_RDONLY | O_DIRECTORY));
    struct open_how how = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
    CHECK_OK(fd, openat2_(d, "sub/../f", &how, sizeof how));
    close(fd);
    CHECK_OK(fd, openat2_(d, "rel", &how, sizeof how));
    close(fd);
    CHECK_ERR(openat2_(d, "../r/f", &how, sizeof how), EXDEV);
    CHECK_ERR(openat2_(d, "/etc/passwd", &how, sizeof how), EXDEV);
    CHECK_ERR(openat2_(d, "abs", &how, sizeof how), EXDEV);
    CHECK_ERR(openat2_(d, "sub/up", &how, sizeof how), EXDEV);
    /* IN_ROOT: "/" and ".." stop at dirfd. */
    how.resolve = RESOLVE_IN_ROOT;
    char buf[16] = {0};
    CHECK_OK(fd, openat2_(d, "abs", &how, sizeof how));
    CHECK(read(fd, buf, sizeof buf) == 7 && memcmp(buf, "in-root", 7) == 0);
    close(fd);
    CHECK_OK(fd, openat2_(d, "/f", &how, sizeof how));
    close(fd);
    CHECK_OK(fd, openat2_(d, "sub/up", &how, sizeof how));
    close(fd);
    CHECK_ERR(openat2_(d, "/etc/passwd", &how, sizeof how), ENOENT);
    /* NO_SYMLINKS: any symlink on the way is ELOOP; O_PATH|O_NOFOLLOW
     * still names a final one. */
    how.resolve = RESOLVE_NO_SYMLINKS;
    CHECK_ERR(openat2_(d, "rel", &how, sizeof how), ELOOP);
    CHECK_OK(fd, openat2_(d, "f", &how, sizeof how));
    close(fd);
    how.flags = O_PATH | O_NOFOLLOW;
    CHECK_OK(fd, openat2_(d, "rel", &how, sizeof how));
    struct stat st;
    CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISLNK(st.st_mode));
    close(fd);
    /* NO_MAGICLINKS: /proc/self/fd/N is ELOOP, /proc/self itself is fine. */
    int target;
    CHECK_OK(target, open(path_in("r/f"), O_RDONLY));
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", target);
    how = (struct open_how){.flags = O_RDONLY, .resolve = RESOLVE_NO_MAGICLINKS};
    CHECK_ERR(openat2_(AT_FDCWD, fdpath, &how, sizeof how), ELOOP);
    CHECK_OK(fd, openat2_(AT_FDCWD, "/proc/self/status", &how, sizeof how));
    close(fd);
    how.resolve = 0;
    CHECK_OK(fd, openat2_(AT_FDCWD, fdpath, &how, sizeof how));
    CHECK(read(fd, buf, sizeof buf) == 7);
    close(fd);
    close(target);
    /* NO_XDEV: crossing into /proc, or out of it, is EXDEV. */
    int root, proc;
    CHECK_OK(root, open("/", O_RDONLY | O_DIRECTORY));
    CHECK_OK(proc, open("/proc", O_RDONLY | O_DIRECTORY));
    how = (struct open_how){.flags = O_RDONLY, .resolve = RESOLVE_NO_XDEV};
    CHECK_ERR(openat2_(root, "proc/self/status", &how, sizeof how), EXDEV);
    CHECK_ERR(openat2_(proc, "../etc/passwd", &how, sizeof how), EXDEV);
    CHECK_OK(fd, openat2_(proc, "self/status", &how, sizeof how));
    close(fd);
    CHECK_OK(fd, openat2_(d, "sub/../f", &how, sizeof how));
    close(fd);
    close(root);
    close(proc);
    close(d);
    CHECK(unlink(path_in("r/abs")) == 0 && unlink(path_in("r/rel")) == 0 && unlink(path_in("r/sub/up")) == 0);
    CHECK(unlink(path_in("r/f")) == 0 && rmdir(path_in("r/sub")) == 0 && rmdir(path_in("r")) == 0);
    return NULL;
}

static const char *case_o_tmpfile(void) {
    int fd;
    mode_t old = umask(022);
    CHECK_OK(fd, open(tmpdir, O_TMPFILE | O_RDWR, 0666));
    umask(old);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(S_ISREG(st.st_mode) && st.st_nlink == 0 && (st.st_mode & 0777) == 0644);
    CHECK(write(fd, "tmpdata", 7) == 7);
    char buf[16] = {0};
    CHECK(pread(fd, buf, sizeof buf, 0) == 7 && memcmp(buf, "tmpdata", 7) == 0);
    /* Not in the directory listing: the name does not exist. */
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    CHECK(linkat(AT_FDCWD, fdpath, AT_FDCWD, path_in("named"), AT_SYMLINK_FOLLOW) == 0);
    CHECK(stat(path_in("named"), &st) == 0 && st.st_nlink == 1 && st.st_size == 7);
    struct stat fst;
    CHECK(fstat(fd, &fst) == 0 && fst.st_ino == st.st_ino && fst.st_nlink == 1);
    close(fd);
    int r;
    CHECK_OK(r, open(path_in("named"), O_RDONLY));
    CHECK(read(r, buf, sizeof buf) == 7);
    close(r);
    CHECK(unlink(path_in("named")) == 0);
    /* AT_EMPTY_PATH names the fd itself. */
    CHECK_OK(fd, open(tmpdir, O_TMPFILE | O_WRONLY, 0600));
    CHECK(linkat(fd, "", AT_FDCWD, path_in("named2"), AT_EMPTY_PATH) == 0);
    CHECK(stat(path_in("named2"), &st) == 0 && S_ISREG(st.st_mode));
    CHECK_ERR(linkat(fd, "", AT_FDCWD, path_in("named2"), AT_EMPTY_PATH), EEXIST);
    close(fd);
    CHECK(unlink(path_in("named2")) == 0);
    /* O_EXCL: never linkable. */
    CHECK_OK(fd, open(tmpdir, O_TMPFILE | O_RDWR | O_EXCL, 0600));
    CHECK_ERR(linkat(fd, "", AT_FDCWD, path_in("named3"), AT_EMPTY_PATH), ENOENT);
    close(fd);
    /* Flag rules. */
    CHECK_ERR(open(tmpdir, O_TMPFILE | O_RDONLY, 0600), EINVAL);
    CHECK_ERR(open(tmpdir, O_TMPFILE | O_RDWR | O_CREAT, 0600), EINVAL);
    CHECK_OK(fd, creat(path_in("plainfile"), 0644));
    close(fd);
    CHECK_ERR(open(path_in("plainfile"), O_TMPFILE | O_RDWR, 0600), ENOTDIR);
    CHECK_ERR(open(path_in("missing"), O_TMPFILE | O_RDWR, 0600), ENOENT);
    CHECK(unlink(path_in("plainfile")) == 0);
    /* /dev/shm (tmpfs) too. */
    CHECK_OK(fd, open("/dev/shm", O_TMPFILE | O_RDWR, 0600));
    CHECK(write(fd, "shm", 3) == 3);
    char shmname[64];
    snprintf(shmname, sizeof shmname, "/dev/shm/rvisor-fileio2-%d", (int)getpid());
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    CHECK(linkat(AT_FDCWD, fdpath, AT_FDCWD, shmname, AT_SYMLINK_FOLLOW) == 0);
    CHECK(stat(shmname, &st) == 0 && st.st_size == 3 && st.st_nlink == 1);
    CHECK(unlink(shmname) == 0);
    close(fd);
    CHECK_OK(fd, open("/dev/shm", O_TMPFILE | O_RDWR | O_EXCL, 0600));
    CHECK_ERR(linkat(fd, "", AT_FDCWD, shmname, AT_EMPTY_PATH), ENOENT);
    close(fd);
    /* A filesystem without tmpfile support (procfs; read-only in rvisor). */
    errno = 0;
    CHECK(open("/proc", O_TMPFILE | O_RDWR, 0600) == -1 && (errno == EOPNOTSUPP || errno == EROFS));
    return NULL;
}

static const char *case_mknod_fifo_and_socket(void) {
    struct stat st;
    mode_t old = umask(022);
    CHECK(mknod(path_in("fifo"), S_IFIFO | 0666, 0) == 0);
    CHECK(mkfifo(path_in("fifo2"), 0600) == 0);
    CHECK(mknod(path_in("sock"), S_IFSOCK | 0644, 0) == 0);
    umask(old);
    CHECK(lstat(path_in("fifo"), &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0644);
    CHECK(st.st_size == 0);
    CHECK(lstat(path_in("fifo2"), &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(lstat(path_in("sock"), &st) == 0 && S_ISSOCK(st.st_mode));
    CHECK_ERR(mknod(path_in("fifo"), S_IFIFO | 0644, 0), EEXIST);
    CHECK_ERR(mknod(path_in("dir"), S_IFDIR | 0755, 0), EPERM);
    CHECK_ERR(mknod(path_in("bad"), 0170000 | 0644, 0), EINVAL);
    CHECK_ERR(open(path_in("sock"), O_RDONLY), ENXIO);
    CHECK_ERR(mknodat(AT_FDCWD, path_in("missing/x"), S_IFIFO | 0644, 0), ENOENT);
    /* A device node: made by root (CAP_MKNOD), EPERM for anyone else. */
    errno = 0;
    int r = mknod(path_in("null"), S_IFCHR | 0666, makedev(1, 3));
    if (geteuid() == 0) {
        CHECK(r == 0 && lstat(path_in("null"), &st) == 0 && S_ISCHR(st.st_mode));
        CHECK(st.st_rdev == makedev(1, 3));
        CHECK(unlink(path_in("null")) == 0);
    } else {
        CHECK(r == -1 && errno == EPERM);
    }
    CHECK(unlink(path_in("fifo")) == 0 && unlink(path_in("fifo2")) == 0 && unlink(path_in("sock")) == 0);
    return NULL;
}

static const char *case_fifo_open_semantics(void) {
    const char *p = path_in("pipe");
    CHECK(mkfifo(p, 0644) == 0);
    /* No reader: a non-blocking writer is ENXIO; a non-blocking reader
     * opens at once and reads EOF. */
    CHECK_ERR(open(p, O_WRONLY | O_NONBLOCK), ENXIO);
    int r, w;
    CHECK_OK(r, open(p, O_RDONLY | O_NONBLOCK));
    char buf[16];
    CHECK(read(r, buf, sizeof buf) == 0);
    CHECK_OK(w, open(p, O_WRONLY | O_NONBLOCK));
    CHECK(write(w, "abc", 3) == 3);
    CHECK(read(r, buf, sizeof buf) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK_ERR(read(r, buf, sizeof buf), EAGAIN);
    struct stat a, b;
    CHECK(fstat(r, &a) == 0 && stat(p, &b) == 0);
    CHECK(S_ISFIFO(a.st_mode) && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    CHECK(fcntl(w, F_GETPIPE_SZ) > 0);
    close(w);
    CHECK(read(r, buf, sizeof buf) == 0);
    close(r);
    /* Blocking opens wait for each other. */
    pid_t pid = fork();
    if (pid == 0) {
        int cw = open(p, O_WRONLY);
        if (cw < 0)
            _exit(1);
        _exit(write(cw, "hi", 2) == 2 ? 0 : 2);
    }
    usleep(50000);
    CHECK_OK(r, open(p, O_RDONLY));
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(read(r, buf, sizeof buf) == 2 && memcmp(buf, "hi", 2) == 0);
    CHECK(read(r, buf, sizeof buf) == 0);
    close(r);
    pid = fork();
    if (pid == 0) {
        usleep(50000);
        int cr = open(p, O_RDONLY);
        if (cr < 0)
            _exit(1);
        char cb[8];
        _exit(read(cr, cb, sizeof cb) == 3 ? 0 : 2);
    }
    CHECK_OK(w, open(p, O_WRONLY));
    CHECK(write(w, "xyz", 3) == 3);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The reader is gone: EPIPE (and SIGPIPE, ignored here). */
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(write(w, "x", 1), EPIPE);
    signal(SIGPIPE, SIG_DFL);
    close(w);
    /* O_RDWR never blocks; two openers share one buffer. */
    int rw1, rw2;
    CHECK_OK(rw1, open(p, O_RDWR));
    CHECK_OK(rw2, open(p, O_RDWR | O_NONBLOCK));
    CHECK(write(rw1, "shared", 6) == 6);
    CHECK(read(rw2, buf, sizeof buf) == 6 && memcmp(buf, "shared", 6) == 0);
    CHECK_ERR(read(rw2, buf, sizeof buf), EAGAIN);
    close(rw1);
    close(rw2);
    /* When every end is closed the data is gone. */
    CHECK_OK(rw1, open(p, O_RDWR));
    CHECK(write(rw1, "lost", 4) == 4);
    close(rw1);
    CHECK_OK(rw1, open(p, O_RDWR | O_NONBLOCK));
    CHECK_ERR(read(rw1, buf, sizeof buf), EAGAIN);
    close(rw1);
    CHECK(unlink(p) == 0);
    return NULL;
}

static const char *case_tee(void) {
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    CHECK(write(a[1], "hello world", 11) == 11);
    CHECK(tee(a[0], b[1], 5, 0) == 5);
    char buf[32] = {0};
    CHECK(read(b[0], buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(tee(a[0], b[1], 100, 0) == 11);
    CHECK(read(b[0], buf, sizeof buf) == 11 && memcmp(buf, "hello world", 11) == 0);
    /* The input was not consumed. */
    CHECK(read(a[0], buf, sizeof buf) == 11);
    CHECK_ERR(tee(a[0], b[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
    CHECK_ERR(tee(a[0], a[1], 10, 0), EINVAL);
    CHECK_ERR(tee(a[0], b[1], 10, 0x100), EINVAL);
    CHECK_ERR(tee(b[1], a[1], 10, 0), EBADF);
    int f;
    CHECK_OK(f, open("/etc/passwd", O_RDONLY));
    CHECK_ERR(tee(f, b[1], 10, 0), EINVAL);
    close(f);
    close(a[1]);
    CHECK(tee(a[0], b[1], 10, 0) == 0);
    CHECK(tee(a[0], b[1], 0, 0) == 0);
    close(a[0]);
    close(b[0]);
    close(b[1]);
    return NULL;
}

static const char *case_statx_attributes(void) {
    struct statx x, y;
    CHECK(statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, &x) == 0);
    CHECK((x.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
    CHECK(x.stx_mask & STATX_MNT_ID);
    CHECK(x.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT);
    CHECK(x.stx_attributes & STATX_ATTR_MOUNT_ROOT);
    CHECK(statx(AT_FDCWD, "/proc/self", 0, STATX_BASIC_STATS, &y) == 0);
    CHECK((y.stx_mask & STATX_MNT_ID) && y.stx_mnt_id != x.stx_mnt_id);
    CHECK(!(y.stx_attributes & STATX_ATTR_MOUNT_ROOT));
    CHECK(statx(AT_FDCWD, "/proc", 0, STATX_BASIC_STATS, &y) == 0);
    CHECK(y.stx_attributes & STATX_ATTR_MOUNT_ROOT);
    int fd;
    CHECK_OK(fd, creat(path_in("sx"), 0644));
    CHECK(statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &x) == 0);
    CHECK(!(x.stx_attributes & STATX_ATTR_MOUNT_ROOT));
    CHECK(statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &x) == 0);
    CHECK_ERR(statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_TYPE, &x), EINVAL);
    /* Birth time is only claimed when known. */
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &x) == 0);
    CHECK(!(x.stx_mask & STATX_BTIME) || x.stx_btime.tv_sec != 0);
    /* STATX_MNT_ID_UNIQUE replaces STATX_MNT_ID when asked for. */
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | 0x4000, &x) == 0);
    CHECK((x.stx_mask & 0x4000) && !(x.stx_mask & STATX_MNT_ID));
    close(fd);
    CHECK(unlink(path_in("sx")) == 0);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    strcpy(tmpdir, "/tmp/rvisor-fileio2-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(openat2_open_how_checks);
    RUN(openat2_resolve);
    RUN(o_tmpfile);
    RUN(mknod_fifo_and_socket);
    RUN(fifo_open_semantics);
    RUN(tee);
    RUN(statx_attributes);
    rmdir(tmpdir);
    return 0;
}
