/* Benchmark: pipe throughput between two processes. The child writes N
 * 64 KiB chunks (argv[1]) into a pipe the parent drains; prints ns per
 * 64 KiB chunk. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    static char buf[65536];
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t p = fork();
    if (p < 0)
        return 1;
    if (p == 0) {
        close(fds[0]);
        memset(buf, 'x', sizeof buf);
        for (long i = 0; i < n; i++) {
            size_t off = 0;
            while (off < sizeof buf) {
                ssize_t w = write(fds[1], buf + off, sizeof buf - off);
                if (w <= 0)
                    _exit(1);
                off += (size_t)w;
            }
        }
        _exit(0);
    }
    close(fds[1]);
    long long total = 0;
    ssize_t r;
    while ((r = read(fds[0], buf, sizeof buf)) > 0)
        total += r;
    int st;
    waitpid(p, &st, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (total != (long long)n * (long long)sizeof buf)
        return 1;
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("NS_PER_OP %.1f\n", n > 0 ? ns / (double)n : 0.0);
    return 0;
}
