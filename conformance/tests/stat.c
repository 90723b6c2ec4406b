/* stat: stat/lstat/fstat/newfstatat/statx and statfs/fstatfs results. */
#include "common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>

/* stat of a regular file: S_ISREG, size equals the bytes read, sane blksize. */
static const char *case_stat_regular(void) {
    struct stat st;
    char buf[65536];
    int fd;
    ssize_t total = 0, n;
    CHECK(stat("/etc/passwd", &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_nlink >= 1);
    CHECK(st.st_blksize > 0);
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    close(fd);
    CHECK(st.st_size == total);
    return NULL;
}

/* fstat of an open file matches stat of its path. */
static const char *case_fstat_matches_stat(void) {
    struct stat a, b;
    int fd;
    CHECK_OK(fd, open("/usr/bin/env", O_RDONLY));
    CHECK(fstat(fd, &a) == 0);
    CHECK(stat("/usr/bin/env", &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    CHECK(a.st_mode == b.st_mode && a.st_size == b.st_size);
    CHECK(a.st_uid == b.st_uid && a.st_gid == b.st_gid);
    CHECK(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
    CHECK(a.st_mode & S_IXUSR);
    close(fd);
    return NULL;
}

/* Directories report S_ISDIR and at least two links. */
static const char *case_stat_directory(void) {
    struct stat st;
    CHECK(stat("/usr", &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK(st.st_nlink >= 2);
    CHECK(stat("/", &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    return NULL;
}

/* lstat of a symlink describes the link (size = target length); stat follows it. */
static const char *case_lstat_symlink(void) {
    struct stat l, s;
    CHECK(lstat("/usr/bin/awk", &l) == 0);
    CHECK(S_ISLNK(l.st_mode));
    CHECK(l.st_size == (off_t)strlen("/etc/alternatives/awk"));
    CHECK(stat("/usr/bin/awk", &s) == 0);
    CHECK(S_ISREG(s.st_mode));
    CHECK(s.st_ino != l.st_ino);
    return NULL;
}

/* newfstatat honours AT_SYMLINK_NOFOLLOW and a directory fd. */
static const char *case_fstatat_dirfd_nofollow(void) {
    struct stat a, b;
    int dfd;
    CHECK_OK(dfd, open("/usr/bin", O_RDONLY | O_DIRECTORY));
    CHECK(fstatat(dfd, "awk", &a, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(S_ISLNK(a.st_mode));
    CHECK(fstatat(dfd, "awk", &b, 0) == 0);
    CHECK(S_ISREG(b.st_mode));
    CHECK_ERR(fstatat(dfd, "awk", &b, 0x12345678), EINVAL);
    close(dfd);
    return NULL;
}

/* AT_EMPTY_PATH stats the dirfd itself. */
static const char *case_fstatat_empty_path(void) {
    struct stat a, b;
    int fd;
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK(fstatat(fd, "", &a, AT_EMPTY_PATH) == 0);
    CHECK(fstat(fd, &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    CHECK_ERR(fstatat(fd, "", &a, 0), ENOENT);
    close(fd);
    return NULL;
}

/* Errors: missing path ENOENT, file as directory ENOTDIR, bad fd EBADF, bad pointer EFAULT. */
static const char *case_stat_errors(void) {
    struct stat st;
    CHECK_ERR(stat("/rvisor-conformance-missing", &st), ENOENT);
    CHECK_ERR(stat("/etc/passwd/", &st), ENOTDIR);
    CHECK_ERR(fstat(987, &st), EBADF);
    CHECK_ERR(syscall(SYS_stat, "/etc/passwd", (void *)8), EFAULT);
    CHECK_ERR(syscall(SYS_stat, (void *)8, &st), EFAULT);
    return NULL;
}

/* statx fills at least the basic fields it reports in stx_mask, matching stat. */
static const char *case_statx_mask(void) {
    struct statx sx;
    struct stat st;
    memset(&sx, 0xff, sizeof sx);
    CHECK(statx(AT_FDCWD, "/etc/passwd", 0, STATX_BASIC_STATS, &sx) == 0);
    unsigned need = STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE | STATX_NLINK;
    CHECK((sx.stx_mask & need) == need);
    CHECK(stat("/etc/passwd", &st) == 0);
    CHECK(sx.stx_ino == st.st_ino);
    CHECK(sx.stx_size == (unsigned long long)st.st_size);
    CHECK(sx.stx_mode == st.st_mode);
    CHECK(sx.stx_nlink == st.st_nlink);
    CHECK(sx.stx_uid == st.st_uid && sx.stx_gid == st.st_gid);
    CHECK(sx.stx_dev_major == major(st.st_dev) && sx.stx_dev_minor == minor(st.st_dev));
    if (sx.stx_mask & STATX_MTIME)
        CHECK(sx.stx_mtime.tv_sec == st.st_mtim.tv_sec);
    return NULL;
}

/* statx with AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH and invalid flags/mask. */
static const char *case_statx_flags(void) {
    struct statx sx;
    int fd;
    CHECK(statx(AT_FDCWD, "/usr/bin/awk", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx) == 0);
    CHECK(S_ISLNK(sx.stx_mode));
    CHECK_OK(fd, open("/usr", O_RDONLY | O_DIRECTORY));
    CHECK(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0);
    CHECK(S_ISDIR(sx.stx_mode));
    CHECK_ERR(statx(fd, "", AT_EMPTY_PATH, 0x80000000u, &sx), EINVAL); /* STATX__RESERVED */
    CHECK_ERR(statx(fd, "", 0x7fff0000, STATX_BASIC_STATS, &sx), EINVAL);
    CHECK_ERR(statx(AT_FDCWD, "/rvisor-conformance-missing", 0, STATX_BASIC_STATS, &sx), ENOENT);
    close(fd);
    return NULL;
}

/* Device nodes in /dev are character devices with the standard numbers. */
static const char *case_stat_dev_nodes(void) {
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
    CHECK(stat("/dev/zero", &st) == 0);
    CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 5);
    CHECK(stat("/dev/full", &st) == 0);
    CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 7);
    CHECK(stat("/dev/urandom", &st) == 0);
    CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 9);
    CHECK(stat("/dev", &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    return NULL;
}

/* statfs/fstatfs of the root succeed with plausible values that agree. */
static const char *case_statfs_root(void) {
    struct statfs a, b;
    int fd;
    CHECK(statfs("/", &a) == 0);
    CHECK(a.f_bsize > 0);
    CHECK(a.f_namelen > 0);
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK(fstatfs(fd, &b) == 0);
    CHECK(a.f_type == b.f_type);
    close(fd);
    CHECK_ERR(statfs("/rvisor-conformance-missing", &a), ENOENT);
    CHECK_ERR(fstatfs(987, &a), EBADF);
    return NULL;
}

/* Sandbox: the root mount (an in-memory overlay by default) reports
 * itself writable via statfs; /proc stays read-only. */
static const char *case_statfs_readonly_flag(void) {
    struct statfs a;
    SANDBOX_ONLY();
    CHECK(statfs("/", &a) == 0);
    CHECK(!(a.f_flags & ST_RDONLY));
    CHECK(statfs("/proc", &a) == 0);
    CHECK(a.f_flags & ST_RDONLY);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(stat_regular);
    RUN(fstat_matches_stat);
    RUN(stat_directory);
    RUN(lstat_symlink);
    RUN(fstatat_dirfd_nofollow);
    RUN(fstatat_empty_path);
    RUN(stat_errors);
    RUN(statx_mask);
    RUN(statx_flags);
    RUN(stat_dev_nodes);
    RUN(statfs_root);
    RUN(statfs_readonly_flag);
    return 0;
}
