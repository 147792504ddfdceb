/* fuzz/fuzz_value.c -- coco_value_decode on arbitrary bytes, then the encoder on its result.
   Invariants, for every input x that decodes to v:
     - encode(v) succeeds, except for a map with a duplicate key (the decoder takes them, the
       canonical encoding cannot hold them);
     - y = encode(v) decodes to v2 with encode(v2) == y, coco_value_eq(v, v2), and
       coco_value_fp(v) == coco_value_fp(v2) == the fingerprint of y;
     - x is canonical (checked here independently: smallest int/length forms, float64 only,
       map keys strictly ascending by bytes, fixext for sizes 1/2/4/8/16, no object ext)
       exactly when y == x;
     - coco_value_copy(v) is equal to v;
     - with the k-th allocation failing, decode/encode return COCO_ERR_NOMEM or succeed,
       and the arena releases everything (no leak, sizes given back as allocated). */
#ifndef COCOINDEX_IMPLEMENTATION
#define COCOINDEX_IMPLEMENTATION
#endif
#include "../cocoindex.h"
#include "fuzz_common.h"

#define FV_T "fuzz_value"

/* ---- an independent canonical-form check ----------------------------------------------------- */
typedef struct fv_rd {
    const uint8_t *p, *end;
} fv_rd;

static int fv_need(const fv_rd* r, size_t n) { return (size_t)(r->end - r->p) >= n; }
static uint64_t fv_be(const uint8_t* p, int n) {
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* 1 when the encoding at r->p is canonical; advances past it.  0 otherwise (or malformed). */
static int fv_canon(fv_rd* r, int depth);

static int fv_canon_len(fv_rd* r, unsigned t, size_t* len, unsigned fix_base, size_t fix_max,
                        unsigned t8, unsigned t16, unsigned t32) {
    uint64_t n;
    if (fix_base && t >= fix_base && t <= fix_base + fix_max) {
        *len = t - fix_base;
        return 1;
    }
    if (t8 && t == t8) {
        if (!fv_need(r, 1)) return 0;
        n = r->p[0];
        r->p += 1;
        if (fix_base && n <= fix_max) return 0;
    } else if (t == t16) {
        if (!fv_need(r, 2)) return 0;
        n = fv_be(r->p, 2);
        r->p += 2;
        if (n <= (t8 ? 0xffu : (fix_base ? fix_max : 0)) && (t8 || fix_base)) return 0;
    } else if (t == t32) {
        if (!fv_need(r, 4)) return 0;
        n = fv_be(r->p, 4);
        r->p += 4;
        if (n <= 0xffffu) return 0;
    } else {
        return 0;
    }
    *len = (size_t)n;
    return 1;
}

static int fv_key_less(const uint8_t* a, size_t an, const uint8_t* b, size_t bn) {
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    return c < 0 || (c == 0 && an < bn);
}

static int fv_canon(fv_rd* r, int depth) {
    unsigned t;
    size_t n, i;
    if (depth > 128 || !fv_need(r, 1)) return 0;
    t = *r->p++;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return 1;
    switch (t) {
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        int w = 1 << (t - 0xcc);
        uint64_t v;
        if (!fv_need(r, (size_t)w)) return 0;
        v = fv_be(r->p, w);
        r->p += w;
        if (t == 0xcc) return v >= 128;
        if (t == 0xcd) return v > 0xff;
        if (t == 0xce) return v > 0xffff;
        return v > 0xffffffffull && v <= (uint64_t)INT64_MAX;
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        int w = 1 << (t - 0xd0);
        uint64_t u;
        int64_t v;
        if (!fv_need(r, (size_t)w)) return 0;
        u = fv_be(r->p, w);
        r->p += w;
        if (w < 8 && (u >> (8 * w - 1))) u |= ~(uint64_t)0 << (8 * w);
        memcpy(&v, &u, 8);
        if (v >= -32) return 0;                      /* non-negatives and fixints never here */
        if (t == 0xd0) return 1;
        if (t == 0xd1) return v < INT8_MIN;
        if (t == 0xd2) return v < INT16_MIN;
        return v < INT32_MIN;
    }
    case 0xcb:
        if (!fv_need(r, 8)) return 0;
        r->p += 8;
        return 1;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
    case 0xc7: case 0xc8: case 0xc9: {
        int type;
        if (t >= 0xd4 && t <= 0xd8) n = (size_t)1 << (t - 0xd4);
        else {
            int w = t == 0xc7 ? 1 : t == 0xc8 ? 2 : 4;
            if (!fv_need(r, (size_t)w)) return 0;
            n = (size_t)fv_be(r->p, w);
            r->p += w;
            if (n == 1 || n == 2 || n == 4 || n == 8 || n == 16) return 0;  /* fixext exists */
            if (t == 0xc8 && n <= 0xff) return 0;
            if (t == 0xc9 && n <= 0xffff) return 0;
        }
        if (!fv_need(r, 1 + n)) return 0;
        type = (signed char)r->p[0];
        r->p += 1 + n;
        if (type == 1) return 1;                     /* symbol */
        if (type == 2) return n % 4 == 0;            /* float32 vector */
        if (type == 4) return n == 16;               /* uuid */
        return 0;                                    /* objects decode as lists; others fail */
    }
    default: break;
    }
    if ((t & 0xe0) == 0xa0 || t == 0xd9 || t == 0xda || t == 0xdb) {           /* str */
        if (!fv_canon_len(r, t, &n, 0xa0, 31, 0xd9, 0xda, 0xdb) || !fv_need(r, n)) return 0;
        r->p += n;
        return 1;
    }
    if (t == 0xc4 || t == 0xc5 || t == 0xc6) {                                   /* bin */
        if (!fv_canon_len(r, t, &n, 0, 0, 0xc4, 0xc5, 0xc6) || !fv_need(r, n)) return 0;
        r->p += n;
        return 1;
    }
    if ((t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd) {                          /* array */
        if (!fv_canon_len(r, t, &n, 0x90, 15, 0, 0xdc, 0xdd)) return 0;
        for (i = 0; i < n; i++)
            if (!fv_canon(r, depth + 1)) return 0;
        return 1;
    }
    if ((t & 0xf0) == 0x80 || t == 0xde || t == 0xdf) {                          /* map */
        const uint8_t* pk = NULL;
        size_t pn = 0;
        if (!fv_canon_len(r, t, &n, 0x80, 15, 0, 0xde, 0xdf)) return 0;
        for (i = 0; i < n; i++) {
            const uint8_t* ks;
            size_t kn;
            unsigned kt;
            if (!fv_need(r, 1)) return 0;
            kt = *r->p;
            if (!((kt & 0xe0) == 0xa0 || kt == 0xd9 || kt == 0xda || kt == 0xdb)) return 0;
            r->p++;
            if (!fv_canon_len(r, kt, &kn, 0xa0, 31, 0xd9, 0xda, 0xdb) || !fv_need(r, kn))
                return 0;
            ks = r->p;
            r->p += kn;
            if (i && !fv_key_less(pk, pn, ks, kn)) return 0;
            pk = ks;
            pn = kn;
            if (!fv_canon(r, depth + 1)) return 0;
        }
        return 1;
    }
    return 0;
}

static int fv_is_canonical(const uint8_t* p, size_t n) {
    fv_rd r;
    r.p = p;
    r.end = p + n;
    return fv_canon(&r, 0) && r.p == r.end;
}

/* 1 when a map anywhere in v has two entries with the same key */
static int fv_has_dup_key(const coco_value* v, int depth) {
    size_t i, j;
    if (depth > 200) return 0;
    if (v->kind == COCO_LIST) {
        for (i = 0; i < v->u.list.count; i++)
            if (fv_has_dup_key(&v->u.list.items[i], depth + 1)) return 1;
    } else if (v->kind == COCO_MAP) {
        const coco_map_entry* e = v->u.map.entries;
        for (i = 0; i < v->u.map.count; i++) {
            if (fv_has_dup_key(&e[i].val, depth + 1)) return 1;
            for (j = i + 1; j < v->u.map.count; j++)
                if (e[i].key_len == e[j].key_len &&
                    (e[i].key_len == 0 || memcmp(e[i].key, e[j].key, e[i].key_len) == 0))
                    return 1;
        }
    }
    return 0;
}

/* One pass; with fail_at != 0 the allocation of that number fails.  Returns the number of
   allocations made. */
static uint64_t fv_run(const uint8_t* data, size_t size, uint64_t fail_at) {
    fuzz_heap heap;
    coco_allocator a = fuzz_heap_allocator(&heap, FV_T, (size_t)64 << 20, fail_at);
    coco_arena* ar = NULL;
    coco_value v, v2, vc;
    coco_bytes y, y2;
    coco_result rc;
    coco_fp f1, f2;
    uint64_t used;
    int canon;
    if (coco_arena_create(&a, &ar) != COCO_OK) {
        FUZZ_CHECK(FV_T, fail_at != 0);
        FUZZ_CHECK(FV_T, heap.live == 0);
        return heap.count;
    }
    rc = coco_value_decode(ar, data, size, &v);
    if (rc != COCO_OK) {
        FUZZ_CHECKF(FV_T, rc == COCO_ERR_DECODE || (fail_at && rc == COCO_ERR_NOMEM),
                    "decode returned %d", (int)rc);
        FUZZ_CHECK(FV_T, rc != COCO_ERR_DECODE || coco_arena_errmsg(ar)[0] != 0);
        goto done;
    }
    canon = fv_is_canonical(data, size);
    rc = coco_value_encode(ar, &v, &y);
    if (rc != COCO_OK) {
        if (fail_at && rc == COCO_ERR_NOMEM) goto done;
        FUZZ_CHECKF(FV_T, rc == COCO_ERR_INVALID_ARG && fv_has_dup_key(&v, 0),
                    "encode of a decoded value failed: %d (%s)", (int)rc, coco_arena_errmsg(ar));
        FUZZ_CHECK(FV_T, !canon);
        FUZZ_CHECK(FV_T, coco_value_fp(ar, &v, &f1) != COCO_OK);
        goto done;
    }
    FUZZ_CHECK(FV_T, !fv_has_dup_key(&v, 0));
    FUZZ_CHECKF(FV_T, canon == (y.len == size && memcmp(y.ptr, data, size) == 0),
                "canonical check says %d, re-encoding %s the input (%zu -> %zu bytes)", canon,
                canon ? "differs from" : "equals", size, y.len);
    rc = coco_value_decode(ar, y.ptr, y.len, &v2);
    if (fail_at && rc == COCO_ERR_NOMEM) goto done;
    FUZZ_CHECKF(FV_T, rc == COCO_OK, "the encoder's output does not decode: %s",
                coco_arena_errmsg(ar));
    FUZZ_CHECK(FV_T, fv_is_canonical((const uint8_t*)y.ptr, y.len));
    rc = coco_value_encode(ar, &v2, &y2);
    if (fail_at && rc == COCO_ERR_NOMEM) goto done;
    FUZZ_CHECK(FV_T, rc == COCO_OK);
    FUZZ_CHECK(FV_T, y2.len == y.len && memcmp(y2.ptr, y.ptr, y.len) == 0);
    if (!fail_at) {
        FUZZ_CHECK(FV_T, coco_value_eq(ar, &v, &v2));
        FUZZ_CHECK(FV_T, coco_value_fp(ar, &v, &f1) == COCO_OK);
        FUZZ_CHECK(FV_T, coco_value_fp(ar, &v2, &f2) == COCO_OK);
        FUZZ_CHECK(FV_T, coco_fp_eq(f1, f2));
        FUZZ_CHECK(FV_T, coco_fp_eq(f1, coco_fp_of(y.ptr, y.len)));
        FUZZ_CHECK(FV_T, coco_value_copy(ar, &v, &vc) == COCO_OK);
        FUZZ_CHECK(FV_T, coco_value_eq(ar, &v, &vc));
    }
done:
    used = heap.count;
    coco_arena_destroy(ar);
    FUZZ_CHECKF(FV_T, heap.live == 0, "%zu bytes not released", heap.live);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    uint64_t n;
    if (size > (1u << 20)) return 0;
    n = fv_run(data, size, 0);
    /* the same input again with one allocation failing (picked from the input's hash) */
    if (n > 1) fv_run(data, size, 1 + fuzz_hash(data, size) % n);
    return 0;
}
