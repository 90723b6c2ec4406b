/* locks: flock(2), POSIX record locks and OFD locks (fcntl), between a
 * parent and forked children each opening the file on their own. */
#include "procutil.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/stat.h>

static char path[64];

/* A fresh empty file in /tmp; its name goes in `path`. */
static int make_file(void) {
    strcpy(path, "/tmp/rvisor-locks-XXXXXX");
    return mkstemp(path);
}

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* Runs FN in a child (it may use `path`); returns its verdict like in_child. */
static const char *child_result(pid_t pid, int rfd) {
    static char msg[400];
    read_all_fd(rfd, msg, sizeof msg);
    close(rfd);
    int st = 0;
    if (wait_for(pid, &st, 0) != pid)
        FAILF("waitpid: %s", strerror(errno));
    if (WIFSIGNALED(st))
        FAILF("child killed by signal %d (%s)", WTERMSIG(st), msg);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAILF("in child: %s", msg[0] ? msg : "exited non-zero");
    return NULL;
}

/* Starts FN in a child; *rfd receives its reason pipe. */
static pid_t spawn(const char *(*fn)(void), int *rfd) {
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child_watchdog();
        const char *r = fn();
        if (r != NULL)
            write_str(p[1], r);
        _exit(r != NULL ? 1 : 0);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

static const char *run_child(const char *(*fn)(void)) {
    int rfd;
    pid_t pid = spawn(fn, &rfd);
    if (pid < 0)
        FAILF("fork: %s", strerror(errno));
    return child_result(pid, rfd);
}

static const char *child_flock_busy(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDWR));
    CHECK_ERR(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    CHECK_ERR(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    return NULL;
}

static const char *child_flock_shared_only(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDONLY));
    CHECK(flock(fd, LOCK_SH | LOCK_NB) == 0);
    CHECK_ERR(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    return NULL;
}

static const char *child_flock_free(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDWR));
    CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
    return NULL;
}

/* flock: exclusive excludes another open's shared lock; shared locks coexist;
 * a dup shares the lock. */
static const char *case_flock_exclusive_shared(void) {
    int fd, d;
    CHECK_OK(fd, make_file());
    CHECK(flock(fd, LOCK_EX) == 0);
    CHECK_OK(d, dup(fd));
    CHECK(flock(d, LOCK_EX | LOCK_NB) == 0);
    const char *r = run_child(child_flock_busy);
    if (r)
        return r;
    CHECK(flock(fd, LOCK_SH) == 0);
    r = run_child(child_flock_shared_only);
    if (r)
        return r;
    CHECK(flock(fd, LOCK_UN) == 0);
    r = run_child(child_flock_free);
    if (r)
        return r;
    CHECK_ERR(flock(fd, 0), EINVAL);
    close(d);
    close(fd);
    unlink(path);
    return NULL;
}

/* flock: released only when the description's last fd is closed. */
static const char *case_flock_close(void) {
    int fd, d;
    CHECK_OK(fd, make_file());
    CHECK(flock(fd, LOCK_EX) == 0);
    CHECK_OK(d, dup(fd));
    close(fd);
    const char *r = run_child(child_flock_busy);
    if (r)
        return r;
    close(d);
    r = run_child(child_flock_free);
    unlink(path);
    return r;
}

static const char *child_flock_wait(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDWR));
    long t0 = now_ms();
    CHECK(flock(fd, LOCK_EX) == 0);
    if (now_ms() - t0 < 50)
        FAILF("flock returned after %ld ms, before the unlock", now_ms() - t0);
    return NULL;
}

/* flock without LOCK_NB waits for the holder to unlock. */
static const char *case_flock_blocks(void) {
    int fd, rfd;
    CHECK_OK(fd, make_file());
    CHECK(flock(fd, LOCK_EX) == 0);
    pid_t pid = spawn(child_flock_wait, &rfd);
    CHECK(pid > 0);
    sleep_ms(150);
    CHECK(flock(fd, LOCK_UN) == 0);
    const char *r = child_result(pid, rfd);
    close(fd);
    unlink(path);
    return r;
}

static const char *child_setlk_conflict(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDWR));
    CHECK_ERR(lk(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN);
    CHECK_ERR(lk(fd, F_SETLK, F_RDLCK, 9, 2), EAGAIN);
    CHECK(lk(fd, F_SETLK, F_WRLCK, 10, 10) == 0);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
    CHECK(fcntl(fd, F_GETLK, &fl) == 0);
    CHECK(fl.l_type == F_WRLCK && fl.l_start == 0 && fl.l_len == 10);
    if (fl.l_pid != getppid())
        FAILF("F_GETLK l_pid %d, parent is %d", (int)fl.l_pid, (int)getppid());
    /* The range unlocked in the middle of the parent's lock is free. */
    CHECK(lk(fd, F_SETLK, F_WRLCK, 30, 5) == 0);
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 30, .l_len = 0};
    CHECK(fcntl(fd, F_GETLK, &fl) == 0);
    CHECK(fl.l_type == F_WRLCK && fl.l_start == 40 && fl.l_len == 0);
    return NULL;
}

/* F_SETLK: conflicts are EAGAIN, F_GETLK names the holder; unlocking the
 * middle of a lock splits it. */
static const char *case_setlk_conflict(void) {
    int fd;
    CHECK_OK(fd, make_file());
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 10) == 0);
    CHECK(lk(fd, F_SETLK, F_WRLCK, 25, 0) == 0);
    CHECK(lk(fd, F_SETLK, F_UNLCK, 30, 10) == 0);
    /* Our own locks never conflict with us. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
    const char *r = run_child(child_setlk_conflict);
    close(fd);
    unlink(path);
    return r;
}

static const char *child_lock_free(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDWR));
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0);
    return NULL;
}

/* Closing any fd of the file drops the process's POSIX locks. */
static const char *case_posix_unlock_on_close(void) {
    int fd, other;
    CHECK_OK(fd, make_file());
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0);
    CHECK_OK(other, open(path, O_RDONLY));
    close(other);
    const char *r = run_child(child_lock_free);
    close(fd);
    unlink(path);
    return r;
}

/* dup2 over an fd of the file, and close_range, close it like close():
 * the process's POSIX locks on the file are dropped. */
static const char *case_posix_unlock_on_dup2_and_close_range(void) {
    int fd, other, spare;
    CHECK_OK(fd, make_file());
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0);
    CHECK_OK(other, open(path, O_RDONLY));
    CHECK_OK(spare, open("/dev/null", O_RDONLY));
    CHECK(dup2(spare, other) == other); /* closes the file's other fd */
    const char *r = run_child(child_lock_free);
    if (r == NULL) {
        CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 0) == 0);
        int high;
        CHECK_OK(high, open(path, O_RDONLY));
        CHECK(syscall(SYS_close_range, high, high, 0) == 0);
        r = run_child(child_lock_free);
    }
    close(spare);
    close(other);
    close(fd);
    unlink(path);
    return r;
}

/* Record locks need a matching access mode; bad types are EINVAL. */
static const char *case_access_mode(void) {
    int fd, ro, wo;
    CHECK_OK(fd, make_file());
    CHECK_OK(ro, open(path, O_RDONLY));
    CHECK_OK(wo, open(path, O_WRONLY));
    CHECK_ERR(lk(ro, F_SETLK, F_WRLCK, 0, 1), EBADF);
    CHECK_ERR(lk(wo, F_SETLK, F_RDLCK, 0, 1), EBADF);
    CHECK(lk(ro, F_SETLK, F_RDLCK, 0, 1) == 0);
    CHECK(lk(wo, F_SETLK, F_WRLCK, 5, 1) == 0);
    CHECK_ERR(lk(fd, F_SETLK, 42, 0, 1), EINVAL);
    CHECK_ERR(lk(fd, F_GETLK, F_UNLCK, 0, 1), EINVAL);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = -1, .l_len = 1};
    CHECK_ERR(fcntl(fd, F_SETLK, &fl), EINVAL);
    close(ro);
    close(wo);
    close(fd);
    unlink(path);
    return NULL;
}

static const char *child_setlkw(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDWR));
    CHECK_ERR(lk(fd, F_SETLK, F_WRLCK, 0, 1), EAGAIN);
    long t0 = now_ms();
    CHECK(lk(fd, F_SETLKW, F_WRLCK, 0, 1) == 0);
    if (now_ms() - t0 < 50)
        FAILF("F_SETLKW returned after %ld ms, before the unlock", now_ms() - t0);
    return NULL;
}

/* F_SETLKW waits until the holder unlocks. */
static const char *case_setlkw_waits(void) {
    int fd, rfd;
    CHECK_OK(fd, make_file());
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 1) == 0);
    pid_t pid = spawn(child_setlkw, &rfd);
    CHECK(pid > 0);
    sleep_ms(150);
    CHECK(lk(fd, F_SETLK, F_UNLCK, 0, 1) == 0);
    const char *r = child_result(pid, rfd);
    close(fd);
    unlink(path);
    return r;
}

static int sync_pipe[2];

static const char *child_deadlock(void) {
    int fd;
    CHECK_OK(fd, open(path, O_RDWR));
    CHECK(lk(fd, F_SETLK, F_WRLCK, 1, 1) == 0);
    CHECK(write(sync_pipe[1], "x", 1) == 1);
    /* Waits for the parent's byte 0; the parent then asks for our byte 1. */
    CHECK(lk(fd, F_SETLKW, F_WRLCK, 0, 1) == 0);
    return NULL;
}

/* Two processes each waiting on the other's lock: the second gets EDEADLK. */
static const char *case_edeadlk(void) {
    int fd, rfd;
    char c;
    CHECK_OK(fd, make_file());
    CHECK(pipe(sync_pipe) == 0);
    CHECK(lk(fd, F_SETLK, F_WRLCK, 0, 1) == 0);
    pid_t pid = spawn(child_deadlock, &rfd);
    CHECK(pid > 0);
    close(sync_pipe[1]);
    CHECK(read(sync_pipe[0], &c, 1) == 1);
    close(sync_pipe[0]);
    sleep_ms(150);
    CHECK_ERR(lk(fd, F_SETLKW, F_WRLCK, 1, 1), EDEADLK);
    CHECK(lk(fd, F_SETLK, F_UNLCK, 0, 1) == 0);
    const char *r = child_result(pid, rfd);
    close(fd);
    unlink(path);
    return r;
}

/* OFD locks belong to the open file description: two opens in one process
 * conflict, and the lock goes with the description's last close. */
static const char *case_ofd_conflict(void) {
    int fd, other, d;
    CHECK_OK(fd, make_file());
    CHECK_OK(other, open(path, O_RDWR));
    CHECK(lk(fd, F_OFD_SETLK, F_WRLCK, 0, 10) == 0);
    CHECK_ERR(lk(other, F_OFD_SETLK, F_RDLCK, 5, 1), EAGAIN);
    /* A POSIX lock of this process conflicts with the OFD lock too. */
    CHECK_ERR(lk(other, F_SETLK, F_WRLCK, 0, 1), EAGAIN);
    CHECK(lk(other, F_OFD_SETLK, F_WRLCK, 10, 5) == 0);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    CHECK(fcntl(other, F_OFD_GETLK, &fl) == 0);
    CHECK(fl.l_type == F_WRLCK && fl.l_start == 0 && fl.l_len == 10 && fl.l_pid == -1);
    fl = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1, .l_pid = 7};
    CHECK_ERR(fcntl(other, F_OFD_SETLK, &fl), EINVAL);
    /* A dup shares the lock; closing one fd keeps it. */
    CHECK_OK(d, dup(fd));
    close(fd);
    CHECK_ERR(lk(other, F_OFD_SETLK, F_WRLCK, 0, 1), EAGAIN);
    close(d);
    CHECK(lk(other, F_OFD_SETLK, F_WRLCK, 0, 1) == 0);
    close(other);
    unlink(path);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(flock_exclusive_shared);
    RUN(flock_close);
    RUN(flock_blocks);
    RUN(setlk_conflict);
    RUN(posix_unlock_on_close);
    RUN(posix_unlock_on_dup2_and_close_range);
    RUN(access_mode);
    RUN(setlkw_waits);
    RUN(edeadlk);
    RUN(ofd_conflict);
    return 0;
}
