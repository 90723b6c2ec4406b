/* Benchmark: open + fstat + close of a rootfs file, N times (argv[1]); the
 * sandbox pays a gofer round trip per open. Prints ns per iteration. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    const char *path = argc > 2 ? argv[2] : "/etc/passwd";
    struct timespec a, b;
    struct stat st;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0 || fstat(fd, &st) != 0) {
            perror(path);
            return 1;
        }
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("NS_PER_OP %.1f\n", n > 0 ? ns / (double)n : 0.0);
    return 0;
}
