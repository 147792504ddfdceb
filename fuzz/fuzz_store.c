/* fuzz/fuzz_store.c -- the state store's log and snapshot decoding.
   The first byte picks a mode; the rest is its payload.  Files live in a temporary directory
   under $COCO_FUZZ_TMP, /dev/shm or /tmp (one per process, emptied after every input).
     0  the payload is the log file as it is;
     1  the payload is a log made consistent first: a valid file header, then the commit
        groups with their headers' and records' checksums (and counts) recomputed, so the
        decoder gets past the checksums;
     2  a program of puts, deletes, commits, aborts, clean and crashed closes and compactions
        run against a model, then damage (bit flips, cuts, appended bytes in the log or the
        snapshot) before a last reopen;
     3  a store built by a fixed program whose index snapshot is then edited by the payload
        (header fields, entries), the checksums and the log's identity optionally made to match.
   Invariants: an open returns an error or a consistent store, never crashes or reads out of
   bounds; a consistent store scans in strictly ascending key order, each key's get returns
   the scanned value, the stats count the keys and their record bytes; the read-only and the
   writer view agree (a writer only cuts the torn tail that a read-only handle ignores); a
   commit and a compaction keep the contents, and the snapshot written at close gives the
   same contents as a full replay; in mode 2 the store opens to the model's final state when
   nothing was damaged, and otherwise fails with COCO_ERR_CORRUPT or shows the state after
   some whole commit; in mode 3 an index loaded from an edited snapshot is a sound table
   (every entry reachable from its home slot, an empty slot left, offsets inside the log),
   and everything but the contents still holds.  Every coco_bytes of coco_batch_next and
   every parsed record stays inside its buffer, and all memory is released. */
#ifndef COCOINDEX_IMPLEMENTATION
#define COCOINDEX_IMPLEMENTATION
#endif
#include "../cocoindex.h"
#include "fuzz_common.h"

#include <sys/stat.h>
#include <unistd.h>

#define FST_T "fuzz_store"

static char fst_dir[256];
static char fst_log[320], fst_idx[320], fst_lock[320], fst_cmp[320], fst_tmp[320];
static fuzz_heap fst_heap;

static void fst_reset(void) {
    unlink(fst_log);
    unlink(fst_idx);
    unlink(fst_lock);
    unlink(fst_cmp);
    unlink(fst_tmp);
}
static void fst_cleanup(void) {
    if (!fst_dir[0]) return;
    fst_reset();
    rmdir(fst_dir);
}
static void fst_init(void) {
    const char* base = getenv("COCO_FUZZ_TMP");
    struct stat st;
    if (fst_dir[0]) return;
    if (!base || !*base) base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
                                access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fst_dir, sizeof fst_dir, "%s/coco-fuzz-store-XXXXXX", base);
    if (!mkdtemp(fst_dir)) {
        perror("fuzz_store: mkdtemp");
        abort();
    }
    snprintf(fst_log, sizeof fst_log, "%s/s.db", fst_dir);
    snprintf(fst_idx, sizeof fst_idx, "%s/s.db.idx", fst_dir);
    snprintf(fst_lock, sizeof fst_lock, "%s/s.db.lock", fst_dir);
    snprintf(fst_cmp, sizeof fst_cmp, "%s/s.db.compact", fst_dir);
    snprintf(fst_tmp, sizeof fst_tmp, "%s/s.db.idx.tmp", fst_dir);
    atexit(fst_cleanup);
}

static void fst_spit(const char* p, const void* b, size_t n) {
    FILE* f = fopen(p, "wb");
    FUZZ_CHECK(FST_T, f != NULL);
    FUZZ_CHECK(FST_T, n == 0 || fwrite(b, 1, n, f) == n);
    FUZZ_CHECK(FST_T, fclose(f) == 0);
}
static unsigned char* fst_slurp(const char* p, size_t* n) {
    FILE* f = fopen(p, "rb");
    unsigned char* b;
    long sz;
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (unsigned char*)malloc(sz > 0 ? (size_t)sz : 1);
    if (!b) abort();
    if (sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) sz = 0;
    fclose(f);
    *n = (size_t)(sz > 0 ? sz : 0);
    return b;
}

static coco_store* fst_open(int ro, coco_result* rc) {
    coco_store_desc d;
    coco_store* st = NULL;
    memset(&d, 0, sizeof d);
    d.path = fst_log;
    d.read_only = ro;
    d.sync = COCO_SYNC_NONE;
    d.allocator.alloc = fuzz_heap_alloc;
    d.allocator.realloc = fuzz_heap_realloc;
    d.allocator.free = fuzz_heap_free;
    d.allocator.user = &fst_heap;
    *rc = coco_store_open(&d, &st);
    if (*rc != COCO_OK) {
        FUZZ_CHECKF(FST_T, coco_store_open_errmsg()[0] != 0, "open failed (%d) without a message",
                    (int)*rc);
        return NULL;
    }
    FUZZ_CHECK(FST_T, st != NULL);
    return st;
}
static coco__log* fst_log_of(coco_store* st) { return (coco__log*)st->impl; }

/* a close that skips what a clean close does (the snapshot): as if the process died */
static void fst_crash(coco_store* st) {
    fst_log_of(st)->opened = 0;
    coco_store_close(st);
}

/* ---- dumps: the contents of a store as a sorted list ---------------------------------------- */
typedef struct fst_kv {
    unsigned char *k, *v;
    size_t         kl, vl;
} fst_kv;
typedef struct fst_dump {
    fst_kv* e;
    size_t  n, cap;
    int     loose;     /* collecting from an index nobody vouches for: no order check */
} fst_dump;

static int fst_kcmp(const unsigned char* a, size_t an, const unsigned char* b, size_t bn) {
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    return c ? c : an < bn ? -1 : an > bn ? 1 : 0;
}
static unsigned char* fst_mem(const void* p, size_t n) {
    unsigned char* b = (unsigned char*)malloc(n ? n : 1);
    if (!b) abort();
    if (n) memcpy(b, p, n);
    return b;
}
static void fst_dump_free(fst_dump* d) {
    size_t i;
    for (i = 0; i < d->n; i++) {
        free(d->e[i].k);
        free(d->e[i].v);
    }
    free(d->e);
    memset(d, 0, sizeof *d);
}
static void fst_dump_add(fst_dump* d, const void* k, size_t kl, const void* v, size_t vl) {
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 16;
        d->e = (fst_kv*)realloc(d->e, d->cap * sizeof *d->e);
        if (!d->e) abort();
    }
    d->e[d->n].k = fst_mem(k, kl);
    d->e[d->n].kl = kl;
    d->e[d->n].v = fst_mem(v, vl);
    d->e[d->n].vl = vl;
    d->n++;
}
static int fst_dump_eq(const fst_dump* a, const fst_dump* b) {
    size_t i;
    if (a->n != b->n) return 0;
    for (i = 0; i < a->n; i++)
        if (fst_kcmp(a->e[i].k, a->e[i].kl, b->e[i].k, b->e[i].kl) ||
            fst_kcmp(a->e[i].v, a->e[i].vl, b->e[i].v, b->e[i].vl))
            return 0;
    return 1;
}
static void fst_dump_copy(fst_dump* to, const fst_dump* from) {
    size_t i;
    memset(to, 0, sizeof *to);
    for (i = 0; i < from->n; i++)
        fst_dump_add(to, from->e[i].k, from->e[i].kl, from->e[i].v, from->e[i].vl);
}
/* index of key in d, or -1 */
static long fst_dump_find(const fst_dump* d, const void* k, size_t kl) {
    size_t i;
    for (i = 0; i < d->n; i++)
        if (fst_kcmp(d->e[i].k, d->e[i].kl, (const unsigned char*)k, kl) == 0) return (long)i;
    return -1;
}
/* puts (v != NULL) or deletes key k, keeping the order */
static void fst_dump_set(fst_dump* d, const void* k, size_t kl, const void* v, size_t vl) {
    long at = fst_dump_find(d, k, kl);
    size_t i;
    if (at >= 0) {
        free(d->e[at].k);
        free(d->e[at].v);
        memmove(&d->e[at], &d->e[at + 1], (d->n - (size_t)at - 1) * sizeof *d->e);
        d->n--;
    }
    if (!v) return;
    fst_dump_add(d, k, kl, v, vl);
    for (i = d->n - 1; i > 0 && fst_kcmp(d->e[i - 1].k, d->e[i - 1].kl, d->e[i].k, d->e[i].kl) > 0;
         i--) {
        fst_kv t = d->e[i];
        d->e[i] = d->e[i - 1];
        d->e[i - 1] = t;
    }
}

static int fst_collect(void* user, coco_bytes k, coco_bytes v) {
    fst_dump* d = (fst_dump*)user;
    if (d->n && !d->loose)
        FUZZ_CHECKF(FST_T, fst_kcmp(d->e[d->n - 1].k, d->e[d->n - 1].kl,
                                    (const unsigned char*)k.ptr, k.len) < 0,
                    "scan: key %zu is not above the one before", d->n);
    fst_dump_add(d, k.ptr, k.len, v.ptr, v.len);
    return 0;
}

/* ---- consistency of an open store ------------------------------------------------------------ */
/* The index as a table: every entry reachable from its home slot, an empty slot left, every
   offset inside the log past the first group header. */
static void fst_check_table(coco__log* l) {
    const coco__map* m = &l->index;
    size_t i, used = 0, empty = 0;
    if (!m->slots) return;
    for (i = 0; i <= m->mask; i++) {
        const coco__map_slot* s = &m->slots[i];
        size_t j;
        if (!s->val) { empty++; continue; }
        used++;
        FUZZ_CHECKF(FST_T, s->val >= COCO__FILE_HDR + COCO__GROUP_HDR && s->val < l->end,
                    "index offset %llu outside the log (end %llu)", (unsigned long long)s->val,
                    (unsigned long long)l->end);
        for (j = (size_t)s->hash & m->mask; j != i; j = (j + 1) & m->mask)
            FUZZ_CHECKF(FST_T, m->slots[j].val != 0, "index entry at slot %zu unreachable", i);
    }
    FUZZ_CHECK(FST_T, used == m->count);
    FUZZ_CHECK(FST_T, empty > 0);
}

/* Scans st into d and checks it.  `strict`: the index came from a replay, from commits or
   from a snapshot this library wrote, so keys come in order, each get returns the scanned
   value and the stats match exactly; 0: the index came from an edited snapshot (its entries
   are trusted once their checksum holds), so only the table and memory safety are checked.
   Returns the scan's result: COCO_OK, or COCO_ERR_CORRUPT when `may_corrupt`. */
static coco_result fst_verify(coco_store* st, fst_dump* d, int strict, int may_corrupt) {
    coco_store_stats s;
    coco_arena* ar;
    coco_allocator a;
    coco_result rc;
    coco__log* l = fst_log_of(st);
    size_t i;
    uint64_t rec_bytes = 0;
    memset(d, 0, sizeof *d);
    d->loose = !strict;
    fst_check_table(l);
    rc = coco_store_scan(st, NULL, fst_collect, d);
    if (rc != COCO_OK) {
        FUZZ_CHECKF(FST_T, may_corrupt && rc == COCO_ERR_CORRUPT, "scan failed: %d (%s)", (int)rc,
                    coco_store_errmsg(st));
        fst_dump_free(d);
        return rc;
    }
    coco_store_stats_get(st, &s);
    FUZZ_CHECK(FST_T, s.file_bytes >= COCO__FILE_HDR && s.file_bytes == l->end);
    if (!strict) return COCO_OK;
    a.alloc = fuzz_heap_alloc;
    a.realloc = fuzz_heap_realloc;
    a.free = fuzz_heap_free;
    a.user = &fst_heap;
    FUZZ_CHECK(FST_T, coco_arena_create(&a, &ar) == COCO_OK);
    for (i = 0; i < d->n; i++) {
        coco_bytes v;
        unsigned char* k2;
        rc = coco_store_get(st, d->e[i].k, d->e[i].kl, ar, &v);
        FUZZ_CHECKF(FST_T, rc == COCO_OK, "get of scanned key %zu: %d (%s)", i, (int)rc,
                    coco_store_errmsg(st));
        FUZZ_CHECK(FST_T, fst_kcmp((const unsigned char*)v.ptr, v.len, d->e[i].v, d->e[i].vl) == 0);
        /* the key with a byte added is another key */
        k2 = (unsigned char*)malloc(d->e[i].kl + 1);
        if (!k2) abort();
        if (d->e[i].kl) memcpy(k2, d->e[i].k, d->e[i].kl);
        k2[d->e[i].kl] = 0;
        rc = coco_store_get(st, k2, d->e[i].kl + 1, ar, &v);
        FUZZ_CHECK(FST_T, (fst_dump_find(d, k2, d->e[i].kl + 1) >= 0) == (rc == COCO_OK));
        FUZZ_CHECK(FST_T, rc == COCO_OK || rc == COCO_ERR_NOT_FOUND);
        free(k2);
        coco_arena_reset(ar);
    }
    {
        FUZZ_CHECKF(FST_T, s.keys == d->n, "stats say %llu keys, the scan found %zu",
                    (unsigned long long)s.keys, d->n);
        /* the live records' sizes, measured in the log */
        for (i = 0; i <= l->index.mask; i++) {
            coco__rec r;
            uint64_t off = l->index.slots[i].val;
            if (!off) continue;
            FUZZ_CHECK(FST_T, coco__rec_parse(coco__log_base(l) + off, coco__log_base(l) + l->end,
                                              &r) == 0);
            rec_bytes += r.size;
        }
        FUZZ_CHECKF(FST_T, s.live_bytes == rec_bytes, "stats say %llu live bytes, records hold %llu",
                    (unsigned long long)s.live_bytes, (unsigned long long)rec_bytes);
    }
    /* a prefix scan and a range scan give the matching part of the full scan */
    if (d->n) {
        coco_scan_desc sd;
        fst_dump part;
        size_t lo = d->n / 3, hi = (2 * d->n) / 3, j = 0;
        memset(&sd, 0, sizeof sd);
        memset(&part, 0, sizeof part);
        sd.start.ptr = d->e[lo].k;
        sd.start.len = d->e[lo].kl;
        sd.end.ptr = d->e[hi].k;
        sd.end.len = d->e[hi].kl;
        FUZZ_CHECK(FST_T, coco_store_scan(st, &sd, fst_collect, &part) == COCO_OK);
        for (i = 0; i < d->n; i++) {
            int in = (!sd.start.len || fst_kcmp(d->e[i].k, d->e[i].kl, d->e[lo].k, d->e[lo].kl) >= 0) &&
                     (!sd.end.len || fst_kcmp(d->e[i].k, d->e[i].kl, d->e[hi].k, d->e[hi].kl) < 0);
            if (!in) continue;
            FUZZ_CHECK(FST_T, j < part.n && fst_kcmp(part.e[j].k, part.e[j].kl, d->e[i].k,
                                                     d->e[i].kl) == 0);
            j++;
        }
        FUZZ_CHECK(FST_T, j == part.n);
        fst_dump_free(&part);
        if (d->e[d->n - 1].kl) {
            memset(&sd, 0, sizeof sd);
            sd.prefix.ptr = d->e[d->n - 1].k;
            sd.prefix.len = 1;
            FUZZ_CHECK(FST_T, coco_store_scan(st, &sd, fst_collect, &part) == COCO_OK);
            for (i = 0, j = 0; i < d->n; i++)
                if (d->e[i].kl && d->e[i].k[0] == d->e[d->n - 1].k[0]) j++;
            FUZZ_CHECK(FST_T, j == part.n);
            fst_dump_free(&part);
        }
    }
    coco_arena_destroy(ar);
    return COCO_OK;
}

/* Writer checks after a successful open with contents `cur`: a commit, a compaction, a clean
   close, then the snapshot and a full replay must all give the expected contents. */
static void fst_writer_round(coco_store* w, const fst_dump* cur, int strict) {
    fst_dump want, got;
    coco_txn* t;
    coco_result rc;
    static const char nk[] = "\xff" "fuzz-key";
    fst_dump_copy(&want, cur);
    FUZZ_CHECK(FST_T, coco_store_txn_begin(w, &t) == COCO_OK);
    FUZZ_CHECK(FST_T, coco_txn_put(t, nk, sizeof nk - 1, "v1", 2) == COCO_OK);
    fst_dump_set(&want, nk, sizeof nk - 1, "v1", 2);
    if (cur->n) {
        FUZZ_CHECK(FST_T, coco_txn_del(t, cur->e[0].k, cur->e[0].kl) == COCO_OK);
        fst_dump_set(&want, cur->e[0].k, cur->e[0].kl, NULL, 0);
    }
    rc = coco_txn_commit(t);
    FUZZ_CHECKF(FST_T, rc == COCO_OK, "commit: %d (%s)", (int)rc, coco_store_errmsg(w));
    if (fst_verify(w, &got, strict, !strict) == COCO_OK) {
        if (strict) FUZZ_CHECK(FST_T, fst_dump_eq(&got, &want));
        fst_dump_free(&got);
    }
    rc = coco_store_compact(w);
    if (strict) FUZZ_CHECKF(FST_T, rc == COCO_OK, "compact: %d (%s)", (int)rc, coco_store_errmsg(w));
    if (rc == COCO_OK && fst_verify(w, &got, strict, !strict) == COCO_OK) {
        if (strict) FUZZ_CHECK(FST_T, fst_dump_eq(&got, &want));
        fst_dump_free(&got);
    }
    coco_store_close(w);
    if (strict) {
        coco_store* r = fst_open(1, &rc);
        FUZZ_CHECKF(FST_T, r != NULL, "reopen after a clean close: %d (%s)", (int)rc,
                    coco_store_open_errmsg());
        FUZZ_CHECK(FST_T, fst_log_of(r)->replay_from == fst_log_of(r)->end);   /* the snapshot */
        FUZZ_CHECK(FST_T, fst_verify(r, &got, 1, 0) == COCO_OK);
        FUZZ_CHECK(FST_T, fst_dump_eq(&got, &want));
        fst_dump_free(&got);
        coco_store_close(r);
        unlink(fst_idx);
        r = fst_open(1, &rc);
        FUZZ_CHECK(FST_T, r != NULL);
        FUZZ_CHECK(FST_T, fst_log_of(r)->replay_from == COCO__FILE_HDR);
        FUZZ_CHECK(FST_T, fst_verify(r, &got, 1, 0) == COCO_OK);
        FUZZ_CHECK(FST_T, fst_dump_eq(&got, &want));
        fst_dump_free(&got);
        coco_store_close(r);
    }
    fst_dump_free(&want);
}

/* ---- modes 0 and 1: a log file given as bytes -------------------------------------------------- */
static void fst_in_memory_decoders(const uint8_t* p, size_t n) {
    size_t pos = 0, i;
    coco_op op;
    coco_bytes k, v;
    int r, steps = 0;
    while ((r = coco_batch_next(p, n, &pos, &op, &k, &v)) == 1) {
        const uint8_t* kp = (const uint8_t*)k.ptr;
        const uint8_t* vp = (const uint8_t*)v.ptr;
        FUZZ_CHECK(FST_T, pos <= n && (op == COCO_OP_PUT || op == COCO_OP_DEL));
        FUZZ_CHECK(FST_T, kp >= p && kp + k.len <= p + pos);
        FUZZ_CHECK(FST_T, vp >= p && vp + v.len <= p + pos);
        FUZZ_CHECK(FST_T, ++steps <= (int)n);
    }
    FUZZ_CHECK(FST_T, r == 0 || r == -1);
    for (i = 0; i < n && i < 256; i++) {
        coco__rec rec;
        if (coco__rec_parse(p + i, p + n, &rec)) continue;
        FUZZ_CHECK(FST_T, rec.size >= 6 && rec.size <= n - i);
        FUZZ_CHECK(FST_T, rec.key >= p + i && rec.key + rec.klen <= p + i + rec.size);
        FUZZ_CHECK(FST_T, rec.val >= rec.key && rec.val + rec.vlen <= p + i + rec.size);
        (void)coco__rec_crc_ok(p + i, &rec);
    }
}

/* recomputes the checksums (and, by `fl`, the magic, count and length) of every group */
static void fst_fixup(unsigned char* b, size_t n, unsigned fl) {
    size_t off = COCO__FILE_HDR;
    if (n < COCO__FILE_HDR) return;
    memcpy(b, COCO__STORE_MAGIC, 8);
    coco__put_u32le(b + 8, COCO_STORE_FORMAT);
    if (fl & 1) coco__put_u32le(b + 12, COCO__FILE_HDR);
    if (fl & 2) memset(b + COCO__LOG_ID_AT, 0, COCO__LOG_ID_LEN);   /* an older log: no id */
    coco__put_u32le(b + 60, coco__crc32c(0, b, 60));
    while (n - off >= COCO__GROUP_HDR) {
        unsigned char* g = b + off;
        uint64_t len = coco__get_u64le(g + 8), q;
        uint32_t count = 0;
        if (fl & 4) coco__put_u32le(g, COCO__GROUP_MAGIC);
        if (len > n - off - COCO__GROUP_HDR) {
            if (!(fl & 8)) break;
            len = n - off - COCO__GROUP_HDR;
            coco__put_u64le(g + 8, len);
        }
        q = off + COCO__GROUP_HDR;
        while (q < off + COCO__GROUP_HDR + len) {
            coco__rec r;
            if (coco__rec_parse(b + q, b + off + COCO__GROUP_HDR + len, &r)) break;
            coco__put_u32le(b + q, coco__crc32c(0, b + q + 4, r.size - 4));
            q += r.size;
            count++;
        }
        if (fl & 16) coco__put_u32le(g + 4, count);
        coco__put_u32le(g + 24, 0);
        coco__put_u32le(g + 28, coco__crc32c(0, g, 28));
        off += COCO__GROUP_HDR + (size_t)len;
    }
}

static void fst_file_mode(const uint8_t* p, size_t n, int fix) {
    coco_result rc_r, rc_w;
    coco_store *r, *w;
    fst_dump dr, dw;
    int have_r = 0;
    unsigned char* b;
    fst_in_memory_decoders(p, n);
    if (fix) {
        /* the first payload byte picks the fix-ups; a short payload is padded with zeros */
        unsigned fl = n ? p[0] : 0;
        size_t m = n ? n - 1 : 0;
        size_t len = m < COCO__FILE_HDR ? COCO__FILE_HDR : m;
        b = (unsigned char*)calloc(len, 1);
        if (!b) abort();
        if (m) memcpy(b, p + 1, m);
        fst_fixup(b, len, fl);
        fst_spit(fst_log, b, len);
        n = len;
        free(b);
    } else {
        fst_spit(fst_log, p, n);
    }
    r = fst_open(1, &rc_r);
    if (r) {
        FUZZ_CHECK(FST_T, fst_log_of(r)->replay_from == COCO__FILE_HDR);
        FUZZ_CHECK(FST_T, fst_verify(r, &dr, 1, 0) == COCO_OK);
        have_r = 1;
        coco_store_close(r);
    } else {
        FUZZ_CHECKF(FST_T, rc_r == COCO_ERR_CORRUPT || rc_r == COCO_ERR_VERSION,
                    "read-only open: %d (%s)", (int)rc_r, coco_store_open_errmsg());
    }
    w = fst_open(0, &rc_w);
    if (n >= COCO__FILE_HDR)
        FUZZ_CHECKF(FST_T, (w != NULL) == have_r, "read-only open %d, writer open %d (%s)",
                    (int)rc_r, (int)rc_w, coco_store_open_errmsg());
    if (!w) {
        FUZZ_CHECKF(FST_T, rc_w == COCO_ERR_CORRUPT || rc_w == COCO_ERR_VERSION,
                    "writer open: %d (%s)", (int)rc_w, coco_store_open_errmsg());
    } else {
        FUZZ_CHECK(FST_T, fst_verify(w, &dw, 1, 0) == COCO_OK);
        if (have_r) FUZZ_CHECK(FST_T, fst_dump_eq(&dr, &dw));
        else FUZZ_CHECK(FST_T, dw.n == 0);
        fst_writer_round(w, &dw, 1);
        fst_dump_free(&dw);
    }
    if (have_r) fst_dump_free(&dr);
}

/* ---- mode 2: a program against a model, then damage ---------------------------------------- */
#define FST_MAXSTATES 256

typedef struct fst_prog {
    fst_dump states[FST_MAXSTATES + 1];   /* states[k]: after k commits */
    size_t   nstates;
    fst_dump cur, pending;                /* pending: the open transaction on top of cur */
} fst_prog;

static void fst_prog_commit(fst_prog* pr) {
    fst_dump_free(&pr->cur);
    fst_dump_copy(&pr->cur, &pr->pending);
    if (pr->nstates <= FST_MAXSTATES) fst_dump_copy(&pr->states[pr->nstates++], &pr->cur);
}

static void fst_key(fuzz_in* in, unsigned char* k, size_t* kl) {
    size_t got, want = fuzz_u8(in) % 6u, i;
    const uint8_t* s = fuzz_take(in, want, &got);
    k[0] = 'k';
    for (i = 0; i < got; i++) k[1 + i] = (unsigned char)(s[i] % 8u + '0');   /* a few keys */
    *kl = 1 + got;
    if (want == 5) *kl = 0;                                                 /* the empty key */
}

static void fst_model_mode(const uint8_t* p, size_t n) {
    fuzz_in in;
    fst_prog pr;
    coco_store* st;
    coco_txn* t = NULL;
    coco_result rc;
    unsigned char key[8], *big = NULL;
    size_t kl, i, ops = 0;
    int damaged = 0, crash_end;
    in.p = p;
    in.n = n;
    memset(&pr, 0, sizeof pr);
    fst_dump_copy(&pr.states[pr.nstates++], &pr.cur);
    st = fst_open(0, &rc);
    FUZZ_CHECK(FST_T, st != NULL);
    while (in.n && ops++ < 200) {
        unsigned op = fuzz_u8(&in);
        if (op >= 0xF0) break;                                  /* damage follows */
        switch (op % 10u) {
        case 0: case 1: case 2: case 3: {                       /* put */
            size_t vl = fuzz_u8(&in), got;
            const uint8_t* v;
            fst_key(&in, key, &kl);
            if (vl == 255) {
                vl = 3000 + fuzz_u8(&in) * 7u;
                free(big);
                big = (unsigned char*)malloc(vl);
                if (!big) abort();
                memset(big, (int)(vl & 0xff), vl);
                v = big;
                got = vl;
            } else {
                v = fuzz_take(&in, vl % 24u, &got);
            }
            if (!t) {
                FUZZ_CHECK(FST_T, coco_store_txn_begin(st, &t) == COCO_OK);
                fst_dump_free(&pr.pending);
                fst_dump_copy(&pr.pending, &pr.cur);
            }
            FUZZ_CHECK(FST_T, coco_txn_put(t, key, kl, v, got) == COCO_OK);
            fst_dump_set(&pr.pending, key, kl, got ? v : (const uint8_t*)"", got);
            break;
        }
        case 4:                                                 /* delete */
            fst_key(&in, key, &kl);
            if (!t) {
                FUZZ_CHECK(FST_T, coco_store_txn_begin(st, &t) == COCO_OK);
                fst_dump_free(&pr.pending);
                fst_dump_copy(&pr.pending, &pr.cur);
            }
            FUZZ_CHECK(FST_T, coco_txn_del(t, key, kl) == COCO_OK);
            fst_dump_set(&pr.pending, key, kl, NULL, 0);
            break;
        case 5:                                                 /* commit */
            if (!t) break;
            rc = coco_txn_commit(t);
            t = NULL;
            FUZZ_CHECKF(FST_T, rc == COCO_OK, "commit: %d (%s)", (int)rc, coco_store_errmsg(st));
            fst_prog_commit(&pr);
            break;
        case 6:                                                 /* abort */
            if (t) coco_txn_abort(t);
            t = NULL;
            break;
        case 7: case 8: {                                       /* clean or crashed reopen */
            fst_dump d;
            if (t) coco_txn_abort(t);
            t = NULL;
            if (op % 10u == 7) coco_store_close(st);
            else fst_crash(st);
            st = fst_open(0, &rc);
            FUZZ_CHECKF(FST_T, st != NULL, "reopen: %d (%s)", (int)rc, coco_store_open_errmsg());
            FUZZ_CHECK(FST_T, fst_verify(st, &d, 1, 0) == COCO_OK);
            FUZZ_CHECK(FST_T, fst_dump_eq(&d, &pr.cur));
            fst_dump_free(&d);
            break;
        }
        case 9:                                                 /* compact */
            if (t) coco_txn_abort(t);
            t = NULL;
            FUZZ_CHECK(FST_T, coco_store_compact(st) == COCO_OK);
            break;
        }
    }
    if (t) coco_txn_abort(t);
    free(big);
    {
        fst_dump d;
        FUZZ_CHECK(FST_T, fst_verify(st, &d, 1, 0) == COCO_OK);
        FUZZ_CHECK(FST_T, fst_dump_eq(&d, &pr.cur));
        fst_dump_free(&d);
    }
    crash_end = (int)(fuzz_u8(&in) & 1u);
    if (crash_end) fst_crash(st);
    else coco_store_close(st);

    /* damage */
    for (i = fuzz_u8(&in) % 4u; i > 0 && in.n; i--) {
        unsigned kind = fuzz_u8(&in) % 6u;
        const char* path = kind >= 3 ? fst_idx : fst_log;
        size_t fn;
        unsigned char* fb = fst_slurp(path, &fn);
        uint32_t at = fuzz_u32(&in);
        if (!fb) continue;
        switch (kind % 3u) {
        case 0:                                                 /* flip a bit */
            if (fn) {
                fb[at % fn] ^= (unsigned char)(1u << (at >> 29));
                fst_spit(path, fb, fn);
                damaged = 1;
            }
            break;
        case 1:                                                 /* cut */
            if (at % (fn + 1) != fn) {
                FUZZ_CHECK(FST_T, truncate(path, (off_t)(at % (fn + 1))) == 0);
                damaged = 1;
            }
            break;
        case 2: {                                               /* append bytes */
            size_t got;
            const uint8_t* extra = fuzz_take(&in, at % 40u, &got);
            FILE* f = fopen(path, "ab");
            FUZZ_CHECK(FST_T, f != NULL);
            if (got && fwrite(extra, 1, got, f) == got) damaged = 1;
            fclose(f);
            break;
        }
        }
        free(fb);
    }

    /* reopen: read-only, then a writer (which may cut a torn tail), then read-only again */
    for (i = 0; i < 3; i++) {
        coco_store* s2 = fst_open(i == 1 ? 0 : 1, &rc);
        fst_dump d;
        size_t k;
        int match = 0;
        if (!s2) {
            FUZZ_CHECKF(FST_T, damaged && rc == COCO_ERR_CORRUPT, "open %zu after %s: %d (%s)", i,
                        damaged ? "damage" : "no damage", (int)rc, coco_store_open_errmsg());
            break;
        }
        if (fst_verify(s2, &d, 1, damaged) == COCO_OK) {
            if (!damaged) match = fst_dump_eq(&d, &pr.cur);
            for (k = 0; k < pr.nstates && !match; k++) match = fst_dump_eq(&d, &pr.states[k]);
            FUZZ_CHECKF(FST_T, match, "open %zu: %zu keys, the state after no whole commit%s", i,
                        d.n, damaged ? " (damaged)" : "");
            fst_dump_free(&d);
        }
        coco_store_close(s2);
    }
    for (i = 0; i < pr.nstates; i++) fst_dump_free(&pr.states[i]);
    fst_dump_free(&pr.cur);
    fst_dump_free(&pr.pending);
}

/* ---- mode 3: an edited index snapshot ------------------------------------------------------ */
static void fst_snapshot_mode(const uint8_t* p, size_t n) {
    fuzz_in in;
    coco_store* st;
    coco_txn* t;
    coco_result rc;
    fst_dump base, d;
    unsigned char *ib, *nb, key[8];
    size_t in_len, nlen, i, ne;
    unsigned fl, edits;
    struct stat lst;
    int r;
    in.p = p;
    in.n = n;
    /* the base store: 3 commits over 24 keys, some deleted, closed cleanly (a snapshot) */
    st = fst_open(0, &rc);
    FUZZ_CHECK(FST_T, st != NULL);
    for (r = 0; r < 3; r++) {
        FUZZ_CHECK(FST_T, coco_store_txn_begin(st, &t) == COCO_OK);
        for (i = 0; i < 24; i++) {
            int kn = snprintf((char*)key, sizeof key, "k%02d", (int)i);
            if ((i + (size_t)r) % 5 == 0) coco_txn_del(t, key, (size_t)kn);
            else coco_txn_put(t, key, (size_t)kn, "value", 1 + (i + (size_t)r) % 5);
        }
        FUZZ_CHECK(FST_T, coco_txn_commit(t) == COCO_OK);
    }
    FUZZ_CHECK(FST_T, fst_verify(st, &base, 1, 0) == COCO_OK);
    coco_store_close(st);
    ib = fst_slurp(fst_idx, &in_len);
    FUZZ_CHECK(FST_T, ib != NULL && in_len >= COCO__IDX_HDR);
    FUZZ_CHECK(FST_T, stat(fst_log, &lst) == 0);

    fl = fuzz_u8(&in);
    /* header edits: (offset, value) pairs */
    edits = fuzz_u8(&in) % 16u;
    for (i = 0; i < edits; i++) {
        unsigned off = fuzz_u8(&in) % COCO__IDX_HDR;
        ib[off] = (unsigned char)fuzz_u8(&in);
    }
    if (fl & 0x10) coco__put_u64le(ib + 64, coco__get_u64le(ib + 64) - (fuzz_u8(&in) % 64u));
    /* entries: the original ones, or the rest of the input */
    if (fl & 1) {
        ne = in.n;
        nlen = COCO__IDX_HDR + ne;
        nb = (unsigned char*)malloc(nlen);
        if (!nb) abort();
        memcpy(nb, ib, COCO__IDX_HDR);
        if (ne) memcpy(nb + COCO__IDX_HDR, in.p, ne);
        free(ib);
        ib = nb;
        in_len = nlen;
        if (fl & 0x20) {           /* make the size match the header's key count */
            unsigned w = ib[21] >= 1 && ib[21] <= 8 ? ib[21] : 1;
            coco__put_u64le(ib + 96, ne / (6 + w));
            in_len = COCO__IDX_HDR + (ne / (6 + w)) * (6 + w);
        }
    }
    if (fl & 2) coco__put_u32le(ib + 84, coco__crc32c(0, ib + COCO__IDX_HDR, in_len - COCO__IDX_HDR));
    if (fl & 4) {                  /* name this very log */
        unsigned char lh[COCO__FILE_HDR];
        FILE* f = fopen(fst_log, "rb");
        FUZZ_CHECK(FST_T, f && fread(lh, 1, sizeof lh, f) == sizeof lh);
        fclose(f);
        memcpy(ib + 24, lh + COCO__LOG_ID_AT, COCO__LOG_ID_LEN);
        coco__put_u64le(ib + 40, (uint64_t)lst.st_ino);
        coco__put_u64le(ib + 48, COCO__ST_MTIME_NS(&lst));
        coco__put_u64le(ib + 56, COCO__ST_CTIME_NS(&lst));
    }
    if (fl & 8) coco__put_u32le(ib + 16, coco__get_u32le(ib + 16) | COCO__IDX_APPENDED);
    if (fl & 0x40) coco__put_u32le(ib + 124, coco__crc32c(0, ib, 124));
    fst_spit(fst_idx, ib, in_len);
    free(ib);

    /* read-only: a sound table when the snapshot is used, the base contents when it is not */
    st = fst_open(1, &rc);
    FUZZ_CHECKF(FST_T, st != NULL, "read-only open: %d (%s)", (int)rc, coco_store_open_errmsg());
    if (fst_log_of(st)->replay_from == COCO__FILE_HDR) {
        FUZZ_CHECK(FST_T, fst_verify(st, &d, 1, 0) == COCO_OK);
        FUZZ_CHECK(FST_T, fst_dump_eq(&d, &base));
        fst_dump_free(&d);
    } else if (fst_verify(st, &d, 0, 1) == COCO_OK) {
        fst_dump_free(&d);
    }
    coco_store_close(st);
    /* a writer: commit, compact, close; then a full replay of what it left */
    st = fst_open(0, &rc);
    FUZZ_CHECK(FST_T, st != NULL);
    if (fst_log_of(st)->replay_from == COCO__FILE_HDR) {
        FUZZ_CHECK(FST_T, fst_verify(st, &d, 1, 0) == COCO_OK);
        FUZZ_CHECK(FST_T, fst_dump_eq(&d, &base));
        fst_writer_round(st, &d, 1);
        fst_dump_free(&d);
    } else {
        fst_dump_copy(&d, &base);
        fst_writer_round(st, &d, 0);
        fst_dump_free(&d);
        unlink(fst_idx);
        st = fst_open(1, &rc);
        if (st) {
            if (fst_verify(st, &d, 1, 1) == COCO_OK) fst_dump_free(&d);
            coco_store_close(st);
        }
    }
    fst_dump_free(&base);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    unsigned mode;
    if (size > (1u << 20)) return 0;
    fst_init();
    fst_reset();
    fuzz_heap_allocator(&fst_heap, FST_T, (size_t)512 << 20, 0);
    mode = size ? data[0] % 4u : 0;
    if (size) { data++; size--; }
    switch (mode) {
    case 0: fst_file_mode(data, size, 0); break;
    case 1: fst_file_mode(data, size, 1); break;
    case 2: fst_model_mode(data, size); break;
    default: fst_snapshot_mode(data, size); break;
    }
    fst_reset();
    FUZZ_CHECKF(FST_T, fst_heap.live == 0, "%zu bytes not released", fst_heap.live);
    return 0;
}
