/* fuzz/fuzz_json.c -- coco_json_parse and coco_json_write.
   Input: JSON text; or 0xff followed by a MessagePack value (coco_value_decode), to drive the
   writer with every kind of value and every double.  Invariants:
     - parse returns COCO_OK or COCO_ERR_DECODE with "line L, column C" in the message, and
       what it returns holds only null, bool, int, finite float, valid UTF-8 strings, lists
       and maps without duplicate keys;
     - t = write(v) is NUL-terminated valid UTF-8 that parses back to v2 with
       coco_value_eq(v, v2) and write(v2) == t;
     - for a decoded MessagePack value made only of the kinds above, parse(write(v)) equals v
       (the header's round-trip promise; doubles bit for bit, -0.0 included), and every double
       is written with no more digits than it needs; for other values write succeeds unless
       a float is NaN or infinite, and its text parses (unless two map keys became the same
       name: invalid UTF-8 is written as U+FFFD);
     - with one allocation failing, parse and write return COCO_ERR_NOMEM or succeed, and
       nothing leaks. */
#ifndef COCOINDEX_IMPLEMENTATION
#define COCOINDEX_IMPLEMENTATION
#endif
#include "../cocoindex.h"
#include "fuzz_common.h"

#define FJ_T "fuzz_json"

static int fj_utf8_ok(const unsigned char* p, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t k = coco__u8_valid_at(p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* 1 when v holds only what JSON text can give back; *depth gets the nesting JSON needs */
static int fj_plain(const coco_value* v, int d, int* depth) {
    size_t i, j;
    if (d > *depth) *depth = d;
    switch (v->kind) {
    case COCO_NULL: case COCO_BOOL: case COCO_INT: return 1;
    case COCO_FLOAT: return v->u.f == v->u.f && v->u.f <= DBL_MAX && v->u.f >= -DBL_MAX;
    case COCO_STR: return fj_utf8_ok((const unsigned char*)v->u.s.ptr, v->u.s.len);
    case COCO_LIST: {
        int ok = 1;
        for (i = 0; i < v->u.list.count; i++) ok &= fj_plain(&v->u.list.items[i], d + 1, depth);
        return ok;
    }
    case COCO_MAP: {
        int ok = 1;
        const coco_map_entry* e = v->u.map.entries;
        for (i = 0; i < v->u.map.count; i++) {
            ok &= fj_utf8_ok((const unsigned char*)e[i].key, e[i].key_len);
            for (j = i + 1; j < v->u.map.count; j++)
                if (e[i].key_len == e[j].key_len &&
                    (e[i].key_len == 0 || memcmp(e[i].key, e[j].key, e[i].key_len) == 0))
                    ok = 0;
            ok &= fj_plain(&e[i].val, d + 1, depth);
        }
        return ok;
    }
    case COCO_VEC_F32:
        if (d + 1 > *depth) *depth = d + 1;
        return 0;
    default: return 0;
    }
}

/* 1 when some float in v is NaN or infinite (JSON has none) */
static int fj_nonfinite(const coco_value* v) {
    size_t i;
    switch (v->kind) {
    case COCO_FLOAT: return !(v->u.f <= DBL_MAX && v->u.f >= -DBL_MAX);
    case COCO_VEC_F32:
        for (i = 0; i < v->u.vec.dim; i++)
            if (!(v->u.vec.ptr[i] <= FLT_MAX && v->u.vec.ptr[i] >= -FLT_MAX)) return 1;
        return 0;
    case COCO_LIST:
        for (i = 0; i < v->u.list.count; i++)
            if (fj_nonfinite(&v->u.list.items[i])) return 1;
        return 0;
    case COCO_MAP:
        for (i = 0; i < v->u.map.count; i++)
            if (fj_nonfinite(&v->u.map.entries[i].val)) return 1;
        return 0;
    default: return 0;
    }
}

/* The double is written with no more significant digits than it needs: one digit fewer
   (correctly rounded by printf) does not read back to it.  Powers of two are skipped (their
   rounding interval is lopsided, so the nearest shorter decimal is not the only candidate). */
static void fj_check_shortest(coco_arena* ar, double f) {
    coco_value v = coco_float(f);
    coco_bytes t;
    char buf[64];
    const char* s;
    size_t i, n, first = SIZE_MAX, last = 0, digits = 0;
    uint64_t bits;
    memcpy(&bits, &f, 8);
    if ((bits & 0xfffffffffffffull) == 0 || f != f || !(f <= DBL_MAX && f >= -DBL_MAX)) return;
    if (coco_json_write(ar, &v, &t) != COCO_OK) return;
    s = (const char*)t.ptr;
    n = t.len;
    for (i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
        if (s[i] < '0' || s[i] > '9') continue;
        if (s[i] != '0') {
            if (first == SIZE_MAX) first = digits;
            last = digits;
        }
        digits++;
    }
    if (first == SIZE_MAX) return;          /* zero */
    digits = last - first + 1;
    if (digits < 2) return;
    snprintf(buf, sizeof buf, "%.*e", (int)digits - 2, f);
    FUZZ_CHECKF(FJ_T, strtod(buf, NULL) != f,
                "%.17g is written as %s but %s (fewer digits) reads back the same", f, s, buf);
}

static void fj_floats(coco_arena* ar, const coco_value* v) {
    size_t i;
    if (v->kind == COCO_FLOAT) fj_check_shortest(ar, v->u.f);
    else if (v->kind == COCO_LIST)
        for (i = 0; i < v->u.list.count; i++) fj_floats(ar, &v->u.list.items[i]);
    else if (v->kind == COCO_MAP)
        for (i = 0; i < v->u.map.count; i++) fj_floats(ar, &v->u.map.entries[i].val);
}

/* write v, parse the text, compare; `strict`: v must come back equal */
static int fj_roundtrip(coco_arena* ar, const coco_value* v, int strict, int fault) {
    coco_bytes t, t2;
    coco_value v2;
    coco_result rc = coco_json_write(ar, v, &t);
    if (fault && rc == COCO_ERR_NOMEM) return 0;
    if (rc != COCO_OK) {
        FUZZ_CHECKF(FJ_T, rc == COCO_ERR_INVALID_ARG && fj_nonfinite(v),
                    "write failed: %d (%s)", (int)rc, coco_arena_errmsg(ar));
        return 0;
    }
    FUZZ_CHECK(FJ_T, ((const char*)t.ptr)[t.len] == 0);
    FUZZ_CHECK(FJ_T, fj_utf8_ok((const unsigned char*)t.ptr, t.len));
    rc = coco_json_parse(ar, (const char*)t.ptr, t.len, &v2);
    if (fault && rc == COCO_ERR_NOMEM) return 0;
    /* map keys that differ only in invalid UTF-8 are written alike (U+FFFD), and the strict
       parser refuses a duplicate member name */
    if (!strict && rc == COCO_ERR_DECODE && strstr(coco_arena_errmsg(ar), "appears twice"))
        return 0;
    FUZZ_CHECKF(FJ_T, rc == COCO_OK, "written text does not parse: %s\n  text: %.300s",
                coco_arena_errmsg(ar), (const char*)t.ptr);
    if (!strict) return 1;
    FUZZ_CHECKF(FJ_T, fault || coco_value_eq(ar, v, &v2), "value changed by write + parse: %.300s",
                (const char*)t.ptr);
    rc = coco_json_write(ar, &v2, &t2);
    if (fault && rc == COCO_ERR_NOMEM) return 0;
    FUZZ_CHECK(FJ_T, rc == COCO_OK);
    FUZZ_CHECKF(FJ_T, t2.len == t.len && memcmp(t2.ptr, t.ptr, t.len) == 0,
                "write is not a fixed point: %.200s / %.200s", (const char*)t.ptr,
                (const char*)t2.ptr);
    return 1;
}

static uint64_t fj_run(const uint8_t* data, size_t size, uint64_t fail_at) {
    fuzz_heap heap;
    coco_allocator a = fuzz_heap_allocator(&heap, FJ_T, (size_t)64 << 20, fail_at);
    coco_arena* ar = NULL;
    coco_value v;
    coco_result rc;
    uint64_t used;
    int depth = 0;
    if (coco_arena_create(&a, &ar) != COCO_OK) {
        FUZZ_CHECK(FJ_T, fail_at != 0 && heap.live == 0);
        return heap.count;
    }
    if (size && data[0] == 0xff) {
        /* a MessagePack value through the writer */
        rc = coco_value_decode(ar, data + 1, size - 1, &v);
        if (rc == COCO_OK) {
            int plain = fj_plain(&v, 0, &depth);
            if (plain) {
                fj_roundtrip(ar, &v, 1, fail_at != 0);
                if (!fail_at) fj_floats(ar, &v);
            } else if (depth <= 128) {
                fj_roundtrip(ar, &v, 0, fail_at != 0);
            }
        }
    } else {
        rc = coco_json_parse(ar, (const char*)data, size, &v);
        if (rc == COCO_OK) {
            FUZZ_CHECK(FJ_T, fj_plain(&v, 0, &depth));
            fj_roundtrip(ar, &v, 1, fail_at != 0);
        } else {
            FUZZ_CHECKF(FJ_T, rc == COCO_ERR_DECODE || (fail_at && rc == COCO_ERR_NOMEM),
                        "parse returned %d", (int)rc);
            if (rc == COCO_ERR_DECODE)
                FUZZ_CHECKF(FJ_T, strstr(coco_arena_errmsg(ar), "line ") &&
                                      strstr(coco_arena_errmsg(ar), "column "),
                            "message without a position: %s", coco_arena_errmsg(ar));
        }
    }
    used = heap.count;
    coco_arena_destroy(ar);
    FUZZ_CHECKF(FJ_T, heap.live == 0, "%zu bytes not released", heap.live);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    uint64_t n;
    if (size > (1u << 20)) return 0;
    n = fj_run(data, size, 0);
    if (n > 1) fj_run(data, size, 1 + fuzz_hash(data, size) % n);
    return 0;
}
