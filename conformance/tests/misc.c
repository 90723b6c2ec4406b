/* misc: getrandom, sysinfo, resource limits, umask, scheduler queries and the
 * ENOSYS answer for syscalls that do not exist. */
#include "common.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>

/* getrandom fills the whole buffer, and two draws differ. */
static const char *case_getrandom_fills(void) {
    unsigned char a[256], b[256];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK(getrandom(a, sizeof a, 0) == (ssize_t)sizeof a);
    CHECK(getrandom(b, sizeof b, GRND_NONBLOCK) == (ssize_t)sizeof b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    int zeros = 0;
    for (size_t i = 0; i < sizeof a; i++)
        zeros += a[i] == 0;
    CHECK(zeros < 32); /* expected ~1 for random bytes */
    CHECK(getrandom(a, 0, 0) == 0);
    return NULL;
}

/* getrandom rejects unknown flags with EINVAL and bad buffers with EFAULT. */
static const char *case_getrandom_errors(void) {
    unsigned char a[8];
    CHECK_ERR(syscall(SYS_getrandom, a, sizeof a, 0x1000), EINVAL);
    CHECK_ERR(syscall(SYS_getrandom, (void *)8, 16, 0), EFAULT);
    return NULL;
}

/* sysinfo reports memory and at least one process, with consistent free <= total. */
static const char *case_sysinfo(void) {
    struct sysinfo si;
    memset(&si, 0, sizeof si);
    CHECK(sysinfo(&si) == 0);
    CHECK(si.totalram > 0);
    CHECK(si.freeram <= si.totalram);
    CHECK(si.mem_unit >= 1);
    CHECK(si.procs >= 1);
    CHECK(si.uptime >= 0);
    CHECK_ERR(syscall(SYS_sysinfo, (void *)8), EFAULT);
    return NULL;
}

/* setrlimit then getrlimit round-trips; prlimit64 on pid 0 agrees. */
static const char *case_rlimit_round_trip(void) {
    struct rlimit orig, now;
    CHECK(getrlimit(RLIMIT_NOFILE, &orig) == 0);
    CHECK(orig.rlim_cur <= orig.rlim_max);
    struct rlimit want = {orig.rlim_cur > 64 ? 64 : orig.rlim_cur, orig.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &want) == 0);
    CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0);
    CHECK(now.rlim_cur == want.rlim_cur && now.rlim_max == want.rlim_max);
    struct rlimit old;
    CHECK(prlimit(0, RLIMIT_NOFILE, &orig, &old) == 0);
    CHECK(old.rlim_cur == want.rlim_cur);
    CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0);
    CHECK(now.rlim_cur == orig.rlim_cur);
    CHECK(getrlimit(RLIMIT_STACK, &now) == 0);
    CHECK(prlimit(0, RLIMIT_STACK, NULL, &old) == 0);
    CHECK(old.rlim_cur == now.rlim_cur && old.rlim_max == now.rlim_max);
    return NULL;
}

/* A soft limit above the hard limit and an unknown resource give EINVAL. */
static const char *case_rlimit_errors(void) {
    struct rlimit cur, bad;
    CHECK(getrlimit(RLIMIT_CORE, &cur) == 0);
    if (cur.rlim_max != RLIM_INFINITY) {
        bad.rlim_cur = cur.rlim_max + 1;
        bad.rlim_max = cur.rlim_max;
        CHECK_ERR(setrlimit(RLIMIT_CORE, &bad), EINVAL);
    }
    bad.rlim_cur = 10;
    bad.rlim_max = 5;
    CHECK_ERR(setrlimit(RLIMIT_CORE, &bad), EINVAL);
    CHECK_ERR(syscall(SYS_getrlimit, 999, &cur), EINVAL);
    return NULL;
}

/* The open-files limit is enforced: dup2 to an fd >= RLIMIT_NOFILE gives EBADF, F_DUPFD EINVAL. */
static const char *case_nofile_enforced(void) {
    struct rlimit orig, lim;
    CHECK(getrlimit(RLIMIT_NOFILE, &orig) == 0);
    lim.rlim_cur = 50;
    lim.rlim_max = orig.rlim_max;
    CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    errno = 0;
    int r1 = dup2(0, 60);
    int e1 = errno;
    errno = 0;
    int r2 = fcntl(0, F_DUPFD, 55);
    int e2 = errno;
    CHECK(setrlimit(RLIMIT_NOFILE, &orig) == 0);
    if (r1 >= 0)
        close(r1);
    if (r2 >= 0)
        close(r2);
    CHECK(r1 == -1 && e1 == EBADF);
    CHECK(r2 == -1 && e2 == EINVAL);
    return NULL;
}

/* umask returns the previous mask and keeps only the permission bits. */
static const char *case_umask_returns_old(void) {
    mode_t first = umask(027);
    CHECK(umask(0777 | 07000) == 027);
    CHECK(umask(first) == 0777);
    CHECK(umask(first) == first);
    return NULL;
}

/* sched_getaffinity reports at least one CPU and the byte size it wrote. */
static const char *case_sched_affinity(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    CHECK(CPU_COUNT(&set) >= 1);
    long r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
    CHECK(r > 0 && r <= (long)sizeof set && r % 8 == 0);
    CHECK_ERR(syscall(SYS_sched_getaffinity, 0, 3, &set), EINVAL);
    CHECK(sched_yield() == 0);
    return NULL;
}

/* A syscall number that does not exist gives ENOSYS. */
static const char *case_unknown_syscall_enosys(void) {
    CHECK_ERR(syscall(1000), ENOSYS);
    CHECK_ERR(syscall(-5), ENOSYS);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(getrandom_fills);
    RUN(getrandom_errors);
    RUN(sysinfo);
    RUN(rlimit_round_trip);
    RUN(rlimit_errors);
    RUN(nofile_enforced);
    RUN(umask_returns_old);
    RUN(sched_affinity);
    RUN(unknown_syscall_enosys);
    return 0;
}
