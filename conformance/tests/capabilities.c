/* Capabilities and no_new_privs (capabilities(7), capget(2), prctl(2)):
 * capget/capset rules, the bounding and ambient sets, securebits and
 * keep-caps, how uid changes and execve move capabilities, and
 * no_new_privs. Every case runs in a forked child, so the runner's own
 * credentials never change; the program doubles as its own exec helper
 * ("--helper-caps" prints the sets it started with).
 *
 * Natively the suite runs as root, which may lack some capabilities
 * (containers drop a few): the cases compare against what the process
 * holds, never against a fixed full set. */
#include "common.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *self_path;

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
        FAILF("child failed at line %d (mod 256)", WEXITSTATUS(st));
    return NULL;
}

#define EXPECT(cond)                                    \
    do {                                                \
        if (!(cond))                                    \
            return __LINE__ % 256 ? __LINE__ % 256 : 1; \
    } while (0)

#define BIT(c) (1ull << (c))

struct caps {
    uint64_t eff, prm, inh;
};

static int get_caps(pid_t pid, struct caps *c) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, pid};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) != 0)
        return -1;
    c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
    c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    return 0;
}

static int set_caps(const struct caps *c) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh},
        {(uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32)},
    };
    return (int)syscall(SYS_capset, &h, d);
}

static uint64_t ambient_set(void) {
    uint64_t s = 0;
    for (int c = 0; c < 64; c++) {
        int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
        if (r < 0)
            break;
        if (r == 1)
            s |= BIT(c);
    }
    return s;
}

static uint64_t bounding_set(void) {
    uint64_t s = 0;
    for (int c = 0; c < 64; c++) {
        int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
        if (r < 0)
            break;
        if (r == 1)
            s |= BIT(c);
    }
    return s;
}

/* A "Cap...:" or "NoNewPrivs:" line of /proc/self/status, as a number. */
static int status_field(const char *name, uint64_t *out) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    size_t n = strlen(name);
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            *out = strtoull(line + n + 1, NULL, strcmp(name, "NoNewPrivs") == 0 ? 10 : 16);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* Helper: prints the sets this program started with. */
static int helper_caps(void) {
    struct caps c;
    if (get_caps(0, &c) != 0)
        return 3;
    printf("prm=%llx eff=%llx inh=%llx amb=%llx bnd=%llx nnp=%d euid=%d\n", (unsigned long long)c.prm,
           (unsigned long long)c.eff, (unsigned long long)c.inh, (unsigned long long)ambient_set(),
           (unsigned long long)bounding_set(), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), (int)geteuid());
    return 0;
}

/* Execs the helper at `path` and parses its line into `c`, `amb`, `bnd`,
 * `nnp` and `euid`. */
static int exec_helper_at(const char *path, struct caps *c, uint64_t *amb, uint64_t *bnd, int *nnp, int *euid);

/* Execs this program's helper mode. */
static int exec_helper(struct caps *c, uint64_t *amb, uint64_t *bnd, int *nnp) {
    int euid;
    return exec_helper_at(self_path, c, amb, bnd, nnp, &euid);
}

static int exec_helper_at(const char *path, struct caps *c, uint64_t *amb, uint64_t *bnd, int *nnp, int *euid) {
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(p[1], 1);
        char *argv[] = {(char *)path, "--helper-caps", NULL};
        char *envp[] = {NULL};
        execve(path, argv, envp);
        _exit(127);
    }
    close(p[1]);
    char buf[512] = {0};
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(p[0]);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    unsigned long long prm, eff, inh, a, b;
    if (sscanf(buf, "prm=%llx eff=%llx inh=%llx amb=%llx bnd=%llx nnp=%d euid=%d", &prm, &eff, &inh, &a, &b, nnp,
               euid) != 7)
        return -1;
    c->prm = prm, c->eff = eff, c->inh = inh;
    *amb = a, *bnd = b;
    return 0;
}

/* capget (v3, own pid or 0) agrees with /proc/self/status; the parent's
 * sets can be read too. */
static int capget_matches_status(void) {
    struct caps c, own, parent;
    EXPECT(get_caps(0, &c) == 0);
    EXPECT(get_caps(getpid(), &own) == 0);
    EXPECT(c.eff == own.eff && c.prm == own.prm && c.inh == own.inh);
    uint64_t eff, prm, inh, bnd, amb;
    EXPECT(status_field("CapEff", &eff) == 0 && eff == c.eff);
    EXPECT(status_field("CapPrm", &prm) == 0 && prm == c.prm);
    EXPECT(status_field("CapInh", &inh) == 0 && inh == c.inh);
    EXPECT(status_field("CapBnd", &bnd) == 0 && bnd == bounding_set());
    EXPECT(status_field("CapAmb", &amb) == 0 && amb == ambient_set());
    EXPECT(c.eff & BIT(CAP_CHOWN) && c.eff & BIT(CAP_SETUID) && c.eff & BIT(CAP_SETPCAP));
    EXPECT(get_caps(getppid(), &parent) == 0 && parent.prm == c.prm);
    return 0;
}

/* Version probe: NULL data answers 0 (even for an unknown version, which
 * is then written back); an unknown version with data is EINVAL, also
 * written back; v1 fills one word per set; bad pids. */
static int capget_versions(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    EXPECT(syscall(SYS_capget, &h, NULL) == 0);
    EXPECT(h.version == _LINUX_CAPABILITY_VERSION_3);
    h.version = 0x12345678;
    EXPECT(syscall(SYS_capget, &h, NULL) == 0);
    EXPECT(h.version == _LINUX_CAPABILITY_VERSION_3);
    struct __user_cap_data_struct d[2];
    memset(d, 0x5a, sizeof d);
    h.version = 0;
    EXPECT(syscall(SYS_capget, &h, d) == -1 && errno == EINVAL);
    EXPECT(h.version == _LINUX_CAPABILITY_VERSION_3);
    h.version = 0;
    EXPECT(syscall(SYS_capset, &h, d) == -1 && errno == EINVAL);
    EXPECT(h.version == _LINUX_CAPABILITY_VERSION_3);
    struct caps c;
    EXPECT(get_caps(0, &c) == 0);
    h.version = _LINUX_CAPABILITY_VERSION_1;
    memset(d, 0x5a, sizeof d);
    EXPECT(syscall(SYS_capget, &h, d) == 0);
    EXPECT(d[0].permitted == (uint32_t)c.prm && d[1].permitted == 0x5a5a5a5a);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = -1;
    EXPECT(syscall(SYS_capget, &h, d) == -1 && errno == EINVAL);
    h.pid = 0x3ffffff0;
    EXPECT(syscall(SYS_capget, &h, d) == -1 && errno == ESRCH);
    return 0;
}

/* Dropping CAP_CHOWN from the effective set makes chown to another user
 * EPERM; raising it back from the permitted set makes it work again. */
static int capset_effective(void) {
    char path[] = "/tmp/caps-chown-XXXXXX";
    int fd = mkstemp(path);
    EXPECT(fd >= 0);
    close(fd);
    struct caps c;
    EXPECT(get_caps(0, &c) == 0);
    struct caps less = c;
    less.eff &= ~BIT(CAP_CHOWN);
    int ok = set_caps(&less) == 0;
    int denied = ok && chown(path, 1000, 1000) == -1 && errno == EPERM;
    int raised = set_caps(&c) == 0;
    int works = raised && chown(path, 1000, 1000) == 0;
    unlink(path);
    EXPECT(ok && denied && raised && works);
    struct caps now;
    EXPECT(get_caps(0, &now) == 0 && now.eff == c.eff);
    return 0;
}

/* A capability dropped from the permitted set cannot come back; capset
 * rules: effective within permitted, inheritable within bounding, no
 * other pid. */
static int capset_permitted(void) {
    struct caps c;
    EXPECT(get_caps(0, &c) == 0);
    struct caps bad = c;
    bad.eff |= BIT(CAP_LAST_CAP + 0);
    bad.prm &= ~BIT(CAP_LAST_CAP + 0);
    EXPECT(set_caps(&bad) == -1 && errno == EPERM);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, getppid()};
    struct __user_cap_data_struct d[2] = {{0}};
    EXPECT(syscall(SYS_capset, &h, d) == -1 && errno == EPERM);

    struct caps less = c;
    less.eff &= ~BIT(CAP_CHOWN);
    less.prm &= ~BIT(CAP_CHOWN);
    EXPECT(set_caps(&less) == 0);
    struct caps now;
    EXPECT(get_caps(0, &now) == 0 && now.prm == less.prm && now.eff == less.eff);
    EXPECT(set_caps(&c) == -1 && errno == EPERM);
    struct caps eff_only = less;
    eff_only.eff |= BIT(CAP_CHOWN);
    EXPECT(set_caps(&eff_only) == -1 && errno == EPERM);
    /* Inheritable may not exceed the bounding set. */
    EXPECT(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0) == 0);
    struct caps inh = less;
    inh.inh = BIT(CAP_NET_RAW);
    EXPECT(set_caps(&inh) == -1 && errno == EPERM);
    /* Without CAP_SETPCAP, inheritable only from permitted. */
    struct caps nopcap = less;
    nopcap.eff &= ~BIT(CAP_SETPCAP);
    EXPECT(set_caps(&nopcap) == 0);
    nopcap.inh = BIT(CAP_CHOWN);
    EXPECT(set_caps(&nopcap) == -1 && errno == EPERM);
    nopcap.inh = BIT(CAP_KILL);
    EXPECT(set_caps(&nopcap) == 0);
    return 0;
}

/* PR_CAPBSET_DROP removes a capability from the bounding set only; after
 * execve (as root) the permitted set loses it too. */
static int bounding_drop_exec(void) {
    EXPECT(prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 1);
    EXPECT(prctl(PR_CAPBSET_READ, 64, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_CAPBSET_READ, -1, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_CAPBSET_DROP, 99, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0) == 0);
    EXPECT(prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 0);
    struct caps c;
    EXPECT(get_caps(0, &c) == 0 && (c.prm & BIT(CAP_NET_RAW)));
    struct caps after;
    uint64_t amb, bnd;
    int nnp;
    EXPECT(exec_helper(&after, &amb, &bnd, &nnp) == 0);
    EXPECT(!(after.prm & BIT(CAP_NET_RAW)) && !(after.eff & BIT(CAP_NET_RAW)));
    EXPECT(!(bnd & BIT(CAP_NET_RAW)));
    EXPECT(after.prm == (c.prm & ~BIT(CAP_NET_RAW)) && after.eff == after.prm);
    /* Without CAP_SETPCAP the bounding set cannot shrink. */
    struct caps nopcap = c;
    nopcap.eff &= ~BIT(CAP_SETPCAP);
    EXPECT(set_caps(&nopcap) == 0);
    EXPECT(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0) == -1 && errno == EPERM);
    return 0;
}

/* Root regains a permitted capability that is still in the bounding set
 * on execve, unless no_new_privs forbids gaining anything. */
static int exec_as_root(void) {
    struct caps c, less, after;
    EXPECT(get_caps(0, &c) == 0);
    less = c;
    less.prm &= ~BIT(CAP_CHOWN);
    less.eff &= ~BIT(CAP_CHOWN);
    EXPECT(set_caps(&less) == 0);
    uint64_t amb, bnd;
    int nnp;
    EXPECT(exec_helper(&after, &amb, &bnd, &nnp) == 0);
    EXPECT(after.prm & BIT(CAP_CHOWN));
    EXPECT(after.prm == (bnd | less.inh) && after.eff == after.prm && nnp == 0);
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    EXPECT(exec_helper(&after, &amb, &bnd, &nnp) == 0);
    EXPECT(!(after.prm & BIT(CAP_CHOWN)) && after.prm == less.prm && nnp == 1);
    return 0;
}

/* Ambient set: RAISE needs the capability permitted and inheritable;
 * IS_SET, LOWER, CLEAR_ALL; EINVAL for bad arguments. */
static int ambient(void) {
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0) == -1 && errno == EPERM);
    struct caps c;
    EXPECT(get_caps(0, &c) == 0);
    c.inh = BIT(CAP_CHOWN) | BIT(CAP_KILL);
    EXPECT(set_caps(&c) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) == 1);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_CHOWN, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) == 0);
    uint64_t amb;
    EXPECT(status_field("CapAmb", &amb) == 0 && amb == (BIT(CAP_CHOWN) | BIT(CAP_KILL)));
    /* Dropping from inheritable drops from ambient. */
    c.inh = BIT(CAP_KILL);
    EXPECT(set_caps(&c) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0) == 1);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 64, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 1, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_CAP_AMBIENT, 9, CAP_KILL, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0) == -1 && errno == EINVAL);
    return 0;
}

/* setuid(1000) from root clears permitted and effective. */
static int setuid_clears(void) {
    EXPECT(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0);
    EXPECT(setuid(1000) == 0);
    struct caps c;
    EXPECT(get_caps(0, &c) == 0 && c.prm == 0 && c.eff == 0);
    uint64_t prm;
    EXPECT(status_field("CapPrm", &prm) == 0 && prm == 0);
    EXPECT(setuid(0) == -1 && errno == EPERM);
    return 0;
}

/* With PR_SET_KEEPCAPS the permitted set survives leaving uid 0 (the
 * effective set does not, but can be raised again); seteuid away from 0
 * and back clears and restores the effective set. An exec as uid 1000
 * keeps only the ambient capabilities. */
static int keepcaps(void) {
    struct caps c, mid, now;
    EXPECT(get_caps(0, &c) == 0);
    EXPECT(seteuid(1000) == 0);
    EXPECT(get_caps(0, &mid) == 0 && mid.eff == 0 && mid.prm == c.prm);
    EXPECT(seteuid(0) == 0);
    EXPECT(get_caps(0, &now) == 0 && now.eff == c.prm);

    EXPECT(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
    EXPECT(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1);
    EXPECT(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) == SECBIT_KEEP_CAPS);
    c.inh = BIT(CAP_CHOWN) | BIT(CAP_KILL);
    EXPECT(set_caps(&c) == 0);
    EXPECT(setresuid(1000, 1000, 1000) == 0);
    EXPECT(get_caps(0, &now) == 0 && now.prm == c.prm && now.eff == 0);
    /* CAP_DAC_OVERRIDE lets uid 1000 reach the helper wherever it lives. */
    now.eff = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_DAC_OVERRIDE);
    EXPECT(set_caps(&now) == 0);
    EXPECT(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0) == 0);
    struct caps after;
    uint64_t amb, bnd;
    int nnp;
    EXPECT(exec_helper(&after, &amb, &bnd, &nnp) == 0);
    EXPECT(after.prm == BIT(CAP_CHOWN) && after.eff == BIT(CAP_CHOWN) && amb == BIT(CAP_CHOWN));
    EXPECT(after.inh == (BIT(CAP_CHOWN) | BIT(CAP_KILL)));
    return 0;
}

/* Securebits need CAP_SETPCAP; a locked bit cannot change. */
static int securebits(void) {
    EXPECT(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) == 0);
    EXPECT(prctl(PR_SET_SECUREBITS, 1 << 12, 0, 0, 0) == -1 && errno == EPERM);
    EXPECT(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) == 0);
    EXPECT(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1);
    EXPECT(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1 && errno == EPERM);
    EXPECT(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) == -1 && errno == EPERM);
    struct caps c;
    EXPECT(get_caps(0, &c) == 0);
    c.eff &= ~BIT(CAP_SETPCAP);
    EXPECT(set_caps(&c) == 0);
    EXPECT(prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) == -1 && errno == EPERM);
    return 0;
}

/* no_new_privs: set with exactly (1, 0, 0, 0), never unset, inherited by
 * fork and kept across execve, shown in /proc/self/status. */
static int no_new_privs(void) {
    EXPECT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
    EXPECT(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    EXPECT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == -1 && errno == EINVAL);
    EXPECT(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    uint64_t v;
    EXPECT(status_field("NoNewPrivs", &v) == 0 && v == 1);
    pid_t pid = fork();
    EXPECT(pid >= 0);
    if (pid == 0)
        _exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
    int st;
    EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct caps after;
    uint64_t amb, bnd;
    int nnp;
    EXPECT(exec_helper(&after, &amb, &bnd, &nnp) == 0 && nnp == 1);
    return 0;
}

/* Drops `cap` from the effective set. */
static int drop_eff(int cap) {
    struct caps c;
    if (get_caps(0, &c) != 0)
        return -1;
    c.eff &= ~BIT(cap);
    return set_caps(&c);
}

/* Raises `cap` in the effective set (from the permitted set). */
static int raise_eff(int cap) {
    struct caps c;
    if (get_caps(0, &c) != 0)
        return -1;
    c.eff |= BIT(cap);
    return set_caps(&c);
}

/* Root's privileged operations need the right capability, not uid 0:
 * CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH for another user's files,
 * CAP_KILL for another user's process, CAP_SYS_ADMIN for mount and
 * sethostname, CAP_SYS_RESOURCE for raising a hard limit, CAP_FOWNER for
 * chmod of another user's file. */
static int privileged_ops(void) {
    char path[] = "/tmp/caps-dac-XXXXXX";
    int fd = mkstemp(path);
    EXPECT(fd >= 0);
    close(fd);
    EXPECT(chmod(path, 0600) == 0 && chown(path, 1000, 1000) == 0);
    int r1 = drop_eff(CAP_DAC_OVERRIDE) == 0 && drop_eff(CAP_DAC_READ_SEARCH) == 0;
    errno = 0;
    int r2 = open(path, O_RDONLY) == -1 && errno == EACCES;
    int r3 = raise_eff(CAP_DAC_READ_SEARCH) == 0;
    int rfd = open(path, O_RDONLY);
    int r4 = rfd >= 0;
    errno = 0;
    int r5 = open(path, O_WRONLY) == -1 && errno == EACCES;
    int r6 = raise_eff(CAP_DAC_OVERRIDE) == 0;
    int wfd = open(path, O_WRONLY);
    int r7 = wfd >= 0;
    int r8 = drop_eff(CAP_FOWNER) == 0 && chmod(path, 0644) == -1 && errno == EPERM;
    int r9 = raise_eff(CAP_FOWNER) == 0 && chmod(path, 0644) == 0;
    if (rfd >= 0)
        close(rfd);
    if (wfd >= 0)
        close(wfd);
    unlink(path);
    EXPECT(r1 && r2 && r3 && r4 && r5 && r6 && r7 && r8 && r9);

    /* A process of another user: signals need CAP_KILL. */
    int p[2];
    EXPECT(pipe(p) == 0);
    pid_t other = fork();
    EXPECT(other >= 0);
    if (other == 0) {
        if (setresuid(2000, 2000, 2000) != 0)
            _exit(1);
        close(p[0]);
        close(p[1]); /* tells the parent the uid changed */
        pause();
        _exit(0);
    }
    close(p[1]);
    char b;
    EXPECT(read(p[0], &b, 1) == 0);
    int k1 = drop_eff(CAP_KILL) == 0;
    errno = 0;
    int k2 = kill(other, 0) == -1 && errno == EPERM;
    errno = 0;
    int k3 = kill(other, SIGTERM) == -1 && errno == EPERM;
    int k4 = raise_eff(CAP_KILL) == 0 && kill(other, SIGKILL) == 0;
    int st;
    EXPECT(waitpid(other, &st, 0) == other);
    EXPECT(k1 && k2 && k3 && k4 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    EXPECT(drop_eff(CAP_SYS_ADMIN) == 0);
    EXPECT(mount("none", "/tmp", "tmpfs", 0, NULL) == -1 && errno == EPERM);
    EXPECT(sethostname("x", 1) == -1 && errno == EPERM);
    EXPECT(drop_eff(CAP_SYS_RESOURCE) == 0);
    struct rlimit rl;
    EXPECT(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > 1);
    rl.rlim_max--;
    if (rl.rlim_cur > rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    EXPECT(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    rl.rlim_max++;
    EXPECT(setrlimit(RLIMIT_NOFILE, &rl) == -1 && errno == EPERM);
    return 0;
}

/* A set-user-ID program runs with its owner as effective (and saved) uid;
 * root running a program set-user-ID to another user loses its effective
 * set (and ambient set) but keeps a permitted one; no_new_privs ignores
 * the bit. */
static int setuid_exec(void) {
    char path[] = "/tmp/caps-suid-XXXXXX";
    int out = mkstemp(path);
    EXPECT(out >= 0);
    int in = open(self_path, O_RDONLY);
    EXPECT(in >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        EXPECT(write(out, buf, (size_t)n) == n);
    close(in);
    int ok = fchown(out, 1000, 1000) == 0 && fchmod(out, 04755) == 0;
    close(out);
    struct caps c;
    uint64_t amb, bnd;
    int nnp, euid;
    int as_root = ok && exec_helper_at(path, &c, &amb, &bnd, &nnp, &euid) == 0;
    int root_ok = as_root && euid == 1000 && c.eff == 0 && c.prm == bnd && amb == 0;
    /* As another user, in a child (root removes the file afterwards). */
    pid_t pid = fork();
    if (pid == 0) {
        if (setresuid(2000, 2000, 2000) != 0 || exec_helper_at(path, &c, &amb, &bnd, &nnp, &euid) != 0)
            _exit(1);
        if (euid != 1000 || c.eff != 0 || c.prm != 0)
            _exit(2);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || exec_helper_at(path, &c, &amb, &bnd, &nnp, &euid) != 0)
            _exit(3);
        _exit(euid == 2000 && nnp == 1 ? 0 : 4);
    }
    int st = -1;
    if (pid > 0)
        waitpid(pid, &st, 0);
    unlink(path);
    EXPECT(ok && as_root && root_ok);
    EXPECT(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}

static const char *case_capget_matches_status(void) { return in_child(capget_matches_status); }
static const char *case_capget_versions(void) { return in_child(capget_versions); }
static const char *case_capset_effective(void) { return in_child(capset_effective); }
static const char *case_capset_permitted(void) { return in_child(capset_permitted); }
static const char *case_bounding_drop_exec(void) { return in_child(bounding_drop_exec); }
static const char *case_exec_as_root(void) { return in_child(exec_as_root); }
static const char *case_ambient(void) { return in_child(ambient); }
static const char *case_setuid_clears(void) { return in_child(setuid_clears); }
static const char *case_keepcaps(void) { return in_child(keepcaps); }
static const char *case_securebits(void) { return in_child(securebits); }
static const char *case_no_new_privs(void) { return in_child(no_new_privs); }
static const char *case_privileged_ops(void) { return in_child(privileged_ops); }
static const char *case_setuid_exec(void) { return in_child(setuid_exec); }

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--helper-caps") == 0)
        return helper_caps();
    set_family(argv[0]);
    self_path = argv[0];
    if (getuid() != 0) {
        printf("CASE %s requires_root FAIL run the suite as root\n", case_family);
        return 0;
    }
    if (strchr(self_path, '/') == NULL)
        printf("# argv[0] '%s' is not a path: the exec cases will fail\n", self_path);
    RUN(capget_matches_status);
    RUN(capget_versions);
    RUN(capset_effective);
    RUN(capset_permitted);
    RUN(bounding_drop_exec);
    RUN(exec_as_root);
    RUN(ambient);
    RUN(setuid_clears);
    RUN(keepcaps);
    RUN(securebits);
    RUN(no_new_privs);
    RUN(privileged_ops);
    RUN(setuid_exec);
    return 0;
}
