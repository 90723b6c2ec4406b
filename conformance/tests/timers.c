/* timers: alarm, getitimer/setitimer, POSIX timers (timer_*), timerfd and
 * interrupted sleeps (nanosleep rem, clock_nanosleep TIMER_ABSTIME).
 *
 * Cases that need signal delivery into a handler are written so that a
 * missing delivery fails them instead of hanging, except the final pause()
 * case, which runs last. */
#include "common.h"

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>

#define MS 1000000LL

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }
static int64_t now_ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return ns_of(t);
}
static struct timespec ts_of(int64_t ns) {
    struct timespec t = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    return t;
}
static void sleep_ms(int ms) {
    struct timespec d = ts_of((int64_t)ms * MS);
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
}

/* Raw timer syscalls: the kernel's timer ids are ints. */
static long k_timer_create(clockid_t c, struct sigevent *ev, int *id) {
    return syscall(SYS_timer_create, c, ev, id);
}
static long k_timer_settime(int id, int flags, const struct itimerspec *n, struct itimerspec *o) {
    return syscall(SYS_timer_settime, id, flags, n, o);
}
static long k_timer_gettime(int id, struct itimerspec *cur) { return syscall(SYS_timer_gettime, id, cur); }
static long k_timer_delete(int id) { return syscall(SYS_timer_delete, id); }

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t got_code;
static volatile sig_atomic_t got_overrun;
static volatile long got_value;
static volatile sig_atomic_t got_timerid;

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_signal = sig;
    got_code = si->si_code;
    got_overrun = si->si_overrun;
    got_value = (long)si->si_value.sival_ptr;
    got_timerid = si->si_timerid;
}

static void on_alarm_count(int sig) {
    (void)sig;
    got_signal++;
}

/* Installs on_signal for SIG without SA_RESTART. */
static int catch_signal(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    return sigaction(sig, &sa, NULL);
}

static void restore_default(int sig) { signal(sig, SIG_DFL); }

/* The first POSIX timer of a process has id 0; ids count up; bad ids are EINVAL. */
static const char *case_posix_ids_start_at_zero(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    int a = -1, b = -1;
    CHECK(k_timer_create(CLOCK_MONOTONIC, &ev, &a) == 0);
    CHECK(k_timer_create(CLOCK_MONOTONIC, &ev, &b) == 0);
    if (a != 0 || b != 1)
        FAILF("ids %d %d, expected 0 1", a, b);
    struct itimerspec cur;
    CHECK_ERR(k_timer_gettime(12345, &cur), EINVAL);
    CHECK_ERR(k_timer_gettime(-1, &cur), EINVAL);
    CHECK_ERR(k_timer_gettime(a, NULL), EFAULT);
    CHECK(k_timer_delete(a) == 0);
    CHECK_ERR(k_timer_delete(a), EINVAL);
    CHECK_ERR(k_timer_gettime(a, &cur), EINVAL);
    CHECK_ERR(syscall(SYS_timer_getoverrun, a), EINVAL);
    CHECK(k_timer_delete(b) == 0);
    return NULL;
}

/* timer_create validates the clock and the sigevent. */
static const char *case_posix_create_einval(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    int id;
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    CHECK_ERR(k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.sigev_signo = 65;
    CHECK_ERR(k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify = 99;
    CHECK_ERR(k_timer_create(CLOCK_MONOTONIC, &ev, &id), EINVAL);
    ev.sigev_notify = SIGEV_NONE;
    CHECK_ERR(k_timer_create(12345, &ev, &id), EINVAL);
    CHECK_ERR(k_timer_create(CLOCK_MONOTONIC_RAW, &ev, &id), EOPNOTSUPP);
    CHECK_ERR(k_timer_create(CLOCK_MONOTONIC, (struct sigevent *)8, &id), EFAULT);
    return NULL;
}

/* A SIGEV_NONE timer counts down in timer_gettime; one-shots end at 0;
 * periodic ones reload; the old value comes back from timer_settime. */
static const char *case_posix_sigev_none_counts_down(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    int id;
    CHECK(k_timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
    struct itimerspec set = {{0, 0}, {1, 0}}, cur, old;
    CHECK(k_timer_settime(id, 0, &set, &old) == 0);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0);
    CHECK(k_timer_gettime(id, &cur) == 0);
    int64_t first = ns_of(cur.it_value);
    if (first <= 900 * MS || first > 1000 * MS)
        FAILF("value %lld after arming 1s", (long long)first);
    sleep_ms(20);
    CHECK(k_timer_gettime(id, &cur) == 0);
    if (ns_of(cur.it_value) > first - 15 * MS)
        FAILF("value %lld did not count down from %lld", (long long)ns_of(cur.it_value), (long long)first);
    /* Re-arming returns the old setting. */
    struct itimerspec shot = {{0, 0}, {0, 10 * MS}};
    CHECK(k_timer_settime(id, 0, &shot, &old) == 0);
    CHECK(ns_of(old.it_value) > 0 && ns_of(old.it_value) < first);
    sleep_ms(25);
    CHECK(k_timer_gettime(id, &cur) == 0);
    CHECK(ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
    /* Periodic: 10ms then every 100ms. */
    struct itimerspec per = {{0, 100 * MS}, {0, 10 * MS}};
    CHECK(k_timer_settime(id, 0, &per, NULL) == 0);
    sleep_ms(30);
    CHECK(k_timer_gettime(id, &cur) == 0);
    CHECK(ns_of(cur.it_interval) == 100 * MS);
    if (ns_of(cur.it_value) <= 0 || ns_of(cur.it_value) > 90 * MS)
        FAILF("periodic value %lld", (long long)ns_of(cur.it_value));
    /* Disarming clears the interval too (the value a disarmed SIGEV_NONE
     * timer reports is a Linux quirk: not checked). */
    struct itimerspec zero = {{0, 100 * MS}, {0, 0}};
    CHECK(k_timer_settime(id, 0, &zero, NULL) == 0);
    CHECK(k_timer_gettime(id, &cur) == 0);
    CHECK(ns_of(cur.it_interval) == 0);
    /* TIMER_ABSTIME. */
    struct itimerspec abs = {{0, 0}, ts_of(now_ns(CLOCK_MONOTONIC) + 500 * MS)};
    CHECK(k_timer_settime(id, TIMER_ABSTIME, &abs, NULL) == 0);
    CHECK(k_timer_gettime(id, &cur) == 0);
    CHECK(ns_of(cur.it_value) > 400 * MS && ns_of(cur.it_value) <= 500 * MS);
    /* Invalid specs. */
    struct itimerspec bad = {{0, 0}, {0, 1000000000L}};
    CHECK_ERR(k_timer_settime(id, 0, &bad, NULL), EINVAL);
    struct itimerspec neg = {{-1, 0}, {1, 0}};
    CHECK_ERR(k_timer_settime(id, 0, &neg, NULL), EINVAL);
    CHECK_ERR(k_timer_settime(id, 0, NULL, NULL), EINVAL);
    CHECK(k_timer_delete(id) == 0);
    return NULL;
}

/* A CLOCK_PROCESS_CPUTIME_ID timer counts down only while the process runs. */
static const char *case_posix_cpu_clock_timer(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    int id;
    CHECK(k_timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &id) == 0);
    struct itimerspec set = {{0, 0}, {10, 0}}, a, b;
    CHECK(k_timer_settime(id, 0, &set, NULL) == 0);
    CHECK(k_timer_gettime(id, &a) == 0);
    int64_t start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (now_ns(CLOCK_PROCESS_CPUTIME_ID) - start < 30 * MS) {
    }
    CHECK(k_timer_gettime(id, &b) == 0);
    int64_t used = ns_of(a.it_value) - ns_of(b.it_value);
    if (used < 20 * MS || used > 5000 * MS)
        FAILF("cpu timer advanced %lld ns over 30ms of CPU", (long long)used);
    CHECK(k_timer_delete(id) == 0);
    return NULL;
}

/* getitimer/setitimer: old values, interval, EINVAL rules; alarm shares ITIMER_REAL. */
static const char *case_itimer_get_set(void) {
    struct itimerval set = {{2, 0}, {10, 0}}, old, cur;
    CHECK(setitimer(ITIMER_REAL, &set, &old) == 0);
    CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 2 && cur.it_interval.tv_usec == 0);
    CHECK(cur.it_value.tv_sec == 9 || (cur.it_value.tv_sec == 10 && cur.it_value.tv_usec == 0));
    struct itimerval zero = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &zero, &old) == 0);
    CHECK(old.it_interval.tv_sec == 2);
    CHECK(old.it_value.tv_sec >= 9);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 && cur.it_interval.tv_sec == 0);
    struct itimerval bad = {{0, 0}, {0, 1000000}};
    CHECK_ERR(setitimer(ITIMER_REAL, &bad, NULL), EINVAL);
    struct itimerval badi = {{0, -1}, {1, 0}};
    CHECK_ERR(setitimer(ITIMER_REAL, &badi, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_setitimer, 5, &zero, NULL), EINVAL);
    CHECK_ERR(syscall(SYS_getitimer, 5, &cur), EINVAL);
    CHECK_ERR(syscall(SYS_getitimer, ITIMER_REAL, NULL), EFAULT);
    /* alarm: returns the old alarm's seconds, rounded. */
    CHECK(alarm(5) == 0);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 4 || cur.it_value.tv_sec == 5);
    CHECK(alarm(0) == 5);
    struct itimerval small = {{0, 0}, {0, 300000}};
    CHECK(setitimer(ITIMER_REAL, &small, NULL) == 0);
    CHECK(alarm(0) == 1);
    /* CPU itimers keep their interval when disarmed, as Linux does. */
    struct itimerval iv = {{1, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_VIRTUAL, &iv, NULL) == 0);
    CHECK(getitimer(ITIMER_VIRTUAL, &cur) == 0);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 && cur.it_interval.tv_sec == 1);
    CHECK(setitimer(ITIMER_VIRTUAL, &zero, NULL) == 0);
    return NULL;
}

/* timerfd: EAGAIN before expiry, counts expirations, POLLIN, gettime, errors. */
static const char *case_timerfd_counts_expirations(void) {
    int fd;
    CHECK_OK(fd, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    uint64_t n = 0;
    CHECK_ERR(read(fd, &n, sizeof n), EAGAIN);
    char small[4];
    CHECK_ERR(read(fd, small, sizeof small), EINVAL);
    struct itimerspec per = {{0, 10 * MS}, {0, 10 * MS}}, cur, old;
    CHECK(timerfd_settime(fd, 0, &per, &old) == 0);
    CHECK(ns_of(old.it_value) == 0);
    sleep_ms(55);
    CHECK(read(fd, &n, sizeof n) == 8);
    if (n < 4 || n > 7)
        FAILF("%llu expirations after 55ms of a 10ms timer", (unsigned long long)n);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(ns_of(cur.it_interval) == 10 * MS);
    CHECK(ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 10 * MS);
    /* Disarm keeps the interval (timerfd_gettime shows it). */
    struct itimerspec off = {{1, 0}, {0, 0}};
    CHECK(timerfd_settime(fd, 0, &off, NULL) == 0);
    CHECK(timerfd_gettime(fd, &cur) == 0);
    CHECK(ns_of(cur.it_value) == 0 && cur.it_interval.tv_sec == 1);
    CHECK_ERR(read(fd, &n, sizeof n), EAGAIN);
    /* An absolute deadline in the past expires at once. */
    struct itimerspec past = {{0, 0}, {0, 1}};
    CHECK(timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &past, NULL) == 0);
    CHECK(read(fd, &n, sizeof n) == 8 && n == 1);
    CHECK_ERR(timerfd_settime(fd, 4, &past, NULL), EINVAL);
    struct itimerspec bad = {{0, 0}, {0, 1000000000L}};
    CHECK_ERR(timerfd_settime(fd, 0, &bad, NULL), EINVAL);
    close(fd);
    CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x1234), EINVAL);
    CHECK_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    CHECK_ERR(timerfd_settime(fd, 0, &per, NULL), EBADF);
    CHECK_ERR(timerfd_gettime(0, &cur), EINVAL);
    return NULL;
}

/* A timerfd polls readable (POLLIN) once it expired, not before. */
static const char *case_timerfd_poll_readiness(void) {
    int fd;
    CHECK_OK(fd, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    struct pollfd p = {fd, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0);
    struct itimerspec shot = {{0, 0}, {0, 10 * MS}};
    CHECK(timerfd_settime(fd, 0, &shot, NULL) == 0);
    CHECK(poll(&p, 1, 0) == 0);
    /* poll sleeps until the expiry makes the fd readable. */
    p.revents = 0;
    CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN));
    uint64_t n = 0;
    CHECK(read(fd, &n, sizeof n) == 8 && n == 1);
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 0);
    close(fd);
    return NULL;
}

/* A blocking timerfd read sleeps until the expiry and returns 1. */
static const char *case_timerfd_blocking_read(void) {
    int fd;
    CHECK_OK(fd, timerfd_create(CLOCK_REALTIME, 0));
    struct itimerspec shot = {{0, 0}, ts_of(now_ns(CLOCK_REALTIME) + 20 * MS)};
    int64_t start = now_ns(CLOCK_MONOTONIC);
    CHECK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &shot, NULL) == 0);
    uint64_t n = 0;
    CHECK(read(fd, &n, sizeof n) == 8);
    CHECK(n == 1);
    int64_t waited = now_ns(CLOCK_MONOTONIC) - start;
    if (waited < 15 * MS || waited > 5000 * MS)
        FAILF("blocking read returned after %lld ns", (long long)waited);
    close(fd);
    return NULL;
}

/* nanosleep interrupted by a handled SIGALRM: EINTR and the time left in rem. */
static const char *case_nanosleep_rem_on_eintr(void) {
    CHECK(catch_signal(SIGALRM) == 0);
    struct itimerval shot = {{0, 0}, {0, 30000}};
    CHECK(setitimer(ITIMER_REAL, &shot, NULL) == 0);
    struct timespec req = {2, 0}, rem = {0, 0};
    int r = nanosleep(&req, &rem);
    int e = errno;
    restore_default(SIGALRM);
    if (r != -1 || e != EINTR)
        FAILF("nanosleep returned %d errno %d, expected EINTR", r, e);
    CHECK(got_signal == SIGALRM);
    CHECK(got_code == SI_KERNEL);
    if (ns_of(rem) < 1500 * MS || ns_of(rem) >= 2000 * MS)
        FAILF("rem %lld ns", (long long)ns_of(rem));
    return NULL;
}

/* A nanosleep interrupted by a stop (SIGSTOP then SIGCONT, both sent by
 * POSIX timers) with no handler restarts transparently through
 * restart_syscall and still sleeps to the original deadline. */
static const char *case_nanosleep_restarts_after_stop(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    int stop_id, cont_id;
    ev.sigev_signo = SIGSTOP;
    CHECK(k_timer_create(CLOCK_MONOTONIC, &ev, &stop_id) == 0);
    ev.sigev_signo = SIGCONT;
    CHECK(k_timer_create(CLOCK_MONOTONIC, &ev, &cont_id) == 0);
    struct itimerspec stop_at = {{0, 0}, {0, 20 * MS}}, cont_at = {{0, 0}, {0, 60 * MS}};
    int64_t start = now_ns(CLOCK_MONOTONIC);
    CHECK(k_timer_settime(stop_id, 0, &stop_at, NULL) == 0);
    CHECK(k_timer_settime(cont_id, 0, &cont_at, NULL) == 0);
    struct timespec req = ts_of(150 * MS), rem = {0, 0};
    int r = nanosleep(&req, &rem);
    int64_t slept = now_ns(CLOCK_MONOTONIC) - start;
    k_timer_delete(stop_id);
    k_timer_delete(cont_id);
    if (r != 0)
        FAILF("nanosleep returned %d errno %d", r, errno);
    if (slept < 150 * MS || slept > 3000 * MS)
        FAILF("slept %lld ns, expected 150ms", (long long)slept);
    return NULL;
}

/* clock_nanosleep TIMER_ABSTIME interrupted by a handler: EINTR, rem untouched. */
static const char *case_clock_nanosleep_abstime_eintr(void) {
    CHECK(catch_signal(SIGALRM) == 0);
    struct itimerval shot = {{0, 0}, {0, 30000}};
    CHECK(setitimer(ITIMER_REAL, &shot, NULL) == 0);
    struct timespec deadline = ts_of(now_ns(CLOCK_MONOTONIC) + 2000 * MS), rem = {7, 7};
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, &rem);
    restore_default(SIGALRM);
    if (r != EINTR)
        FAILF("clock_nanosleep returned %d, expected EINTR", r);
    CHECK(rem.tv_sec == 7 && rem.tv_nsec == 7);
    return NULL;
}

/* A POSIX timer's signal carries SI_TIMER, the timer id and the sigev value. */
static const char *case_posix_signal_siginfo(void) {
    CHECK(catch_signal(SIGUSR1) == 0);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_ptr = (void *)0x1234;
    int id;
    CHECK(k_timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
    struct itimerspec shot = {{0, 0}, {0, 10 * MS}};
    CHECK(k_timer_settime(id, 0, &shot, NULL) == 0);
    for (int i = 0; i < 100 && !got_signal; i++)
        sleep_ms(10);
    restore_default(SIGUSR1);
    k_timer_delete(id);
    CHECK(got_signal == SIGUSR1);
    CHECK(got_code == SI_TIMER);
    CHECK(got_value == 0x1234);
    CHECK(got_timerid == id);
    return NULL;
}

/* Expirations while the timer's signal is blocked are counted as overruns. */
static const char *case_timer_getoverrun(void) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN;
    ev.sigev_value.sival_int = 77;
    int id;
    CHECK(k_timer_create(CLOCK_MONOTONIC, &ev, &id) == 0);
    struct itimerspec per = {{0, 2 * MS}, {0, 2 * MS}};
    CHECK(k_timer_settime(id, 0, &per, NULL) == 0);
    sleep_ms(60);
    siginfo_t si;
    struct timespec wait = {2, 0};
    int sig = sigtimedwait(&set, &si, &wait);
    int e = errno;
    long overrun = syscall(SYS_timer_getoverrun, id);
    k_timer_delete(id);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (sig != SIGRTMIN)
        FAILF("sigtimedwait returned %d errno %d", sig, e);
    CHECK(si.si_code == SI_TIMER);
    CHECK(si.si_value.sival_int == 77);
    if (si.si_overrun < 10 || si.si_overrun > 40)
        FAILF("si_overrun %d after ~30 periods", si.si_overrun);
    if (overrun != si.si_overrun)
        FAILF("timer_getoverrun %ld, si_overrun %d", overrun, si.si_overrun);
    return NULL;
}

/* ITIMER_PROF fires SIGPROF after the process used that much CPU. */
static const char *case_itimer_prof_fires(void) {
    CHECK(catch_signal(SIGPROF) == 0);
    struct itimerval shot = {{0, 0}, {0, 20000}};
    CHECK(setitimer(ITIMER_PROF, &shot, NULL) == 0);
    int64_t start = now_ns(CLOCK_MONOTONIC);
    while (!got_signal && now_ns(CLOCK_MONOTONIC) - start < 3000 * MS) {
    }
    restore_default(SIGPROF);
    CHECK(got_signal == SIGPROF);
    return NULL;
}

/* ITIMER_REAL fires SIGALRM into a handler while pause() sleeps; intervals reload. */
static const char *case_itimer_real_pause(void) {
    got_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm_count;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval per = {{0, 10000}, {0, 20000}};
    CHECK(setitimer(ITIMER_REAL, &per, NULL) == 0);
    int r = pause();
    CHECK(r == -1 && errno == EINTR);
    while (got_signal < 3)
        pause();
    struct itimerval zero = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &zero, NULL) == 0);
    restore_default(SIGALRM);
    CHECK(got_signal >= 3);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(posix_ids_start_at_zero);
    RUN(posix_create_einval);
    RUN(posix_sigev_none_counts_down);
    RUN(posix_cpu_clock_timer);
    RUN(itimer_get_set);
    RUN(timerfd_counts_expirations);
    RUN(timerfd_poll_readiness);
    RUN(timerfd_blocking_read);
    RUN(nanosleep_rem_on_eintr);
    RUN(nanosleep_restarts_after_stop);
    RUN(clock_nanosleep_abstime_eintr);
    RUN(posix_signal_siginfo);
    RUN(timer_getoverrun);
    RUN(itimer_prof_fires);
    RUN(itimer_real_pause);
    return 0;
}
