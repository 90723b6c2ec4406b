/* identity: process/thread ids, credentials, uname, hostname, arch_prctl and
 * the startup-time calls (set_tid_address, set_robust_list). */
#include "common.h"

#include <asm/prctl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

/* Sandbox: the program is the sandbox's init, so its pid is 1 and its parent 0. */
static const char *case_sandbox_pid_is_1(void) {
    SANDBOX_ONLY();
    CHECK(getpid() == 1);
    CHECK(syscall(SYS_getpid) == 1);
    CHECK(getppid() == 0);
    return NULL;
}

/* A single-threaded process has tid == pid; pids are positive. */
static const char *case_tid_equals_pid(void) {
    CHECK(getpid() > 0);
    CHECK(syscall(SYS_gettid) == getpid());
    CHECK(gettid() == getpid());
    CHECK(getppid() >= 0);
    return NULL;
}

/* set_tid_address returns the caller's tid. */
static const char *case_set_tid_address(void) {
    static int tid_slot;
    CHECK(syscall(SYS_set_tid_address, &tid_slot) == getpid());
    return NULL;
}

/* set_robust_list accepts the real header size and rejects others with EINVAL. */
static const char *case_set_robust_list(void) {
    static struct robust_list_head head;
    head.list.next = &head.list;
    CHECK_ERR(syscall(SYS_set_robust_list, &head, sizeof head + 1), EINVAL);
    CHECK(syscall(SYS_set_robust_list, &head, sizeof head) == 0);
    return NULL;
}

/* Without setuid, real and effective ids agree; the getters never fail. */
static const char *case_credentials(void) {
    CHECK(getuid() == geteuid());
    CHECK(getgid() == getegid());
    CHECK(syscall(SYS_getuid) == (long)getuid());
    return NULL;
}

/* getgroups(0) returns the count; a non-zero size smaller than that gives EINVAL. */
static const char *case_getgroups(void) {
    gid_t groups[256];
    int n;
    CHECK_OK(n, getgroups(0, NULL));
    CHECK(n <= 256);
    CHECK(getgroups(256, groups) == n);
    if (n > 1)
        CHECK_ERR(getgroups(1, groups), EINVAL);
    CHECK_ERR(syscall(SYS_getgroups, -1, groups), EINVAL);
    return NULL;
}

/* uname reports Linux on x86_64 with non-empty release, version and nodename. */
static const char *case_uname_fields(void) {
    struct utsname u;
    CHECK(uname(&u) == 0);
    CHECK(strcmp(u.sysname, "Linux") == 0);
    CHECK(strcmp(u.machine, "x86_64") == 0);
    CHECK(u.release[0] != 0);
    CHECK(u.version[0] != 0);
    CHECK(u.nodename[0] != 0);
    /* The release starts with a digit, as in "4.4.0" or "6.1.0". */
    CHECK(u.release[0] >= '0' && u.release[0] <= '9');
    CHECK_ERR(syscall(SYS_uname, (void *)8), EFAULT);
    return NULL;
}

/* Sandbox: sethostname changes the nodename seen by uname; too long gives EINVAL. */
static const char *case_sandbox_sethostname(void) {
    struct utsname u;
    char longname[100];
    SANDBOX_ONLY_SIDE_EFFECTS();
    CHECK(sethostname("rvisor-conf", strlen("rvisor-conf")) == 0);
    CHECK(uname(&u) == 0);
    CHECK(strcmp(u.nodename, "rvisor-conf") == 0);
    memset(longname, 'a', sizeof longname);
    CHECK_ERR(sethostname(longname, sizeof longname), EINVAL);
    return NULL;
}

/* ARCH_GET_FS returns the TLS base; glibc stores that same pointer at %fs:0. */
static const char *case_arch_prctl_get_fs(void) {
    unsigned long fs = 0, self = 0;
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0);
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
    CHECK(fs != 0);
    CHECK(fs == self);
    return NULL;
}

/* ARCH_SET_FS moves the TLS base (restored right away); an unknown code gives EINVAL. */
static const char *case_arch_prctl_set_fs(void) {
    unsigned long fs = 0, check = 0;
    static unsigned long fake_tcb[64];
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0);
    fake_tcb[0] = 0xfeedface;
    /* No libc calls between the two switches: they would use TLS. */
    long r = syscall(SYS_arch_prctl, ARCH_SET_FS, (unsigned long)fake_tcb);
    unsigned long seen;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(seen));
    long r2 = syscall(SYS_arch_prctl, ARCH_SET_FS, fs);
    CHECK(r == 0 && r2 == 0);
    CHECK(seen == 0xfeedface);
    CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &check) == 0);
    CHECK(check == fs);
    CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, 0), EINVAL);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(sandbox_pid_is_1);
    RUN(tid_equals_pid);
    RUN(set_tid_address);
    RUN(set_robust_list);
    RUN(credentials);
    RUN(getgroups);
    RUN(uname_fields);
    RUN(sandbox_sethostname);
    RUN(arch_prctl_get_fs);
    RUN(arch_prctl_set_fs);
    return 0;
}
