/* The gofer's write path: with --overlay2=none every change goes through the
 * gofer to the host. The runner starts this file's sandboxed run with
 *   runsc-flags: --overlay2=none
 * Each case works in a fresh directory under /tmp and removes it, natively
 * and in the sandbox alike (Linux is the oracle). */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>

static char tmpdir[64];

static const char *make_tmpdir(void) {
    strcpy(tmpdir, "/tmp/rvisor-gw-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        FAILF("mkdtemp: %s", strerror(errno));
    return NULL;
}

/* `tmpdir/name`, in one of four rotating buffers. */
static const char *in(const char *name) {
    static char bufs[4][PATH_MAX];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
    return buf;
}

static int put(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static long slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, size - 1);
    close(fd);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

/* Removes tmpdir and everything in it (one level of subdirectories). */
static void cleanup(void) {
    DIR *d = opendir(tmpdir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (unlink(p) != 0 && errno == EISDIR) {
            DIR *s = opendir(p);
            struct dirent *f;
            while (s != NULL && (f = readdir(s)) != NULL) {
                char q[PATH_MAX + 256];
                snprintf(q, sizeof q, "%s/%s", p, f->d_name);
                unlink(q);
            }
            if (s != NULL)
                closedir(s);
            rmdir(p);
        }
    }
    closedir(d);
    rmdir(tmpdir);
}

/* Create with an exact mode, write, and see the size through stat, fstat
 * and another fd; append and truncate. */
static const char *case_create_write_stat(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    umask(022);
    int fd, fd2;
    CHECK_OK(fd, open(in("f"), O_CREAT | O_EXCL | O_RDWR, 0640));
    CHECK(write(fd, "hello", 5) == 5);
    struct stat a, b;
    CHECK(fstat(fd, &a) == 0 && a.st_size == 5 && (a.st_mode & 07777) == 0640);
    CHECK(stat(in("f"), &b) == 0 && b.st_size == 5 && b.st_ino == a.st_ino);
    CHECK_OK(fd2, open(in("f"), O_WRONLY | O_APPEND));
    CHECK(write(fd2, " world", 6) == 6);
    CHECK(stat(in("f"), &b) == 0 && b.st_size == 11);
    CHECK(fstat(fd, &a) == 0 && a.st_size == 11);
    close(fd2);
    CHECK(ftruncate(fd, 4) == 0);
    CHECK(stat(in("f"), &b) == 0 && b.st_size == 4);
    close(fd);
    CHECK_ERR(open(in("f"), O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
    CHECK_OK(fd, open(in("f"), O_WRONLY | O_TRUNC));
    close(fd);
    CHECK(stat(in("f"), &b) == 0 && b.st_size == 0);
    CHECK(truncate(in("f"), 100) == 0);
    CHECK(stat(in("f"), &b) == 0 && b.st_size == 100);
    cleanup();
    return NULL;
}

/* rename, RENAME_NOREPLACE, RENAME_EXCHANGE and the directory rules. */
static const char *case_rename(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    char buf[64];
    CHECK(put(in("a"), "A") == 0 && put(in("b"), "B") == 0);
    CHECK(rename(in("a"), in("c")) == 0);
    CHECK_ERR(access(in("a"), F_OK), ENOENT);
    CHECK(slurp(in("c"), buf, sizeof buf) == 1 && buf[0] == 'A');
    CHECK_ERR(renameat2(AT_FDCWD, in("c"), AT_FDCWD, in("b"), RENAME_NOREPLACE), EEXIST);
    CHECK(renameat2(AT_FDCWD, in("c"), AT_FDCWD, in("b"), RENAME_EXCHANGE) == 0);
    CHECK(slurp(in("c"), buf, sizeof buf) == 1 && buf[0] == 'B');
    CHECK(slurp(in("b"), buf, sizeof buf) == 1 && buf[0] == 'A');
    CHECK(rename(in("c"), in("b")) == 0);
    CHECK(slurp(in("b"), buf, sizeof buf) == 1 && buf[0] == 'B');
    CHECK(mkdir(in("d"), 0755) == 0 && mkdir(in("e"), 0755) == 0);
    CHECK(put(in("e/x"), "x") == 0);
    CHECK_ERR(rename(in("d"), in("d/sub")), EINVAL);
    CHECK_ERR(rename(in("d"), in("e")), ENOTEMPTY);
    CHECK_ERR(rename(in("b"), in("d")), EISDIR);
    CHECK_ERR(rename(in("d"), in("b")), ENOTDIR);
    CHECK(rename(in("e"), in("d/e2")) == 0);
    CHECK(slurp(in("d/e2/x"), buf, sizeof buf) == 1 && buf[0] == 'x');
    CHECK(unlink(in("d/e2/x")) == 0 && rmdir(in("d/e2")) == 0);
    cleanup();
    return NULL;
}

/* Hard links share the node; symlinks are stored as given. */
static const char *case_links(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    CHECK(put(in("f"), "data") == 0);
    CHECK(link(in("f"), in("h")) == 0);
    struct stat a, b;
    CHECK(stat(in("f"), &a) == 0 && stat(in("h"), &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_nlink == 2 && b.st_nlink == 2);
    CHECK(unlink(in("f")) == 0);
    CHECK(stat(in("h"), &b) == 0 && b.st_nlink == 1);
    CHECK(symlink("h", in("s")) == 0);
    char t[64];
    ssize_t n = readlink(in("s"), t, sizeof t);
    CHECK(n == 1 && t[0] == 'h');
    CHECK(lstat(in("s"), &a) == 0 && S_ISLNK(a.st_mode));
    CHECK(stat(in("s"), &a) == 0 && a.st_ino == b.st_ino);
    CHECK_ERR(symlink("x", in("s")), EEXIST);
    CHECK(mkdir(in("dir"), 0755) == 0);
    CHECK_ERR(link(in("dir"), in("dirlink")), EPERM);
    cleanup();
    return NULL;
}

/* chmod, fchmod, chown to oneself, utimensat with UTIME_OMIT. */
static const char *case_setattr(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    CHECK(put(in("f"), "x") == 0);
    struct stat st;
    CHECK(chmod(in("f"), 0604) == 0);
    CHECK(stat(in("f"), &st) == 0 && (st.st_mode & 07777) == 0604);
    int fd;
    CHECK_OK(fd, open(in("f"), O_RDONLY));
    CHECK(fchmod(fd, 0600) == 0);
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600);
    close(fd);
    CHECK(chown(in("f"), getuid(), getgid()) == 0);
    struct timespec ts[2] = {{1000, 500}, {2000, 700}};
    CHECK(utimensat(AT_FDCWD, in("f"), ts, 0) == 0);
    CHECK(stat(in("f"), &st) == 0);
    CHECK(st.st_atim.tv_sec == 1000 && st.st_mtim.tv_sec == 2000 && st.st_mtim.tv_nsec == 700);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {3000, 0}};
    CHECK(utimensat(AT_FDCWD, in("f"), omit, 0) == 0);
    CHECK(stat(in("f"), &st) == 0 && st.st_atim.tv_sec == 1000 && st.st_mtim.tv_sec == 3000);
    CHECK(symlink("f", in("l")) == 0);
    CHECK(utimensat(AT_FDCWD, in("l"), ts, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(lstat(in("l"), &st) == 0 && st.st_mtim.tv_sec == 2000);
    CHECK(stat(in("f"), &st) == 0 && st.st_mtim.tv_sec == 3000);
    cleanup();
    return NULL;
}

/* mkdir/rmdir change the parent's link count; mknod makes regular files.
 * (FIFOs: the gofer makes them, but mknod(S_IFIFO) is not wired in the
 * sentry's syscall yet.) */
static const char *case_dirs_and_mknod(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    struct stat st;
    CHECK(stat(tmpdir, &st) == 0 && st.st_nlink == 2);
    CHECK(mkdir(in("a"), 0700) == 0);
    CHECK(stat(tmpdir, &st) == 0 && st.st_nlink == 3);
    CHECK(stat(in("a"), &st) == 0 && (st.st_mode & 07777) == 0700);
    CHECK(rmdir(in("a")) == 0);
    CHECK(stat(tmpdir, &st) == 0 && st.st_nlink == 2);
    CHECK_ERR(rmdir(in("a")), ENOENT);
    CHECK(mknod(in("r"), S_IFREG | 0644, 0) == 0);
    CHECK(stat(in("r"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    CHECK_ERR(unlink(tmpdir), EISDIR);
    cleanup();
    return NULL;
}

/* A listing after creations and removals shows exactly the survivors. */
static const char *case_readdir_after_changes(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    char name[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "f%02d", i);
        CHECK(put(in(name), "x") == 0);
    }
    for (int i = 0; i < 20; i += 2) {
        snprintf(name, sizeof name, "f%02d", i);
        CHECK(unlink(in(name)) == 0);
    }
    DIR *d = opendir(tmpdir);
    CHECK(d != NULL);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int n = atoi(e->d_name + 1);
        if (e->d_name[0] != 'f' || n % 2 != 1) {
            closedir(d);
            FAILF("unexpected entry %s", e->d_name);
        }
        seen++;
    }
    closedir(d);
    CHECK(seen == 10);
    cleanup();
    return NULL;
}

/* user.* extended attributes, where the filesystem has them. */
static const char *case_xattrs(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    CHECK(put(in("f"), "x") == 0);
    if (setxattr(in("f"), "user.rvisor", "value", 5, 0) != 0) {
        int e = errno;
        cleanup();
        if (e == ENOTSUP)
            return NULL; /* no user xattrs here: nothing to compare */
        FAILF("setxattr: %s", strerror(e));
    }
    char buf[64];
    CHECK(getxattr(in("f"), "user.rvisor", NULL, 0) == 5);
    CHECK(getxattr(in("f"), "user.rvisor", buf, sizeof buf) == 5 && memcmp(buf, "value", 5) == 0);
    CHECK_ERR(getxattr(in("f"), "user.rvisor", buf, 2), ERANGE);
    CHECK_ERR(getxattr(in("f"), "user.none", buf, sizeof buf), ENODATA);
    CHECK_ERR(setxattr(in("f"), "user.rvisor", "v", 1, XATTR_CREATE), EEXIST);
    CHECK_ERR(setxattr(in("f"), "user.other", "v", 1, XATTR_REPLACE), ENODATA);
    ssize_t n = listxattr(in("f"), buf, sizeof buf);
    CHECK(n >= 12 && memmem(buf, n, "user.rvisor", 12) != NULL);
    CHECK(removexattr(in("f"), "user.rvisor") == 0);
    CHECK_ERR(getxattr(in("f"), "user.rvisor", buf, sizeof buf), ENODATA);
    CHECK_ERR(removexattr(in("f"), "user.rvisor"), ENODATA);
    CHECK_ERR(setxattr(in("f"), "bogus.x", "v", 1, 0), EOPNOTSUPP);
    cleanup();
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(create_write_stat);
    RUN(rename);
    RUN(links);
    RUN(setattr);
    RUN(dirs_and_mknod);
    RUN(readdir_after_changes);
    RUN(xattrs);
    return 0;
}
