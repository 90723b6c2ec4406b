/* Credentials: the setuid family as root and after dropping privileges,
 * supplementary groups, and capget. Each case runs in a forked child so the
 * runner's own credentials never change. */
#include "common.h"
#include <grp.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* Runs `fn` in a child; the child's exit code is the failing line (0 = ok). */
static const char *in_child(int (*fn)(void)) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st))
        FAILF("child died with signal %d", WTERMSIG(st));
    if (WEXITSTATUS(st) != 0)
        FAILF("child failed at line %d", WEXITSTATUS(st) + 0);
    return NULL;
}

#define EXPECT(cond) \
    do {             \
        if (!(cond)) \
            return __LINE__ % 256 ? __LINE__ % 256 : 1; \
    } while (0)

/* Root drops to uid/gid 1000 with setresuid/setresgid and cannot get back. */
static int drop_privileges(void) {
    gid_t none[1] = {0};
    EXPECT(setgroups(0, none) == 0);
    EXPECT(setresgid(1000, 1000, 1000) == 0);
    EXPECT(setresuid(1000, 1000, 1000) == 0);
    uid_t r, e, s;
    EXPECT(getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 1000);
    gid_t gr, ge, gs;
    EXPECT(getresgid(&gr, &ge, &gs) == 0 && gr == 1000 && ge == 1000 && gs == 1000);
    EXPECT(setuid(0) == -1 && errno == EPERM);
    EXPECT(setresuid(-1, 0, -1) == -1 && errno == EPERM);
    EXPECT(setgroups(0, none) == -1 && errno == EPERM);
    EXPECT(getgroups(0, NULL) == 0);
    return 0;
}

/* A saved set-user-id lets an unprivileged process swap its effective id. */
static int saved_id_swap(void) {
    EXPECT(setresuid(1000, 2000, 0) == 0 || errno == EPERM);
    if (geteuid() != 2000)
        return 0; /* not root to begin with: nothing to check */
    EXPECT(seteuid(0) == 0);      /* 0 is the saved id */
    EXPECT(seteuid(1000) == 0);   /* the real id */
    EXPECT(setreuid(-1, 0) == 0); /* back through the saved id */
    EXPECT(setuid(1000) == 0);    /* privileged: all three become 1000 */
    uid_t r, e, s;
    EXPECT(getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 1000);
    return 0;
}

/* setgroups/getgroups round trip; getgroups with a short list is EINVAL. */
static int groups_round_trip(void) {
    gid_t set[3] = {10, 20, 30}, got[3] = {0};
    EXPECT(setgroups(3, set) == 0);
    EXPECT(getgroups(3, got) == 3 && got[0] == 10 && got[1] == 20 && got[2] == 30);
    EXPECT(getgroups(1, got) == -1 && errno == EINVAL);
    return 0;
}

/* capget: root holds CAP_SETUID and CAP_SYS_ADMIN; after dropping to
 * uid 1000 (without keeping capabilities) the effective set is empty. */
static int capabilities(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    EXPECT(syscall(SYS_capget, &h, d) == 0);
    EXPECT(d[0].effective & (1u << CAP_SETUID));
    EXPECT(d[0].effective & (1u << CAP_SYS_ADMIN));
    EXPECT(setresuid(1000, 1000, 1000) == 0);
    EXPECT(syscall(SYS_capget, &h, d) == 0);
    EXPECT(d[0].effective == 0 && d[1].effective == 0);
    struct __user_cap_header_struct bad = {0x12345678, 0};
    EXPECT(syscall(SYS_capget, &bad, d) == -1 && errno == EINVAL);
    EXPECT(bad.version == _LINUX_CAPABILITY_VERSION_3);
    return 0;
}

static const char *case_drop_privileges(void) { return in_child(drop_privileges); }
static const char *case_saved_id_swap(void) { return in_child(saved_id_swap); }
static const char *case_groups_round_trip(void) { return in_child(groups_round_trip); }
static const char *case_capabilities(void) { return in_child(capabilities); }

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    if (getuid() != 0) {
        printf("CASE creds requires_root FAIL run the suite as root\n");
        return 0;
    }
    RUN(drop_privileges);
    RUN(saved_id_swap);
    RUN(groups_round_trip);
    RUN(capabilities);
    return 0;
}
