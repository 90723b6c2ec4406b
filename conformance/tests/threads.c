/* threads: pthreads on clone(CLONE_THREAD) and futexes: mutexes, condition
 * variables, barriers, cancellation, thread ids, per-thread signals, thread
 * exit, fork from a threaded process and robust mutexes. */
#include "procutil.h"

#include <pthread.h>
#include <stdint.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define NTHREADS 8
#define INCREMENTS 20000

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *increment(void *arg) {
    (void)arg;
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

/* 8 threads incrementing a mutex-protected counter lose no update. */
static const char *case_mutex_counter(void) {
    pthread_t t[NTHREADS];
    counter = 0;
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, increment, NULL) == 0);
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(counter == (long)NTHREADS * INCREMENTS);
    return NULL;
}

/* A bounded queue with two condition variables: every item produced is
 * consumed exactly once, in order. */
#define QCAP 4
#define ITEMS 2000
static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    int buf[QCAP];
    int head, len;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void *producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&q.lock);
        while (q.len == QCAP)
            pthread_cond_wait(&q.not_full, &q.lock);
        q.buf[(q.head + q.len) % QCAP] = i;
        q.len++;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.lock);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long *sum = arg;
    int expect = 1;
    for (int n = 0; n < ITEMS; n++) {
        pthread_mutex_lock(&q.lock);
        while (q.len == 0)
            pthread_cond_wait(&q.not_empty, &q.lock);
        int v = q.buf[q.head];
        q.head = (q.head + 1) % QCAP;
        q.len--;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.lock);
        if (v != expect++)
            *sum = -1000000000L;
        *sum += v;
    }
    return NULL;
}

static const char *case_condvar_producer_consumer(void) {
    pthread_t p, c;
    long sum = 0;
    CHECK(pthread_create(&c, NULL, consumer, &sum) == 0);
    CHECK(pthread_create(&p, NULL, producer, NULL) == 0);
    CHECK(pthread_join(p, NULL) == 0);
    CHECK(pthread_join(c, NULL) == 0);
    CHECK(sum == (long)ITEMS * (ITEMS + 1) / 2);
    return NULL;
}

/* pthread_cond_timedwait with nobody signalling times out (ETIMEDOUT). */
static const char *case_condvar_timedwait_timeout(void) {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    long t0 = now_ms();
    pthread_mutex_lock(&m);
    int r = pthread_cond_timedwait(&cv, &m, &ts);
    pthread_mutex_unlock(&m);
    long took = now_ms() - t0;
    CHECK(r == ETIMEDOUT);
    CHECK(took >= 40 && took < 3000);
    return NULL;
}

/* A barrier releases all 4 threads only once all have arrived, and exactly
 * one gets PTHREAD_BARRIER_SERIAL_THREAD. */
#define BARRIER_N 4
static pthread_barrier_t barrier;
static volatile int arrived;
static int seen_at_release[BARRIER_N];
static int serial_count;
static pthread_mutex_t serial_lock = PTHREAD_MUTEX_INITIALIZER;
static void *barrier_worker(void *arg) {
    int idx = (int)(intptr_t)arg;
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    int r = pthread_barrier_wait(&barrier);
    seen_at_release[idx] = __atomic_load_n(&arrived, __ATOMIC_SEQ_CST);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
        pthread_mutex_lock(&serial_lock);
        serial_count++;
        pthread_mutex_unlock(&serial_lock);
    }
    return NULL;
}
static const char *case_barrier(void) {
    CHECK(pthread_barrier_init(&barrier, NULL, BARRIER_N) == 0);
    arrived = 0;
    serial_count = 0;
    pthread_t t[BARRIER_N - 1];
    for (int i = 0; i < BARRIER_N - 1; i++)
        CHECK(pthread_create(&t[i], NULL, barrier_worker, (void *)(intptr_t)i) == 0);
    sleep_ms(30); /* the others must wait for us */
    barrier_worker((void *)(intptr_t)(BARRIER_N - 1));
    for (int i = 0; i < BARRIER_N - 1; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < BARRIER_N; i++)
        CHECK(seen_at_release[i] == BARRIER_N);
    CHECK(serial_count == 1);
    return NULL;
}

/* pthread_cancel wakes a thread blocked in read() (a cancellation point);
 * join reports PTHREAD_CANCELED and the cleanup handler ran. */
static volatile int cleanup_ran;
static void cleanup(void *arg) {
    (void)arg;
    cleanup_ran = 1;
}
static void *blocked_reader(void *arg) {
    int fd = *(int *)arg;
    char c;
    pthread_cleanup_push(cleanup, NULL);
    for (;;)
        read(fd, &c, 1);
    pthread_cleanup_pop(0);
    return NULL;
}
static const char *case_cancel_blocked_read(void) {
    int p[2];
    CHECK(pipe(p) == 0);
    cleanup_ran = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, blocked_reader, &p[0]) == 0);
    sleep_ms(50); /* let it block */
    CHECK(pthread_cancel(t) == 0);
    void *ret = NULL;
    CHECK(pthread_join(t, &ret) == 0);
    close(p[0]);
    close(p[1]);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK(cleanup_ran == 1);
    return NULL;
}

/* Every thread has its own gettid (the main thread's equals the pid), and
 * all share getpid and getppid. */
static pid_t tids[4], pids[4], ppids[4];
static void *report_ids(void *arg) {
    int i = (int)(intptr_t)arg;
    tids[i] = gettid();
    pids[i] = getpid();
    ppids[i] = getppid();
    return NULL;
}
static const char *case_gettid_getpid(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, report_ids, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(gettid() == getpid());
    for (int i = 0; i < 4; i++) {
        CHECK(pids[i] == getpid());
        CHECK(ppids[i] == getppid());
        CHECK(tids[i] > 0 && tids[i] != getpid());
        for (int j = 0; j < i; j++)
            CHECK(tids[i] != tids[j]);
    }
    return NULL;
}

/* pthread_kill (tgkill) runs the handler in the target thread, even when it
 * is blocked in a system call there; the main thread blocks the signal. */
static volatile pid_t handler_tid;
static volatile int target_ready, target_tid;
static void on_usr1(int sig) {
    (void)sig;
    handler_tid = gettid();
}
static void *signal_target(void *arg) {
    (void)arg;
    target_tid = gettid();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    __atomic_store_n(&target_ready, 1, __ATOMIC_SEQ_CST);
    long deadline = now_ms() + 5000;
    while (handler_tid == 0 && now_ms() < deadline)
        pause(); /* returns after the handler */
    return NULL;
}
static const char *case_pthread_kill_targets_thread(void) {
    handler_tid = 0;
    target_ready = 0;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    sigset_t set, oldmask;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, &oldmask) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, signal_target, NULL) == 0);
    while (!__atomic_load_n(&target_ready, __ATOMIC_SEQ_CST))
        sleep_ms(1);
    sleep_ms(20); /* let it reach pause() */
    CHECK(pthread_kill(t, SIGUSR1) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    sigaction(SIGUSR1, &old, NULL);
    CHECK(handler_tid != 0);
    CHECK(handler_tid == target_tid);
    CHECK(handler_tid != gettid());
    return NULL;
}

/* A process-directed signal goes to a thread that does not block it. */
static void *unblocked_waiter(void *arg) {
    (void)arg;
    target_tid = gettid();
    __atomic_store_n(&target_ready, 1, __ATOMIC_SEQ_CST);
    long deadline = now_ms() + 5000;
    while (handler_tid == 0 && now_ms() < deadline)
        pause();
    return NULL;
}
static const char *case_process_signal_picks_unblocked_thread(void) {
    handler_tid = 0;
    target_ready = 0;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, unblocked_waiter, NULL) == 0); /* starts unblocked */
    sigset_t set, oldmask;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &set, &oldmask) == 0);
    while (!__atomic_load_n(&target_ready, __ATOMIC_SEQ_CST))
        sleep_ms(1);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    sigaction(SIGUSR1, &old, NULL);
    CHECK(handler_tid == target_tid);
    return NULL;
}

/* pthread_exit from a nested call ends only that thread with its value; the
 * main thread keeps running. */
static void nested_exit(void) {
    pthread_exit((void *)(intptr_t)42);
}
static void *exiting_thread(void *arg) {
    (void)arg;
    nested_exit();
    return (void *)(intptr_t)1; /* not reached */
}
static const char *case_pthread_exit_value(void) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, exiting_thread, NULL) == 0);
    void *ret = NULL;
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret == (void *)(intptr_t)42);
    /* Detached threads exiting leave the process alone too. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t, &attr, exiting_thread, NULL) == 0);
    pthread_attr_destroy(&attr);
    sleep_ms(50);
    CHECK(getpid() > 0);
    return NULL;
}

/* The main thread may pthread_exit while another thread finishes the
 * process: the exit status is the other thread's exit(). */
static void *finisher(void *arg) {
    (void)arg;
    sleep_ms(50);
    exit(23);
}
static const char *case_main_thread_exits_first(void) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        pthread_t t;
        if (pthread_create(&t, NULL, finisher, NULL) != 0)
            _exit(1);
        pthread_exit(NULL);
    }
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 23);
    return NULL;
}

/* exit_group from a thread ends every thread of the process. */
static void *group_exiter(void *arg) {
    (void)arg;
    syscall(SYS_exit_group, 31);
    return NULL;
}
static const char *case_exit_group_from_thread(void) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_watchdog();
        pthread_t t;
        if (pthread_create(&t, NULL, group_exiter, NULL) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 31);
    return NULL;
}

/* fork in a threaded process copies only the calling thread: in the child the
 * other threads' work stops, yet threads and mutexes still work. */
static volatile long spin_counter;
static volatile int spin_stop;
static void *spinner(void *arg) {
    (void)arg;
    while (!spin_stop) {
        spin_counter++;
        sleep_ms(1);
    }
    return NULL;
}
static void *child_thread(void *arg) {
    return (void *)(intptr_t)(getpid() == *(pid_t *)arg ? 7 : 0);
}
static const char *case_fork_from_threaded(void) {
    spin_stop = 0;
    spin_counter = 0;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, spinner, NULL) == 0);
    sleep_ms(20);
    pthread_mutex_lock(&counter_lock);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        child_watchdog();
        /* The lock held across fork is ours in the child too. */
        pthread_mutex_unlock(&counter_lock);
        long before = spin_counter;
        sleep_ms(50);
        if (spin_counter != before)
            _exit(2); /* a spinner survived the fork */
        pid_t me = getpid();
        pthread_t ct;
        void *ret = NULL;
        if (pthread_create(&ct, NULL, child_thread, &me) != 0 || pthread_join(ct, &ret) != 0)
            _exit(3);
        if (ret != (void *)(intptr_t)7)
            _exit(4);
        if (gettid() != me)
            _exit(5);
        _exit(0);
    }
    pthread_mutex_unlock(&counter_lock);
    spin_stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK(pid > 0);
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FAILF("child status %#x (2: spinners survived, 3-4: threads broken, 5: tid)", st);
    return NULL;
}

/* A robust mutex whose owner thread dies gives EOWNERDEAD to the next
 * locker, which can make it consistent again (the kernel walks the robust
 * list at thread exit). */
static pthread_mutex_t robust;
static void *lock_and_die(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL; /* exits holding it */
}
static const char *case_robust_mutex_owner_death(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    CHECK(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0);
    CHECK(pthread_mutex_init(&robust, &a) == 0);
    pthread_mutexattr_destroy(&a);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, lock_and_die, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 3; /* a kernel that ignores the robust list must not hang us */
    int r = pthread_mutex_timedlock(&robust, &ts);
    if (r != EOWNERDEAD)
        FAILF("lock returned %d, expected EOWNERDEAD", r);
    CHECK(pthread_mutex_consistent(&robust) == 0);
    CHECK(pthread_mutex_unlock(&robust) == 0);
    CHECK(pthread_mutex_lock(&robust) == 0);
    CHECK(pthread_mutex_unlock(&robust) == 0);
    pthread_mutex_destroy(&robust);
    return NULL;
}

/* The same across processes: a process-shared robust mutex in MAP_SHARED
 * memory locked by a child that then exits. */
static const char *case_robust_mutex_process_death(void) {
    pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    CHECK(pthread_mutex_init(m, &a) == 0);
    pthread_mutexattr_destroy(&a);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        pthread_mutex_lock(m);
        _exit(0);
    }
    int st;
    CHECK(wait_for(pid, &st, 0) == pid);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 3;
    int r = pthread_mutex_timedlock(m, &ts);
    if (r == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        pthread_mutex_unlock(m);
    }
    munmap(m, sizeof *m);
    if (r != EOWNERDEAD)
        FAILF("lock returned %d, expected EOWNERDEAD", r);
    return NULL;
}

/* A raw futex: FUTEX_WAIT with a wrong value is EAGAIN, with a timeout is
 * ETIMEDOUT, and FUTEX_WAKE wakes a waiting thread. */
static uint32_t futex_word;
static void *futex_waker(void *arg) {
    (void)arg;
    sleep_ms(30);
    __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return NULL;
}
static const char *case_raw_futex(void) {
    futex_word = 0;
    CHECK_ERR(syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0), EAGAIN);
    struct timespec ts = {0, 20 * 1000000L};
    CHECK_ERR(syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), ETIMEDOUT);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, futex_waker, NULL) == 0);
    long t0 = now_ms();
    while (__atomic_load_n(&futex_word, __ATOMIC_SEQ_CST) == 0 && now_ms() - t0 < 5000) {
        struct timespec wait_ts = {5, 0};
        syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &wait_ts, NULL, 0);
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(futex_word == 1);
    CHECK(now_ms() - t0 < 4000);
    CHECK(syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    RUN(mutex_counter);
    RUN(condvar_producer_consumer);
    RUN(condvar_timedwait_timeout);
    RUN(barrier);
    RUN(cancel_blocked_read);
    RUN(gettid_getpid);
    RUN(pthread_kill_targets_thread);
    RUN(process_signal_picks_unblocked_thread);
    RUN(pthread_exit_value);
    RUN(main_thread_exits_first);
    RUN(exit_group_from_thread);
    RUN(fork_from_threaded);
    RUN(robust_mutex_owner_death);
    RUN(robust_mutex_process_death);
    RUN(raw_futex);
    return 0;
}
