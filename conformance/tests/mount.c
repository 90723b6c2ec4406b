/*
 * The mount tree: tmpfs mount/umount (EBUSY, MNT_DETACH), bind mounts of
 * directories inside the sandbox, remount read-only (EROFS), noexec
 * (EACCES), statfs of a tmpfs (magic, size limit, ENOSPC), mountinfo, and
 * hard links, symlinks and FIFO nodes on tmpfs.
 *
 * Natively this needs root and uses real mounts, in a private mount
 * namespace of its own (unshare(CLONE_NEWNS) and a recursive MS_PRIVATE on
 * /) so the host's tree is never touched; without root every case passes
 * trivially. In the sandbox unshare(CLONE_NEWNS) succeeds as a no-op.
 */
#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static int have_ns; /* a private mount namespace (or the sandbox) */
static char base[64];

/* A fresh directory under the base for one case. */
static const char *dir(const char *name) {
    static char p[4][128];
    static int n;
    char *out = p[n++ % 4];
    snprintf(out, 128, "%s/%s", base, name);
    mkdir(out, 0755);
    return out;
}

#define NEED_NS()             \
    do {                      \
        if (!have_ns)         \
            return NULL;      \
    } while (0)

/* Whether mountinfo has a line whose mount point is PATH; copies it. */
static int mountinfo_line(const char *path, char *out, size_t n) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        char mp[512];
        if (sscanf(line, "%*d %*d %*s %*s %511s", mp) == 1 && strcmp(mp, path) == 0) {
            snprintf(out, n, "%s", line);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

static const char *case_tmpfs_mount_umount(void) {
    NEED_NS();
    const char *d = dir("t1");
    struct stat before, during;
    CHECK(stat(d, &before) == 0);
    CHECK(mount("tmpfs", d, "tmpfs", 0, "mode=750,uid=5,gid=6") == 0);
    CHECK(stat(d, &during) == 0);
    CHECK(during.st_dev != before.st_dev);
    CHECK(during.st_mode == (S_IFDIR | 0750));
    CHECK(during.st_uid == 5 && during.st_gid == 6);
    struct statfs sf;
    CHECK(statfs(d, &sf) == 0);
    CHECK(sf.f_type == TMPFS_MAGIC);
    char f[160];
    snprintf(f, sizeof f, "%s/file", d);
    int fd;
    CHECK_OK(fd, open(f, O_CREAT | O_WRONLY, 0644));
    CHECK(write(fd, "x", 1) == 1);
    close(fd);
    CHECK(umount(d) == 0);
    CHECK(access(f, F_OK) != 0 && errno == ENOENT);
    CHECK(stat(d, &during) == 0 && during.st_dev == before.st_dev);
    /* Not a mount point any more. */
    CHECK_ERR(umount(d), EINVAL);
    CHECK_ERR(mount("none", d, "nosuchfs", 0, NULL), ENODEV);
    return NULL;
}

static const char *case_umount_busy_and_detach(void) {
    NEED_NS();
    const char *d = dir("t2");
    CHECK(mount("tmpfs", d, "tmpfs", 0, NULL) == 0);
    char f[160];
    snprintf(f, sizeof f, "%s/open", d);
    int fd;
    CHECK_OK(fd, open(f, O_CREAT | O_RDWR, 0644));
    CHECK_ERR(umount(d), EBUSY);
    close(fd);
    /* A cwd inside is busy too. */
    char cwd[256];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(d) == 0);
    CHECK_ERR(umount(d), EBUSY);
    CHECK(chdir(cwd) == 0);
    /* Submounts without MNT_DETACH. */
    char sub[160];
    snprintf(sub, sizeof sub, "%s/sub", d);
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(mount("tmpfs", sub, "tmpfs", 0, NULL) == 0);
    CHECK_ERR(umount(d), EBUSY);
    /* MNT_DETACH takes the tree away while an open file keeps working. */
    CHECK_OK(fd, open(f, O_RDWR));
    CHECK(umount2(d, MNT_DETACH) == 0);
    CHECK(access(f, F_OK) != 0);
    CHECK(write(fd, "still", 5) == 5);
    char buf[8] = {0};
    CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "still", 5) == 0);
    close(fd);
    CHECK_ERR(umount2(d, 0x100), EINVAL);
    return NULL;
}

static const char *case_bind_dir_inside(void) {
    NEED_NS();
    const char *t = dir("t3");
    CHECK(mount("tmpfs", t, "tmpfs", 0, NULL) == 0);
    char src[160], dst[160], f[200], g[200];
    snprintf(src, sizeof src, "%s/src", t);
    snprintf(dst, sizeof dst, "%s/dst", t);
    CHECK(mkdir(src, 0755) == 0 && mkdir(dst, 0755) == 0);
    snprintf(f, sizeof f, "%s/f", src);
    snprintf(g, sizeof g, "%s/f", dst);
    int fd;
    CHECK_OK(fd, open(f, O_CREAT | O_WRONLY, 0644));
    CHECK(write(fd, "bound", 5) == 5);
    close(fd);
    CHECK(mount(src, dst, NULL, MS_BIND, NULL) == 0);
    struct stat a, b;
    CHECK(stat(f, &a) == 0 && stat(g, &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    char line[1024];
    CHECK(mountinfo_line(dst, line, sizeof line));
    /* mountinfo's root field names the bound subtree. */
    CHECK(strstr(line, " /src ") != NULL);
    /* Read-only bind: EROFS through it, the source stays writable. */
    CHECK(mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0);
    CHECK_ERR(open(g, O_WRONLY), EROFS);
    char n[200];
    snprintf(n, sizeof n, "%s/new", dst);
    CHECK_ERR(mkdir(n, 0755), EROFS);
    CHECK_ERR(unlink(g), EROFS);
    struct statvfs sv;
    CHECK(statvfs(dst, &sv) == 0 && (sv.f_flag & ST_RDONLY));
    CHECK(statvfs(src, &sv) == 0 && !(sv.f_flag & ST_RDONLY));
    CHECK_OK(fd, open(f, O_WRONLY | O_APPEND));
    close(fd);
    CHECK(mountinfo_line(dst, line, sizeof line) && strstr(line, " ro,") != NULL);
    CHECK(umount(dst) == 0);
    CHECK(umount(t) == 0);
    return NULL;
}

static const char *case_remount_ro(void) {
    NEED_NS();
    const char *d = dir("t4");
    CHECK(mount("tmpfs", d, "tmpfs", 0, NULL) == 0);
    char f[160];
    snprintf(f, sizeof f, "%s/f", d);
    int fd;
    CHECK_OK(fd, open(f, O_CREAT | O_WRONLY, 0644));
    close(fd);
    CHECK(mount(NULL, d, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
    CHECK_ERR(open(f, O_WRONLY), EROFS);
    CHECK_ERR(truncate(f, 0), EROFS);
    CHECK_ERR(chmod(f, 0600), EROFS);
    char g[160];
    snprintf(g, sizeof g, "%s/g", d);
    CHECK_ERR(open(g, O_CREAT | O_WRONLY, 0644), EROFS);
    CHECK_ERR(symlink("f", g), EROFS);
    CHECK_ERR(mknod(g, S_IFIFO | 0644, 0), EROFS);
    CHECK(mount(NULL, d, NULL, MS_REMOUNT, NULL) == 0);
    CHECK_OK(fd, open(g, O_CREAT | O_WRONLY, 0644));
    close(fd);
    CHECK(umount(d) == 0);
    return NULL;
}

static const char *case_noexec_is_eacces(void) {
    NEED_NS();
    const char *d = dir("t5");
    CHECK(mount("tmpfs", d, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, NULL) == 0);
    char prog[160];
    snprintf(prog, sizeof prog, "%s/true", d);
    int in, out;
    CHECK_OK(in, open("/bin/true", O_RDONLY));
    CHECK_OK(out, open(prog, O_CREAT | O_WRONLY, 0755));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        CHECK(write(out, buf, n) == n);
    close(in);
    close(out);
    CHECK_ERR(access(prog, X_OK), EACCES);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {prog, NULL};
        execv(prog, argv);
        _exit(errno == EACCES ? 42 : 1);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
    struct statvfs sv;
    CHECK(statvfs(d, &sv) == 0);
    CHECK((sv.f_flag & (ST_NOEXEC | ST_NOSUID | ST_NODEV)) == (ST_NOEXEC | ST_NOSUID | ST_NODEV));
    char line[1024];
    CHECK(mountinfo_line(d, line, sizeof line));
    CHECK(strstr(line, "rw,nosuid,nodev,noexec") != NULL);
    CHECK(strstr(line, " - tmpfs ") != NULL);
    /* Lifting noexec with a remount makes it runnable. */
    CHECK(mount(NULL, d, NULL, MS_REMOUNT, NULL) == 0);
    CHECK(access(prog, X_OK) == 0);
    CHECK(umount(d) == 0);
    return NULL;
}

static const char *case_size_limit_enospc(void) {
    NEED_NS();
    const char *d = dir("t6");
    CHECK(mount("tmpfs", d, "tmpfs", 0, "size=64k") == 0);
    struct statfs sf;
    CHECK(statfs(d, &sf) == 0);
    CHECK(sf.f_type == TMPFS_MAGIC);
    CHECK(sf.f_blocks * sf.f_bsize == 65536);
    CHECK(sf.f_bfree == sf.f_blocks);
    char f[160];
    snprintf(f, sizeof f, "%s/big", d);
    int fd;
    CHECK_OK(fd, open(f, O_CREAT | O_RDWR, 0644));
    /* A sparse file costs nothing. */
    CHECK(ftruncate(fd, 1 << 30) == 0);
    CHECK(statfs(d, &sf) == 0 && sf.f_bfree == sf.f_blocks);
    static char buf[131072];
    memset(buf, 'a', sizeof buf);
    CHECK(pwrite(fd, buf, sizeof buf, 0) == 65536);
    CHECK_ERR(pwrite(fd, buf, 10, 65536), ENOSPC);
    CHECK(statfs(d, &sf) == 0 && sf.f_bfree == 0);
    /* Rewriting what is there still works; freeing makes room. */
    CHECK(pwrite(fd, buf, 100, 10) == 100);
    CHECK(ftruncate(fd, 4096) == 0);
    CHECK(pwrite(fd, buf, 8192, 4096) == 8192);
    close(fd);
    char line[1024];
    CHECK(mountinfo_line(d, line, sizeof line) && strstr(line, "size=64k") != NULL);
    CHECK(umount(d) == 0);
    return NULL;
}

static const char *case_mountinfo_tracks_the_tree(void) {
    NEED_NS();
    const char *d = dir("t7");
    char line[1024];
    CHECK(!mountinfo_line(d, line, sizeof line));
    CHECK(mount("tmpfs", d, "tmpfs", MS_NODEV, NULL) == 0);
    CHECK(mountinfo_line(d, line, sizeof line));
    int id, parent;
    CHECK(sscanf(line, "%d %d", &id, &parent) == 2);
    CHECK(id != parent);
    /* The parent is a mount in the table. */
    FILE *f = fopen("/proc/self/mountinfo", "r");
    CHECK(f != NULL);
    char l[1024];
    int parent_found = 0;
    while (fgets(l, sizeof l, f)) {
        int i;
        if (sscanf(l, "%d", &i) == 1 && i == parent)
            parent_found = 1;
    }
    fclose(f);
    CHECK(parent_found);
    CHECK(strstr(line, "nodev") != NULL);
    /* /proc/self/mounts too. */
    f = fopen("/proc/self/mounts", "r");
    CHECK(f != NULL);
    int in_mounts = 0;
    while (fgets(l, sizeof l, f)) {
        char src[256], mp[256], type[64];
        if (sscanf(l, "%255s %255s %63s", src, mp, type) == 3 && strcmp(mp, d) == 0 &&
            strcmp(type, "tmpfs") == 0)
            in_mounts = 1;
    }
    fclose(f);
    CHECK(in_mounts);
    CHECK(umount(d) == 0);
    CHECK(!mountinfo_line(d, line, sizeof line));
    /* Propagation: private and slave are accepted. */
    CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    return NULL;
}

static const char *case_links_symlinks_fifos_on_tmpfs(void) {
    NEED_NS();
    const char *d = dir("t8");
    CHECK(mount("tmpfs", d, "tmpfs", 0, NULL) == 0);
    char a[160], b[160], s[160], p[160];
    snprintf(a, sizeof a, "%s/a", d);
    snprintf(b, sizeof b, "%s/b", d);
    snprintf(s, sizeof s, "%s/s", d);
    snprintf(p, sizeof p, "%s/p", d);
    int fd;
    CHECK_OK(fd, open(a, O_CREAT | O_WRONLY, 0644));
    close(fd);
    CHECK(link(a, b) == 0);
    struct stat sa, sb;
    CHECK(stat(a, &sa) == 0 && stat(b, &sb) == 0);
    CHECK(sa.st_ino == sb.st_ino && sa.st_nlink == 2);
    CHECK(symlink("a", s) == 0);
    char t[16] = {0};
    CHECK(readlink(s, t, sizeof t) == 1 && t[0] == 'a');
    CHECK(lstat(s, &sb) == 0 && S_ISLNK(sb.st_mode) && sb.st_size == 1);
    CHECK(stat(s, &sb) == 0 && sb.st_ino == sa.st_ino);
    CHECK(mknod(p, S_IFIFO | 0640, 0) == 0);
    CHECK(lstat(p, &sb) == 0 && S_ISFIFO(sb.st_mode) && (sb.st_mode & 0777) == (0640 & ~umask(022)));
    umask(022);
    /* A hard link across mounts is EXDEV. */
    char x[160];
    snprintf(x, sizeof x, "%s/x", base);
    CHECK_ERR(link(a, x), EXDEV);
    CHECK(unlink(a) == 0 && stat(b, &sb) == 0 && sb.st_nlink == 1);
    CHECK(unlink(p) == 0);
    CHECK(umount(d) == 0);
    return NULL;
}

static const char *case_eperm_without_privilege(void) {
    NEED_NS();
    /* A target the unprivileged child can reach (the base is 0700). */
    const char *d = "/tmp";
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        if (mount("tmpfs", d, "tmpfs", 0, NULL) == 0 || errno != EPERM)
            _exit(3);
        if (umount2("/proc", 0) == 0 || errno != EPERM)
            _exit(4);
        if (unshare(CLONE_NEWNS) == 0 || errno != EPERM)
            _exit(5);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAILF("child status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
        have_ns = 1;
    else if (in_sandbox())
        fprintf(stderr, "unshare(CLONE_NEWNS): %s\n", strerror(errno));
    snprintf(base, sizeof base, "/tmp/rvisor-mount-XXXXXX");
    if (have_ns && mkdtemp(base) == NULL)
        have_ns = 0;
    RUN(tmpfs_mount_umount);
    RUN(umount_busy_and_detach);
    RUN(bind_dir_inside);
    RUN(remount_ro);
    RUN(noexec_is_eacces);
    RUN(size_limit_enospc);
    RUN(mountinfo_tracks_the_tree);
    RUN(links_symlinks_fifos_on_tmpfs);
    RUN(eperm_without_privilege);
    if (have_ns) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", base);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", base);
    }
    return 0;
}
