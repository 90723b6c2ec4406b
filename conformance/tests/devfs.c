/* Device nodes (mknod(2) of character and block devices): with CAP_MKNOD
 * a node can be made on a tmpfs or the root filesystem, stat shows its
 * device number, and opening it opens that device (1:3 behaves as
 * /dev/null, 1:5 as /dev/zero, 1:7 as /dev/full); a number without a
 * device is ENXIO, a nodev mount EACCES; without CAP_MKNOD mknod is EPERM
 * (a whiteout, 0:0, needs no privilege).
 *
 * Natively this needs root; the nodes go to a tmpfs mounted in a private
 * mount namespace (unshare(CLONE_NEWNS), MS_PRIVATE on /) and to a
 * directory under /tmp, never to the host's /dev. Without root every case
 * passes trivially. In the sandbox unshare(CLONE_NEWNS) is a no-op. */
#include "common.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static int have_root;    /* uid 0 with CAP_MKNOD: the cases run */
static int have_tmpfs;   /* `base` is a tmpfs of our own */
static char base[64];    /* a tmpfs (or a plain directory) for the nodes */
static char disk[64];    /* a directory on the root filesystem */

#define NEED_ROOT()          \
    do {                     \
        if (!have_root)      \
            return NULL;     \
    } while (0)

static const char *path_in(const char *dir, const char *name) {
    static char p[16][160];
    static int n;
    char *out = p[n++ % 16];
    snprintf(out, 160, "%s/%s", dir, name);
    return out;
}

/* Runs `fn` in a child; the child's exit code is the failing line (0 = ok). */
static const char *in_child(int (*fn)(void)) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st))
        FAILF("child died with signal %d", WTERMSIG(st));
    if (WEXITSTATUS(st) != 0)
        FAILF("child failed at line %d (mod 256)", WEXITSTATUS(st));
    return NULL;
}

#define EXPECT(cond)                                    \
    do {                                                \
        if (!(cond))                                    \
            return __LINE__ % 256 ? __LINE__ % 256 : 1; \
    } while (0)

/* A node 1:3 is a null device: writes vanish, reads are at EOF. */
static const char *check_null(const char *dir) {
    const char *p = path_in(dir, "null");
    unlink(p);
    CHECK(mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0);
    struct stat st;
    CHECK(stat(p, &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
    int fd;
    CHECK_OK(fd, open(p, O_RDWR));
    CHECK(write(fd, "abc", 3) == 3);
    char buf[8];
    CHECK(read(fd, buf, sizeof buf) == 0);
    struct stat fst;
    CHECK(fstat(fd, &fst) == 0);
    CHECK(fst.st_ino == st.st_ino && fst.st_rdev == st.st_rdev);
    close(fd);
    CHECK(unlink(p) == 0);
    return NULL;
}

static const char *case_mknod_null_on_tmpfs(void) {
    NEED_ROOT();
    return check_null(base);
}

static const char *case_mknod_null_on_root_fs(void) {
    NEED_ROOT();
    return check_null(disk);
}

/* 1:5 reads zeros, 1:7 reads zeros and refuses writes with ENOSPC. */
static const char *case_zero_and_full(void) {
    NEED_ROOT();
    const char *z = path_in(base, "zero"), *f = path_in(base, "full");
    CHECK(mknod(z, S_IFCHR | 0444, makedev(1, 5)) == 0);
    CHECK(mknod(f, S_IFCHR | 0666, makedev(1, 7)) == 0);
    int fd;
    CHECK_OK(fd, open(z, O_RDONLY));
    char buf[64];
    memset(buf, 7, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == 0);
    close(fd);
    CHECK_OK(fd, open(f, O_RDWR));
    CHECK_ERR(write(fd, "x", 1), ENOSPC);
    CHECK(read(fd, buf, 4) == 4 && buf[0] == 0);
    close(fd);
    CHECK(unlink(z) == 0 && unlink(f) == 0);
    return NULL;
}

/* A device number no driver has is ENXIO on open (char 42 is the sample
 * drivers' major, block 42 likewise), though the node exists. */
static const char *case_unknown_device_is_enxio(void) {
    NEED_ROOT();
    const char *c = path_in(base, "nodev-c"), *b = path_in(base, "nodev-b");
    CHECK(mknod(c, S_IFCHR | 0600, makedev(42, 0)) == 0);
    CHECK(mknod(b, S_IFBLK | 0600, makedev(42, 0)) == 0);
    CHECK_ERR(open(c, O_RDWR), ENXIO);
    CHECK_ERR(open(b, O_RDONLY), ENXIO);
    /* O_PATH opens the node without the device. */
    int fd;
    CHECK_OK(fd, open(c, O_PATH));
    close(fd);
    CHECK(unlink(c) == 0 && unlink(b) == 0);
    return NULL;
}

/* stat shows type and number, large majors and minors included. */
static const char *case_stat_shows_rdev(void) {
    NEED_ROOT();
    const char *c = path_in(base, "big"), *b = path_in(base, "blk");
    CHECK(mknod(c, S_IFCHR | 0640, makedev(300, 70000)) == 0);
    CHECK(mknod(b, S_IFBLK | 0600, makedev(8, 1)) == 0);
    struct stat st;
    CHECK(lstat(c, &st) == 0);
    CHECK(S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0640);
    CHECK(major(st.st_rdev) == 300 && minor(st.st_rdev) == 70000);
    CHECK(st.st_size == 0);
    CHECK(lstat(b, &st) == 0);
    CHECK(S_ISBLK(st.st_mode) && major(st.st_rdev) == 8 && minor(st.st_rdev) == 1);
    /* A second name for the same node, and a rename keep the number. */
    CHECK(link(c, path_in(base, "big2")) == 0);
    CHECK(rename(path_in(base, "big2"), path_in(base, "big3")) == 0);
    CHECK(lstat(path_in(base, "big3"), &st) == 0);
    CHECK(st.st_nlink == 2 && major(st.st_rdev) == 300);
    CHECK_ERR(mknod(c, S_IFCHR | 0600, makedev(1, 3)), EEXIST);
    CHECK(unlink(c) == 0 && unlink(b) == 0 && unlink(path_in(base, "big3")) == 0);
    return NULL;
}

static int drop_mknod(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return -1;
    d[0].effective &= ~(1u << CAP_MKNOD);
    return syscall(SYS_capset, &h, d) == 0 ? 0 : -1;
}

static int child_without_cap_mknod(void) {
    EXPECT(drop_mknod() == 0);
    errno = 0;
    EXPECT(mknod(path_in(base, "nocap"), S_IFCHR | 0600, makedev(1, 3)) == -1 && errno == EPERM);
    errno = 0;
    EXPECT(mknod(path_in(base, "nocap"), S_IFBLK | 0600, makedev(8, 0)) == -1 && errno == EPERM);
    /* FIFOs and regular files need no privilege. */
    EXPECT(mknod(path_in(base, "fifo"), S_IFIFO | 0600, 0) == 0);
    EXPECT(unlink(path_in(base, "fifo")) == 0);
    /* A whiteout (0:0) needs none either. */
    EXPECT(mknod(path_in(base, "wh"), S_IFCHR, makedev(0, 0)) == 0);
    struct stat st;
    EXPECT(lstat(path_in(base, "wh"), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0);
    errno = 0;
    EXPECT(open(path_in(base, "wh"), O_RDONLY) == -1 && errno == ENXIO);
    EXPECT(unlink(path_in(base, "wh")) == 0);
    return 0;
}

/* Without CAP_MKNOD (root having dropped it) device nodes are EPERM. */
static const char *case_mknod_needs_cap_mknod(void) {
    NEED_ROOT();
    return in_child(child_without_cap_mknod);
}

static int child_nobody(void) {
    const char *dir = path_in(base, "open");
    EXPECT(setgid(65534) == 0 && setuid(65534) == 0);
    errno = 0;
    EXPECT(mknod(path_in(dir, "n"), S_IFCHR | 0666, makedev(1, 3)) == -1 && errno == EPERM);
    /* Where it may not write, EACCES comes first. */
    errno = 0;
    EXPECT(mknod(path_in(base, "n"), S_IFCHR | 0666, makedev(1, 3)) == -1 && errno == EACCES);
    EXPECT(mknod(path_in(dir, "p"), S_IFIFO | 0666, 0) == 0);
    /* Nodes root made there open for nobody by their mode bits. */
    int fd = open(path_in(dir, "shared"), O_WRONLY);
    EXPECT(fd >= 0 && write(fd, "x", 1) == 1);
    close(fd);
    errno = 0;
    EXPECT(open(path_in(dir, "private"), O_WRONLY) == -1 && errno == EACCES);
    return 0;
}

/* A user that is not root may not make device nodes, even where it may
 * create files. */
static const char *case_mknod_as_nobody(void) {
    NEED_ROOT();
    const char *dir = path_in(base, "open");
    CHECK(mkdir(dir, 0777) == 0);
    CHECK(chmod(dir, 0777) == 0);
    CHECK(chmod(base, 0755) == 0);
    CHECK(mknod(path_in(dir, "shared"), S_IFCHR | 0666, makedev(1, 3)) == 0);
    CHECK(chmod(path_in(dir, "shared"), 0666) == 0);
    CHECK(mknod(path_in(dir, "private"), S_IFCHR | 0600, makedev(1, 3)) == 0);
    const char *r = in_child(child_nobody);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return r;
}

/* On a nodev mount the node exists but opening it is EACCES. */
static const char *case_nodev_mount_refuses_open(void) {
    NEED_ROOT();
    if (!have_tmpfs)
        return NULL;
    const char *d = path_in(base, "nodev");
    CHECK(mkdir(d, 0755) == 0);
    CHECK(mount("tmpfs", d, "tmpfs", MS_NODEV, NULL) == 0);
    const char *n = path_in(d, "null");
    CHECK(mknod(n, S_IFCHR | 0666, makedev(1, 3)) == 0);
    CHECK_ERR(open(n, O_WRONLY), EACCES);
    struct stat st;
    CHECK(stat(n, &st) == 0 && major(st.st_rdev) == 1);
    /* Remounted with devices allowed, it opens. */
    CHECK(mount(NULL, d, NULL, MS_REMOUNT, NULL) == 0);
    int fd;
    CHECK_OK(fd, open(n, O_WRONLY));
    CHECK(write(fd, "x", 1) == 1);
    close(fd);
    CHECK(umount(d) == 0);
    CHECK(rmdir(d) == 0);
    return NULL;
}

/* /dev/tty's number (5:0) opens the controlling terminal: ENXIO without one. */
static int child_tty(void) {
    EXPECT(setsid() > 0);
    errno = 0;
    EXPECT(open(path_in(base, "tty"), O_RDWR) == -1 && errno == ENXIO);
    return 0;
}

static const char *case_tty_node_without_terminal(void) {
    NEED_ROOT();
    CHECK(mknod(path_in(base, "tty"), S_IFCHR | 0666, makedev(5, 0)) == 0);
    const char *r = in_child(child_tty);
    CHECK(unlink(path_in(base, "tty")) == 0);
    return r;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    have_root = getuid() == 0 && syscall(SYS_capget, &h, d) == 0 && (d[0].effective & (1u << CAP_MKNOD));
    snprintf(disk, sizeof disk, "/tmp/rvisor-devfs-disk-XXXXXX");
    snprintf(base, sizeof base, "/tmp/rvisor-devfs-XXXXXX");
    if (have_root && (mkdtemp(disk) == NULL || mkdtemp(base) == NULL))
        have_root = 0;
    if (have_root && unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
        mount("tmpfs", base, "tmpfs", 0, "mode=755") == 0)
        have_tmpfs = 1;
    RUN(mknod_null_on_tmpfs);
    RUN(mknod_null_on_root_fs);
    RUN(zero_and_full);
    RUN(unknown_device_is_enxio);
    RUN(stat_shows_rdev);
    RUN(mknod_needs_cap_mknod);
    RUN(mknod_as_nobody);
    RUN(nodev_mount_refuses_open);
    RUN(tty_node_without_terminal);
    if (have_root) {
        if (have_tmpfs)
            umount2(base, MNT_DETACH);
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf %s %s", base, disk);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup failed\n");
    }
    return 0;
}
