/*
 * Shared helpers for the rvisor conformance programs.
 *
 * Every program runs its cases in order and prints one line per case:
 *   CASE <family> <case> PASS
 *   CASE <family> <case> FAIL <reason>
 * The family is the program's basename (so a static build "mm-static" reports
 * its own family). A case returns NULL on success or a reason string.
 *
 * Cases that only make sense inside the sandbox call SANDBOX_ONLY() first:
 * natively they pass trivially (the runner sets RVISOR_EXPECT_SANDBOX=1 only
 * for sandboxed runs).
 */
#ifndef RVISOR_CONFORMANCE_COMMON_H
#define RVISOR_CONFORMANCE_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char case_reason[512];
static const char *case_family = "unknown";

/* Fail the current case with a formatted reason. */
#define FAILF(...)                                                   \
    do {                                                             \
        snprintf(case_reason, sizeof case_reason, __VA_ARGS__);      \
        return case_reason;                                          \
    } while (0)

/* Fail unless COND holds; the reason names the line, the condition and errno. */
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            int saved_errno_ = errno;                                        \
            FAILF("line %d: %s (errno %d %s)", __LINE__, #cond, saved_errno_, \
                  strerrorname_np(saved_errno_) ? strerrorname_np(saved_errno_) \
                                                : "?");                      \
        }                                                                    \
    } while (0)

/* Fail unless EXPR returns -1 with errno == ERR. */
#define CHECK_ERR(expr, err)                                                   \
    do {                                                                       \
        errno = 0;                                                             \
        long r_ = (long)(expr);                                                \
        int e_ = errno;                                                        \
        if (r_ != -1 || e_ != (err))                                           \
            FAILF("line %d: %s returned %ld errno %s, expected -1 %s", __LINE__, \
                  #expr, r_, strerrorname_np(e_) ? strerrorname_np(e_) : "0",  \
                  strerrorname_np(err));                                       \
    } while (0)

/* Fail unless EXPR returns something >= 0; stores the result in VAR. */
#define CHECK_OK(var, expr)                                                    \
    do {                                                                       \
        errno = 0;                                                             \
        var = (expr);                                                          \
        if ((long)(var) < 0) {                                                 \
            int e_ = errno;                                                    \
            FAILF("line %d: %s failed: %s", __LINE__, #expr,                  \
                  strerrorname_np(e_) ? strerrorname_np(e_) : "?");            \
        }                                                                      \
    } while (0)

/* True when the runner says we run inside rvisor. */
__attribute__((unused)) static int in_sandbox(void) {
    const char *e = getenv("RVISOR_EXPECT_SANDBOX");
    return e != NULL && strcmp(e, "1") == 0;
}

/* Pass trivially outside the sandbox. */
#define SANDBOX_ONLY()         \
    do {                       \
        if (!in_sandbox())     \
            return NULL;       \
    } while (0)

/* Sandbox-only cases with side effects (writes, sethostname) must never touch
 * the host: they also insist on being pid 1, which the host program is not. */
#define SANDBOX_ONLY_SIDE_EFFECTS()                                            \
    do {                                                                       \
        SANDBOX_ONLY();                                                        \
        if (getpid() != 1)                                                     \
            FAILF("refusing to run: pid %d is not 1, this may be the host",    \
                  (int)getpid());                                              \
    } while (0)

typedef const char *(*case_fn)(void);

/* Run one case and print its CASE line (flushed, so a crash keeps earlier lines). */
static void run_case(const char *name, case_fn fn) {
    errno = 0;
    const char *reason = fn();
    if (reason == NULL)
        printf("CASE %s %s PASS\n", case_family, name);
    else
        printf("CASE %s %s FAIL %s\n", case_family, name, reason);
    fflush(stdout);
}

/* Set the family from argv[0]'s basename. */
static void set_family(const char *argv0) {
    const char *slash = strrchr(argv0, '/');
    case_family = slash ? slash + 1 : argv0;
}

#define RUN(fn) run_case(#fn, case_##fn)

#endif
