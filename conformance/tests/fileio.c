/* memfd_create, sendfile, copy_file_range, splice, fadvise64, readahead. */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

static const char *case_memfd_write_read_mmap_fstat(void) {
    int fd;
    CHECK_OK(fd, memfd_create("conf", MFD_CLOEXEC));
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    CHECK(write(fd, "hello", 5) == 5);
    CHECK(ftruncate(fd, 8192) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_size == 8192 && S_ISREG(st.st_mode));
    char buf[8] = {0};
    CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(memcmp(p, "hello", 5) == 0);
    p[4096] = 'Z';
    CHECK(pread(fd, buf, 1, 4096) == 1 && buf[0] == 'Z');
    munmap(p, 8192);
    char link[128] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    CHECK(readlink(path, link, sizeof link - 1) > 0);
    CHECK(strcmp(link, "/memfd:conf (deleted)") == 0);
    close(fd);
    CHECK_ERR(memfd_create("x", MFD_HUGETLB | 0x1000000), EINVAL);
    CHECK_ERR(memfd_create("x", 0x100), EINVAL);
    return NULL;
}

static const char *case_memfd_seals(void) {
    int plain;
    CHECK_OK(plain, memfd_create("plain", 0));
    CHECK(fcntl(plain, F_GET_SEALS) == F_SEAL_SEAL);
    CHECK_ERR(fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
    close(plain);
    int fd;
    CHECK_OK(fd, memfd_create("sealed", MFD_ALLOW_SEALING));
    CHECK(fcntl(fd, F_GET_SEALS) == 0);
    CHECK(write(fd, "abcdef", 6) == 6);
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
    CHECK_ERR(ftruncate(fd, 2), EPERM);
    CHECK_ERR(ftruncate(fd, 100), EPERM);
    CHECK(pwrite(fd, "XY", 2, 0) == 2);
    CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) == 0);
    CHECK_ERR(pwrite(fd, "XY", 2, 0), EPERM);
    CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
    CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL));
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    CHECK_ERR(fcntl(pfd[0], F_GET_SEALS), EINVAL);
    close(pfd[0]);
    close(pfd[1]);
    close(fd);
    return NULL;
}

/* Reads all of PATH into BUF; returns the length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t total = 0, n;
    while ((n = read(fd, buf + total, cap - total)) > 0)
        total += n;
    close(fd);
    return total;
}

static const char *case_sendfile_file_to_pipe(void) {
    static char want[32768], got[32768];
    ssize_t len = slurp("/etc/passwd", want, sizeof want);
    CHECK(len > 0 && len < 32768);
    int in = open("/etc/passwd", O_RDONLY), pfd[2];
    CHECK(in >= 0 && pipe(pfd) == 0);
    CHECK(sendfile(pfd[1], in, NULL, len + 100) == len);
    CHECK(lseek(in, 0, SEEK_CUR) == len);
    ssize_t n = read(pfd[0], got, sizeof got);
    CHECK(n == len && memcmp(want, got, len) == 0);
    off_t off = 2;
    CHECK(sendfile(pfd[1], in, &off, 3) == 3);
    CHECK(off == 5 && lseek(in, 0, SEEK_CUR) == len);
    CHECK(read(pfd[0], got, 3) == 3 && memcmp(got, want + 2, 3) == 0);
    return NULL;
}

static const char *case_sendfile_errors(void) {
    int in = open("/etc/passwd", O_RDONLY), pfd[2];
    CHECK(in >= 0 && pipe(pfd) == 0);
    CHECK_ERR(sendfile(pfd[1], 999, NULL, 1), EBADF);
    CHECK_ERR(sendfile(999, in, NULL, 1), EBADF);
    CHECK_ERR(sendfile(in, in, NULL, 1), EBADF);
    off_t neg = -1;
    CHECK_ERR(sendfile(pfd[1], in, &neg, 1), EINVAL);
    CHECK(sendfile(pfd[1], in, NULL, 0) == 0);
    close(in);
    close(pfd[0]);
    close(pfd[1]);
    return NULL;
}

static const char *case_copy_file_range_tmp(void) {
    char a[] = "/tmp/fileioAXXXXXX", b[] = "/tmp/fileioBXXXXXX";
    int fa = mkstemp(a), fb = mkstemp(b);
    CHECK(fa >= 0 && fb >= 0);
    unlink(a);
    unlink(b);
    CHECK(write(fa, "0123456789", 10) == 10);
    loff_t in_off = 2;
    CHECK(copy_file_range(fa, &in_off, fb, NULL, 5, 0) == 5);
    CHECK(in_off == 7 && lseek(fa, 0, SEEK_CUR) == 10 && lseek(fb, 0, SEEK_CUR) == 5);
    char buf[16] = {0};
    CHECK(pread(fb, buf, sizeof buf, 0) == 5 && memcmp(buf, "23456", 5) == 0);
    CHECK(lseek(fa, 8, SEEK_SET) == 8);
    CHECK(copy_file_range(fa, NULL, fb, NULL, 100, 0) == 2);
    CHECK(lseek(fa, 0, SEEK_CUR) == 10);
    CHECK(copy_file_range(fa, NULL, fb, NULL, 100, 0) == 0);
    CHECK(pread(fb, buf, sizeof buf, 0) == 7 && memcmp(buf, "2345689", 7) == 0);
    CHECK_ERR(copy_file_range(fa, NULL, fb, NULL, 1, 1), EINVAL);
    CHECK_ERR(copy_file_range(999, NULL, fb, NULL, 1, 0), EBADF);
    int ro = open("/etc/passwd", O_RDONLY);
    CHECK(ro >= 0);
    CHECK_ERR(copy_file_range(fa, NULL, ro, NULL, 1, 0), EBADF);
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    CHECK_ERR(copy_file_range(dir, NULL, fb, NULL, 1, 0), EISDIR);
    loff_t o1 = 0, o2 = 2;
    CHECK_ERR(copy_file_range(fa, &o1, fa, &o2, 5, 0), EINVAL);
    close(dir);
    close(ro);
    close(fa);
    close(fb);
    return NULL;
}

static const char *case_splice_file_pipe(void) {
    char path[] = "/tmp/fileioSXXXXXX";
    int f = mkstemp(path), pfd[2];
    CHECK(f >= 0 && pipe(pfd) == 0);
    unlink(path);
    CHECK(write(f, "splice-data", 11) == 11);
    loff_t off = 0;
    CHECK(splice(f, &off, pfd[1], NULL, 6, 0) == 6);
    CHECK(off == 6 && lseek(f, 0, SEEK_CUR) == 11);
    char buf[16] = {0};
    CHECK(read(pfd[0], buf, sizeof buf) == 6 && memcmp(buf, "splice", 6) == 0);
    /* pipe -> file at the file position */
    CHECK(write(pfd[1], "XYZ", 3) == 3);
    CHECK(splice(pfd[0], NULL, f, NULL, 100, 0) == 3);
    CHECK(pread(f, buf, sizeof buf, 0) == 14 && memcmp(buf, "splice-dataXYZ", 14) == 0);
    /* empty pipe, nonblocking splice */
    CHECK_ERR(splice(pfd[0], NULL, f, NULL, 100, SPLICE_F_NONBLOCK), EAGAIN);
    CHECK_ERR(splice(pfd[0], &off, f, NULL, 1, 0), ESPIPE);
    CHECK_ERR(splice(f, NULL, f, NULL, 1, 0), EINVAL);
    close(pfd[0]);
    close(pfd[1]);
    close(f);
    return NULL;
}

static const char *case_fadvise_readahead(void) {
    int pfd[2], f = open("/etc/passwd", O_RDONLY);
    CHECK(f >= 0 && pipe(pfd) == 0);
    CHECK(posix_fadvise(pfd[0], 0, 0, POSIX_FADV_NORMAL) == ESPIPE);
    CHECK(posix_fadvise(f, 0, 0, POSIX_FADV_SEQUENTIAL) == 0);
    CHECK(posix_fadvise(f, 0, 0, 99) == EINVAL);
    CHECK(posix_fadvise(999, 0, 0, POSIX_FADV_NORMAL) == EBADF);
    CHECK(readahead(f, 0, 4096) == 0);
    CHECK_ERR(readahead(999, 0, 1), EBADF);
    CHECK_ERR(readahead(pfd[0], 0, 1), EINVAL);
    close(pfd[0]);
    close(pfd[1]);
    close(f);
    return NULL;
}

/* Across filesystems Linux refuses with EXDEV, and cat/cp fall back to
 * read+write on it. */
static const char *case_copy_file_range_across_filesystems(void) {
    char b[] = "/tmp/fileioXXXXXX";
    int out = mkstemp(b);
    CHECK(out >= 0);
    unlink(b);
    int in = open("/proc/version", O_RDONLY);
    CHECK(in >= 0);
    CHECK_ERR(copy_file_range(in, NULL, out, NULL, 4096, 0), EXDEV);
    close(in);
    close(out);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(memfd_write_read_mmap_fstat);
    RUN(memfd_seals);
    RUN(sendfile_file_to_pipe);
    RUN(sendfile_errors);
    RUN(copy_file_range_tmp);
    RUN(copy_file_range_across_filesystems);
    RUN(splice_file_pipe);
    RUN(fadvise_readahead);
    return 0;
}
