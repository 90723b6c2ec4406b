/* The writable root: an in-memory overlay over the read-only rootfs
 * (--overlay2=root:memory, the default). Cases that work in a fresh
 * directory of their own also run natively (Linux is the oracle); cases
 * that change files of the image (/etc/...) run only inside the sandbox,
 * where the changes stay in memory (the end-to-end tests in
 * runsc-cli/tests/overlay.rs check that the host never sees them). */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

/* A fresh directory under /tmp for the cases that also run natively. */
static char tmpdir[64];

static const char *make_tmpdir(void) {
    strcpy(tmpdir, "/tmp/rvisor-ov-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        FAILF("mkdtemp: %s", strerror(errno));
    return NULL;
}

/* `tmpdir/name`, in one of four rotating buffers (two may be live at once). */
static const char *path_in(const char *name) {
    static char bufs[4][PATH_MAX];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
    return buf;
}

/* Reads all of `path` (at most size-1 bytes) into buf; returns the length. */
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

/* Whether directory `dir` lists `name`, and how many times. */
static int count_entry(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, name) == 0)
            n++;
    closedir(d);
    return n;
}

/* Create, write, read back, stat and remove a new file. */
static const char *case_create_write_read(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    const char *p = path_in("f");
    umask(022);
    int fd;
    CHECK_OK(fd, open(p, O_CREAT | O_EXCL | O_RDWR, 0640));
    CHECK(write(fd, "hello overlay", 13) == 13);
    char buf[64];
    CHECK(pread(fd, buf, sizeof buf, 0) == 13);
    CHECK(memcmp(buf, "hello overlay", 13) == 0);
    struct stat a, b;
    CHECK(fstat(fd, &a) == 0);
    CHECK(stat(p, &b) == 0);
    CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    CHECK(b.st_size == 13 && (b.st_mode & 07777) == 0640);
    close(fd);
    CHECK_ERR(open(p, O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
    CHECK(slurp(p, buf, sizeof buf) == 13);
    CHECK(unlink(p) == 0);
    CHECK_ERR(stat(p, &b), ENOENT);
    CHECK(rmdir(tmpdir) == 0);
    return NULL;
}

/* mkdir -p, chdir into the new tree, getcwd and .. work; rmdir in order. */
static const char *case_mkdir_p_and_cwd(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    char old[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX];
    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK(mkdir(path_in("a"), 0755) == 0);
    CHECK(mkdir(path_in("a/b"), 0755) == 0);
    CHECK(mkdir(path_in("a/b/c"), 0700) == 0);
    CHECK_ERR(mkdir(path_in("a/b"), 0755), EEXIST);
    CHECK_ERR(mkdir(path_in("x/y"), 0755), ENOENT);
    CHECK(chdir(path_in("a/b/c")) == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(strcmp(cwd, path_in("a/b/c")) == 0);
    CHECK(chdir("..") == 0);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(want, sizeof want, "%s/a/b", tmpdir);
    CHECK(strcmp(cwd, want) == 0);
    int fd;
    CHECK_OK(fd, open("c/file", O_CREAT | O_WRONLY, 0600));
    close(fd);
    struct stat st;
    CHECK(stat(".", &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 3);
    CHECK_ERR(rmdir(path_in("a/b")), ENOTEMPTY);
    CHECK(chdir(old) == 0);
    CHECK(unlink(path_in("a/b/c/file")) == 0);
    CHECK(rmdir(path_in("a/b/c")) == 0);
    CHECK(rmdir(path_in("a/b")) == 0);
    CHECK(rmdir(path_in("a")) == 0);
    CHECK(rmdir(tmpdir) == 0);
    return NULL;
}

/* rename keeps the inode and content; replacing and the directory rules. */
static const char *case_rename_new_files(void) {
    const char *err = make_tmpdir();
    if (err)
        return err;
    int fd;
    CHECK_OK(fd, open(path_in("a"), O_CREAT | O_WRONLY, 0600));
    CHECK(write(fd, "A", 1) == 1);
    close(fd);
    CHECK_OK(fd, open(path_in("b"), O_CREAT | O_WRONLY, 0600));
    close(fd);
    CHECK(mkdir(path_in("d"), 0755) == 0);
    struct stat a, b;
    CHECK(stat(path_in("a"), &a) == 0);
    CHECK(rename(path_in("a"), path_in("b")) == 0);
    CHECK(stat(path_in("b"), &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    CHECK_ERR(stat(path_in("a"), &a), ENOENT);
    CHECK_ERR(rename(path_in("b"), path_in("d")), EISDIR);
    CHECK_ERR(rename(path_in("d"), path_in("b")), ENOTDIR);
    CHECK(rename(path_in("b"), path_in("d/inner")) == 0);
    char buf[8];
    CHECK(slurp(path_in("d/inner"), buf, sizeof buf) == 1 && buf[0] == 'A');
    CHECK(symlink("d/inner", path_in("l")) == 0);
    CHECK(slurp(path_in("l"), buf, sizeof buf) == 1);
    char target[64];
    CHECK(readlink(path_in("l"), target, sizeof target) == 7);
    CHECK(memcmp(target, "d/inner", 7) == 0);
    CHECK(unlink(path_in("l")) == 0);
    CHECK(unlink(path_in("d/inner")) == 0);
    CHECK(rmdir(path_in("d")) == 0);
    CHECK(rmdir(tmpdir) == 0);
    return NULL;
}

/* Files can be created directly in / and in image directories. */
static const char *case_create_in_image_dirs(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    int fd;
    CHECK_OK(fd, open("/rvisor-ov-top", O_CREAT | O_EXCL | O_WRONLY, 0644));
    CHECK(write(fd, "top\n", 4) == 4);
    close(fd);
    CHECK_OK(fd, open("/etc/rvisor-ov-new", O_CREAT | O_EXCL | O_WRONLY, 0644));
    close(fd);
    char buf[16];
    CHECK(slurp("/rvisor-ov-top", buf, sizeof buf) == 4 && strcmp(buf, "top\n") == 0);
    CHECK(count_entry("/", "rvisor-ov-top") == 1);
    CHECK(count_entry("/etc", "rvisor-ov-new") == 1);
    CHECK(mkdir("/usr/rvisor-ov-dir", 0755) == 0);
    CHECK(mkdir("/usr/rvisor-ov-dir/sub", 0755) == 0);
    return NULL;
}

/* Writing a file of the image copies it up: the old content stays visible
 * to readers of the new file, the inode number stays, and MAP_SHARED
 * writes go to the copy. */
static const char *case_copy_up_keeps_content(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    static char before[1 << 16], after[1 << 16];
    long n = slurp("/etc/passwd", before, sizeof before);
    CHECK(n > 0);
    struct stat s1, s2;
    CHECK(stat("/etc/passwd", &s1) == 0);
    int fd;
    CHECK_OK(fd, open("/etc/passwd", O_WRONLY | O_APPEND));
    CHECK(write(fd, "rvisor:x:4242:4242::/:/bin/sh\n", 30) == 30);
    close(fd);
    CHECK(stat("/etc/passwd", &s2) == 0);
    CHECK(s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
    CHECK(s2.st_size == n + 30);
    CHECK(slurp("/etc/passwd", after, sizeof after) == n + 30);
    CHECK(memcmp(before, after, n) == 0);
    CHECK(memcmp(after + n, "rvisor:x:4242", 13) == 0);
    /* A shared writable mapping of the copy. */
    CHECK_OK(fd, open("/etc/passwd", O_RDWR));
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    CHECK(memcmp(m, before, 4) == 0);
    m[0] = 'R';
    CHECK(pread(fd, after, 1, 0) == 1 && after[0] == 'R');
    munmap(m, 4096);
    close(fd);
    return NULL;
}

/* O_TRUNC of a file of the image empties the copy. */
static const char *case_o_trunc_lower(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    struct stat st;
    CHECK(stat("/etc/group", &st) == 0 && st.st_size > 0);
    int fd;
    CHECK_OK(fd, open("/etc/group", O_WRONLY | O_TRUNC));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    CHECK(write(fd, "g:x:1:\n", 7) == 7);
    close(fd);
    char buf[64];
    CHECK(slurp("/etc/group", buf, sizeof buf) == 7 && strcmp(buf, "g:x:1:\n") == 0);
    return NULL;
}

/* unlink of a file of the image hides it (lookups and listings); the name
 * can then be created again, empty. */
static const char *case_unlink_lower_hides(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    struct stat st;
    CHECK(stat("/etc/hostname", &st) == 0);
    CHECK(count_entry("/etc", "hostname") == 1);
    CHECK(unlink("/etc/hostname") == 0);
    CHECK_ERR(stat("/etc/hostname", &st), ENOENT);
    CHECK_ERR(unlink("/etc/hostname"), ENOENT);
    CHECK(count_entry("/etc", "hostname") == 0);
    int fd;
    CHECK_OK(fd, open("/etc/hostname", O_CREAT | O_EXCL | O_RDWR, 0644));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    CHECK(count_entry("/etc", "hostname") == 1);
    /* A non-empty directory of the image cannot be removed. */
    CHECK_ERR(rmdir("/etc"), ENOTEMPTY);
    return NULL;
}

/* rename and link of files of the image. */
static const char *case_rename_and_link_lower(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    static char before[1 << 14], after[1 << 14];
    long n = slurp("/etc/hosts", before, sizeof before);
    CHECK(n >= 0);
    struct stat a, b;
    CHECK(stat("/etc/hosts", &a) == 0);
    CHECK(rename("/etc/hosts", "/etc/hosts.rvisor") == 0);
    CHECK_ERR(stat("/etc/hosts", &b), ENOENT);
    CHECK(stat("/etc/hosts.rvisor", &b) == 0 && b.st_ino == a.st_ino);
    CHECK(slurp("/etc/hosts.rvisor", after, sizeof after) == n);
    CHECK(memcmp(before, after, n) == 0);
    CHECK(count_entry("/etc", "hosts") == 0);
    CHECK(count_entry("/etc", "hosts.rvisor") == 1);
    CHECK(link("/etc/hosts.rvisor", "/etc/hosts") == 0);
    CHECK(stat("/etc/hosts", &b) == 0 && b.st_ino == a.st_ino && b.st_nlink == 2);
    return NULL;
}

/* chmod, chown and utimensat of files of the image. */
static const char *case_setattr_lower(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    struct stat st;
    CHECK(chmod("/etc/passwd", 0600) == 0);
    CHECK(stat("/etc/passwd", &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(chown("/etc/passwd", 12, 34) == 0);
    CHECK(stat("/etc/passwd", &st) == 0 && st.st_uid == 12 && st.st_gid == 34);
    struct timespec ts[2] = {{1000, 0}, {2000, 0}};
    CHECK(utimensat(AT_FDCWD, "/etc/passwd", ts, 0) == 0);
    CHECK(stat("/etc/passwd", &st) == 0 && st.st_mtime == 2000 && st.st_atime == 1000);
    return NULL;
}

/* readdir merges the image's names with new ones: no duplicates, removed
 * names hidden, every name stat-able. */
static const char *case_readdir_merge(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    int fd;
    CHECK_OK(fd, open("/etc/rvisor-ov-merge", O_CREAT | O_WRONLY, 0644));
    close(fd);
    CHECK(unlink("/etc/rvisor-ov-merge") == 0);
    CHECK_OK(fd, open("/etc/rvisor-ov-merge2", O_CREAT | O_WRONLY, 0644));
    close(fd);
    DIR *d = opendir("/etc");
    CHECK(d != NULL);
    static char seen[4096][64];
    int count = 0, merge2 = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "rvisor-ov-merge") == 0) {
            closedir(d);
            FAILF("a removed name is listed");
        }
        merge2 += strcmp(e->d_name, "rvisor-ov-merge2") == 0;
        for (int i = 0; i < count; i++)
            if (strcmp(seen[i], e->d_name) == 0) {
                closedir(d);
                FAILF("%s listed twice", e->d_name);
            }
        if (count < 4096 && strlen(e->d_name) < 64)
            strcpy(seen[count++], e->d_name);
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "/etc/%s", e->d_name);
        if (lstat(p, &st) != 0) {
            closedir(d);
            FAILF("%.200s listed but lstat fails: %s", p, strerror(errno));
        }
    }
    closedir(d);
    CHECK(merge2 == 1);
    return NULL;
}

/* The root is one device; its directories and files report it. */
static const char *case_one_device(void) {
    SANDBOX_ONLY();
    struct stat r, e, f;
    CHECK(stat("/", &r) == 0);
    CHECK(stat("/etc", &e) == 0);
    CHECK(stat("/usr/bin/env", &f) == 0);
    CHECK(r.st_dev == e.st_dev && e.st_dev == f.st_dev);
    CHECK(e.st_ino != f.st_ino);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(create_write_read);
    RUN(mkdir_p_and_cwd);
    RUN(rename_new_files);
    RUN(create_in_image_dirs);
    RUN(copy_up_keeps_content);
    RUN(o_trunc_lower);
    RUN(unlink_lower_hides);
    RUN(rename_and_link_lower);
    RUN(setattr_lower);
    RUN(readdir_merge);
    RUN(one_device);
    return 0;
}
