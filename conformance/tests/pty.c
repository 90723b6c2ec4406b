/* pty: pseudo-terminals. posix_openpt/grantpt/unlockpt/ptsname, the
 * canonical line discipline (editing, echo, EOF), output processing, raw
 * mode with VMIN/VTIME, ^C to the foreground process group of a controlling
 * terminal, window size and SIGWINCH, job control (SIGTTIN), and hangup
 * when the master is closed. */
#include "procutil.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* Opens an unlocked master; its replica's path goes to NAME. */
static int open_master(char *name, size_t cap) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0)
        return -1;
    if (grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, cap) != 0) {
        close(m);
        return -1;
    }
    return m;
}

/* Reads what the master has now (non-blocking after a short poll). */
static ssize_t drain(int fd, char *buf, size_t cap) {
    struct pollfd p = {fd, POLLIN, 0};
    size_t n = 0;
    while (n + 1 < cap && poll(&p, 1, 100) == 1 && (p.revents & POLLIN)) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

static const char *case_open_unlock_ptsname(void) {
    int m;
    CHECK_OK(m, posix_openpt(O_RDWR | O_NOCTTY));
    CHECK(isatty(m));
    unsigned int n = 99;
    CHECK(ioctl(m, TIOCGPTN, &n) == 0);
    char want[64];
    snprintf(want, sizeof want, "/dev/pts/%u", n);
    CHECK(grantpt(m) == 0);
    const char *name = ptsname(m);
    CHECK(name != NULL && strcmp(name, want) == 0);
    /* Locked until unlockpt. */
    CHECK_ERR(open(name, O_RDWR | O_NOCTTY), EIO);
    int lock = 0;
    CHECK(ioctl(m, TIOCGPTLCK, &lock) == 0 && lock == 1);
    CHECK(unlockpt(m) == 0);
    CHECK(ioctl(m, TIOCGPTLCK, &lock) == 0 && lock == 0);
    struct stat st;
    CHECK(stat(name, &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK(major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143);
    CHECK(st.st_uid == geteuid());
    if (in_sandbox()) {
        CHECK((st.st_mode & 07777) == 0620);
        CHECK(st.st_gid == 5);
    }
    int s;
    CHECK_OK(s, open(name, O_RDWR | O_NOCTTY));
    CHECK(isatty(s));
    char tn[64];
    CHECK(ttyname_r(s, tn, sizeof tn) == 0 && strcmp(tn, name) == 0);
    struct stat fst;
    CHECK(fstat(s, &fst) == 0 && fst.st_rdev == st.st_rdev && fst.st_ino == st.st_ino);
    /* The replica is no master. */
    CHECK_ERR(ioctl(s, TIOCGPTN, &n), ENOTTY);
    int peer;
    CHECK_OK(peer, ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY));
    CHECK(fstat(peer, &fst) == 0 && fst.st_rdev == st.st_rdev);
    CHECK(write(peer, "p", 1) == 1);
    char c = 0;
    CHECK(read(m, &c, 1) == 1 && c == 'p');
    CHECK(stat("/dev/pts/ptmx", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 2));
    CHECK(stat("/dev/ptmx", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 2));
    close(peer);
    close(s);
    close(m);
    /* The node goes away with the master. */
    CHECK_ERR(stat(want, &st), ENOENT);
    return NULL;
}

static const char *case_default_termios(void) {
    char name[64];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int s;
    CHECK_OK(s, open(name, O_RDWR | O_NOCTTY));
    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    CHECK(t.c_iflag == (ICRNL | IXON));
    CHECK(t.c_oflag == (OPOST | ONLCR));
    CHECK(t.c_lflag == (ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN));
    CHECK(t.c_cc[VINTR] == 3 && t.c_cc[VERASE] == 0177 && t.c_cc[VKILL] == 025 && t.c_cc[VEOF] == 4);
    CHECK(t.c_cc[VMIN] == 1 && t.c_cc[VTIME] == 0);
    CHECK(cfgetospeed(&t) == B38400);
    /* The master sees the same modes. */
    struct termios tm;
    CHECK(tcgetattr(m, &tm) == 0 && tm.c_lflag == t.c_lflag);
    close(s);
    close(m);
    return NULL;
}

static const char *case_canonical_read_and_echo(void) {
    char name[64], buf[256];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int s;
    CHECK_OK(s, open(name, O_RDWR | O_NOCTTY | O_NONBLOCK));
    CHECK(write(m, "hel", 3) == 3);
    /* No complete line yet. */
    CHECK_ERR(read(s, buf, sizeof buf), EAGAIN);
    int avail = -1;
    CHECK(ioctl(s, FIONREAD, &avail) == 0 && avail == 0);
    CHECK(write(m, "lo\rwor\177ld\n", 10) == 10);
    /* (Linux hands the master's bytes to the line discipline asynchronously.) */
    struct pollfd p = {s, POLLIN, 0};
    CHECK(poll(&p, 1, 1000) == 1);
    CHECK(ioctl(s, FIONREAD, &avail) == 0 && avail == 11);
    CHECK(read(s, buf, sizeof buf) == 6 && memcmp(buf, "hello\n", 6) == 0);
    CHECK(read(s, buf, sizeof buf) == 5 && memcmp(buf, "wold\n", 5) == 0);
    CHECK(drain(m, buf, sizeof buf) == 17);
    CHECK(memcmp(buf, "hello\r\nwor\b \bld\r\n", 17) == 0);
    /* ^U kills the line, ^W a word; ^D at the start of a line is EOF. */
    CHECK(write(m, "junk\025one two\027three\n\004", 20) == 20);
    ssize_t r = read(s, buf, sizeof buf);
    CHECK(r == 10 && memcmp(buf, "one three\n", 10) == 0);
    CHECK(read(s, buf, sizeof buf) == 0);
    CHECK_ERR(read(s, buf, sizeof buf), EAGAIN);
    /* ECHOCTL shows control characters as ^X. */
    drain(m, buf, sizeof buf);
    CHECK(write(m, "\001\n", 2) == 2);
    CHECK(drain(m, buf, sizeof buf) == 4 && memcmp(buf, "^A\r\n", 4) == 0);
    CHECK(read(s, buf, sizeof buf) == 2);
    /* Without ECHO nothing comes back; ECHONL still echoes newlines. */
    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    t.c_lflag &= ~ECHO;
    t.c_lflag |= ECHONL;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(write(m, "pw\n", 3) == 3);
    CHECK(drain(m, buf, sizeof buf) == 2 && memcmp(buf, "\r\n", 2) == 0);
    CHECK(read(s, buf, sizeof buf) == 3);
    /* TCIFLUSH drops unread input. */
    CHECK(write(m, "gone\n", 5) == 5);
    CHECK(tcflush(s, TCIFLUSH) == 0);
    CHECK_ERR(read(s, buf, sizeof buf), EAGAIN);
    close(s);
    close(m);
    return NULL;
}

static const char *case_output_processing(void) {
    char name[64], buf[256];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int s;
    CHECK_OK(s, open(name, O_RDWR | O_NOCTTY));
    CHECK(write(s, "a\nb", 3) == 3);
    /* Output goes to the master at once: nothing queued on the replica. */
    int outq = -1;
    CHECK(ioctl(s, TIOCOUTQ, &outq) == 0 && outq == 0);
    CHECK(drain(m, buf, sizeof buf) == 4 && memcmp(buf, "a\r\nb", 4) == 0);
    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    t.c_oflag &= ~OPOST;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(write(s, "a\nb", 3) == 3);
    CHECK(drain(m, buf, sizeof buf) == 3 && memcmp(buf, "a\nb", 3) == 0);
    /* A master poll says nothing is readable once drained. */
    struct pollfd p = {m, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0);
    close(s);
    close(m);
    return NULL;
}

static const char *case_raw_vmin_vtime(void) {
    char name[64], buf[64];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int s;
    CHECK_OK(s, open(name, O_RDWR | O_NOCTTY));
    struct termios t;
    CHECK(tcgetattr(s, &t) == 0);
    cfmakeraw(&t);
    t.c_cc[VMIN] = 3;
    t.c_cc[VTIME] = 0;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(write(m, "\r\003", 2) == 2);
    /* Two bytes are not VMIN: no POLLIN yet. */
    struct pollfd p = {s, POLLIN, 0};
    CHECK(poll(&p, 1, 50) == 0);
    CHECK(write(m, "x", 1) == 1);
    CHECK(poll(&p, 1, 1000) == 1);
    CHECK(read(s, buf, sizeof buf) == 3 && memcmp(buf, "\r\003x", 3) == 0);
    /* Raw: nothing echoed. */
    CHECK(drain(m, buf, sizeof buf) == 0);
    /* VMIN 0, VTIME 0: a poll, 0 at once. */
    t.c_cc[VMIN] = 0;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(read(s, buf, sizeof buf) == 0);
    /* VMIN 0, VTIME 2: 0 after about 200 ms. */
    t.c_cc[VTIME] = 2;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    long start = now_ms();
    CHECK(read(s, buf, sizeof buf) == 0);
    long took = now_ms() - start;
    CHECK(took >= 150 && took < 2000);
    /* VMIN 5, VTIME 1: the inter-byte timer ends a short read. */
    t.c_cc[VMIN] = 5;
    t.c_cc[VTIME] = 1;
    CHECK(tcsetattr(s, TCSANOW, &t) == 0);
    CHECK(write(m, "ab", 2) == 2);
    CHECK(read(s, buf, sizeof buf) == 2);
    close(s);
    close(m);
    return NULL;
}

/* Child side of the session cases: new session, pty as controlling tty. */
static int take_ctty(int master, const char *name) {
    /* The master must be closed only by the parent. */
    close(master);
    if (setsid() < 0)
        return -1;
    if (open("/dev/tty", O_RDWR) >= 0 || errno != ENXIO)
        return -2;
    int s = open(name, O_RDWR | O_NOCTTY);
    if (s < 0)
        return -3;
    if (ioctl(s, TIOCSCTTY, 0) != 0)
        return -4;
    return s;
}

static const char *case_sigint_to_foreground(void) {
    char name[64], buf[64];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        close(ready[0]);
        int s = take_ctty(m, name);
        if (s < 0)
            _exit(10 - s);
        if (tcgetpgrp(s) != getpid() || tcgetsid(s) != getpid())
            _exit(20);
        int t = open("/dev/tty", O_RDWR);
        if (t < 0 || tcgetpgrp(t) != getpid())
            _exit(21);
        write_str(ready[1], "r");
        for (;;)
            pause();
    }
    close(ready[1]);
    CHECK(read(ready[0], buf, 1) == 1);
    close(ready[0]);
    CHECK(write(m, "x\003", 2) == 2);
    int st = 0;
    CHECK(wait_for(pid, &st, 0) == pid);
    if (!WIFSIGNALED(st))
        FAILF("child exited %d instead of dying of SIGINT", WEXITSTATUS(st));
    CHECK(WTERMSIG(st) == SIGINT);
    /* The typed x was flushed with the input; ^C was echoed. */
    CHECK(drain(m, buf, sizeof buf) == 2 && memcmp(buf, "^C", 2) == 0);
    close(m);
    return NULL;
}

static volatile sig_atomic_t winch_count, hup_count;
static void on_winch(int sig) {
    (void)sig;
    winch_count++;
}
static void on_hup(int sig) {
    (void)sig;
    hup_count++;
}

static const char *case_winsize_sigwinch(void) {
    char name[64], buf[8];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    struct winsize ws = {0};
    CHECK(ioctl(m, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 0 && ws.ws_col == 0);
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        close(ready[0]);
        signal(SIGWINCH, on_winch);
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGWINCH);
        sigprocmask(SIG_BLOCK, &block, &old);
        int s = take_ctty(m, name);
        if (s < 0)
            _exit(10 - s);
        write_str(ready[1], "r");
        while (winch_count == 0)
            sigsuspend(&old);
        struct winsize w;
        if (ioctl(s, TIOCGWINSZ, &w) != 0 || w.ws_row != 33 || w.ws_col != 101)
            _exit(30);
        _exit(0);
    }
    close(ready[1]);
    CHECK(read(ready[0], buf, 1) == 1);
    close(ready[0]);
    struct winsize nw = {.ws_row = 33, .ws_col = 101};
    CHECK(ioctl(m, TIOCSWINSZ, &nw) == 0);
    int st = 0;
    CHECK(wait_for(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAILF("child status 0x%x", st);
    CHECK(ioctl(m, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 33 && ws.ws_col == 101);
    close(m);
    return NULL;
}

static const char *case_background_read_sigttin(void) {
    char name[64], buf[8];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        close(ready[0]);
        int s = take_ctty(m, name);
        if (s < 0)
            _exit(10 - s);
        /* A background job of this session reading the terminal stops. */
        pid_t bg = fork();
        if (bg == 0) {
            setpgid(0, 0);
            char c;
            read(s, &c, 1);
            _exit(40);
        }
        setpgid(bg, bg);
        int st = 0;
        if (waitpid(bg, &st, WUNTRACED) != bg || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGTTIN)
            _exit(41);
        kill(bg, SIGKILL);
        waitpid(bg, &st, 0);
        /* Ignoring SIGTTIN makes the read fail with EIO instead. */
        bg = fork();
        if (bg == 0) {
            setpgid(0, 0);
            signal(SIGTTIN, SIG_IGN);
            char c;
            _exit(read(s, &c, 1) == -1 && errno == EIO ? 0 : 42);
        }
        setpgid(bg, bg);
        if (waitpid(bg, &st, 0) != bg || !WIFEXITED(st))
            _exit(43);
        if (WEXITSTATUS(st) != 0)
            _exit(WEXITSTATUS(st));
        /* A process that leaves the session loses the terminal. */
        bg = fork();
        if (bg == 0) {
            setsid();
            _exit(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO ? 0 : 44);
        }
        if (waitpid(bg, &st, 0) != bg || !WIFEXITED(st))
            _exit(45);
        _exit(WEXITSTATUS(st));
    }
    close(ready[1]);
    close(ready[0]);
    int st = 0;
    CHECK(wait_for(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAILF("child status 0x%x (exit %d)", st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    (void)buf;
    close(m);
    return NULL;
}

static const char *case_hangup_on_master_close(void) {
    char name[64], buf[16];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int ready[2], result[2];
    CHECK(pipe(ready) == 0 && pipe(result) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        close(ready[0]);
        close(result[0]);
        signal(SIGHUP, on_hup);
        int s = take_ctty(m, name);
        if (s < 0)
            _exit(10 - s);
        write_str(ready[1], "r");
        char c;
        ssize_t r = read(s, &c, 1);
        /* The read ends at hangup (Linux: EIO for a read in progress,
         * 0 afterwards; the SIGHUP handler may interrupt it first). */
        while (r == -1 && errno == EINTR)
            r = read(s, &c, 1);
        if (r == -1 && errno == EIO)
            r = read(s, &c, 1);
        long start = now_ms();
        while (hup_count == 0 && now_ms() - start < 3000)
            sleep_ms(10);
        struct pollfd p = {s, POLLIN, 0};
        int pr = poll(&p, 1, 0);
        const char *verdict = r != 0                      ? "read did not return 0"
                              : hup_count == 0            ? "no SIGHUP"
                              : pr != 1 || !(p.revents & POLLHUP) ? "no POLLHUP"
                              : write(s, "x", 1) != -1 || errno != EIO ? "write did not fail with EIO"
                              : open("/dev/tty", O_RDWR) != -1 ? "/dev/tty still opens"
                                                                : "ok";
        write_str(result[1], verdict);
        _exit(0);
    }
    close(ready[1]);
    close(result[1]);
    CHECK(read(ready[0], buf, 1) == 1);
    close(ready[0]);
    sleep_ms(50);
    close(m);
    char verdict[64];
    read_all_fd(result[0], verdict, sizeof verdict);
    close(result[0]);
    int st = 0;
    CHECK(wait_for(pid, &st, 0) == pid);
    if (strcmp(verdict, "ok") != 0)
        FAILF("child: %s (status 0x%x)", verdict, st);
    return NULL;
}

static const char *case_leader_exit_hangs_up_foreground(void) {
    char name[64];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        close(p[0]);
        int s = take_ctty(m, name);
        if (s < 0)
            _exit(10 - s);
        pid_t member = fork();
        if (member == 0) {
            /* In the foreground group; holds the pipe until it dies. */
            pid_t me = getpid();
            write(p[1], &me, sizeof me);
            for (;;)
                pause();
        }
        /* Wait until the member is there, then leave as the leader. */
        sleep_ms(100);
        _exit(0);
    }
    close(p[1]);
    pid_t member = 0;
    CHECK(read(p[0], &member, sizeof member) == sizeof member);
    int st = 0;
    CHECK(wait_for(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct pollfd pf = {p[0], POLLIN, 0};
    int r = poll(&pf, 1, 3000);
    char c;
    int eof = r == 1 && read(p[0], &c, 1) == 0;
    if (!eof)
        kill(member, SIGKILL);
    close(p[0]);
    close(m);
    if (!eof)
        FAILF("the foreground group survived its session leader (no SIGHUP)");
    return NULL;
}

static const char *case_master_sees_replica_close(void) {
    char name[64], buf[16];
    int m;
    CHECK_OK(m, open_master(name, sizeof name));
    int s;
    CHECK_OK(s, open(name, O_RDWR | O_NOCTTY));
    CHECK(write(s, "z", 1) == 1);
    close(s);
    /* Pending output is still read, then EIO and POLLHUP. */
    CHECK(read(m, buf, sizeof buf) == 1 && buf[0] == 'z');
    CHECK_ERR(read(m, buf, sizeof buf), EIO);
    struct pollfd p = {m, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));
    /* Reopening the replica clears it. */
    CHECK_OK(s, open(name, O_RDWR | O_NOCTTY));
    CHECK(fcntl(m, F_SETFL, O_NONBLOCK) == 0);
    CHECK_ERR(read(m, buf, sizeof buf), EAGAIN);
    close(s);
    close(m);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(open_unlock_ptsname);
    RUN(default_termios);
    RUN(canonical_read_and_echo);
    RUN(output_processing);
    RUN(raw_vmin_vtime);
    RUN(sigint_to_foreground);
    RUN(winsize_sigwinch);
    RUN(background_read_sigttin);
    RUN(hangup_on_master_close);
    RUN(leader_exit_hangs_up_foreground);
    RUN(master_sees_replica_close);
    return 0;
}
