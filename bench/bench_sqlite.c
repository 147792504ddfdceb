/* bench/bench_sqlite.c -- the SQLite connector against plain SQLite, measured in the same run.

   Rows: (id INTEGER PRIMARY KEY, text TEXT of 200 bytes, emb VECTOR(64) = a 256-byte BLOB),
   generated before any timing.  Every repetition starts from fresh files; both sides use the
   connector's settings (page_size 16384, WAL, synchronous FULL; the state store COCO_SYNC_FULL).
     plain_insert  N rows in one transaction through one prepared single-row INSERT
     plain_delete  N rows deleted in one transaction, prepared DELETE ... WHERE id = ?
     coco_insert   first update of an app declaring the N rows (N/PER memoized components of
                   PER rows each, coco_sqlite_declare_row): engine + connector + SQLite
     coco_noop     the same update again (nothing changed: no SQL write)
     coco_update   every row's text changed: N upserts of existing rows
     coco_delete   no row declared any more: N deletes
   apply_rows_per_s: N / the time spent inside the connector's row applies (BEGIN .. COMMIT,
   coco_sqlite_stats.apply_seconds): the connector + SQLite alone, to compare with plain.
   floor_rows_per_s: the same app and engine with a target whose apply does nothing.
   Usage: bench_sqlite [N] [dir] [reps] [rows_per_statement]     ($BENCH_SQLITE_PER = PER,
                                                                  default 100 rows/component)
          bench_sqlite layout [N] [dir]   WITHOUT ROWID vs rowid tables for a TEXT key
   Prints "sqlite phase=..." lines (medians of reps; best= the best rep) and the ratios. */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DIM 64
static long PER = 100;                /* rows per component ($BENCH_SQLITE_PER) */

static long   g_n;
static char*  g_text;                 /* g_n strings of TEXT_LEN bytes (+NUL) */
static float* g_emb;                  /* g_n * DIM */
static int    g_version;              /* texts of version 2 differ */
#define TEXT_LEN 200

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void gen(void) {
    long i, j;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
                                "eiusmod tempor incididunt ut labore et dolore magna aliqua ";
    g_text = (char*)malloc((size_t)g_n * (TEXT_LEN + 1));
    g_emb = (float*)malloc((size_t)g_n * DIM * sizeof(float));
    if (!g_text || !g_emb) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (i = 0; i < g_n; i++) {
        char* t = g_text + (size_t)i * (TEXT_LEN + 1);
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        for (j = 0; j < TEXT_LEN; j++) t[j] = words[(x + (uint64_t)j * 7) % (sizeof words - 1)];
        {
            char hd[32];
            int hl = snprintf(hd, sizeof hd, "doc %09ld ", i);
            memcpy(t, hd, (size_t)hl);              /* a unique head, then the words */
        }
        t[TEXT_LEN] = 0;
        for (j = 0; j < DIM; j++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            g_emb[(size_t)i * DIM + j] = (float)((double)(x >> 40) / 16777216.0 - 0.5);
        }
    }
}

static void rm_db(const char* p) {
    char b[600];
    snprintf(b, sizeof b, "%s-wal", p); unlink(b);
    snprintf(b, sizeof b, "%s-shm", p); unlink(b);
    snprintf(b, sizeof b, "%s.lock", p); unlink(b);
    unlink(p);
}

static void must(int ok, const char* what, sqlite3* db) {
    if (ok) return;
    fprintf(stderr, "bench_sqlite: %s failed: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

/* ---- plain SQLite ---------------------------------------------------------------------------- */
static sqlite3* plain_open(const char* path) {
    sqlite3* db;
    rm_db(path);
    must(sqlite3_open(path, &db) == SQLITE_OK, "open", NULL);
    must(sqlite3_exec(db, "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; "
                          "PRAGMA synchronous = FULL", NULL, NULL, NULL) == SQLITE_OK,
         "pragma", db);
    return db;
}

static void plain_phases(const char* dir, double* t_ins, double* t_del) {
    char path[512];
    sqlite3* db;
    sqlite3_stmt* st;
    long i;
    double t0;
    snprintf(path, sizeof path, "%s/plain.sqlite", dir);
    db = plain_open(path);
    must(sqlite3_exec(db, "CREATE TABLE docs (id INTEGER PRIMARY KEY NOT NULL, text TEXT NOT "
                          "NULL, emb F32_BLOB(64))", NULL, NULL, NULL) == SQLITE_OK,
         "create", db);
    t0 = now();
    must(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "begin", db);
    must(sqlite3_prepare_v2(db, "INSERT INTO docs (id, text, emb) VALUES (?, ?, ?)", -1, &st,
                            NULL) == SQLITE_OK, "prepare", db);
    for (i = 0; i < g_n; i++) {
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_text(st, 2, g_text + (size_t)i * (TEXT_LEN + 1), TEXT_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, g_emb + (size_t)i * DIM, DIM * 4, SQLITE_STATIC);
        must(sqlite3_step(st) == SQLITE_DONE, "insert", db);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "commit", db);
    *t_ins = now() - t0;
    t0 = now();
    must(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, "begin", db);
    must(sqlite3_prepare_v2(db, "DELETE FROM docs WHERE id = ?", -1, &st, NULL) == SQLITE_OK,
         "prepare", db);
    for (i = 0; i < g_n; i++) {
        sqlite3_bind_int64(st, 1, i);
        must(sqlite3_step(st) == SQLITE_DONE, "delete", db);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "commit", db);
    *t_del = now() - t0;
    sqlite3_close(db);
    rm_db(path);
}

/* ---- the app --------------------------------------------------------------------------------- */
static coco_target* g_sql;            /* the container (NULL: floor mode) */
static coco_target* g_null;           /* floor mode: a target that does nothing */
static long         g_chunks;
static const coco_sqlite_column g_cols[3] = {
    { "id", COCO_SQLITE_INTEGER, 0, 0 },
    { "text", COCO_SQLITE_TEXT, 0, 0 },
    { "emb", COCO_SQLITE_VECTOR, DIM, 1 },
};
static const char* const g_pk[1] = { "id" };
static const coco_sqlite_table g_tab = { "docs", g_cols, 3, g_pk, 1,
                                         COCO_SQLITE_MANAGED_DEFAULT };

static coco_result null_apply(void* u, const coco_action* a, size_t n, char* e, size_t c) {
    (void)u; (void)a; (void)n; (void)e; (void)c;
    return COCO_OK;
}
static const coco_target_vtable null_vt = { NULL, null_apply };

static coco_result rows_key(const void* o, coco_arena* ar, coco_value* out) {
    (void)o; (void)ar;
    *out = coco_str("rows");
    return COCO_OK;
}
static const coco_object_vtable rows_obj_vt = { "bench.rows", rows_key, NULL };

static coco_result chunk(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const coco_value* it = a[0].u.list.items;
    coco_target* rows = (coco_target*)it[0].u.obj.obj;
    long c = (long)it[1].u.i, i, end = (c + 1) * PER < g_n ? (c + 1) * PER : g_n;
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_result rc;
    (void)n; (void)r;
    for (i = c * PER; i < end; i++) {
        const char* t = g_text + (size_t)i * (TEXT_LEN + 1);
        coco_value v[3];
        if (it[2].u.i >= 2) {
            char* t2 = (char*)coco_arena_alloc(ar, TEXT_LEN + 1);
            memcpy(t2, t, TEXT_LEN + 1);
            t2[TEXT_LEN - 1] = '2';
            t = t2;
        }
        v[0] = coco_int(i);
        v[1] = coco_strn(t, TEXT_LEN);
        v[2] = coco_vec_f32(g_emb + (size_t)i * DIM, DIM);
        if (g_sql) {
            rc = coco_sqlite_declare_row(ctx, rows, v, 3);
        } else {
            /* the same key/value format, declared into a target that does nothing */
            coco_map_entry e[2];
            e[0].key = "emb"; e[0].key_len = 3; e[0].val = v[2];
            e[1].key = "text"; e[1].key_len = 4; e[1].val = v[1];
            rc = coco_declare(ctx, rows, coco_list(&v[0], 1), coco_map(e, 2));
        }
        if (rc != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn chunk_fn = { "chunk", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, chunk };

static coco_result app_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_target* rows = g_null;
    coco_value *keys, *items;
    coco_result rc;
    long c;
    (void)a; (void)n; (void)r;
    if (g_sql && (rc = coco_sqlite_mount_table(ctx, g_sql, &g_tab, &rows)) != COCO_OK) return rc;
    keys = (coco_value*)coco_arena_alloc(ar, (size_t)(g_chunks + 1) * sizeof *keys);
    items = (coco_value*)coco_arena_alloc(ar, (size_t)(g_chunks + 1) * sizeof *items);
    for (c = 0; c < g_chunks; c++) {
        coco_value* it = (coco_value*)coco_arena_alloc(ar, 3 * sizeof *it);
        it[0] = coco_object(&rows_obj_vt, rows);
        it[1] = coco_int(c);
        it[2] = coco_int(g_version);
        keys[c] = coco_int(c);
        items[c] = coco_list(it, 3);
    }
    return coco_mount_each(ctx, &chunk_fn, keys, items, (size_t)g_chunks);
}
static const coco_fn app_fn = { "bench_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, app_main };

static void upd(coco_app* app, const char* what) {
    coco_stats s;
    coco_result rc = coco_app_update(app, NULL, &s);
    if (rc != COCO_OK) {
        fprintf(stderr, "bench_sqlite: %s: %s: %s\n", what, coco_result_str(rc),
                coco_app_errmsg(app));
        exit(1);
    }
}

/* seconds the connector spent in row applies so far (BEGIN .. COMMIT) */
static double apply_s(void) {
    coco_sqlite_stats s;
    if (!g_sql) return 0;
    coco_sqlite_stats_get(g_sql, &s);
    return s.apply_seconds;
}

/* t[0] insert, t[1] noop, t[2] update, t[3] delete; a[]: of which inside the row applies */
static void app_phases(const char* dir, int floor, uint32_t rps, double* t, double* a) {
    char state[512], dbp[512];
    coco_env_desc ed;
    coco_sqlite_desc sd;
    coco_app_desc ad;
    coco_env* env;
    coco_app* app;
    double t0;
    int i;
    snprintf(state, sizeof state, "%s/state.db", dir);
    snprintf(dbp, sizeof dbp, "%s/coco.sqlite", dir);
    rm_db(state);
    rm_db(dbp);
    memset(&ed, 0, sizeof ed);
    ed.db_path = state;
    if (coco_env_open(&ed, &env) != COCO_OK) { fprintf(stderr, "env open failed\n"); exit(1); }
    g_sql = g_null = NULL;
    if (floor) {
        if (coco_target_register(env, "null", &null_vt, NULL, &g_null) != COCO_OK) exit(1);
    } else {
        memset(&sd, 0, sizeof sd);
        sd.db_path = dbp;
        sd.rows_per_statement = rps;
        if (coco_sqlite_target_create(env, &sd, &g_sql) != COCO_OK) {
            fprintf(stderr, "bench_sqlite: %s\n", coco_env_errmsg(env));
            exit(1);
        }
    }
    memset(&ad, 0, sizeof ad);
    ad.name = "bench";
    ad.main = &app_fn;
    ad.arg = coco_null();
    if (coco_app_create(env, &ad, &app) != COCO_OK) exit(1);
    g_chunks = (g_n + PER - 1) / PER;
    g_version = 1;
    t0 = now(); upd(app, "insert"); t[0] = now() - t0; a[0] = apply_s();
    t0 = now(); upd(app, "noop");   t[1] = now() - t0; a[1] = apply_s();
    g_version = 2;
    t0 = now(); upd(app, "update"); t[2] = now() - t0; a[2] = apply_s();
    g_chunks = 0;
    t0 = now(); upd(app, "delete"); t[3] = now() - t0; a[3] = apply_s();
    for (i = 3; i > 0; i--) a[i] -= a[i - 1];
    if (getenv("BENCH_SQLITE_STATS") && g_sql) {
        coco_sqlite_stats s;
        coco_sqlite_stats_get(g_sql, &s);
        fprintf(stderr, "stats applies=%llu statements=%llu max_batch=%llu upserts=%llu "
                "deletes=%llu\n", (unsigned long long)s.applies,
                (unsigned long long)s.statements, (unsigned long long)s.max_batch,
                (unsigned long long)s.upserts, (unsigned long long)s.deletes);
    }
    if (g_sql) {
        sqlite3* db = coco_sqlite_db(g_sql);
        sqlite3_stmt* st = NULL;
        long left = -1;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM docs", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            left = (long)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (left != 0) { fprintf(stderr, "bench_sqlite: %ld rows left\n", left); exit(1); }
    }
    coco_app_destroy(app);
    coco_sqlite_target_close(g_sql);
    coco_env_close(env);
    rm_db(state);
    rm_db(dbp);
}

static int cmp_d(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}
static double med(double* v, int n) { qsort(v, (size_t)n, sizeof *v, cmp_d); return v[n / 2]; }
static double best(double* v, int n) { qsort(v, (size_t)n, sizeof *v, cmp_d); return v[0]; }

/* ---- layout: WITHOUT ROWID vs rowid (+ unique index) for a TEXT key -------------------------- */
/* dim 0: small rows (TEXT key + one INTEGER); else TEXT key + 200-byte text + F32_BLOB(dim).
   Keys in hash order (content-derived ids), or sorted as one apply batch writes them. */
static void layout1(const char* path, int dim, int rowid, int sorted) {
    float* v = (float*)calloc(768, sizeof(float));
    double ti[3], tu[3];
    char key[32], sql[300];
    int rep;
    long i;
    for (rep = 0; rep < 3; rep++) {
        sqlite3* db = plain_open(path);
        sqlite3_stmt* st;
        double t0;
        if (dim)
            snprintf(sql, sizeof sql, "CREATE TABLE t (k TEXT NOT NULL, text TEXT NOT NULL, "
                     "emb F32_BLOB(%d), PRIMARY KEY (k))%s", dim, rowid ? "" : " WITHOUT ROWID");
        else
            snprintf(sql, sizeof sql, "CREATE TABLE t (k TEXT NOT NULL, n INTEGER, PRIMARY "
                     "KEY (k))%s", rowid ? "" : " WITHOUT ROWID");
        must(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "create", db);
        must(sqlite3_prepare_v2(db, dim ? "INSERT INTO t VALUES (?, ?, ?) ON CONFLICT (k) DO "
                                          "UPDATE SET text = excluded.text, emb = excluded.emb"
                                        : "INSERT INTO t VALUES (?, ?) ON CONFLICT (k) DO "
                                          "UPDATE SET n = excluded.n", -1, &st, NULL) == SQLITE_OK,
             "prepare", db);
        t0 = now();
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (i = 0; i < g_n; i++) {
            unsigned long h = sorted ? (unsigned long)i
                                     : (unsigned long)((uint64_t)i * 2654435761u % 4294967291u);
            snprintf(key, sizeof key, "doc-%08lx", h);
            sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
            if (dim) {
                const void* e = dim == DIM ? (const void*)(g_emb + (size_t)i * DIM)
                                           : (const void*)v;
                sqlite3_bind_text(st, 2, g_text + (size_t)i * (TEXT_LEN + 1), TEXT_LEN,
                                  SQLITE_STATIC);
                sqlite3_bind_blob(st, 3, e, dim * 4, SQLITE_STATIC);
            } else {
                sqlite3_bind_int64(st, 2, i);
            }
            must(sqlite3_step(st) == SQLITE_DONE, "insert", db);
            sqlite3_reset(st);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        ti[rep] = now() - t0;
        t0 = now();
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (i = 0; i < g_n; i += 10) {
            snprintf(key, sizeof key, "doc-%08lx",
                     (unsigned long)((uint64_t)i * 2654435761u % 4294967291u));
            sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
            if (dim) {
                sqlite3_bind_text(st, 2, "changed", -1, SQLITE_STATIC);
                sqlite3_bind_blob(st, 3, v, dim * 4, SQLITE_STATIC);
            } else {
                sqlite3_bind_int64(st, 2, -i);
            }
            must(sqlite3_step(st) == SQLITE_DONE, "update", db);
            sqlite3_reset(st);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        tu[rep] = now() - t0;
        sqlite3_finalize(st);
        sqlite3_close(db);
        rm_db(path);
    }
    printf("sqlite layout=%s row=%s keys=%s n=%ld insert_rows_per_s=%.0f "
           "update10pct_random_rows_per_s=%.0f\n", rowid ? "rowid_pk_index" : "without_rowid",
           dim == 0 ? "small" : dim == DIM ? "text200+vec64" : "text200+vec768",
           sorted ? "sorted" : "hashed", g_n, (double)g_n / med(ti, 3),
           (double)(g_n / 10) / med(tu, 3));
    free(v);
}

static void layout(const char* dir) {
    static const int dims[3] = { 0, 64, 768 };
    char path[512];
    int d, k, srt;
    snprintf(path, sizeof path, "%s/layout.sqlite", dir);
    for (d = 0; d < 3; d++)
        for (srt = 0; srt < 2; srt++)
            for (k = 0; k < 2; k++) layout1(path, dims[d], k, srt);
}

int main(int argc, char** argv) {
    const char* dir;
    int reps, r, i;
    uint32_t rps;
    double pi[16], pd[16], ci[4][16], fi[4][16], ai[4][16];
    static const char* names[4] = { "insert", "noop", "update", "delete" };
    if (argc > 1 && strcmp(argv[1], "layout") == 0) {
        g_n = argc > 2 ? atol(argv[2]) : 100000;
        dir = argc > 3 ? argv[3] : "/tmp";
        gen();
        layout(dir);
        return 0;
    }
    g_n = argc > 1 ? atol(argv[1]) : 100000;
    dir = argc > 2 ? argv[2] : "/tmp";
    reps = argc > 3 ? atoi(argv[3]) : 3;
    if (getenv("BENCH_SQLITE_PER") && atol(getenv("BENCH_SQLITE_PER")) > 0)
        PER = atol(getenv("BENCH_SQLITE_PER"));
    rps = argc > 4 ? (uint32_t)atol(argv[4]) : 0;
    if (g_n < 1 || reps < 1 || reps > 16) { fprintf(stderr, "bad arguments\n"); return 2; }
    gen();
    for (r = 0; r < reps; r++) {
        double t[4], f[4], a[4], fa[4];
        plain_phases(dir, &pi[r], &pd[r]);
        app_phases(dir, 0, rps, t, a);
        app_phases(dir, 1, rps, f, fa);
        for (i = 0; i < 4; i++) { ci[i][r] = t[i]; fi[i][r] = f[i]; ai[i][r] = a[i]; }
    }
    printf("sqlite n=%ld rows_per_component=%ld rows_per_statement=%u reps=%d sqlite=%s\n", g_n,
           PER, rps ? rps : 64u, reps, sqlite3_libversion());
    printf("sqlite phase=plain_insert rows_per_s=%.0f best=%.0f\n", (double)g_n / med(pi, reps),
           (double)g_n / best(pi, reps));
    printf("sqlite phase=plain_delete rows_per_s=%.0f best=%.0f\n", (double)g_n / med(pd, reps),
           (double)g_n / best(pd, reps));
    for (i = 0; i < 4; i++) {
        double c = med(ci[i], reps), f = med(fi[i], reps);
        if (i == 1) {
            printf("sqlite phase=coco_noop seconds=%.4f floor_seconds=%.4f\n", c, f);
            continue;
        }
        printf("sqlite phase=coco_%s rows_per_s=%.0f best=%.0f apply_rows_per_s=%.0f "
               "floor_rows_per_s=%.0f\n", names[i], (double)g_n / c,
               (double)g_n / best(ci[i], reps), (double)g_n / med(ai[i], reps),
               (double)g_n / f);
    }
    {
        double c_ins = med(ci[0], reps), c_del = med(ci[3], reps);
        double a_ins = med(ai[0], reps), a_del = med(ai[3], reps);
        double p_ins = med(pi, reps), p_del = med(pd, reps);
        printf("sqlite ratio insert app/plain=%.3f apply/plain=%.3f (of rows/s: 1 = as fast as "
               "plain SQLite)\n", p_ins / c_ins, p_ins / a_ins);
        printf("sqlite ratio delete app/plain=%.3f apply/plain=%.3f\n", p_del / c_del,
               p_del / a_del);
    }
    free(g_text);
    free(g_emb);
    return 0;
}
