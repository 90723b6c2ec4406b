/* time: clocks (clock_gettime/getres, gettimeofday, time) and sleeping. */
#include "common.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

/* CLOCK_MONOTONIC never goes backwards and advances over time; tv_nsec is normalised. */
static const char *case_monotonic_increases(void) {
    struct timespec a, b;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    for (int i = 0; i < 1000; i++) {
        CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
        CHECK(b.tv_nsec >= 0 && b.tv_nsec < 1000000000L);
        CHECK(ns_of(b) >= ns_of(a));
        a = b;
    }
    struct timespec first = a;
    struct timespec d = {0, 2000000};
    CHECK(nanosleep(&d, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    CHECK(ns_of(b) > ns_of(first));
    /* The raw syscall (not the vDSO) agrees. */
    struct timespec r;
    CHECK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &r) == 0);
    CHECK(ns_of(r) >= ns_of(b));
    return NULL;
}

/* CLOCK_REALTIME, gettimeofday and time() agree to within a couple of seconds, after 2020. */
static const char *case_realtime_sources_agree(void) {
    struct timespec ts;
    struct timeval tv;
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
    CHECK(gettimeofday(&tv, NULL) == 0);
    time_t t = time(NULL);
    CHECK(ts.tv_sec > 1577836800); /* 2020-01-01 */
    CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK(llabs((long long)ts.tv_sec - (long long)tv.tv_sec) <= 2);
    CHECK(llabs((long long)ts.tv_sec - (long long)t) <= 2);
    time_t t2 = 0;
    CHECK(syscall(SYS_time, &t2) == (long)t2);
    CHECK(llabs((long long)t2 - (long long)t) <= 2);
    return NULL;
}

/* clock_getres reports a positive resolution of at most 1ms for the common clocks. */
static const char *case_clock_getres(void) {
    clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec r = {-1, -1};
        if (clock_getres(ids[i], &r) != 0)
            FAILF("clock_getres(%d) failed errno %d", ids[i], errno);
        if (r.tv_sec != 0 || r.tv_nsec <= 0 || r.tv_nsec > 1000000)
            FAILF("clock %d resolution %ld.%09ld", ids[i], (long)r.tv_sec, r.tv_nsec);
    }
    CHECK(clock_getres(CLOCK_MONOTONIC, NULL) == 0);
    return NULL;
}

/* An invalid clock id gives EINVAL for gettime, getres and nanosleep. */
static const char *case_invalid_clock(void) {
    struct timespec ts = {0, 1};
    CHECK_ERR(syscall(SYS_clock_gettime, 12345, &ts), EINVAL);
    CHECK_ERR(syscall(SYS_clock_getres, 12345, &ts), EINVAL);
    CHECK(clock_nanosleep(12345, 0, &ts, NULL) == EINVAL);
    return NULL;
}

/* CLOCK_BOOTTIME is at least CLOCK_MONOTONIC. */
static const char *case_boottime(void) {
    struct timespec m, b;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &m) == 0);
    CHECK(clock_gettime(CLOCK_BOOTTIME, &b) == 0);
    CHECK(ns_of(b) >= ns_of(m));
    return NULL;
}

/* Process CPU time advances while the process spins. */
static const char *case_process_cputime(void) {
    struct timespec a, b;
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a) == 0);
    volatile uint64_t x = 0;
    struct timespec start, now;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &start) == 0);
    do {
        for (int i = 0; i < 100000; i++)
            x += i;
        CHECK(clock_gettime(CLOCK_MONOTONIC, &now) == 0);
    } while (ns_of(now) - ns_of(start) < 30000000LL);
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b) == 0);
    CHECK(ns_of(b) > ns_of(a));
    return NULL;
}

/* nanosleep of 10ms sleeps at least 10ms (by CLOCK_MONOTONIC) and not absurdly long. */
static const char *case_nanosleep_10ms(void) {
    struct timespec a, b, d = {0, 10000000};
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    CHECK(nanosleep(&d, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    int64_t slept = ns_of(b) - ns_of(a);
    if (slept < 10000000LL || slept > 5000000000LL)
        FAILF("slept %lld ns", (long long)slept);
    return NULL;
}

/* clock_nanosleep with TIMER_ABSTIME wakes no earlier than the deadline; past deadlines return at once. */
static const char *case_clock_nanosleep_abstime(void) {
    struct timespec now, deadline, after;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &now) == 0);
    deadline = now;
    deadline.tv_nsec += 15000000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &after) == 0);
    CHECK(ns_of(after) >= ns_of(deadline));
    struct timespec past = {0, 1};
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL) == 0);
    struct timespec rel = {0, 5000000};
    CHECK(clock_nanosleep(CLOCK_REALTIME, 0, &rel, NULL) == 0);
    return NULL;
}

/* nanosleep rejects tv_nsec out of range and negative seconds with EINVAL; zero returns at once. */
static const char *case_nanosleep_invalid(void) {
    struct timespec bad = {0, 1000000000L}, neg = {-1, 0}, zero = {0, 0};
    CHECK_ERR(nanosleep(&bad, NULL), EINVAL);
    CHECK_ERR(nanosleep(&neg, NULL), EINVAL);
    CHECK(nanosleep(&zero, NULL) == 0);
    CHECK_ERR(syscall(SYS_nanosleep, (void *)8, NULL), EFAULT);
    return NULL;
}

/* getrusage works for SELF/CHILDREN/THREAD and rejects unknown targets. */
static const char *case_getrusage(void) {
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    CHECK(ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    CHECK(getrusage(RUSAGE_THREAD, &ru) == 0);
    CHECK_ERR(getrusage(42, &ru), EINVAL);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(monotonic_increases);
    RUN(realtime_sources_agree);
    RUN(clock_getres);
    RUN(invalid_clock);
    RUN(boottime);
    RUN(process_cputime);
    RUN(nanosleep_10ms);
    RUN(clock_nanosleep_abstime);
    RUN(nanosleep_invalid);
    RUN(getrusage);
    return 0;
}
