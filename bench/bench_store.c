/* bench/bench_store.c -- state-store benchmark: the shared driver plus the cocoindex engine.

   Built alone (`cc -std=c99 -O2 bench/bench_store.c -lpthread`) it measures cocoindex.h's
   store.  bench/kv_lmdb.c and bench/kv_sqlite.c define BENCH_ENGINE_EXTERNAL, supply the
   same eng_* functions for LMDB and SQLite, and #include this file for the driver, so all
   three engines run exactly the same workload.  bench/bench_store.sh runs them and prints
   the ratios; see bench/RESULTS.md ("## State store").

   Usage:  PROG load DIR N VSIZE REPS     REPS fresh bulk loads; the last store stays in DIR
           PROG ops  DIR N VSIZE REPS     the other phases, on the store left by `load`
   Every result is one line "raw engine=E n=N v=V k=KEYLEN phase=P unit=U best=.. med=.. ..."
   (best = the min time or the max rate of the reps, med = their median).  Phases:
     bulk              N puts in one write transaction + its durable commit (Mkeys/s)
     size_after_load   bytes of every file of the store / (N * (key + value))
     rss_peak_load     peak RSS of the load process minus the driver's own (MB)
     open              open an existing store + one get (ms; warm page cache)
     lookup            gets of random existing keys, after one verifying pass over all keys
                       (us per get; batches of min(N, 200k) keys, one read txn per batch)
     rss_open          private (anonymous) memory of the open store after all keys were read
     update1pct        one write txn overwriting N/100 random keys + durable commit (ms)
     update1pct_floor  appending the same payload bytes to a file + fdatasync (ms)
     commit1           200 transactions of one put each, durable (ms per commit)
     fsync_floor       append 64 B + fdatasync, same file system (ms; one after each
                       commit1 commit); fsync_floor_overwrite: pwrite at 0 instead
     size_compacted    size after compaction (cocoindex coco_store_compact; SQLite VACUUM;
                       LMDB: the mdb_env_copy2(MDB_CP_COMPACT) copy); compact_ms = its time
     open_after_compact, rss_peak_ops

   Workload
     keys    BENCH_KEY_BYTES=40 (default): path-like ASCII keys of exactly 40 bytes,
             "src/pkgNNNNN/modNNN/file_NNNNNNNNNNNN.py"-style, directory part hashed from the
             index so insertion order is not key order (like the PERF.md anchors' keys).
             BENCH_KEY_BYTES=16: 16 binary bytes (fingerprint-like).
     values  VSIZE random bytes: a slice of a 1 MiB random pool chosen by (key, version),
             free to generate and verifiable (none of the engines compresses).
     Keys are generated before any timing; per-op costs exclude key and value generation.
   Durability: every write commit is durable when it returns (cocoindex COCO_SYNC_FULL,
   LMDB default sync, SQLite WAL + synchronous=FULL). */
#ifndef BENCH_ENGINE_EXTERNAL
#  define COCOINDEX_IMPLEMENTATION
#  include "../cocoindex.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- engine interface (cocoindex below; LMDB / SQLite in kv_lmdb.c / kv_sqlite.c) ---------- */
static const char* eng_name(void);
static void eng_open(const char* dir, int create);   /* ready to serve a get when it returns */
static void eng_close(void);
static void eng_wbegin(void);
static void eng_put(const void* k, size_t kn, const void* v, size_t vn);
static void eng_wcommit(void);                        /* durable when it returns */
static void eng_rbegin(void);                         /* read snapshot for a batch of gets */
static int  eng_get(const void* k, size_t kn, const void** v, size_t* vn);   /* 1 = found */
static void eng_rend(void);
/* Compacts the store; returns the directory whose files make up the compacted store. */
static const char* eng_compact(const char* dir);

/* ---- helpers --------------------------------------------------------------------------------- */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static uint64_t mix(uint64_t x) {   /* splitmix64 finaliser */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static void fail(const char* what, const char* detail) {
    fprintf(stderr, "bench_store[%s]: %s: %s\n", eng_name(), what, detail ? detail : "");
    exit(1);
}
static void* xmalloc(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) fail("out of memory", "");
    return p;
}
static int cmp_dbl(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}
static double sorted_min(double* a, int n) { qsort(a, (size_t)n, sizeof *a, cmp_dbl); return a[0]; }
static double sorted_med(const double* a, int n) { return (a[(n - 1) / 2] + a[n / 2]) / 2; }
static double sorted_pct(const double* a, int n, int pct) { return a[(n - 1) * pct / 100]; }

/* bytes allocated to the regular files directly in `dir` (what `du` would count) */
static long long dir_bytes(const char* dir) {
    DIR* d = opendir(dir);
    struct dirent* e;
    long long tot = 0;
    char p[4096];
    struct stat st;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) tot += (long long)st.st_blocks * 512;
    }
    closedir(d);
    return tot;
}
static void rm_files(const char* dir) {   /* the stores here are flat directories */
    DIR* d = opendir(dir);
    struct dirent* e;
    char p[4096];
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}
static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;   /* KiB on Linux */
}
/* a "Name:   N kB" field of /proc/self/status, in MB (-1 when absent) */
static double status_mb(const char* field) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    double v = -1;
    size_t fl = strlen(field);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') { v = atof(line + fl + 1) / 1024.0; break; }
    fclose(f);
    return v;
}

/* ---- workload --------------------------------------------------------------------------------- */
#define POOL_BYTES ((size_t)1 << 20)
static size_t         g_n, g_vs, g_kl;
static unsigned char* g_keys;       /* g_n keys of g_kl bytes */
static unsigned char* g_pool;       /* POOL_BYTES + g_vs random bytes */
static uint16_t*      g_ver;        /* latest version written per key (for verification) */
static uint64_t*      g_perm;       /* a random permutation of [0, n) */
static unsigned char* g_batch;      /* keys of the current timed batch, in order */

static const unsigned char* key_of(uint64_t i) { return g_keys + i * g_kl; }
static const unsigned char* val_of(uint64_t i, unsigned ver) {
    return g_pool + mix(i * 0x100000001B3ull + ver) % POOL_BYTES;
}

static void make_workload(void) {
    uint64_t i, s = 12345;
    const char* kb = getenv("BENCH_KEY_BYTES");
    g_kl = kb && atoi(kb) == 16 ? 16 : 40;
    g_keys = (unsigned char*)xmalloc(g_n * g_kl);
    for (i = 0; i < g_n; i++) {
        unsigned char* k = g_keys + i * g_kl;
        uint64_t h = mix(i);
        if (g_kl == 16) {
            uint64_t h2 = mix(h ^ 0x5bd1e995u);
            memcpy(k, &h, 8);
            memcpy(k + 8, &h2, 8);
        } else {
            char tmp[64];
            int len = snprintf(tmp, sizeof tmp, "src/pkg%05u/mod%03u/file_%012llu.py",
                               (unsigned)(h % 100000u), (unsigned)((h >> 32) % 1000u),
                               (unsigned long long)i);
            if (len != 40) fail("key length", tmp);
            memcpy(k, tmp, 40);
        }
    }
    g_pool = (unsigned char*)xmalloc(POOL_BYTES + g_vs + 16);   /* filled 8 bytes at a time */
    for (i = 0; i < POOL_BYTES + g_vs + 8; i += 8) {
        s = mix(s);
        memcpy(g_pool + i, &s, 8);
    }
    g_ver = (uint16_t*)xmalloc(g_n * sizeof *g_ver);
    memset(g_ver, 0, g_n * sizeof *g_ver);
    g_batch = (unsigned char*)xmalloc((g_n < 200000 ? g_n : 200000) * g_kl);
    memset(g_batch, 0, (g_n < 200000 ? g_n : 200000) * g_kl);   /* counted in the driver's RSS */
    g_perm = (uint64_t*)xmalloc(g_n * sizeof *g_perm);
    for (i = 0; i < g_n; i++) g_perm[i] = i;
    s = 777;
    for (i = g_n - 1; i > 0; i--) {   /* Fisher-Yates */
        uint64_t j, t;
        s = mix(s);
        j = s % (i + 1);
        t = g_perm[i]; g_perm[i] = g_perm[j]; g_perm[j] = t;
    }
}

/* Copies the keys g_perm[pos .. pos+count) (wrapping) into g_batch, in that order, so a timed
   loop reads its keys sequentially: a caller normally has the key it asks for at hand, and
   a random read of the 40 MB key table would add a cache miss to every engine's operation. */
static const unsigned char* gather(uint64_t pos, uint64_t count) {
    uint64_t i;
    if (count > (g_n < 200000 ? g_n : 200000)) fail("gather", "batch too large");
    for (i = 0; i < count; i++) memcpy(g_batch + i * g_kl, key_of(g_perm[(pos + i) % g_n]), g_kl);
    return g_batch;
}
static uint64_t perm_at(uint64_t pos) { return g_perm[pos % g_n]; }

static void out_line(const char* phase, const char* unit, double mn, double md, const char* extra) {
    printf("raw engine=%s n=%zu v=%zu k=%zu phase=%s unit=%s best=%.4g med=%.4g%s%s\n", eng_name(),
           g_n, g_vs, g_kl, phase, unit, mn, md, extra && *extra ? " " : "", extra ? extra : "");
    fflush(stdout);
}

/* checks key i against its latest version; returns 0 when it holds */
static int check_key(uint64_t i) {
    const void* v;
    size_t vn;
    if (!eng_get(key_of(i), g_kl, &v, &vn)) return 1;
    return vn != g_vs || memcmp(v, val_of(i, g_ver[i]), g_vs) != 0;
}

/* ---- mode load ---------------------------------------------------------------------------------- */
static void mode_load(const char* dir, int reps) {
    double* tp = (double*)xmalloc(sizeof(double) * (size_t)reps);
    double base = peak_rss_mb(), commit_ms = 0;
    char extra[256];
    long long bytes = 0;
    int r;
    for (r = 0; r < reps; r++) {
        double t0, t1, t2;
        uint64_t i;
        rm_files(dir);
        sync();
        eng_open(dir, 1);
        t0 = now_s();
        eng_wbegin();
        for (i = 0; i < g_n; i++) eng_put(key_of(i), g_kl, val_of(i, 0), g_vs);
        t1 = now_s();
        eng_wcommit();
        t2 = now_s();
        eng_close();
        tp[r] = (double)g_n / (t2 - t0) / 1e6;
        commit_ms = (t2 - t1) * 1e3;
        bytes = dir_bytes(dir);
    }
    qsort(tp, (size_t)reps, sizeof *tp, cmp_dbl);
    /* throughput: "best" is the highest of the reps */
    snprintf(extra, sizeof extra, "better=higher reps=%d last_commit_call_ms=%.1f", reps, commit_ms);
    out_line("bulk", "Mkeys/s", tp[reps - 1], sorted_med(tp, reps), extra);
    snprintf(extra, sizeof extra, "bytes=%lld payload=%llu", bytes,
             (unsigned long long)(g_n * (g_kl + g_vs)));
    out_line("size_after_load", "x_payload", (double)bytes / (double)(g_n * (g_kl + g_vs)),
             (double)bytes / (double)(g_n * (g_kl + g_vs)), extra);
    /* peak RSS of this process (driver included) and the peak above the driver's own */
    snprintf(extra, sizeof extra, "process_peak_mb=%.1f driver_mb=%.1f", peak_rss_mb(), base);
    out_line("rss_peak_load", "MB", peak_rss_mb() - base, peak_rss_mb() - base, extra);
    free(tp);
}

/* ---- mode ops --------------------------------------------------------------------------------- */
static void measure_open(const char* dir, int reps, const char* phase) {
    double* t = (double*)xmalloc(sizeof(double) * (size_t)reps);
    int r;
    eng_open(dir, 0);   /* warm-up */
    eng_close();
    for (r = 0; r < reps; r++) {
        double t0 = now_s();
        const void* v;
        size_t vn;
        eng_open(dir, 0);
        eng_rbegin();
        if (!eng_get(key_of(g_perm[r]), g_kl, &v, &vn)) fail("open", "first get missed");
        eng_rend();
        t[r] = (now_s() - t0) * 1e3;
        eng_close();
    }
    sorted_min(t, reps);
    out_line(phase, "ms", t[0], sorted_med(t, reps), "what=open+first_get");
    free(t);
}

/* `count` appends of `len` bytes to fd, each followed by fdatasync (after 3 untimed ones
   when count > 1); ms into lat[] (NULL: not kept).  overwrite: pwrite at offset 0 instead
   (no size change, so no metadata for fdatasync to write). */
static void floor_run(int fd, double* lat, int count, size_t len, int overwrite) {
    unsigned char* buf = (unsigned char*)xmalloc(len);
    off_t end = lseek(fd, 0, SEEK_END);
    int k;
    memcpy(buf, g_pool, len < POOL_BYTES ? len : POOL_BYTES);
    if (len > POOL_BYTES) memset(buf + POOL_BYTES, 'x', len - POOL_BYTES);
    for (k = count > 1 ? -3 : 0; k < count; k++) {
        double t0 = now_s();
        ssize_t w = pwrite(fd, buf, len, overwrite ? 0 : end);
        end += overwrite ? 0 : (off_t)len;
        if (w != (ssize_t)len || fdatasync(fd) != 0) fail("fdatasync floor", strerror(errno));
        if (k >= 0 && lat) lat[k] = (now_s() - t0) * 1e3;
    }
    free(buf);
}
static int floor_open(const char* dir, char* p, size_t cap) {
    int fd;
    snprintf(p, cap, "%s/bench.floor", dir);
    fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("floor", strerror(errno));
    return fd;
}

static void mode_ops(const char* dir, int reps) {
    uint64_t i, m, lk;
    int r;
    double *t = (double*)xmalloc(sizeof(double) * 256), *t2 = (double*)xmalloc(sizeof(double) * 256);
    char extra[512];
    const int nsmall = 200;
    const char* cdir;
    long long before, after;
    double tc;
    unsigned long sum = 0;
    double anon_base = status_mb("RssAnon");   /* the driver's own: keys, permutation, pool */

    if (reps > 200) reps = 200;
    /* 1. open of the freshly loaded store */
    measure_open(dir, reps, "open");
    eng_open(dir, 0);

    /* 2. lookups: one verifying warm-up pass over every key in random order, then `reps`
       timed batches of lk random keys (a different slice of the permutation each time) */
    eng_rbegin();
    for (i = 0; i < g_n; i++)
        if (check_key(g_perm[i])) fail("lookup", "wrong or missing value");
    eng_rend();
    lk = g_n < 200000 ? g_n : 200000;
    for (r = 0; r < reps; r++) {
        const unsigned char* kb = gather((uint64_t)r * 7919u, lk);
        double t0 = now_s();
        eng_rbegin();
        for (i = 0; i < lk; i++) {
            const void* v;
            size_t vn;
            if (!eng_get(kb + i * g_kl, g_kl, &v, &vn)) fail("lookup", "missing key");
            sum += ((const unsigned char*)v)[vn - 1];
        }
        eng_rend();
        t[r] = (now_s() - t0) / (double)lk * 1e6;
    }
    sorted_min(t, reps);
    snprintf(extra, sizeof extra, "lookups_per_rep=%llu warmup=all_keys checksum=%lu",
             (unsigned long long)lk, sum & 0xffff);
    out_line("lookup", "us", t[0], sorted_med(t, reps), extra);
    /* memory of the open store after every key was read: private (anonymous) memory above
       the driver's own, and the mapped file pages (shared page cache) */
    snprintf(extra, sizeof extra, "what=private_anon_above_driver vmrss_mb=%.1f rss_file_mb=%.1f driver_anon_mb=%.1f",
             status_mb("VmRSS"), status_mb("RssFile"), anon_base);
    out_line("rss_open", "MB", status_mb("RssAnon") - anon_base, status_mb("RssAnon") - anon_base, extra);

    /* 3. one transaction overwriting 1% of the keys (random, distinct), durable; one untimed
       warm-up round, then `reps` rounds on fresh keys.  After each round, its device floor:
       append the changed payload, m * (key + value) bytes, to a file + fdatasync. */
    m = g_n / 100;
    if (m < 1) m = 1;
    {
        char p[4096];
        int fd = floor_open(dir, p, sizeof p);
        double* t3 = (double*)xmalloc(sizeof(double) * (size_t)reps);
        for (r = -1; r < reps; r++) {
            uint64_t base = (uint64_t)(r + 1) * m;
            unsigned ver = (unsigned)(r + 2);
            const unsigned char* kb = gather(base, m);
            const unsigned char** vp = (const unsigned char**)xmalloc(m * sizeof *vp);
            double t0, t1, t9;
            for (i = 0; i < m; i++) vp[i] = val_of(perm_at(base + i), ver);
            t0 = now_s();
            eng_wbegin();
            for (i = 0; i < m; i++) eng_put(kb + i * g_kl, g_kl, vp[i], g_vs);
            t1 = now_s();
            eng_wcommit();
            t9 = now_s();
            if (r >= 0) {
                t[r] = (t9 - t0) * 1e3;
                t2[r] = (t9 - t1) * 1e3;
            }
            for (i = 0; i < m; i++) g_ver[perm_at(base + i)] = (uint16_t)ver;
            free(vp);
            floor_run(fd, r >= 0 ? t3 + r : NULL, 1, (size_t)(m * (g_kl + g_vs)), 0);
        }
        close(fd);
        unlink(p);
        sorted_min(t, reps);
        sorted_min(t2, reps);
        snprintf(extra, sizeof extra, "keys=%llu what=begin+puts+commit commit_call_min=%.3f commit_call_med=%.3f",
                 (unsigned long long)m, t2[0], sorted_med(t2, reps));
        out_line("update1pct", "ms", t[0], sorted_med(t, reps), extra);
        sorted_min(t3, reps);
        snprintf(extra, sizeof extra, "bytes=%llu what=append_changed_payload+fdatasync,interleaved",
                 (unsigned long long)(m * (g_kl + g_vs)));
        out_line("update1pct_floor", "ms", t3[0], sorted_med(t3, reps), extra);
        free(t3);
    }

    /* 4. single-key durable commits (begin + put + commit), each followed by the fdatasync
       floor on the same file system (append 64 B to a file + fdatasync), interleaved so both
       see the same disk; then the floor for an overwrite in place (pwrite at 0) */
    {
        char p[4096];
        int fd, j;
        double* st = (double*)xmalloc(sizeof(double) * (size_t)nsmall);
        double* fl = (double*)xmalloc(sizeof(double) * (size_t)nsmall);
        fd = floor_open(dir, p, sizeof p);
        for (j = -5; j < nsmall; j++) {
            uint64_t key = perm_at((uint64_t)(j + 5));
            unsigned ver = 1000u + (unsigned)(j + 5);
            double s0 = now_s();
            eng_wbegin();
            eng_put(key_of(key), g_kl, val_of(key, ver), g_vs);
            eng_wcommit();
            if (j >= 0) st[j] = (now_s() - s0) * 1e3;
            g_ver[key] = (uint16_t)ver;
            floor_run(fd, j >= 0 ? fl + j : NULL, 1, 64, 0);
        }
        sorted_min(st, nsmall);
        snprintf(extra, sizeof extra, "commits=%d p90=%.4g what=begin+put+commit", nsmall,
                 sorted_pct(st, nsmall, 90));
        out_line("commit1", "ms", st[0], sorted_med(st, nsmall), extra);
        sorted_min(fl, nsmall);
        snprintf(extra, sizeof extra, "appends=%d p90=%.4g what=append64B+fdatasync,interleaved_with_commit1",
                 nsmall, sorted_pct(fl, nsmall, 90));
        out_line("fsync_floor", "ms", fl[0], sorted_med(fl, nsmall), extra);
        floor_run(fd, fl, nsmall, 64, 1);
        sorted_min(fl, nsmall);
        snprintf(extra, sizeof extra, "writes=%d p90=%.4g what=pwrite64B_at_0+fdatasync", nsmall,
                 sorted_pct(fl, nsmall, 90));
        out_line("fsync_floor_overwrite", "ms", fl[0], sorted_med(fl, nsmall), extra);
        close(fd);
        unlink(p);
        free(st);
        free(fl);
    }

    /* verify the writes: every key touched by the updates and a sample of the rest */
    eng_rbegin();
    for (i = 0; i < g_n; i++)
        if ((g_ver[i] || i % 37 == 0) && check_key(i)) fail("verify after updates", "wrong or missing value");
    eng_rend();

    /* 5. compaction and size on disk */
    before = dir_bytes(dir);
    tc = now_s();
    cdir = eng_compact(dir);
    tc = (now_s() - tc) * 1e3;
    after = dir_bytes(cdir);
    snprintf(extra, sizeof extra, "bytes_before=%lld bytes_after=%lld payload=%llu compact_ms=%.1f",
             before, after, (unsigned long long)(g_n * (g_kl + g_vs)), tc);
    out_line("size_compacted", "x_payload", (double)after / (double)(g_n * (g_kl + g_vs)),
             (double)after / (double)(g_n * (g_kl + g_vs)), extra);
    eng_rbegin();
    for (i = 0; i < g_n; i++)
        if ((g_ver[i] || i % 37 == 0) && check_key(i)) fail("verify after compaction", "wrong or missing value");
    eng_rend();
    eng_close();
    if (strcmp(cdir, dir) != 0) {   /* a copy (LMDB): drop it */
        rm_files(cdir);
        rmdir(cdir);
    } else {
        measure_open(dir, reps, "open_after_compact");
    }
    snprintf(extra, sizeof extra, "what=process_peak_incl_driver");
    out_line("rss_peak_ops", "MB", peak_rss_mb(), peak_rss_mb(), extra);
    free(t);
    free(t2);
}

int main(int argc, char** argv) {
    const char *mode, *dir;
    int reps;
    if (argc < 6) {
        fprintf(stderr, "usage: %s load|ops DIR N VSIZE REPS\n", argv[0]);
        return 2;
    }
    mode = argv[1];
    dir = argv[2];
    g_n = (size_t)strtoull(argv[3], NULL, 10);
    g_vs = (size_t)strtoull(argv[4], NULL, 10);
    reps = atoi(argv[5]);
    if (g_n < 100 || g_vs < 1 || reps < 1) fail("usage", "N >= 100, VSIZE >= 1, REPS >= 1");
    mkdir(dir, 0755);
    make_workload();
    if (!strcmp(mode, "load")) mode_load(dir, reps);
    else if (!strcmp(mode, "ops")) mode_ops(dir, reps);
    else fail("unknown mode", mode);
    return 0;
}

/* ---- the cocoindex engine ---------------------------------------------------------------------- */
#ifndef BENCH_ENGINE_EXTERNAL
static coco_store* c_st;
static coco_txn*   c_txn;
static coco_arena* c_ar;
static char        c_path[4096];

static const char* eng_name(void) { return "coco"; }
static void eng_open(const char* dir, int create) {
    coco_store_desc d;
    coco_result rc;
    (void)create;
    snprintf(c_path, sizeof c_path, "%s/state.db", dir);
    memset(&d, 0, sizeof d);
    d.path = c_path;
    d.sync = COCO_SYNC_FULL;
    if ((rc = coco_store_open(&d, &c_st)) != COCO_OK) fail("coco_store_open", coco_store_open_errmsg());
    if (!c_ar && coco_arena_create(NULL, &c_ar) != COCO_OK) fail("coco_arena_create", "");
}
static void eng_close(void) { coco_store_close(c_st); c_st = NULL; }
static void eng_wbegin(void) {
    if (coco_store_txn_begin(c_st, &c_txn) != COCO_OK) fail("txn_begin", coco_store_errmsg(c_st));
}
static void eng_put(const void* k, size_t kn, const void* v, size_t vn) {
    if (coco_txn_put(c_txn, k, kn, v, vn) != COCO_OK) fail("txn_put", coco_store_errmsg(c_st));
}
static void eng_wcommit(void) {
    if (coco_txn_commit(c_txn) != COCO_OK) fail("txn_commit", coco_store_errmsg(c_st));
}
static void eng_rbegin(void) {}
static int eng_get(const void* k, size_t kn, const void** v, size_t* vn) {
    coco_bytes b;
    coco_result rc;
    coco_arena_reset(c_ar);   /* the value lives in the arena until the next get */
    rc = coco_store_get(c_st, k, kn, c_ar, &b);
    if (rc == COCO_ERR_NOT_FOUND) return 0;
    if (rc != COCO_OK) fail("coco_store_get", coco_store_errmsg(c_st));
    *v = b.ptr;
    *vn = b.len;
    return 1;
}
static void eng_rend(void) {}
static const char* eng_compact(const char* dir) {
    if (coco_store_compact(c_st) != COCO_OK) fail("coco_store_compact", coco_store_errmsg(c_st));
    return dir;
}
#endif
