/* signals: delivery of signals to handlers (siginfo, flags, masks, alternate
 * stack, faults), synchronous waiting (sigtimedwait, sigsuspend, signalfd),
 * queueing rules, timers that signal, and default actions. */
#include "procutil.h"

#include <poll.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>

#define NO_SUCH_PID (1 << 30)

/* What the last handler invocation saw. */
static volatile sig_atomic_t got_sig, got_count;
static volatile int got_code, got_errno_slot;
static volatile pid_t got_pid;
static volatile uid_t got_uid;
static volatile int got_value;

static void record_handler(int sig) {
    got_sig = sig;
    got_count++;
}

static void record_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig = sig;
    got_count++;
    got_code = si->si_code;
    got_pid = si->si_pid;
    got_uid = si->si_uid;
    got_value = si->si_value.sival_int;
}

static void reset_got(void) {
    got_sig = 0;
    got_count = 0;
    got_code = 0;
    got_pid = 0;
    got_uid = (uid_t)-1;
    got_value = 0;
}

/* Installs HANDLER (plain) with FLAGS for SIG; returns 0 on success. */
static int set_handler(int sig, void (*handler)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

static int set_info_handler(int sig, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = record_info;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

/* Between cases: empty mask, default dispositions, nothing pending, no
 * timer, so that a failed case cannot spoil the next ones. */
static void reset_signal_state(void) {
    struct itimerval zero;
    memset(&zero, 0, sizeof zero);
    setitimer(ITIMER_REAL, &zero, NULL);
    alarm(0);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || (sig > SIGSYS && sig < SIGRTMIN))
            continue;
        signal(sig, SIG_IGN); /* discards anything pending */
        signal(sig, SIG_DFL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
}

/* Arms ITIMER_REAL once after MS milliseconds. */
static int arm_real_timer_ms(long ms) {
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    return setitimer(ITIMER_REAL, &it, NULL);
}

/* A handler runs with the number of the signal that was raised. */
static const char *case_handler_signo(void) {
    reset_got();
    CHECK(set_handler(SIGUSR1, record_handler, 0) == 0);
    CHECK(set_handler(SIGUSR2, record_handler, 0) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(got_sig == SIGUSR1 && got_count == 1);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(got_sig == SIGUSR2 && got_count == 2);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    return NULL;
}

/* SA_SIGINFO: kill gives SI_USER with the sender's pid and uid; tgkill (raise)
 * gives SI_TKILL; sigqueue gives SI_QUEUE and carries the value. */
static const char *case_siginfo_kill_tkill_sigqueue(void) {
    reset_got();
    CHECK(set_info_handler(SIGUSR1, 0) == 0);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(got_count == 1);
    CHECK(got_code == SI_USER);
    CHECK(got_pid == getpid());
    CHECK(got_uid == getuid());
    reset_got();
    CHECK(raise(SIGUSR1) == 0);
    CHECK(got_count == 1 && got_code == SI_TKILL && got_pid == getpid());
    reset_got();
    union sigval v = {.sival_int = 1234};
    CHECK(sigqueue(getpid(), SIGUSR1, v) == 0);
    CHECK(got_count == 1);
    CHECK(got_code == SI_QUEUE);
    CHECK(got_value == 1234);
    CHECK(got_pid == getpid());
    signal(SIGUSR1, SIG_DFL);
    return NULL;
}

/* SA_RESETHAND: the disposition is back to SIG_DFL once the handler runs. */
static volatile void *resethand_seen;
static void resethand_handler(int sig) {
    struct sigaction now;
    sigaction(sig, NULL, &now);
    resethand_seen = (void *)now.sa_handler;
    got_count++;
}
static const char *case_sa_resethand(void) {
    reset_got();
    CHECK(set_handler(SIGUSR1, resethand_handler, SA_RESETHAND) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(got_count == 1);
    CHECK(resethand_seen == (void *)SIG_DFL);
    struct sigaction now;
    CHECK(sigaction(SIGUSR1, NULL, &now) == 0);
    CHECK(now.sa_handler == SIG_DFL);
    return NULL;
}

/* Without SA_NODEFER the signal is blocked in its own handler (a nested raise
 * waits for the return); with it the handler nests. */
static volatile int depth, max_depth, nest_count;
static void nesting_handler(int sig) {
    depth++;
    nest_count++;
    if (depth > max_depth)
        max_depth = depth;
    if (nest_count == 1)
        raise(sig);
    depth--;
}
static const char *case_sa_nodefer(void) {
    depth = max_depth = nest_count = 0;
    CHECK(set_handler(SIGUSR2, nesting_handler, 0) == 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(nest_count == 2);
    CHECK(max_depth == 1);
    depth = max_depth = nest_count = 0;
    CHECK(set_handler(SIGUSR2, nesting_handler, SA_NODEFER) == 0);
    CHECK(raise(SIGUSR2) == 0);
    CHECK(nest_count == 2);
    CHECK(max_depth == 2);
    signal(SIGUSR2, SIG_DFL);
    return NULL;
}

/* During a handler the mask is the old mask + sa_mask + the signal itself; a
 * signal blocked that way is delivered right after the handler returns. */
static volatile int mask_has_usr1, mask_has_usr2, mask_has_term, usr2_during, usr2_after;
static volatile int in_usr1;
static void mask_usr1(int sig) {
    (void)sig;
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    mask_has_usr1 = sigismember(&now, SIGUSR1);
    mask_has_usr2 = sigismember(&now, SIGUSR2);
    mask_has_term = sigismember(&now, SIGTERM);
    in_usr1 = 1;
    raise(SIGUSR2);
    in_usr1 = 0;
}
static void mask_usr2(int sig) {
    (void)sig;
    if (in_usr1)
        usr2_during = 1;
    else
        usr2_after = 1;
}
static const char *case_mask_during_handler(void) {
    mask_has_usr1 = mask_has_usr2 = mask_has_term = usr2_during = usr2_after = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mask_usr1;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(set_handler(SIGUSR2, mask_usr2, 0) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(mask_has_usr1 == 1);
    CHECK(mask_has_usr2 == 1);
    CHECK(mask_has_term == 0);
    CHECK(usr2_during == 0);
    CHECK(usr2_after == 1);
    sigset_t now;
    CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
    CHECK(!sigismember(&now, SIGUSR1) && !sigismember(&now, SIGUSR2));
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
    return NULL;
}

/* The SIGALRM handler makes the pipe readable: a restarted read then gets the
 * byte, an interrupted one returns EINTR first. */
static int alarm_pipe[2] = {-1, -1};
static void alarm_writes_pipe(int sig) {
    (void)sig;
    got_count++;
    write(alarm_pipe[1], "x", 1);
}

static const char *read_after_alarm(int flags, ssize_t *ret, int *err) {
    CHECK(pipe(alarm_pipe) == 0);
    got_count = 0;
    CHECK(set_handler(SIGALRM, alarm_writes_pipe, flags) == 0);
    CHECK(arm_real_timer_ms(100) == 0);
    char c = 0;
    errno = 0;
    *ret = read(alarm_pipe[0], &c, 1);
    *err = errno;
    return NULL;
}

/* SA_RESTART: a read blocked on a pipe is restarted after the handler. */
static const char *case_sa_restart_pipe_read(void) {
    ssize_t r;
    int e;
    const char *fail = read_after_alarm(SA_RESTART, &r, &e);
    signal(SIGALRM, SIG_DFL);
    close(alarm_pipe[0]);
    close(alarm_pipe[1]);
    if (fail)
        return fail;
    if (r != 1)
        FAILF("read returned %zd errno %d, expected the byte after a restart", r, e);
    CHECK(got_count == 1);
    return NULL;
}

/* Without SA_RESTART the read fails with EINTR after the handler. */
static const char *case_no_restart_eintr(void) {
    ssize_t r;
    int e;
    const char *fail = read_after_alarm(0, &r, &e);
    char c;
    ssize_t again = read(alarm_pipe[0], &c, 1);
    signal(SIGALRM, SIG_DFL);
    close(alarm_pipe[0]);
    close(alarm_pipe[1]);
    if (fail)
        return fail;
    if (r != -1 || e != EINTR)
        FAILF("read returned %zd errno %d, expected EINTR", r, e);
    CHECK(got_count == 1);
    CHECK(again == 1);
    return NULL;
}

/* nanosleep interrupted by a handler fails with EINTR (even with SA_RESTART)
 * and reports the remaining time. */
static const char *case_nanosleep_eintr_rem(void) {
    for (int i = 0; i < 2; i++) {
        got_count = 0;
        CHECK(set_handler(SIGALRM, record_handler, i == 0 ? 0 : SA_RESTART) == 0);
        CHECK(arm_real_timer_ms(100) == 0);
        struct timespec req = {2, 0}, rem = {0, 0};
        long t0 = now_ms();
        int r = nanosleep(&req, &rem);
        int e = errno;
        long took = now_ms() - t0;
        signal(SIGALRM, SIG_DFL);
        if (r != -1 || e != EINTR)
            FAILF("pass %d: nanosleep returned %d errno %d after %ld ms", i, r, e, took);
        CHECK(got_count == 1);
        CHECK(took < 1500);
        long rem_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
        if (rem_ms < 500 || rem_ms > 2000)
            FAILF("pass %d: rem %ld ms after sleeping %ld ms", i, rem_ms, took);
    }
    return NULL;
}

/* A SIGSEGV handler on an alternate stack (SA_ONSTACK) sees the faulting
 * address and SEGV_MAPERR / SEGV_ACCERR, runs on that stack, and leaves with
 * siglongjmp. */
static sigjmp_buf fault_jmp;
static volatile uintptr_t fault_addr, handler_sp;
static volatile int fault_code, fault_signo, fault_onstack;
static void fault_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    volatile char here = 0;
    handler_sp = (uintptr_t)&here;
    fault_signo = sig;
    fault_code = si->si_code;
    fault_addr = (uintptr_t)si->si_addr;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0)
        fault_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
    siglongjmp(fault_jmp, 1);
}
static const char *case_sigaltstack_segv(void) {
    size_t size = 64 * 1024;
    char *volatile ro = MAP_FAILED;
    char *alt = malloc(size);
    CHECK(alt != NULL);
    stack_t ss = {.ss_sp = alt, .ss_size = size, .ss_flags = 0}, old;
    CHECK(sigaltstack(&ss, &old) == 0);
    struct sigaction sa, olda;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    CHECK(sigaction(SIGSEGV, &sa, &olda) == 0);
    const char *res = NULL;
    fault_signo = 0;
    fault_onstack = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        volatile int *bad = (volatile int *)0x10;
        *bad = 1;
        res = "no SIGSEGV from a write to 0x10";
    } else if (fault_signo != SIGSEGV || fault_code != SEGV_MAPERR || fault_addr != 0x10) {
        snprintf(case_reason, sizeof case_reason, "signo %d code %d addr %#lx", fault_signo, fault_code,
                 (unsigned long)fault_addr);
        res = case_reason;
    } else if (handler_sp < (uintptr_t)alt || handler_sp >= (uintptr_t)alt + size) {
        res = "handler did not run on the alternate stack";
    } else if (!fault_onstack) {
        res = "sigaltstack in the handler did not report SS_ONSTACK";
    }
    /* A write to a read-only page is SEGV_ACCERR. */
    ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (res == NULL && ro != MAP_FAILED) {
        fault_signo = 0;
        if (sigsetjmp(fault_jmp, 1) == 0) {
            *(volatile char *)ro = 1;
            res = "no SIGSEGV from a write to a read-only page";
        } else if (fault_code != SEGV_ACCERR || fault_addr != (uintptr_t)ro) {
            snprintf(case_reason, sizeof case_reason, "read-only page: code %d addr %#lx", fault_code,
                     (unsigned long)fault_addr);
            res = case_reason;
        }
    }
    if (ro != MAP_FAILED)
        munmap(ro, 4096);
    stack_t now;
    sigaltstack(NULL, &now);
    if (res == NULL && (now.ss_sp != alt || (now.ss_flags & SS_ONSTACK)))
        res = "sigaltstack after siglongjmp: wrong stack or still on it";
    sigaction(SIGSEGV, &olda, NULL);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    free(alt);
    return res;
}

/* sigaltstack rejects a too-small stack (ENOMEM) and unknown flags (EINVAL);
 * SS_DISABLE reports the stack as disabled. */
static const char *case_sigaltstack_errors(void) {
    char small[512];
    stack_t ss = {.ss_sp = small, .ss_size = sizeof small, .ss_flags = 0}, cur;
    CHECK_ERR(sigaltstack(&ss, NULL), ENOMEM);
    ss.ss_size = 64 * 1024;
    ss.ss_flags = 0x1234;
    CHECK_ERR(sigaltstack(&ss, NULL), EINVAL);
    ss.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&ss, NULL) == 0);
    CHECK(sigaltstack(NULL, &cur) == 0);
    CHECK(cur.ss_flags & SS_DISABLE);
    return NULL;
}

/* Integer division by zero raises SIGFPE with si_code FPE_INTDIV. */
static const char *case_sigfpe_intdiv(void) {
    struct sigaction sa, olda;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGFPE, &sa, &olda) == 0);
    fault_signo = 0;
    volatile int a = 1, b = 0;
    const char *res = NULL;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        volatile int c = a / b;
        (void)c;
        res = "no SIGFPE";
    } else if (fault_signo != SIGFPE || fault_code != FPE_INTDIV || fault_addr == 0) {
        snprintf(case_reason, sizeof case_reason, "signo %d code %d addr %#lx", fault_signo, fault_code,
                 (unsigned long)fault_addr);
        res = case_reason;
    }
    sigaction(SIGFPE, &olda, NULL);
    return res;
}

/* rt_sigtimedwait returns a blocked pending signal with its siginfo, and
 * fails with EAGAIN when the timeout passes. */
static const char *case_sigtimedwait(void) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    CHECK(raise(SIGUSR1) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    struct timespec ts = {1, 0};
    /* The raw syscall: glibc's wrapper folds SI_TKILL into SI_USER. */
    CHECK(syscall(SYS_rt_sigtimedwait, &set, &si, &ts, 8) == SIGUSR1);
    CHECK(si.si_signo == SIGUSR1 && si.si_code == SI_TKILL && si.si_pid == getpid());
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));
    struct timespec short_ts = {0, 50 * 1000000L};
    long t0 = now_ms();
    CHECK_ERR(sigtimedwait(&set, &si, &short_ts), EAGAIN);
    long took = now_ms() - t0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (took < 40 || took > 2000)
        FAILF("50 ms timeout took %ld ms", took);
    struct timespec bad = {0, 1000000000L};
    CHECK_ERR(sigtimedwait(&set, &si, &bad), EINVAL);
    return NULL;
}

/* sigpending shows blocked pending signals; setting SIG_IGN discards one. */
static const char *case_sigpending(void) {
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN + 2);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    CHECK(sigpending(&pend) == 0);
    CHECK(!sigismember(&pend, SIGUSR2));
    CHECK(raise(SIGUSR2) == 0);
    CHECK(raise(SIGRTMIN + 2) == 0);
    CHECK(sigpending(&pend) == 0);
    CHECK(sigismember(&pend, SIGUSR2) == 1);
    CHECK(sigismember(&pend, SIGRTMIN + 2) == 1);
    CHECK(sigismember(&pend, SIGTERM) == 0);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGRTMIN + 2, SIG_IGN);
    CHECK(sigpending(&pend) == 0);
    CHECK(!sigismember(&pend, SIGUSR2) && !sigismember(&pend, SIGRTMIN + 2));
    signal(SIGUSR2, SIG_DFL);
    signal(SIGRTMIN + 2, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return NULL;
}

/* rt_sigsuspend swaps in a temporary mask, delivers a pending signal, fails
 * with EINTR and restores the old mask; a timer signal also wakes it. */
static const char *case_sigsuspend(void) {
    reset_got();
    CHECK(set_handler(SIGUSR1, record_handler, 0) == 0);
    sigset_t set, old, empty, now;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(got_count == 0);
    sigemptyset(&empty);
    CHECK_ERR(sigsuspend(&empty), EINTR);
    CHECK(got_count == 1 && got_sig == SIGUSR1);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
    CHECK(sigismember(&now, SIGUSR1) && sigismember(&now, SIGALRM));
    /* Woken by a signal that arrives while suspended. */
    CHECK(set_handler(SIGALRM, record_handler, 0) == 0);
    CHECK(arm_real_timer_ms(50) == 0);
    CHECK_ERR(sigsuspend(&empty), EINTR);
    CHECK(got_count == 2 && got_sig == SIGALRM);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    return NULL;
}

/* Real-time signals queue (three sigqueue are three deliveries, values in
 * order); a standard signal sent three times while blocked is delivered once. */
static volatile int order[8], order_len;
static void queue_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (order_len < 8)
        order[order_len++] = sig == SIGUSR1 ? -1 : si->si_value.sival_int;
}
static const char *case_rt_queue_std_coalesce(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = queue_handler;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask); /* one handler at a time: delivery order is visible */
    CHECK(sigaction(SIGRTMIN, &sa, NULL) == 0);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    order_len = 0;
    for (int i = 1; i <= 3; i++) {
        union sigval v = {.sival_int = i};
        CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0);
        CHECK(sigqueue(getpid(), SIGUSR1, v) == 0);
    }
    CHECK(order_len == 0);
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    signal(SIGRTMIN, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    char got[64] = "";
    for (int i = 0; i < order_len; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%d,", order[i]);
    /* The lowest-numbered signal first: SIGUSR1 (10) before SIGRTMIN. */
    if (strcmp(got, "-1,1,2,3,") != 0)
        FAILF("deliveries (-1 = SIGUSR1, n = SIGRTMIN value n): %s expected -1,1,2,3,", got);
    return NULL;
}

/* signalfd4 reads a blocked signal as a signalfd_siginfo, consumes it, and
 * reports EAGAIN (non-blocking) and poll readiness correctly. */
static const char *case_signalfd_read(void) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    int fd;
    CHECK_OK(fd, signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    struct signalfd_siginfo info;
    CHECK_ERR(read(fd, &info, sizeof info), EAGAIN);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    CHECK(poll(&pfd, 1, 0) == 0);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN));
    memset(&info, 0, sizeof info);
    CHECK(read(fd, &info, sizeof info) == (ssize_t)sizeof info);
    CHECK(info.ssi_signo == SIGUSR1);
    CHECK(info.ssi_code == SI_USER);
    CHECK(info.ssi_pid == (uint32_t)getpid());
    CHECK(info.ssi_uid == getuid());
    sigset_t pend;
    CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));
    CHECK_ERR(read(fd, &info, sizeof info), EAGAIN);
    CHECK_ERR(read(fd, &info, sizeof info - 1), EINVAL);
    close(fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return NULL;
}

/* alarm delivers SIGALRM after the given seconds; pause returns EINTR after
 * the handler; alarm returns the seconds left of the previous alarm. */
static const char *case_alarm_pause(void) {
    reset_got();
    CHECK(set_handler(SIGALRM, record_handler, 0) == 0);
    CHECK(alarm(5) == 0);
    unsigned left = alarm(1);
    CHECK(left >= 4 && left <= 5);
    long t0 = now_ms();
    CHECK_ERR(pause(), EINTR);
    long took = now_ms() - t0;
    signal(SIGALRM, SIG_DFL);
    CHECK(got_sig == SIGALRM && got_count == 1);
    if (took < 800 || took > 3000)
        FAILF("alarm(1) fired after %ld ms", took);
    CHECK(alarm(0) == 0);
    return NULL;
}

/* A periodic ITIMER_REAL fires repeatedly; getitimer reports the interval
 * and setitimer with zero disarms it and returns the old value. */
static const char *case_setitimer_real(void) {
    reset_got();
    CHECK(set_handler(SIGALRM, record_handler, 0) == 0);
    struct itimerval it = {{0, 20000}, {0, 20000}}, cur, old;
    sigset_t set, oldmask, wait_mask;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    CHECK(sigprocmask(SIG_BLOCK, &set, &oldmask) == 0);
    long t0 = now_ms();
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 20000);
    CHECK(cur.it_value.tv_usec <= 20000);
    sigemptyset(&wait_mask);
    while (got_count < 3 && now_ms() - t0 < 5000)
        sigsuspend(&wait_mask);
    long took = now_ms() - t0;
    struct itimerval zero;
    memset(&zero, 0, sizeof zero);
    CHECK(setitimer(ITIMER_REAL, &zero, &old) == 0);
    CHECK(old.it_interval.tv_usec == 20000);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    signal(SIGALRM, SIG_DFL);
    CHECK(got_count >= 3);
    if (took < 50)
        FAILF("three 20 ms periods took only %ld ms", took);
    return NULL;
}

/* timer_create(SIGEV_SIGNAL) queues its signal with SI_TIMER and the value. */
static const char *case_timer_create_signal(void) {
    int sig = SIGRTMIN + 1;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, sig);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = sig;
    sev.sigev_value.sival_int = 77;
    timer_t tid;
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tid) == 0);
    struct itimerspec its = {{0, 0}, {0, 30 * 1000000L}};
    CHECK(timer_settime(tid, 0, &its, NULL) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    struct timespec ts = {2, 0};
    int r = sigtimedwait(&set, &si, &ts);
    int e = errno;
    struct itimerspec left;
    int g = timer_gettime(tid, &left);
    int ov = timer_getoverrun(tid);
    timer_delete(tid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (r != sig)
        FAILF("sigtimedwait returned %d errno %d", r, e);
    CHECK(si.si_code == SI_TIMER);
    CHECK(si.si_value.sival_int == 77);
    CHECK(g == 0 && left.it_value.tv_sec == 0 && left.it_value.tv_nsec == 0);
    CHECK(ov == 0);
    return NULL;
}

/* A timerfd becomes readable at expiry and read returns the expiration count. */
static const char *case_timerfd_read(void) {
    int fd;
    CHECK_OK(fd, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    uint64_t n = 0;
    CHECK_ERR(read(fd, &n, sizeof n), EAGAIN);
    struct itimerspec its = {{0, 0}, {0, 30 * 1000000L}};
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    CHECK(poll(&pfd, 1, 2000) == 1);
    CHECK(read(fd, &n, sizeof n) == (ssize_t)sizeof n);
    CHECK(n == 1);
    CHECK_ERR(read(fd, &n, sizeof n), EAGAIN);
    struct itimerspec cur;
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    close(fd);
    return NULL;
}

/* kill with signal 0 checks existence only; bad signal numbers are EINVAL. */
static const char *case_kill_zero_self(void) {
    CHECK(kill(getpid(), 0) == 0);
    CHECK_ERR(kill(NO_SUCH_PID, 0), ESRCH);
    CHECK_ERR(kill(getpid(), 65), EINVAL);
    CHECK_ERR(kill(getpid(), -1), EINVAL);
    CHECK_ERR(syscall(SYS_tgkill, getpid(), getpid(), 65), EINVAL);
    return NULL;
}

/* raise(SIGSTOP) stops the child until the parent sends SIGCONT. */
static const char *case_raise_sigstop_parent_cont(void) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        raise(SIGSTOP);
        _exit(5);
    }
    int st;
    CHECK(wait_for(pid, &st, WUNTRACED) == pid);
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    CHECK(kill(pid, SIGCONT) == 0);
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
    return NULL;
}

/* SIGCHLD, SIGURG and SIGWINCH are ignored by default: raising them leaves
 * the process running and nothing pending. */
static const char *default_ignore_child(void) {
    int sigs[3] = {SIGCHLD, SIGURG, SIGWINCH};
    for (int i = 0; i < 3; i++) {
        signal(sigs[i], SIG_DFL);
        CHECK(raise(sigs[i]) == 0);
        CHECK(kill(getpid(), sigs[i]) == 0);
    }
    sigset_t pend;
    CHECK(sigpending(&pend) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(!sigismember(&pend, sigs[i]));
    return NULL;
}
static const char *case_default_ignored(void) {
    return in_child(default_ignore_child);
}

/* A fork child starts with no pending signals but inherits mask and handlers. */
static const char *case_fork_pending_not_inherited(void) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    CHECK(set_handler(SIGUSR1, record_handler, 0) == 0);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    CHECK(raise(SIGUSR2) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        sigset_t pend, mask;
        struct sigaction sa;
        sigpending(&pend);
        sigprocmask(SIG_SETMASK, NULL, &mask);
        sigaction(SIGUSR1, NULL, &sa);
        int bad = sigismember(&pend, SIGUSR2) | (!sigismember(&mask, SIGUSR2) << 1) |
                  ((sa.sa_handler != record_handler) << 2);
        _exit(bad);
    }
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    sigset_t pend;
    sigpending(&pend);
    int parent_pending = sigismember(&pend, SIGUSR2);
    signal(SIGUSR2, SIG_IGN); /* discard it */
    signal(SIGUSR2, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
    CHECK(parent_pending == 1);
    CHECK(WIFEXITED(st));
    if (WEXITSTATUS(st) != 0)
        FAILF("child: pending inherited=%d mask lost=%d handler lost=%d", WEXITSTATUS(st) & 1,
              (WEXITSTATUS(st) >> 1) & 1, (WEXITSTATUS(st) >> 2) & 1);
    return NULL;
}

/* A signal sent by another process interrupts a blocking pipe read in the
 * receiver (EINTR without SA_RESTART), with the sender's pid in si_pid. */
static const char *case_signal_from_other_process(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    reset_got();
    CHECK(set_info_handler(SIGUSR1, 0) == 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        sleep_ms(100);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    char c;
    errno = 0;
    ssize_t r = read(p[0], &c, 1);
    int e = errno;
    int st;
    wait_for(pid, &st, 0);
    signal(SIGUSR1, SIG_DFL);
    close(p[0]);
    close(p[1]);
    if (r != -1 || e != EINTR)
        FAILF("read returned %zd errno %d", r, e);
    CHECK(got_count == 1 && got_code == SI_USER && got_pid == pid);
    return NULL;
}

/* Runs a case, then resets the signal state for the next one. */
#define RUN_CLEAN(fn)            \
    do {                         \
        RUN(fn);                 \
        reset_signal_state();    \
    } while (0)

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN_CLEAN(handler_signo);
    RUN_CLEAN(siginfo_kill_tkill_sigqueue);
    RUN_CLEAN(sa_resethand);
    RUN_CLEAN(sa_nodefer);
    RUN_CLEAN(mask_during_handler);
    RUN_CLEAN(sa_restart_pipe_read);
    RUN_CLEAN(no_restart_eintr);
    RUN_CLEAN(nanosleep_eintr_rem);
    RUN_CLEAN(sigaltstack_segv);
    RUN_CLEAN(sigaltstack_errors);
    RUN_CLEAN(sigfpe_intdiv);
    RUN_CLEAN(sigtimedwait);
    RUN_CLEAN(sigpending);
    RUN_CLEAN(sigsuspend);
    RUN_CLEAN(rt_queue_std_coalesce);
    RUN_CLEAN(signalfd_read);
    RUN_CLEAN(alarm_pause);
    RUN_CLEAN(setitimer_real);
    RUN_CLEAN(timer_create_signal);
    RUN_CLEAN(timerfd_read);
    RUN_CLEAN(kill_zero_self);
    RUN_CLEAN(raise_sigstop_parent_cont);
    RUN_CLEAN(default_ignored);
    RUN_CLEAN(fork_pending_not_inherited);
    RUN_CLEAN(signal_from_other_process);
    return 0;
}
