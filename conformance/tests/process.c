/* process: fork, vfork, clone, wait4/waitid, zombies, reparenting, process
 * groups and sessions, and how children die (exit statuses, SIGCHLD).
 *
 * Natively the program makes itself a child subreaper so that orphans come
 * back to it as they come back to pid 1 (the sandbox's init) inside rvisor. */
#include "procutil.h"

#include <limits.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* A pid that cannot exist (above the kernel's PID_MAX_LIMIT of 4M). */
#define NO_SUCH_PID (1 << 30)

/* fork returns the child's pid to the parent and 0 to the child; waitpid
 * reports the exit code through WIFEXITED/WEXITSTATUS. */
static const char *case_fork_waitpid_status(void) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(42);
    CHECK(pid != getpid());
    int st = 0;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 42);
    CHECK(!WIFSIGNALED(st));
    return NULL;
}

/* The child sees getppid() == the parent's pid and getpid() == fork's result. */
static const char *case_child_getppid(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        pid_t ids[2] = {getpid(), getppid()};
        write(p[1], ids, sizeof ids);
        _exit(0);
    }
    close(p[1]);
    pid_t ids[2] = {0, 0};
    CHECK(read(p[0], ids, sizeof ids) == (ssize_t)sizeof ids);
    close(p[0]);
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(ids[0] == pid);
    CHECK(ids[1] == getpid());
    return NULL;
}

/* fork copies memory: a write in the child is invisible to the parent. */
static int cow_value = 1;
static const char *case_fork_copies_memory(void) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        cow_value = 2;
        _exit(cow_value == 2 ? 0 : 1);
    }
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(cow_value == 1);
    return NULL;
}

/* vfork shares memory and suspends the parent until the child's _exit. */
static volatile int vfork_flag;
static const char *case_vfork_exit(void) {
    vfork_flag = 0;
    pid_t pid = vfork();
    CHECK(pid >= 0);
    if (pid == 0) {
        vfork_flag = 1;
        _exit(7);
    }
    CHECK(vfork_flag == 1); /* the child ran to _exit before we resumed */
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    return NULL;
}

/* wait4 with WNOHANG returns 0 while the child runs; the blocking wait4 then
 * reaps it and fills the rusage. */
static const char *case_wait4_wnohang_rusage(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        close(p[1]);
        char c;
        read(p[0], &c, 1); /* blocks until the parent closes its end */
        _exit(3);
    }
    close(p[0]);
    int st = -1;
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    CHECK(wait4(pid, &st, WNOHANG, &ru) == 0);
    close(p[1]);
    memset(&ru, 0xff, sizeof ru);
    pid_t r;
    do {
        r = wait4(pid, &st, 0, &ru);
    } while (r == -1 && errno == EINTR);
    CHECK(r == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    CHECK(ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    CHECK(ru.ru_stime.tv_sec >= 0 && ru.ru_stime.tv_usec >= 0 && ru.ru_stime.tv_usec < 1000000);
    CHECK(ru.ru_maxrss >= 0);
    return NULL;
}

/* Forks a child that exits with CODE, optionally in its own process group. */
static pid_t spawn_exiting(int code, int own_group) {
    pid_t pid = fork();
    if (pid == 0) {
        if (own_group)
            setpgid(0, 0);
        _exit(code);
    }
    if (pid > 0 && own_group)
        setpgid(pid, pid); /* both sides, so no race; may fail once it exited */
    return pid;
}

/* Checks one waitid result for an exited child. */
static const char *check_exited_info(const siginfo_t *si, pid_t pid, int code) {
    CHECK(si->si_signo == SIGCHLD);
    CHECK(si->si_pid == pid);
    CHECK(si->si_code == CLD_EXITED);
    CHECK(si->si_status == code);
    CHECK(si->si_uid == getuid());
    return NULL;
}

/* waitid(P_PID, WEXITED|WNOWAIT) reports without reaping; a second waitid
 * reaps; a third gives ECHILD. */
static const char *case_waitid_pid_nowait(void) {
    pid_t pid = spawn_exiting(5, 0);
    CHECK(pid > 0);
    siginfo_t si;
    for (int i = 0; i < 2; i++) {
        memset(&si, 0, sizeof si);
        CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);
        const char *r = check_exited_info(&si, pid, 5);
        if (r)
            return r;
    }
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED) == 0);
    const char *r = check_exited_info(&si, pid, 5);
    if (r)
        return r;
    CHECK_ERR(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG), ECHILD);
    return NULL;
}

/* waitid(P_ALL) finds any child, with WNOWAIT leaving it waitable by pid. */
static const char *case_waitid_all(void) {
    pid_t pid = spawn_exiting(6, 0);
    CHECK(pid > 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0);
    const char *r = check_exited_info(&si, pid, 6);
    if (r)
        return r;
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6);
    memset(&si, 0, sizeof si);
    CHECK_ERR(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
    return NULL;
}

/* waitid(P_PGID) and waitpid(-pgid) select children by process group. */
static const char *case_waitid_pgid(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        setpgid(0, 0);
        close(p[1]);
        char c;
        read(p[0], &c, 1);
        _exit(8);
    }
    close(p[0]);
    setpgid(pid, pid);
    CHECK(getpgid(pid) == pid);
    close(p[1]); /* let it exit */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PGID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);
    const char *r = check_exited_info(&si, pid, 8);
    if (r)
        return r;
    /* No child of ours is in our own group. */
    memset(&si, 0, sizeof si);
    CHECK_ERR(waitid(P_PGID, (id_t)getpgrp(), &si, WEXITED | WNOHANG), ECHILD);
    int st;
    CHECK(wait_for(-pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 8);
    return NULL;
}

/* Forks a child that sleeps until killed (its watchdog ends it otherwise). */
static pid_t spawn_sleeper(void) {
    pid_t pid = fork();
    if (pid == 0) {
        child_watchdog();
        for (;;)
            pause();
    }
    return pid;
}

/* WUNTRACED reports a SIGSTOP stop once, WCONTINUED a SIGCONT resume. */
static const char *case_wuntraced_wcontinued(void) {
    pid_t pid = spawn_sleeper();
    CHECK(pid > 0);
    int st = 0;
    CHECK(kill(pid, SIGSTOP) == 0);
    CHECK(wait_for(pid, &st, WUNTRACED) == pid);
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    CHECK(wait_for(pid, &st, WUNTRACED | WNOHANG) == 0); /* reported once */
    CHECK(kill(pid, SIGCONT) == 0);
    CHECK(wait_for(pid, &st, WCONTINUED) == pid);
    CHECK(WIFCONTINUED(st));
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    return NULL;
}

/* __WALL waits for ordinary children too. */
static const char *case_wall_fork_child(void) {
    pid_t pid = spawn_exiting(4, 0);
    CHECK(pid > 0);
    int st;
    CHECK(wait_for(pid, &st, __WALL) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 4);
    return NULL;
}

static int clone_child(void *arg) {
    (void)arg;
    return 9;
}

/* A clone child with exit signal 0 is a "clone" child: a plain wait does not
 * see it (ECHILD), __WCLONE and __WALL do. */
static const char *case_wclone_child(void) {
    static char stack[64 * 1024] __attribute__((aligned(16)));
    pid_t pid = clone(clone_child, stack + sizeof stack, 0, NULL);
    CHECK(pid > 0);
    int st;
    CHECK_ERR(waitpid(pid, &st, WNOHANG), ECHILD);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | __WCLONE | WNOWAIT) == 0);
    CHECK(si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 9);
    CHECK(wait_for(pid, &st, __WALL) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 9);
    return NULL;
}

/* With no children every wait flavour fails with ECHILD. */
static const char *case_echild_without_children(void) {
    int st;
    siginfo_t si;
    CHECK_ERR(waitpid(-1, &st, WNOHANG), ECHILD);
    CHECK_ERR(waitpid(-1, &st, 0), ECHILD);
    CHECK_ERR(wait4(-1, &st, 0, NULL), ECHILD);
    CHECK_ERR(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
    CHECK_ERR(waitpid(NO_SUCH_PID, &st, 0), ECHILD);
    return NULL;
}

/* waitpid rejects unknown option bits with EINVAL. */
static const char *case_wait_bad_options(void) {
    int st;
    siginfo_t si;
    CHECK_ERR(waitpid(-1, &st, 0x4000), EINVAL);
    CHECK_ERR(waitid(P_ALL, 0, &si, 0), EINVAL); /* no WEXITED/WSTOPPED/WCONTINUED */
    return NULL;
}

/* An exited child stays a zombie (still signalable with kill 0) until it is
 * waited for; then its pid is gone (ESRCH). */
static const char *case_zombie_until_waited(void) {
    pid_t pid = spawn_exiting(1, 0);
    CHECK(pid > 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);
    sleep_ms(20);
    CHECK(kill(pid, 0) == 0);
    CHECK(getpgid(pid) >= 0);
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK_ERR(kill(pid, 0), ESRCH);
    return NULL;
}

/* An orphaned grandchild is reparented to the nearest subreaper, or to init
 * (pid 1, ourselves in the sandbox); it then becomes waitable by us. */
static const char *case_orphan_reparented(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t a = fork();
    CHECK(a >= 0);
    if (a == 0) {
        pid_t apid = getpid();
        pid_t b = fork();
        if (b == 0) {
            child_watchdog();
            long deadline = now_ms() + 5000;
            while (getppid() == apid && now_ms() < deadline)
                sleep_ms(1);
            pid_t out[2] = {getpid(), getppid()};
            write(p[1], out, sizeof out);
            _exit(0);
        }
        _exit(b > 0 ? 0 : 1);
    }
    close(p[1]);
    int st;
    CHECK(wait_for(a, &st, 0) == a);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid_t got[2] = {0, 0};
    CHECK(read(p[0], got, sizeof got) == (ssize_t)sizeof got);
    close(p[0]);
    CHECK(got[1] == getpid());
    CHECK(wait_for(got[0], &st, 0) == got[0]);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return NULL;
}

/* PR_SET_PDEATHSIG: the child gets the signal when its parent dies. */
static const char *case_pdeathsig(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t a = fork();
    CHECK(a >= 0);
    if (a == 0) {
        pid_t apid = getpid();
        int q[2];
        if (pipe(q) != 0)
            _exit(1);
        pid_t b = fork();
        if (b == 0) {
            child_watchdog();
            signal(SIGUSR1, SIG_DFL);
            if (prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0)
                _exit(2);
            int sig = 0;
            if (prctl(PR_GET_PDEATHSIG, &sig) != 0 || sig != SIGUSR1)
                _exit(3);
            if (getppid() != apid)
                _exit(4);
            pid_t me = getpid();
            write(p[1], &me, sizeof me);
            write(q[1], "r", 1);
            for (;;)
                pause();
        }
        char c;
        read(q[0], &c, 1); /* b is armed: now die */
        _exit(0);
    }
    close(p[1]);
    int st;
    CHECK(wait_for(a, &st, 0) == a);
    pid_t b = 0;
    CHECK(read(p[0], &b, sizeof b) == (ssize_t)sizeof b);
    close(p[0]);
    CHECK(wait_for(b, &st, 0) == b);
    if (WIFEXITED(st))
        FAILF("grandchild exited %d instead of dying of SIGUSR1", WEXITSTATUS(st));
    CHECK(WIFSIGNALED(st));
    CHECK(WTERMSIG(st) == SIGUSR1);
    return NULL;
}

/* setsid makes a non-leader the leader of a new session and group; a second
 * setsid (a session leader) gives EPERM, and so does setpgid. */
static const char *setsid_child(void) {
    pid_t me = getpid();
    CHECK(getpgrp() != me); /* in the parent's group after fork */
    pid_t old_sid = getsid(0);
    CHECK(old_sid > 0 || old_sid == 0);
    CHECK(setsid() == me);
    CHECK(getsid(0) == me);
    CHECK(getsid(me) == me);
    CHECK(getpgrp() == me);
    CHECK(getpgid(0) == me);
    CHECK(getsid(getppid()) == old_sid); /* the parent's session is unchanged */
    CHECK_ERR(setsid(), EPERM);
    CHECK_ERR(setpgid(0, 0), EPERM);
    return NULL;
}
static const char *case_setsid_rules(void) {
    return in_child(setsid_child);
}

/* A process group leader cannot call setsid (EPERM). */
static const char *setsid_group_leader_child(void) {
    CHECK(setpgid(0, 0) == 0);
    CHECK(getpgrp() == getpid());
    CHECK_ERR(setsid(), EPERM);
    return NULL;
}
static const char *case_setsid_group_leader_eperm(void) {
    return in_child(setsid_group_leader_child);
}

/* setpgid moves itself or a child between groups of its session; bad
 * arguments give EINVAL/ESRCH; getpgid/getsid of unknown pids give ESRCH. */
static const char *setpgid_child(void) {
    pid_t me = getpid();
    /* The group inherited from the parent (0 when it lies outside our pid
     * namespace, as for an init started by unshare -p). */
    pid_t parent_group = getpgrp();
    CHECK(getpgid(0) == parent_group);
    CHECK(getpgid(getppid()) == parent_group);
    CHECK(setpgid(0, 0) == 0);
    CHECK(getpgrp() == me);
    if (parent_group > 0) {
        CHECK(setpgid(0, parent_group) == 0); /* back to an existing group */
        CHECK(getpgrp() == parent_group);
    }
    CHECK_ERR(setpgid(0, -1), EINVAL);
    CHECK_ERR(setpgid(NO_SUCH_PID, 0), ESRCH);
    CHECK_ERR(setpgid(0, NO_SUCH_PID), EPERM); /* no such group in the session */
    CHECK_ERR(getpgid(NO_SUCH_PID), ESRCH);
    CHECK_ERR(getsid(NO_SUCH_PID), ESRCH);
    /* A child of ours can be moved; our parent cannot (not our child). */
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t g = fork();
    CHECK(g >= 0);
    if (g == 0) {
        close(p[1]);
        char c;
        read(p[0], &c, 1);
        _exit(0);
    }
    close(p[0]);
    CHECK(setpgid(g, g) == 0);
    CHECK(getpgid(g) == g);
    CHECK(setpgid(g, getpgrp()) == 0);
    CHECK(getpgid(g) == getpgrp());
    CHECK_ERR(setpgid(getppid(), 0), ESRCH);
    close(p[1]);
    int st;
    CHECK(wait_for(g, &st, 0) == g);
    return NULL;
}
static const char *case_setpgid_rules(void) {
    return in_child(setpgid_child);
}

/* kill(0, sig) signals every process of the caller's group (itself included)
 * and none outside it. */
static int wait_usr1(long ms) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    int r;
    do {
        r = sigtimedwait(&set, NULL, &ts);
    } while (r == -1 && errno == EINTR);
    return r;
}
static const char *kill_group_child(void) {
    CHECK(setpgid(0, 0) == 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        CHECK(kids[i] >= 0);
        if (kids[i] == 0) {
            child_watchdog();
            if (i == 2) { /* outside the group: must time out */
                setpgid(0, 0);
                _exit(wait_usr1(500) == -1 && errno == EAGAIN ? 0 : 1);
            }
            _exit(wait_usr1(5000) == SIGUSR1 ? 0 : 1);
        }
    }
    setpgid(kids[2], kids[2]);
    CHECK(getpgid(kids[2]) == kids[2]);
    CHECK(kill(0, SIGUSR1) == 0);
    CHECK(wait_usr1(5000) == SIGUSR1); /* the sender is in the group too */
    for (int i = 0; i < 3; i++) {
        int st;
        CHECK(wait_for(kids[i], &st, 0) == kids[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            FAILF("child %d: status %#x", i, st);
    }
    return NULL;
}
static const char *case_kill_process_group(void) {
    return in_child(kill_group_child);
}

/* killpg / kill(-pgid) reach a whole other group. */
static const char *case_kill_negative_pgid(void) {
    pid_t a = spawn_sleeper();
    CHECK(a > 0);
    setpgid(a, a);
    pid_t b = fork();
    CHECK(b >= 0);
    if (b == 0) {
        child_watchdog();
        setpgid(0, a);
        for (;;)
            pause();
    }
    setpgid(b, a);
    CHECK(getpgid(b) == a);
    CHECK(kill(-a, SIGTERM) == 0);
    int st;
    CHECK(wait_for(a, &st, 0) == a);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    CHECK(wait_for(b, &st, 0) == b);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    CHECK_ERR(kill(-a, SIGTERM), ESRCH);
    return NULL;
}

/* A child killed by a signal reports WIFSIGNALED with that WTERMSIG; SIGKILL
 * and SIGTERM never set the core bit. */
static const char *case_killed_status(void) {
    int sigs[2] = {SIGKILL, SIGTERM};
    for (int i = 0; i < 2; i++) {
        pid_t pid = spawn_sleeper();
        CHECK(pid > 0);
        CHECK(kill(pid, sigs[i]) == 0);
        int st;
        CHECK(wait_for(pid, &st, 0) == pid);
        CHECK(!WIFEXITED(st));
        CHECK(WIFSIGNALED(st));
        CHECK(WTERMSIG(st) == sigs[i]);
        CHECK(!WCOREDUMP(st));
    }
    return NULL;
}

/* A fault kills with SIGSEGV, abort with SIGABRT; with RLIMIT_CORE 0 no core
 * is written, so Linux leaves WCOREDUMP clear. */
static const char *case_fault_and_abort_status(void) {
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            child_watchdog();
            struct rlimit rl = {0, 0};
            setrlimit(RLIMIT_CORE, &rl);
            signal(SIGSEGV, SIG_DFL);
            signal(SIGABRT, SIG_DFL);
            if (i == 0) {
                volatile int *bad = (volatile int *)16;
                *bad = 1;
            } else {
                abort();
            }
            _exit(0);
        }
        int st;
        CHECK(wait_for(pid, &st, 0) == pid);
        CHECK(WIFSIGNALED(st));
        CHECK(WTERMSIG(st) == (i == 0 ? SIGSEGV : SIGABRT));
        CHECK(!WCOREDUMP(st));
    }
    return NULL;
}

/* SIGCHLD reaches the parent when a child exits, with si_code CLD_EXITED,
 * the child's pid and status. */
static volatile sig_atomic_t chld_count;
static volatile pid_t chld_pid;
static volatile int chld_code, chld_status;
static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    chld_count++;
    chld_pid = si->si_pid;
    chld_code = si->si_code;
    chld_status = si->si_status;
}
static const char *case_sigchld_on_exit(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGCHLD, &sa, &old) == 0);
    sigset_t set, oldmask;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &set, &oldmask) == 0);
    chld_count = 0;
    pid_t pid = spawn_exiting(9, 0);
    CHECK(pid > 0);
    siginfo_t si;
    CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);
    CHECK(chld_count == 0);
    CHECK(sigprocmask(SIG_SETMASK, &oldmask, NULL) == 0); /* delivered here */
    int count = chld_count;
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    sigaction(SIGCHLD, &old, NULL);
    CHECK(count == 1);
    CHECK(chld_pid == pid);
    CHECK(chld_code == CLD_EXITED);
    CHECK(chld_status == 9);
    return NULL;
}

/* Waits up to MS for a SIGCHLD (blocked) and stores its si_code; 0 if none.
 * Linux sends CLD_CONTINUED only when the child next runs, after waitpid may
 * already have seen the continue, hence the wait. */
static int take_sigchld(int *code, long ms) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    siginfo_t si;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    int r;
    do {
        r = sigtimedwait(&set, &si, &ts);
    } while (r == -1 && errno == EINTR);
    if (r != SIGCHLD)
        return 0;
    *code = si.si_code;
    return 1;
}

/* Stops and continues raise SIGCHLD (CLD_STOPPED/CLD_CONTINUED) unless the
 * handler has SA_NOCLDSTOP; the exit raises it either way. */
static const char *case_sigchld_nocldstop(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGCHLD, &sa, &old) == 0);
    sigset_t set, oldmask;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    CHECK(sigprocmask(SIG_BLOCK, &set, &oldmask) == 0);
    const char *res = NULL;
    int code = 0, st = 0;
    pid_t pid = spawn_sleeper();
    if (pid <= 0)
        FAILF("fork failed");
#define STEP(cond)                                   \
    do {                                             \
        if (res == NULL && !(cond)) {                \
            snprintf(case_reason, sizeof case_reason, \
                     "line %d: %s", __LINE__, #cond); \
            res = case_reason;                       \
        }                                            \
    } while (0)
    /* Without SA_NOCLDSTOP. */
    STEP(kill(pid, SIGSTOP) == 0);
    STEP(wait_for(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st));
    STEP(take_sigchld(&code, 2000) && code == CLD_STOPPED);
    STEP(kill(pid, SIGCONT) == 0);
    STEP(wait_for(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st));
    STEP(take_sigchld(&code, 2000) && code == CLD_CONTINUED);
    /* With SA_NOCLDSTOP. */
    sa.sa_flags = SA_SIGINFO | SA_NOCLDSTOP;
    STEP(sigaction(SIGCHLD, &sa, NULL) == 0);
    STEP(kill(pid, SIGSTOP) == 0);
    STEP(wait_for(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st));
    STEP(!take_sigchld(&code, 100));
    STEP(kill(pid, SIGCONT) == 0);
    STEP(wait_for(pid, &st, WCONTINUED) == pid && WIFCONTINUED(st));
    STEP(!take_sigchld(&code, 100));
    STEP(kill(pid, SIGKILL) == 0);
    STEP(wait_for(pid, &st, 0) == pid && WIFSIGNALED(st));
    STEP(take_sigchld(&code, 2000) && code == CLD_KILLED);
#undef STEP
    if (res != NULL) {
        kill(pid, SIGKILL);
        wait_for(pid, &st, 0);
    }
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    sigaction(SIGCHLD, &old, NULL);
    return res;
}

/* With SA_NOCLDWAIT (or SIGCHLD ignored) children are reaped automatically:
 * wait blocks until they are gone and then fails with ECHILD. */
static const char *case_nocldwait_autoreap(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_NOCLDWAIT;
    CHECK(sigaction(SIGCHLD, &sa, &old) == 0);
    pid_t pid = spawn_exiting(0, 0);
    int st;
    errno = 0;
    pid_t r = waitpid(-1, &st, 0);
    int e = errno;
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigaction(SIGCHLD, &sa, NULL);
    pid_t pid2 = spawn_exiting(0, 0);
    errno = 0;
    pid_t r2 = waitpid(-1, &st, 0);
    int e2 = errno;
    sigaction(SIGCHLD, &old, NULL);
    CHECK(pid > 0 && pid2 > 0);
    if (r != -1 || e != ECHILD)
        FAILF("SA_NOCLDWAIT: waitpid returned %d errno %d, expected ECHILD", (int)r, e);
    if (r2 != -1 || e2 != ECHILD)
        FAILF("SIG_IGN: waitpid returned %d errno %d, expected ECHILD", (int)r2, e2);
    CHECK_ERR(kill(pid, 0), ESRCH);
    return NULL;
}

/* exit_group from a child with status > 255 keeps only the low byte. */
static const char *case_exit_status_low_byte(void) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        syscall(SYS_exit_group, 0x1234);
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0x34);
    return NULL;
}

/* SIGKILL sent at any moment of a child's fork+execve ends it with
 * SIGKILL: the kill must reach the new image too, and a stub killed in the
 * middle of an fd donation must not leave later execs mapping the wrong
 * file (every child after it used to die of SIGSEGV in ld.so). */
static const char *case_sigkill_during_execve(void) {
    for (int i = 0; i < 100; i++) {
        pid_t p = fork();
        CHECK(p >= 0);
        if (p == 0) {
            execl("/bin/sh", "sh", "-c", "exec sleep 100", (char *)0);
            _exit(1);
        }
        struct timespec d = {0, (i % 40) * 100000L};
        nanosleep(&d, NULL);
        CHECK(kill(p, SIGKILL) == 0);
        int st = 0, reaped = 0;
        for (int k = 0; k < 500 && !reaped; k++) {
            if (waitpid(p, &st, WNOHANG) == p)
                reaped = 1;
            else
                usleep(10000);
        }
        if (!reaped) {
            kill(p, SIGKILL);
            waitpid(p, &st, 0);
            FAILF("child %d survived SIGKILL during execve (iteration %d)", p, i);
        }
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            FAILF("iteration %d: status 0x%x, not killed by SIGKILL", i, st);
    }
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    /* Natively, orphans must come back to us as they come to init in the sandbox. */
    if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        printf("# PR_SET_CHILD_SUBREAPER failed: %s\n", strerror(errno));
    RUN(fork_waitpid_status);
    RUN(child_getppid);
    RUN(fork_copies_memory);
    RUN(vfork_exit);
    RUN(wait4_wnohang_rusage);
    RUN(waitid_pid_nowait);
    RUN(waitid_all);
    RUN(waitid_pgid);
    RUN(wuntraced_wcontinued);
    RUN(wall_fork_child);
    RUN(wclone_child);
    RUN(echild_without_children);
    RUN(wait_bad_options);
    RUN(zombie_until_waited);
    RUN(orphan_reparented);
    RUN(pdeathsig);
    RUN(setsid_rules);
    RUN(setsid_group_leader_eperm);
    RUN(setpgid_rules);
    RUN(kill_process_group);
    RUN(kill_negative_pgid);
    RUN(killed_status);
    RUN(fault_and_abort_status);
    RUN(sigchld_on_exit);
    RUN(sigchld_nocldstop);
    RUN(nocldwait_autoreap);
    RUN(exit_status_low_byte);
    RUN(sigkill_during_execve);
    return 0;
}
