/* The escape battery: path tricks that must never reach a host file outside
 * the container's root. The test places SECRET files next to the rootfs on
 * the host and a marker "inside" at /etc/marker in the rootfs. Each case
 * prints "CASE <name> ok" or "CASE <name> FAIL <detail>". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void report(const char *name, int ok, const char *detail) {
    printf("CASE %s %s%s%s\n", name, ok ? "ok" : "FAIL", ok ? "" : " ", ok ? "" : detail);
    if (!ok)
        failures++;
}

/* Reads a path; returns the first bytes (or "errno:<name>"). */
static const char *slurp_at(int dirfd, const char *path) {
    static char buf[256];
    int fd = openat(dirfd, path, O_RDONLY);
    if (fd < 0) {
        snprintf(buf, sizeof buf, "errno:%s", strerrorname_np(errno));
        return buf;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(buf, sizeof buf, "errno:%s", strerrorname_np(errno));
        return buf;
    }
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    return buf;
}

static const char *slurp(const char *path) { return slurp_at(AT_FDCWD, path); }

/* The path must not resolve to anything outside: ENOENT, or the inside marker. */
static void expect_not_outside(const char *name, const char *path) {
    const char *got = slurp(path);
    int ok = strcmp(got, "SECRET") != 0 && strcmp(got, "OUTSIDE") != 0;
    char detail[512];
    snprintf(detail, sizeof detail, "%s gave %s", path, got);
    report(name, ok, detail);
}

static void expect_content(const char *name, const char *path, const char *want) {
    const char *got = slurp(path);
    char detail[512];
    snprintf(detail, sizeof detail, "%s gave %s, want %s", path, got, want);
    report(name, strcmp(got, want) == 0, detail);
}

static volatile int racing = 1;

/* Flips /tmp/race between a directory and a symlink to "/..". */
static void *flipper(void *arg) {
    (void)arg;
    while (racing) {
        mkdir("/tmp/race.dir", 0755);
        rename("/tmp/race.dir", "/tmp/race");
        rename("/tmp/race", "/tmp/race.old");
        rmdir("/tmp/race.old");
        symlink("/../../..", "/tmp/race.lnk");
        rename("/tmp/race.lnk", "/tmp/race");
        unlink("/tmp/race");
    }
    return NULL;
}

int main(void) {
    /* Symlinks in the rootfs that climb with "..". */
    expect_content("symlink_dotdot_to_etc", "/evil/marker", "inside");
    expect_not_outside("symlink_relative_up", "/rel");
    expect_not_outside("symlink_via_proc_root", "/abs");
    /* ".." past "/". */
    expect_not_outside("dotdot_past_root", "/../secret");
    expect_not_outside("many_dotdots", "/../../../../../../secret");
    expect_content("dotdot_stays_at_root", "/../../etc/marker", "inside");
    expect_not_outside("dotdot_from_proc_mount", "/proc/../../secret");
    /* /proc magic links. */
    expect_not_outside("proc_self_root_dotdot", "/proc/self/root/../secret");
    expect_content("proc_self_root_dotdot_etc", "/proc/self/root/../etc/marker", "inside");
    {
        char link[256] = {0};
        ssize_t n = readlink("/proc/self/root", link, sizeof link - 1);
        report("proc_self_root_is_slash", n == 1 && link[0] == '/', link);
    }
    /* chdir above the root. */
    if (chdir("/..") == 0) {
        char cwd[256] = {0};
        report("chdir_dotdot_is_root", getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0, cwd);
        expect_not_outside("relative_after_chdir", "secret");
        expect_not_outside("relative_dotdot_after_chdir", "../secret");
    } else {
        report("chdir_dotdot_is_root", 0, strerrorname_np(errno));
    }
    /* openat with directory fds. */
    {
        int root = open("/", O_RDONLY | O_DIRECTORY);
        int etc = open("/etc", O_RDONLY | O_DIRECTORY);
        const char *a = slurp_at(root, "../secret");
        const char *b = slurp_at(etc, "../../secret");
        report("openat_root_dotdot", strncmp(slurp_at(root, "../secret"), "errno:", 6) == 0, a);
        report("openat_etc_dotdot", strncmp(slurp_at(etc, "../../secret"), "errno:", 6) == 0, b);
        char fdpath[64];
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d/../../secret", etc);
        expect_not_outside("proc_fd_dotdot", fdpath);
        close(root);
        close(etc);
    }
    /* /proc/<pid>/cwd of another process in the container. */
    {
        int p[2];
        if (pipe(p) != 0)
            return 2;
        pid_t child = fork();
        if (child == 0) {
            close(p[0]);
            if (chdir("/etc") != 0)
                _exit(1);
            if (write(p[1], "r", 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        char c;
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
            return 2;
        char path[128], link[256] = {0};
        snprintf(path, sizeof path, "/proc/%d/cwd", child);
        ssize_t n = readlink(path, link, sizeof link - 1);
        report("other_cwd_link_inside", n > 0 && strcmp(link, "/etc") == 0, link);
        snprintf(path, sizeof path, "/proc/%d/cwd/../../secret", child);
        expect_not_outside("other_cwd_dotdot", path);
        snprintf(path, sizeof path, "/proc/%d/cwd/marker", child);
        expect_content("other_cwd_marker", path, "inside");
        snprintf(path, sizeof path, "/proc/%d/root/../../secret", child);
        expect_not_outside("other_root_dotdot", path);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    /* Symlinks made at run time. */
    {
        int a = symlink("/../../secret", "/tmp/ln-abs");
        int b = symlink("../../../../..", "/tmp/ln-up");
        report("make_symlinks", a == 0 && b == 0, strerrorname_np(errno));
        expect_not_outside("runtime_symlink_abs", "/tmp/ln-abs");
        expect_not_outside("runtime_symlink_up", "/tmp/ln-up/secret");
        expect_content("runtime_symlink_up_etc", "/tmp/ln-up/etc/marker", "inside");
        int l = link("/tmp/ln-up/secret", "/tmp/hard");
        report("hard_link_outside", l != 0, "link succeeded");
    }
    /* Host devices cannot be reached: a node may be made (root holds
     * CAP_MKNOD, the overlay keeps nodes) but opens only the sentry's
     * emulated devices, so a disk or /dev/mem is ENXIO. */
    {
        const char *nodes[] = {"/tmp/disk", "/tmp/mem", "/tmp/hostpts"};
        mode_t kinds[] = {S_IFBLK, S_IFCHR, S_IFCHR};
        dev_t devs[] = {makedev(8, 0), makedev(1, 1), makedev(4, 1)};
        const char *names[] = {"mknod_block_device", "mknod_dev_mem", "mknod_host_vt"};
        for (int i = 0; i < 3; i++) {
            int r = mknod(nodes[i], kinds[i] | 0600, devs[i]);
            int e = errno;
            int fd = r == 0 ? open(nodes[i], O_RDWR) : -1;
            int oe = errno;
            char detail[64];
            snprintf(detail, sizeof detail, "mknod %s, open %s", r == 0 ? "ok" : strerrorname_np(e),
                     fd >= 0 ? "OPENED" : strerrorname_np(oe));
            report(names[i], (r != 0 && e == EPERM) || (r == 0 && fd < 0 && oe == ENXIO), detail);
            if (fd >= 0)
                close(fd);
        }
        report("no_host_disks", access("/dev/sda", F_OK) != 0 && access("/dev/vda", F_OK) != 0, "host disk visible");
    }
    /* A directory replaced by a symlink during walks. */
    {
        pthread_t t;
        pthread_create(&t, NULL, flipper, NULL);
        int leaked = 0;
        char detail[256] = "";
        for (int i = 0; i < 20000; i++) {
            const char *paths[] = {"/tmp/race/../secret", "/tmp/race/secret", "/tmp/race/../../secret"};
            for (int k = 0; k < 3; k++) {
                const char *got = slurp(paths[k]);
                if (strcmp(got, "SECRET") == 0 || strcmp(got, "OUTSIDE") == 0) {
                    leaked++;
                    snprintf(detail, sizeof detail, "%s gave %s", paths[k], got);
                }
            }
        }
        racing = 0;
        pthread_join(t, NULL);
        report("walk_race_dir_to_symlink", leaked == 0, detail);
    }
    /* Bind mounts: /vol read-only, /rw read-write (when the test mounts them). */
    if (access("/vol/f", F_OK) == 0 && access("/rw/f", F_OK) == 0) {
        expect_content("volume_readable", "/vol/f", "volfile");
        expect_not_outside("volume_symlink_out", "/vol/out");
        expect_not_outside("volume_dotdot", "/vol/../secret");
        expect_not_outside("rw_volume_dotdot", "/rw/../../secret");
        int r = rename("/vol/f", "/tmp/from-vol");
        report("rename_out_of_ro_mount", r != 0 && (errno == EXDEV || errno == EROFS), r == 0 ? "renamed" : strerrorname_np(errno));
        int fd = open("/tmp/to-vol", O_CREAT | O_WRONLY, 0644);
        close(fd);
        r = rename("/tmp/to-vol", "/vol/g");
        report("rename_into_ro_mount", r != 0 && (errno == EXDEV || errno == EROFS), r == 0 ? "renamed" : strerrorname_np(errno));
        r = link("/rw/f", "/tmp/hl");
        report("hard_link_out_of_bind_mount", r != 0 && errno == EXDEV, r == 0 ? "linked" : strerrorname_np(errno));
        r = link("/etc/marker", "/rw/hl");
        report("hard_link_into_bind_mount", r != 0 && errno == EXDEV, r == 0 ? "linked" : strerrorname_np(errno));
        r = open("/vol/new", O_CREAT | O_WRONLY, 0644);
        report("create_in_ro_mount", r < 0 && errno == EROFS, r >= 0 ? "created" : strerrorname_np(errno));
    }
    printf("FAILURES %d\n", failures);
    return failures ? 1 : 0;
}
