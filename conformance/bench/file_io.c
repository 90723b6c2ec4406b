/* Benchmark: file throughput in a writable directory (argv[3]).
 * argv[1]: "seq" writes then reads a file of argv[2] MiB sequentially in
 * 1 MiB chunks; "rand" does argv[2] x 256 random 4 KiB preads and pwrites
 * on a 64 MiB file. Prints ns per MiB (seq) or per 4 KiB operation (rand). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: file_io seq|rand N DIR\n");
        return 2;
    }
    long n = atol(argv[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/file_io.%d", argv[3], (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    unlink(path);
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    double start, ns;
    long ops;
    if (strcmp(argv[1], "seq") == 0) {
        start = now_ns();
        for (long i = 0; i < n; i++)
            if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
                perror("write");
                return 1;
            }
        lseek(fd, 0, SEEK_SET);
        for (long i = 0; i < n; i++)
            if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
                perror("read");
                return 1;
            }
        ns = now_ns() - start;
        ops = 2 * n;
    } else {
        const long file_mib = 64;
        for (long i = 0; i < file_mib; i++)
            if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
                perror("write");
                return 1;
            }
        unsigned seed = 42;
        ops = n * 256;
        start = now_ns();
        for (long i = 0; i < ops; i++) {
            off_t off = (off_t)(rand_r(&seed) % (file_mib * 256)) * 4096;
            ssize_t r = (i & 1) ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off);
            if (r != 4096) {
                perror("pread/pwrite");
                return 1;
            }
        }
        ns = now_ns() - start;
    }
    close(fd);
    printf("NS_PER_OP %.1f\n", ops > 0 ? ns / (double)ops : 0.0);
    return 0;
}
