/*
 * Fork/wait helpers shared by the process, signals, threads and exec programs.
 *
 * Every child arms a watchdog (alarm) so that a missing wake-up in the kernel
 * under test ends the child with SIGALRM instead of hanging the suite, and
 * leaves with _exit so that no stdio buffer is flushed twice.
 */
#ifndef RVISOR_CONFORMANCE_PROCUTIL_H
#define RVISOR_CONFORMANCE_PROCUTIL_H

#include "common.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

/* Seconds a child may live before its watchdog kills it. */
#define CHILD_WATCHDOG_SECS 10

/* Milliseconds on CLOCK_MONOTONIC. */
__attribute__((unused)) static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Sleeps for MS milliseconds (restarting after signal handlers). */
__attribute__((unused)) static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Called first in every forked child: default SIGALRM, then a watchdog alarm. */
__attribute__((unused)) static void child_watchdog(void) {
    signal(SIGALRM, SIG_DFL);
    alarm(CHILD_WATCHDOG_SECS);
}

/* waitpid retrying on EINTR; returns the pid or -1. */
__attribute__((unused)) static pid_t wait_for(pid_t pid, int *status, int options) {
    pid_t r;
    do {
        r = waitpid(pid, status, options);
    } while (r == -1 && errno == EINTR);
    return r;
}

/* Reads until EOF (or the buffer is full); returns the length, NUL-terminated. */
__attribute__((unused)) static size_t read_all_fd(int fd, char *buf, size_t cap) {
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

/* Writes a whole string (best effort, async-signal-safe). */
__attribute__((unused)) static void write_str(int fd, const char *s) {
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w <= 0)
            return;
        s += w;
        len -= (size_t)w;
    }
}

/*
 * Runs FN in a forked child and returns its verdict: NULL when it returned
 * NULL, else its reason (or how the child died). Used by cases that change
 * process-wide state (session, process group, dispositions, threads).
 */
__attribute__((unused)) static const char *in_child(const char *(*fn)(void)) {
    int p[2];
    if (pipe(p) != 0)
        FAILF("pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        FAILF("fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[0]);
        child_watchdog();
        const char *r = fn();
        if (r != NULL)
            write_str(p[1], r);
        _exit(r != NULL ? 1 : 0);
    }
    close(p[1]);
    static char msg[400];
    read_all_fd(p[0], msg, sizeof msg);
    close(p[0]);
    int st = 0;
    if (wait_for(pid, &st, 0) != pid)
        FAILF("waitpid(child): %s", strerror(errno));
    if (WIFSIGNALED(st))
        FAILF("child killed by signal %d (%s)", WTERMSIG(st), msg);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAILF("in child: %s", msg[0] ? msg : "exited non-zero without a reason");
    return NULL;
}

#endif
