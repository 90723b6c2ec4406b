/* exec: execve of binaries, scripts and bad paths, what crosses an exec
 * (argv, envp, fds without close-on-exec, ignored signals, the mask, pending
 * signals) and what does not, and execve from a non-main thread.
 *
 * The program doubles as its own helper: run with a "--helper-..." first
 * argument it reports what it inherited and exits (it re-executes argv[0],
 * which the runner and `runsc do` give as an absolute path). */
#include "procutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>

extern char **environ;

static const char *self_path;

/* Helper: "--helper-fds N..." prints "N:open" or "N:closed" per fd. */
static int helper_fds(int argc, char **argv) {
    for (int i = 2; i < argc; i++) {
        int fd = atoi(argv[i]);
        struct stat st;
        printf("%d:%s ", fd, fstat(fd, &st) == 0 ? "open" : "closed");
    }
    printf("\n");
    return 0;
}

/* Helper: "--helper-sigs" prints the dispositions, mask and pending set it
 * started with. */
static int helper_sigs(void) {
    struct sigaction u1, u2, hup;
    sigaction(SIGUSR1, NULL, &u1);
    sigaction(SIGUSR2, NULL, &u2);
    sigaction(SIGHUP, NULL, &hup);
    sigset_t mask, pend;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    sigpending(&pend);
    stack_t ss;
    sigaltstack(NULL, &ss);
    printf("usr1=%s usr2=%s hup=%s term_blocked=%d winch_pending=%d altstack_disabled=%d\n",
           u1.sa_handler == SIG_DFL ? "dfl" : u1.sa_handler == SIG_IGN ? "ign" : "handler",
           u2.sa_handler == SIG_DFL ? "dfl" : u2.sa_handler == SIG_IGN ? "ign" : "handler",
           hup.sa_handler == SIG_DFL ? "dfl" : "other", sigismember(&mask, SIGTERM),
           sigismember(&pend, SIGWINCH), (ss.ss_flags & SS_DISABLE) != 0);
    return 0;
}

/* Helper: "--helper-args ..." prints argc, every argument and the whole
 * environment, each bracketed. */
static int helper_args(int argc, char **argv) {
    printf("argc=%d", argc);
    for (int i = 1; i < argc; i++)
        printf(" [%s]", argv[i]);
    printf(" env:");
    for (char **e = environ; *e; e++)
        printf(" [%s]", *e);
    printf("\n");
    return 0;
}

/* Helper: "--helper-ids PID PPID" checks it kept the pid and parent of the
 * process that called execve, and that the only thread is the leader. */
static int helper_ids(int argc, char **argv) {
    if (argc != 4)
        return 2;
    pid_t want_pid = atoi(argv[2]), want_ppid = atoi(argv[3]);
    printf("pid=%s ppid=%s tid=%s\n", getpid() == want_pid ? "same" : "changed",
           getppid() == want_ppid ? "same" : "changed", gettid() == getpid() ? "leader" : "other");
    return 0;
}

/* Forks, runs execve(PATH, ARGV, ENVP) with stdout into OUT; returns the wait
 * status (or -1). A failed execve exits 127 after printing "execve-errno N". */
static int run_capture(const char *path, char *const argv[], char *const envp[], char *out, size_t cap) {
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        child_watchdog();
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execve(path, argv, envp);
        char msg[64];
        snprintf(msg, sizeof msg, "execve-errno %d", errno);
        write_str(1, msg);
        _exit(127);
    }
    close(p[1]);
    read_all_fd(p[0], out, cap);
    close(p[0]);
    int st = 0;
    if (wait_for(pid, &st, 0) != pid)
        return -1;
    return st;
}

/* Forks a child whose execve must fail; returns its errno (or -1). */
static int exec_errno(const char *path) {
    char *argv[] = {(char *)path, NULL};
    char out[128];
    int st = run_capture(path, argv, environ, out, sizeof out);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 127)
        return -1;
    int e = -1;
    if (sscanf(out, "execve-errno %d", &e) != 1)
        return -1;
    return e;
}

/* execve of /bin/true and /bin/false: the exit status comes from the new image. */
static const char *case_exec_true_false(void) {
    char out[64];
    char *t[] = {"true", NULL};
    int st = run_capture("/bin/true", t, environ, out, sizeof out);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *f[] = {"false", NULL};
    st = run_capture("/bin/false", f, environ, out, sizeof out);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    return NULL;
}

/* A missing path is ENOENT, a file used as a directory ENOTDIR; the caller
 * keeps running. */
static const char *case_exec_missing(void) {
    int e = exec_errno("/rvisor/no/such/program");
    if (e != ENOENT)
        FAILF("missing path: errno %d, expected ENOENT", e);
    e = exec_errno("/etc/passwd/x");
    if (e != ENOTDIR)
        FAILF("file as dir: errno %d, expected ENOTDIR", e);
    e = exec_errno("");
    if (e != ENOENT)
        FAILF("empty path: errno %d, expected ENOENT", e);
    return NULL;
}

/* A file without execute bits (even for root) and a directory are EACCES. */
static const char *case_exec_not_executable(void) {
    struct stat st;
    CHECK(stat("/etc/passwd", &st) == 0);
    CHECK((st.st_mode & 0111) == 0);
    int e = exec_errno("/etc/passwd");
    if (e != EACCES)
        FAILF("/etc/passwd: errno %d, expected EACCES", e);
    e = exec_errno("/usr");
    if (e != EACCES)
        FAILF("/usr: errno %d, expected EACCES", e);
    return NULL;
}

/* A "#! /bin/sh" script (Debian's which, reached through two symlinks) runs
 * under its interpreter with its arguments. */
static const char *case_exec_shebang_script(void) {
    char out[256];
    char *argv[] = {"which", "sh", NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    int st = run_capture("/usr/bin/which", argv, envp, out, sizeof out);
    CHECK(st != -1 && WIFEXITED(st));
    if (WEXITSTATUS(st) != 0 || strcmp(out, "/usr/bin/sh\n") != 0)
        FAILF("status %d output '%s'", WEXITSTATUS(st), out);
    return NULL;
}

/* argv (including an empty argument) and envp arrive exactly as passed, both
 * for a shell and for a C program. */
static const char *case_exec_argv_envp(void) {
    char out[400];
    char *sh_argv[] = {"sh", "-c", "printf '%s|%s|%s|%s|%s\\n' \"$X\" \"$0\" \"$1\" \"$2\" \"$#\"", "name",
                       "a b", "", NULL};
    char *sh_env[] = {"X=hello world", "PATH=/usr/bin:/bin", NULL};
    int st = run_capture("/bin/sh", sh_argv, sh_env, out, sizeof out);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (strcmp(out, "hello world|name|a b||2\n") != 0)
        FAILF("sh printed '%s'", out);
    char *argv[] = {(char *)self_path, "--helper-args", "one", "", "three four", NULL};
    char *envp[] = {"A=1", "B=", "C=x=y", NULL};
    st = run_capture(self_path, argv, envp, out, sizeof out);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (strcmp(out, "argc=5 [--helper-args] [one] [] [three four] env: [A=1] [B=] [C=x=y]\n") != 0)
        FAILF("helper printed '%s'", out);
    return NULL;
}

/* Descriptors with close-on-exec (O_CLOEXEC, FD_CLOEXEC, dup3) are closed by
 * execve; the others stay open, and a shell can read an inherited pipe. */
static const char *case_exec_cloexec(void) {
    int a[2], b[2];
    CHECK(pipe2(a, O_CLOEXEC) == 0);
    CHECK(pipe(b) == 0);
    int d;
    CHECK_OK(d, dup(b[0]));
    CHECK(fcntl(d, F_SETFD, FD_CLOEXEC) == 0);
    int e;
    CHECK_OK(e, dup3(b[1], 40, O_CLOEXEC));
    int f;
    CHECK_OK(f, fcntl(b[0], F_DUPFD, 50)); /* F_DUPFD clears close-on-exec */
    char nums[6][12];
    int fds[6] = {a[0], a[1], b[0], b[1], d, e};
    (void)f;
    for (int i = 0; i < 6; i++)
        snprintf(nums[i], sizeof nums[i], "%d", fds[i]);
    char fnum[12];
    snprintf(fnum, sizeof fnum, "%d", f);
    char *argv[] = {(char *)self_path, "--helper-fds", nums[0], nums[1], nums[2], nums[3], nums[4], nums[5],
                    fnum, NULL};
    char out[200], want[200];
    int st = run_capture(self_path, argv, environ, out, sizeof out);
    snprintf(want, sizeof want, "%d:closed %d:closed %d:open %d:open %d:closed %d:closed %d:open \n", a[0], a[1],
             b[0], b[1], d, e, f);
    /* A shell reads the inherited pipe with `cat <&N`. */
    CHECK(write(b[1], "through the pipe\n", 17) == 17);
    close(b[1]);
    close(e);
    char script[64];
    snprintf(script, sizeof script, "cat <&%d", b[0]);
    char *sh_argv[] = {"sh", "-c", script, NULL};
    char out2[128];
    /* The capture pipe's write end must be the only writer: b[1] is closed. */
    int st2 = run_capture("/bin/sh", sh_argv, environ, out2, sizeof out2);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(d);
    close(f);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (strcmp(out, want) != 0)
        FAILF("helper saw '%s', expected '%s'", out, want);
    CHECK(st2 != -1 && WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
    if (strcmp(out2, "through the pipe\n") != 0)
        FAILF("cat <&%d printed '%s'", b[0], out2);
    return NULL;
}

/* execve resets handled signals to SIG_DFL but keeps SIG_IGN, the blocked
 * mask and pending signals, and drops the alternate signal stack. */
static void some_handler(int sig) {
    (void)sig;
}
static const char *case_exec_signal_state(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = some_handler;
        sa.sa_flags = SA_ONSTACK;
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGUSR2, SIG_IGN);
        static char alt[64 * 1024];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGWINCH);
        sigprocmask(SIG_BLOCK, &set, NULL);
        raise(SIGWINCH);
        alarm(0); /* the helper re-arms nothing; keep the exec clean */
        char *argv[] = {(char *)self_path, "--helper-sigs", NULL};
        execve(self_path, argv, environ);
        _exit(127);
    }
    close(p[1]);
    char out[256];
    read_all_fd(p[0], out, sizeof out);
    close(p[0]);
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const char *want = "usr1=dfl usr2=ign hup=dfl term_blocked=1 winch_pending=1 altstack_disabled=1\n";
    if (strcmp(out, want) != 0)
        FAILF("after exec: '%s' expected '%s'", out, want);
    return NULL;
}

/* execve from a thread other than the main one: the other threads are
 * killed, the process keeps its pid and parent, and the exec'ing thread takes
 * over the leader's tid. */
static char exec_pid_arg[16], exec_ppid_arg[16];
static void *exec_from_thread(void *arg) {
    (void)arg;
    char *argv[] = {(char *)self_path, "--helper-ids", exec_pid_arg, exec_ppid_arg, NULL};
    execve(self_path, argv, environ);
    _exit(126);
}
static const char *case_exec_from_thread(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        snprintf(exec_pid_arg, sizeof exec_pid_arg, "%d", (int)getpid());
        snprintf(exec_ppid_arg, sizeof exec_ppid_arg, "%d", (int)parent);
        pthread_t t;
        if (pthread_create(&t, NULL, exec_from_thread, NULL) != 0)
            _exit(125);
        for (;;)
            pause(); /* the main thread is blocked when the exec kills it */
    }
    close(p[1]);
    char out[128];
    read_all_fd(p[0], out, sizeof out);
    close(p[0]);
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAILF("status %#x output '%s'", st, out);
    if (strcmp(out, "pid=same ppid=same tid=leader\n") != 0)
        FAILF("helper printed '%s'", out);
    return NULL;
}

/* posix_spawn (clone with CLONE_VM|CLONE_VFORK in glibc) runs a program with
 * file actions applied in the child. */
static const char *case_posix_spawn(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    char *argv[] = {"echo", "spawned", NULL};
    pid_t pid = 0;
    int r = posix_spawn(&pid, "/bin/echo", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    char out[64];
    read_all_fd(p[0], out, sizeof out);
    close(p[0]);
    if (r != 0)
        FAILF("posix_spawn: %s", strerror(r));
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strcmp(out, "spawned\n") == 0);
    /* A missing program is reported by posix_spawn itself. */
    char *bad[] = {"x", NULL};
    r = posix_spawn(&pid, "/rvisor/no/such/program", NULL, NULL, bad, environ);
    CHECK(r == ENOENT);
    return NULL;
}

/* vfork + execve: the parent resumes once the child has exec'd. */
static const char *case_vfork_exec(void) {
    char *argv[] = {"sh", "-c", "exit 12", NULL};
    pid_t pid = vfork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execve("/bin/sh", argv, environ);
        _exit(127);
    }
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 12);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strncmp(argv[1], "--helper-", 9) == 0) {
        if (strcmp(argv[1], "--helper-fds") == 0)
            return helper_fds(argc, argv);
        if (strcmp(argv[1], "--helper-sigs") == 0)
            return helper_sigs();
        if (strcmp(argv[1], "--helper-args") == 0)
            return helper_args(argc, argv);
        if (strcmp(argv[1], "--helper-ids") == 0)
            return helper_ids(argc, argv);
        return 2;
    }
    set_family(argv[0]);
    self_path = argv[0];
    if (strchr(self_path, '/') == NULL)
        printf("# argv[0] '%s' is not a path: the self-exec cases will fail\n", self_path);
    RUN(exec_true_false);
    RUN(exec_missing);
    RUN(exec_not_executable);
    RUN(exec_shebang_script);
    RUN(exec_argv_envp);
    RUN(exec_cloexec);
    RUN(exec_signal_state);
    RUN(exec_from_thread);
    RUN(posix_spawn);
    RUN(vfork_exec);
    return 0;
}
