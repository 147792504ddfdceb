/* bench/kv_lmdb.c -- LMDB engine for the state-store benchmark (driver: bench_store.c).
   Default durability: mdb_txn_commit fdatasync()s the data file (no MDB_NOSYNC, no
   MDB_WRITEMAP).  Map size 64 GiB (address space only; the file grows as pages are used).
   One unnamed database; keys and values stored as given.
   "Compaction": LMDB has none in place; mdb_env_copy2(MDB_CP_COMPACT) writes a compacted
   copy to DIR.compact/, and that copy is what is measured.
   Build: cc -std=c99 -O2 bench/kv_lmdb.c -llmdb -lpthread */
#define _GNU_SOURCE 1
#define BENCH_ENGINE_EXTERNAL 1
#include "bench_store.c"
#include <lmdb.h>

static MDB_env* l_env;
static MDB_txn* l_txn;
static MDB_dbi  l_dbi;
static char     l_cdir[4096];

#define L_CK(call) do { int rc_ = (call); if (rc_) fail(#call, mdb_strerror(rc_)); } while (0)

static const char* eng_name(void) { return "lmdb"; }
static void eng_open(const char* dir, int create) {
    MDB_txn* t;
    (void)create;
    L_CK(mdb_env_create(&l_env));
    L_CK(mdb_env_set_mapsize(l_env, (size_t)64 << 30));
    L_CK(mdb_env_open(l_env, dir, MDB_NOTLS, 0644));
    L_CK(mdb_txn_begin(l_env, NULL, 0, &t));
    L_CK(mdb_dbi_open(t, NULL, 0, &l_dbi));
    L_CK(mdb_txn_commit(t));
}
static void eng_close(void) { mdb_env_close(l_env); l_env = NULL; }
static void eng_wbegin(void) { L_CK(mdb_txn_begin(l_env, NULL, 0, &l_txn)); }
static void eng_put(const void* k, size_t kn, const void* v, size_t vn) {
    MDB_val key, val;
    key.mv_size = kn; key.mv_data = (void*)k;
    val.mv_size = vn; val.mv_data = (void*)v;
    L_CK(mdb_put(l_txn, l_dbi, &key, &val, 0));
}
static void eng_wcommit(void) { L_CK(mdb_txn_commit(l_txn)); l_txn = NULL; }
static void eng_rbegin(void) { L_CK(mdb_txn_begin(l_env, NULL, MDB_RDONLY, &l_txn)); }
static int eng_get(const void* k, size_t kn, const void** v, size_t* vn) {
    MDB_val key, val;
    int rc;
    key.mv_size = kn; key.mv_data = (void*)k;
    rc = mdb_get(l_txn, l_dbi, &key, &val);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) fail("mdb_get", mdb_strerror(rc));
    *v = val.mv_data;
    *vn = val.mv_size;
    return 1;
}
static void eng_rend(void) { mdb_txn_abort(l_txn); l_txn = NULL; }
static const char* eng_compact(const char* dir) {
    snprintf(l_cdir, sizeof l_cdir, "%s.compact", dir);
    mkdir(l_cdir, 0755);
    rm_files(l_cdir);
    L_CK(mdb_env_copy2(l_env, l_cdir, MDB_CP_COMPACT));
    return l_cdir;
}
