/* bench/kv_sqlite.c -- SQLite engine for the state-store benchmark (driver: bench_store.c).
   Table kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID; page_size 16384 (set at creation);
   journal_mode=WAL, synchronous=FULL (the WAL is fsynced at every commit; default
   wal_autocheckpoint); cache_size 64 MiB (SQLite's own default is ~2 MiB); no mmap.
   Open = open + pragmas + prepared statements (the schema is read) + first get.
   Compaction: PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE).
   Build: cc -std=c99 -O2 bench/kv_sqlite.c -lsqlite3 -lpthread */
#define _GNU_SOURCE 1
#define BENCH_ENGINE_EXTERNAL 1
#include "bench_store.c"
#include <sqlite3.h>

static sqlite3*      s_db;
static sqlite3_stmt *s_put, *s_get;

static const char* eng_name(void) { return "sqlite"; }
static void s_exec(const char* sql) {
    char* err = NULL;
    if (sqlite3_exec(s_db, sql, NULL, NULL, &err) != SQLITE_OK) fail(sql, err ? err : "?");
}
static void eng_open(const char* dir, int create) {
    char path[4200];
    snprintf(path, sizeof path, "%s/kv.db", dir);
    if (sqlite3_open_v2(path, &s_db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0),
                        NULL) != SQLITE_OK)
        fail("sqlite3_open_v2", sqlite3_errmsg(s_db));
    s_exec("PRAGMA cache_size=-65536");
    if (create) s_exec("PRAGMA page_size=16384");
    s_exec("PRAGMA journal_mode=WAL");
    s_exec("PRAGMA synchronous=FULL");
    if (create) s_exec("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
    if (sqlite3_prepare_v2(s_db, "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)", -1, &s_put, NULL) ||
        sqlite3_prepare_v2(s_db, "SELECT v FROM kv WHERE k = ?1", -1, &s_get, NULL))
        fail("prepare", sqlite3_errmsg(s_db));
}
static void eng_close(void) {
    sqlite3_finalize(s_put);
    sqlite3_finalize(s_get);
    if (sqlite3_close(s_db) != SQLITE_OK) fail("sqlite3_close", sqlite3_errmsg(s_db));
    s_db = NULL;
}
static void eng_wbegin(void) { s_exec("BEGIN IMMEDIATE"); }
static void eng_put(const void* k, size_t kn, const void* v, size_t vn) {
    sqlite3_bind_blob(s_put, 1, k, (int)kn, SQLITE_STATIC);
    sqlite3_bind_blob(s_put, 2, v, (int)vn, SQLITE_STATIC);
    if (sqlite3_step(s_put) != SQLITE_DONE) fail("insert", sqlite3_errmsg(s_db));
    sqlite3_reset(s_put);
}
static void eng_wcommit(void) { s_exec("COMMIT"); }
static void eng_rbegin(void) { s_exec("BEGIN"); }
static int eng_get(const void* k, size_t kn, const void** v, size_t* vn) {
    int rc;
    sqlite3_reset(s_get);   /* the previous value stays valid until here */
    sqlite3_bind_blob(s_get, 1, k, (int)kn, SQLITE_STATIC);
    rc = sqlite3_step(s_get);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) fail("select", sqlite3_errmsg(s_db));
    *v = sqlite3_column_blob(s_get, 0);
    *vn = (size_t)sqlite3_column_bytes(s_get, 0);
    return 1;
}
static void eng_rend(void) { sqlite3_reset(s_get); s_exec("COMMIT"); }
static const char* eng_compact(const char* dir) {
    s_exec("PRAGMA wal_checkpoint(TRUNCATE)");
    s_exec("VACUUM");
    s_exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return dir;
}
