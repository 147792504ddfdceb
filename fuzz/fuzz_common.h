/* fuzz/fuzz_common.h -- helpers shared by the fuzz targets (C99).
   Include after cocoindex.h (the implementation).  Everything here is static and may be
   included by several targets in one translation unit (tests/test_fuzz_replay.c does). */
#ifndef FUZZ_COMMON_H_INCLUDED
#define FUZZ_COMMON_H_INCLUDED

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#  define FUZZ_UNUSED __attribute__((unused))
#else
#  define FUZZ_UNUSED
#endif

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

/* The input being run, when a replay driver knows its name (for the failure message). */
static const char* fuzz_input_name FUZZ_UNUSED;

/* An invariant failed: say which and where, then abort (libFuzzer saves the input). */
FUZZ_UNUSED static void fuzz_fail(const char* target, const char* file, int line,
                                  const char* fmt, ...) {
    va_list ap;
    fprintf(stderr, "\n%s: invariant failed at %s:%d", target, file, line);
    if (fuzz_input_name) fprintf(stderr, " (input %s)", fuzz_input_name);
    fprintf(stderr, ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    abort();
}

#define FUZZ_CHECK(target, cond)                                                     \
    do {                                                                             \
        if (!(cond)) fuzz_fail((target), __FILE__, __LINE__, "%s", #cond);           \
    } while (0)
#define FUZZ_CHECKF(target, cond, ...)                                               \
    do {                                                                             \
        if (!(cond)) fuzz_fail((target), __FILE__, __LINE__, __VA_ARGS__);           \
    } while (0)

/* ---- reading the input ------------------------------------------------------------------- */
typedef struct fuzz_in {
    const uint8_t* p;
    size_t         n;
} fuzz_in;

FUZZ_UNUSED static unsigned fuzz_u8(fuzz_in* in) {
    unsigned v;
    if (!in->n) return 0;
    v = in->p[0];
    in->p++;
    in->n--;
    return v;
}
FUZZ_UNUSED static unsigned fuzz_u16(fuzz_in* in) {
    unsigned lo = fuzz_u8(in);
    return lo | fuzz_u8(in) << 8;
}
FUZZ_UNUSED static uint32_t fuzz_u32(fuzz_in* in) {
    uint32_t lo = fuzz_u16(in);
    return lo | (uint32_t)fuzz_u16(in) << 16;
}
/* Up to `want` bytes; *got says how many there were. */
FUZZ_UNUSED static const uint8_t* fuzz_take(fuzz_in* in, size_t want, size_t* got) {
    const uint8_t* p = in->p;
    if (want > in->n) want = in->n;
    in->p += want;
    in->n -= want;
    *got = want;
    return p;
}

/* ---- a checking allocator ----------------------------------------------------------------------
   Counts live bytes, refuses to go past `cap`, can fail the k-th allocation (fault injection),
   and checks that every free and realloc is given the size the block was allocated with (the
   coco_allocator contract).  `live` must be 0 once everything is released. */
typedef struct fuzz_heap {
    size_t      live, cap;
    uint64_t    count;         /* allocations so far */
    uint64_t    fail_at;       /* fail the allocation with this number (1-based); 0 = never */
    const char* target;
} fuzz_heap;

#define FUZZ_HEAP_HDR 16u

FUZZ_UNUSED static void* fuzz_heap_alloc(void* user, size_t n) {
    fuzz_heap* h = (fuzz_heap*)user;
    unsigned char* p;
    if (n == 0) n = 1;
    h->count++;
    if (h->fail_at && h->count == h->fail_at) return NULL;
    if (n > h->cap - h->live || n > SIZE_MAX - FUZZ_HEAP_HDR) return NULL;
    if (!(p = (unsigned char*)malloc(n + FUZZ_HEAP_HDR))) return NULL;
    memcpy(p, &n, sizeof n);
    h->live += n;
    return p + FUZZ_HEAP_HDR;
}
FUZZ_UNUSED static void fuzz_heap_free(void* user, void* ptr, size_t n) {
    fuzz_heap* h = (fuzz_heap*)user;
    unsigned char* p;
    size_t had;
    if (!ptr) return;
    p = (unsigned char*)ptr - FUZZ_HEAP_HDR;
    memcpy(&had, p, sizeof had);
    if (n == 0) n = 1;
    FUZZ_CHECKF(h->target, had == n, "free of a %zu-byte block given size %zu", had, n);
    h->live -= had;
    free(p);
}
FUZZ_UNUSED static void* fuzz_heap_realloc(void* user, void* ptr, size_t old, size_t n) {
    fuzz_heap* h = (fuzz_heap*)user;
    unsigned char *p, *q;
    size_t had;
    if (!ptr) return fuzz_heap_alloc(user, n);
    p = (unsigned char*)ptr - FUZZ_HEAP_HDR;
    memcpy(&had, p, sizeof had);
    if (old == 0) old = 1;
    if (n == 0) n = 1;
    FUZZ_CHECKF(h->target, had == old, "realloc of a %zu-byte block given old size %zu", had,
                old);
    h->count++;
    if (h->fail_at && h->count == h->fail_at) return NULL;
    if (n > had && n - had > h->cap - h->live) return NULL;
    if (n > SIZE_MAX - FUZZ_HEAP_HDR) return NULL;
    if (!(q = (unsigned char*)realloc(p, n + FUZZ_HEAP_HDR))) return NULL;
    memcpy(q, &n, sizeof n);
    h->live = h->live - had + n;
    return q + FUZZ_HEAP_HDR;
}
FUZZ_UNUSED static coco_allocator fuzz_heap_allocator(fuzz_heap* h, const char* target,
                                                      size_t cap, uint64_t fail_at) {
    coco_allocator a;
    memset(h, 0, sizeof *h);
    h->cap = cap;
    h->fail_at = fail_at;
    h->target = target;
    a.alloc = fuzz_heap_alloc;
    a.realloc = fuzz_heap_realloc;
    a.free = fuzz_heap_free;
    a.user = h;
    return a;
}

/* FNV-1a of the input: picks a deterministic fault-injection point per input. */
FUZZ_UNUSED static uint64_t fuzz_hash(const uint8_t* p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

#endif
