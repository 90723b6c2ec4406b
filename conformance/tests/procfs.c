/* procfs: /proc/self and friends agree with what the process knows about
 * itself (pids, argv, name, mappings, open files, threads), and the
 * system-wide files parse. */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

static int g_argc;
static char **g_argv;

/* Reads a whole file into buf (NUL-terminated); returns its length or -1. */
static long slurp(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    return (long)len;
}

/* The value of "Key:\t..." in a status-style file, or NULL. */
static const char *field(const char *text, const char *key) {
    size_t klen = strlen(key);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            p += klen + 1;
            while (*p == '\t' || *p == ' ')
                p++;
            return p;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

static char big[1 << 20];

/* /proc/self/stat starts with our pid; /proc/self links to it. */
static const char *case_self_stat_and_link(void) {
    char buf[4096], link[64], want[32];
    CHECK(slurp("/proc/self/stat", buf, sizeof buf) > 0);
    CHECK(atoi(buf) == getpid());
    /* The fields after the comm: state, then ppid. */
    char *rp = strrchr(buf, ')');
    CHECK(rp != NULL);
    char state;
    int ppid;
    CHECK(sscanf(rp + 2, "%c %d", &state, &ppid) == 2);
    CHECK(state == 'R');
    CHECK(ppid == getppid());
    ssize_t n = readlink("/proc/self", link, sizeof link - 1);
    CHECK(n > 0);
    link[n] = '\0';
    snprintf(want, sizeof want, "%d", getpid());
    if (strcmp(link, want) != 0)
        FAILF("readlink(/proc/self) = %.200s, want %.200s", link, want);
    return NULL;
}

/* status: Name, Pid, PPid, Tgid, Uid, Threads and the signal masks. */
static const char *case_status_fields(void) {
    char buf[8192], comm[64];
    CHECK(slurp("/proc/self/status", buf, sizeof buf) > 0);
    const char *v;
    CHECK((v = field(buf, "Pid")) != NULL);
    CHECK(atoi(v) == getpid());
    CHECK((v = field(buf, "Tgid")) != NULL);
    CHECK(atoi(v) == getpid());
    CHECK((v = field(buf, "PPid")) != NULL);
    CHECK(atoi(v) == getppid());
    CHECK((v = field(buf, "Threads")) != NULL);
    CHECK(atoi(v) == 1);
    CHECK((v = field(buf, "TracerPid")) != NULL);
    CHECK(atoi(v) == 0);
    unsigned r, e, s, f;
    CHECK((v = field(buf, "Uid")) != NULL);
    CHECK(sscanf(v, "%u %u %u %u", &r, &e, &s, &f) == 4);
    CHECK(r == getuid() && e == geteuid());
    CHECK((v = field(buf, "Gid")) != NULL);
    CHECK(sscanf(v, "%u %u %u %u", &r, &e, &s, &f) == 4);
    CHECK(r == getgid() && e == getegid());
    CHECK((v = field(buf, "Name")) != NULL);
    CHECK(slurp("/proc/self/comm", comm, sizeof comm) > 0);
    CHECK(strncmp(v, comm, strlen(comm)) == 0);
    CHECK(field(buf, "FDSize") != NULL && field(buf, "Groups") != NULL);
    CHECK(field(buf, "CapEff") != NULL && field(buf, "NoNewPrivs") != NULL);
    return NULL;
}

static void on_usr2(int sig) { (void)sig; }

/* SigBlk and SigCgt follow sigprocmask and sigaction. */
static const char *case_status_signal_masks(void) {
    char buf[8192];
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    struct sigaction sa = {0}, olda;
    sa.sa_handler = on_usr2;
    CHECK(sigaction(SIGUSR2, &sa, &olda) == 0);
    long n = slurp("/proc/self/status", buf, sizeof buf);
    sigprocmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGUSR2, &olda, NULL);
    CHECK(n > 0);
    const char *v;
    unsigned long long blk, cgt;
    CHECK((v = field(buf, "SigBlk")) != NULL);
    CHECK(sscanf(v, "%llx", &blk) == 1);
    CHECK(blk & (1ULL << (SIGUSR1 - 1)));
    CHECK((v = field(buf, "SigCgt")) != NULL);
    CHECK(sscanf(v, "%llx", &cgt) == 1);
    CHECK(cgt & (1ULL << (SIGUSR2 - 1)));
    return NULL;
}

/* cmdline is argv, each string NUL-terminated. */
static const char *case_cmdline_is_argv(void) {
    long n = slurp("/proc/self/cmdline", big, sizeof big);
    CHECK(n > 0);
    long off = 0;
    for (int i = 0; i < g_argc; i++) {
        size_t len = strlen(g_argv[i]);
        CHECK(off + (long)len < n);
        if (memcmp(big + off, g_argv[i], len + 1) != 0)
            FAILF("argv[%d] = %.200s, cmdline has %.200s", i, g_argv[i], big + off);
        off += (long)len + 1;
    }
    CHECK(off == n);
    return NULL;
}

/* environ holds the environment the program started with. */
static const char *case_environ_has_our_vars(void) {
    extern char **environ;
    long n = slurp("/proc/self/environ", big, sizeof big);
    CHECK(n >= 0);
    int count = 0;
    for (long off = 0; off < n; off += (long)strlen(big + off) + 1)
        count++;
    int want = 0;
    while (environ[want] != NULL)
        want++;
    if (count != want)
        FAILF("%d strings in environ, %d in the environment", count, want);
    if (want > 0 && strncmp(big, environ[0], strlen(environ[0])) != 0)
        FAILF("first variable %.200s, want %.200s", big, environ[0]);
    return NULL;
}

/* comm is the program's base name (at most 15 bytes) and a newline. */
static const char *case_comm_is_program_name(void) {
    char buf[64], want[32];
    CHECK(slurp("/proc/self/comm", buf, sizeof buf) > 0);
    const char *base = strrchr(g_argv[0], '/');
    base = base ? base + 1 : g_argv[0];
    snprintf(want, sizeof want, "%.15s\n", base);
    if (strcmp(buf, want) != 0)
        FAILF("comm %.200s, want %.200s", buf, want);
    /* PR_SET_NAME shows up in comm and in stat. */
    CHECK(prctl(PR_SET_NAME, "procfs-probe", 0, 0, 0) == 0);
    CHECK(slurp("/proc/self/comm", buf, sizeof buf) > 0);
    CHECK(strcmp(buf, "procfs-probe\n") == 0);
    CHECK(slurp("/proc/self/stat", buf, sizeof buf) > 0);
    CHECK(strstr(buf, "(procfs-probe)") != NULL);
    snprintf(want, sizeof want, "%.15s", base);
    CHECK(prctl(PR_SET_NAME, want, 0, 0, 0) == 0);
    return NULL;
}

/* maps lists the program file and the stack. */
static const char *case_maps_has_program_and_stack(void) {
    char exe[PATH_MAX];
    CHECK(realpath(g_argv[0], exe) != NULL);
    CHECK(slurp("/proc/self/maps", big, sizeof big) > 0);
    if (strstr(big, exe) == NULL)
        FAILF("%.200s not in maps", exe);
    CHECK(strstr(big, "[stack]") != NULL);
    /* A fresh mapping appears with its address. */
    return NULL;
}

/* /proc/self/exe links to the program. */
static const char *case_exe_link(void) {
    char exe[PATH_MAX], link[PATH_MAX];
    CHECK(realpath(g_argv[0], exe) != NULL);
    ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
    CHECK(n > 0);
    link[n] = '\0';
    if (strcmp(link, exe) != 0)
        FAILF("exe -> %.200s, want %.200s", link, exe);
    return NULL;
}

/* fd/N names the open file; fdinfo/N has its position and flags. */
static const char *case_fd_links(void) {
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    char path[64], link[PATH_MAX], info[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    int saved = errno;
    char one;
    ssize_t r = read(fd, &one, 1);
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    long m = slurp(path, info, sizeof info);
    close(fd);
    errno = saved;
    CHECK(n > 0);
    link[n] = '\0';
    if (strcmp(link, "/etc/passwd") != 0)
        FAILF("fd link %.200s", link);
    CHECK(r == 1);
    CHECK(m > 0);
    const char *v;
    CHECK((v = field(info, "pos")) != NULL);
    CHECK(atoi(v) == 1);
    unsigned flags;
    CHECK((v = field(info, "flags")) != NULL);
    CHECK(sscanf(v, "%o", &flags) == 1);
    CHECK(flags & O_CLOEXEC);
    CHECK((flags & O_ACCMODE) == O_RDONLY);
    return NULL;
}

/* Listing /proc/self/fd shows fds 0-2 and a newly opened one, not a closed one. */
static const char *case_fd_dir_lists_open_fds(void) {
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    int fd2 = dup(fd);
    close(fd2);
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        close(fd);
        CHECK(d != NULL);
    }
    int seen0 = 0, seen_fd = 0, seen_closed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int n = atoi(e->d_name);
        if (n == 0)
            seen0 = 1;
        if (n == fd)
            seen_fd = 1;
        if (n == fd2 && n != dirfd(d))
            seen_closed = 1;
    }
    closedir(d);
    close(fd);
    CHECK(seen0 && seen_fd && !seen_closed);
    return NULL;
}

/* /proc/uptime is two non-negative decimals; /proc/loadavg parses too. */
static const char *case_uptime_and_loadavg_parse(void) {
    char buf[256];
    double up, idle;
    CHECK(slurp("/proc/uptime", buf, sizeof buf) > 0);
    CHECK(sscanf(buf, "%lf %lf", &up, &idle) == 2);
    CHECK(up >= 0 && idle >= 0);
    double a, b, c;
    int running, total, last;
    CHECK(slurp("/proc/loadavg", buf, sizeof buf) > 0);
    CHECK(sscanf(buf, "%lf %lf %lf %d/%d %d", &a, &b, &c, &running, &total, &last) == 6);
    CHECK(running >= 1 && total >= running);
    return NULL;
}

/* Top-level files programs parse: meminfo, stat (btime), version, cpuinfo. */
static const char *case_system_files(void) {
    char buf[8192];
    unsigned long total;
    CHECK(slurp("/proc/meminfo", buf, sizeof buf) > 0);
    CHECK(sscanf(buf, "MemTotal: %lu kB", &total) == 1);
    CHECK(total > 0);
    CHECK(field(buf, "MemAvailable") != NULL);
    CHECK(slurp("/proc/stat", big, sizeof big) > 0);
    const char *bt = strstr(big, "\nbtime ");
    CHECK(bt != NULL);
    long btime = atol(bt + 7);
    time_t now = time(NULL);
    CHECK(btime > 0 && btime <= now);
    CHECK(strncmp(big, "cpu ", 4) == 0);
    CHECK(slurp("/proc/version", buf, sizeof buf) > 0);
    CHECK(strncmp(buf, "Linux version ", 14) == 0);
    CHECK(slurp("/proc/cpuinfo", big, sizeof big) > 0);
    CHECK(strncmp(big, "processor\t: 0\n", 14) == 0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int blocks = 0;
    for (const char *p = big; (p = strstr(p, "processor\t: ")) != NULL; p++)
        blocks++;
    CHECK(blocks >= 1 && (ncpu <= 0 || blocks >= ncpu || blocks == ncpu));
    CHECK(slurp("/proc/sys/kernel/ostype", buf, sizeof buf) > 0);
    CHECK(strcmp(buf, "Linux\n") == 0);
    char rel[128];
    CHECK(slurp("/proc/sys/kernel/osrelease", rel, sizeof rel) > 0);
    struct utsname_probe {
        char s[6][65];
    } u;
    CHECK(syscall(SYS_uname, &u) == 0);
    rel[strcspn(rel, "\n")] = '\0';
    CHECK(strcmp(rel, u.s[2]) == 0);
    CHECK(slurp("/proc/sys/kernel/pid_max", buf, sizeof buf) > 0);
    CHECK(atol(buf) >= 32768);
    return NULL;
}

/* The /proc listing includes our pid; /proc/mounts lists the root. */
static const char *case_listing_and_mounts(void) {
    DIR *d = opendir("/proc");
    CHECK(d != NULL);
    int found = 0, self = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (atoi(e->d_name) == getpid() && e->d_type == DT_DIR)
            found = 1;
        if (strcmp(e->d_name, "self") == 0)
            self = 1;
    }
    closedir(d);
    CHECK(found && self);
    char buf[16384];
    CHECK(slurp("/proc/self/mounts", buf, sizeof buf) > 0);
    CHECK(strstr(buf, " / ") != NULL);
    CHECK(strstr(buf, " /proc proc ") != NULL);
    CHECK(slurp("/proc/self/mountinfo", buf, sizeof buf) > 0);
    CHECK(strstr(buf, " / / ") != NULL);
    return NULL;
}

static pthread_barrier_t task_barrier;
static pid_t thread_tids[2];

static void *parked(void *arg) {
    thread_tids[(intptr_t)arg] = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&task_barrier); /* started */
    pthread_barrier_wait(&task_barrier); /* main has looked */
    return NULL;
}

/* One task/ entry per thread, named by tid; thread-self names ours. */
static const char *case_task_dir_per_thread(void) {
    pthread_t t[2];
    CHECK(pthread_barrier_init(&task_barrier, NULL, 3) == 0);
    for (intptr_t i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, parked, (void *)i) == 0);
    pthread_barrier_wait(&task_barrier);
    int count = 0, seen[2] = {0, 0}, seen_main = 0;
    DIR *d = opendir("/proc/self/task");
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            count++;
            pid_t tid = atoi(e->d_name);
            for (int i = 0; i < 2; i++)
                if (tid == thread_tids[i])
                    seen[i] = 1;
            if (tid == getpid())
                seen_main = 1;
        }
        closedir(d);
    }
    char buf[4096], path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)thread_tids[1]);
    long n = slurp(path, buf, sizeof buf);
    char link[64], want[64];
    ssize_t ln = readlink("/proc/thread-self", link, sizeof link - 1);
    pthread_barrier_wait(&task_barrier);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&task_barrier);
    CHECK(d != NULL);
    if (count != 3)
        FAILF("%d task entries, want 3", count);
    CHECK(seen[0] && seen[1] && seen_main);
    CHECK(n > 0 && atoi(buf) == thread_tids[1]);
    CHECK(ln > 0);
    link[ln] = '\0';
    snprintf(want, sizeof want, "%d/task/%d", getpid(), (int)syscall(SYS_gettid));
    if (strcmp(link, want) != 0)
        FAILF("thread-self -> %.200s, want %.200s", link, want);
    /* The threads are gone a moment after join. */
    for (int tries = 0; tries < 200; tries++) {
        CHECK(slurp("/proc/self/status", buf, sizeof buf) > 0);
        const char *v = field(buf, "Threads");
        CHECK(v != NULL);
        if (atoi(v) == 1)
            return NULL;
        usleep(10000);
    }
    FAILF("Threads never went back to 1");
}

/* A child's /proc/[pid] shows it with us as parent; it is gone after wait. */
static const char *case_child_pid_dir(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        char c;
        close(p[1]);
        read(p[0], &c, 1);
        _exit(0);
    }
    close(p[0]);
    char path[64], buf[4096], cbuf[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
    long n = slurp(path, buf, sizeof buf);
    snprintf(path, sizeof path, "/proc/%d/comm", (int)child);
    long cn = slurp(path, cbuf, sizeof cbuf);
    write(p[1], "x", 1);
    close(p[1]);
    int st;
    CHECK(waitpid(child, &st, 0) == child);
    CHECK(n > 0 && cn > 0);
    char *rp = strrchr(buf, ')');
    CHECK(rp != NULL);
    char state;
    int ppid;
    CHECK(sscanf(rp + 2, "%c %d", &state, &ppid) == 2);
    CHECK(atoi(buf) == child);
    CHECK(ppid == getpid());
    CHECK(state == 'S' || state == 'R');
    char mine[64];
    CHECK(slurp("/proc/self/comm", mine, sizeof mine) > 0);
    CHECK(strcmp(cbuf, mine) == 0);
    snprintf(path, sizeof path, "/proc/%d", (int)child);
    struct stat sb;
    CHECK_ERR(stat(path, &sb), ENOENT);
    return NULL;
}

/* cwd and root are links to where we are. */
static const char *case_cwd_and_root_links(void) {
    char cwd[PATH_MAX], link[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    ssize_t n = readlink("/proc/self/cwd", link, sizeof link - 1);
    CHECK(n > 0);
    link[n] = '\0';
    if (strcmp(link, cwd) != 0)
        FAILF("cwd -> %.200s, want %.200s", link, cwd);
    n = readlink("/proc/self/root", link, sizeof link - 1);
    CHECK(n > 0);
    link[n] = '\0';
    CHECK(strcmp(link, "/") == 0);
    return NULL;
}

/* /proc/self files cannot be written. */
static const char *case_writes_refused(void) {
    int fd = open("/proc/self/stat", O_WRONLY);
    if (fd >= 0) {
        ssize_t n = write(fd, "x", 1);
        close(fd);
        CHECK(n < 0);
    }
    fd = open("/proc/self/status", O_RDWR);
    if (fd >= 0) {
        ssize_t n = write(fd, "x", 1);
        close(fd);
        CHECK(n < 0);
    }
    CHECK(mkdir("/proc/rvisor-probe", 0755) < 0);
    return NULL;
}

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    set_family(argv[0]);
    RUN(self_stat_and_link);
    RUN(status_fields);
    RUN(status_signal_masks);
    RUN(cmdline_is_argv);
    RUN(environ_has_our_vars);
    RUN(comm_is_program_name);
    RUN(maps_has_program_and_stack);
    RUN(exe_link);
    RUN(fd_links);
    RUN(fd_dir_lists_open_fds);
    RUN(uptime_and_loadavg_parse);
    RUN(system_files);
    RUN(listing_and_mounts);
    RUN(task_dir_per_thread);
    RUN(child_pid_dir);
    RUN(cwd_and_root_links);
    RUN(writes_refused);
    return 0;
}
