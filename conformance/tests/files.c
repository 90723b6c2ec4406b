/* files: open/openat, descriptors (dup, fcntl, close_range), directories,
 * cwd, readlink and access checks over the root filesystem. */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define MISSING "/rvisor-conformance-missing/file"

/* open of a path that does not exist fails with ENOENT. */
static const char *case_open_missing_enoent(void) {
    CHECK_ERR(open(MISSING, O_RDONLY), ENOENT);
    CHECK_ERR(open("/etc/rvisor-conformance-missing", O_RDONLY), ENOENT);
    return NULL;
}

/* A path component that is a regular file gives ENOTDIR. */
static const char *case_open_through_file_enotdir(void) {
    CHECK_ERR(open("/etc/passwd/x", O_RDONLY), ENOTDIR);
    return NULL;
}

/* O_DIRECTORY on a regular file gives ENOTDIR. */
static const char *case_open_directory_flag_on_file(void) {
    CHECK_ERR(open("/etc/passwd", O_RDONLY | O_DIRECTORY), ENOTDIR);
    return NULL;
}

/* A directory opens read-only, but read() on it gives EISDIR. */
static const char *case_read_directory_eisdir(void) {
    int fd;
    char buf[16];
    CHECK_OK(fd, open("/usr", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(read(fd, buf, sizeof buf), EISDIR);
    close(fd);
    return NULL;
}

/* Opening a directory for writing gives EISDIR (checked before EROFS). */
static const char *case_open_directory_for_write_eisdir(void) {
    CHECK_ERR(open("/usr", O_WRONLY), EISDIR);
    return NULL;
}

/* Empty path gives ENOENT. */
static const char *case_open_empty_path_enoent(void) {
    CHECK_ERR(open("", O_RDONLY), ENOENT);
    return NULL;
}

/* openat relative to a directory fd reaches the same inode as the absolute path. */
static const char *case_openat_relative(void) {
    int dfd, fd;
    struct stat a, b;
    CHECK_OK(dfd, open("/etc", O_RDONLY | O_DIRECTORY));
    CHECK_OK(fd, openat(dfd, "passwd", O_RDONLY));
    CHECK(fstat(fd, &a) == 0);
    CHECK(stat("/etc/passwd", &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    close(fd);
    close(dfd);
    return NULL;
}

/* An absolute path ignores the dirfd, even an invalid one. */
static const char *case_openat_absolute_ignores_dirfd(void) {
    int fd;
    CHECK_OK(fd, openat(987, "/etc/passwd", O_RDONLY));
    close(fd);
    return NULL;
}

/* A relative path with a bad dirfd gives EBADF; a file dirfd gives ENOTDIR. */
static const char *case_openat_bad_dirfd(void) {
    int fd;
    CHECK_ERR(openat(987, "passwd", O_RDONLY), EBADF);
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK_ERR(openat(fd, "x", O_RDONLY), ENOTDIR);
    close(fd);
    return NULL;
}

/* ".." of "/" is "/" itself. */
static const char *case_dotdot_of_root(void) {
    struct stat a, b;
    CHECK(stat("/..", &a) == 0);
    CHECK(stat("/", &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    CHECK(stat("/usr/../etc/../../etc/passwd", &a) == 0);
    CHECK(S_ISREG(a.st_mode));
    return NULL;
}

/* open() returns the lowest free descriptor number. */
static const char *case_lowest_free_fd(void) {
    int a, b, c;
    CHECK_OK(a, open("/etc/passwd", O_RDONLY));
    CHECK_OK(b, open("/etc/passwd", O_RDONLY));
    close(a);
    CHECK_OK(c, open("/etc/hostname", O_RDONLY));
    CHECK(c == a);
    close(b);
    close(c);
    return NULL;
}

/* O_CLOEXEC is visible via F_GETFD, and F_SETFD changes it. */
static const char *case_o_cloexec_getfd(void) {
    int fd, flags;
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY | O_CLOEXEC));
    CHECK_OK(flags, fcntl(fd, F_GETFD));
    CHECK(flags == FD_CLOEXEC);
    CHECK(fcntl(fd, F_SETFD, 0) == 0);
    CHECK_OK(flags, fcntl(fd, F_GETFD));
    CHECK(flags == 0);
    close(fd);
    return NULL;
}

/* F_GETFL reports the access mode; F_SETFL changes O_NONBLOCK/O_APPEND only. */
static const char *case_fcntl_status_flags(void) {
    int fd, fl;
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK_OK(fl, fcntl(fd, F_GETFL));
    CHECK((fl & O_ACCMODE) == O_RDONLY);
    CHECK((fl & O_NONBLOCK) == 0);
    CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK | O_WRONLY) == 0);
    CHECK_OK(fl, fcntl(fd, F_GETFL));
    CHECK(fl & O_NONBLOCK);
    CHECK((fl & O_ACCMODE) == O_RDONLY); /* access mode cannot change */
    close(fd);
    return NULL;
}

/* fcntl on a closed descriptor gives EBADF. */
static const char *case_fcntl_badf(void) {
    CHECK_ERR(fcntl(987, F_GETFD), EBADF);
    CHECK_ERR(fcntl(-1, F_GETFL), EBADF);
    return NULL;
}

/* dup'ed descriptors share one file offset. */
static const char *case_dup_shares_offset(void) {
    int fd, fd2;
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK_OK(fd2, dup(fd));
    CHECK(fd2 != fd);
    CHECK(lseek(fd, 7, SEEK_SET) == 7);
    CHECK(lseek(fd2, 0, SEEK_CUR) == 7);
    char c;
    CHECK(read(fd2, &c, 1) == 1);
    CHECK(lseek(fd, 0, SEEK_CUR) == 8);
    close(fd);
    close(fd2);
    return NULL;
}

/* dup clears FD_CLOEXEC on the new descriptor. */
static const char *case_dup_clears_cloexec(void) {
    int fd, fd2;
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY | O_CLOEXEC));
    CHECK_OK(fd2, dup(fd));
    CHECK(fcntl(fd2, F_GETFD) == 0);
    close(fd);
    close(fd2);
    return NULL;
}

/* dup2 onto an open descriptor replaces it; dup2(fd, fd) returns fd. */
static const char *case_dup2_replaces(void) {
    int a, b;
    struct stat sa, sb;
    CHECK_OK(a, open("/etc/passwd", O_RDONLY));
    CHECK_OK(b, open("/etc/hostname", O_RDONLY));
    CHECK(dup2(a, b) == b);
    CHECK(fstat(a, &sa) == 0 && fstat(b, &sb) == 0);
    CHECK(sa.st_ino == sb.st_ino);
    CHECK(dup2(a, a) == a);
    CHECK_ERR(dup2(987, a), EBADF);
    close(a);
    close(b);
    return NULL;
}

/* dup3 sets O_CLOEXEC on request and rejects oldfd == newfd with EINVAL. */
static const char *case_dup3_cloexec(void) {
    int a;
    CHECK_OK(a, open("/etc/passwd", O_RDONLY));
    CHECK(dup3(a, 100, O_CLOEXEC) == 100);
    CHECK(fcntl(100, F_GETFD) == FD_CLOEXEC);
    CHECK_ERR(dup3(a, a, 0), EINVAL);
    CHECK_ERR(dup3(a, 101, 0x1234), EINVAL);
    close(100);
    close(a);
    return NULL;
}

/* F_DUPFD returns the lowest free fd >= arg; F_DUPFD_CLOEXEC sets the flag. */
static const char *case_fcntl_dupfd(void) {
    int a, b, c;
    CHECK_OK(a, open("/etc/passwd", O_RDONLY));
    CHECK_OK(b, fcntl(a, F_DUPFD, 200));
    CHECK(b == 200);
    CHECK_OK(c, fcntl(a, F_DUPFD, 200));
    CHECK(c == 201);
    CHECK(fcntl(c, F_GETFD) == 0);
    close(c);
    CHECK_OK(c, fcntl(a, F_DUPFD_CLOEXEC, 200));
    CHECK(c == 201);
    CHECK(fcntl(c, F_GETFD) == FD_CLOEXEC);
    close(a);
    close(b);
    close(c);
    return NULL;
}

/* close of a descriptor that is not open gives EBADF. */
static const char *case_close_badf(void) {
    int fd;
    CHECK_ERR(close(-1), EBADF);
    CHECK_ERR(close(987), EBADF);
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK(close(fd) == 0);
    CHECK_ERR(close(fd), EBADF);
    return NULL;
}

/* close_range closes exactly the given inclusive range. */
static const char *case_close_range(void) {
    int a;
    CHECK_OK(a, open("/etc/passwd", O_RDONLY));
    for (int i = 300; i <= 304; i++)
        CHECK(dup2(a, i) == i);
    CHECK(syscall(SYS_close_range, 301, 303, 0) == 0);
    CHECK(fcntl(300, F_GETFD) >= 0);
    CHECK_ERR(fcntl(301, F_GETFD), EBADF);
    CHECK_ERR(fcntl(303, F_GETFD), EBADF);
    CHECK(fcntl(304, F_GETFD) >= 0);
    CHECK_ERR(syscall(SYS_close_range, 10, 5, 0), EINVAL);
    close(300);
    close(304);
    close(a);
    return NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

#define MAX_NAMES 4096

/* Collect names of PATH with raw getdents64 and a small buffer (many calls). */
static int list_raw(const char *path, char **names, int *dots) {
    int n = 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    char buf[512];
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (got < 0) {
            close(fd);
            return -1;
        }
        if (got == 0)
            break;
        for (long off = 0; off < got;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            if (d->d_reclen == 0 || d->d_reclen % 8 != 0) {
                close(fd);
                return -2;
            }
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
                (*dots)++;
            else if (n < MAX_NAMES)
                names[n++] = strdup(d->d_name);
            off += d->d_reclen;
        }
    }
    close(fd);
    return n;
}

/* getdents64 of /usr/lib lists the same entries as opendir/readdir, with . and .. */
static const char *case_getdents64_matches_readdir(void) {
    static char *raw[MAX_NAMES], *lib[MAX_NAMES];
    int dots = 0, nraw, nlib = 0;
    nraw = list_raw("/usr/lib", raw, &dots);
    CHECK(nraw > 0);
    CHECK(dots == 2);
    DIR *d = opendir("/usr/lib");
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && nlib < MAX_NAMES)
            lib[nlib++] = strdup(e->d_name);
    closedir(d);
    CHECK(nraw == nlib);
    qsort(raw, nraw, sizeof raw[0], cmp_str);
    qsort(lib, nlib, sizeof lib[0], cmp_str);
    for (int i = 0; i < nraw; i++)
        if (strcmp(raw[i], lib[i]))
            FAILF("entry %d differs: %s vs %s", i, raw[i], lib[i]);
    for (int i = 0; i < nraw; i++) {
        free(raw[i]);
        free(lib[i]);
    }
    return NULL;
}

/* getdents64 reports d_type consistent with lstat for /usr entries. */
static const char *case_getdents64_dtype(void) {
    int fd;
    char buf[4096];
    CHECK_OK(fd, open("/usr", O_RDONLY | O_DIRECTORY));
    long got;
    CHECK_OK(got, syscall(SYS_getdents64, fd, buf, sizeof buf));
    for (long off = 0; off < got;) {
        struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
        struct stat st;
        if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            FAILF("fstatat %s failed", d->d_name);
        if (d->d_type != DT_UNKNOWN && d->d_type != IFTODT(st.st_mode))
            FAILF("%s: d_type %d vs mode %o", d->d_name, d->d_type, st.st_mode);
        off += d->d_reclen;
    }
    close(fd);
    return NULL;
}

/* getdents64 on a regular file gives ENOTDIR; a too-small buffer gives EINVAL. */
static const char *case_getdents64_errors(void) {
    int fd;
    char buf[4096];
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK_ERR(syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
    close(fd);
    CHECK_OK(fd, open("/usr", O_RDONLY | O_DIRECTORY));
    CHECK_ERR(syscall(SYS_getdents64, fd, buf, 4), EINVAL);
    close(fd);
    CHECK_ERR(syscall(SYS_getdents64, 987, buf, sizeof buf), EBADF);
    return NULL;
}

/* getdents64 after reaching the end returns 0; lseek(0) rewinds it. */
static const char *case_getdents64_rewind(void) {
    int fd;
    char buf[65536];
    long first, got;
    CHECK_OK(fd, open("/etc", O_RDONLY | O_DIRECTORY));
    CHECK_OK(first, syscall(SYS_getdents64, fd, buf, sizeof buf));
    CHECK(first > 0);
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        ;
    CHECK(got == 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK_OK(got, syscall(SYS_getdents64, fd, buf, sizeof buf));
    CHECK(got == first);
    close(fd);
    return NULL;
}

/* getcwd reports the directory chdir moved to; fchdir works the same. */
static const char *case_getcwd_after_chdir(void) {
    char old[PATH_MAX], buf[PATH_MAX];
    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK(chdir("/usr") == 0);
    CHECK(getcwd(buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "/usr") == 0);
    CHECK(chdir("lib/..//bin/../") == 0);
    CHECK(getcwd(buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "/usr") == 0);
    int fd;
    CHECK_OK(fd, open("/etc", O_RDONLY | O_DIRECTORY));
    CHECK(fchdir(fd) == 0);
    CHECK(getcwd(buf, sizeof buf) != NULL);
    CHECK(strcmp(buf, "/etc") == 0);
    int p;
    CHECK_OK(p, open("passwd", O_RDONLY)); /* relative to the new cwd */
    close(p);
    close(fd);
    CHECK(chdir(old) == 0);
    return NULL;
}

/* The raw getcwd syscall returns the length including NUL; too small gives ERANGE. */
static const char *case_getcwd_small_buffer(void) {
    char old[PATH_MAX], buf[4];
    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK(chdir("/usr/lib") == 0);
    char big[64];
    CHECK(syscall(SYS_getcwd, big, sizeof big) == (long)strlen("/usr/lib") + 1);
    CHECK_ERR(syscall(SYS_getcwd, buf, sizeof buf), ERANGE);
    CHECK(chdir(old) == 0);
    return NULL;
}

/* chdir to a missing path gives ENOENT, to a file ENOTDIR; fchdir of a file ENOTDIR. */
static const char *case_chdir_errors(void) {
    int fd;
    CHECK_ERR(chdir(MISSING), ENOENT);
    CHECK_ERR(chdir("/etc/passwd"), ENOTDIR);
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK_ERR(fchdir(fd), ENOTDIR);
    close(fd);
    CHECK_ERR(fchdir(987), EBADF);
    return NULL;
}

/* readlink returns the symlink target without a NUL terminator. */
static const char *case_readlink_symlink(void) {
    char buf[PATH_MAX];
    ssize_t n;
    memset(buf, 'X', sizeof buf);
    CHECK_OK(n, readlink("/lib64/ld-linux-x86-64.so.2", buf, sizeof buf));
    CHECK(buf[n] == 'X');
    buf[n] = 0;
    CHECK(strcmp(buf, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2") == 0);
    struct stat st;
    CHECK(lstat("/lib64/ld-linux-x86-64.so.2", &st) == 0);
    CHECK(st.st_size == n);
    return NULL;
}

/* readlinkat relative to a dirfd; a short buffer truncates silently. */
static const char *case_readlinkat_truncates(void) {
    int dfd;
    char buf[8];
    CHECK_OK(dfd, open("/usr/bin", O_RDONLY | O_DIRECTORY));
    CHECK(readlinkat(dfd, "awk", buf, sizeof buf) == (ssize_t)sizeof buf);
    CHECK(memcmp(buf, "/etc/alt", 8) == 0);
    close(dfd);
    return NULL;
}

/* readlink of a non-symlink gives EINVAL; a missing path ENOENT. */
static const char *case_readlink_errors(void) {
    char buf[64];
    CHECK_ERR(readlink("/etc/passwd", buf, sizeof buf), EINVAL);
    CHECK_ERR(readlink(MISSING, buf, sizeof buf), ENOENT);
    CHECK_ERR(readlink("/usr/bin/awk", buf, 0), EINVAL);
    return NULL;
}

/* Symlinks are followed by open: /usr/bin/awk resolves through /etc/alternatives. */
static const char *case_open_follows_symlinks(void) {
    int fd;
    struct stat a, b;
    CHECK_OK(fd, open("/usr/bin/awk", O_RDONLY));
    CHECK(fstat(fd, &a) == 0);
    CHECK(S_ISREG(a.st_mode));
    CHECK(stat("/usr/bin/awk", &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    close(fd);
    CHECK_ERR(open("/usr/bin/awk", O_RDONLY | O_NOFOLLOW), ELOOP);
    return NULL;
}

/* access/faccessat: existing readable and executable files succeed, missing gives ENOENT. */
static const char *case_access(void) {
    CHECK(access("/etc/passwd", R_OK) == 0);
    CHECK(access("/etc/passwd", F_OK) == 0);
    CHECK(access("/bin/true", X_OK) == 0);
    CHECK_ERR(access(MISSING, F_OK), ENOENT);
    CHECK_ERR(faccessat(AT_FDCWD, MISSING, R_OK, 0), ENOENT);
    CHECK_ERR(access("/etc/passwd/x", F_OK), ENOTDIR);
    return NULL;
}

/* faccessat2 with AT_SYMLINK_NOFOLLOW checks the link itself; bad flags give EINVAL. */
static const char *case_faccessat2(void) {
    int dfd;
    CHECK_OK(dfd, open("/usr/bin", O_RDONLY | O_DIRECTORY));
    CHECK(syscall(SYS_faccessat2, dfd, "awk", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", R_OK, AT_EACCESS) == 0);
    CHECK_ERR(syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", R_OK, 0x40000), EINVAL);
    CHECK_ERR(syscall(SYS_faccessat2, AT_FDCWD, "/etc/passwd", 0x40, 0), EINVAL);
    close(dfd);
    return NULL;
}

/* Sandbox: the root filesystem is an in-memory overlay (--overlay2
 * root:memory, the default): creating and writing work inside, and the host
 * never sees the changes (runsc-cli/tests/overlay.rs checks that side). */
static const char *case_rootfs_writes_stay_in_the_sandbox(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    int fd;
    CHECK_OK(fd, open("/tmp/rvisor-conformance-new", O_CREAT | O_EXCL | O_WRONLY, 0600));
    close(fd);
    CHECK_OK(fd, creat("/tmp/rvisor-conformance-new", 0600));
    close(fd);
    CHECK_OK(fd, open("/etc/hostname", O_WRONLY));
    close(fd);
    CHECK_OK(fd, open("/etc/hostname", O_RDWR | O_TRUNC));
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    CHECK(unlink("/tmp/rvisor-conformance-new") == 0);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(open_missing_enoent);
    RUN(open_through_file_enotdir);
    RUN(open_directory_flag_on_file);
    RUN(read_directory_eisdir);
    RUN(open_directory_for_write_eisdir);
    RUN(open_empty_path_enoent);
    RUN(openat_relative);
    RUN(openat_absolute_ignores_dirfd);
    RUN(openat_bad_dirfd);
    RUN(dotdot_of_root);
    RUN(lowest_free_fd);
    RUN(o_cloexec_getfd);
    RUN(fcntl_status_flags);
    RUN(fcntl_badf);
    RUN(dup_shares_offset);
    RUN(dup_clears_cloexec);
    RUN(dup2_replaces);
    RUN(dup3_cloexec);
    RUN(fcntl_dupfd);
    RUN(close_badf);
    RUN(close_range);
    RUN(getdents64_matches_readdir);
    RUN(getdents64_dtype);
    RUN(getdents64_errors);
    RUN(getdents64_rewind);
    RUN(getcwd_after_chdir);
    RUN(getcwd_small_buffer);
    RUN(chdir_errors);
    RUN(readlink_symlink);
    RUN(readlinkat_truncates);
    RUN(readlink_errors);
    RUN(open_follows_symlinks);
    RUN(access);
    RUN(faccessat2);
    RUN(rootfs_writes_stay_in_the_sandbox);
    return 0;
}
