/* mm: memory management (mmap/munmap/mprotect/mremap/madvise/msync/mincore/brk). */
#include "common.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static long page;

/* Anonymous private memory starts zeroed and keeps what is written. */
static const char *case_mmap_anon_rw(void) {
    size_t len = 4 * page;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(((uintptr_t)p % page) == 0);
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            FAILF("byte %zu not zero", i);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 7);
    for (size_t i = 0; i < len; i++)
        if (p[i] != (unsigned char)(i * 7))
            FAILF("byte %zu lost", i);
    CHECK(munmap(p, len) == 0);
    return NULL;
}

/* MAP_FIXED replaces part of an existing mapping with fresh zero pages. */
static const char *case_mmap_fixed_over_mapping(void) {
    char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 'A', 3 * page);
    char *q = mmap(p + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p + page);
    CHECK(p[0] == 'A' && p[page - 1] == 'A');
    CHECK(q[0] == 0 && q[page - 1] == 0);
    CHECK(p[2 * page] == 'A');
    CHECK(munmap(p, 3 * page) == 0);
    return NULL;
}

/* MAP_FIXED_NOREPLACE on an address in use fails with EEXIST; on a free one it maps there. */
static const char *case_mmap_fixed_noreplace(void) {
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 'x';
    errno = 0;
    void *q = mmap(p, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(q == MAP_FAILED && errno == EEXIST);
    CHECK(p[0] == 'x');
    CHECK(munmap(p + page, page) == 0);
    q = mmap(p + page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(q == p + page);
    CHECK(munmap(p, 2 * page) == 0);
    return NULL;
}

/* A mapping made read-only with mprotect still reads its data; PROT_NONE->RW works. */
static const char *case_mprotect_then_read(void) {
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    strcpy(p, "rvisor");
    CHECK(mprotect(p, page, PROT_READ) == 0);
    CHECK(strcmp(p, "rvisor") == 0);
    CHECK(munmap(p, page) == 0);
    p = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mprotect(p, page, PROT_READ | PROT_WRITE) == 0);
    p[10] = 5;
    CHECK(p[10] == 5 && p[0] == 0);
    CHECK(munmap(p, page) == 0);
    return NULL;
}

/* mprotect errors: unaligned address EINVAL, unmapped range ENOMEM. */
static const char *case_mprotect_errors(void) {
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK_ERR(mprotect(p + 1, page, PROT_READ), EINVAL);
    CHECK(munmap(p + page, page) == 0);
    CHECK_ERR(mprotect(p, 2 * page, PROT_READ), ENOMEM);
    CHECK(munmap(p, page) == 0);
    return NULL;
}

/* mremap growing with MREMAP_MAYMOVE keeps the contents; the new tail is zero. */
static const char *case_mremap_grow_maymove(void) {
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    for (long i = 0; i < 2 * page; i++)
        p[i] = (char)(i % 251);
    /* Block growth in place so the kernel has to move it. */
    void *blocker = mmap(p + 2 * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char *q = mremap(p, 2 * page, 8 * page, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED);
    for (long i = 0; i < 2 * page; i++)
        if (q[i] != (char)(i % 251))
            FAILF("byte %ld lost after mremap", i);
    for (long i = 2 * page; i < 8 * page; i++)
        if (q[i] != 0)
            FAILF("new byte %ld not zero", i);
    q[8 * page - 1] = 1;
    CHECK(munmap(q, 8 * page) == 0);
    if (blocker != MAP_FAILED)
        munmap(blocker, page);
    return NULL;
}

/* mremap without MAYMOVE cannot grow into an occupied range (ENOMEM); shrinking works. */
static const char *case_mremap_nomove_and_shrink(void) {
    char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 'k';
    CHECK_ERR(mremap(p, page, 2 * page, 0), ENOMEM);
    char *q = mremap(p, 3 * page, page, 0);
    CHECK(q == p);
    CHECK(q[0] == 'k');
    unsigned char vec[2];
    CHECK_ERR(mincore(p + page, page, vec), ENOMEM);
    CHECK_ERR(mremap(p + 1, page, page, 0), EINVAL);
    CHECK(munmap(p, page) == 0);
    return NULL;
}

/* mincore reports touched pages resident; after munmap it fails with ENOMEM. */
static const char *case_munmap_then_mincore(void) {
    unsigned char vec[2] = {0, 0};
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 1;
    p[page] = 1;
    CHECK(mincore(p, 2 * page, vec) == 0);
    CHECK((vec[0] & 1) && (vec[1] & 1));
    CHECK_ERR(mincore(p + 1, page, vec), EINVAL);
    CHECK(munmap(p, 2 * page) == 0);
    CHECK_ERR(mincore(p, 2 * page, vec), ENOMEM);
    return NULL;
}

/* munmap errors: unaligned address or zero length give EINVAL; unmapping a hole is fine. */
static const char *case_munmap_errors(void) {
    char *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK_ERR(munmap(p + 1, page), EINVAL);
    CHECK_ERR(munmap(p, 0), EINVAL);
    CHECK(munmap(p, page) == 0);
    CHECK(munmap(p, page) == 0);
    return NULL;
}

static int read_file(const char *path, char *buf, size_t cap, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    *len = 0;
    ssize_t n;
    while ((n = read(fd, buf + *len, cap - *len)) > 0)
        *len += n;
    close(fd);
    return n < 0 ? -1 : 0;
}

/* A MAP_PRIVATE file mapping shows the file's bytes; bytes past EOF in the last page are zero. */
static const char *case_mmap_file_private(void) {
    static char want[1 << 16];
    size_t len;
    int fd;
    CHECK(read_file("/etc/passwd", want, sizeof want, &len) == 0);
    CHECK(len > 0 && len < sizeof want);
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    size_t maplen = (len + page - 1) / page * page;
    char *p = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(memcmp(p, want, len) == 0);
    for (size_t i = len; i < maplen; i++)
        if (p[i] != 0)
            FAILF("byte %zu past EOF is %d", i, p[i]);
    CHECK(munmap(p, maplen) == 0);
    close(fd);
    return NULL;
}

/* Writing to a MAP_PRIVATE file mapping is copy-on-write: the file is unchanged. */
static const char *case_mmap_file_private_cow(void) {
    int fd;
    char orig[8], after[8];
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK(pread(fd, orig, 8, 0) == 8);
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    memcpy(p, "XXXXXXXX", 8);
    CHECK(pread(fd, after, 8, 0) == 8);
    CHECK(memcmp(orig, after, 8) == 0);
    CHECK(memcmp(p, "XXXXXXXX", 8) == 0);
    CHECK(munmap(p, page) == 0);
    close(fd);
    return NULL;
}

/* A file mapping at a page offset shows the bytes at that offset. */
static const char *case_mmap_file_offset(void) {
    int fd;
    struct stat st;
    const char *path = "/usr/bin/env"; /* an ELF binary bigger than two pages */
    CHECK_OK(fd, open(path, O_RDONLY));
    CHECK(fstat(fd, &st) == 0);
    CHECK(st.st_size > 2 * page);
    char want[64];
    CHECK(pread(fd, want, sizeof want, page) == (ssize_t)sizeof want);
    char *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, page);
    CHECK(p != MAP_FAILED);
    CHECK(memcmp(p, want, sizeof want) == 0);
    CHECK(munmap(p, page) == 0);
    char *e = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(e != MAP_FAILED);
    CHECK(memcmp(e, "\177ELF", 4) == 0);
    CHECK(munmap(e, page) == 0);
    close(fd);
    return NULL;
}

/* MAP_SHARED read-only of an O_RDONLY file works; PROT_WRITE shared on it gives EACCES. */
static const char *case_mmap_file_shared(void) {
    int fd;
    char want[16];
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    CHECK(pread(fd, want, 16, 0) == 16);
    char *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(memcmp(p, want, 16) == 0);
    CHECK(msync(p, page, MS_SYNC) == 0);
    CHECK(munmap(p, page) == 0);
    errno = 0;
    p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p == MAP_FAILED && errno == EACCES);
    close(fd);
    return NULL;
}

/* mmap argument errors: zero length, unaligned offset, bad fd, missing type. */
static const char *case_mmap_errors(void) {
    int fd;
    CHECK_OK(fd, open("/etc/passwd", O_RDONLY));
    errno = 0;
    CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    errno = 0;
    CHECK(mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 1) == MAP_FAILED && errno == EINVAL);
    errno = 0;
    CHECK(mmap(NULL, page, PROT_READ, MAP_PRIVATE, 987, 0) == MAP_FAILED && errno == EBADF);
    errno = 0;
    CHECK(mmap(NULL, page, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
    errno = 0;
    CHECK(mmap((void *)(uintptr_t)(page + 1), page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED && errno == EINVAL);
    close(fd);
    int dfd;
    CHECK_OK(dfd, open("/usr", O_RDONLY | O_DIRECTORY));
    errno = 0;
    CHECK(mmap(NULL, page, PROT_READ, MAP_PRIVATE, dfd, 0) == MAP_FAILED && errno == ENODEV);
    close(dfd);
    return NULL;
}

/* MADV_DONTNEED on private anonymous memory drops the contents (reads zero again). */
static const char *case_madvise_dontneed(void) {
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 'z', 2 * page);
    CHECK(madvise(p, page, MADV_DONTNEED) == 0);
    CHECK(p[0] == 0 && p[page - 1] == 0);
    CHECK(p[page] == 'z');
    CHECK(madvise(p, 2 * page, MADV_WILLNEED) == 0);
    CHECK_ERR(madvise(p + 1, page, MADV_DONTNEED), EINVAL);
    CHECK(munmap(p, 2 * page) == 0);
    return NULL;
}

/* msync on an anonymous mapping succeeds; unaligned gives EINVAL; unmapped ENOMEM. */
static const char *case_msync(void) {
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(msync(p, page, MS_ASYNC) == 0);
    CHECK_ERR(msync(p + 1, page, MS_SYNC), EINVAL);
    CHECK_ERR(msync(p, page, MS_SYNC | MS_ASYNC), EINVAL);
    CHECK(munmap(p, page) == 0);
    CHECK_ERR(msync(p, page, MS_SYNC), ENOMEM);
    return NULL;
}

/* MAP_POPULATE pages are resident right away; MAP_NORESERVE gives a usable big mapping. */
static const char *case_mmap_populate_noreserve(void) {
    unsigned char vec[4];
    char *p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mincore(p, 4 * page, vec) == 0);
    CHECK((vec[0] & 1) && (vec[3] & 1));
    CHECK(munmap(p, 4 * page) == 0);
    size_t big = (size_t)1 << 30;
    char *b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(b != MAP_FAILED);
    b[0] = 1;
    b[big / 2] = 2;
    b[big - 1] = 3;
    CHECK(b[0] + b[big / 2] + b[big - 1] == 6);
    CHECK(munmap(b, big) == 0);
    return NULL;
}

/* brk(0) reports the break; growing it gives writable zeroed memory; shrinking works. */
static const char *case_brk_grows(void) {
    uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
    CHECK(cur != 0);
    uintptr_t want = cur + 16 * page;
    uintptr_t got = (uintptr_t)syscall(SYS_brk, want);
    CHECK(got == want);
    char *mem = (char *)cur;
    CHECK(mem[0] == 0 && mem[16 * page - 1] == 0);
    memset(mem, 'b', 16 * page);
    CHECK(mem[16 * page - 1] == 'b');
    CHECK((uintptr_t)syscall(SYS_brk, 0) == want);
    CHECK((uintptr_t)syscall(SYS_brk, cur) == cur);
    /* A failing brk returns the current break instead of an error. */
    CHECK((uintptr_t)syscall(SYS_brk, (uintptr_t)1 << 47) == cur);
    return NULL;
}

/* malloc of many sizes, large and small, works and keeps data (brk + mmap paths). */
static const char *case_malloc_stress(void) {
    enum { N = 200 };
    static char *ptrs[N];
    for (int i = 0; i < N; i++) {
        size_t sz = (size_t)(i % 10 == 0 ? 200000 + i : 16 + i * 37);
        ptrs[i] = malloc(sz);
        CHECK(ptrs[i] != NULL);
        memset(ptrs[i], i & 0xff, sz);
    }
    for (int i = 0; i < N; i++) {
        size_t sz = (size_t)(i % 10 == 0 ? 200000 + i : 16 + i * 37);
        if (ptrs[i][0] != (char)(i & 0xff) || ptrs[i][sz - 1] != (char)(i & 0xff))
            FAILF("block %d corrupted", i);
        free(ptrs[i]);
    }
    return NULL;
}

int main(int argc, char **argv) {
    (void)argc;
    set_family(argv[0]);
    page = sysconf(_SC_PAGESIZE);
    RUN(mmap_anon_rw);
    RUN(mmap_fixed_over_mapping);
    RUN(mmap_fixed_noreplace);
    RUN(mprotect_then_read);
    RUN(mprotect_errors);
    RUN(mremap_grow_maymove);
    RUN(mremap_nomove_and_shrink);
    RUN(munmap_then_mincore);
    RUN(munmap_errors);
    RUN(mmap_file_private);
    RUN(mmap_file_private_cow);
    RUN(mmap_file_offset);
    RUN(mmap_file_shared);
    RUN(mmap_errors);
    RUN(madvise_dontneed);
    RUN(msync);
    RUN(mmap_populate_noreserve);
    RUN(brk_grows);
    RUN(malloc_stress);
    return 0;
}
