/* tests/test_sqlite.c -- the SQLite table connector (connectors/cocoindex_sqlite.h) driven by
   real engine apps: a state db and a SQLite db under a temp dir.  Scenario ids from
   SCENARIOS.md are cited per test.  Writes are counted with sqlite3_update_hook (rowid
   tables) and sqlite3_total_changes on the connector's own connection.
   Build: cc -std=c99 ... -o build/test_sqlite tests/test_sqlite.c -lpthread -lsqlite3 */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_sqlite.h"
#include "coco_test.h"

#include <math.h>
#define ABS(x) ((x) < 0 ? -(x) : (x))
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUMP(x) __atomic_fetch_add(&(x), 1, __ATOMIC_SEQ_CST)

/* ---- the world: env + sqlite target + app ------------------------------------------------- */
static char g_dir[256];
static int  g_seq;

typedef struct world {
    coco_env*    env;
    coco_app*    app;
    coco_target* sql;
    char         state[300];
    char         dbp[300];
} world;

static pthread_mutex_t g_errmu = PTHREAD_MUTEX_INITIALIZER;
static char g_err[4096];
static int  g_nerr;
static void on_error(void* user, const coco_error_info* e) {
    (void)user;
    pthread_mutex_lock(&g_errmu);
    {
        size_t l = strlen(g_err);                   /* every message of the update, in order */
        snprintf(g_err + l, sizeof g_err - l, "%s%s", l ? " | " : "", e->msg ? e->msg : "");
    }
    g_nerr++;
    pthread_mutex_unlock(&g_errmu);
}

static uint32_t g_rows_per_stmt;      /* desc.rows_per_statement of the next world_open */
static world*   g_w;                  /* the world the app bodies see */

static void world_new(world* w) {
    memset(w, 0, sizeof *w);
    g_seq++;
    snprintf(w->state, sizeof w->state, "%s/state%d.db", g_dir, g_seq);
    snprintf(w->dbp, sizeof w->dbp, "%s/out%d.sqlite", g_dir, g_seq);
}

static coco_result world_open(world* w, const coco_fn* main_fn, const char* app_name) {
    coco_env_desc ed;
    coco_sqlite_desc sd;
    coco_app_desc ad;
    coco_result rc;
    memset(&ed, 0, sizeof ed);
    ed.db_path = w->state;
    ed.sync = COCO_SYNC_NONE;
    ed.on_error = on_error;
    if ((rc = coco_env_open(&ed, &w->env)) != COCO_OK) return rc;
    memset(&sd, 0, sizeof sd);
    sd.db_path = w->dbp;
    sd.sync = COCO_SYNC_NONE;
    sd.rows_per_statement = g_rows_per_stmt;
    if ((rc = coco_sqlite_target_create(w->env, &sd, &w->sql)) != COCO_OK) return rc;
    memset(&ad, 0, sizeof ad);
    ad.name = app_name;
    ad.main = main_fn;
    ad.arg = coco_null();
    g_w = w;
    return coco_app_create(w->env, &ad, &w->app);
}

static void world_close(world* w) {
    coco_app_destroy(w->app);
    coco_sqlite_target_close(w->sql);
    coco_env_close(w->env);
    w->app = NULL;
    w->env = NULL;
    w->sql = NULL;
}

static coco_result update(world* w) {
    pthread_mutex_lock(&g_errmu);
    g_err[0] = 0;
    g_nerr = 0;
    pthread_mutex_unlock(&g_errmu);
    return coco_app_update(w->app, NULL, NULL);
}

/* ---- counting writes ------------------------------------------------------------------------ */
static int g_ins, g_upd, g_del;
static long g_kill_after;             /* child processes: SIGKILL after this many row writes */
static void on_write(void* user, int op, const char* dbn, const char* tbl, sqlite3_int64 rowid) {
    (void)user; (void)dbn; (void)tbl; (void)rowid;
    if (op == SQLITE_INSERT) BUMP(g_ins);
    else if (op == SQLITE_UPDATE) BUMP(g_upd);
    else if (op == SQLITE_DELETE) BUMP(g_del);
    if (g_kill_after && g_ins + g_upd + g_del >= g_kill_after) raise(SIGKILL);
}
static void hook(world* w) {
    sqlite3_update_hook(coco_sqlite_db(w->sql), on_write, NULL);
    g_ins = g_upd = g_del = 0;
}
static void counts_reset(void) { g_ins = g_upd = g_del = 0; }

/* ---- small SQL helpers ---------------------------------------------------------------------- */
static long long q_int(sqlite3* db, const char* sql) {
    sqlite3_stmt* st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}
static const char* q_text(sqlite3* db, const char* sql, char* out, size_t cap) {
    sqlite3_stmt* st = NULL;
    out[0] = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char*)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}
static int table_exists(sqlite3* db, const char* name) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
             "name='%s'", name);
    return q_int(db, sql) == 1;
}
static int exec_ok(sqlite3* db, const char* sql) {
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}
/* FNV-1a over every value of every row (types included), rows in key order */
static uint64_t table_hash(sqlite3* db, const char* sql, long long* nrows) {
    sqlite3_stmt* st = NULL;
    uint64_t h = 1469598103934665603ull;
    int i, n;
    *nrows = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    n = sqlite3_column_count(st);
    while (sqlite3_step(st) == SQLITE_ROW) {
        (*nrows)++;
        for (i = 0; i < n; i++) {
            const unsigned char* p;
            int len, k, ty = sqlite3_column_type(st, i);
            h = (h ^ (uint64_t)ty) * 1099511628211ull;
            if (ty == SQLITE_BLOB) p = (const unsigned char*)sqlite3_column_blob(st, i);
            else p = sqlite3_column_text(st, i);
            len = sqlite3_column_bytes(st, i);
            for (k = 0; k < len; k++) h = (h ^ p[k]) * 1099511628211ull;
        }
    }
    sqlite3_finalize(st);
    return h;
}

/* ---- the "docs" app: one child component per document, one row each ------------------------- */
typedef struct doc { int64_t id; char title[64]; double score; char lang[8]; float emb[4]; } doc;
static doc g_docs[64];
static int g_ndocs;
static int g_row_calls;

static coco_sqlite_column g_cols[8];
static const char*        g_pk[2];
static coco_sqlite_table  g_tab;

static void tab_reset(const char* name) {
    memset(g_cols, 0, sizeof g_cols);
    g_cols[0].name = "id";    g_cols[0].type = COCO_SQLITE_INTEGER;
    g_cols[1].name = "title"; g_cols[1].type = COCO_SQLITE_TEXT;
    g_cols[2].name = "score"; g_cols[2].type = COCO_SQLITE_REAL;   g_cols[2].nullable = 1;
    g_cols[3].name = "emb";   g_cols[3].type = COCO_SQLITE_VECTOR; g_cols[3].dim = 4;
    g_cols[3].nullable = 1;
    g_pk[0] = "id";
    memset(&g_tab, 0, sizeof g_tab);
    g_tab.name = name;
    g_tab.columns = g_cols;
    g_tab.ncolumns = 4;
    g_tab.primary_key = g_pk;
    g_tab.nprimary_key = 1;
}
static void tab_add(const char* name, coco_sqlite_type type, uint32_t dim, int nullable) {
    coco_sqlite_column* c = &g_cols[g_tab.ncolumns++];
    c->name = name; c->type = type; c->dim = dim; c->nullable = nullable;
}
static void tab_remove(const char* name) {
    size_t i;
    for (i = 0; i < g_tab.ncolumns; i++)
        if (strcmp(g_cols[i].name, name) == 0) {
            memmove(&g_cols[i], &g_cols[i + 1], (g_tab.ncolumns - i - 1) * sizeof g_cols[0]);
            g_tab.ncolumns--;
            return;
        }
}
static void docs_reset(int n) {
    int i, j;
    memset(g_docs, 0, sizeof g_docs);
    g_ndocs = n;
    for (i = 0; i < n; i++) {
        g_docs[i].id = i + 1;
        snprintf(g_docs[i].title, sizeof g_docs[i].title, "title %d", i + 1);
        g_docs[i].score = 0.5 * (i + 1);
        snprintf(g_docs[i].lang, sizeof g_docs[i].lang, "%s", i % 2 ? "en" : "fr");
        for (j = 0; j < 4; j++) g_docs[i].emb[j] = (float)(i + 1) * 0.25f + (float)j;
    }
}

static coco_result rows_key(const void* o, coco_arena* ar, coco_value* out) {
    (void)o; (void)ar;
    *out = coco_str("rows-target");
    return COCO_OK;
}
static const coco_object_vtable rows_obj_vt = { "sqlite.rows", rows_key, NULL };

/* item = [rows, id, title, score, lang, emb]; the row follows the current column list */
static coco_result row_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const coco_value* it = a[0].u.list.items;
    coco_target* rows = (coco_target*)it[0].u.obj.obj;
    coco_value vals[8];
    size_t i;
    (void)n; (void)r;
    BUMP(g_row_calls);
    for (i = 0; i < g_tab.ncolumns; i++) {
        const char* c = g_cols[i].name;
        if (!strcmp(c, "id")) vals[i] = it[1];
        else if (!strcmp(c, "num")) vals[i] = coco_int(it[1].u.i * 10);
        else if (!strcmp(c, "title")) vals[i] = it[2];
        else if (!strcmp(c, "score")) vals[i] = it[3];
        else if (!strcmp(c, "lang")) vals[i] = it[4];
        else if (!strcmp(c, "emb") && g_cols[i].dim == 4) vals[i] = it[5];
        else if (!strcmp(c, "emb")) {
            float* v = (float*)coco_arena_alloc(coco_ctx_arena(ctx), g_cols[i].dim * sizeof *v);
            size_t k;
            for (k = 0; k < g_cols[i].dim; k++) v[k] = it[5].u.vec.ptr[k % 4];
            vals[i] = coco_vec_f32(v, g_cols[i].dim);
        } else vals[i] = coco_null();
    }
    return coco_sqlite_declare_row(ctx, rows, vals, g_tab.ncolumns);
}
static const coco_fn row_fn = { "row", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, row_body };

static coco_result docs_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_target* rows;
    coco_value* keys;
    coco_value* items;
    coco_result rc;
    int i;
    (void)a; (void)n; (void)r;
    if ((rc = coco_sqlite_mount_table(ctx, g_w->sql, &g_tab, &rows)) != COCO_OK) return rc;
    keys = (coco_value*)coco_arena_alloc(ar, (size_t)(g_ndocs + 1) * sizeof *keys);
    items = (coco_value*)coco_arena_alloc(ar, (size_t)(g_ndocs + 1) * sizeof *items);
    for (i = 0; i < g_ndocs; i++) {
        coco_value* it = (coco_value*)coco_arena_alloc(ar, 6 * sizeof *it);
        const doc* d = &g_docs[i];
        it[0] = coco_object(&rows_obj_vt, rows);
        it[1] = coco_int(d->id);
        it[2] = coco_str(d->title);
        it[3] = d->score != d->score || d->score != 0 ? coco_float(d->score) : coco_null();
        it[4] = coco_str(d->lang);
        it[5] = coco_vec_f32(d->emb, 4);
        keys[i] = coco_int(d->id);
        items[i] = coco_list(it, 6);
    }
    return coco_mount_each(ctx, &row_fn, keys, items, (size_t)g_ndocs);
}
static const coco_fn docs_fn = { "docs_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, docs_main };

/* TGT-01, TGT-09: create + insert; an unchanged re-run writes nothing */
static void sql01_create_insert_then_noop_writes_nothing(void) {
    world w;
    sqlite3* db;
    coco_sqlite_stats st;
    int changes;
    char buf[64];
    world_new(&w);
    tab_reset("docs");
    docs_reset(5);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    REQUIRE(db != NULL);
    hook(&w);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 5);
    CHECK_INT_EQ(g_ins, 5);
    CHECK_STR_EQ(q_text(db, "SELECT title FROM docs WHERE id = 3", buf, sizeof buf), "title 3");
    CHECK_INT_EQ(q_int(db, "SELECT length(emb) FROM docs WHERE id = 2"), 16);
    CHECK_INT_EQ(q_int(db, "SELECT score * 10 FROM docs WHERE id = 4"), 20);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.creates, 1);
    CHECK_INT_EQ(st.upserts, 5);
    CHECK(st.statements < 5);                       /* multi-row statements */
    /* nothing changed: no SQL write at all */
    changes = sqlite3_total_changes(db);
    counts_reset();
    g_row_calls = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(sqlite3_total_changes(db), changes);
    CHECK_INT_EQ(g_ins + g_upd + g_del, 0);
    CHECK_INT_EQ(g_row_calls, 0);
    world_close(&w);
    /* a new process (fresh env, same dbs): still nothing */
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    hook(&w);
    changes = sqlite3_total_changes(db);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(sqlite3_total_changes(db), changes);
    CHECK_INT_EQ(g_ins + g_upd + g_del, 0);
    world_close(&w);
}

/* Closing the env closes the connection: no explicit coco_sqlite_target_close needed (the
   WAL file goes away only when the last connection closes; ASan would see a leak). */
static void sql_env_close_closes_the_database(void) {
    world w;
    char wal[600];
    struct stat sb;
    world_new(&w);
    tab_reset("docs");
    docs_reset(3);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    snprintf(wal, sizeof wal, "%s-wal", w.dbp);
    CHECK(stat(wal, &sb) == 0);                     /* open: the WAL exists */
    coco_app_destroy(w.app);
    coco_env_close(w.env);                          /* no coco_sqlite_target_close */
    CHECK(stat(wal, &sb) != 0);                     /* closed: checkpointed and removed */
}

/* TGT-01: one changed row is exactly one UPDATE; one removed row exactly one DELETE */
static void sql02_change_one_row_is_one_update_remove_one_is_one_delete(void) {
    world w;
    sqlite3* db;
    int changes;
    char buf[64];
    world_new(&w);
    tab_reset("docs");
    docs_reset(6);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    hook(&w);
    CHECK_INT_EQ(update(&w), COCO_OK);
    snprintf(g_docs[2].title, sizeof g_docs[2].title, "changed");
    counts_reset();
    changes = sqlite3_total_changes(db);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_upd, 1);
    CHECK_INT_EQ(g_ins + g_del, 0);
    CHECK_INT_EQ(sqlite3_total_changes(db) - changes, 1);
    CHECK_STR_EQ(q_text(db, "SELECT title FROM docs WHERE id = 3", buf, sizeof buf), "changed");
    g_docs[4] = g_docs[--g_ndocs];                  /* id 5 goes */
    counts_reset();
    changes = sqlite3_total_changes(db);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_del, 1);
    CHECK_INT_EQ(g_ins + g_upd, 0);
    CHECK_INT_EQ(sqlite3_total_changes(db) - changes, 1);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs WHERE id = 5"), 0);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 5);
    world_close(&w);
}

/* TGT-06 (lossy): columns added and removed: ALTER in place, every row written again */
static void sql03_add_and_drop_column_alter_in_place(void) {
    world w;
    sqlite3* db;
    coco_sqlite_stats st;
    long long root;
    char buf[64];
    world_new(&w);
    tab_reset("docs");
    docs_reset(4);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    hook(&w);
    CHECK_INT_EQ(update(&w), COCO_OK);
    root = q_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 'docs'");
    tab_add("lang", COCO_SQLITE_TEXT, 0, 1);
    counts_reset();
    g_row_calls = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.alters, 1);
    CHECK_INT_EQ(st.creates, 1);
    CHECK_INT_EQ(st.drops, 0);
    CHECK_INT_EQ(q_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 'docs'"), root);
    CHECK_INT_EQ(g_row_calls, 4);                   /* the producers ran again */
    CHECK_INT_EQ(g_upd, 4);                         /* rows rewritten in place */
    CHECK_INT_EQ(g_ins + g_del, 0);
    CHECK_STR_EQ(q_text(db, "SELECT lang FROM docs WHERE id = 2", buf, sizeof buf), "en");
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs WHERE lang IS NULL"), 0);
    /* a column goes */
    tab_remove("score");
    counts_reset();
    CHECK_INT_EQ(update(&w), COCO_OK);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.alters, 2);
    CHECK_INT_EQ(st.drops, 0);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM pragma_table_info('docs') WHERE name='score'"),
                 0);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 4);
    CHECK_INT_EQ(g_ins + g_del, 0);
    /* and then nothing */
    counts_reset();
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_ins + g_upd + g_del, 0);
    world_close(&w);
}

/* TGT-06 (destructive): a primary-key change recreates the table and backfills every row
   without user action */
static void sql04_primary_key_change_recreates_and_backfills(void) {
    world w;
    sqlite3* db;
    coco_sqlite_stats st;
    char buf[64];
    world_new(&w);
    tab_reset("docs");
    docs_reset(5);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    hook(&w);
    CHECK_INT_EQ(update(&w), COCO_OK);
    tab_add("num", COCO_SQLITE_INTEGER, 0, 0);
    g_pk[0] = "num";
    counts_reset();
    g_row_calls = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.drops, 1);
    CHECK_INT_EQ(st.creates, 2);
    CHECK_INT_EQ(g_row_calls, 5);                   /* backfill: producers re-ran */
    CHECK_INT_EQ(g_ins, 5);                         /* into the new table */
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 5);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM pragma_table_info('docs') WHERE pk = 1 AND "
                           "name = 'num'"), 1);
    CHECK_STR_EQ(q_text(db, "SELECT title FROM docs WHERE num = 30", buf, sizeof buf),
                 "title 3");
    /* steady again; then one doc changes: one update by the new key */
    counts_reset();
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_ins + g_upd + g_del, 0);
    snprintf(g_docs[0].title, sizeof g_docs[0].title, "first");
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_upd, 1);
    CHECK_STR_EQ(q_text(db, "SELECT title FROM docs WHERE num = 10", buf, sizeof buf), "first");
    world_close(&w);
}

/* TGT-06: a vector dimension change is destructive too */
static void sql05_vector_dimension_change_recreates(void) {
    world w;
    sqlite3* db;
    coco_sqlite_stats st;
    world_new(&w);
    tab_reset("docs");
    docs_reset(3);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    CHECK_INT_EQ(update(&w), COCO_OK);
    g_cols[3].dim = 8;
    CHECK_INT_EQ(update(&w), COCO_OK);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.drops, 1);
    CHECK_INT_EQ(st.creates, 2);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs WHERE length(emb) = 32"), 3);
    world_close(&w);
}

/* TGT-07: a USER table is never created, altered or dropped; its rows are ours */
static void sql06_user_managed_table_never_created_or_dropped(void) {
    world w;
    sqlite3* db;
    coco_sqlite_stats st;
    long long root;
    world_new(&w);
    tab_reset("mine");
    g_tab.managed_by = COCO_SQLITE_MANAGED_USER;
    docs_reset(3);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    REQUIRE(exec_ok(db, "CREATE TABLE mine (id INTEGER PRIMARY KEY, title TEXT, score REAL, "
                        "emb BLOB, extra TEXT DEFAULT 'x')"));
    REQUIRE(exec_ok(db, "INSERT INTO mine (id, title) VALUES (100, 'theirs')"));
    root = q_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 'mine'");
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM mine"), 4);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM mine WHERE extra = 'x'"), 4);
    /* a spec change alters nothing but rewrites the rows */
    tab_add("lang", COCO_SQLITE_TEXT, 0, 1);
    CHECK(exec_ok(db, "ALTER TABLE mine ADD COLUMN lang TEXT"));
    g_row_calls = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_row_calls, 3);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM mine WHERE lang IS NOT NULL"), 3);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.creates + st.alters + st.drops, 0);
    CHECK_INT_EQ(q_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 'mine'"), root);
    /* no longer declared: rows deleted, table kept */
    g_ndocs = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK(table_exists(db, "mine"));
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM mine"), 1);   /* only the user's row */
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.drops, 0);
    world_close(&w);
}

/* TGT-07: a USER table that does not exist is a clear error, and nothing is created */
static void sql07_user_managed_table_missing_is_a_clear_error(void) {
    world w;
    world_new(&w);
    tab_reset("absent");
    g_tab.managed_by = COCO_SQLITE_MANAGED_USER;
    docs_reset(2);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    CHECK(update(&w) != COCO_OK);
    CHECK_STR_CONTAINS(g_err, "absent");
    CHECK_STR_CONTAINS(g_err, "managed_by USER");
    CHECK(!table_exists(coco_sqlite_db(w.sql), "absent"));
    world_close(&w);
}

/* ---- DROP-01 --------------------------------------------------------------------------------- */
static int g_two_tables;
static int g_main_ran;
static coco_sqlite_column g_mine_cols[2];
static const char* const  g_mine_pk[] = { "k" };
static coco_sqlite_table  g_mine;
static coco_result two_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_target* mine;
    coco_value v[2];
    coco_result rc;
    BUMP(g_main_ran);
    if ((rc = docs_main(ctx, a, n, r)) != COCO_OK) return rc;
    if (!g_two_tables) return COCO_OK;
    if ((rc = coco_sqlite_mount_table(ctx, g_w->sql, &g_mine, &mine)) != COCO_OK) return rc;
    v[0] = coco_str("ours");
    v[1] = coco_int(1);
    return coco_sqlite_declare_row(ctx, mine, v, 2);
}
static const coco_fn two_fn = { "two_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, two_main };

static void sql08_drop_app_drops_only_tables_it_created(void) {
    world w;
    sqlite3* db;
    world_new(&w);
    tab_reset("docs");
    docs_reset(4);
    memset(g_mine_cols, 0, sizeof g_mine_cols);
    g_mine_cols[0].name = "k"; g_mine_cols[0].type = COCO_SQLITE_TEXT;
    g_mine_cols[1].name = "v"; g_mine_cols[1].type = COCO_SQLITE_INTEGER;
    memset(&g_mine, 0, sizeof g_mine);
    g_mine.name = "mine"; g_mine.columns = g_mine_cols; g_mine.ncolumns = 2;
    g_mine.primary_key = g_mine_pk; g_mine.nprimary_key = 1;
    g_mine.managed_by = COCO_SQLITE_MANAGED_USER;
    g_two_tables = 1;
    REQUIRE(world_open(&w, &two_fn, "dropme") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    REQUIRE(exec_ok(db, "CREATE TABLE mine (k TEXT PRIMARY KEY, v INTEGER)"));
    REQUIRE(exec_ok(db, "INSERT INTO mine VALUES ('theirs', 2)"));
    REQUIRE(exec_ok(db, "CREATE TABLE keep (a INTEGER PRIMARY KEY, b TEXT)"));
    REQUIRE(exec_ok(db, "INSERT INTO keep VALUES (1, 'x')"));
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 4);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM mine"), 2);
    world_close(&w);
    /* a new process with only the state: the app function does not run */
    g_main_ran = 0;
    REQUIRE(world_open(&w, &two_fn, "dropme") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    CHECK_INT_EQ(coco_app_drop(w.app), COCO_OK);
    CHECK_INT_EQ(g_main_ran, 0);
    CHECK(!table_exists(db, "docs"));               /* ours: dropped */
    CHECK(table_exists(db, "mine"));                /* the user's: kept, our row gone */
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM mine"), 1);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM mine WHERE k = 'theirs'"), 1);
    CHECK(table_exists(db, "keep"));                /* never declared: untouched */
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM keep"), 1);
    world_close(&w);
    g_two_tables = 0;
}

/* a table no longer declared is dropped in the next update (children first) */
static void sql09_undeclared_table_is_dropped(void) {
    world w;
    sqlite3* db;
    world_new(&w);
    tab_reset("docs");
    docs_reset(3);
    memset(&g_mine, 0, sizeof g_mine);
    g_mine.name = "extra"; g_mine.columns = g_mine_cols; g_mine.ncolumns = 2;
    g_mine.primary_key = g_mine_pk; g_mine.nprimary_key = 1;
    g_two_tables = 1;
    REQUIRE(world_open(&w, &two_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK(table_exists(db, "extra"));
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM extra"), 1);
    g_two_tables = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK(!table_exists(db, "extra"));
    CHECK(table_exists(db, "docs"));
    world_close(&w);
}

/* ---- bad values ------------------------------------------------------------------------------ */
static void sql10_nan_inf_and_wrong_dimension_rejected_before_writing(void) {
    world w;
    sqlite3* db;
    world_new(&w);
    tab_reset("docs");
    docs_reset(4);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    CHECK_INT_EQ(update(&w), COCO_OK);
    g_docs[1].score = NAN;
    CHECK_INT_EQ(update(&w), COCO_OK);              /* a child fails; the update goes on */
    CHECK_STR_CONTAINS(g_err, "table 'docs'");
    CHECK_STR_CONTAINS(g_err, "column 'score'");
    CHECK_STR_CONTAINS(g_err, "key [2]");
    CHECK_STR_CONTAINS(g_err, "NaN");
    CHECK_INT_EQ(q_int(db, "SELECT score * 10 FROM docs WHERE id = 2"), 10);  /* kept */
    g_docs[1].score = 1.0;
    g_docs[2].emb[3] = INFINITY;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_STR_CONTAINS(g_err, "column 'emb'");
    CHECK_STR_CONTAINS(g_err, "key [3]");
    CHECK_STR_CONTAINS(g_err, "infinity at index 3");
    g_docs[2].emb[3] = 1.0f;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_nerr, 0);
    world_close(&w);
}

/* rows declared with coco_declare directly (key list + column map) are checked by apply:
   a NaN fails the whole batch, naming table/column/key, and nothing of it is written */
static int g_direct_bad;
static coco_result direct_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_target* rows;
    coco_result rc;
    int i;
    (void)a; (void)n; (void)r;
    if ((rc = coco_sqlite_mount_table(ctx, g_w->sql, &g_tab, &rows)) != COCO_OK) return rc;
    for (i = 1; i <= 5; i++) {
        coco_map_entry e[2];
        coco_value k = coco_int(i);
        e[0].key = "score"; e[0].key_len = 5;
        e[0].val = coco_float(g_direct_bad && i == 4 ? NAN : (double)i);
        e[1].key = "title"; e[1].key_len = 5; e[1].val = coco_str("t");
        if ((rc = coco_declare(ctx, rows, coco_list(&k, 1), coco_map(e, 2))) != COCO_OK)
            return rc;
    }
    return COCO_OK;
}
static const coco_fn direct_fn = { "direct_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL,
                                   direct_main };

static void sql11_direct_declare_checked_by_apply(void) {
    world w;
    sqlite3* db;
    world_new(&w);
    tab_reset("docs");
    g_direct_bad = 1;
    REQUIRE(world_open(&w, &direct_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    (void)update(&w);                               /* the root's own batch fails */
    CHECK_STR_CONTAINS(g_err, "table 'docs', column 'score', key [4]");
    CHECK_STR_CONTAINS(g_err, "NaN");
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 0);   /* nothing of the batch */
    g_direct_bad = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 5);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs WHERE emb IS NULL"), 5); /* left alone */
    world_close(&w);
}

/* a constraint failure inside a multi-row statement names the failing key and rolls the
   whole batch back */
static void sql12_failing_row_names_key_and_rolls_back(void) {
    world w;
    sqlite3* db;
    world_new(&w);
    tab_reset("checked");
    g_tab.managed_by = COCO_SQLITE_MANAGED_USER;
    docs_reset(8);
    g_docs[5].score = -1.0;                         /* id 6 violates the CHECK */
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    REQUIRE(exec_ok(db, "CREATE TABLE checked (id INTEGER PRIMARY KEY, title TEXT, "
                        "score REAL CHECK (score >= 0), emb BLOB)"));
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_STR_CONTAINS(g_err, "table 'checked', key [6]");
    CHECK_STR_CONTAINS(g_err, "CHECK constraint failed");
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM checked"), 0);
    g_docs[5].score = 1.0;
    CHECK_INT_EQ(update(&w), COCO_OK);              /* the failed rows are retried */
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM checked"), 8);
    world_close(&w);
}

/* ---- bulk app: chunks of generated rows ------------------------------------------------------ */
static int g_chunks, g_per, g_version;
static coco_sqlite_column g_bulk_cols[3];
static const char* const  g_bulk_pk[] = { "id" };
static coco_sqlite_table  g_bulk;

static void bulk_reset(int chunks, int per) {
    memset(g_bulk_cols, 0, sizeof g_bulk_cols);
    g_bulk_cols[0].name = "id";   g_bulk_cols[0].type = COCO_SQLITE_INTEGER;
    g_bulk_cols[1].name = "body"; g_bulk_cols[1].type = COCO_SQLITE_TEXT;
    g_bulk_cols[2].name = "v";    g_bulk_cols[2].type = COCO_SQLITE_REAL;
    memset(&g_bulk, 0, sizeof g_bulk);
    g_bulk.name = "bulk"; g_bulk.columns = g_bulk_cols; g_bulk.ncolumns = 3;
    g_bulk.primary_key = g_bulk_pk; g_bulk.nprimary_key = 1;
    g_chunks = chunks;
    g_per = per;
    g_version = 1;
}

/* chunk c declares ids c*per .. c*per+per-1; version 2 changes every 3rd row, drops every
   5th and adds one new row per chunk */
static coco_result chunk_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const coco_value* it = a[0].u.list.items;
    coco_target* rows = (coco_target*)it[0].u.obj.obj;
    int64_t c = it[1].u.i, ver = it[2].u.i, i;
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_result rc;
    (void)n; (void)r;
    for (i = 0; i <= g_per; i++) {
        int64_t id = c * g_per + i;
        coco_value v[3];
        char* body = (char*)coco_arena_alloc(ar, 48);
        if (i == g_per) {
            if (ver < 2) break;
            id = 1000000 + c;
        }
        if (ver >= 2 && id % 5 == 0) continue;
        snprintf(body, 48, "row %lld %s", (long long)id, ver >= 2 && id % 3 == 0 ? "v2" : "v1");
        v[0] = coco_int(id);
        v[1] = coco_str(body);
        v[2] = coco_float((double)id * 0.5);
        if ((rc = coco_sqlite_declare_row(ctx, rows, v, 3)) != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn chunk_fn = { "chunk", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, chunk_body };

static coco_result bulk_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_target* rows;
    coco_value *keys, *items;
    coco_result rc;
    int c;
    (void)a; (void)n; (void)r;
    if ((rc = coco_sqlite_mount_table(ctx, g_w->sql, &g_bulk, &rows)) != COCO_OK) return rc;
    keys = (coco_value*)coco_arena_alloc(ar, (size_t)g_chunks * sizeof *keys);
    items = (coco_value*)coco_arena_alloc(ar, (size_t)g_chunks * sizeof *items);
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
static const coco_fn bulk_fn = { "bulk_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, bulk_main };

/* 20k rows x 3 columns in one apply batch: 60k bound values, over SQLite's limit of 32766 */
static void sql13_batch_over_bound_parameter_limit(void) {
    world w;
    sqlite3* db;
    coco_sqlite_stats st;
    int limit;
    world_new(&w);
    bulk_reset(20, 1000);
    g_rows_per_stmt = 1u << 20;                     /* asks for more than SQLite allows */
    REQUIRE(world_open(&w, &bulk_fn, "app") == COCO_OK);
    g_rows_per_stmt = 0;
    db = coco_sqlite_db(w.sql);
    /* SQLite's default limit (Debian builds raise it to 250000): 10922 rows of 3 values */
    sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, 32766);
    limit = sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
    CHECK_INT_EQ(limit, 32766);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_STR_EQ(g_err, "");
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM bulk"), 20000);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM bulk WHERE body = 'row ' || id || ' v1'"),
                 20000);
    coco_sqlite_stats_get(w.sql, &st);
    printf("# max_batch %llu statements %llu applies %llu\n", (unsigned long long)st.max_batch,
           (unsigned long long)st.statements, (unsigned long long)st.applies);
    CHECK(st.max_batch * 3 > (uint64_t)limit);      /* one batch really was over the limit */
    CHECK(st.statements >= 2 && st.statements < 20);
    /* and all of them deleted */
    g_chunks = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM bulk"), 0);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.deletes, 20000);
    world_close(&w);
}

/* TGT-03: kill -9 in the middle of a large apply, then one more update: the table is the
   same as a from-scratch run */
static void sql14_kill9_mid_apply_converges(void) {
    world w, fresh;
    pid_t pid;
    int status = 0;
    long long n1 = 0, n2 = 0;
    uint64_t h1, h2;
    const char* dump = "SELECT id, body, v FROM bulk ORDER BY id";
    world_new(&w);
    bulk_reset(2500, 12);                           /* 30000 rows over ~3 submit batches */
    REQUIRE(world_open(&w, &bulk_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(coco_sqlite_db(w.sql), "SELECT count(*) FROM bulk"), 30000);
    world_close(&w);
    g_version = 2;
    fflush(stdout);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* the child dies half way through the writes of version 2 */
        if (world_open(&w, &bulk_fn, "app") != COCO_OK) _exit(3);
        hook(&w);
        g_kill_after = 7000;
        (void)update(&w);
        _exit(4);                                   /* not reached when killed */
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    REQUIRE(world_open(&w, &bulk_fn, "app") == COCO_OK);
    {
        /* what the killed run left: some batches committed, the one it died in rolled back */
        sqlite3* db = coco_sqlite_db(w.sql);
        long long v2 = q_int(db, "SELECT count(*) FROM bulk WHERE body LIKE '% v2'");
        long long all = q_int(db, "SELECT count(*) FROM bulk");
        printf("# after the kill: %lld rows, %lld of version 2\n", all, v2);
        CHECK(all != 30000 - 6000 + 2000 || v2 != 8000);   /* it did not finish */
    }
    CHECK_INT_EQ(update(&w), COCO_OK);
    h1 = table_hash(coco_sqlite_db(w.sql), dump, &n1);
    {
        int changes = sqlite3_total_changes(coco_sqlite_db(w.sql));
        CHECK_INT_EQ(update(&w), COCO_OK);          /* converged: nothing left to do */
        CHECK_INT_EQ(sqlite3_total_changes(coco_sqlite_db(w.sql)), changes);
    }
    world_close(&w);
    world_new(&fresh);
    REQUIRE(world_open(&fresh, &bulk_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&fresh), COCO_OK);
    h2 = table_hash(coco_sqlite_db(fresh.sql), dump, &n2);
    world_close(&fresh);
    CHECK_INT_EQ(n1, n2);
    CHECK_INT_EQ(n2, 30000 - 6000 + 2000);          /* new ids 1000000+c: c%5 != 0 */
    CHECK(h1 == h2);
}

/* ---- queries --------------------------------------------------------------------------------- */
static coco_sqlite_column g_vec_cols[2];
static const char* const  g_vec_pk[] = { "name" };
static coco_sqlite_table  g_vec;
static coco_result vec_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    static const float pts[6][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 }, { 2, 2, 0 },
                                     { -1, 0, 0 }, { 0.9f, 0.1f, 0 } };
    static const char* names[6] = { "x", "y", "z", "xy", "negx", "nearx" };
    coco_target* rows;
    coco_result rc;
    int i;
    (void)a; (void)n; (void)r;
    if ((rc = coco_sqlite_mount_table(ctx, g_w->sql, &g_vec, &rows)) != COCO_OK) return rc;
    for (i = 0; i < 7; i++) {
        coco_value v[2];
        v[0] = coco_str(i < 6 ? names[i] : "none");
        v[1] = i < 6 ? coco_vec_f32(pts[i], 3) : coco_null();
        if ((rc = coco_sqlite_declare_row(ctx, rows, v, 2)) != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn vec_fn = { "vec_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, vec_main };

static const char* hit_name(const coco_sqlite_hit* h) {
    static char buf[4][32];
    static int k;
    char* b = buf[k++ % 4];
    const coco_value* v = &h->key.u.list.items[0];
    snprintf(b, 32, "%.*s", (int)v->u.s.len, v->u.s.ptr);
    return b;
}

static void sql15_topk_cosine_and_l2(void) {
    world w;
    sqlite3* db;
    coco_arena* ar;
    coco_sqlite_hit hits[8];
    size_t nh = 0;
    char err[256];
    const float q[3] = { 1, 0, 0 }, q2[3] = { 1, 1, 0 }, bad[2] = { 1, 1 };
    world_new(&w);
    memset(g_vec_cols, 0, sizeof g_vec_cols);
    g_vec_cols[0].name = "name"; g_vec_cols[0].type = COCO_SQLITE_TEXT;
    g_vec_cols[1].name = "v"; g_vec_cols[1].type = COCO_SQLITE_VECTOR; g_vec_cols[1].dim = 3;
    g_vec_cols[1].nullable = 1;
    memset(&g_vec, 0, sizeof g_vec);
    g_vec.name = "vecs"; g_vec.columns = g_vec_cols; g_vec.ncolumns = 2;
    g_vec.primary_key = g_vec_pk; g_vec.nprimary_key = 1;
    REQUIRE(world_open(&w, &vec_fn, "app") == COCO_OK);
    REQUIRE(update(&w) == COCO_OK);
    db = coco_sqlite_db(w.sql);
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(coco_sqlite_topk(db, "vecs", "v", q, 3, 3, COCO_SQLITE_COSINE, ar, hits, &nh,
                                  err, sizeof err), COCO_OK);
    REQUIRE(nh == 3);
    CHECK_STR_EQ(hit_name(&hits[0]), "x");
    CHECK_STR_EQ(hit_name(&hits[1]), "nearx");
    CHECK_STR_EQ(hit_name(&hits[2]), "xy");
    CHECK(ABS(hits[0].score - 1.0) < 1e-6);
    CHECK(ABS(hits[2].score - 0.70710678118654752) < 1e-6);
    CHECK_INT_EQ(coco_sqlite_topk(db, "vecs", "v", q2, 3, 2, COCO_SQLITE_L2, ar, hits, &nh,
                                  err, sizeof err), COCO_OK);
    REQUIRE(nh == 2);
    CHECK_STR_EQ(hit_name(&hits[0]), "nearx");      /* |(0.1,0.9,0)| = 0.906 */
    CHECK(!strcmp(hit_name(&hits[1]), "x") || !strcmp(hit_name(&hits[1]), "y"));  /* a tie */
    CHECK(ABS(hits[1].score - 1.0) < 1e-6);
    /* k larger than the table: every row with a vector (the NULL one skipped) */
    CHECK_INT_EQ(coco_sqlite_topk(db, "vecs", "v", q, 3, 8, COCO_SQLITE_COSINE, ar, hits, &nh,
                                  err, sizeof err), COCO_OK);
    CHECK_INT_EQ(nh, 6);
    CHECK_STR_EQ(hit_name(&hits[5]), "negx");
    CHECK(ABS(hits[5].score + 1.0) < 1e-6);
    /* errors name what is wrong */
    CHECK(coco_sqlite_topk(db, "vecs", "v", bad, 2, 2, COCO_SQLITE_COSINE, ar, hits, &nh, err,
                           sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "F32_BLOB(3)");
    CHECK(coco_sqlite_topk(db, "nope", "v", q, 3, 2, COCO_SQLITE_COSINE, ar, hits, &nh, err,
                           sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "'nope' does not exist");
    CHECK(coco_sqlite_topk(db, "vecs", "w", q, 3, 2, COCO_SQLITE_COSINE, ar, hits, &nh, err,
                           sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "no column 'w'");
    coco_arena_destroy(ar);
    world_close(&w);
}

/* ---- foreign tables, spec errors, composite keys, settings ----------------------------------- */
static void sql16_foreign_table_refused_or_adopted(void) {
    world w;
    sqlite3* db;
    world_new(&w);
    tab_reset("docs");
    docs_reset(2);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    REQUIRE(exec_ok(db, "CREATE TABLE docs (id TEXT PRIMARY KEY, other BLOB)"));
    REQUIRE(exec_ok(db, "INSERT INTO docs VALUES ('precious', x'00')"));
    CHECK(update(&w) != COCO_OK);
    CHECK_STR_CONTAINS(g_err, "table 'docs' already exists");
    CHECK_STR_CONTAINS(g_err, "managed_by USER");
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 1);  /* untouched */
    /* the same columns and key as declared: adopted */
    REQUIRE(exec_ok(db, "DROP TABLE docs"));
    REQUIRE(exec_ok(db, "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, score REAL, "
                        "emb F32_BLOB(4))"));
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM docs"), 2);
    world_close(&w);
}

static void sql17_table_spec_errors_name_table_and_column(void) {
    coco_arena* ar;
    coco_value v;
    char err[256];
    coco_sqlite_column cols[3];
    const char* pk[1] = { "id" };
    const char* badpk[1] = { "nope" };
    coco_sqlite_table t;
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    memset(cols, 0, sizeof cols);
    cols[0].name = "id"; cols[0].type = COCO_SQLITE_INTEGER;
    cols[1].name = "e";  cols[1].type = COCO_SQLITE_VECTOR;
    cols[2].name = "id"; cols[2].type = COCO_SQLITE_TEXT;
    memset(&t, 0, sizeof t);
    t.name = "tbl"; t.columns = cols; t.ncolumns = 2; t.primary_key = pk; t.nprimary_key = 1;
    CHECK(coco_sqlite_table_spec(ar, &t, &v, err, sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "table 'tbl', column 'e': a VECTOR needs a dimension");
    cols[1].dim = 8;
    t.ncolumns = 3;
    CHECK(coco_sqlite_table_spec(ar, &t, &v, err, sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "column 'id' appears twice");
    t.ncolumns = 2;
    t.primary_key = badpk;
    CHECK(coco_sqlite_table_spec(ar, &t, &v, err, sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "primary key column 'nope' is not a column");
    t.primary_key = pk;
    t.nprimary_key = 0;
    CHECK(coco_sqlite_table_spec(ar, &t, &v, err, sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "no primary key");
    t.nprimary_key = 1;
    t.name = "sqlite_x";
    CHECK(coco_sqlite_table_spec(ar, &t, &v, err, sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "reserved");
    t.name = "tbl";
    CHECK_INT_EQ(coco_sqlite_table_spec(ar, &t, &v, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(v.kind, COCO_MAP);
    coco_arena_destroy(ar);
}

static coco_sqlite_column g_cmp_cols[3];
static const char* const  g_cmp_pk[] = { "ns", "name" };
static coco_sqlite_table  g_cmp;
static int g_cmp_n;
static coco_result cmp_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_target* rows;
    coco_result rc;
    int i;
    char* s;
    (void)a; (void)n; (void)r;
    if ((rc = coco_sqlite_mount_table(ctx, g_w->sql, &g_cmp, &rows)) != COCO_OK) return rc;
    for (i = 0; i < g_cmp_n; i++) {
        coco_value v[3];
        s = (char*)coco_arena_alloc(coco_ctx_arena(ctx), 16);
        snprintf(s, 16, "n%d", i);
        v[0] = coco_str(s);
        v[1] = coco_str(i % 2 ? "b" : "a");
        v[2] = g_cmp_cols[2].type == COCO_SQLITE_TEXT ? coco_str("text") : coco_int(i);
        if ((rc = coco_sqlite_declare_row(ctx, rows, v, 3)) != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn cmp_fn = { "cmp_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, cmp_main };

/* a composite text key with small rows: a WITHOUT ROWID table; deletes by both key columns.
   With a TEXT column (bigger rows) the same key makes a rowid table. */
static void sql18_composite_text_key(void) {
    world w;
    sqlite3* db;
    char buf[300];
    coco_sqlite_stats st;
    world_new(&w);
    memset(g_cmp_cols, 0, sizeof g_cmp_cols);
    g_cmp_cols[0].name = "name"; g_cmp_cols[0].type = COCO_SQLITE_TEXT;
    g_cmp_cols[1].name = "ns";   g_cmp_cols[1].type = COCO_SQLITE_TEXT;
    g_cmp_cols[2].name = "n";    g_cmp_cols[2].type = COCO_SQLITE_INTEGER;
    memset(&g_cmp, 0, sizeof g_cmp);
    g_cmp.name = "odd \"name\""; g_cmp.columns = g_cmp_cols; g_cmp.ncolumns = 3;
    g_cmp.primary_key = g_cmp_pk; g_cmp.nprimary_key = 2;
    g_cmp_n = 10;
    REQUIRE(world_open(&w, &cmp_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM \"odd \"\"name\"\"\""), 10);
    q_text(db, "SELECT sql FROM sqlite_master WHERE name = 'odd \"name\"'", buf, sizeof buf);
    CHECK_STR_CONTAINS(buf, "WITHOUT ROWID");
    CHECK_STR_CONTAINS(buf, "PRIMARY KEY (\"ns\", \"name\")");
    g_cmp_n = 4;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "SELECT count(*) FROM \"odd \"\"name\"\"\""), 4);
    coco_sqlite_stats_get(w.sql, &st);
    CHECK_INT_EQ(st.deletes, 6);
    g_cmp_cols[2].type = COCO_SQLITE_TEXT;          /* bigger rows: a rowid table */
    g_cmp_n = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    world_close(&w);
    world_new(&w);
    g_cmp_n = 3;
    REQUIRE(world_open(&w, &cmp_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    CHECK_INT_EQ(update(&w), COCO_OK);
    q_text(db, "SELECT sql FROM sqlite_master WHERE name = 'odd \"name\"'", buf, sizeof buf);
    CHECK(strstr(buf, "WITHOUT ROWID") == NULL);
    CHECK_STR_CONTAINS(buf, "PRIMARY KEY (\"ns\", \"name\")");
    world_close(&w);
}

static void sql19_new_db_settings_and_borrowed_handle(void) {
    world w;
    sqlite3 *db, *own = NULL;
    coco_env* env;
    coco_env_desc ed;
    coco_sqlite_desc sd;
    coco_target* t;
    char buf[32], path[320];
    world_new(&w);
    tab_reset("docs");
    docs_reset(1);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    db = coco_sqlite_db(w.sql);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(q_int(db, "PRAGMA page_size"), 16384);
    CHECK_STR_EQ(q_text(db, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    CHECK(coco_sqlite_vec_loaded(w.sql) == 0);
    world_close(&w);
    /* a borrowed handle: used as is, not closed */
    snprintf(path, sizeof path, "%s/borrowed.sqlite", g_dir);
    REQUIRE(sqlite3_open(path, &own) == SQLITE_OK);
    memset(&ed, 0, sizeof ed);
    ed.in_memory = 1;
    REQUIRE(coco_env_open(&ed, &env) == COCO_OK);
    memset(&sd, 0, sizeof sd);
    sd.db = own;
    sd.name = "mine";
    CHECK_INT_EQ(coco_sqlite_target_create(env, &sd, &t), COCO_OK);
    CHECK(coco_sqlite_db(t) == own);
    coco_sqlite_target_close(t);
    CHECK(coco_sqlite_db(t) == NULL);
    coco_env_close(env);
    CHECK_INT_EQ(q_int(own, "SELECT 41 + 1"), 42);   /* still open */
    sqlite3_close(own);
}

static void sql20_desc_errors_and_vec_extension(void) {
    coco_env* env;
    coco_env_desc ed;
    coco_sqlite_desc sd;
    coco_target* t = NULL;
    char path[320];
    memset(&ed, 0, sizeof ed);
    ed.in_memory = 1;
    REQUIRE(coco_env_open(&ed, &env) == COCO_OK);
    memset(&sd, 0, sizeof sd);
    CHECK(coco_sqlite_target_create(env, &sd, &t) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_env_errmsg(env), "db_path or db");
    snprintf(path, sizeof path, "%s/vec.sqlite", g_dir);
    sd.db_path = path;
    sd.vec_extension = "/nonexistent/vec0.so";
    CHECK(coco_sqlite_target_create(env, &sd, &t) == COCO_ERR_IO);
    CHECK_STR_CONTAINS(coco_env_errmsg(env), "/nonexistent/vec0.so");
    CHECK(t == NULL);
    /* $COCO_SQLITE_VEC is optional: a path that does not load is ignored */
    sd.vec_extension = NULL;
    setenv("COCO_SQLITE_VEC", "/nonexistent/vec0.so", 1);
    CHECK_INT_EQ(coco_sqlite_target_create(env, &sd, &t), COCO_OK);
    unsetenv("COCO_SQLITE_VEC");
    CHECK(coco_sqlite_vec_loaded(t) == 0);
    coco_sqlite_target_close(t);
    coco_env_close(env);
}

int main(int argc, char** argv) {
    snprintf(g_dir, sizeof g_dir, "/tmp/coco_test_sqlite.%ld", (long)getpid());
    mkdir(g_dir, 0755);
    coco_test_begin("sqlite", argc, argv);
    RUN(sql01_create_insert_then_noop_writes_nothing);
    RUN(sql_env_close_closes_the_database);
    RUN(sql02_change_one_row_is_one_update_remove_one_is_one_delete);
    RUN(sql03_add_and_drop_column_alter_in_place);
    RUN(sql04_primary_key_change_recreates_and_backfills);
    RUN(sql05_vector_dimension_change_recreates);
    RUN(sql06_user_managed_table_never_created_or_dropped);
    RUN(sql07_user_managed_table_missing_is_a_clear_error);
    RUN(sql08_drop_app_drops_only_tables_it_created);
    RUN(sql09_undeclared_table_is_dropped);
    RUN(sql10_nan_inf_and_wrong_dimension_rejected_before_writing);
    RUN(sql11_direct_declare_checked_by_apply);
    RUN(sql12_failing_row_names_key_and_rolls_back);
    RUN(sql13_batch_over_bound_parameter_limit);
    RUN(sql14_kill9_mid_apply_converges);
    RUN(sql15_topk_cosine_and_l2);
    RUN(sql16_foreign_table_refused_or_adopted);
    RUN(sql17_table_spec_errors_name_table_and_column);
    RUN(sql18_composite_text_key);
    RUN(sql19_new_db_settings_and_borrowed_handle);
    RUN(sql20_desc_errors_and_vec_extension);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0) printf("# could not remove %s\n", g_dir);
    }
    return coco_test_end();
}
