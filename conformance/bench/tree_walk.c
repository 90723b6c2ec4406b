/* Benchmark: walk a directory tree (argv[2]) N times (argv[1]): readdir of
 * every directory, lstat of every entry, and open+read+close of every
 * regular file, as `find` + `cat` or a build's dependency scan do. Prints ns
 * per whole walk. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long files;

static int walk(int dirfd_parent, const char *name) {
    int fd = openat(dirfd_parent, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        perror(name);
        return -1;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        perror("fdopendir");
        return -1;
    }
    struct dirent *e;
    char buf[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            perror(e->d_name);
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            if (walk(fd, e->d_name) != 0)
                return -1;
        } else if (S_ISREG(st.st_mode)) {
            int f = openat(fd, e->d_name, O_RDONLY);
            if (f < 0) {
                perror(e->d_name);
                return -1;
            }
            while (read(f, buf, sizeof buf) > 0) {
            }
            close(f);
            files++;
        }
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 3;
    const char *path = argc > 2 ? argv[2] : ".";
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        files = 0;
        if (walk(AT_FDCWD, path) != 0)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    fprintf(stderr, "%ld files per walk\n", files);
    printf("NS_PER_OP %.1f\n", n > 0 ? ns / (double)n : 0.0);
    return 0;
}
