/* shm: POSIX shared memory and named semaphores on /dev/shm (the sandbox's
 * in-sentry tmpfs): shm_open/ftruncate/fstat, MAP_SHARED pages shared with
 * a forked child, sem_open/sem_post/sem_wait between two processes,
 * shm_unlink/sem_unlink, and directory operations on /dev/shm.
 *
 * Names carry the pid so that native runs never collide with anything on
 * the host's /dev/shm; every case removes what it creates. */
#include "procutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* "/rvisor-<tag>-<pid>" for shm_open/sem_open. */
static const char *obj_name(const char *tag) {
    static char buf[4][64];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "/rvisor-%s-%d", tag, (int)getpid());
    return b;
}

/* "/dev/shm/<tag>-<pid>". */
static const char *shm_path(const char *tag) {
    static char buf[4][80];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "/dev/shm/rvisor-%s-%d", tag, (int)getpid());
    return b;
}

/* /dev/shm is a sticky, world-writable directory. */
static const char *case_dev_shm_is_sticky_dir(void) {
    struct stat st;
    CHECK(stat("/dev/shm", &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == 01777);
    CHECK(access("/dev/shm", W_OK | X_OK) == 0);
    return NULL;
}

/* shm_open creates with O_EXCL once, fstat reports the new file, ftruncate
 * sizes it, shm_unlink removes the name. */
static const char *case_shm_open_ftruncate_fstat_unlink(void) {
    const char *name = obj_name("basic");
    int fd;
    CHECK_OK(fd, shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0640));
    CHECK_ERR(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0640), EEXIST);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(st.st_size == 0);
    CHECK(st.st_nlink == 1);
    CHECK(st.st_uid == geteuid());
    CHECK(st.st_gid == getegid());
    CHECK(ftruncate(fd, 10000) == 0);
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_size == 10000);
    /* The same file by path. */
    struct stat st2;
    char path[80];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    CHECK(stat(path, &st2) == 0);
    CHECK(st2.st_ino == st.st_ino && st2.st_size == 10000);
    CHECK(truncate(path, 3) == 0);
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_size == 3);
    /* Data written with write() reads back with pread(). */
    CHECK(pwrite(fd, "abcdef", 6, 1) == 6);
    char buf[8] = {0};
    CHECK(pread(fd, buf, 7, 0) == 7);
    CHECK(memcmp(buf, "\0abcdef", 7) == 0);
    CHECK(shm_unlink(name) == 0);
    CHECK_ERR(shm_open(name, O_RDWR, 0), ENOENT);
    CHECK_ERR(shm_unlink(name), ENOENT);
    CHECK_ERR(stat(path, &st2), ENOENT);
    /* The open fd outlives the name. */
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_nlink == 0);
    CHECK(pread(fd, buf, 3, 1) == 3 && memcmp(buf, "abc", 3) == 0);
    close(fd);
    return NULL;
}

/* New files get the creation mode minus the umask; O_TRUNC empties. */
static const char *case_umask_and_o_trunc(void) {
    const char *path = shm_path("umask");
    mode_t old = umask(027);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0666);
    umask(old);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(write(fd, "data", 4) == 4);
    close(fd);
    CHECK_OK(fd, open(path, O_RDWR | O_TRUNC));
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_size == 0);
    close(fd);
    /* O_CREAT without O_EXCL opens the existing file. */
    CHECK_OK(fd, open(path, O_WRONLY | O_CREAT, 0600));
    CHECK(fstat(fd, &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    close(fd);
    CHECK(unlink(path) == 0);
    CHECK_ERR(unlink(path), ENOENT);
    return NULL;
}

/* A MAP_SHARED mapping of a shm object is shared with a forked child: the
 * child's writes are seen by the parent through the mapping and read(). */
static const char *case_mmap_shared_fork(void) {
    const char *name = obj_name("map");
    int fd;
    CHECK_OK(fd, shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
    CHECK(shm_unlink(name) == 0); /* the mapping does not need the name */
    CHECK(ftruncate(fd, 8192) == 0);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    strcpy(p, "parent");
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        int ok = strcmp(p, "parent") == 0;
        strcpy(p + 4096, "written by the child");
        /* A fresh mapping in the child sees the same pages. */
        char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (q == MAP_FAILED)
            _exit(2);
        q[100] = 'Q';
        _exit(ok ? 0 : 1);
    }
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strcmp(p + 4096, "written by the child") == 0);
    CHECK(p[100] == 'Q');
    char buf[32] = {0};
    CHECK(pread(fd, buf, 20, 4096) == 20);
    CHECK(strcmp(buf, "written by the child") == 0);
    /* A write() shows through the mapping. */
    CHECK(pwrite(fd, "W", 1, 200) == 1);
    CHECK(p[200] == 'W');
    munmap(p, 8192);
    close(fd);
    return NULL;
}

/* Waits on SEM for up to 10 seconds; 0 on success. */
static int timed_wait(sem_t *sem) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    int r;
    do {
        r = sem_timedwait(sem, &ts);
    } while (r == -1 && errno == EINTR);
    return r;
}

/* Named semaphores between two processes: ping-pong, the child opening the
 * semaphores by name; sem_unlink then makes the name ENOENT. */
static const char *case_sem_open_between_processes(void) {
    const char *ping_name = obj_name("ping");
    const char *pong_name = obj_name("pong");
    sem_t *ping = sem_open(ping_name, O_CREAT | O_EXCL, 0600, 0);
    CHECK(ping != SEM_FAILED);
    sem_t *pong = sem_open(pong_name, O_CREAT | O_EXCL, 0600, 0);
    CHECK(pong != SEM_FAILED);
    char path[96];
    snprintf(path, sizeof path, "/dev/shm/sem.%s", ping_name + 1);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(S_ISREG(st.st_mode) && st.st_nlink == 1);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        sem_t *a = sem_open(ping_name, 0);
        sem_t *b = sem_open(pong_name, 0);
        if (a == SEM_FAILED || b == SEM_FAILED)
            _exit(2);
        for (int i = 0; i < 3; i++) {
            if (timed_wait(a) != 0)
                _exit(3);
            if (sem_post(b) != 0)
                _exit(4);
        }
        _exit(0);
    }
    for (int i = 0; i < 3; i++) {
        CHECK(sem_post(ping) == 0);
        CHECK(timed_wait(pong) == 0);
    }
    int status;
    CHECK(wait_for(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int v = -1;
    CHECK(sem_getvalue(ping, &v) == 0 && v == 0);
    CHECK(sem_unlink(ping_name) == 0);
    CHECK(sem_unlink(pong_name) == 0);
    CHECK(sem_open(ping_name, 0) == SEM_FAILED && errno == ENOENT);
    CHECK_ERR(sem_unlink(ping_name), ENOENT);
    CHECK_ERR(stat(path, &st), ENOENT);
    sem_close(ping);
    sem_close(pong);
    return NULL;
}

/* True when DIR lists NAME. */
static int dir_has(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, name) == 0)
            found = 1;
    closedir(d);
    return found;
}

/* link, rename, mkdir, rmdir and getdents inside /dev/shm. */
static const char *case_link_rename_mkdir(void) {
    const char *a = shm_path("a");
    const char *b = shm_path("b");
    const char *dir = shm_path("dir");
    int fd;
    CHECK_OK(fd, open(a, O_RDWR | O_CREAT | O_EXCL, 0600));
    CHECK(link(a, b) == 0);
    CHECK_ERR(link(a, b), EEXIST);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 2);
    CHECK(dir_has("/dev/shm", strrchr(b, '/') + 1) == 1);
    CHECK(unlink(a) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 1);
    CHECK(dir_has("/dev/shm", strrchr(a, '/') + 1) == 0);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_ERR(mkdir(dir, 0700), EEXIST);
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
    CHECK(st.st_nlink == 2);
    char inner[128];
    snprintf(inner, sizeof inner, "%s/inner", dir);
    CHECK(rename(b, inner) == 0);
    CHECK_ERR(stat(b, &st), ENOENT);
    CHECK(stat(inner, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(dir_has(dir, "inner") == 1);
    CHECK_ERR(rmdir(dir), ENOTEMPTY);
    CHECK_ERR(unlink(dir), EISDIR);
    /* A directory onto a file elsewhere: ENOTDIR; into itself: EINVAL. */
    const char *c = shm_path("c");
    int cfd;
    CHECK_OK(cfd, open(c, O_RDWR | O_CREAT | O_EXCL, 0600));
    close(cfd);
    CHECK_ERR(rename(dir, c), ENOTDIR);
    CHECK_ERR(rename(c, dir), EISDIR);
    CHECK(unlink(c) == 0);
    char sub[140];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK_ERR(rename(dir, sub), EINVAL);
    CHECK(unlink(inner) == 0);
    CHECK(rmdir(dir) == 0);
    CHECK_ERR(rmdir(dir), ENOENT);
    close(fd);
    return NULL;
}

/* The root filesystem (the in-memory overlay) is writable too, but is a
 * filesystem of its own: no links into /dev/shm. */
static const char *case_rootfs_is_another_fs(void) {
    SANDBOX_ONLY_SIDE_EFFECTS();
    int fd = open("/rvisor-shm-test", O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0);
    close(fd);
    CHECK(mkdir("/rvisor-shm-dir", 0700) == 0);
    CHECK_ERR(link("/dev/shm", "/x"), EPERM);
    CHECK_ERR(link("/rvisor-shm-test", "/dev/shm/x"), EXDEV);
    CHECK(unlink("/rvisor-shm-test") == 0);
    CHECK(rmdir("/rvisor-shm-dir") == 0);
    return NULL;
}

/* mmap checks the open file description's access mode: a read-only
 * descriptor cannot be mapped MAP_SHARED with PROT_WRITE, and mprotect
 * cannot add PROT_WRITE to such a mapping later (EACCES). */
static const char *case_mmap_respects_open_mode(void) {
    const char *name = "/rvisor-conf-ro";
    shm_unlink(name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 4096) == 0);
    close(fd);
    int ro = shm_open(name, O_RDONLY, 0);
    CHECK(ro >= 0);
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    CHECK(w == MAP_FAILED && errno == EACCES);
    void *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(r != MAP_FAILED);
    CHECK(mprotect(r, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    CHECK(p != MAP_FAILED);
    munmap(r, 4096);
    munmap(p, 4096);
    close(ro);
    CHECK(shm_unlink(name) == 0);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(dev_shm_is_sticky_dir);
    RUN(shm_open_ftruncate_fstat_unlink);
    RUN(umask_and_o_trunc);
    RUN(mmap_shared_fork);
    RUN(sem_open_between_processes);
    RUN(link_rename_mkdir);
    RUN(rootfs_is_another_fs);
    RUN(mmap_respects_open_mode);
    return 0;
}
