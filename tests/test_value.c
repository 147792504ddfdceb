/* tests/test_value.c -- dynamic values, canonical encoding, fingerprints (FP-02, FP-03). */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "coco_test.h"
#include <math.h>

static coco_arena* A;

static coco_fp fp(coco_value v) {
    coco_fp f;
    memset(&f, 0, sizeof f);
    if (coco_value_fp(A, &v, &f) != COCO_OK) printf("# fp failed: %s\n", coco_arena_errmsg(A));
    return f;
}

static coco_bytes enc(coco_value v) {
    coco_bytes b;
    b.ptr = NULL; b.len = 0;
    if (coco_value_encode(A, &v, &b) != COCO_OK) printf("# encode failed: %s\n", coco_arena_errmsg(A));
    return b;
}

/* FP-02 */
static void value_fingerprints_of_lookalikes_differ(void) {
    coco_value ab = coco_str("ab");
    coco_value l1[1], l2[2];
    coco_map_entry m[1];
    coco_fp f[9];
    int i, j;
    l1[0] = coco_str("ab");
    l2[0] = coco_str("a"); l2[1] = coco_str("b");
    m[0].key = "a"; m[0].key_len = 1; m[0].val = coco_str("b");
    f[0] = fp(ab);
    f[1] = fp(coco_list(l1, 1));
    f[2] = fp(coco_list(l2, 2));
    f[3] = fp(coco_map(m, 1));
    f[4] = fp(coco_bytes_val("ab", 2));
    f[5] = fp(coco_symbol("ab"));
    f[6] = fp(coco_int(1));
    f[7] = fp(coco_float(1.0));
    f[8] = fp(coco_bool(1));
    for (i = 0; i < 9; i++)
        for (j = i + 1; j < 9; j++)
            if (coco_fp_eq(f[i], f[j])) { printf("# %d == %d\n", i, j); CHECK(!"fingerprints collide"); }
}

/* FP-02: maps have a defined key order, so construction order does not matter */
static void value_map_order_of_construction_does_not_matter(void) {
    coco_map_entry a[3], b[3];
    coco_bytes ea, eb;
    a[0].key = "zeta"; a[0].key_len = 4; a[0].val = coco_int(1);
    a[1].key = "alpha"; a[1].key_len = 5; a[1].val = coco_int(2);
    a[2].key = "al"; a[2].key_len = 2; a[2].val = coco_int(3);
    b[0] = a[2]; b[1] = a[0]; b[2] = a[1];
    CHECK(coco_fp_eq(fp(coco_map(a, 3)), fp(coco_map(b, 3))));
    ea = enc(coco_map(a, 3));
    eb = enc(coco_map(b, 3));
    REQUIRE(ea.len == eb.len);
    CHECK_MEM_EQ(ea.ptr, eb.ptr, ea.len);
    /* sorted by key bytes: "al" < "alpha" < "zeta" */
    CHECK_MEM_EQ((const char*)ea.ptr + 1, "\xa2" "al", 3);
}

static void value_duplicate_map_key_is_refused(void) {
    coco_map_entry a[2];
    coco_value v;
    coco_bytes out;
    a[0].key = "k"; a[0].key_len = 1; a[0].val = coco_int(1);
    a[1].key = "k"; a[1].key_len = 1; a[1].val = coco_int(2);
    v = coco_map(a, 2);
    CHECK_INT_EQ(coco_value_encode(A, &v, &out), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "duplicate key \"k\"");
}

/* the encoding is standard MessagePack where one exists */
static void value_encoding_is_messagepack(void) {
    struct { coco_value v; const char* bytes; size_t n; } cases[9];
    int i;
    cases[0].v = coco_null();        cases[0].bytes = "\xc0"; cases[0].n = 1;
    cases[1].v = coco_bool(1);       cases[1].bytes = "\xc3"; cases[1].n = 1;
    cases[2].v = coco_int(1);        cases[2].bytes = "\x01"; cases[2].n = 1;
    cases[3].v = coco_int(-1);       cases[3].bytes = "\xff"; cases[3].n = 1;
    cases[4].v = coco_int(200);      cases[4].bytes = "\xcc\xc8"; cases[4].n = 2;
    cases[5].v = coco_int(-200);     cases[5].bytes = "\xd1\xff\x38"; cases[5].n = 3;
    cases[6].v = coco_str("ab");     cases[6].bytes = "\xa2" "ab"; cases[6].n = 3;
    cases[7].v = coco_float(1.5);    cases[7].bytes = "\xcb\x3f\xf8\0\0\0\0\0\0"; cases[7].n = 9;
    cases[8].v = coco_symbol("ab");  cases[8].bytes = "\xd5\x01" "ab"; cases[8].n = 4;
    for (i = 0; i < 9; i++) {
        coco_bytes b = enc(cases[i].v);
        CHECK_INT_EQ(b.len, cases[i].n);
        if (b.len == cases[i].n) CHECK_MEM_EQ(b.ptr, cases[i].bytes, b.len);
    }
}

static coco_value roundtrip(coco_value v, int* ok) {
    coco_bytes b = enc(v), b2;
    coco_value out = coco_null();
    *ok = 0;
    if (coco_value_decode(A, b.ptr, b.len, &out) != COCO_OK) {
        printf("# decode failed: %s\n", coco_arena_errmsg(A));
        return out;
    }
    b2 = enc(out);
    *ok = b.len == b2.len && memcmp(b.ptr, b2.ptr, b.len) == 0;
    return out;
}

/* FP-03 */
static void value_every_kind_round_trips(void) {
    static const int64_t ints[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
                                    4294967296LL, INT64_MAX, -1, -32, -33, -128, -129,
                                    -32768, -32769, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN };
    size_t i;
    int ok;
    coco_value v;
    float vec[3] = { 1.0f, -0.5f, 3.25f };
    uint64_t nanbits = 0x7ff8dead0000beefull;
    double nan_payload;
    for (i = 0; i < sizeof ints / sizeof *ints; i++) {
        v = roundtrip(coco_int(ints[i]), &ok);
        CHECK(ok);
        CHECK(v.kind == COCO_INT && v.u.i == ints[i]);
    }
    v = roundtrip(coco_strn("a\0b", 3), &ok);
    CHECK(ok && v.kind == COCO_STR && v.u.s.len == 3 && memcmp(v.u.s.ptr, "a\0b", 3) == 0);
    v = roundtrip(coco_str(""), &ok);
    CHECK(ok && v.kind == COCO_STR && v.u.s.len == 0);
    v = roundtrip(coco_bytes_val("\0\1\2", 3), &ok);
    CHECK(ok && v.kind == COCO_BYTES && v.u.s.len == 3);
    v = roundtrip(coco_bytes_val("", 0), &ok);
    CHECK(ok && v.kind == COCO_BYTES && v.u.s.len == 0);
    v = roundtrip(coco_vec_f32(vec, 3), &ok);
    CHECK(ok && v.kind == COCO_VEC_F32 && v.u.vec.dim == 3 && v.u.vec.ptr[2] == 3.25f);
    memcpy(&nan_payload, &nanbits, 8);
    v = roundtrip(coco_float(nan_payload), &ok);
    CHECK(ok && v.kind == COCO_FLOAT && memcmp(&v.u.f, &nanbits, 8) == 0);
    v = roundtrip(coco_float(-0.0), &ok);
    CHECK(ok && v.kind == COCO_FLOAT && signbit(v.u.f));
    v = roundtrip(coco_bool(0), &ok);
    CHECK(ok && v.kind == COCO_BOOL && v.u.b == 0);
    v = roundtrip(coco_null(), &ok);
    CHECK(ok && v.kind == COCO_NULL);
    {
        /* strings of every length class */
        static char big[70000];
        size_t lens[] = { 31, 32, 255, 256, 65535, 65536 };
        memset(big, 'q', sizeof big);
        for (i = 0; i < sizeof lens / sizeof *lens; i++) {
            v = roundtrip(coco_strn(big, lens[i]), &ok);
            CHECK(ok && v.u.s.len == lens[i]);
            v = roundtrip(coco_bytes_val(big, lens[i]), &ok);
            CHECK(ok && v.u.s.len == lens[i]);
            v = roundtrip(coco_symbol("s"), &ok);
            CHECK(ok && v.kind == COCO_SYMBOL);
        }
    }
}

/* FP-03: lists 64 deep, maps of lists, wide lists */
static void value_nested_values_round_trip(void) {
    coco_value levels[65];
    coco_value wide[300];
    coco_map_entry me[20];
    char keys[20][8];
    int i, ok;
    coco_value v;
    levels[0] = coco_int(7);
    for (i = 1; i <= 64; i++) levels[i] = coco_list(&levels[i - 1], 1);
    v = roundtrip(levels[64], &ok);
    CHECK(ok);
    for (i = 0; i < 64 && v.kind == COCO_LIST; i++) v = v.u.list.items[0];
    CHECK(i == 64 && v.kind == COCO_INT && v.u.i == 7);
    for (i = 0; i < 300; i++) wide[i] = coco_int(i);
    v = roundtrip(coco_list(wide, 300), &ok);
    CHECK(ok && v.u.list.count == 300 && v.u.list.items[299].u.i == 299);
    for (i = 0; i < 20; i++) {
        snprintf(keys[i], sizeof keys[i], "k%02d", 19 - i);
        me[i].key = keys[i]; me[i].key_len = strlen(keys[i]);
        me[i].val = coco_list(wide, (size_t)i);
    }
    v = roundtrip(coco_map(me, 20), &ok);
    CHECK(ok && v.kind == COCO_MAP && v.u.map.count == 20);
    CHECK(v.u.map.count == 20 && strcmp(v.u.map.entries[0].key, "k00") == 0 &&
          v.u.map.entries[0].val.u.list.count == 19);
}

static void value_too_deep_is_refused(void) {
    coco_value levels[200];
    coco_bytes out;
    int i;
    levels[0] = coco_null();
    for (i = 1; i < 200; i++) levels[i] = coco_list(&levels[i - 1], 1);
    CHECK_INT_EQ(coco_value_encode(A, &levels[199], &out), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "deeper");
}

/* FP-03: every truncation of a valid encoding is an error, never an out-of-bounds read
   (each prefix is copied to an exactly-sized heap block so ASan would catch an overread) */
static void value_truncated_input_is_an_error(void) {
    coco_value items[6];
    coco_map_entry me[2];
    float vec[2] = { 1, 2 };
    coco_bytes b;
    size_t n;
    int bad = 0;
    me[0].key = "name"; me[0].key_len = 4; me[0].val = coco_str("a longer string value here!!");
    me[1].key = "vec"; me[1].key_len = 3; me[1].val = coco_vec_f32(vec, 2);
    items[0] = coco_int(-100000);
    items[1] = coco_float(2.5);
    items[2] = coco_map(me, 2);
    items[3] = coco_bytes_val("xyz", 3);
    items[4] = coco_symbol("sym");
    items[5] = coco_int(INT64_MIN);
    b = enc(coco_list(items, 6));
    REQUIRE(b.len > 0);
    for (n = 0; n < b.len; n++) {
        unsigned char* copy = (unsigned char*)malloc(n ? n : 1);
        coco_value v;
        memcpy(copy, b.ptr, n);
        if (coco_value_decode(A, copy, n, &v) != COCO_ERR_DECODE) bad++;
        free(copy);
    }
    CHECK_INT_EQ(bad, 0);
    {
        coco_value v;
        CHECK_INT_EQ(coco_value_decode(A, b.ptr, b.len - 1, &v), COCO_ERR_DECODE);
        CHECK_STR_CONTAINS(coco_arena_errmsg(A), "malformed value at byte");
    }
}

static void value_garbage_input_never_crashes(void) {
    unsigned seed = 99;
    int i, ok = 0, err = 0;
    for (i = 0; i < 20000; i++) {
        size_t n, j;
        unsigned char* buf;
        coco_value v;
        coco_result rc;
        seed = seed * 1103515245u + 12345u;
        n = (seed >> 16) % 40;
        buf = (unsigned char*)malloc(n ? n : 1);
        for (j = 0; j < n; j++) {
            seed = seed * 1103515245u + 12345u;
            buf[j] = (unsigned char)(seed >> 16);
        }
        rc = coco_value_decode(A, buf, n, &v);
        if (rc == COCO_OK) ok++;
        else if (rc == COCO_ERR_DECODE) err++;
        free(buf);
        if ((i & 1023) == 0) coco_arena_reset(A);
    }
    CHECK_INT_EQ(ok + err, 20000);
    CHECK(err > 0);
}

static void value_trailing_bytes_and_bad_tags_are_errors(void) {
    coco_value v;
    CHECK_INT_EQ(coco_value_decode(A, "\x01\x02", 2, &v), COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "trailing");
    CHECK_INT_EQ(coco_value_decode(A, "\xc1", 1, &v), COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "0xc1");
    CHECK_INT_EQ(coco_value_decode(A, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9, &v),
                 COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "exceeds int64");
    CHECK_INT_EQ(coco_value_decode(A, "\xdd\xff\xff\xff\xff", 5, &v), COCO_ERR_DECODE);
    CHECK_INT_EQ(coco_value_decode(A, "\x81\x01\x02", 3, &v), COCO_ERR_DECODE);   /* int key */
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "not a string");
    CHECK_INT_EQ(coco_value_decode(A, "\xd4\x09\x00", 3, &v), COCO_ERR_DECODE);   /* ext 9 */
    CHECK_INT_EQ(coco_value_decode(A, "\xd6\x02\0\0\x80", 5, &v), COCO_ERR_DECODE); /* short */
}

typedef struct file_obj { const char* base_key; const char* rel; } file_obj;
static coco_result file_memo_key(const void* obj, coco_arena* arena, coco_value* out) {
    const file_obj* f = (const file_obj*)obj;
    coco_value* pair = (coco_value*)coco_arena_alloc(arena, 2 * sizeof *pair);
    if (!pair) return COCO_ERR_NOMEM;
    pair[0] = coco_str(f->base_key);
    pair[1] = coco_str(f->rel);
    *out = coco_list(pair, 2);
    return COCO_OK;
}
static const coco_object_vtable file_vt = { "file", file_memo_key, NULL };

static void value_objects_fingerprint_by_memo_key(void) {
    file_obj a = { "src", "a.md" }, a2 = { "src", "a.md" }, b = { "src", "b.md" };
    coco_value v;
    int ok;
    CHECK(coco_fp_eq(fp(coco_object(&file_vt, &a)), fp(coco_object(&file_vt, &a2))));
    CHECK(!coco_fp_eq(fp(coco_object(&file_vt, &a)), fp(coco_object(&file_vt, &b))));
    v = roundtrip(coco_object(&file_vt, &a), &ok);
    CHECK(v.kind == COCO_LIST && v.u.list.count == 2);
    CHECK(v.kind == COCO_LIST && v.u.list.items[0].kind == COCO_STR &&
          memcmp(v.u.list.items[0].u.s.ptr, "file", 4) == 0);
}

static void value_fp_equals_hash_of_encoding(void) {
    coco_value items[3];
    coco_bytes b;
    coco_fp direct, viaenc;
    items[0] = coco_str("x"); items[1] = coco_int(5); items[2] = coco_null();
    b = enc(coco_list(items, 3));
    direct = fp(coco_list(items, 3));
    viaenc = coco_fp_of(b.ptr, b.len);
    CHECK(coco_fp_eq(direct, viaenc));
    CHECK(coco_value_eq(A, &items[0], &items[0]));
    CHECK(!coco_value_eq(A, &items[0], &items[1]));
}

static void value_copy_is_deep(void) {
    char buf[8] = "hello";
    coco_value items[1], v, c;
    items[0] = coco_str(buf);
    v = coco_list(items, 1);
    REQUIRE(coco_value_copy(A, &v, &c) == COCO_OK);
    buf[0] = 'J';
    items[0] = coco_int(3);
    CHECK(c.u.list.items[0].kind == COCO_STR && memcmp(c.u.list.items[0].u.s.ptr, "hello", 5) == 0);
}

static void value_arena_reset_and_large_allocations(void) {
    coco_arena* ar;
    void *p, *q;
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    p = coco_arena_alloc(ar, 10);
    q = coco_arena_alloc(ar, 5u << 20);     /* bigger than a block */
    CHECK(p && q);
    CHECK(((uintptr_t)p & 15u) == 0 && ((uintptr_t)q & 15u) == 0);
    memset(q, 1, 5u << 20);
    CHECK(coco_arena_used(ar) >= (5u << 20));
    coco_arena_reset(ar);
    CHECK_INT_EQ(coco_arena_used(ar), 0);
    CHECK(coco_arena_alloc(ar, 100) != NULL);
    coco_arena_destroy(ar);
    coco_arena_destroy(NULL);
}

#if defined(COCO__BIG_BLOCK)
/* The VmFlags line of the mapping holding `p` in /proc/self/smaps ("" when not found). */
static void vm_flags_of(const void* p, char* out, size_t cap) {
    char line[512];
    int in = 0;
    FILE* f = fopen("/proc/self/smaps", "r");
    out[0] = 0;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            size_t n = strlen(line + 8);
            if (n >= cap) n = cap - 1;
            memcpy(out, line + 8, n);
            out[n] = 0;
            break;
        }
    }
    fclose(f);
}

/* the kernel has transparent huge pages (so the advice is taken and shows in VmFlags) */
static int thp_present(void) {
    return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}
#endif

static int all_bytes_are(const unsigned char* p, size_t n, unsigned char v) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

/* Big blocks of the default allocator are mapped on 2 MiB boundaries with the huge-page advice
   (where the platform has it) and keep their bytes through every kind of realloc. */
static void value_default_allocator_big_blocks(void) {
    coco_allocator a = coco__allocator_resolve(NULL);
    const size_t MiB = (size_t)1 << 20;
    unsigned char* p = (unsigned char*)a.alloc(a.user, 3 * MiB);
    char flags[256];
#if defined(COCO__BIG_BLOCK)
    void* blocker;
#endif
    REQUIRE(p != NULL);
    memset(p, 0xA5, 3 * MiB);
#if defined(COCO__BIG_BLOCK)
    CHECK_INT_EQ((uintptr_t)p & (2 * MiB - 1), 0);
    vm_flags_of(p, flags, sizeof flags);
    if (thp_present()) {
        if (!strstr(flags, " hg")) printf("#   VmFlags: %s", flags);
        CHECK(strstr(flags, " hg") != NULL);
    }
#else
    (void)flags;
    printf("# no big-block path here (a sanitizer build, or no huge-page advice): malloc only\n");
#endif
#if defined(COCO__BIG_BLOCK)
    {   /* a page mapped just past the block: it cannot grow in place, its pages must move */
        void* want = p + 4 * MiB;
        blocker = mmap(want, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (blocker != want) {
            if (blocker != MAP_FAILED) munmap(blocker, 4096);
            blocker = NULL;
            printf("# the range past the block is taken: the move path is not forced\n");
        }
    }
#endif
    p = (unsigned char*)a.realloc(a.user, p, 3 * MiB, 9 * MiB);      /* big, grown */
    REQUIRE(p != NULL);
    CHECK(all_bytes_are(p, 3 * MiB, 0xA5));
#if defined(COCO__BIG_BLOCK)
    CHECK_INT_EQ((uintptr_t)p & (2 * MiB - 1), 0);
    if (blocker) munmap(blocker, 4096);
#endif
    memset(p + 3 * MiB, 0x5A, 6 * MiB);
    p = (unsigned char*)a.realloc(a.user, p, 9 * MiB, 4 * MiB);      /* big, shrunk */
    REQUIRE(p != NULL);
    CHECK(all_bytes_are(p, 3 * MiB, 0xA5));
    CHECK(all_bytes_are(p + 3 * MiB, MiB, 0x5A));
    p = (unsigned char*)a.realloc(a.user, p, 4 * MiB, MiB);          /* big to small */
    REQUIRE(p != NULL);
    CHECK(all_bytes_are(p, MiB, 0xA5));
    p = (unsigned char*)a.realloc(a.user, p, MiB, 4 * MiB);          /* small to big */
    REQUIRE(p != NULL);
    CHECK(all_bytes_are(p, MiB, 0xA5));
    memset(p + MiB, 0x11, 3 * MiB);
    CHECK(all_bytes_are(p + 4 * MiB - 1, 1, 0x11));
    a.free(a.user, p, 4 * MiB);
    /* exactly the threshold, and one byte under it */
    p = (unsigned char*)a.alloc(a.user, 2 * MiB);
    REQUIRE(p != NULL);
    memset(p, 1, 2 * MiB);
    a.free(a.user, p, 2 * MiB);
    p = (unsigned char*)a.alloc(a.user, 2 * MiB - 1);
    REQUIRE(p != NULL);
    memset(p, 1, 2 * MiB - 1);
    a.free(a.user, p, 2 * MiB - 1);
}

/* An arena of the default allocator filled with 24 MiB of 8 KiB values: its later blocks are
   big ones (huge-page advised), every byte stays put. */
static void value_arena_grows_into_big_blocks(void) {
    coco_arena* ar;
    unsigned char* ps[3000];
    size_t i, n = sizeof ps / sizeof ps[0], sz = 8192;
    int ok = 1;
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    for (i = 0; i < n; i++) {
        REQUIRE((ps[i] = (unsigned char*)coco_arena_alloc(ar, sz)) != NULL);
        memset(ps[i], (int)(i & 0xFF), sz);
    }
    for (i = 0; i < n; i++)
        if (!all_bytes_are(ps[i], sz, (unsigned char)(i & 0xFF))) ok = 0;
    CHECK(ok);
    CHECK(coco_arena_used(ar) >= n * sz);
#if defined(COCO__BIG_BLOCK)
    if (thp_present()) {
        /* the last allocation lies in a big block: a mapping with the huge-page advice */
        char flags[256];
        vm_flags_of(ps[n - 1], flags, sizeof flags);
        CHECK(strstr(flags, " hg") != NULL);
    }
#endif
    coco_arena_destroy(ar);
}

int main(int argc, char** argv) {
    coco_test_begin("value", argc, argv);
    if (coco_arena_create(NULL, &A) != COCO_OK) return 1;
    RUN(value_fingerprints_of_lookalikes_differ);
    RUN(value_map_order_of_construction_does_not_matter);
    RUN(value_duplicate_map_key_is_refused);
    RUN(value_encoding_is_messagepack);
    RUN(value_every_kind_round_trips);
    RUN(value_nested_values_round_trip);
    RUN(value_too_deep_is_refused);
    RUN(value_truncated_input_is_an_error);
    RUN(value_garbage_input_never_crashes);
    RUN(value_trailing_bytes_and_bad_tags_are_errors);
    RUN(value_objects_fingerprint_by_memo_key);
    RUN(value_fp_equals_hash_of_encoding);
    RUN(value_copy_is_deep);
    RUN(value_arena_reset_and_large_allocations);
    RUN(value_default_allocator_big_blocks);
    RUN(value_arena_grows_into_big_blocks);
    coco_arena_destroy(A);
    return coco_test_end();
}
