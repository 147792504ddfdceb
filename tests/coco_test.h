/* coco_test.h - tiny test framework for cocoindex.h's own tests (C99 and C++11, no malloc).
   CHECK records a failure and goes on; REQUIRE returns from the test. RUN prints TAP lines.
   coco_test_end() prints "N passed, N failed" as the last line and returns the exit code. */
#ifndef COCO_TEST_H_INCLUDED
#define COCO_TEST_H_INCLUDED
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>

static int         coco_test__passed, coco_test__failed, coco_test__n, coco_test__cur_failed;
static const char* coco_test__filter;
static const char* coco_test__suite;

static void coco_test_begin(const char* suite, int argc, char** argv) {
    coco_test__suite = suite;
    coco_test__filter = argc > 1 ? argv[1] : NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static int coco_test_end(void) {
    printf("%d passed, %d failed\n", coco_test__passed, coco_test__failed);
    fflush(stdout);
    return coco_test__failed ? 1 : 0;
}

static void coco_test__fail(const char* file, int line, const char* expr) {
    coco_test__cur_failed = 1;
    printf("#   %s:%d: %s\n", file, line, expr);
    fflush(stdout);
}

#if defined(__GNUC__)
__attribute__((unused))
#endif
static void coco_test__hex(const char* label, const void* p, size_t n) {
    const unsigned char* b = (const unsigned char*)p;
    size_t i;
    printf("#     %s:", label);
    for (i = 0; i < n && i < 64; i++) printf("%s%02x", i % 4 ? "" : " ", b[i]);
    printf("%s\n", n > 64 ? " ..." : "");
}

#define CHECK(e) \
    do { if (!(e)) coco_test__fail(__FILE__, __LINE__, #e); } while (0)
#define REQUIRE(e) \
    do { if (!(e)) { coco_test__fail(__FILE__, __LINE__, #e); return; } } while (0)
#define CHECK_INT_EQ(a, b) \
    do { long long coco__a = (long long)(a), coco__b = (long long)(b); \
         if (coco__a != coco__b) { coco_test__fail(__FILE__, __LINE__, #a " == " #b); \
             printf("#     got %lld, want %lld\n", coco__a, coco__b); } } while (0)
#define CHECK_STR_EQ(a, b) \
    do { const char *coco__a = (a), *coco__b = (b); \
         if (!coco__a || !coco__b || strcmp(coco__a, coco__b) != 0) { \
             coco_test__fail(__FILE__, __LINE__, #a " == " #b); \
             printf("#     got \"%s\"\n#     want \"%s\"\n", coco__a ? coco__a : "(null)", \
                    coco__b ? coco__b : "(null)"); } } while (0)
#define CHECK_STR_CONTAINS(hay, needle) \
    do { const char *coco__h = (hay), *coco__n = (needle); \
         if (!coco__h || !strstr(coco__h, coco__n)) { \
             coco_test__fail(__FILE__, __LINE__, #hay " contains " #needle); \
             printf("#     got \"%s\"\n#     want it to contain \"%s\"\n", \
                    coco__h ? coco__h : "(null)", coco__n); } } while (0)
#define CHECK_MEM_EQ(a, b, n) \
    do { if (memcmp((a), (b), (n)) != 0) { coco_test__fail(__FILE__, __LINE__, #a " == " #b); \
             coco_test__hex("got ", (a), (n)); coco_test__hex("want", (b), (n)); } } while (0)

#define RUN(fn) \
    do { if (!coco_test__filter || strstr(#fn, coco_test__filter)) { \
             coco_test__cur_failed = 0; fn(); coco_test__n++; \
             if (coco_test__cur_failed) { coco_test__failed++; \
                 printf("not ok %d - %s.%s\n", coco_test__n, coco_test__suite, #fn); } \
             else { coco_test__passed++; printf("ok %d - %s.%s\n", coco_test__n, coco_test__suite, #fn); } \
         } } while (0)

#endif
