/* cocoindex_sqlite.h - v0.1.0 - SQLite table targets for cocoindex.h - MIT licence, see end of file

   Include cocoindex.h first.  In the one C or C++ file that defines COCOINDEX_IMPLEMENTATION,
   include this header after cocoindex.h: the implementation comes with it.  Link -lsqlite3
   (3.35 or newer: DROP COLUMN, upsert, row values).  <sqlite3.h> is included only by the
   implementation; the declarations forward-declare `struct sqlite3`.  POSIX; C99 or C++11.

   QUICK START (a table of documents with embeddings)
       static const coco_sqlite_column doc_cols[] = {
           { "id",    COCO_SQLITE_INTEGER, 0,  0 },
           { "text",  COCO_SQLITE_TEXT,    0,  0 },
           { "emb",   COCO_SQLITE_VECTOR,  64, 1 },           float32[64], may be NULL
       };
       static const char* const doc_pk[] = { "id" };
       static const coco_sqlite_table docs = { "docs", doc_cols, 3, doc_pk, 1,
                                               COCO_SQLITE_MANAGED_DEFAULT };
       setup:  coco_sqlite_desc d = {0};  d.db_path = "out.sqlite";
               coco_sqlite_target_create(env, &d, &db_target);
       in a component:
               coco_target* rows;
               coco_sqlite_mount_table(ctx, db_target, &docs, &rows);
               coco_value v[3] = { coco_int(7), coco_str("hello"), coco_vec_f32(e, 64) };
               coco_sqlite_declare_row(ctx, rows, v, 3);     (in children too: pass `rows`)
       teardown: coco_env_close(env);                 (closes the database too)
       query:  coco_sqlite_topk(coco_sqlite_db(db_target), "docs", "emb", q, 64, 10,
                                COCO_SQLITE_COSINE, arena, hits, &nhits, err, sizeof err);

   CONTENTS (grep for the >>tag)
       >>sql_api_types  >>sql_api_target  >>sql_api_rows  >>sql_api_query
       >>sql_impl_base  >>sql_impl_schema >>sql_impl_live  >>sql_impl_table  >>sql_impl_rows
       >>sql_impl_public >>sql_impl_query

   TABLES (the container target)
       coco_sqlite_target_create registers a container connector (default name "sqlite");
       every table is one container state: key = the table name, value = the schema built by
       coco_sqlite_table_spec (columns with a type and nullability, a primary key of one or
       more columns, managed_by).  Its tracking record is the schema's canonical encoding.
       With managed_by SYSTEM (the default) the connector owns the table:
         - first declaration: CREATE TABLE IF NOT EXISTS.  A single INTEGER key column is
           the rowid ("id" INTEGER PRIMARY KEY); another key makes a WITHOUT ROWID table when
           every other column is INTEGER or REAL (small rows), else a rowid table with the key
           as its unique index (faster for rows of a few hundred bytes and more: see
           coco__sql_rowid_table for the numbers).  A table found under that name that this
           app never created is adopted when its columns and key are the declared ones, else
           refused with an error (drop it, or declare it managed_by USER).
         - same schema: nothing.
         - non-key columns added, removed or retyped (or only nullability changed): ALTER
           TABLE ADD / DROP COLUMN in place; child invalidation LOSSY, so the engine runs the
           producers again and every row is written again with its new column values.  Added
           columns are created nullable (SQLite cannot add NOT NULL without a default); the
           NOT NULL rule of a column is enforced by coco_sqlite_declare_row.
         - the primary key changed (columns, order or types), or the dimension of a VECTOR
           column changed: DROP TABLE + CREATE TABLE; child invalidation DESTRUCTIVE: the
           engine runs every producer again and the rows are inserted again (backfill, no
           user action).
         - no longer declared (or the app is dropped): DROP TABLE IF EXISTS.
       With managed_by USER the table belongs to the user: it is never created, altered or
       dropped.  It must exist before the update, with the declared columns and a PRIMARY KEY
       (or the key's columns) equal to the declared key; otherwise mounting it fails with an
       error naming the table.  Its rows are still ours: written, updated and deleted.
       DDL of one apply batch runs in one transaction.

   ROWS (the child target of a table)
       coco_sqlite_mount_table mounts a table and returns its rows target; declare rows with
       coco_sqlite_declare_row (values in the table's column order).  The target state of a
       row has key = a list of the primary-key values (in key order) and value = a map from
       column name to value for the other columns; coco_declare(ctx, rows, key, map) with
       that format is the same thing, and the only way for a table mounted directly with
       coco_mount_target.  Columns absent from the map are left alone (extra columns of a USER
       table).  Values: COCO_NULL, COCO_BOOL (0/1), COCO_INT, COCO_FLOAT, COCO_STR (TEXT),
       COCO_BYTES and COCO_UUID (BLOB), COCO_VEC_F32 (a float32 little-endian BLOB, the
       declared type "F32_BLOB(dim)", as libSQL names it).
       Each apply batch runs in one transaction (BEGIN IMMEDIATE ... COMMIT; ROLLBACK and an
       error naming the table and the failing key on any failure).  Upserts are
         INSERT INTO t(cols) VALUES (?,..),(?,..) ON CONFLICT(key) DO UPDATE SET c=excluded.c
       with bound parameters, rows_per_statement rows per statement (clamped under SQLite's
       SQLITE_LIMIT_VARIABLE_NUMBER), prepared once per shape and cached.  Deletes are
       DELETE FROM t WHERE key IN (?,..) (one key column) or one key at a time.  Both are
       idempotent.  Before anything is written the batch is checked: NaN or infinity in a
       REAL or VECTOR value, a vector of the wrong dimension, an unknown column or a key of
       the wrong arity fail the batch with an error naming the table, the column and the key.
       An unchanged row costs no SQL at all (the engine compares fingerprints).

   VECTORS AND QUERIES
       coco_sqlite_topk scans a table in C (sqlite3_column_blob, no copy of the table) and
       keeps the k best rows in a fixed-size heap: cosine similarity or L2 distance.  The
       sqlite-vec extension is optional: with desc.vec_extension (or $COCO_SQLITE_VEC) it is
       loaded into the connection so that its functions and vec0 tables can be used on the
       same handle; nothing here requires it.

   DATABASE SETTINGS
       With db_path the connector opens (creating) the database: page_size 16384 for a new
       database (SQLite's default 4 KiB pages make 1 KiB rows several times slower),
       journal_mode WAL, synchronous FULL (desc.sync = COCO_SYNC_NONE: OFF, tests and
       benchmarks), busy_timeout (5 s by default).  A borrowed handle (desc.db) is used as it
       is and never closed.

   LIMITS (v0.1)
       Table names are compared as given (SQLite compares them case-insensitively: do not
       declare "Docs" and "docs").  One schema per table name per process.  No secondary
       indexes or vector indexes are declared yet.

   THREADING
       A target serialises its use of the connection with its own mutex: applies of different
       tables and topk through the target never interleave inside a transaction.
       coco_sqlite_declare_row may run in any component on any thread.  If you use the handle
       from coco_sqlite_db() yourself while an update runs, open a second connection instead.
*/
#if defined(COCOINDEX_IMPLEMENTATION) && !defined(COCOINDEX_SQLITE_IMPLEMENTATION)
#define COCOINDEX_SQLITE_IMPLEMENTATION
#endif

#ifndef COCOINDEX_SQLITE_H_INCLUDED
#define COCOINDEX_SQLITE_H_INCLUDED
#ifndef COCOINDEX_H_INCLUDED
#error "include cocoindex.h before cocoindex_sqlite.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct sqlite3;                       /* <sqlite3.h> stays out of the declarations */

/* ==============================================================================================
   >>sql_api_types -- table descriptions (Public)
   ============================================================================================== */
typedef enum coco_sqlite_type {
    COCO_SQLITE_TYPE_DEFAULT = 0,     /* = COCO_SQLITE_TEXT                                      */
    COCO_SQLITE_INTEGER,              /* int64 (COCO_INT, COCO_BOOL)                              */
    COCO_SQLITE_REAL,                 /* double (COCO_FLOAT, COCO_INT); finite only               */
    COCO_SQLITE_TEXT,                 /* COCO_STR                                                 */
    COCO_SQLITE_BLOB,                 /* COCO_BYTES, COCO_UUID                                    */
    COCO_SQLITE_VECTOR,               /* COCO_VEC_F32 of exactly `dim` finite floats: a BLOB of   */
                                      /* dim*4 bytes, float32 little-endian; "F32_BLOB(dim)"      */
    COCO__SQLITE_TYPE_FORCE_U32 = 0x7FFFFFFF
} coco_sqlite_type;

typedef enum coco_sqlite_managed_by {
    COCO_SQLITE_MANAGED_DEFAULT = 0,  /* = COCO_SQLITE_MANAGED_SYSTEM                            */
    COCO_SQLITE_MANAGED_SYSTEM,       /* we create, alter and drop the table                      */
    COCO_SQLITE_MANAGED_USER,         /* the user does; we only write rows (the table must exist) */
    COCO__SQLITE_MANAGED_FORCE_U32 = 0x7FFFFFFF
} coco_sqlite_managed_by;

typedef struct coco_sqlite_column {
    const char*      name;
    coco_sqlite_type type;
    uint32_t         dim;             /* VECTOR: number of floats (1..65536); else ignored        */
    int              nullable;        /* 1 = NULL allowed; key columns are never NULL             */
} coco_sqlite_column;

typedef struct coco_sqlite_table {
    const char*               name;          /* the table; not starting with "sqlite_"        */
    const coco_sqlite_column* columns;       /* in the order coco_sqlite_declare_row takes    */
    size_t                    ncolumns;
    const char* const*        primary_key;   /* column names in key order; at least one       */
    size_t                    nprimary_key;
    coco_sqlite_managed_by    managed_by;
} coco_sqlite_table;

typedef enum coco_sqlite_metric {
    COCO_SQLITE_METRIC_DEFAULT = 0,   /* = COCO_SQLITE_COSINE                                    */
    COCO_SQLITE_COSINE,               /* score = cosine similarity, best (highest) first          */
    COCO_SQLITE_L2,                   /* score = Euclidean distance, best (lowest) first          */
    COCO__SQLITE_METRIC_FORCE_U32 = 0x7FFFFFFF
} coco_sqlite_metric;

/* ==============================================================================================
   >>sql_api_target -- the connector (Public)
   ============================================================================================== */
typedef struct coco_sqlite_desc {
    const char*     name;             /* stable connector name (persisted); NULL = "sqlite"      */
    const char*     db_path;          /* opened, created if needed, by the connector; or:        */
    struct sqlite3* db;               /* a borrowed open handle (settings untouched, not closed) */
    coco_sync       sync;             /* db_path only: 0 = synchronous FULL; NONE = OFF          */
    uint32_t        busy_timeout_ms;  /* db_path only: 0 = 5000                                   */
    uint32_t        rows_per_statement; /* rows per multi-row INSERT; 0 = 64; clamped under the  */
                                      /* connection's SQLITE_LIMIT_VARIABLE_NUMBER                */
    const char*     vec_extension;    /* optional path of sqlite-vec to load; NULL = the value   */
                                      /* of $COCO_SQLITE_VEC if set (a failure there is ignored) */
    coco_allocator  allocator;        /* all zero = malloc/realloc/free                          */
} coco_sqlite_desc;

/* Counters of one target (its tables and their rows), for tests and tools. */
typedef struct coco_sqlite_stats {
    uint64_t applies;                 /* apply batches (tables and rows)                          */
    uint64_t upserts;                 /* rows written (inserted or updated)                       */
    uint64_t deletes;                 /* rows deleted (that existed)                              */
    uint64_t statements;              /* row statements executed (one per multi-row chunk)        */
    uint64_t creates, alters, drops;  /* tables created, altered in place, dropped                */
    uint64_t max_batch;               /* most actions in one apply batch                          */
    double   apply_seconds;           /* wall time inside row applies (BEGIN to COMMIT included)  */
} coco_sqlite_stats;

/* coco_sqlite_target_create
   Opens desc->db_path (or borrows desc->db) and registers the table connector under
   desc->name as a container target (coco_target_register_container).  Register it in every
   process that updates or drops the app: drop finds it by name.
   Errors: COCO_ERR_INVALID_ARG (neither or both of db_path/db, name taken), COCO_ERR_IO (the
   database cannot be opened or configured; the vec extension of desc->vec_extension cannot
   be loaded), COCO_ERR_NOMEM; the detail is in coco_env_errmsg(env).
   Ownership: call coco_sqlite_target_close() before coco_env_close(); the handle itself
   lives with the env.  Thread-safety: before updates, on one thread. */
COCO_API coco_result coco_sqlite_target_create(coco_env* env, const coco_sqlite_desc* desc,
                                               coco_target** out);

/* coco_sqlite_target_close
   Finalizes the cached statements and closes the database when the connector opened it.
   The target stays registered but fails every later apply.  NULL or a closed target is a
   no-op.  coco_env_close() does this by itself: call it only to close the database earlier.
   Thread-safety: once no update runs; before coco_env_close(). */
COCO_API void coco_sqlite_target_close(coco_target* target);

/* coco_sqlite_db
   The connection of a target made by coco_sqlite_target_create or of one of its tables'
   rows targets; NULL for anything else or after close.
   Thread-safety: any thread (see THREADING above for using the handle). */
COCO_API struct sqlite3* coco_sqlite_db(coco_target* target);

/* coco_sqlite_vec_loaded
   1 when the sqlite-vec extension was loaded into the target's connection, else 0.
   Thread-safety: any thread. */
COCO_API int coco_sqlite_vec_loaded(coco_target* target);

/* coco_sqlite_stats_get
   Copies the target's counters into *out (all zero for a target that is not ours).
   Thread-safety: any thread; waits for a running apply to finish. */
COCO_API void coco_sqlite_stats_get(coco_target* target, coco_sqlite_stats* out);

/* ==============================================================================================
   >>sql_api_rows -- tables and rows inside a component (Public)
   ============================================================================================== */

/* coco_sqlite_table_spec
   Builds the container value of table `t` (the schema: columns, key, managed_by) in `arena`,
   for coco_mount_target(ctx, target, coco_str(t->name), spec, &rows).  Everything is checked
   here: a missing or duplicate column name, an unknown type, a VECTOR without a dimension,
   a key naming no column or a VECTOR or nullable column.  On failure writes a message naming
   the table and the column into `err` (`cap` bytes; err may be NULL) and leaves *out
   untouched.  Errors: COCO_ERR_INVALID_ARG, COCO_ERR_NOMEM.
   Thread-safety: the arena's thread. */
COCO_API coco_result coco_sqlite_table_spec(coco_arena* arena, const coco_sqlite_table* t,
                                            coco_value* out, char* err, size_t cap);

/* coco_sqlite_mount_table
   Declares table `t` in the container `target` (coco_mount_target with the table's name as
   key and coco_sqlite_table_spec as value: the table is created or altered before this
   returns) and sets *rows to its rows target, which remembers `t`'s schema for
   coco_sqlite_declare_row.  Pass *rows to child components as an object or keep it: it
   lives with the env.  Errors: COCO_ERR_INVALID_ARG (bad description: see
   coco_sqlite_table_spec), any error of the mount; the component's message names the table.
   Thread-safety: inside a component, any thread. */
COCO_API coco_result coco_sqlite_mount_table(coco_ctx* ctx, coco_target* target,
                                             const coco_sqlite_table* t, coco_target** rows);

/* coco_sqlite_declare_row
   Declares that the table of `rows` holds the row `values[0..n)`, given in the column order
   of the coco_sqlite_table it was mounted with (n = its number of columns).  The key of the
   target state is the list of the key columns' values.  Checked here, before anything is
   written: the number of values, each value's kind against its column's type, NULL in a
   NOT NULL or key column, NaN/infinity in REAL and VECTOR values, the vector's dimension.
   A failure sets the component's message naming the table, the column and the key.
   Errors: COCO_ERR_INVALID_ARG, COCO_ERR_NOMEM, coco_declare's errors.
   Thread-safety: inside a component, any thread. */
COCO_API coco_result coco_sqlite_declare_row(coco_ctx* ctx, coco_target* rows,
                                             const coco_value* values, size_t n);

/* ==============================================================================================
   >>sql_api_query -- nearest neighbours (Public)
   ============================================================================================== */
typedef struct coco_sqlite_hit {
    double     score;                 /* COSINE: similarity; L2: distance                        */
    coco_value key;                   /* list of the row's key values, in key order (in arena)  */
} coco_sqlite_hit;

/* coco_sqlite_topk
   The `k` rows of `table` whose float32 vector in `vector_column` is nearest to `query`
   (`dim` floats), best first, into hits[0..*nhits) (hits has room for k).  Brute force in C
   over every row (a fixed-size heap of k); rows whose vector is NULL are skipped.  A vector
   of another size fails with an error naming the table, column and key.  Cosine with a zero
   vector scores 0.  Key values live in `arena`, which also holds the scratch (O(k + dim)).
   sqlite-vec is not needed, and not used even when loaded: its scalar distance over the
   same scan measured 1.45x slower (100k rows x 256 dims: 47 ms against 33 ms here;
   bench/topk_vec.c, bench/RESULTS.md); only its vec0 index tables would be faster, and this
   connector does not declare them (yet).
   Errors: COCO_ERR_INVALID_ARG (no such table or column, dim differs from the column's
   F32_BLOB(dim), NaN in the query), COCO_ERR_IO (SQLite), COCO_ERR_NOMEM; message in `err`.
   Thread-safety: the caller owns `db` for the call (a second connection while updates run). */
COCO_API coco_result coco_sqlite_topk(struct sqlite3* db, const char* table,
                                      const char* vector_column, const float* query,
                                      size_t dim, size_t k, coco_sqlite_metric metric,
                                      coco_arena* arena, coco_sqlite_hit* hits, size_t* nhits,
                                      char* err, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* COCOINDEX_SQLITE_H_INCLUDED */

#if defined(COCOINDEX_SQLITE_IMPLEMENTATION) && !defined(COCOINDEX_SQLITE_IMPL_INCLUDED)
#define COCOINDEX_SQLITE_IMPL_INCLUDED 1
#ifndef COCOINDEX_IMPLEMENTATION
#error "define COCOINDEX_SQLITE_IMPLEMENTATION only where COCOINDEX_IMPLEMENTATION is defined"
#endif
#include <sqlite3.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==============================================================================================
   >>sql_impl_base -- allocation, strings, messages, value rendering (Private)
   ============================================================================================== */
#if defined(__GNUC__)
#  define COCO__SQL_FN static __attribute__((unused))
#  define COCO__SQL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define COCO__SQL_FN static
#  define COCO__SQL_PRINTF(a, b)
#endif

#define COCO__SQL_NCACHE      16     /* cached statements per table                            */
#define COCO__SQL_DEL_ROWS    256    /* keys per DELETE ... IN (...)                            */
#define COCO__SQL_MAX_DIM     65536u

COCO__SQL_FN void* coco__sql_malloc(const coco_allocator* a, size_t n) {
    return a->alloc ? a->alloc(a->user, n) : malloc(n);
}
COCO__SQL_FN void* coco__sql_realloc(const coco_allocator* a, void* p, size_t o, size_t n) {
    return a->realloc ? a->realloc(a->user, p, o, n) : realloc(p, n);
}
COCO__SQL_FN void coco__sql_free(const coco_allocator* a, void* p, size_t n) {
    if (!p) return;
    if (a->free) a->free(a->user, p, n);
    else free(p);
}

/* SQLite's message for the last failure on `db` (or `primary` when given), with the OS error
   behind it when the failure was the file system's: "unable to open database file" alone does
   not say that the process ran out of descriptors or the disk is full.  In buf, or a constant. */
COCO__SQL_FN const char* coco__sql_errmsg(sqlite3* db, const char* primary, char* buf,
                                          size_t cap) {
    const char* m = primary ? primary : db ? sqlite3_errmsg(db) : "out of memory";
    int code = db ? (sqlite3_extended_errcode(db) & 0xff) : 0;
    int e = db && (code == SQLITE_CANTOPEN || code == SQLITE_IOERR || code == SQLITE_FULL)
            ? sqlite3_system_errno(db) : 0;
    if (!e || strstr(m, strerror(e))) return m;
    snprintf(buf, cap, "%s (%s)", m, strerror(e));
    return buf;
}

/* a growable string on an allocator; `oom` sticks */
typedef struct coco__sql_buf {
    char*                 p;
    size_t                len, cap;
    int                   oom;
    const coco_allocator* a;
} coco__sql_buf;

COCO__SQL_FN void coco__sql_buf_init(coco__sql_buf* b, const coco_allocator* a) {
    memset(b, 0, sizeof *b);
    b->a = a;
}
COCO__SQL_FN void coco__sql_buf_free(coco__sql_buf* b) {
    coco__sql_free(b->a, b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}
COCO__SQL_FN void coco__sql_put(coco__sql_buf* b, const char* s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        char* np;
        while (nc < b->len + n + 1) nc *= 2;
        np = (char*)coco__sql_realloc(b->a, b->p, b->cap, nc);
        if (!np) { b->oom = 1; return; }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
COCO__SQL_FN void coco__sql_puts(coco__sql_buf* b, const char* s) {
    coco__sql_put(b, s, strlen(s));
}
COCO__SQL_FN void coco__sql_putu(coco__sql_buf* b, unsigned long v) {
    char t[24];
    int n = snprintf(t, sizeof t, "%lu", v);
    coco__sql_put(b, t, (size_t)n);
}
/* "name" with embedded quotes doubled */
COCO__SQL_FN void coco__sql_ident(coco__sql_buf* b, const char* s, size_t n) {
    size_t i, start = 0;
    coco__sql_put(b, "\"", 1);
    for (i = 0; i < n; i++)
        if (s[i] == '"') {
            coco__sql_put(b, s + start, i + 1 - start);
            coco__sql_put(b, "\"", 1);
            start = i + 1;
        }
    coco__sql_put(b, s + start, n - start);
    coco__sql_put(b, "\"", 1);
}

COCO__SQL_FN void coco__sql_msg(char* err, size_t cap, const char* fmt, ...) COCO__SQL_PRINTF(3, 4);
COCO__SQL_FN void coco__sql_msg(char* err, size_t cap, const char* fmt, ...) {
    va_list ap;
    if (!err || !cap) return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* Renders a key value (a list of key values) for messages: [7], ["a", 3]; long strings and
   bytes are shortened.  Always NUL-terminates `out`. */
COCO__SQL_FN void coco__sql_render(const coco_value* v, char* out, size_t cap) {
    size_t n = 0, i;
    if (!cap) return;
    out[0] = 0;
#define COCO__SQL_EMIT(...)                                                                   \
    do {                                                                                      \
        if (n < cap) {                                                                        \
            int w_ = snprintf(out + n, cap - n, __VA_ARGS__);                                 \
            n = w_ < 0 ? cap : n + (size_t)w_;                                                \
        }                                                                                     \
    } while (0)
    switch (v->kind) {
    case COCO_NULL: COCO__SQL_EMIT("null"); break;
    case COCO_BOOL: COCO__SQL_EMIT("%s", v->u.b ? "true" : "false"); break;
    case COCO_INT: COCO__SQL_EMIT("%lld", (long long)v->u.i); break;
    case COCO_FLOAT: COCO__SQL_EMIT("%.17g", v->u.f); break;
    case COCO_STR:
        COCO__SQL_EMIT("\"%.*s%s\"", (int)(v->u.s.len > 40 ? 40 : v->u.s.len), v->u.s.ptr,
                       v->u.s.len > 40 ? "..." : "");
        break;
    case COCO_BYTES: case COCO_UUID:
        COCO__SQL_EMIT("x'");
        for (i = 0; i < v->u.s.len && i < 16; i++)
            COCO__SQL_EMIT("%02x", ((const unsigned char*)v->u.s.ptr)[i]);
        COCO__SQL_EMIT("%s'", v->u.s.len > 16 ? "..." : "");
        break;
    case COCO_LIST:
        COCO__SQL_EMIT("[");
        for (i = 0; i < v->u.list.count && n < cap; i++) {
            if (i) COCO__SQL_EMIT(", ");
            if (n < cap) {
                coco__sql_render(&v->u.list.items[i], out + n, cap - n);
                n += strlen(out + n);
            }
        }
        COCO__SQL_EMIT("]");
        break;
    case COCO_VEC_F32: COCO__SQL_EMIT("<vector of %lu>", (unsigned long)v->u.vec.dim); break;
    default: COCO__SQL_EMIT("<kind %d>", (int)v->kind); break;
    }
#undef COCO__SQL_EMIT
}

COCO__SQL_FN double coco__sql_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

COCO__SQL_FN int coco__sql_little_endian(void) {
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* 0 = finite everywhere; else 1 + the index of the first NaN/infinity */
COCO__SQL_FN size_t coco__sql_nonfinite(const float* v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        float x;
        memcpy(&x, v + i, sizeof x);
        if (!isfinite(x)) return i + 1;
    }
    return 0;
}

COCO__SQL_FN int coco__sql_streq(const char* a, size_t alen, const char* b, size_t blen) {
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* ==============================================================================================
   >>sql_impl_schema -- the schema: parse, check, canonical value (Private)
   ============================================================================================== */
enum { COCO__SQL_OTHER = 0 };   /* a live column of a type we did not declare */

typedef struct coco__sql_col {
    const char* name;           /* NUL-terminated */
    size_t      len;
    int         type;           /* coco_sqlite_type (never DEFAULT) or COCO__SQL_OTHER */
    uint32_t    dim;            /* VECTOR only */
    int         nullable;
    size_t      pk;             /* 0, or 1 + its position in the key */
} coco__sql_col;

typedef struct coco__sql_schema {
    coco__sql_col* cols;
    size_t         ncols;
    size_t*        pk;          /* column indices in key order */
    size_t         npk;
    int            user;        /* managed_by USER */
    size_t*        vorder;      /* non-key columns sorted by name bytes (the row map's order) */
    size_t         nv;
    coco_bytes     enc;         /* canonical encoding = the tracking record */
} coco__sql_schema;

static const char* const coco__sql_type_names[] = { "OTHER", "INTEGER", "REAL", "TEXT", "BLOB",
                                                    "VECTOR" };

COCO__SQL_FN int coco__sql_type_of(const char* s, size_t n) {
    int i;
    for (i = 1; i <= (int)COCO_SQLITE_VECTOR; i++)
        if (coco__sql_streq(s, n, coco__sql_type_names[i], strlen(coco__sql_type_names[i])))
            return i;
    return -1;
}

COCO__SQL_FN int coco__sql_name_cmp(const coco__sql_col* a, const coco__sql_col* b) {
    size_t m = a->len < b->len ? a->len : b->len;
    int c = m ? memcmp(a->name, b->name, m) : 0;
    return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

COCO__SQL_FN size_t coco__sql_find_col(const coco__sql_schema* s, const char* name, size_t len) {
    size_t i;
    for (i = 0; i < s->ncols; i++)
        if (coco__sql_streq(s->cols[i].name, s->cols[i].len, name, len)) return i;
    return (size_t)-1;
}

/* pk order list and the sorted non-key order; schema columns must be filled */
COCO__SQL_FN coco_result coco__sql_schema_index(coco__sql_schema* s, coco_arena* ar) {
    size_t i, j;
    s->pk = (size_t*)coco_arena_alloc(ar, (s->ncols + 1) * sizeof *s->pk);
    s->vorder = (size_t*)coco_arena_alloc(ar, (s->ncols + 1) * sizeof *s->vorder);
    if (!s->pk || !s->vorder) return COCO_ERR_NOMEM;
    s->npk = s->nv = 0;
    for (i = 0; i < s->ncols; i++)
        if (s->cols[i].pk) s->npk++;
    for (i = 0; i < s->ncols; i++) {
        if (s->cols[i].pk) {
            if (s->cols[i].pk > s->npk) return COCO_ERR_INVALID_ARG;
            s->pk[s->cols[i].pk - 1] = i;
        } else {
            /* insertion sort by name: tables are small */
            for (j = s->nv; j > 0 && coco__sql_name_cmp(&s->cols[s->vorder[j - 1]],
                                                         &s->cols[i]) > 0; j--)
                s->vorder[j] = s->vorder[j - 1];
            s->vorder[j] = i;
            s->nv++;
        }
    }
    return COCO_OK;
}

/* The canonical value of a schema: a map {"columns": [[name, type, dim, nullable]...],
   "format": 1, "managed_by": "system"|"user", "primary_key": [names...]}. */
COCO__SQL_FN coco_result coco__sql_schema_value(coco_arena* ar, const coco__sql_schema* s,
                                                coco_value* out) {
    coco_value* cols = (coco_value*)coco_arena_alloc(ar, (s->ncols * 5 + 1) * sizeof *cols);
    coco_value* pk = (coco_value*)coco_arena_alloc(ar, (s->npk + 1) * sizeof *pk);
    coco_map_entry* e = (coco_map_entry*)coco_arena_alloc(ar, 4 * sizeof *e);
    size_t i;
    if (!cols || !pk || !e) return COCO_ERR_NOMEM;
    for (i = 0; i < s->ncols; i++) {
        coco_value* c = cols + s->ncols + 4 * i;
        c[0] = coco_strn(s->cols[i].name, s->cols[i].len);
        c[1] = coco_str(coco__sql_type_names[s->cols[i].type]);
        c[2] = coco_int(s->cols[i].type == (int)COCO_SQLITE_VECTOR ? (int64_t)s->cols[i].dim : 0);
        c[3] = coco_bool(s->cols[i].nullable && !s->cols[i].pk);
        cols[i] = coco_list(c, 4);
    }
    for (i = 0; i < s->npk; i++)
        pk[i] = coco_strn(s->cols[s->pk[i]].name, s->cols[s->pk[i]].len);
    e[0].key = "columns";     e[0].key_len = 7;  e[0].val = coco_list(cols, s->ncols);
    e[1].key = "format";      e[1].key_len = 6;  e[1].val = coco_int(1);
    e[2].key = "managed_by";  e[2].key_len = 10;
    e[2].val = coco_str(s->user ? "user" : "system");
    e[3].key = "primary_key"; e[3].key_len = 11; e[3].val = coco_list(pk, s->npk);
    *out = coco_map(e, 4);
    return COCO_OK;
}

/* Checks a C table description and builds its schema (names copied into `ar`). */
COCO__SQL_FN coco_result coco__sql_schema_from_desc(coco_arena* ar, const coco_sqlite_table* t,
                                                    coco__sql_schema* s, char* err,
                                                    size_t cap) {
    const char* tn = t && t->name ? t->name : "";
    size_t i, j;
    coco_result rc;
    coco_value v;
    memset(s, 0, sizeof *s);
    if (!t || !t->name || !*t->name) {
        coco__sql_msg(err, cap, "sqlite table: the description has no name");
        return COCO_ERR_INVALID_ARG;
    }
    if (strncmp(tn, "sqlite_", 7) == 0) {
        coco__sql_msg(err, cap, "sqlite table '%s': names starting with 'sqlite_' are reserved",
                      tn);
        return COCO_ERR_INVALID_ARG;
    }
    if (!t->columns || !t->ncolumns) {
        coco__sql_msg(err, cap, "sqlite table '%s': no columns", tn);
        return COCO_ERR_INVALID_ARG;
    }
    if (!t->primary_key || !t->nprimary_key) {
        coco__sql_msg(err, cap, "sqlite table '%s': no primary key (give one or more columns)",
                      tn);
        return COCO_ERR_INVALID_ARG;
    }
    s->ncols = t->ncolumns;
    s->cols = (coco__sql_col*)coco_arena_alloc(ar, s->ncols * sizeof *s->cols);
    if (!s->cols) return COCO_ERR_NOMEM;
    memset(s->cols, 0, s->ncols * sizeof *s->cols);
    s->user = t->managed_by == COCO_SQLITE_MANAGED_USER;
    if ((unsigned)t->managed_by > (unsigned)COCO_SQLITE_MANAGED_USER) {
        coco__sql_msg(err, cap, "sqlite table '%s': unknown managed_by %d", tn,
                      (int)t->managed_by);
        return COCO_ERR_INVALID_ARG;
    }
    for (i = 0; i < s->ncols; i++) {
        const coco_sqlite_column* c = &t->columns[i];
        coco__sql_col* d = &s->cols[i];
        if (!c->name || !*c->name) {
            coco__sql_msg(err, cap, "sqlite table '%s': column %lu has no name", tn,
                          (unsigned long)i);
            return COCO_ERR_INVALID_ARG;
        }
        d->len = strlen(c->name);
        if (!(d->name = coco_arena_strndup(ar, c->name, d->len))) return COCO_ERR_NOMEM;
        for (j = 0; j < i; j++)
            if (strcmp(s->cols[j].name, d->name) == 0) {
                coco__sql_msg(err, cap, "sqlite table '%s': column '%s' appears twice", tn,
                              c->name);
                return COCO_ERR_INVALID_ARG;
            }
        d->type = c->type == COCO_SQLITE_TYPE_DEFAULT ? (int)COCO_SQLITE_TEXT : (int)c->type;
        if (d->type < (int)COCO_SQLITE_INTEGER || d->type > (int)COCO_SQLITE_VECTOR) {
            coco__sql_msg(err, cap, "sqlite table '%s', column '%s': unknown type %d", tn,
                          c->name, (int)c->type);
            return COCO_ERR_INVALID_ARG;
        }
        if (d->type == (int)COCO_SQLITE_VECTOR) {
            if (c->dim < 1 || c->dim > COCO__SQL_MAX_DIM) {
                coco__sql_msg(err, cap, "sqlite table '%s', column '%s': a VECTOR needs a "
                              "dimension of 1..%u (got %lu)", tn, c->name, COCO__SQL_MAX_DIM,
                              (unsigned long)c->dim);
                return COCO_ERR_INVALID_ARG;
            }
            d->dim = c->dim;
        }
        d->nullable = c->nullable != 0;
    }
    for (i = 0; i < t->nprimary_key; i++) {
        const char* k = t->primary_key[i];
        size_t at = k ? coco__sql_find_col(s, k, strlen(k)) : (size_t)-1;
        if (at == (size_t)-1) {
            coco__sql_msg(err, cap, "sqlite table '%s': primary key column '%s' is not a "
                          "column", tn, k ? k : "(null)");
            return COCO_ERR_INVALID_ARG;
        }
        if (s->cols[at].pk) {
            coco__sql_msg(err, cap, "sqlite table '%s': primary key column '%s' appears twice",
                          tn, k);
            return COCO_ERR_INVALID_ARG;
        }
        if (s->cols[at].type == (int)COCO_SQLITE_VECTOR || s->cols[at].nullable) {
            coco__sql_msg(err, cap, "sqlite table '%s', column '%s': a key column cannot be %s",
                          tn, k, s->cols[at].nullable ? "nullable" : "a VECTOR");
            return COCO_ERR_INVALID_ARG;
        }
        s->cols[at].pk = i + 1;
    }
    if ((rc = coco__sql_schema_index(s, ar)) != COCO_OK) return rc;
    if ((rc = coco__sql_schema_value(ar, s, &v)) != COCO_OK) return rc;
    return coco_value_encode(ar, &v, &s->enc);
}

COCO__SQL_FN const coco_value* coco__sql_field(const coco_value* m, const char* k) {
    size_t i, n = strlen(k);
    if (m->kind != COCO_MAP) return NULL;
    for (i = 0; i < m->u.map.count; i++)
        if (coco__sql_streq(m->u.map.entries[i].key, m->u.map.entries[i].key_len, k, n))
            return &m->u.map.entries[i].val;
    return NULL;
}

/* Parses a container value (as coco_sqlite_table_spec makes it, or decoded from a tracking
   record) into a schema in `ar`, re-checking everything. */
COCO__SQL_FN coco_result coco__sql_schema_parse(coco_arena* ar, const coco_value* v,
                                                coco__sql_schema* s) {
    const coco_value *cols = coco__sql_field(v, "columns"), *pk = coco__sql_field(v, "primary_key");
    const coco_value *mb = coco__sql_field(v, "managed_by"), *fmt = coco__sql_field(v, "format");
    size_t i, j;
    coco_result rc;
    coco_value cv;
    memset(s, 0, sizeof *s);
    if (!cols || cols->kind != COCO_LIST || !cols->u.list.count || !pk || pk->kind != COCO_LIST ||
        !pk->u.list.count || !mb || mb->kind != COCO_STR || !fmt || fmt->kind != COCO_INT ||
        fmt->u.i != 1)
        return COCO_ERR_INVALID_ARG;
    if (coco__sql_streq(mb->u.s.ptr, mb->u.s.len, "user", 4)) s->user = 1;
    else if (!coco__sql_streq(mb->u.s.ptr, mb->u.s.len, "system", 6)) return COCO_ERR_INVALID_ARG;
    s->ncols = cols->u.list.count;
    s->cols = (coco__sql_col*)coco_arena_alloc(ar, s->ncols * sizeof *s->cols);
    if (!s->cols) return COCO_ERR_NOMEM;
    memset(s->cols, 0, s->ncols * sizeof *s->cols);
    for (i = 0; i < s->ncols; i++) {
        const coco_value* c = &cols->u.list.items[i];
        const coco_value* it;
        coco__sql_col* d = &s->cols[i];
        if (c->kind != COCO_LIST || c->u.list.count != 4) return COCO_ERR_INVALID_ARG;
        it = c->u.list.items;
        if (it[0].kind != COCO_STR || !it[0].u.s.len || memchr(it[0].u.s.ptr, 0, it[0].u.s.len) ||
            it[1].kind != COCO_STR || it[2].kind != COCO_INT || it[3].kind != COCO_BOOL)
            return COCO_ERR_INVALID_ARG;
        if (!(d->name = coco_arena_strndup(ar, it[0].u.s.ptr, it[0].u.s.len)))
            return COCO_ERR_NOMEM;
        d->len = it[0].u.s.len;
        if ((d->type = coco__sql_type_of(it[1].u.s.ptr, it[1].u.s.len)) < 0)
            return COCO_ERR_INVALID_ARG;
        if (d->type == (int)COCO_SQLITE_VECTOR) {
            if (it[2].u.i < 1 || it[2].u.i > (int64_t)COCO__SQL_MAX_DIM)
                return COCO_ERR_INVALID_ARG;
            d->dim = (uint32_t)it[2].u.i;
        }
        d->nullable = it[3].u.b != 0;
        for (j = 0; j < i; j++)
            if (coco__sql_streq(s->cols[j].name, s->cols[j].len, d->name, d->len))
                return COCO_ERR_INVALID_ARG;
    }
    for (i = 0; i < pk->u.list.count; i++) {
        const coco_value* k = &pk->u.list.items[i];
        size_t at;
        if (k->kind != COCO_STR) return COCO_ERR_INVALID_ARG;
        at = coco__sql_find_col(s, k->u.s.ptr, k->u.s.len);
        if (at == (size_t)-1 || s->cols[at].pk || s->cols[at].nullable ||
            s->cols[at].type == (int)COCO_SQLITE_VECTOR)
            return COCO_ERR_INVALID_ARG;
        s->cols[at].pk = i + 1;
    }
    if ((rc = coco__sql_schema_index(s, ar)) != COCO_OK) return rc;
    if ((rc = coco__sql_schema_value(ar, s, &cv)) != COCO_OK) return rc;
    return coco_value_encode(ar, &cv, &s->enc);
}

/* The SQL type of a column as we declare it. */
COCO__SQL_FN void coco__sql_put_type(coco__sql_buf* b, const coco__sql_col* c) {
    if (c->type == (int)COCO_SQLITE_VECTOR) {
        coco__sql_puts(b, "F32_BLOB(");
        coco__sql_putu(b, c->dim);
        coco__sql_puts(b, ")");
    } else {
        coco__sql_puts(b, coco__sql_type_names[c->type]);
    }
}

/* Parses a declared SQL type back (live tables): ours, or COCO__SQL_OTHER. */
COCO__SQL_FN int coco__sql_parse_decl(const char* t, uint32_t* dim) {
    char u[64];
    size_t i, n = t ? strlen(t) : 0;
    *dim = 0;
    if (n == 0 || n >= sizeof u) return COCO__SQL_OTHER;
    for (i = 0; i < n; i++) u[i] = (char)(t[i] >= 'a' && t[i] <= 'z' ? t[i] - 32 : t[i]);
    u[n] = 0;
    if (strncmp(u, "F32_BLOB(", 9) == 0 && u[n - 1] == ')') {
        unsigned long d = 0;
        for (i = 9; i < n - 1; i++) {
            if (u[i] < '0' || u[i] > '9' || d > COCO__SQL_MAX_DIM) return COCO__SQL_OTHER;
            d = d * 10 + (unsigned long)(u[i] - '0');
        }
        if (i == 9 || d < 1 || d > COCO__SQL_MAX_DIM) return COCO__SQL_OTHER;
        *dim = (uint32_t)d;
        return (int)COCO_SQLITE_VECTOR;
    }
    {
        int ty = coco__sql_type_of(u, n);   /* "VECTOR" is never a declared type of ours */
        return ty < 0 || ty == (int)COCO_SQLITE_VECTOR ? COCO__SQL_OTHER : ty;
    }
}

/* Whether the table keeps its rowid.  A single INTEGER key is the rowid.  Any other key makes
   a WITHOUT ROWID table only when the other columns are INTEGER/REAL (small rows); with TEXT,
   BLOB or VECTOR columns the rows live in a rowid table and the key in its unique index:
   measured with 100k rows upserted in hash order (bench_sqlite layout), WITHOUT ROWID was
   4.4x slower for 470-byte rows, 4.5x for 3.3 KiB rows, and 1.3x faster for small rows. */
COCO__SQL_FN int coco__sql_rowid_table(const coco__sql_schema* s) {
    size_t i;
    if (s->npk == 1 && s->cols[s->pk[0]].type == (int)COCO_SQLITE_INTEGER) return 1;
    for (i = 0; i < s->ncols; i++)
        if (!s->cols[i].pk && s->cols[i].type != (int)COCO_SQLITE_INTEGER &&
            s->cols[i].type != (int)COCO_SQLITE_REAL)
            return 1;
    return 0;
}

COCO__SQL_FN void coco__sql_create_sql(coco__sql_buf* b, const char* name, size_t len,
                                       const coco__sql_schema* s) {
    size_t i;
    int intpk = s->npk == 1 && s->cols[s->pk[0]].type == (int)COCO_SQLITE_INTEGER;
    coco__sql_puts(b, "CREATE TABLE IF NOT EXISTS ");
    coco__sql_ident(b, name, len);
    coco__sql_puts(b, " (");
    for (i = 0; i < s->ncols; i++) {
        if (i) coco__sql_puts(b, ", ");
        coco__sql_ident(b, s->cols[i].name, s->cols[i].len);
        coco__sql_puts(b, " ");
        coco__sql_put_type(b, &s->cols[i]);
        if (intpk && s->cols[i].pk) coco__sql_puts(b, " PRIMARY KEY");
        if (!s->cols[i].nullable || s->cols[i].pk) coco__sql_puts(b, " NOT NULL");
    }
    if (!intpk) {
        coco__sql_puts(b, ", PRIMARY KEY (");
        for (i = 0; i < s->npk; i++) {
            if (i) coco__sql_puts(b, ", ");
            coco__sql_ident(b, s->cols[s->pk[i]].name, s->cols[s->pk[i]].len);
        }
        coco__sql_puts(b, ")");
    }
    coco__sql_puts(b, coco__sql_rowid_table(s) ? ")" : ") WITHOUT ROWID");
}

/* How a schema change from `p` to `s` affects the rows (container invalidation). */
COCO__SQL_FN coco_invalidation coco__sql_schema_diff(const coco__sql_schema* p,
                                                     const coco__sql_schema* s) {
    size_t i;
    int lossy = p->ncols != s->ncols || p->user != s->user;
    if (p->npk != s->npk) return COCO_INVALIDATE_DESTRUCTIVE;
    for (i = 0; i < s->npk; i++) {
        const coco__sql_col *a = &p->cols[p->pk[i]], *b = &s->cols[s->pk[i]];
        if (!coco__sql_streq(a->name, a->len, b->name, b->len) || a->type != b->type)
            return COCO_INVALIDATE_DESTRUCTIVE;
    }
    for (i = 0; i < s->ncols; i++) {
        const coco__sql_col* b = &s->cols[i];
        size_t at = coco__sql_find_col(p, b->name, b->len);
        const coco__sql_col* a;
        if (at == (size_t)-1) { lossy = 1; continue; }
        a = &p->cols[at];
        if ((a->type == (int)COCO_SQLITE_VECTOR || b->type == (int)COCO_SQLITE_VECTOR) &&
            (a->type != b->type || a->dim != b->dim))
            return COCO_INVALIDATE_DESTRUCTIVE;
        if (a->type != b->type || (a->pk != 0) != (b->pk != 0)) lossy = 1;
    }
    return lossy ? COCO_INVALIDATE_LOSSY : COCO_INVALIDATE_NONE;
}

/* ==============================================================================================
   >>sql_impl_live -- the connector, tables, and the schema of a live table (Private)
   ============================================================================================== */
typedef struct coco__sql_stmt {
    sqlite3_stmt*  st;
    int            kind;        /* 1 upsert, 2 delete */
    size_t         nrows;
    unsigned char* sig;         /* the shape: live column indices (uint16 each) */
    size_t         siglen;
    uint64_t       used;
} coco__sql_stmt;

struct coco__sql_conn;

typedef struct coco__sql_tab {
    struct coco__sql_conn*  conn;
    char*                   name;       /* NUL-terminated */
    size_t                  len;
    const coco__sql_schema* spec;       /* from coco_sqlite_mount_table (spec_mu)          */
    coco_arena*             live_ar;    /* the live schema (mu)                            */
    coco__sql_schema*       live;       /* NULL: the table does not exist                  */
    int64_t                 live_ver;   /* schema_version it was read at; -1 = not read    */
    coco__sql_stmt          cache[COCO__SQL_NCACHE];
    struct coco__sql_tab*   next;
} coco__sql_tab;

typedef struct coco__sql_conn {
    coco_env*         env;
    const char*       name;
    sqlite3*          db;
    int               own_db, vec_loaded, closed;
    coco_allocator    a;
    pthread_mutex_t   mu;           /* the connection, live schemas, caches, stats       */
    pthread_mutex_t   spec_mu;      /* tables list, tab->spec, arena                      */
    coco_arena*       arena;        /* schemas from coco_sqlite_mount_table (spec_mu)     */
    coco_arena*       scratch;      /* one apply at a time (mu)                           */
    coco__sql_tab*    tabs;
    int               var_limit;
    uint32_t          rows_per_stmt;
    sqlite3_stmt*     st_version;
    uint64_t          tick;
    coco_sqlite_stats stats;
} coco__sql_conn;

static coco_result coco__sql_table_reconcile(void* user, const coco_value* key,
                                             const coco_value* desired, const coco_bytes* prev,
                                             size_t nprev, int may_missing, coco_arena* ar,
                                             coco_action* out);
static coco_result coco__sql_table_apply(void* user, const coco_action* acts, size_t n,
                                         char* err, size_t cap);
static coco_result coco__sql_rows_apply(void* user, const coco_action* acts, size_t n,
                                        char* err, size_t cap);

/* The user pointer of one of our targets: kind 1 = the container (coco__sql_conn), 2 = rows
   (coco__sql_tab).  Returns NULL for any other target. */
COCO__SQL_FN void* coco__sql_user_of(coco_target* t, int kind) {
    const coco_target_vtable* vt;
    void* user = coco_target_user(t, &vt);
    if (!t) return NULL;
    if (kind == 1 && vt->apply == coco__sql_table_apply) return user;
    if (kind == 2 && vt->apply == coco__sql_rows_apply) return user;
    return NULL;
}
COCO__SQL_FN coco__sql_conn* coco__sql_conn_of(coco_target* t) {
    coco__sql_conn* c = (coco__sql_conn*)coco__sql_user_of(t, 1);
    coco__sql_tab* tab;
    if (c) return c;
    tab = (coco__sql_tab*)coco__sql_user_of(t, 2);
    return tab ? tab->conn : NULL;
}

COCO__SQL_FN void coco__sql_cache_clear(coco__sql_conn* c, coco__sql_tab* t) {
    size_t i;
    for (i = 0; i < COCO__SQL_NCACHE; i++) {
        coco__sql_stmt* e = &t->cache[i];
        if (e->st) sqlite3_finalize(e->st);
        coco__sql_free(&c->a, e->sig, e->siglen);
        memset(e, 0, sizeof *e);
    }
}

/* tables by name (caller holds spec_mu) */
COCO__SQL_FN coco__sql_tab* coco__sql_tab_find(coco__sql_conn* c, const char* name, size_t len) {
    coco__sql_tab* t;
    for (t = c->tabs; t; t = t->next)
        if (coco__sql_streq(t->name, t->len, name, len)) return t;
    return NULL;
}

COCO__SQL_FN coco_result coco__sql_exec(sqlite3* db, const char* sql, char* err, size_t cap,
                                        const char* what) {
    char* m = NULL;
    char eb[300];
    int rc = sqlite3_exec(db, sql, NULL, NULL, &m);
    if (rc == SQLITE_OK) return COCO_OK;
    coco__sql_msg(err, cap, "%s: %s", what, coco__sql_errmsg(db, m ? m : sqlite3_errstr(rc), eb,
                                                             sizeof eb));
    sqlite3_free(m);
    return rc == SQLITE_NOMEM ? COCO_ERR_NOMEM : COCO_ERR_IO;
}

COCO__SQL_FN int64_t coco__sql_schema_version(coco__sql_conn* c) {
    int64_t v = -2;
    if (!c->st_version &&
        sqlite3_prepare_v2(c->db, "PRAGMA schema_version", -1, &c->st_version, NULL) != SQLITE_OK)
        return -2;
    if (sqlite3_step(c->st_version) == SQLITE_ROW) v = sqlite3_column_int64(c->st_version, 0);
    sqlite3_reset(c->st_version);
    return v;
}

/* Reads the schema of table `name` from the database: *out = NULL when there is no such
   table.  Columns of types we do not know are COCO__SQL_OTHER. */
COCO__SQL_FN coco_result coco__sql_live_read(sqlite3* db, const char* name, size_t len,
                                             coco_arena* ar, coco__sql_schema** out, char* err,
                                             size_t cap) {
    sqlite3_stmt* st = NULL;
    coco__sql_schema* s;
    size_t n = 0, capc = 16, i;
    int rc, exists = 0;
    *out = NULL;
    rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                            "name = ?1 COLLATE NOCASE",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        exists = rc == SQLITE_ROW;
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_OK) goto fail;
    if (!exists) return COCO_OK;
    s = (coco__sql_schema*)coco_arena_alloc(ar, sizeof *s);
    if (!s) return COCO_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->cols = (coco__sql_col*)coco_arena_alloc(ar, capc * sizeof *s->cols);
    if (!s->cols) return COCO_ERR_NOMEM;
    rc = sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\", pk FROM "
                            "pragma_table_info(?1, 'main') ORDER BY cid", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        coco__sql_col* d;
        const char* cn = (const char*)sqlite3_column_text(st, 0);
        if (n == capc) {
            coco__sql_col* nc = (coco__sql_col*)coco_arena_alloc(ar, 2 * capc * sizeof *nc);
            if (!nc) { sqlite3_finalize(st); return COCO_ERR_NOMEM; }
            memcpy(nc, s->cols, n * sizeof *nc);
            s->cols = nc;
            capc *= 2;
        }
        d = &s->cols[n++];
        memset(d, 0, sizeof *d);
        d->len = cn ? (size_t)sqlite3_column_bytes(st, 0) : 0;
        if (!(d->name = coco_arena_strndup(ar, cn ? cn : "", d->len))) {
            sqlite3_finalize(st);
            return COCO_ERR_NOMEM;
        }
        d->type = coco__sql_parse_decl((const char*)sqlite3_column_text(st, 1), &d->dim);
        d->nullable = sqlite3_column_int(st, 2) == 0;
        d->pk = (size_t)sqlite3_column_int(st, 3);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) goto fail;
    s->ncols = n;
    /* pk positions from table_info are 1-based and dense */
    for (i = 0; i < n; i++)
        if (s->cols[i].pk > n) s->cols[i].pk = 0;
    if (coco__sql_schema_index(s, ar) != COCO_OK) {
        coco__sql_msg(err, cap, "table '%s': cannot read its primary key", name);
        return COCO_ERR_IO;
    }
    *out = s;
    return COCO_OK;
fail:
    {
        char eb[300];
        coco__sql_msg(err, cap, "table '%.*s': cannot read its schema: %s", (int)len, name,
                      coco__sql_errmsg(db, NULL, eb, sizeof eb));
    }
    return COCO_ERR_IO;
}

/* The live schema of a table, read again when the database's schema changed (caller
   holds mu, inside a transaction). */
COCO__SQL_FN coco_result coco__sql_tab_live(coco__sql_tab* t, char* err, size_t cap) {
    coco__sql_conn* c = t->conn;
    int64_t v = coco__sql_schema_version(c);
    coco_result rc;
    if (v == -2) {
        char eb[300];
        coco__sql_msg(err, cap, "table '%s': cannot read the schema version: %s", t->name,
                      coco__sql_errmsg(c->db, NULL, eb, sizeof eb));
        return COCO_ERR_IO;
    }
    if (t->live_ver == v && t->live_ar) return COCO_OK;
    coco__sql_cache_clear(c, t);
    if (!t->live_ar && coco_arena_create(&c->a, &t->live_ar) != COCO_OK) return COCO_ERR_NOMEM;
    coco_arena_reset(t->live_ar);
    t->live = NULL;
    t->live_ver = -1;
    if ((rc = coco__sql_live_read(c->db, t->name, t->len, t->live_ar, &t->live, err, cap)))
        return rc;
    t->live_ver = v;
    return COCO_OK;
}

/* ==============================================================================================
   >>sql_impl_table -- the container: reconcile and apply of tables (Private)
   ============================================================================================== */
COCO__SQL_FN int coco__sql_key_ok(const coco_value* key) {
    return key->kind == COCO_STR && key->u.s.len > 0 && !memchr(key->u.s.ptr, 0, key->u.s.len);
}

static coco_result coco__sql_table_reconcile(void* user, const coco_value* key,
                                             const coco_value* desired, const coco_bytes* prev,
                                             size_t nprev, int may_missing, coco_arena* ar,
                                             coco_action* out) {
    coco__sql_schema s, p;
    size_t i;
    int same;
    coco_result rc;
    (void)user;
    out->key = *key;
    out->value = desired ? *desired : coco_null();
    out->tracking.ptr = NULL;
    out->tracking.len = 0;
    out->child_invalidation = COCO_INVALIDATE_NONE;
    if (!coco__sql_key_ok(key)) return COCO_ERR_INVALID_ARG;
    if (!desired) {
        /* drop only what every possible record says we created */
        int ours = nprev > 0;
        for (i = 0; i < nprev && ours; i++) {
            coco_value pv;
            ours = coco_value_decode(ar, prev[i].ptr, prev[i].len, &pv) == COCO_OK &&
                   coco__sql_schema_parse(ar, &pv, &p) == COCO_OK && !p.user;
        }
        out->kind = ours ? COCO_ACTION_DELETE : COCO_ACTION_NONE;
        return COCO_OK;
    }
    if ((rc = coco__sql_schema_parse(ar, desired, &s)) != COCO_OK) return rc;
    out->tracking = s.enc;
    same = nprev > 0 && !may_missing;
    for (i = 0; i < nprev && same; i++)
        same = coco__sql_streq((const char*)prev[i].ptr, prev[i].len, (const char*)s.enc.ptr,
                               s.enc.len);
    if (same) { out->kind = COCO_ACTION_NONE; return COCO_OK; }
    out->kind = COCO_ACTION_UPSERT;
    for (i = 0; i < nprev; i++) {
        coco_value pv;
        coco_invalidation d;
        if (coco_value_decode(ar, prev[i].ptr, prev[i].len, &pv) != COCO_OK ||
            coco__sql_schema_parse(ar, &pv, &p) != COCO_OK)
            d = COCO_INVALIDATE_DESTRUCTIVE;       /* a record we cannot read: assume the worst */
        else
            d = coco__sql_schema_diff(&p, &s);
        if ((int)d > (int)out->child_invalidation) out->child_invalidation = d;
    }
    /* a table we never drop is never recreated by us: its rows just need writing again */
    if (s.user && out->child_invalidation != COCO_INVALIDATE_NONE)
        out->child_invalidation = COCO_INVALIDATE_LOSSY;
    /* may be missing: apply may create it empty, so its rows must be written again */
    if (!s.user && may_missing && nprev > 0 && out->child_invalidation == COCO_INVALIDATE_NONE)
        out->child_invalidation = COCO_INVALIDATE_LOSSY;
    return COCO_OK;
}

/* Same columns (by name, type, dimension) and the same key as declared: NOT NULL and the
   column order do not matter (ALTER ADD COLUMN appends nullable columns). */
COCO__SQL_FN int coco__sql_live_matches(const coco__sql_schema* live, const coco__sql_schema* s) {
    size_t i;
    if (live->ncols != s->ncols || live->npk != s->npk) return 0;
    for (i = 0; i < s->npk; i++)
        if (!coco__sql_streq(live->cols[live->pk[i]].name, live->cols[live->pk[i]].len,
                             s->cols[s->pk[i]].name, s->cols[s->pk[i]].len))
            return 0;
    for (i = 0; i < s->ncols; i++) {
        size_t at = coco__sql_find_col(live, s->cols[i].name, s->cols[i].len);
        if (at == (size_t)-1 || live->cols[at].type != s->cols[i].type ||
            live->cols[at].dim != s->cols[i].dim)
            return 0;
    }
    return 1;
}

/* 1 when `live` can become `s` with ADD/DROP COLUMN: same key, vector columns unchanged. */
COCO__SQL_FN int coco__sql_alterable(const coco__sql_schema* live, const coco__sql_schema* s) {
    size_t i;
    if (live->npk != s->npk) return 0;
    for (i = 0; i < s->npk; i++) {
        const coco__sql_col *a = &live->cols[live->pk[i]], *b = &s->cols[s->pk[i]];
        if (!coco__sql_streq(a->name, a->len, b->name, b->len) || a->type != b->type) return 0;
    }
    for (i = 0; i < s->ncols; i++) {
        size_t at = coco__sql_find_col(live, s->cols[i].name, s->cols[i].len);
        const coco__sql_col *a, *b = &s->cols[i];
        if (at == (size_t)-1) continue;
        a = &live->cols[at];
        if ((a->pk != 0) != (b->pk != 0)) return 0;
        if ((a->type == (int)COCO_SQLITE_VECTOR || b->type == (int)COCO_SQLITE_VECTOR) &&
            (a->type != b->type || a->dim != b->dim))
            return 0;
    }
    return 1;
}

/* What an apply's error names: "table 'files' in '/data/rows.sqlite'" plus `tail` (the file
   is left out for an in-memory or temporary database); `more` other tables of the batch. */
COCO__SQL_FN void coco__sql_where(coco__sql_conn* c, const char* tname, int tlen, size_t more,
                                  const char* tail, char* out, size_t cap) {
    const char* file = sqlite3_db_filename(c->db, "main");
    char also[48] = "";
    if (more) snprintf(also, sizeof also, " (and %lu more)", (unsigned long)more);
    if (file && file[0])
        snprintf(out, cap, "table '%.*s'%s in '%s'%s", tlen, tname, also, file, tail);
    else
        snprintf(out, cap, "table '%.*s'%s%s", tlen, tname, also, tail);
}

COCO__SQL_FN coco_result coco__sql_ddl(coco__sql_conn* c, coco__sql_buf* b, const char* tname,
                                       char* err, size_t cap) {
    char what[320];
    if (b->oom) return COCO_ERR_NOMEM;
    coco__sql_where(c, tname, (int)strlen(tname), 0, "", what, sizeof what);
    return coco__sql_exec(c->db, b->p, err, cap, what);
}

/* Makes the live table `name` look like `s` (caller holds mu, in a transaction). */
COCO__SQL_FN coco_result coco__sql_table_put(coco__sql_conn* c, const char* name, size_t len,
                                             const coco__sql_schema* s, const coco_action* a,
                                             coco_arena* ar, char* err, size_t cap) {
    coco__sql_schema* live = NULL;
    coco__sql_buf b;
    coco_result rc;
    size_t i;
    if ((rc = coco__sql_live_read(c->db, name, len, ar, &live, err, cap)) != COCO_OK) return rc;
    if (s->user) {
        /* TGT-07: never created, altered or dropped; it must be there and fit */
        if (!live) {
            coco__sql_msg(err, cap, "table '%s' is managed_by USER and does not exist: create "
                          "it before the update", name);
            return COCO_ERR_NOT_FOUND;
        }
        for (i = 0; i < s->ncols; i++)
            if (coco__sql_find_col(live, s->cols[i].name, s->cols[i].len) == (size_t)-1) {
                coco__sql_msg(err, cap, "table '%s' (managed_by USER) has no column '%s'", name,
                              s->cols[i].name);
                return COCO_ERR_INVALID_ARG;
            }
        for (i = 0; i < s->npk; i++)
            if (live->npk != s->npk ||
                !coco__sql_streq(live->cols[live->pk[i]].name, live->cols[live->pk[i]].len,
                                 s->cols[s->pk[i]].name, s->cols[s->pk[i]].len)) {
                coco__sql_msg(err, cap, "table '%s' (managed_by USER): its PRIMARY KEY is not "
                              "the declared key (%s...)", name, s->cols[s->pk[0]].name);
                return COCO_ERR_INVALID_ARG;
            }
        return COCO_OK;
    }
    coco__sql_buf_init(&b, &c->a);
    if (live && coco__sql_live_matches(live, s)) {
        rc = COCO_OK;                                /* already so (a re-run after a crash) */
    } else if (live && !a->nprev && !a->prev_may_be_missing) {
        coco__sql_msg(err, cap, "table '%s' already exists with other columns or another key "
                      "and was not created by this app: drop it, or declare it managed_by USER",
                      name);
        rc = COCO_ERR_INVALID_ARG;
    } else if (live && coco__sql_alterable(live, s)) {
        /* in place: drop what goes or changes type, add what comes */
        rc = COCO_OK;
        for (i = 0; i < live->ncols && rc == COCO_OK; i++) {
            const coco__sql_col* lc = &live->cols[i];
            size_t at = coco__sql_find_col(s, lc->name, lc->len);
            if (at != (size_t)-1 && s->cols[at].type == lc->type) continue;
            b.len = 0;
            coco__sql_puts(&b, "ALTER TABLE ");
            coco__sql_ident(&b, name, len);
            coco__sql_puts(&b, " DROP COLUMN ");
            coco__sql_ident(&b, lc->name, lc->len);
            rc = coco__sql_ddl(c, &b, name, err, cap);
        }
        for (i = 0; i < s->ncols && rc == COCO_OK; i++) {
            const coco__sql_col* sc = &s->cols[i];
            size_t at = coco__sql_find_col(live, sc->name, sc->len);
            if (at != (size_t)-1 && live->cols[at].type == sc->type) continue;
            b.len = 0;
            coco__sql_puts(&b, "ALTER TABLE ");
            coco__sql_ident(&b, name, len);
            coco__sql_puts(&b, " ADD COLUMN ");
            coco__sql_ident(&b, sc->name, sc->len);
            coco__sql_puts(&b, " ");
            coco__sql_put_type(&b, sc);
            rc = coco__sql_ddl(c, &b, name, err, cap);
        }
        if (rc == COCO_OK) c->stats.alters++;
    } else {
        rc = COCO_OK;
        if (live) {
            coco__sql_puts(&b, "DROP TABLE IF EXISTS ");
            coco__sql_ident(&b, name, len);
            if ((rc = coco__sql_ddl(c, &b, name, err, cap)) == COCO_OK) c->stats.drops++;
            b.len = 0;
        }
        if (rc == COCO_OK) {
            coco__sql_create_sql(&b, name, len, s);
            if ((rc = coco__sql_ddl(c, &b, name, err, cap)) == COCO_OK) c->stats.creates++;
        }
    }
    coco__sql_buf_free(&b);
    return rc;
}

COCO__SQL_FN void coco__sql_rollback(coco__sql_conn* c) {
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* coco__sql_where for a batch of table actions: its first table and how many more */
COCO__SQL_FN void coco__sql_batch_where(coco__sql_conn* c, const coco_action* acts, size_t n,
                                        const char* tail, char* out, size_t cap) {
    if (n && coco__sql_key_ok(&acts[0].key))
        coco__sql_where(c, acts[0].key.u.s.ptr, (int)acts[0].key.u.s.len, n - 1, tail, out, cap);
    else
        snprintf(out, cap, "sqlite target '%s'%s", c->name, tail);
}

static coco_result coco__sql_table_apply(void* user, const coco_action* acts, size_t n,
                                         char* err, size_t cap) {
    coco__sql_conn* c = (coco__sql_conn*)user;
    coco_result rc = COCO_OK;
    size_t i;
    char what[320];
    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        coco__sql_msg(err, cap, "sqlite target '%s' is closed", c->name);
        pthread_mutex_unlock(&c->mu);
        return COCO_ERR_STATE;
    }
    c->stats.applies++;
    if ((uint64_t)n > c->stats.max_batch) c->stats.max_batch = n;
    coco_arena_reset(c->scratch);
    coco__sql_batch_where(c, acts, n, ": BEGIN", what, sizeof what);
    rc = coco__sql_exec(c->db, "BEGIN IMMEDIATE", err, cap, what);
    for (i = 0; i < n && rc == COCO_OK; i++) {
        const coco_action* a = &acts[i];
        const char* name;
        size_t len;
        coco__sql_tab* t;
        if (!coco__sql_key_ok(&a->key)) {
            coco__sql_msg(err, cap, "sqlite: a table key must be a non-empty string");
            rc = COCO_ERR_INVALID_ARG;
            break;
        }
        len = a->key.u.s.len;
        if (!(name = coco_arena_strndup(c->scratch, a->key.u.s.ptr, len))) {
            rc = COCO_ERR_NOMEM;
            break;
        }
        /* statements of this table must not outlive its old shape */
        pthread_mutex_lock(&c->spec_mu);
        t = coco__sql_tab_find(c, name, len);
        pthread_mutex_unlock(&c->spec_mu);
        if (t) {
            coco__sql_cache_clear(c, t);
            t->live_ver = -1;
        }
        if (a->kind == COCO_ACTION_DELETE) {
            coco__sql_schema* live = NULL;
            coco__sql_buf b;
            if ((rc = coco__sql_live_read(c->db, name, len, c->scratch, &live, err, cap)))
                break;
            if (!live) continue;
            coco__sql_buf_init(&b, &c->a);
            coco__sql_puts(&b, "DROP TABLE IF EXISTS ");
            coco__sql_ident(&b, name, len);
            if ((rc = coco__sql_ddl(c, &b, name, err, cap)) == COCO_OK) c->stats.drops++;
            coco__sql_buf_free(&b);
        } else if (a->kind == COCO_ACTION_UPSERT) {
            coco__sql_schema s;
            if (coco__sql_schema_parse(c->scratch, &a->value, &s) != COCO_OK) {
                coco__sql_msg(err, cap, "table '%s': the declared value is not a table spec "
                              "(use coco_sqlite_table_spec)", name);
                rc = COCO_ERR_INVALID_ARG;
                break;
            }
            rc = coco__sql_table_put(c, name, len, &s, a, c->scratch, err, cap);
        }
    }
    if (rc == COCO_OK) {
        coco__sql_batch_where(c, acts, n, ": COMMIT", what, sizeof what);
        rc = coco__sql_exec(c->db, "COMMIT", err, cap, what);
    }
    if (rc != COCO_OK) coco__sql_rollback(c);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ==============================================================================================
   >>sql_impl_rows -- rows: check, group by shape, chunked upserts and deletes (Private)
   ============================================================================================== */

/* One row action, resolved against the live table. */
typedef struct coco__sql_row {
    const coco_action* a;
    size_t             ncols;       /* bound columns: the key's first, then the map's */
    uint16_t*          cols;        /* live column indices */
    const coco_value** vals;
    int                skip;        /* a delete that cannot match (another key shape) */
    int                intkey;      /* the key is one COCO_INT: `ik` (fast ordering) */
    int64_t            ik;
} coco__sql_row;

COCO__SQL_FN int coco__sql_bindable(coco_kind k) {
    return k == COCO_NULL || k == COCO_BOOL || k == COCO_INT || k == COCO_FLOAT ||
           k == COCO_STR || k == COCO_BYTES || k == COCO_VEC_F32 || k == COCO_UUID;
}

static const char* const coco__sql_kind_names[] = { "null", "bool", "int", "float", "string",
                                                    "bytes", "symbol", "vector", "list", "map",
                                                    "object", "uuid" };
COCO__SQL_FN const char* coco__sql_kind_name(coco_kind k) {
    return (unsigned)k < sizeof coco__sql_kind_names / sizeof coco__sql_kind_names[0]
               ? coco__sql_kind_names[k] : "?";
}

/* Checks one value against a column: NaN/infinity, vector dimension, kind.  Writes the
   reason (without the table/column/key prefix) into `why`. */
COCO__SQL_FN int coco__sql_value_ok(const coco__sql_col* col, const coco_value* v, int strict,
                                    char* why, size_t cap) {
    size_t bad;
    if (!coco__sql_bindable(v->kind)) {
        snprintf(why, cap, "a %s value cannot be stored", coco__sql_kind_name(v->kind));
        return 0;
    }
    if (v->kind == COCO_FLOAT && !isfinite(v->u.f)) {
        snprintf(why, cap, "%s is not allowed in a REAL column", v->u.f != v->u.f ? "NaN"
                 : "infinity");
        return 0;
    }
    if (v->kind == COCO_VEC_F32 && (bad = coco__sql_nonfinite(v->u.vec.ptr, v->u.vec.dim))) {
        float x;
        memcpy(&x, v->u.vec.ptr + bad - 1, sizeof x);
        snprintf(why, cap, "%s at index %lu of the vector", x != x ? "NaN" : "infinity",
                 (unsigned long)(bad - 1));
        return 0;
    }
    if (col->type == (int)COCO_SQLITE_VECTOR) {
        if (v->kind == COCO_NULL) return 1;
        if (v->kind != COCO_VEC_F32) {
            snprintf(why, cap, "a VECTOR(%lu) column takes a float32 vector, not a %s",
                     (unsigned long)col->dim, coco__sql_kind_name(v->kind));
            return 0;
        }
        if (v->u.vec.dim != col->dim) {
            snprintf(why, cap, "vector of dimension %lu, the column is VECTOR(%lu)",
                     (unsigned long)v->u.vec.dim, (unsigned long)col->dim);
            return 0;
        }
        return 1;
    }
    if (!strict || v->kind == COCO_NULL) return 1;
    switch (col->type) {
    case COCO_SQLITE_INTEGER: if (v->kind == COCO_INT || v->kind == COCO_BOOL) return 1; break;
    case COCO_SQLITE_REAL:    if (v->kind == COCO_FLOAT || v->kind == COCO_INT) return 1; break;
    case COCO_SQLITE_TEXT:    if (v->kind == COCO_STR) return 1; break;
    case COCO_SQLITE_BLOB:    if (v->kind == COCO_BYTES || v->kind == COCO_UUID) return 1; break;
    default: return 1;
    }
    snprintf(why, cap, "a %s column takes no %s value", coco__sql_type_names[col->type],
             coco__sql_kind_name(v->kind));
    return 0;
}

COCO__SQL_FN int coco__sql_bind(sqlite3_stmt* st, int i, const coco_value* v, coco_arena* ar) {
    static const char empty[1] = { 0 };
    switch (v->kind) {
    case COCO_BOOL: return sqlite3_bind_int(st, i, v->u.b ? 1 : 0);
    case COCO_INT: return sqlite3_bind_int64(st, i, (sqlite3_int64)v->u.i);
    case COCO_FLOAT: return sqlite3_bind_double(st, i, v->u.f);
    case COCO_STR:
        return sqlite3_bind_text64(st, i, v->u.s.len ? v->u.s.ptr : empty,
                                   (sqlite3_uint64)v->u.s.len, SQLITE_STATIC, SQLITE_UTF8);
    case COCO_BYTES: case COCO_UUID:
        return sqlite3_bind_blob64(st, i, v->u.s.len ? v->u.s.ptr : empty,
                                   (sqlite3_uint64)v->u.s.len, SQLITE_STATIC);
    case COCO_VEC_F32: {
        const void* p = v->u.vec.dim ? (const void*)v->u.vec.ptr : (const void*)empty;
        if (v->u.vec.dim && !coco__sql_little_endian()) {
            unsigned char* q = (unsigned char*)coco_arena_alloc(ar, v->u.vec.dim * 4);
            size_t k;
            if (!q) return SQLITE_NOMEM;
            for (k = 0; k < v->u.vec.dim * 4; k += 4) {
                const unsigned char* s = (const unsigned char*)v->u.vec.ptr + k;
                q[k] = s[3]; q[k + 1] = s[2]; q[k + 2] = s[1]; q[k + 3] = s[0];
            }
            p = q;
        }
        return sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)v->u.vec.dim * 4, SQLITE_STATIC);
    }
    default: return sqlite3_bind_null(st, i);
    }
}

/* The cached statement of a shape, prepared on first use (caller holds mu). */
COCO__SQL_FN sqlite3_stmt* coco__sql_stmt_get(coco__sql_tab* t, int kind,
                                              const coco__sql_row* r, size_t nrows, char* err,
                                              size_t cap) {
    coco__sql_conn* c = t->conn;
    const coco__sql_schema* L = t->live;
    size_t siglen = r->ncols * sizeof(uint16_t), i, j, victim = 0;
    coco__sql_stmt* e;
    coco__sql_buf b;
    sqlite3_stmt* st = NULL;
    int rc;
    for (i = 0; i < COCO__SQL_NCACHE; i++) {
        e = &t->cache[i];
        if (e->st && e->kind == kind && e->nrows == nrows && e->siglen == siglen &&
            memcmp(e->sig, r->cols, siglen) == 0) {
            e->used = ++c->tick;
            return e->st;
        }
        if (!e->st || e->used < t->cache[victim].used) victim = i;
        if (!e->st) { victim = i; break; }
    }
    coco__sql_buf_init(&b, &c->a);
    if (kind == 1) {
        coco__sql_puts(&b, "INSERT INTO ");
        coco__sql_ident(&b, t->name, t->len);
        coco__sql_puts(&b, " (");
        for (j = 0; j < r->ncols; j++) {
            if (j) coco__sql_puts(&b, ", ");
            coco__sql_ident(&b, L->cols[r->cols[j]].name, L->cols[r->cols[j]].len);
        }
        coco__sql_puts(&b, ") VALUES ");
        for (i = 0; i < nrows; i++) {
            coco__sql_puts(&b, i ? ",(" : "(");
            for (j = 0; j < r->ncols; j++) coco__sql_puts(&b, j ? ",?" : "?");
            coco__sql_puts(&b, ")");
        }
        coco__sql_puts(&b, " ON CONFLICT (");
        for (j = 0; j < L->npk; j++) {
            if (j) coco__sql_puts(&b, ", ");
            coco__sql_ident(&b, L->cols[L->pk[j]].name, L->cols[L->pk[j]].len);
        }
        if (r->ncols == L->npk) {
            coco__sql_puts(&b, ") DO NOTHING");
        } else {
            coco__sql_puts(&b, ") DO UPDATE SET ");
            for (j = L->npk; j < r->ncols; j++) {
                const coco__sql_col* cc = &L->cols[r->cols[j]];
                if (j > L->npk) coco__sql_puts(&b, ", ");
                coco__sql_ident(&b, cc->name, cc->len);
                coco__sql_puts(&b, " = excluded.");
                coco__sql_ident(&b, cc->name, cc->len);
            }
        }
    } else {
        coco__sql_puts(&b, "DELETE FROM ");
        coco__sql_ident(&b, t->name, t->len);
        coco__sql_puts(&b, " WHERE ");
        if (L->npk == 1) {
            coco__sql_ident(&b, L->cols[L->pk[0]].name, L->cols[L->pk[0]].len);
            coco__sql_puts(&b, " IN (");
            for (i = 0; i < nrows; i++) coco__sql_puts(&b, i ? ",?" : "?");
            coco__sql_puts(&b, ")");
        } else {
            for (j = 0; j < L->npk; j++) {
                if (j) coco__sql_puts(&b, " AND ");
                coco__sql_ident(&b, L->cols[L->pk[j]].name, L->cols[L->pk[j]].len);
                coco__sql_puts(&b, " = ?");
            }
        }
    }
    if (b.oom) {
        coco__sql_buf_free(&b);
        coco__sql_msg(err, cap, "table '%s': out of memory building a statement", t->name);
        return NULL;
    }
    rc = sqlite3_prepare_v3(c->db, b.p, (int)b.len, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    coco__sql_buf_free(&b);
    if (rc != SQLITE_OK) {
        char eb[300];
        coco__sql_msg(err, cap, "table '%s': cannot prepare the %s statement: %s", t->name,
                      kind == 1 ? "upsert" : "delete", coco__sql_errmsg(c->db, NULL, eb,
                                                                        sizeof eb));
        sqlite3_finalize(st);
        return NULL;
    }
    e = &t->cache[victim];
    if (e->st) sqlite3_finalize(e->st);
    coco__sql_free(&c->a, e->sig, e->siglen);
    memset(e, 0, sizeof *e);
    if (!(e->sig = (unsigned char*)coco__sql_malloc(&c->a, siglen ? siglen : 1))) {
        sqlite3_finalize(st);
        coco__sql_msg(err, cap, "table '%s': out of memory", t->name);
        return NULL;
    }
    memcpy(e->sig, r->cols, siglen);
    e->siglen = siglen;
    e->st = st;
    e->kind = kind;
    e->nrows = nrows;
    e->used = ++c->tick;
    return st;
}

COCO__SQL_FN int coco__sql_same_shape(const coco__sql_row* a, const coco__sql_row* b) {
    return a->ncols == b->ncols && memcmp(a->cols, b->cols, a->ncols * sizeof *a->cols) == 0;
}

/* Runs rows[0..n) (same kind and shape) as one statement of n rows.  Returns the SQLite
   result; the statement is reset. */
COCO__SQL_FN int coco__sql_run(coco__sql_tab* t, int kind, coco__sql_row* rows, size_t n,
                               coco_arena* ar, char* err, size_t cap, int* prepared) {
    sqlite3_stmt* st = coco__sql_stmt_get(t, kind, &rows[0], n, err, cap);
    size_t i, j;
    int k = 1, rc = SQLITE_OK;
    *prepared = st != NULL;
    if (!st) return SQLITE_ERROR;
    for (i = 0; i < n && rc == SQLITE_OK; i++) {
        size_t m = kind == 1 ? rows[i].ncols : t->live->npk;
        for (j = 0; j < m && rc == SQLITE_OK; j++)
            rc = coco__sql_bind(st, k++, rows[i].vals[j], ar);
    }
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
        t->conn->stats.statements++;
        if (kind == 1) t->conn->stats.upserts += (uint64_t)n;
        else t->conn->stats.deletes += (uint64_t)sqlite3_changes(t->conn->db);
    }
    sqlite3_reset(st);
    return rc;
}

/* Resolves and checks every action before anything is written. */
COCO__SQL_FN coco_result coco__sql_rows_check(coco__sql_tab* t, const coco_action* acts,
                                              size_t n, coco__sql_row* rows, char* err,
                                              size_t cap) {
    const coco__sql_schema* L = t->live;
    coco_arena* ar = t->conn->scratch;
    size_t i, j;
    char why[200], kb[160];
    for (i = 0; i < n; i++) {
        const coco_action* a = &acts[i];
        coco__sql_row* r = &rows[i];
        const coco_value* key = &a->key;
        size_t nmap = 0;
        memset(r, 0, sizeof *r);
        r->a = a;
        if (a->kind != COCO_ACTION_UPSERT && a->kind != COCO_ACTION_DELETE) {
            r->skip = 1;
            continue;
        }
        if (key->kind != COCO_LIST || key->u.list.count != L->npk) {
            if (a->kind == COCO_ACTION_DELETE) { r->skip = 1; continue; }   /* cannot exist */
            coco__sql_render(key, kb, sizeof kb);
            coco__sql_msg(err, cap, "table '%s', key %s: a key is a list of %lu value(s), one "
                          "per primary-key column", t->name, kb, (unsigned long)L->npk);
            return COCO_ERR_INVALID_ARG;
        }
        if (a->kind == COCO_ACTION_UPSERT) {
            if (a->value.kind != COCO_MAP) {
                coco__sql_render(key, kb, sizeof kb);
                coco__sql_msg(err, cap, "table '%s', key %s: a row's value is a map of column "
                              "to value (use coco_sqlite_declare_row)", t->name, kb);
                return COCO_ERR_INVALID_ARG;
            }
            nmap = a->value.u.map.count;
        }
        r->ncols = L->npk + nmap;
        r->cols = (uint16_t*)coco_arena_alloc(ar, (r->ncols + 1) * sizeof *r->cols);
        r->vals = (const coco_value**)coco_arena_alloc(ar, (r->ncols + 1) * sizeof *r->vals);
        if (!r->cols || !r->vals) return COCO_ERR_NOMEM;
        for (j = 0; j < L->npk; j++) {
            const coco_value* kv = &key->u.list.items[j];
            const coco__sql_col* col = &L->cols[L->pk[j]];
            r->cols[j] = (uint16_t)L->pk[j];
            r->vals[j] = kv;
            if (kv->kind == COCO_NULL || !coco__sql_value_ok(col, kv, 0, why, sizeof why)) {
                if (a->kind == COCO_ACTION_DELETE && kv->kind != COCO_NULL) {
                    r->skip = 1;
                    break;
                }
                coco__sql_render(key, kb, sizeof kb);
                coco__sql_msg(err, cap, "table '%s', column '%s', key %s: %s", t->name,
                              col->name, kb, kv->kind == COCO_NULL ? "a key value is NULL" : why);
                return COCO_ERR_INVALID_ARG;
            }
        }
        for (j = 0; j < nmap; j++) {
            const coco_map_entry* e = &a->value.u.map.entries[j];
            size_t at = coco__sql_find_col(L, e->key, e->key_len), m, p;
            if (at == (size_t)-1 || L->cols[at].pk || at > 0xFFFF) {
                coco__sql_render(key, kb, sizeof kb);
                coco__sql_msg(err, cap, "table '%s', column '%.*s', key %s: %s", t->name,
                              (int)e->key_len, e->key, kb, at == (size_t)-1 ? "no such column"
                              : "a key column goes in the key, not in the value");
                return COCO_ERR_INVALID_ARG;
            }
            if (!coco__sql_value_ok(&L->cols[at], &e->val, 0, why, sizeof why)) {
                coco__sql_render(key, kb, sizeof kb);
                coco__sql_msg(err, cap, "table '%s', column '%s', key %s: %s", t->name,
                              L->cols[at].name, kb, why);
                return COCO_ERR_INVALID_ARG;
            }
            /* value columns sorted by live index: one shape per column set */
            m = L->npk + j;
            for (p = m; p > L->npk && r->cols[p - 1] > at; p--) {
                r->cols[p] = r->cols[p - 1];
                r->vals[p] = r->vals[p - 1];
            }
            if (p > L->npk && r->cols[p - 1] == at) {
                coco__sql_render(key, kb, sizeof kb);
                coco__sql_msg(err, cap, "table '%s', column '%s', key %s: given twice", t->name,
                              L->cols[at].name, kb);
                return COCO_ERR_INVALID_ARG;
            }
            r->cols[p] = (uint16_t)at;
            r->vals[p] = &e->val;
        }
        if (a->kind == COCO_ACTION_DELETE) r->ncols = L->npk;
    }
    return COCO_OK;
}

/* SQLite's order of key values: NULL < numbers < TEXT (bytewise) < BLOB (bytewise). */
COCO__SQL_FN int coco__sql_val_class(const coco_value* v) {
    switch (v->kind) {
    case COCO_NULL: return 0;
    case COCO_BOOL: case COCO_INT: case COCO_FLOAT: return 1;
    case COCO_STR: return 2;
    default: return 3;
    }
}
COCO__SQL_FN int coco__sql_val_cmp(const coco_value* a, const coco_value* b) {
    int ca = coco__sql_val_class(a), cb = coco__sql_val_class(b);
    if (ca != cb) return ca < cb ? -1 : 1;
    if (ca == 1) {
        if (a->kind == COCO_INT && b->kind == COCO_INT)
            return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
        {
            double x = a->kind == COCO_FLOAT ? a->u.f : a->kind == COCO_INT ? (double)a->u.i
                                                                                : (double)a->u.b;
            double y = b->kind == COCO_FLOAT ? b->u.f : b->kind == COCO_INT ? (double)b->u.i
                                                                                : (double)b->u.b;
            return x < y ? -1 : x > y;
        }
    }
    if (ca >= 2) {
        size_t m = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        int c = m ? memcmp(a->u.s.ptr, b->u.s.ptr, m) : 0;
        if (c) return c < 0 ? -1 : 1;
        return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
    }
    return 0;
}
/* by key; `what` 1 also orders by kind (deletes first) and shape before the key */
COCO__SQL_FN int coco__sql_row_cmp(const coco__sql_row* a, const coco__sql_row* b, int what) {
    size_t i, n;
    if (!what && a->intkey && b->intkey) return a->ik < b->ik ? -1 : a->ik > b->ik;
    if (what) {
        if (a->a->kind != b->a->kind) return a->a->kind == COCO_ACTION_DELETE ? -1 : 1;
        if (a->ncols != b->ncols) return a->ncols < b->ncols ? -1 : 1;
        for (i = 0; i < a->ncols; i++)
            if (a->cols[i] != b->cols[i]) return a->cols[i] < b->cols[i] ? -1 : 1;
    }
    n = a->a->key.u.list.count;
    for (i = 0; i < n; i++) {
        int c = coco__sql_val_cmp(&a->a->key.u.list.items[i], &b->a->key.u.list.items[i]);
        if (c) return c;
    }
    return 0;
}
/* Stable natural merge sort of rows[0..n): ascending runs are found first, so input made of
   sorted runs (rows declared chunk by chunk) costs O(n log runs).  tmp: n rows; runs: n+1. */
COCO__SQL_FN void coco__sql_rows_sort(coco__sql_row* rows, coco__sql_row* tmp, size_t* runs,
                                      size_t n, int what) {
    coco__sql_row *src = rows, *dst = tmp, *sw;
    size_t nr = 0, i;
    if (n < 2) return;
    runs[nr++] = 0;
    for (i = 1; i < n; i++)
        if (coco__sql_row_cmp(&rows[i - 1], &rows[i], what) > 0) runs[nr++] = i;
    if (nr == 1) return;
    runs[nr] = n;
    while (nr > 1) {
        size_t r, k = 0;
        for (r = 0; r < nr; r += 2) {
            /* run r = [runs[r], runs[r + 1]); the last one may have no partner */
            size_t lo = runs[r], mid = runs[r + 1], hi = r + 1 < nr ? runs[r + 2] : mid;
            size_t l = lo, m = mid, o = lo;
            while (l < mid && m < hi)
                dst[o++] = coco__sql_row_cmp(&src[m], &src[l], what) < 0 ? src[m++] : src[l++];
            while (l < mid) dst[o++] = src[l++];
            while (m < hi) dst[o++] = src[m++];
            runs[k++] = lo;
        }
        runs[k] = n;
        nr = k;
        sw = src; src = dst; dst = sw;
    }
    if (src != rows) memcpy(rows, src, n * sizeof *rows);
}

/* Orders the rows for the b-tree: deletes first, then upserts by shape, each by key (random
   order makes SQLite touch pages at random: several times slower).  Kept in the given order
   when a key appears twice (then the order of its actions matters). */
COCO__SQL_FN coco_result coco__sql_rows_order(coco__sql_row* rows, size_t* n, coco_arena* ar) {
    coco__sql_row *bykey, *tmp;
    size_t i, m = 0, *runs;
    for (i = 0; i < *n; i++)
        if (!rows[i].skip) {
            rows[m] = rows[i];
            rows[m].intkey = rows[m].a->key.u.list.count == 1 &&
                             rows[m].a->key.u.list.items[0].kind == COCO_INT;
            rows[m].ik = rows[m].intkey ? rows[m].a->key.u.list.items[0].u.i : 0;
            m++;
        }
    *n = m;
    if (m < 2) return COCO_OK;
    bykey = (coco__sql_row*)coco_arena_alloc(ar, m * sizeof *bykey);
    tmp = (coco__sql_row*)coco_arena_alloc(ar, m * sizeof *tmp);
    runs = (size_t*)coco_arena_alloc(ar, (m + 1) * sizeof *runs);
    if (!bykey || !tmp || !runs) return COCO_ERR_NOMEM;
    memcpy(bykey, rows, m * sizeof *rows);
    coco__sql_rows_sort(bykey, tmp, runs, m, 0);
    for (i = 1; i < m; i++)
        if (coco__sql_row_cmp(&bykey[i - 1], &bykey[i], 0) == 0) return COCO_OK;
    coco__sql_rows_sort(bykey, tmp, runs, m, 1);
    memcpy(rows, bykey, m * sizeof *rows);
    return COCO_OK;
}

/* After a multi-row statement failed: runs its rows one by one to name the failing key. */
COCO__SQL_FN coco_result coco__sql_blame(coco__sql_tab* t, int kind, coco__sql_row* rows,
                                         size_t n, int chunk_rc, char* err, size_t cap) {
    coco__sql_conn* c = t->conn;
    char kb[160], msg[300], eb[300];
    size_t i;
    int prepared = 1, rc = chunk_rc;
    snprintf(msg, sizeof msg, "%s", coco__sql_errmsg(c->db, NULL, eb, sizeof eb));
    for (i = 0; i < n && n > 1; i++) {
        rc = coco__sql_run(t, kind, &rows[i], 1, c->scratch, err, cap, &prepared);
        if (!prepared) return COCO_ERR_IO;
        if (rc != SQLITE_OK) {
            snprintf(msg, sizeof msg, "%s", coco__sql_errmsg(c->db, NULL, eb, sizeof eb));
            break;
        }
    }
    if (i == n) i = 0;
    coco__sql_render(&rows[i].a->key, kb, sizeof kb);
    coco__sql_msg(err, cap, "table '%s', key %s: %s failed: %s", t->name, kb,
                  kind == 1 ? "upsert" : "delete", msg);
    return rc == SQLITE_NOMEM ? COCO_ERR_NOMEM : COCO_ERR_CONNECTOR;
}

static coco_result coco__sql_rows_apply(void* user, const coco_action* acts, size_t n,
                                        char* err, size_t cap) {
    coco__sql_tab* t = (coco__sql_tab*)user;
    coco__sql_conn* c = t->conn;
    coco__sql_row* rows;
    coco_result rc = COCO_OK;
    size_t i, j;
    double t0;
    pthread_mutex_lock(&c->mu);
    t0 = coco__sql_now();
    if (c->closed) {
        coco__sql_msg(err, cap, "sqlite target '%s' is closed (table '%s')", c->name, t->name);
        pthread_mutex_unlock(&c->mu);
        return COCO_ERR_STATE;
    }
    c->stats.applies++;
    if ((uint64_t)n > c->stats.max_batch) c->stats.max_batch = n;
    coco_arena_reset(c->scratch);
    {
        char what[320];
        coco__sql_where(c, t->name, (int)strlen(t->name), 0, ": BEGIN", what, sizeof what);
        if ((rc = coco__sql_exec(c->db, "BEGIN IMMEDIATE", err, cap, what)) != COCO_OK) goto out;
    }
    if ((rc = coco__sql_tab_live(t, err, cap)) != COCO_OK) goto out;
    if (!t->live) {
        for (i = 0; i < n; i++)
            if (acts[i].kind == COCO_ACTION_UPSERT) {
                char kb[160];
                coco__sql_render(&acts[i].key, kb, sizeof kb);
                coco__sql_msg(err, cap, "table '%s' does not exist (key %s); a managed_by USER "
                              "table must be created by the user", t->name, kb);
                rc = COCO_ERR_NOT_FOUND;
                goto out;
            }
        goto out;                                  /* deletes: nothing can be there */
    }
    if (!(rows = (coco__sql_row*)coco_arena_alloc(c->scratch, (n ? n : 1) * sizeof *rows))) {
        rc = COCO_ERR_NOMEM;
        goto out;
    }
    if ((rc = coco__sql_rows_check(t, acts, n, rows, err, cap)) != COCO_OK) goto out;
    if ((rc = coco__sql_rows_order(rows, &n, c->scratch)) != COCO_OK) goto out;
    for (i = 0; i < n && rc == COCO_OK; i = j) {
        int kind = rows[i].a->kind == COCO_ACTION_UPSERT ? 1 : 2;
        size_t per, k;
        /* a run of the same kind and shape */
        for (j = i + 1; j < n && rows[j].a->kind == rows[i].a->kind &&
                        coco__sql_same_shape(&rows[j], &rows[i]); j++) {}
        c->var_limit = sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
        if (c->var_limit < 1) c->var_limit = 999;
        if (kind == 1)
            per = c->rows_per_stmt;
        else
            per = t->live->npk == 1 ? COCO__SQL_DEL_ROWS : 1;
        if (per > (size_t)c->var_limit / rows[i].ncols) per = (size_t)c->var_limit / rows[i].ncols;
        if (per < 1) per = 1;
        for (k = i; k < j && rc == COCO_OK;) {
            /* full chunks of `per` rows; the tail in power-of-two pieces (at most log2(per)
               statements per shape in the cache) */
            size_t m = j - k >= per ? per : 1;
            while (m * 2 <= j - k && m * 2 < per) m *= 2;
            int prepared = 1, src = coco__sql_run(t, kind, &rows[k], m, c->scratch, err, cap,
                                                  &prepared);
            if (!prepared) rc = COCO_ERR_IO;
            else if (src != SQLITE_OK) rc = coco__sql_blame(t, kind, &rows[k], m, src, err, cap);
            k += m;
        }
    }
out:
    if (rc == COCO_OK) {
        char what[320];
        coco__sql_where(c, t->name, (int)strlen(t->name), 0, ": COMMIT", what, sizeof what);
        rc = coco__sql_exec(c->db, "COMMIT", err, cap, what);
    }
    if (rc != COCO_OK) coco__sql_rollback(c);
    c->stats.apply_seconds += coco__sql_now() - t0;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ==============================================================================================
   >>sql_impl_public -- create, close, mount, declare (Private, public wrappers)
   ============================================================================================== */
static coco_result coco__sql_child_open(void* user, const coco_value* key,
                                        const coco_target_vtable** vt, void** cu) {
    static const coco_target_vtable rows_vt = { NULL, coco__sql_rows_apply };
    coco__sql_conn* c = (coco__sql_conn*)user;
    coco__sql_tab* t;
    if (!coco__sql_key_ok(key)) return COCO_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->spec_mu);
    t = coco__sql_tab_find(c, key->u.s.ptr, key->u.s.len);
    if (!t) {
        /* lives as long as the env, like the child target (called under the env's lock) */
        t = (coco__sql_tab*)coco_arena_alloc(coco_env_arena(c->env), sizeof *t);
        if (t) {
            memset(t, 0, sizeof *t);
            t->conn = c;
            t->len = key->u.s.len;
            t->live_ver = -1;
            t->name = coco_arena_strndup(coco_env_arena(c->env), key->u.s.ptr, key->u.s.len);
            if (t->name) {
                t->next = c->tabs;
                c->tabs = t;
            } else {
                t = NULL;
            }
        }
    }
    pthread_mutex_unlock(&c->spec_mu);
    if (!t) return COCO_ERR_NOMEM;
    *vt = &rows_vt;
    *cu = t;
    return COCO_OK;
}

COCO__SQL_FN coco_result coco__sql_configure(coco__sql_conn* c, const coco_sqlite_desc* d) {
    char* m = NULL;
    int rc;
    const char* sync = d->sync == COCO_SYNC_NONE ? "PRAGMA synchronous = OFF"
                                                 : "PRAGMA synchronous = FULL";
    sqlite3_busy_timeout(c->db, d->busy_timeout_ms ? (int)d->busy_timeout_ms : 5000);
    /* page_size only takes effect on a new database, before journal_mode=WAL writes it */
    rc = sqlite3_exec(c->db, "PRAGMA page_size = 16384", NULL, NULL, &m);
    if (rc == SQLITE_OK) { sqlite3_free(m); m = NULL; rc = sqlite3_exec(c->db, "PRAGMA "
                           "journal_mode = WAL", NULL, NULL, &m); }
    if (rc == SQLITE_OK) { sqlite3_free(m); m = NULL; rc = sqlite3_exec(c->db, sync, NULL, NULL,
                                                                      &m); }
    if (rc != SQLITE_OK) {
        char eb[300];
        coco_env_fail(c->env, COCO_ERR_IO, "sqlite target '%s': cannot configure '%s': %s",
                      c->name, d->db_path, coco__sql_errmsg(c->db, m, eb, sizeof eb));
        sqlite3_free(m);
        return COCO_ERR_IO;
    }
    sqlite3_free(m);
    return COCO_OK;
}

COCO__SQL_FN coco_result coco__sql_load_vec(coco__sql_conn* c, const coco_sqlite_desc* d) {
    const char* path = d->vec_extension ? d->vec_extension : getenv("COCO_SQLITE_VEC");
    char* m = NULL;
    int rc;
    if (!path || !*path) return COCO_OK;
    rc = sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, (int*)NULL);
    if (rc == SQLITE_OK) rc = sqlite3_load_extension(c->db, path, NULL, &m);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int*)NULL);
    if (rc == SQLITE_OK) {
        c->vec_loaded = 1;
        return COCO_OK;
    }
    if (d->vec_extension) {
        coco_env_fail(c->env, COCO_ERR_IO, "sqlite target '%s': cannot load the sqlite-vec "
                      "extension '%s': %s", c->name, path, m ? m : sqlite3_errstr(rc));
        sqlite3_free(m);
        return COCO_ERR_IO;
    }
    sqlite3_free(m);                               /* $COCO_SQLITE_VEC is a hint: optional */
    return COCO_OK;
}

/* Closing the env closes the connection (coco_sqlite_target_close stays usable before). */
COCO__PRIVATE void coco__sql_on_env_close(void* t) { coco_sqlite_target_close((coco_target*)t); }

COCO_API coco_result coco_sqlite_target_create(coco_env* env, const coco_sqlite_desc* desc,
                                               coco_target** out) {
    static const coco_target_vtable vt = { coco__sql_table_reconcile, coco__sql_table_apply };
    coco__sql_conn* c;
    coco_arena* ar;
    const char* name;
    coco_result rc;
    coco_target* t = NULL;
    if (!env || !desc || !out) return COCO_ERR_INVALID_ARG;
    name = desc->name && *desc->name ? desc->name : "sqlite";
    if (!desc->db == !(desc->db_path && *desc->db_path))
        return coco_env_fail(env, COCO_ERR_INVALID_ARG, "sqlite target '%s': give either "
                             "db_path or db in the desc", name);
    ar = coco_env_arena(env);
    if (!(c = (coco__sql_conn*)coco_arena_alloc(ar, sizeof *c))) return COCO_ERR_NOMEM;
    memset(c, 0, sizeof *c);
    c->env = env;
    c->a = desc->allocator;
    if (!(c->name = coco_arena_strndup(ar, name, strlen(name)))) return COCO_ERR_NOMEM;
    c->rows_per_stmt = desc->rows_per_statement ? desc->rows_per_statement : 64;
    if (coco_arena_create(&c->a, &c->arena) != COCO_OK ||
        coco_arena_create(&c->a, &c->scratch) != COCO_OK) {
        coco_arena_destroy(c->arena);
        return COCO_ERR_NOMEM;
    }
    if (desc->db) {
        c->db = desc->db;
    } else {
        int src = sqlite3_open_v2(desc->db_path, &c->db, SQLITE_OPEN_READWRITE |
                                  SQLITE_OPEN_CREATE, NULL);
        c->own_db = 1;
        if (src != SQLITE_OK) {
            char eb[300];
            rc = coco_env_fail(env, COCO_ERR_IO, "sqlite target '%s': cannot open '%s': %s",
                               name, desc->db_path, c->db ? coco__sql_errmsg(c->db, NULL, eb,
                                                                             sizeof eb)
                                                          : sqlite3_errstr(src));
            goto fail;
        }
        if ((rc = coco__sql_configure(c, desc)) != COCO_OK) goto fail;
    }
    if ((rc = coco__sql_load_vec(c, desc)) != COCO_OK) goto fail;
    c->var_limit = sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
    if (c->var_limit < 1) c->var_limit = 999;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->spec_mu, NULL);
    rc = coco_target_register_container(env, name, &vt, c, coco__sql_child_open, &t);
    if (rc == COCO_OK) rc = coco_env_on_close(env, coco__sql_on_env_close, t);
    if (rc != COCO_OK) {
        pthread_mutex_destroy(&c->mu);
        pthread_mutex_destroy(&c->spec_mu);
        goto fail;
    }
    *out = t;
    return COCO_OK;
fail:
    if (c->own_db && c->db) sqlite3_close_v2(c->db);
    coco_arena_destroy(c->arena);
    coco_arena_destroy(c->scratch);
    return rc;
}

COCO_API void coco_sqlite_target_close(coco_target* target) {
    coco__sql_conn* c = (coco__sql_conn*)coco__sql_user_of(target, 1);
    coco__sql_tab* t;
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    pthread_mutex_lock(&c->spec_mu);
    if (!c->closed) {
        c->closed = 1;
        for (t = c->tabs; t; t = t->next) {
            coco__sql_cache_clear(c, t);
            coco_arena_destroy(t->live_ar);
            t->live_ar = NULL;
            t->live = NULL;
            t->spec = NULL;
        }
        if (c->st_version) sqlite3_finalize(c->st_version);
        c->st_version = NULL;
        if (c->own_db) sqlite3_close_v2(c->db);
        c->db = NULL;
        coco_arena_destroy(c->arena);
        coco_arena_destroy(c->scratch);
        c->arena = c->scratch = NULL;
    }
    pthread_mutex_unlock(&c->spec_mu);
    pthread_mutex_unlock(&c->mu);
}

COCO_API struct sqlite3* coco_sqlite_db(coco_target* target) {
    coco__sql_conn* c = coco__sql_conn_of(target);
    return c ? c->db : NULL;
}

COCO_API int coco_sqlite_vec_loaded(coco_target* target) {
    coco__sql_conn* c = coco__sql_conn_of(target);
    return c ? c->vec_loaded : 0;
}

COCO_API void coco_sqlite_stats_get(coco_target* target, coco_sqlite_stats* out) {
    coco__sql_conn* c = coco__sql_conn_of(target);
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}

COCO_API coco_result coco_sqlite_table_spec(coco_arena* arena, const coco_sqlite_table* t,
                                            coco_value* out, char* err, size_t cap) {
    coco__sql_schema s;
    coco_result rc;
    coco_value v;
    if (!arena || !out) return COCO_ERR_INVALID_ARG;
    if ((rc = coco__sql_schema_from_desc(arena, t, &s, err, cap)) != COCO_OK) return rc;
    if ((rc = coco__sql_schema_value(arena, &s, &v)) != COCO_OK) return rc;
    *out = v;
    return COCO_OK;
}

COCO_API coco_result coco_sqlite_mount_table(coco_ctx* ctx, coco_target* target,
                                             const coco_sqlite_table* t, coco_target** rows) {
    coco__sql_conn* c = (coco__sql_conn*)coco__sql_user_of(target, 1);
    coco__sql_schema s;
    coco__sql_tab* tab;
    coco_target* r = NULL;
    coco_value spec;
    coco_result rc;
    char err[300];
    if (!ctx || !rows) return COCO_ERR_INVALID_ARG;
    if (!c)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "coco_sqlite_mount_table: the target "
                             "was not made by coco_sqlite_target_create");
    err[0] = 0;
    if ((rc = coco__sql_schema_from_desc(coco_ctx_arena(ctx), t, &s, err, sizeof err)) ||
        (rc = coco__sql_schema_value(coco_ctx_arena(ctx), &s, &spec)))
        return coco_ctx_fail(ctx, rc, "%s", err[0] ? err : coco_result_str(rc));
    if ((rc = coco_mount_target(ctx, target, coco_str(t->name), spec, &r)) != COCO_OK) return rc;
    if (!(tab = (coco__sql_tab*)coco__sql_user_of(r, 2)))
        return coco_ctx_fail(ctx, COCO_ERR_CONNECTOR, "table '%s': not a sqlite rows target",
                             t->name);
    /* remember the schema for coco_sqlite_declare_row (kept until close: rows declared in
       other components may still read an older one) */
    pthread_mutex_lock(&c->spec_mu);
    if (c->closed) {
        rc = COCO_ERR_STATE;
    } else if (!tab->spec || !coco__sql_streq((const char*)tab->spec->enc.ptr,
                                              tab->spec->enc.len, (const char*)s.enc.ptr,
                                              s.enc.len)) {
        coco__sql_schema* keep = (coco__sql_schema*)coco_arena_alloc(c->arena, sizeof *keep);
        coco_value sv;
        unsigned char* raw = (unsigned char*)coco_arena_alloc(c->arena, s.enc.len);
        if (!keep || !raw) rc = COCO_ERR_NOMEM;
        else {
            memcpy(raw, s.enc.ptr, s.enc.len);
            rc = coco_value_decode(c->arena, raw, s.enc.len, &sv);
            if (rc == COCO_OK) rc = coco__sql_schema_parse(c->arena, &sv, keep);
            if (rc == COCO_OK) tab->spec = keep;
        }
    }
    pthread_mutex_unlock(&c->spec_mu);
    if (rc != COCO_OK)
        return coco_ctx_fail(ctx, rc, "table '%s': cannot keep its schema (%s)", t->name,
                             coco_result_str(rc));
    *rows = r;
    return COCO_OK;
}

COCO_API coco_result coco_sqlite_declare_row(coco_ctx* ctx, coco_target* rows,
                                             const coco_value* values, size_t n) {
    coco__sql_tab* tab = (coco__sql_tab*)coco__sql_user_of(rows, 2);
    const coco__sql_schema* s;
    coco_arena* ar;
    coco_value* key;
    coco_map_entry* ent;
    size_t i;
    char why[200], kb[160];
    if (!ctx) return COCO_ERR_INVALID_ARG;
    if (!tab)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "coco_sqlite_declare_row: the target is "
                             "not the rows target of a sqlite table");
    pthread_mutex_lock(&tab->conn->spec_mu);
    s = tab->spec;
    pthread_mutex_unlock(&tab->conn->spec_mu);
    if (!s)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "table '%s': mount it with "
                             "coco_sqlite_mount_table in this process before declaring rows "
                             "with coco_sqlite_declare_row", tab->name);
    if (n != s->ncols || (n && !values))
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "table '%s': %lu value(s) given, the "
                             "table has %lu column(s)", tab->name, (unsigned long)n,
                             (unsigned long)s->ncols);
    ar = coco_ctx_arena(ctx);
    key = (coco_value*)coco_arena_alloc(ar, s->npk * sizeof *key);
    ent = (coco_map_entry*)coco_arena_alloc(ar, (s->nv + 1) * sizeof *ent);
    if (!key || !ent) return COCO_ERR_NOMEM;
    for (i = 0; i < s->npk; i++) key[i] = values[s->pk[i]];
    for (i = 0; i < n; i++) {
        const coco__sql_col* col = &s->cols[i];
        const char* problem = NULL;
        if (values[i].kind == COCO_NULL && (!col->nullable || col->pk))
            problem = col->pk ? "a key value is NULL" : "NULL in a NOT NULL column";
        else if (!coco__sql_value_ok(col, &values[i], 1, why, sizeof why))
            problem = why;
        if (problem) {
            coco_value kv = coco_list(key, s->npk);
            coco__sql_render(&kv, kb, sizeof kb);
            return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "table '%s', column '%s', key %s: %s",
                                 tab->name, col->name, kb, problem);
        }
    }
    for (i = 0; i < s->nv; i++) {
        const coco__sql_col* col = &s->cols[s->vorder[i]];
        ent[i].key = col->name;
        ent[i].key_len = col->len;
        ent[i].val = values[s->vorder[i]];
    }
    return coco_declare(ctx, rows, coco_list(key, s->npk), coco_map(ent, s->nv));
}

/* ==============================================================================================
   >>sql_impl_query -- brute-force top-k over a vector column (Private, public wrapper last)
   ============================================================================================== */
typedef struct coco__sql_heap_e {
    double      good;           /* higher is better: similarity, or minus the distance */
    double      score;
    coco_value* key;
} coco__sql_heap_e;

COCO__SQL_FN void coco__sql_sift_down(coco__sql_heap_e* h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        coco__sql_heap_e tmp;
        if (l < n && h[l].good < h[m].good) m = l;
        if (r < n && h[r].good < h[m].good) m = r;
        if (m == i) return;
        tmp = h[i]; h[i] = h[m]; h[m] = tmp;
        i = m;
    }
}
COCO__SQL_FN void coco__sql_sift_up(coco__sql_heap_e* h, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        coco__sql_heap_e tmp;
        if (h[p].good <= h[i].good) return;
        tmp = h[i]; h[i] = h[p]; h[p] = tmp;
        i = p;
    }
}

/* sqrt without libm (the core links none): Newton's method from an exponent-halved guess */
COCO__SQL_FN double coco__sql_sqrt(double x) {
    uint64_t b;
    double y;
    int i;
    if (!(x > 0)) return 0.0;
    if (!isfinite(x)) return x;
    memcpy(&b, &x, sizeof b);
    b = (b >> 1) + ((uint64_t)1023 << 51);     /* roughly halves the exponent */
    memcpy(&y, &b, sizeof y);
    for (i = 0; i < 6; i++) y = 0.5 * (y + x / y);
    return y;
}

/* dot(q, v), |v|^2 and |q - v|^2 with eight independent sums (vectorizable without
   -ffast-math) */
COCO__SQL_FN void coco__sql_kernels(const float* q, const float* v, size_t n, double* dot,
                                    double* vv, double* l2) {
    float d[8] = { 0 }, s[8] = { 0 }, e[8] = { 0 };
    size_t i, j;
    double D = 0, S = 0, E = 0;
    for (i = 0; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++) {
            float x = v[i + j], y = q[i + j], z = x - y;
            d[j] += x * y;
            s[j] += x * x;
            e[j] += z * z;
        }
    for (; i < n; i++) {
        float z = v[i] - q[i];
        D += (double)v[i] * q[i];
        S += (double)v[i] * v[i];
        E += (double)z * z;
    }
    for (j = 0; j < 8; j++) { D += d[j]; S += s[j]; E += e[j]; }
    *dot = D;
    *vv = S;
    *l2 = E;
}

COCO__SQL_FN coco_result coco__sql_key_copy(coco_arena* ar, sqlite3_stmt* st, size_t npk,
                                            coco_value** out) {
    coco_value* k = (coco_value*)coco_arena_alloc(ar, (npk + 1) * sizeof *k);
    size_t i;
    if (!k) return COCO_ERR_NOMEM;
    for (i = 0; i < npk; i++) {
        int c = (int)i;
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER: k[i] = coco_int((int64_t)sqlite3_column_int64(st, c)); break;
        case SQLITE_FLOAT: k[i] = coco_float(sqlite3_column_double(st, c)); break;
        case SQLITE_TEXT: {
            const char* p = (const char*)sqlite3_column_text(st, c);
            size_t n = (size_t)sqlite3_column_bytes(st, c);
            char* cp = coco_arena_strndup(ar, p ? p : "", n);
            if (!cp) return COCO_ERR_NOMEM;
            k[i] = coco_strn(cp, n);
            break;
        }
        case SQLITE_BLOB: {
            const void* p = sqlite3_column_blob(st, c);
            size_t n = (size_t)sqlite3_column_bytes(st, c);
            char* cp = (char*)coco_arena_alloc(ar, n + 1);
            if (!cp) return COCO_ERR_NOMEM;
            if (n) memcpy(cp, p, n);
            k[i] = coco_bytes_val(cp, n);
            break;
        }
        default: k[i] = coco_null(); break;
        }
    }
    *out = k;
    return COCO_OK;
}

COCO_API coco_result coco_sqlite_topk(struct sqlite3* db, const char* table,
                                      const char* vector_column, const float* query,
                                      size_t dim, size_t k, coco_sqlite_metric metric,
                                      coco_arena* arena, coco_sqlite_hit* hits, size_t* nhits,
                                      char* err, size_t cap) {
    coco__sql_schema* s = NULL;
    coco_arena* tmp = arena;                   /* scratch and results: the caller's arena */
    coco__sql_heap_e* heap;
    coco__sql_buf b;
    coco_allocator none;
    sqlite3_stmt* st = NULL;
    float* vbuf;
    size_t vc, i, nh = 0, tl;
    double qq = 0;
    int rc, cosine = metric != COCO_SQLITE_L2;
    coco_result res = COCO_OK;
    if (err && cap) err[0] = 0;
    if (!db || !table || !*table || !vector_column || !query || !dim || !arena || !nhits ||
        (k && !hits) || (unsigned)metric > (unsigned)COCO_SQLITE_L2) {
        coco__sql_msg(err, cap, "coco_sqlite_topk: invalid argument");
        return COCO_ERR_INVALID_ARG;
    }
    if ((i = coco__sql_nonfinite(query, dim)) != 0) {
        coco__sql_msg(err, cap, "table '%s', column '%s': the query has NaN or infinity at "
                      "index %lu", table, vector_column, (unsigned long)(i - 1));
        return COCO_ERR_INVALID_ARG;
    }
    if (!k) { *nhits = 0; return COCO_OK; }
    memset(&none, 0, sizeof none);             /* the SQL text: malloc, freed at once */
    tl = strlen(table);
    if ((res = coco__sql_live_read(db, table, tl, tmp, &s, err, cap)) != COCO_OK) goto done;
    if (!s) {
        coco__sql_msg(err, cap, "table '%s' does not exist", table);
        res = COCO_ERR_INVALID_ARG;
        goto done;
    }
    vc = coco__sql_find_col(s, vector_column, strlen(vector_column));
    if (vc == (size_t)-1) {
        coco__sql_msg(err, cap, "table '%s' has no column '%s'", table, vector_column);
        res = COCO_ERR_INVALID_ARG;
        goto done;
    }
    if (s->cols[vc].type == (int)COCO_SQLITE_VECTOR && s->cols[vc].dim != dim) {
        coco__sql_msg(err, cap, "table '%s', column '%s' is F32_BLOB(%lu); the query has %lu "
                      "dimensions", table, vector_column, (unsigned long)s->cols[vc].dim,
                      (unsigned long)dim);
        res = COCO_ERR_INVALID_ARG;
        goto done;
    }
    heap = (coco__sql_heap_e*)coco_arena_alloc(tmp, k * sizeof *heap);
    vbuf = (float*)coco_arena_alloc(tmp, dim * sizeof *vbuf);
    if (!heap || !vbuf) { res = COCO_ERR_NOMEM; goto done; }
    coco__sql_buf_init(&b, &none);
    coco__sql_puts(&b, "SELECT ");
    for (i = 0; i < s->npk; i++) {
        coco__sql_ident(&b, s->cols[s->pk[i]].name, s->cols[s->pk[i]].len);
        coco__sql_puts(&b, ", ");
    }
    if (!s->npk) coco__sql_puts(&b, "rowid, ");
    coco__sql_ident(&b, vector_column, strlen(vector_column));
    coco__sql_puts(&b, " FROM ");
    coco__sql_ident(&b, table, tl);
    rc = b.oom ? SQLITE_NOMEM : sqlite3_prepare_v2(db, b.p, (int)b.len, &st, NULL);
    coco__sql_buf_free(&b);
    if (rc != SQLITE_OK) {
        char eb[300];
        coco__sql_msg(err, cap, "table '%s': cannot scan: %s", table,
                      coco__sql_errmsg(db, NULL, eb, sizeof eb));
        res = COCO_ERR_IO;
        goto done;
    }
    for (i = 0; i < dim; i++) qq += (double)query[i] * query[i];
    {
        size_t npk = s->npk ? s->npk : 1;
        int vcol = (int)npk;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const unsigned char* p = (const unsigned char*)sqlite3_column_blob(st, vcol);
            size_t nb = (size_t)sqlite3_column_bytes(st, vcol);
            double dot, vv, l2, good, score;
            if (sqlite3_column_type(st, vcol) == SQLITE_NULL) continue;
            if (nb != dim * 4 || !p) {
                coco_value* kv;
                char kb[160];
                coco_value kl;
                if (coco__sql_key_copy(tmp, st, npk, &kv) != COCO_OK) {
                    res = COCO_ERR_NOMEM;
                    break;
                }
                kl = coco_list(kv, npk);
                coco__sql_render(&kl, kb, sizeof kb);
                coco__sql_msg(err, cap, "table '%s', column '%s', key %s: a vector of %lu bytes, "
                              "expected %lu (dimension %lu)", table, vector_column, kb,
                              (unsigned long)nb, (unsigned long)(dim * 4), (unsigned long)dim);
                res = COCO_ERR_INVALID_ARG;
                break;
            }
            if (coco__sql_little_endian()) {
                memcpy(vbuf, p, nb);
            } else {
                for (i = 0; i < dim; i++) {
                    uint32_t w = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                                 (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
                    memcpy(&vbuf[i], &w, 4);
                }
            }
            coco__sql_kernels(query, vbuf, dim, &dot, &vv, &l2);
            if (cosine) {
                score = vv > 0 && qq > 0 ? dot / (coco__sql_sqrt(vv) * coco__sql_sqrt(qq)) : 0.0;
                good = score;
            } else {
                score = coco__sql_sqrt(l2);
                good = -score;
            }
            if (good != good) continue;                /* NaN stored by someone else */
            if (nh < k) {
                if (coco__sql_key_copy(arena, st, npk, &heap[nh].key) != COCO_OK) {
                    res = COCO_ERR_NOMEM;
                    break;
                }
                heap[nh].good = good;
                heap[nh].score = score;
                coco__sql_sift_up(heap, nh++);
            } else if (good > heap[0].good) {
                if (coco__sql_key_copy(arena, st, npk, &heap[0].key) != COCO_OK) {
                    res = COCO_ERR_NOMEM;
                    break;
                }
                heap[0].good = good;
                heap[0].score = score;
                coco__sql_sift_down(heap, nh, 0);
            }
        }
        if (res == COCO_OK && rc != SQLITE_DONE) {
            char eb[300];
            coco__sql_msg(err, cap, "table '%s': scan failed: %s", table,
                          coco__sql_errmsg(db, NULL, eb, sizeof eb));
            res = COCO_ERR_IO;
        }
        if (res == COCO_OK) {
            /* pop worst first into the tail of hits: best first overall */
            size_t m = nh;
            while (m > 0) {
                hits[m - 1].score = heap[0].score;
                hits[m - 1].key = coco_list(heap[0].key, npk);
                heap[0] = heap[--m];
                coco__sql_sift_down(heap, m, 0);
            }
            *nhits = nh;
        }
    }
done:
    sqlite3_finalize(st);
    return res;
}

#endif /* COCOINDEX_SQLITE_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 The cocoindex.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
