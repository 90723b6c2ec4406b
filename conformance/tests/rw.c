/* rw: read/write family (read, write, pread/pwrite, readv/writev, preadv/pwritev,
 * lseek) and the ioctls this milestone implements, over rootfs files and /dev. */
#include "common.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>

#define FILE_PATH "/etc/passwd"

static char whole[1 << 16];
static ssize_t whole_len = -1;

/* Read FILE_PATH once with plain read() calls; later cases compare against it. */
static const char *case_read_whole_file(void) {
    int fd;
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    whole_len = 0;
    for (;;) {
        ssize_t n = read(fd, whole + whole_len, 100); /* small reads on purpose */
        CHECK(n >= 0);
        if (n == 0)
            break;
        whole_len += n;
        CHECK(whole_len < (ssize_t)sizeof whole - 100);
    }
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_size == whole_len);
    CHECK(whole_len > 20);
    close(fd);
    return NULL;
}

/* After lseek(SEEK_SET) a read returns the bytes at that offset. */
static const char *case_read_after_lseek(void) {
    int fd;
    char buf[10];
    CHECK(whole_len > 20);
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK(lseek(fd, 5, SEEK_SET) == 5);
    CHECK(read(fd, buf, 10) == 10);
    CHECK(memcmp(buf, whole + 5, 10) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 15);
    CHECK(lseek(fd, -3, SEEK_CUR) == 12);
    CHECK(read(fd, buf, 1) == 1 && buf[0] == whole[12]);
    close(fd);
    return NULL;
}

/* SEEK_END returns the size; seeking past the end is allowed and reads give 0. */
static const char *case_lseek_end_and_beyond(void) {
    int fd;
    char buf[4];
    CHECK(whole_len > 0);
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK(lseek(fd, 0, SEEK_END) == whole_len);
    CHECK(lseek(fd, -1, SEEK_END) == whole_len - 1);
    CHECK(read(fd, buf, 4) == 1 && buf[0] == whole[whole_len - 1]);
    CHECK(lseek(fd, 1000000, SEEK_SET) == 1000000);
    CHECK(read(fd, buf, 4) == 0);
    close(fd);
    return NULL;
}

/* A negative resulting offset or bad whence gives EINVAL; lseek on a bad fd EBADF. */
static const char *case_lseek_errors(void) {
    int fd;
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    CHECK_ERR(lseek(fd, 0, 42), EINVAL);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0); /* failed seeks leave the offset alone */
    close(fd);
    CHECK_ERR(lseek(987, 0, SEEK_SET), EBADF);
    return NULL;
}

/* pread reads at the given offset and does not move the file offset. */
static const char *case_pread_keeps_offset(void) {
    int fd;
    char buf[8];
    CHECK(whole_len > 20);
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK(lseek(fd, 3, SEEK_SET) == 3);
    CHECK(pread(fd, buf, 8, 10) == 8);
    CHECK(memcmp(buf, whole + 10, 8) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    CHECK(pread(fd, buf, 8, whole_len) == 0);
    CHECK_ERR(pread(fd, buf, 8, -1), EINVAL);
    close(fd);
    return NULL;
}

/* readv scatters consecutive bytes over the iovecs in order. */
static const char *case_readv_scatters(void) {
    int fd;
    char a[3], b[5], c[7];
    struct iovec iov[3] = {{a, 3}, {b, 5}, {c, 7}};
    CHECK(whole_len > 20);
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK(readv(fd, iov, 3) == 15);
    CHECK(memcmp(a, whole, 3) == 0);
    CHECK(memcmp(b, whole + 3, 5) == 0);
    CHECK(memcmp(c, whole + 8, 7) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 15);
    close(fd);
    return NULL;
}

/* preadv reads at an offset without moving the file offset. */
static const char *case_preadv_offset(void) {
    int fd;
    char a[4], b[4];
    struct iovec iov[2] = {{a, 4}, {b, 4}};
    CHECK(whole_len > 20);
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK(preadv(fd, iov, 2, 6) == 8);
    CHECK(memcmp(a, whole + 6, 4) == 0 && memcmp(b, whole + 10, 4) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    close(fd);
    return NULL;
}

/* readv with a negative iovcnt or too many iovecs gives EINVAL. */
static const char *case_readv_bad_count(void) {
    int fd;
    char a[4];
    struct iovec iov[1] = {{a, 4}};
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK_ERR(syscall(SYS_readv, fd, iov, -1), EINVAL);
    CHECK_ERR(syscall(SYS_readv, fd, iov, 1025), EINVAL);
    CHECK(readv(fd, iov, 0) == 0);
    close(fd);
    return NULL;
}

/* writev/pwritev to /dev/null consume every byte; reads from it give EOF. */
static const char *case_writev_dev_null(void) {
    int fd;
    char a[10] = "0123456789", b[100] = {0};
    struct iovec iov[2] = {{a, 10}, {b, 100}};
    CHECK_OK(fd, open("/dev/null", O_RDWR));
    CHECK(writev(fd, iov, 2) == 110);
    CHECK(pwritev(fd, iov, 2, 50) == 110);
    CHECK(write(fd, a, 10) == 10);
    CHECK(pwrite(fd, a, 10, 123) == 10);
    CHECK(read(fd, b, sizeof b) == 0);
    CHECK(readv(fd, iov, 2) == 0);
    close(fd);
    return NULL;
}

/* /dev/zero reads as zero bytes, overwriting the buffer. */
static const char *case_read_dev_zero(void) {
    int fd;
    char buf[3000];
    memset(buf, 0x5a, sizeof buf);
    CHECK_OK(fd, open("/dev/zero", O_RDONLY));
    CHECK(read(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        if (buf[i] != 0)
            FAILF("byte %zu is %d", i, buf[i]);
    close(fd);
    return NULL;
}

/* Writing to /dev/full fails with ENOSPC; reading it gives zeros. */
static const char *case_dev_full(void) {
    int fd;
    char c = 1;
    CHECK_OK(fd, open("/dev/full", O_RDWR));
    CHECK_ERR(write(fd, &c, 1), ENOSPC);
    CHECK(read(fd, &c, 1) == 1 && c == 0);
    close(fd);
    return NULL;
}

/* /dev/urandom and /dev/random return the requested number of bytes, not all equal. */
static const char *case_read_dev_urandom(void) {
    int fd;
    unsigned char a[64], b[64];
    CHECK_OK(fd, open("/dev/urandom", O_RDONLY));
    CHECK(read(fd, a, sizeof a) == (ssize_t)sizeof a);
    CHECK(read(fd, b, sizeof b) == (ssize_t)sizeof b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    close(fd);
    CHECK_OK(fd, open("/dev/random", O_RDONLY));
    CHECK(read(fd, a, 16) == 16);
    close(fd);
    return NULL;
}

/* Wrong access mode: write on O_RDONLY and read on O_WRONLY give EBADF. */
static const char *case_access_mode_ebadf(void) {
    int fd;
    char c = 0;
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK_ERR(write(fd, &c, 1), EBADF);
    CHECK_ERR(pwrite(fd, &c, 1, 0), EBADF);
    close(fd);
    CHECK_OK(fd, open("/dev/null", O_WRONLY));
    CHECK_ERR(read(fd, &c, 1), EBADF);
    close(fd);
    CHECK_ERR(read(987, &c, 1), EBADF);
    CHECK_ERR(write(987, &c, 1), EBADF);
    return NULL;
}

/* read into an unmapped buffer gives EFAULT rather than crashing. */
static const char *case_read_efault(void) {
    int fd;
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK_ERR(syscall(SYS_read, fd, (void *)8, 16), EFAULT);
    close(fd);
    return NULL;
}

/* A zero-length read returns 0 and does not move the offset. */
static const char *case_read_zero_length(void) {
    int fd;
    char c;
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK(read(fd, &c, 0) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    close(fd);
    return NULL;
}

/* pread on /dev/null is fine; lseek on a character device returns 0. */
static const char *case_char_device_seek(void) {
    int fd;
    CHECK_OK(fd, open("/dev/zero", O_RDONLY));
    CHECK(lseek(fd, 100, SEEK_SET) == 0);
    close(fd);
    return NULL;
}

/* FIONREAD on a regular file reports the bytes left after the offset. */
static const char *case_ioctl_fionread(void) {
    int fd, n = -1;
    CHECK(whole_len > 10);
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK(ioctl(fd, FIONREAD, &n) == 0);
    CHECK(n == whole_len);
    CHECK(lseek(fd, 10, SEEK_SET) == 10);
    CHECK(ioctl(fd, FIONREAD, &n) == 0);
    CHECK(n == whole_len - 10);
    close(fd);
    return NULL;
}

/* FIONBIO toggles O_NONBLOCK as seen by F_GETFL. */
static const char *case_ioctl_fionbio(void) {
    int fd, on = 1, off = 0;
    CHECK_OK(fd, open("/dev/null", O_RDONLY));
    CHECK(ioctl(fd, FIONBIO, &on) == 0);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK(ioctl(fd, FIONBIO, &off) == 0);
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
    close(fd);
    return NULL;
}

/* FIOCLEX sets FD_CLOEXEC as seen by F_GETFD. */
static const char *case_ioctl_fioclex(void) {
    int fd;
    CHECK_OK(fd, open("/dev/null", O_RDONLY));
    CHECK(fcntl(fd, F_GETFD) == 0);
    CHECK(ioctl(fd, FIOCLEX) == 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    close(fd);
    return NULL;
}

/* Terminal ioctls on non-terminals give ENOTTY; a bad fd gives EBADF. */
static const char *case_ioctl_not_a_tty(void) {
    int fd;
    struct termios t;
    struct winsize ws;
    CHECK_OK(fd, open(FILE_PATH, O_RDONLY));
    CHECK_ERR(ioctl(fd, TCGETS, &t), ENOTTY);
    CHECK_ERR(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY);
    close(fd);
    CHECK_OK(fd, open("/dev/null", O_RDONLY));
    CHECK_ERR(ioctl(fd, TCGETS, &t), ENOTTY);
    CHECK(isatty(fd) == 0);
    close(fd);
    CHECK_ERR(ioctl(987, FIONBIO, &fd), EBADF);
    return NULL;
}

/* Writes to stdout (a pipe from the runner) succeed and return the byte count. */
static const char *case_write_stdout(void) {
    const char msg[] = "# rw: hello from write(1)\n";
    fflush(stdout);
    CHECK(write(1, msg, sizeof msg - 1) == (ssize_t)sizeof msg - 1);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(read_whole_file);
    RUN(read_after_lseek);
    RUN(lseek_end_and_beyond);
    RUN(lseek_errors);
    RUN(pread_keeps_offset);
    RUN(readv_scatters);
    RUN(preadv_offset);
    RUN(readv_bad_count);
    RUN(writev_dev_null);
    RUN(read_dev_zero);
    RUN(dev_full);
    RUN(read_dev_urandom);
    RUN(access_mode_ebadf);
    RUN(read_efault);
    RUN(read_zero_length);
    RUN(char_device_seek);
    RUN(ioctl_fionread);
    RUN(ioctl_fionbio);
    RUN(ioctl_fioclex);
    RUN(ioctl_not_a_tty);
    RUN(write_stdout);
    return 0;
}
