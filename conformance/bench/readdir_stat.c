/* Benchmark: list a large directory (argv[2], e.g. 10,000 entries) with
 * readdir and fstatat every entry, N times (argv[1]): what `ls -l` does.
 * Prints ns per whole listing. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10;
    const char *path = argc > 2 ? argv[2] : ".";
    struct timespec a, b;
    long entries = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        DIR *d = opendir(path);
        if (!d) {
            perror(path);
            return 1;
        }
        struct dirent *e;
        struct stat st;
        entries = 0;
        while ((e = readdir(d)) != NULL) {
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                perror(e->d_name);
                return 1;
            }
            entries++;
        }
        closedir(d);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    fprintf(stderr, "%ld entries per listing\n", entries);
    printf("NS_PER_OP %.1f\n", n > 0 ? ns / (double)n : 0.0);
    return 0;
}
