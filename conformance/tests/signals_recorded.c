/* signals_recorded: rt_sigaction and rt_sigprocmask bookkeeping only (no signal
 * is ever delivered in this milestone). */
#include "common.h"

#include <signal.h>
#include <sys/syscall.h>

static void handler(int sig) { (void)sig; }

/* sigaction installs a handler and returns it (flags and mask) as the old action. */
static const char *case_sigaction_records(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    CHECK(old.sa_handler == SIG_DFL);
    memset(&old, 0, sizeof old);
    CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
    CHECK(old.sa_handler == handler);
    CHECK(old.sa_flags & SA_RESTART);
    CHECK(sigismember(&old.sa_mask, SIGUSR2) == 1);
    CHECK(sigismember(&old.sa_mask, SIGTERM) == 0);
    /* Replacing returns the previous one. */
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    CHECK(old.sa_handler == handler);
    CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
    CHECK(old.sa_handler == SIG_IGN);
    signal(SIGUSR1, SIG_DFL);
    return NULL;
}

/* SA_SIGINFO handlers round-trip through sa_sigaction. */
static void info_handler(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)si;
    (void)uc;
}
static const char *case_sigaction_siginfo(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    CHECK(sigaction(SIGHUP, &sa, NULL) == 0);
    CHECK(sigaction(SIGHUP, NULL, &old) == 0);
    CHECK(old.sa_sigaction == info_handler);
    CHECK((old.sa_flags & (SA_SIGINFO | SA_ONSTACK)) == (SA_SIGINFO | SA_ONSTACK));
    signal(SIGHUP, SIG_DFL);
    return NULL;
}

/* SIGKILL and SIGSTOP cannot be caught; signal numbers 0 and 65 are invalid. */
static const char *case_sigaction_invalid(void) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
    CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
    CHECK(sigaction(SIGKILL, NULL, &old) == 0); /* querying is allowed */
    CHECK(old.sa_handler == SIG_DFL);
    CHECK_ERR(syscall(SYS_rt_sigaction, 0, NULL, &old, 8), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigaction, 65, NULL, &old, 8), EINVAL);
    return NULL;
}

/* The raw syscall insists on sigsetsize == 8. */
static const char *case_rt_sigaction_sigsetsize(void) {
    char old[64];
    CHECK(syscall(SYS_rt_sigaction, SIGUSR2, NULL, old, 8) == 0);
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR2, NULL, old, 4), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigaction, SIGUSR2, NULL, old, 16), EINVAL);
    return NULL;
}

/* Blocking a signal shows in the mask read back; unblocking removes it. */
static const char *case_sigprocmask_round_trip(void) {
    sigset_t set, old, now;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN + 1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    CHECK(sigismember(&old, SIGUSR1) == 0);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
    CHECK(sigismember(&now, SIGUSR1) == 1);
    CHECK(sigismember(&now, SIGRTMIN + 1) == 1);
    CHECK(sigismember(&now, SIGUSR2) == 0);
    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
    CHECK(sigismember(&now, SIGUSR1) == 0);
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    return NULL;
}

/* SIGKILL and SIGSTOP are silently left out of the blocked mask. */
static const char *case_sigprocmask_cannot_block_kill(void) {
    sigset_t set, old, now;
    sigfillset(&set);
    CHECK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, &old, 8) == 0);
    CHECK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &now, 8) == 0);
    CHECK(sigismember(&now, SIGKILL) == 0);
    CHECK(sigismember(&now, SIGSTOP) == 0);
    CHECK(sigismember(&now, SIGTERM) == 1);
    CHECK(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8) == 0);
    return NULL;
}

/* An invalid 'how' or sigsetsize gives EINVAL. */
static const char *case_sigprocmask_invalid(void) {
    sigset_t set;
    sigemptyset(&set);
    CHECK_ERR(syscall(SYS_rt_sigprocmask, 42, &set, NULL, 8), EINVAL);
    CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(sigaction_records);
    RUN(sigaction_siginfo);
    RUN(sigaction_invalid);
    RUN(rt_sigaction_sigsetsize);
    RUN(sigprocmask_round_trip);
    RUN(sigprocmask_cannot_block_kill);
    RUN(sigprocmask_invalid);
    return 0;
}
