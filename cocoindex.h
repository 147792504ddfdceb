/* cocoindex.h - v0.1.0 - incremental data pipelines in one C header - MIT licence, see end of file

   Do this in exactly one C or C++ file:
       #define COCOINDEX_IMPLEMENTATION
       #include "cocoindex.h"
   Everywhere else just #include "cocoindex.h".  C99 or C++11 is required.

   WHAT IS HERE (v0.1)
       The foundation layers: result codes and messages, allocator and logger hooks, arenas,
       BLAKE3 fingerprints (portable C plus SSE4.1/AVX2/AVX-512 chosen at run time), dynamic
       values with one canonical binary encoding (a MessagePack subset), and a crash-safe
       embedded key-value state store.  The engine (apps, components, memoization, target
       reconciliation) builds on these and is not in this version yet; see README.md.

   QUICK START (state store)
       coco_store* st;
       coco_store_desc d = {0};
       d.path = "state.db";                         NULL = in-memory store
       if (coco_store_open(&d, &st) != COCO_OK) { ...coco_store_open_errmsg()... }
       coco_txn* t;
       coco_store_txn_begin(st, &t);
       coco_txn_put(t, "k", 1, "v", 1);
       coco_txn_commit(t);                          durable when it returns
       coco_store_close(st);

   CONTENTS (grep for the >>tag)
       >>api_config  >>api_types  >>api_fp  >>api_value  >>api_store
       >>impl_config >>impl_platform >>impl_util >>impl_log >>impl_fp >>impl_value
       >>impl_store  >>impl_api

   COMPILE-TIME OPTIONS (define before including the implementation)
       COCOINDEX_STATIC      all functions static to the translation unit
       COCO_API              decoration for public functions (default: extern)
       COCO_ASSERT(c)        assertion macro (default: assert)
       COCO_NO_THREADS       no locks, no threads; everything runs inline
       COCO_NO_FILESYSTEM    no file I/O: only the in-memory store (path must be NULL)

   THREADING
       A coco_store may be shared by threads: reads run concurrently, one write transaction
       at a time (coco_store_txn_begin waits for the previous one to end).  A coco_txn and a
       coco_arena belong to one thread.  Callbacks run on the calling thread.

   ERRORS AND LOGGING
       Every fallible call returns a coco_result (0 = COCO_OK, negative = error).  The detail
       of the last failure is kept per handle: coco_store_errmsg(), coco_arena_errmsg().  The
       logger in a desc sees the same code and message; the default is silent.

   MEMORY
       Every allocation goes through the coco_allocator of the desc (zero = malloc/free).
       Values built by decoding live in a coco_arena and die with it.

   ON-DISK FORMAT AND VERSIONING
       The state store is one file plus '<path>.lock'.  It starts with a 64-byte header
       (magic "COCOSTOR", format version COCO_STORE_FORMAT); then commit groups, each a
       checksummed header and checksummed records.  A file of another format version is
       refused with COCO_ERR_VERSION.  docs/store-format.md describes every byte.

   LICENSE: MIT, see end of file.
*/
#ifndef COCOINDEX_H_INCLUDED
#define COCOINDEX_H_INCLUDED

/* The implementation needs POSIX.1-2008 (pread, fdatasync, O_CLOEXEC) and, on Linux, OFD
   locks; ask for them before the first system header is read. */
#if defined(COCOINDEX_IMPLEMENTATION) && !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE) && \
    !defined(_XOPEN_SOURCE) && !defined(_DEFAULT_SOURCE)
#  define _GNU_SOURCE 1
#endif

/* ==============================================================================================
   >>api_config -- linkage, version (Public)
   ============================================================================================== */
#include <stddef.h>
#include <stdint.h>

#define COCO_VERSION_MAJOR  0
#define COCO_VERSION_MINOR  1
#define COCO_VERSION_PATCH  0
#define COCO_VERSION_STRING "0.1.0"
#define COCO_VERSION_NUMBER (COCO_VERSION_MAJOR * 1000000 + COCO_VERSION_MINOR * 1000 + \
                             COCO_VERSION_PATCH)
#define COCO_STORE_FORMAT   1u

#ifndef COCO_API
#  if defined(COCOINDEX_STATIC) && defined(__GNUC__)
#    define COCO_API static __attribute__((unused))
#  elif defined(COCOINDEX_STATIC)
#    define COCO_API static
#  else
#    define COCO_API extern
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* coco_version
   Returns COCO_VERSION_STRING of the implementation that was compiled in.
   Thread-safety: any thread. */
COCO_API const char* coco_version(void);

/* ==============================================================================================
   >>api_types -- results, byte ranges, allocator, logger (Public)
   ============================================================================================== */

/* One list: the enum, coco_result_str() and the logger all come from it. */
#define COCO_RESULT_LIST(X)                                                        \
    X(OK,               0, "success")                                              \
    X(ERR_INVALID_ARG,  -1, "invalid argument")                                    \
    X(ERR_NOMEM,        -2, "out of memory")                                       \
    X(ERR_IO,           -3, "i/o error")                                           \
    X(ERR_CORRUPT,      -4, "state store is corrupt")                              \
    X(ERR_VERSION,      -5, "state store format version not supported")           \
    X(ERR_CONNECTOR,    -6, "target connector failed")                             \
    X(ERR_CANCELLED,    -7, "cancelled")                                           \
    X(ERR_NOT_FOUND,    -8, "not found")                                           \
    X(ERR_LOCKED,       -9, "locked by another process")                           \
    X(ERR_READ_ONLY,   -10, "opened read-only")                                    \
    X(ERR_DECODE,      -11, "malformed encoding")                                  \
    X(ERR_LIMIT,       -12, "size limit exceeded")                                 \
    X(ERR_STATE,       -13, "handle is in a failed state; reopen it")              \
    X(ERR_UNSUPPORTED, -14, "not supported in this build")

typedef enum coco_result {
#define COCO__RESULT_ENUM(name, val, msg) COCO_##name = val,
    COCO_RESULT_LIST(COCO__RESULT_ENUM)
#undef COCO__RESULT_ENUM
    COCO__RESULT_FORCE_I32 = 0x7FFFFFFF
} coco_result;

/* coco_result_str
   "COCO_ERR_IO: i/o error" for a code; "COCO_ERR_?: unknown result" for anything else.
   Thread-safety: any thread. */
COCO_API const char* coco_result_str(coco_result rc);

typedef struct coco_bytes {
    const void* ptr;
    size_t      len;
} coco_bytes;

/* All zero = malloc/realloc/free.  `realloc` and `free` receive the old size. */
typedef struct coco_allocator {
    void* (*alloc)(void* user, size_t size);
    void* (*realloc)(void* user, void* ptr, size_t old_size, size_t new_size);
    void  (*free)(void* user, void* ptr, size_t size);
    void*  user;
} coco_allocator;

typedef enum coco_log_level {
    COCO_LOG_ERROR = 1,
    COCO_LOG_WARN,
    COCO_LOG_INFO,
    COCO_LOG_DEBUG,
    COCO__LOG_FORCE_U32 = 0x7FFFFFFF
} coco_log_level;

/* All zero = silent.  Called on the thread that hit the event; must be reentrant. */
typedef struct coco_logger {
    void (*func)(void* user, coco_log_level level, coco_result code, const char* msg,
                 const char* file, int line);
    void* user;
} coco_logger;

/* ==============================================================================================
   >>api_fp -- BLAKE3 hasher and 16-byte fingerprints (Public)
   ============================================================================================== */
typedef struct coco_fp { uint8_t bytes[16]; } coco_fp;
typedef struct coco_hasher { uint64_t a, b; } coco_hasher;
COCO_API void    coco_hasher_init(coco_hasher* h);
COCO_API void    coco_hasher_update(coco_hasher* h, const void* data, size_t len);
COCO_API coco_fp coco_hasher_fp(const coco_hasher* h);
COCO_API coco_fp coco_fp_of(const void* data, size_t len);
COCO_API int     coco_fp_eq(coco_fp a, coco_fp b);

/* ==============================================================================================
   >>api_value -- arenas, dynamic values, canonical encoding (Public)
   ============================================================================================== */

/* An arena hands out memory that is freed all at once.  It also keeps the detail of the last
   failed value operation (coco_arena_errmsg).  A coco_arena belongs to one thread. */
typedef struct coco_arena coco_arena;

/* coco_arena_create
   Creates an arena drawing blocks from `allocator` (NULL or all zero = malloc/free).
   Returns COCO_OK and sets *out, or COCO_ERR_NOMEM leaving *out untouched.
   Ownership: release with coco_arena_destroy(); destroying NULL is a no-op.
   Thread-safety: any thread; the arena then belongs to one thread at a time. */
COCO_API coco_result coco_arena_create(const coco_allocator* allocator, coco_arena** out);
COCO_API void        coco_arena_destroy(coco_arena* arena);
/* Frees everything allocated so far but keeps the first block for reuse. */
COCO_API void        coco_arena_reset(coco_arena* arena);
/* 16-byte aligned memory, or NULL when the allocator fails. */
COCO_API void*       coco_arena_alloc(coco_arena* arena, size_t size);
/* Copy of `len` bytes plus a NUL terminator, or NULL. */
COCO_API char*       coco_arena_strndup(coco_arena* arena, const char* s, size_t len);
/* Bytes handed out so far (for statistics and tests). */
COCO_API size_t      coco_arena_used(const coco_arena* arena);
/* Detail of the last failure of a value function that took this arena ("" if none). */
COCO_API const char* coco_arena_errmsg(const coco_arena* arena);

typedef enum coco_kind {
    COCO_NULL = 0,
    COCO_BOOL,
    COCO_INT,        /* int64                                                          */
    COCO_FLOAT,      /* float64                                                        */
    COCO_STR,        /* byte string meant as UTF-8 (not validated); may hold NUL bytes */
    COCO_BYTES,      /* raw bytes                                                      */
    COCO_SYMBOL,     /* a name that never equals the string with the same bytes        */
    COCO_VEC_F32,    /* float32 vector                                                 */
    COCO_LIST,
    COCO_MAP,        /* string keys; encoded sorted by key bytes, duplicates refused   */
    COCO_OBJECT,     /* user object: encoded as [type name, memo key]                  */
    COCO__KIND_FORCE_U32 = 0x7FFFFFFF
} coco_kind;

typedef struct coco_value     coco_value;
typedef struct coco_map_entry coco_map_entry;

/* What a user object (a file, a target handle) supplies.  `memo_key` returns the value that
   identifies the object in fingerprints and storage (a file: base-dir key + relative path).
   The value may point into `arena` or into the object. */
typedef struct coco_object_vtable {
    const char* type_name;
    coco_result (*memo_key)(const void* obj, coco_arena* arena, coco_value* out);
} coco_object_vtable;

struct coco_value {
    coco_kind kind;
    union {
        int      b;
        int64_t  i;
        double   f;
        struct { const char* ptr; size_t len; }             s;    /* STR, BYTES, SYMBOL  */
        struct { const float* ptr; size_t dim; }            vec;
        struct { const coco_value* items; size_t count; }   list;
        struct { const coco_map_entry* entries; size_t count; } map;
        struct { const coco_object_vtable* vt; const void* obj; } obj;
    } u;
};

struct coco_map_entry {
    const char* key;
    size_t      key_len;
    coco_value  val;
};

/* Constructors.  They copy nothing: the value points at the caller's memory, which must
   outlive it (use coco_value_copy to move a value into an arena). */
COCO_API coco_value coco_null(void);
COCO_API coco_value coco_bool(int b);
COCO_API coco_value coco_int(int64_t i);
COCO_API coco_value coco_float(double f);
COCO_API coco_value coco_str(const char* nul_terminated);
COCO_API coco_value coco_strn(const char* s, size_t len);
COCO_API coco_value coco_bytes_val(const void* p, size_t len);
COCO_API coco_value coco_symbol(const char* nul_terminated);
COCO_API coco_value coco_vec_f32(const float* v, size_t dim);
COCO_API coco_value coco_list(const coco_value* items, size_t count);
COCO_API coco_value coco_map(const coco_map_entry* entries, size_t count);
COCO_API coco_value coco_object(const coco_object_vtable* vt, const void* obj);

/* coco_value_copy
   Deep copy of `v` into `arena` (objects are copied by reference).
   Errors: COCO_ERR_NOMEM.  Thread-safety: the arena's thread. */
COCO_API coco_result coco_value_copy(coco_arena* arena, const coco_value* v, coco_value* out);

/* coco_value_encode
   The canonical encoding of `v` (MessagePack: null, bool, smallest int form, float64, str,
   bin, array, map with keys sorted by bytes; ext 1 = symbol, ext 2 = float32 vector
   little-endian, ext 3 = object [type, memo key]).  Equal values give equal bytes.  The
   output lives in `arena`.
   Errors: COCO_ERR_INVALID_ARG (duplicate map key, nesting deeper than 128, bad kind),
   COCO_ERR_NOMEM; the detail is in coco_arena_errmsg(arena). */
COCO_API coco_result coco_value_encode(coco_arena* arena, const coco_value* v, coco_bytes* out);

/* coco_value_decode
   Parses one value that must span exactly `len` bytes.  Strings, bytes and vectors are
   copied into `arena`, so `data` may be freed afterwards.  An object decodes as the 2-item
   list [type name, memo key].  Never reads outside [data, data+len).
   Errors: COCO_ERR_DECODE naming the offset and what was wrong; COCO_ERR_NOMEM. */
COCO_API coco_result coco_value_decode(coco_arena* arena, const void* data, size_t len,
                                       coco_value* out);

/* coco_value_fp
   Fingerprint (BLAKE3 of the canonical encoding, first 16 bytes), computed without building
   the encoding; `arena` is scratch for sorting large maps and for object memo keys.
   Errors: as coco_value_encode. */
COCO_API coco_result coco_value_fp(coco_arena* arena, const coco_value* v, coco_fp* out);

/* coco_value_eq: 1 if the canonical encodings are equal (objects by memo key). */
COCO_API int coco_value_eq(coco_arena* arena, const coco_value* a, const coco_value* b);

/* ==============================================================================================
   >>api_store -- the embedded key-value state store (Public)
   ============================================================================================== */

typedef struct coco_store coco_store;
typedef struct coco_txn   coco_txn;

typedef enum coco_sync {
    COCO_SYNC_DEFAULT = 0,       /* = COCO_SYNC_FULL                                         */
    COCO_SYNC_FULL,              /* fdatasync on every commit; directory fsync on create     */
    COCO_SYNC_NONE,              /* no fsync: survives a process crash, not a power loss     */
    COCO__SYNC_FORCE_U32 = 0x7FFFFFFF
} coco_sync;

/* A record of a write batch, as given to a backend's commit (see coco_store_backend). */
typedef enum coco_op {
    COCO_OP_PUT = 1,
    COCO_OP_DEL = 2,
    COCO__OP_FORCE_U32 = 0x7FFFFFFF
} coco_op;

/* Called by coco_store_scan for each key in order; return non-zero to stop early.  `key` and
   `val` are valid during the call only. */
typedef int (*coco_scan_fn)(void* user, coco_bytes key, coco_bytes val);

typedef struct coco_scan_desc {
    coco_bytes prefix;           /* only keys starting with these bytes (len 0 = all)        */
    coco_bytes start;            /* only keys >= start (len 0 = no lower bound)              */
    coco_bytes end;              /* only keys <  end   (len 0 = no upper bound)              */
} coco_scan_desc;

typedef struct coco_store_stats {
    uint64_t keys;               /* live keys                                                */
    uint64_t live_bytes;         /* bytes of the live records                                */
    uint64_t file_bytes;         /* size of the log (or of the in-memory log)                */
    uint64_t commits;            /* commit groups written since open                         */
    uint64_t compactions;        /* compactions since open                                   */
    uint64_t truncated_bytes;    /* torn tail cut off at open                                */
} coco_store_stats;

/* A pluggable backend (a SQLite-backed or networked store).  `impl` is the backend's own
   handle.  `commit` receives the batch of records; `batch_next` walks it.  All functions
   return COCO_OK or an error with a message written into `err` (cap bytes, NUL-terminated). */
typedef struct coco_store_backend {
    const char* name;
    coco_result (*get)(void* impl, coco_bytes key, coco_arena* arena, coco_bytes* val,
                       char* err, size_t cap);
    coco_result (*commit)(void* impl, const void* batch, size_t len, uint32_t count,
                          char* err, size_t cap);
    coco_result (*scan)(void* impl, const coco_scan_desc* desc, coco_scan_fn fn, void* user,
                        char* err, size_t cap);
    coco_result (*compact)(void* impl, char* err, size_t cap);
    void        (*stats)(void* impl, coco_store_stats* out);
    void        (*close)(void* impl);
} coco_store_backend;

/* coco_batch_next
   Walks a commit batch: on each call decodes the record at *pos, advances *pos, and returns
   1; returns 0 at the end or -1 on a malformed batch. */
COCO_API int coco_batch_next(const void* batch, size_t len, size_t* pos, coco_op* op,
                             coco_bytes* key, coco_bytes* val);

typedef struct coco_store_desc {
    const char*     path;            /* db file; NULL = in-memory store                     */
    int             read_only;       /* inspect only: no lock, no writes, torn tail ignored */
    coco_sync       sync;            /* 0 = COCO_SYNC_FULL                                  */
    double          compact_garbage; /* compact when garbage exceeds this share; 0 = 0.5    */
    uint64_t        compact_min;     /* ... and the log is at least this big; 0 = 4 MiB     */
    const coco_store_backend* backend; /* NULL = the built-in log store                     */
    void*           backend_impl;    /* handle for `backend`; owned by the store then       */
    coco_allocator  allocator;       /* all zero = malloc/realloc/free                      */
    coco_logger     logger;          /* all zero = silent                                   */
} coco_store_desc;

/* coco_store_open
   Opens, creating if needed, the store described by `desc` (zero fields = defaults).  A
   writer takes the '<path>.lock' lock (released by the kernel if the process dies); a second
   writer gets COCO_ERR_LOCKED "locked by pid N".  A torn tail left by a crash is cut back to
   the last whole commit; damage before the tail is refused (COCO_ERR_CORRUPT naming the
   offset) and nothing is changed.
   Returns COCO_OK and sets *out; on failure leaves *out untouched; the detail of a failed
   open is returned by coco_store_open_errmsg() on the same thread.
   Ownership: release with coco_store_close(); closing NULL is a no-op.
   Thread-safety: any thread; the handle may be shared by all threads.
   Errors: COCO_ERR_INVALID_ARG, COCO_ERR_IO, COCO_ERR_CORRUPT, COCO_ERR_VERSION,
   COCO_ERR_LOCKED, COCO_ERR_NOMEM, COCO_ERR_UNSUPPORTED (a path with COCO_NO_FILESYSTEM). */
COCO_API coco_result coco_store_open(const coco_store_desc* desc, coco_store** out);
COCO_API void        coco_store_close(coco_store* store);
/* Detail of the last coco_store_open failure on this thread ("" if none). */
COCO_API const char* coco_store_open_errmsg(void);
/* Detail of the last failure on this store ("" if none).  Thread-safety: the message is per
   handle; with several threads failing at once, read it on the thread that failed under your
   own lock, or rely on the logger. */
COCO_API const char* coco_store_errmsg(const coco_store* store);
/* The desc with every default filled in. */
COCO_API coco_store_desc coco_store_query_desc(const coco_store* store);

/* coco_store_get
   Copies the value of `key` into `arena` and sets *val.  Verifies the record's checksum.
   Errors: COCO_ERR_NOT_FOUND (val untouched), COCO_ERR_CORRUPT, COCO_ERR_NOMEM.
   Thread-safety: any thread, concurrently with other reads and with a writer. */
COCO_API coco_result coco_store_get(coco_store* store, const void* key, size_t klen,
                                    coco_arena* arena, coco_bytes* val);

/* coco_store_scan
   Calls `fn` for every live key matching `desc` (NULL = all keys) in ascending byte order.
   Cost: one pass over the index plus a sort of the matches.
   Thread-safety: any thread; writers wait while it runs, so `fn` must not write. */
COCO_API coco_result coco_store_scan(coco_store* store, const coco_scan_desc* desc,
                                     coco_scan_fn fn, void* user);

/* coco_store_compact
   Rewrites the log with only the live records (temp file, fsync, rename, directory fsync).
   Runs on its own after a commit when garbage dominates (see desc).  A crash during it
   leaves the old file in use.  Thread-safety: waits for the current write transaction. */
COCO_API coco_result coco_store_compact(coco_store* store);
COCO_API void        coco_store_stats_get(coco_store* store, coco_store_stats* out);

/* coco_store_txn_begin
   Starts the write transaction; waits while another thread holds one.  Puts and deletes are
   buffered and become visible (and durable) together at coco_txn_commit, or not at all.
   Errors: COCO_ERR_READ_ONLY, COCO_ERR_STATE (an earlier commit failed in a way that leaves
   the file state unknown, e.g. a failed fsync: close and reopen), COCO_ERR_NOMEM. */
COCO_API coco_result coco_store_txn_begin(coco_store* store, coco_txn** out);
COCO_API coco_result coco_txn_put(coco_txn* txn, const void* key, size_t klen,
                                  const void* val, size_t vlen);
COCO_API coco_result coco_txn_del(coco_txn* txn, const void* key, size_t klen);
/* Commits and ends the transaction (also on failure: the transaction is gone either way).
   On failure nothing of the batch is visible, now or after a reopen. */
COCO_API coco_result coco_txn_commit(coco_txn* txn);
COCO_API void        coco_txn_abort(coco_txn* txn);

/* Keys are at most 64 KiB, values at most 1 GiB. */
#define COCO_STORE_MAX_KEY   (64u * 1024u)
#define COCO_STORE_MAX_VALUE (1024u * 1024u * 1024u)

#ifdef __cplusplus
} /* extern "C" */
#endif
#endif /* COCOINDEX_H_INCLUDED */

/* ==============================================================================================
   IMPLEMENTATION
   ============================================================================================== */
#if defined(COCOINDEX_IMPLEMENTATION) && !defined(COCOINDEX_IMPL_INCLUDED)
#define COCOINDEX_IMPL_INCLUDED 1

/* ==============================================================================================
   >>impl_config -- includes, knob normalisation, assertions (Private)
   ============================================================================================== */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef COCO_NO_THREADS
#  define COCO__HAS_THREADS 0
#else
#  define COCO__HAS_THREADS 1
#endif
#ifdef COCO_NO_FILESYSTEM
#  define COCO__HAS_FS 0
#else
#  define COCO__HAS_FS 1
#endif
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  define COCO__X86 1
#else
#  define COCO__X86 0
#endif

#if COCO__HAS_FS
#  include <fcntl.h>
#  include <sys/file.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <sys/types.h>
#  include <unistd.h>
#endif
#if COCO__HAS_THREADS
#  include <pthread.h>
#endif
#if (COCO__HAS_FS || COCO__HAS_THREADS) && !defined(_GNU_SOURCE) && \
    (!defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L)
#  error "cocoindex.h: include it before any system header in the implementation file, or define _GNU_SOURCE (or _POSIX_C_SOURCE=200809L) first"
#endif
#include <time.h>

#ifndef COCO_ASSERT
#  include <assert.h>
#  define COCO_ASSERT(c) assert(c)
#endif

#if defined(__GNUC__)
#  define COCO__PRIVATE static __attribute__((unused))
#  define COCO__LIKELY(x)   __builtin_expect(!!(x), 1)
#  define COCO__UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define COCO__PRINTF(a, b) __attribute__((format(printf, a, b)))
#  define COCO__TLS __thread
#else
#  define COCO__PRIVATE static
#  define COCO__LIKELY(x)   (x)
#  define COCO__UNLIKELY(x) (x)
#  define COCO__PRINTF(a, b)
#  define COCO__TLS
#endif

#define COCO__MIN(a, b) ((a) < (b) ? (a) : (b))
#define COCO__MAX(a, b) ((a) > (b) ? (a) : (b))
#define COCO__DEF(v, d) ((v) ? (v) : (d))
#define COCO__ERRMSG_CAP 512

/* ==============================================================================================
   >>impl_platform -- files, fsync, mmap, locks, clock, mutexes (Private)
   Owns: thin wrappers over POSIX.  Depends on: nothing.
   ============================================================================================== */

COCO__PRIVATE uint64_t coco__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if COCO__HAS_THREADS
typedef struct coco__mutex  { pthread_mutex_t m; } coco__mutex;
typedef struct coco__rwlock { pthread_rwlock_t l; } coco__rwlock;
COCO__PRIVATE void coco__mutex_init(coco__mutex* m)   { pthread_mutex_init(&m->m, NULL); }
COCO__PRIVATE void coco__mutex_free(coco__mutex* m)   { pthread_mutex_destroy(&m->m); }
COCO__PRIVATE void coco__mutex_lock(coco__mutex* m)   { pthread_mutex_lock(&m->m); }
COCO__PRIVATE void coco__mutex_unlock(coco__mutex* m) { pthread_mutex_unlock(&m->m); }
COCO__PRIVATE void coco__rw_init(coco__rwlock* l)     { pthread_rwlock_init(&l->l, NULL); }
COCO__PRIVATE void coco__rw_free(coco__rwlock* l)     { pthread_rwlock_destroy(&l->l); }
COCO__PRIVATE void coco__rw_rdlock(coco__rwlock* l)   { pthread_rwlock_rdlock(&l->l); }
COCO__PRIVATE void coco__rw_wrlock(coco__rwlock* l)   { pthread_rwlock_wrlock(&l->l); }
COCO__PRIVATE void coco__rw_unlock(coco__rwlock* l)   { pthread_rwlock_unlock(&l->l); }
typedef pthread_once_t coco__once;
#  define COCO__ONCE_INIT PTHREAD_ONCE_INIT
COCO__PRIVATE void coco__call_once(coco__once* o, void (*fn)(void)) { pthread_once(o, fn); }
#else
typedef struct coco__mutex  { int unused; } coco__mutex;
typedef struct coco__rwlock { int unused; } coco__rwlock;
COCO__PRIVATE void coco__mutex_init(coco__mutex* m)   { (void)m; }
COCO__PRIVATE void coco__mutex_free(coco__mutex* m)   { (void)m; }
COCO__PRIVATE void coco__mutex_lock(coco__mutex* m)   { (void)m; }
COCO__PRIVATE void coco__mutex_unlock(coco__mutex* m) { (void)m; }
COCO__PRIVATE void coco__rw_init(coco__rwlock* l)     { (void)l; }
COCO__PRIVATE void coco__rw_free(coco__rwlock* l)     { (void)l; }
COCO__PRIVATE void coco__rw_rdlock(coco__rwlock* l)   { (void)l; }
COCO__PRIVATE void coco__rw_wrlock(coco__rwlock* l)   { (void)l; }
COCO__PRIVATE void coco__rw_unlock(coco__rwlock* l)   { (void)l; }
typedef int coco__once;
#  define COCO__ONCE_INIT 0
COCO__PRIVATE void coco__call_once(coco__once* o, void (*fn)(void)) {
    if (!*o) { *o = 1; fn(); }
}
#endif

#if COCO__HAS_FS
/* write() the whole buffer at `off`, retrying short writes and EINTR. */
COCO__PRIVATE int coco__pwrite_all(int fd, const void* buf, size_t len, uint64_t off) {
    const unsigned char* p = (const unsigned char*)buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) { errno = EIO; return -1; }
        p += n; len -= (size_t)n; off += (uint64_t)n;
    }
    return 0;
}

COCO__PRIVATE int coco__pread_all(int fd, void* buf, size_t len, uint64_t off) {
    unsigned char* p = (unsigned char*)buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) { errno = EIO; return -1; }
        p += n; len -= (size_t)n; off += (uint64_t)n;
    }
    return 0;
}

COCO__PRIVATE int coco__fdatasync(int fd) {
    int rc;
    do {
#if defined(__linux__)
        rc = fdatasync(fd);
#else
        rc = fsync(fd);
#endif
    } while (rc != 0 && errno == EINTR);
    return rc;
}

/* fsync of the directory holding `path`, so a create or rename in it survives power loss. */
COCO__PRIVATE int coco__fsync_parent_dir(const char* path) {
    char dir[4096];
    const char* slash = strrchr(path, '/');
    int fd, rc;
    if (!slash) { dir[0] = '.'; dir[1] = 0; }
    else if (slash == path) { dir[0] = '/'; dir[1] = 0; }
    else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    do { rc = fsync(fd); } while (rc != 0 && errno == EINTR);
    close(fd);
    return rc;
}

/* Exclusive lock held for the life of `fd`.  OFD locks (Linux) belong to the open file, so
   threads and other handles in this process are excluded too; flock() is the fallback.
   The kernel drops both when the process dies.  Returns 0, or -1 with errno (EWOULDBLOCK
   when another holder has it). */
COCO__PRIVATE int coco__lock_exclusive(int fd) {
#if defined(F_OFD_SETLK)
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    if (errno == EAGAIN || errno == EACCES) { errno = EWOULDBLOCK; return -1; }
    if (errno != EINVAL) return -1;
#endif
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EAGAIN) errno = EWOULDBLOCK;
    return -1;
}
#endif /* COCO__HAS_FS */

/* ==============================================================================================
   >>impl_util -- allocation, messages, arena, buffer, hash map, crc32c, varints (Private)
   Owns: the allocator plumbing used by every allocation.  Depends on: >>impl_platform.
   ============================================================================================== */

COCO__PRIVATE void* coco__default_alloc(void* u, size_t n) { (void)u; return malloc(n); }
COCO__PRIVATE void* coco__default_realloc(void* u, void* p, size_t old, size_t n) {
    (void)u; (void)old; return realloc(p, n);
}
COCO__PRIVATE void coco__default_free(void* u, void* p, size_t n) { (void)u; (void)n; free(p); }

/* Fills in malloc/realloc/free for a zero allocator, so callers never test for NULL. */
COCO__PRIVATE coco_allocator coco__allocator_resolve(const coco_allocator* a) {
    coco_allocator r;
    if (a && a->alloc && a->free) {
        r = *a;
        return r;
    }
    r.alloc = coco__default_alloc;
    r.realloc = coco__default_realloc;
    r.free = coco__default_free;
    r.user = NULL;
    return r;
}

COCO__PRIVATE void* coco__alloc(const coco_allocator* a, size_t n) {
    return a->alloc(a->user, n ? n : 1);
}
COCO__PRIVATE void coco__free(const coco_allocator* a, void* p, size_t n) {
    if (p) a->free(a->user, p, n);
}
/* realloc through the hooks; an allocator without realloc gets alloc + copy + free. */
COCO__PRIVATE void* coco__realloc(const coco_allocator* a, void* p, size_t old, size_t n) {
    void* q;
    if (!p) return coco__alloc(a, n);
    if (a->realloc) return a->realloc(a->user, p, old, n ? n : 1);
    q = a->alloc(a->user, n ? n : 1);
    if (!q) return NULL;
    memcpy(q, p, COCO__MIN(old, n));
    a->free(a->user, p, old);
    return q;
}

COCO__PRIVATE void coco__vfmt(char* dst, size_t cap, const char* fmt, va_list ap) {
    int n = vsnprintf(dst, cap, fmt, ap);
    if (n < 0) dst[0] = 0;
}

COCO__PRIVATE void coco__emit(const coco_logger* lg, coco_log_level lvl, coco_result rc,
                             const char* msg, const char* file, int line) {
    if (lg && lg->func) lg->func(lg->user, lvl, rc, msg, file, line);
}

/* ---- growable buffer ------------------------------------------------------------------------ */
typedef struct coco__buf {
    unsigned char*        ptr;
    size_t                len, cap;
    const coco_allocator* a;
} coco__buf;

COCO__PRIVATE void coco__buf_init(coco__buf* b, const coco_allocator* a) {
    b->ptr = NULL; b->len = b->cap = 0; b->a = a;
}
COCO__PRIVATE void coco__buf_free(coco__buf* b) {
    coco__free(b->a, b->ptr, b->cap);
    b->ptr = NULL; b->len = b->cap = 0;
}
COCO__PRIVATE int coco__buf_reserve(coco__buf* b, size_t extra) {
    size_t need = b->len + extra, cap;
    void* p;
    if (need < b->len) return -1;
    if (need <= b->cap) return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    p = coco__realloc(b->a, b->ptr, b->cap, cap);
    if (!p) return -1;
    b->ptr = (unsigned char*)p;
    b->cap = cap;
    return 0;
}
COCO__PRIVATE int coco__buf_put(coco__buf* b, const void* p, size_t n) {
    if (coco__buf_reserve(b, n)) return -1;
    if (n) memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
}
COCO__PRIVATE int coco__buf_byte(coco__buf* b, unsigned char c) { return coco__buf_put(b, &c, 1); }

/* ---- little/big endian and varints ---------------------------------------------------------- */
COCO__PRIVATE void coco__put_u32le(unsigned char* p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
COCO__PRIVATE uint32_t coco__get_u32le(const unsigned char* p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
COCO__PRIVATE void coco__put_u64le(unsigned char* p, uint64_t v) {
    coco__put_u32le(p, (uint32_t)v); coco__put_u32le(p + 4, (uint32_t)(v >> 32));
}
COCO__PRIVATE uint64_t coco__get_u64le(const unsigned char* p) {
    return (uint64_t)coco__get_u32le(p) | (uint64_t)coco__get_u32le(p + 4) << 32;
}
COCO__PRIVATE size_t coco__varint_put(unsigned char* p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (unsigned char)(v | 0x80); v >>= 7; }
    p[n++] = (unsigned char)v;
    return n;
}
/* Reads a varint from [*pp, end); returns 0 on success, -1 when truncated or too long. */
COCO__PRIVATE int coco__varint_get(const unsigned char** pp, const unsigned char* end,
                                   uint64_t* out) {
    const unsigned char* p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;
    while (p < end && shift < 64) {
        unsigned char c = *p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) { *pp = p; *out = v; return 0; }
        shift += 7;
    }
    return -1;
}

/* ---- crc32c (Castagnoli): record checksums.  Table-driven, or SSE4.2 when present. -------- */
static uint32_t   coco__crc_table[8][256];
static int        coco__crc_hw;
static coco__once coco__crc_once = COCO__ONCE_INIT;

COCO__PRIVATE void coco__crc_init(void) {
    uint32_t i, j, k;
    for (i = 0; i < 256; i++) {
        uint32_t c = i;
        for (j = 0; j < 8; j++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        coco__crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++)
        for (k = 1; k < 8; k++)
            coco__crc_table[k][i] = (coco__crc_table[k - 1][i] >> 8) ^
                                    coco__crc_table[0][coco__crc_table[k - 1][i] & 0xff];
#if COCO__X86
    __builtin_cpu_init();
    coco__crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

COCO__PRIVATE uint32_t coco__crc32c_sw(uint32_t crc, const unsigned char* p, size_t n) {
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ coco__get_u32le(p), hi = coco__get_u32le(p + 4);
        crc = coco__crc_table[7][lo & 0xff] ^ coco__crc_table[6][(lo >> 8) & 0xff] ^
              coco__crc_table[5][(lo >> 16) & 0xff] ^ coco__crc_table[4][lo >> 24] ^
              coco__crc_table[3][hi & 0xff] ^ coco__crc_table[2][(hi >> 8) & 0xff] ^
              coco__crc_table[1][(hi >> 16) & 0xff] ^ coco__crc_table[0][hi >> 24];
        p += 8; n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ coco__crc_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if COCO__X86 && defined(__x86_64__)
__attribute__((target("sse4.2")))
COCO__PRIVATE uint32_t coco__crc32c_hw(uint32_t crc, const unsigned char* p, size_t n) {
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8; n -= 8;
    }
    while (n--) c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#endif

COCO__PRIVATE uint32_t coco__crc32c(uint32_t crc, const void* data, size_t n) {
    coco__call_once(&coco__crc_once, coco__crc_init);
#if COCO__X86 && defined(__x86_64__)
    if (coco__crc_hw) return coco__crc32c_hw(crc, (const unsigned char*)data, n);
#endif
    return coco__crc32c_sw(crc, (const unsigned char*)data, n);
}

/* ---- 64-bit hash for in-memory tables (not persisted, not cryptographic) -------------------- */
COCO__PRIVATE uint64_t coco__mix64(uint64_t x) {
    x ^= x >> 32; x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32; x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}
COCO__PRIVATE uint64_t coco__hash64(const void* data, size_t n) {
    const unsigned char* p = (const unsigned char*)data;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    while (n >= 8) {
        h = (h ^ coco__mix64(coco__get_u64le(p))) * 0x9fb21c651e98df25ull;
        h = (h << 29) | (h >> 35);
        p += 8; n -= 8;
    }
    if (n) {
        uint64_t t = 0;
        memcpy(&t, p, n);   /* host order is fine: the hash never leaves this process */
        h = (h ^ coco__mix64(t + n)) * 0x9fb21c651e98df25ull;
    }
    return coco__mix64(h);
}

/* ---- open-addressing hash map: 64-bit hash -> 64-bit value, linear probing ------------------
   The caller keeps the keys (the store keeps them in the log); `eq` confirms a hash match.
   Value 0 is reserved for "empty".  Deletion shifts back the cluster (no tombstones). */
typedef struct coco__map_slot { uint64_t hash, val; } coco__map_slot;
typedef struct coco__map {
    coco__map_slot*       slots;
    size_t                mask, count;
    const coco_allocator* a;
} coco__map;
typedef int (*coco__map_eq_fn)(void* ctx, uint64_t val);

COCO__PRIVATE int coco__map_init(coco__map* m, const coco_allocator* a, size_t want) {
    size_t cap = 16;
    while (cap < want + want / 2 + 1) cap *= 2;
    m->a = a;
    m->slots = (coco__map_slot*)coco__alloc(a, cap * sizeof *m->slots);
    if (!m->slots) return -1;
    memset(m->slots, 0, cap * sizeof *m->slots);
    m->mask = cap - 1;
    m->count = 0;
    return 0;
}
COCO__PRIVATE void coco__map_free(coco__map* m) {
    if (m->slots) coco__free(m->a, m->slots, (m->mask + 1) * sizeof *m->slots);
    m->slots = NULL; m->count = 0; m->mask = 0;
}
/* Slot holding (hash, val with eq(ctx,val)), or the empty slot where it would go. */
COCO__PRIVATE coco__map_slot* coco__map_find(coco__map* m, uint64_t hash, coco__map_eq_fn eq,
                                             void* ctx) {
    size_t i = (size_t)hash & m->mask;
    for (;;) {
        coco__map_slot* s = &m->slots[i];
        if (s->val == 0) return s;
        if (s->hash == hash && eq(ctx, s->val)) return s;
        i = (i + 1) & m->mask;
    }
}
COCO__PRIVATE int coco__map_grow(coco__map* m) {
    coco__map nm;
    size_t i;
    if (coco__map_init(&nm, m->a, (m->mask + 1))) return -1;
    for (i = 0; i <= m->mask; i++) {
        coco__map_slot* s = &m->slots[i];
        size_t j;
        if (!s->val) continue;
        j = (size_t)s->hash & nm.mask;
        while (nm.slots[j].val) j = (j + 1) & nm.mask;
        nm.slots[j] = *s;
    }
    nm.count = m->count;
    coco__map_free(m);
    *m = nm;
    return 0;
}
/* Makes room for one more entry (call before filling an empty slot from map_find). */
COCO__PRIVATE int coco__map_reserve1(coco__map* m) {
    if ((m->count + 1) * 4 >= (m->mask + 1) * 3) return coco__map_grow(m);
    return 0;
}
COCO__PRIVATE void coco__map_remove(coco__map* m, coco__map_slot* s) {
    size_t i = (size_t)(s - m->slots), j = i;
    m->count--;
    for (;;) {
        size_t home;
        j = (j + 1) & m->mask;
        if (!m->slots[j].val) break;
        home = (size_t)m->slots[j].hash & m->mask;
        /* move j back to i if its home is not in the cyclic range (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].hash = 0;
    m->slots[i].val = 0;
}

/* ---- merge sort with a context (qsort_r is not portable) ------------------------------------ */
typedef int (*coco__cmp_fn)(void* ctx, uint64_t a, uint64_t b);
COCO__PRIVATE void coco__msort(uint64_t* v, uint64_t* tmp, size_t n, coco__cmp_fn cmp, void* ctx) {
    size_t mid, i, j, k;
    if (n < 2) return;
    if (n <= 12) {
        for (i = 1; i < n; i++) {
            uint64_t x = v[i];
            for (j = i; j > 0 && cmp(ctx, v[j - 1], x) > 0; j--) v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    mid = n / 2;
    coco__msort(v, tmp, mid, cmp, ctx);
    coco__msort(v + mid, tmp, n - mid, cmp, ctx);
    if (cmp(ctx, v[mid - 1], v[mid]) <= 0) return;
    memcpy(tmp, v, mid * sizeof *v);
    i = 0; j = mid; k = 0;
    while (i < mid && j < n) v[k++] = cmp(ctx, tmp[i], v[j]) <= 0 ? tmp[i++] : v[j++];
    while (i < mid) v[k++] = tmp[i++];
}

/* ==============================================================================================
   >>impl_log -- the result table (Private)
   ============================================================================================== */
COCO_API const char* coco_result_str(coco_result rc) {
    switch (rc) {
#define COCO__RESULT_CASE(name, val, msg) case COCO_##name: return "COCO_" #name ": " msg;
        COCO_RESULT_LIST(COCO__RESULT_CASE)
#undef COCO__RESULT_CASE
    default: return "COCO_ERR_?: unknown result";
    }
}
COCO_API const char* coco_version(void) { return COCO_VERSION_STRING; }
COCO_API void coco_hasher_init(coco_hasher* h) { h->a = 1469598103934665603ull; h->b = 7; }
COCO_API void coco_hasher_update(coco_hasher* h, const void* data, size_t len) {
    const unsigned char* p = (const unsigned char*)data; size_t i;
    for (i = 0; i < len; i++) { h->a = (h->a ^ p[i]) * 1099511628211ull; h->b = h->b * 31 + p[i]; }
}
COCO_API coco_fp coco_hasher_fp(const coco_hasher* h) { coco_fp f; memcpy(f.bytes, &h->a, 8); memcpy(f.bytes + 8, &h->b, 8); return f; }
COCO_API coco_fp coco_fp_of(const void* d, size_t n) { coco_hasher h; coco_hasher_init(&h); coco_hasher_update(&h, d, n); return coco_hasher_fp(&h); }
COCO_API int coco_fp_eq(coco_fp a, coco_fp b) { return memcmp(a.bytes, b.bytes, 16) == 0; }

/* ==============================================================================================
   >>impl_value -- arena, values, canonical MessagePack encoding (Private, public wrappers)
   Owns: coco_arena, the encoder and decoder.  Depends on: >>impl_util, >>impl_fp.
   ============================================================================================== */

typedef struct coco__arena_block {
    struct coco__arena_block* next;
    size_t                    size, used;
    /* data follows, 16-byte aligned */
} coco__arena_block;

struct coco_arena {
    coco_allocator     a;
    coco__arena_block* head;
    size_t             total;
    char               err[COCO__ERRMSG_CAP];
};

#define COCO__ARENA_HDR ((sizeof(coco__arena_block) + 15u) & ~(size_t)15u)
#define COCO__ARENA_MIN 4096u

COCO_API coco_result coco_arena_create(const coco_allocator* allocator, coco_arena** out) {
    coco_allocator a = coco__allocator_resolve(allocator);
    coco_arena* ar = (coco_arena*)coco__alloc(&a, sizeof *ar);
    if (!out) return COCO_ERR_INVALID_ARG;
    if (!ar) return COCO_ERR_NOMEM;
    memset(ar, 0, sizeof *ar);
    ar->a = a;
    *out = ar;
    return COCO_OK;
}

COCO__PRIVATE void coco__arena_free_blocks(coco_arena* ar, coco__arena_block* b) {
    while (b) {
        coco__arena_block* n = b->next;
        coco__free(&ar->a, b, COCO__ARENA_HDR + b->size);
        b = n;
    }
}

COCO_API void coco_arena_destroy(coco_arena* ar) {
    if (!ar) return;
    coco__arena_free_blocks(ar, ar->head);
    coco__free(&ar->a, ar, sizeof *ar);
}

COCO_API void coco_arena_reset(coco_arena* ar) {
    coco__arena_block* keep;
    if (!ar || !ar->head) return;
    /* keep the oldest block (the list runs newest first) */
    keep = ar->head;
    while (keep->next) keep = keep->next;
    if (keep != ar->head) {
        coco__arena_block* b = ar->head;
        while (b->next != keep) b = b->next;
        b->next = NULL;
        coco__arena_free_blocks(ar, ar->head);
    }
    keep->used = 0;
    ar->head = keep;
    ar->total = 0;
    ar->err[0] = 0;
}

COCO_API void* coco_arena_alloc(coco_arena* ar, size_t size) {
    coco__arena_block* b;
    size_t need = (size + 15u) & ~(size_t)15u;
    if (!ar || need < size) return NULL;
    if (need == 0) need = 16;
    b = ar->head;
    if (!b || b->size - b->used < need) {
        size_t bs = b ? b->size * 2 : COCO__ARENA_MIN;
        if (bs > (1u << 20)) bs = 1u << 20;
        if (bs < need) bs = need;
        if (bs > SIZE_MAX - COCO__ARENA_HDR) return NULL;
        b = (coco__arena_block*)coco__alloc(&ar->a, COCO__ARENA_HDR + bs);
        if (!b) return NULL;
        b->size = bs;
        b->used = 0;
        /* a big one-off block goes behind the head so the head's free space stays usable */
        if (ar->head && bs == need && ar->head->size - ar->head->used > 256) {
            b->next = ar->head->next;
            ar->head->next = b;
            b->used = need;
            ar->total += need;
            return (unsigned char*)b + COCO__ARENA_HDR;
        }
        b->next = ar->head;
        ar->head = b;
    }
    {
        void* p = (unsigned char*)b + COCO__ARENA_HDR + b->used;
        b->used += need;
        ar->total += need;
        return p;
    }
}

COCO_API char* coco_arena_strndup(coco_arena* ar, const char* s, size_t len) {
    char* p;
    if (len == SIZE_MAX) return NULL;
    p = (char*)coco_arena_alloc(ar, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = 0;
    return p;
}

COCO_API size_t coco_arena_used(const coco_arena* ar) { return ar ? ar->total : 0; }
COCO_API const char* coco_arena_errmsg(const coco_arena* ar) { return ar ? ar->err : ""; }

COCO__PRINTF(3, 4)
COCO__PRIVATE coco_result coco__arena_fail(coco_arena* ar, coco_result rc, const char* fmt, ...) {
    if (ar) {
        va_list ap;
        va_start(ap, fmt);
        coco__vfmt(ar->err, sizeof ar->err, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- constructors --------------------------------------------------------------------------- */
COCO_API coco_value coco_null(void) { coco_value v; memset(&v, 0, sizeof v); return v; }
COCO_API coco_value coco_bool(int b) {
    coco_value v = coco_null(); v.kind = COCO_BOOL; v.u.b = b ? 1 : 0; return v;
}
COCO_API coco_value coco_int(int64_t i) {
    coco_value v = coco_null(); v.kind = COCO_INT; v.u.i = i; return v;
}
COCO_API coco_value coco_float(double f) {
    coco_value v = coco_null(); v.kind = COCO_FLOAT; v.u.f = f; return v;
}
COCO_API coco_value coco_strn(const char* s, size_t len) {
    coco_value v = coco_null(); v.kind = COCO_STR; v.u.s.ptr = s; v.u.s.len = len; return v;
}
COCO_API coco_value coco_str(const char* s) { return coco_strn(s, s ? strlen(s) : 0); }
COCO_API coco_value coco_bytes_val(const void* p, size_t len) {
    coco_value v = coco_strn((const char*)p, len); v.kind = COCO_BYTES; return v;
}
COCO_API coco_value coco_symbol(const char* s) {
    coco_value v = coco_str(s); v.kind = COCO_SYMBOL; return v;
}
COCO_API coco_value coco_vec_f32(const float* p, size_t dim) {
    coco_value v = coco_null(); v.kind = COCO_VEC_F32; v.u.vec.ptr = p; v.u.vec.dim = dim;
    return v;
}
COCO_API coco_value coco_list(const coco_value* items, size_t count) {
    coco_value v = coco_null(); v.kind = COCO_LIST; v.u.list.items = items;
    v.u.list.count = count; return v;
}
COCO_API coco_value coco_map(const coco_map_entry* entries, size_t count) {
    coco_value v = coco_null(); v.kind = COCO_MAP; v.u.map.entries = entries;
    v.u.map.count = count; return v;
}
COCO_API coco_value coco_object(const coco_object_vtable* vt, const void* obj) {
    coco_value v = coco_null(); v.kind = COCO_OBJECT; v.u.obj.vt = vt; v.u.obj.obj = obj;
    return v;
}

/* ---- encoder: one walker writing either to a buffer or into a hasher ------------------------- */
#define COCO__MAX_DEPTH 128
#define COCO__EXT_SYMBOL 1
#define COCO__EXT_VEC_F32 2
#define COCO__EXT_OBJECT 3

typedef struct coco__enc {
    coco__buf*   buf;      /* exactly one of buf / hasher */
    coco_hasher* hasher;
    coco_arena*  arena;    /* scratch: map sort order, object memo keys; error messages */
    int          oom;
} coco__enc;

COCO__PRIVATE void coco__enc_put(coco__enc* e, const void* p, size_t n) {
    if (e->hasher) coco_hasher_update(e->hasher, p, n);
    else if (coco__buf_put(e->buf, p, n)) e->oom = 1;
}

/* tag byte followed by `n` big-endian bytes of v */
COCO__PRIVATE void coco__enc_tag_be(coco__enc* e, unsigned char tag, uint64_t v, int n) {
    unsigned char b[9];
    int i;
    b[0] = tag;
    for (i = 0; i < n; i++) b[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    coco__enc_put(e, b, (size_t)n + 1);
}

COCO__PRIVATE void coco__enc_int(coco__enc* e, int64_t i) {
    if (i >= 0) {
        uint64_t u = (uint64_t)i;
        if (u < 128) { unsigned char c = (unsigned char)u; coco__enc_put(e, &c, 1); }
        else if (u <= 0xff) coco__enc_tag_be(e, 0xcc, u, 1);
        else if (u <= 0xffff) coco__enc_tag_be(e, 0xcd, u, 2);
        else if (u <= 0xffffffffu) coco__enc_tag_be(e, 0xce, u, 4);
        else coco__enc_tag_be(e, 0xcf, u, 8);
    } else {
        if (i >= -32) { unsigned char c = (unsigned char)(0xe0 | (i + 32)); coco__enc_put(e, &c, 1); }
        else if (i >= INT8_MIN) coco__enc_tag_be(e, 0xd0, (uint64_t)i & 0xff, 1);
        else if (i >= INT16_MIN) coco__enc_tag_be(e, 0xd1, (uint64_t)i & 0xffff, 2);
        else if (i >= INT32_MIN) coco__enc_tag_be(e, 0xd2, (uint64_t)i & 0xffffffffu, 4);
        else coco__enc_tag_be(e, 0xd3, (uint64_t)i, 8);
    }
}

/* header of a str/bin/array/map: fix form, then 8/16/32-bit forms */
COCO__PRIVATE void coco__enc_len(coco__enc* e, unsigned char fix, size_t fixmax,
                                 unsigned char t8, unsigned char t16, unsigned char t32,
                                 size_t n) {
    if (n <= fixmax && fix) { unsigned char c = (unsigned char)(fix | n); coco__enc_put(e, &c, 1); }
    else if (n <= 0xff && t8) coco__enc_tag_be(e, t8, n, 1);
    else if (n <= 0xffff) coco__enc_tag_be(e, t16, n, 2);
    else coco__enc_tag_be(e, t32, n, 4);
}

COCO__PRIVATE void coco__enc_ext_hdr(coco__enc* e, signed char type, size_t n) {
    unsigned char b[6];
    switch (n) {
    case 1:  b[0] = 0xd4; break;
    case 2:  b[0] = 0xd5; break;
    case 4:  b[0] = 0xd6; break;
    case 8:  b[0] = 0xd7; break;
    case 16: b[0] = 0xd8; break;
    default:
        if (n <= 0xff) coco__enc_tag_be(e, 0xc7, n, 1);
        else if (n <= 0xffff) coco__enc_tag_be(e, 0xc8, n, 2);
        else coco__enc_tag_be(e, 0xc9, n, 4);
        b[0] = (unsigned char)type;
        coco__enc_put(e, b, 1);
        return;
    }
    b[1] = (unsigned char)type;
    coco__enc_put(e, b, 2);
}

typedef struct coco__keycmp { const coco_map_entry* ents; } coco__keycmp;
COCO__PRIVATE int coco__key_bytes_cmp(const char* a, size_t an, const char* b, size_t bn) {
    int c = memcmp(a, b, COCO__MIN(an, bn));
    if (c) return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}
COCO__PRIVATE int coco__map_entry_cmp(void* ctx, uint64_t a, uint64_t b) {
    const coco_map_entry* ents = ((coco__keycmp*)ctx)->ents;
    return coco__key_bytes_cmp(ents[a].key, ents[a].key_len, ents[b].key, ents[b].key_len);
}

COCO__PRIVATE coco_result coco__enc_value(coco__enc* e, const coco_value* v, int depth);

COCO__PRIVATE coco_result coco__enc_map(coco__enc* e, const coco_value* v, int depth) {
    size_t n = v->u.map.count, i;
    uint64_t small[16], smalltmp[16];
    uint64_t *order = small, *tmp = smalltmp;
    coco__keycmp kc;
    coco_result rc;
    if (n > 16) {
        order = (uint64_t*)coco_arena_alloc(e->arena, 2 * n * sizeof *order);
        if (!order) return COCO_ERR_NOMEM;
        tmp = order + n;
    }
    for (i = 0; i < n; i++) order[i] = i;
    kc.ents = v->u.map.entries;
    coco__msort(order, tmp, n, coco__map_entry_cmp, &kc);
    for (i = 1; i < n; i++)
        if (coco__map_entry_cmp(&kc, order[i - 1], order[i]) == 0) {
            const coco_map_entry* d = &kc.ents[order[i]];
            return coco__arena_fail(e->arena, COCO_ERR_INVALID_ARG,
                                    "map has duplicate key \"%.*s\"", (int)COCO__MIN(d->key_len, 64),
                                    d->key ? d->key : "");
        }
    coco__enc_len(e, 0x80, 15, 0, 0xde, 0xdf, n);
    for (i = 0; i < n; i++) {
        const coco_map_entry* me = &kc.ents[order[i]];
        coco__enc_len(e, 0xa0, 31, 0xd9, 0xda, 0xdb, me->key_len);
        coco__enc_put(e, me->key, me->key_len);
        if ((rc = coco__enc_value(e, &me->val, depth + 1)) != COCO_OK) return rc;
    }
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__enc_object(coco__enc* e, const coco_value* v, int depth) {
    coco_value key, pair[2];
    coco__buf inner;
    coco__enc sub;
    coco_result rc;
    const coco_object_vtable* vt = v->u.obj.vt;
    if (!vt || !vt->memo_key)
        return coco__arena_fail(e->arena, COCO_ERR_INVALID_ARG,
                                "object value without a memo_key function");
    if ((rc = vt->memo_key(v->u.obj.obj, e->arena, &key)) != COCO_OK)
        return coco__arena_fail(e->arena, rc, "memo_key of a '%s' object failed",
                                vt->type_name ? vt->type_name : "?");
    pair[0] = coco_str(vt->type_name ? vt->type_name : "");
    pair[1] = key;
    /* the ext payload needs its length up front: encode the pair aside first */
    coco__buf_init(&inner, &e->arena->a);
    sub.buf = &inner; sub.hasher = NULL; sub.arena = e->arena; sub.oom = 0;
    {
        coco_value lst = coco_list(pair, 2);
        rc = coco__enc_value(&sub, &lst, depth + 1);
    }
    if (rc == COCO_OK && sub.oom) rc = COCO_ERR_NOMEM;
    if (rc == COCO_OK) {
        coco__enc_ext_hdr(e, COCO__EXT_OBJECT, inner.len);
        coco__enc_put(e, inner.ptr, inner.len);
    }
    coco__buf_free(&inner);
    return rc;
}

COCO__PRIVATE coco_result coco__enc_value(coco__enc* e, const coco_value* v, int depth) {
    unsigned char b[9];
    size_t i;
    coco_result rc;
    if (depth > COCO__MAX_DEPTH)
        return coco__arena_fail(e->arena, COCO_ERR_INVALID_ARG,
                                "value nests deeper than %d levels", COCO__MAX_DEPTH);
    switch (v->kind) {
    case COCO_NULL: b[0] = 0xc0; coco__enc_put(e, b, 1); break;
    case COCO_BOOL: b[0] = v->u.b ? 0xc3 : 0xc2; coco__enc_put(e, b, 1); break;
    case COCO_INT: coco__enc_int(e, v->u.i); break;
    case COCO_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->u.f, 8);
        coco__enc_tag_be(e, 0xcb, bits, 8);
        break;
    }
    case COCO_STR:
        coco__enc_len(e, 0xa0, 31, 0xd9, 0xda, 0xdb, v->u.s.len);
        coco__enc_put(e, v->u.s.ptr, v->u.s.len);
        break;
    case COCO_BYTES:
        coco__enc_len(e, 0, 0, 0xc4, 0xc5, 0xc6, v->u.s.len);
        coco__enc_put(e, v->u.s.ptr, v->u.s.len);
        break;
    case COCO_SYMBOL:
        coco__enc_ext_hdr(e, COCO__EXT_SYMBOL, v->u.s.len);
        coco__enc_put(e, v->u.s.ptr, v->u.s.len);
        break;
    case COCO_VEC_F32:
        if (v->u.vec.dim > 0x3fffffffu)
            return coco__arena_fail(e->arena, COCO_ERR_LIMIT, "vector of %zu floats is too long",
                                    v->u.vec.dim);
        coco__enc_ext_hdr(e, COCO__EXT_VEC_F32, v->u.vec.dim * 4);
        for (i = 0; i < v->u.vec.dim; i++) {
            uint32_t bits;
            memcpy(&bits, &v->u.vec.ptr[i], 4);
            coco__put_u32le(b, bits);
            coco__enc_put(e, b, 4);
        }
        break;
    case COCO_LIST:
        coco__enc_len(e, 0x90, 15, 0, 0xdc, 0xdd, v->u.list.count);
        for (i = 0; i < v->u.list.count; i++)
            if ((rc = coco__enc_value(e, &v->u.list.items[i], depth + 1)) != COCO_OK) return rc;
        break;
    case COCO_MAP:
        if ((rc = coco__enc_map(e, v, depth)) != COCO_OK) return rc;
        break;
    case COCO_OBJECT:
        if ((rc = coco__enc_object(e, v, depth)) != COCO_OK) return rc;
        break;
    default:
        return coco__arena_fail(e->arena, COCO_ERR_INVALID_ARG, "value of unknown kind %d",
                                (int)v->kind);
    }
    return e->oom ? COCO_ERR_NOMEM : COCO_OK;
}

COCO_API coco_result coco_value_encode(coco_arena* arena, const coco_value* v, coco_bytes* out) {
    coco__buf b;
    coco__enc e;
    coco_result rc;
    void* p;
    if (!arena || !v || !out) return COCO_ERR_INVALID_ARG;
    coco__buf_init(&b, &arena->a);
    e.buf = &b; e.hasher = NULL; e.arena = arena; e.oom = 0;
    rc = coco__enc_value(&e, v, 0);
    if (rc == COCO_OK) {
        p = coco_arena_alloc(arena, b.len);
        if (!p) rc = COCO_ERR_NOMEM;
        else {
            if (b.len) memcpy(p, b.ptr, b.len);
            out->ptr = p;
            out->len = b.len;
        }
    }
    coco__buf_free(&b);
    return rc;
}

COCO_API coco_result coco_value_fp(coco_arena* arena, const coco_value* v, coco_fp* out) {
    coco_hasher h;
    coco__enc e;
    coco_result rc;
    if (!arena || !v || !out) return COCO_ERR_INVALID_ARG;
    coco_hasher_init(&h);
    e.buf = NULL; e.hasher = &h; e.arena = arena; e.oom = 0;
    if ((rc = coco__enc_value(&e, v, 0)) != COCO_OK) return rc;
    *out = coco_hasher_fp(&h);
    return COCO_OK;
}

COCO_API int coco_value_eq(coco_arena* arena, const coco_value* a, const coco_value* b) {
    coco_bytes x, y;
    if (coco_value_encode(arena, a, &x) != COCO_OK) return 0;
    if (coco_value_encode(arena, b, &y) != COCO_OK) return 0;
    return x.len == y.len && (x.len == 0 || memcmp(x.ptr, y.ptr, x.len) == 0);
}

/* ---- decoder -------------------------------------------------------------------------------- */
typedef struct coco__dec {
    const unsigned char *base, *p, *end;
    coco_arena*          arena;
} coco__dec;

COCO__PRINTF(3, 4)
COCO__PRIVATE coco_result coco__dec_fail(coco__dec* d, const unsigned char* at, const char* fmt,
                                         ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    coco__vfmt(what, sizeof what, fmt, ap);
    va_end(ap);
    return coco__arena_fail(d->arena, COCO_ERR_DECODE, "malformed value at byte %zu of %zu: %s",
                            (size_t)(at - d->base), (size_t)(d->end - d->base), what);
}

/* big-endian unsigned of n bytes at p; the caller checked the bounds */
COCO__PRIVATE uint64_t coco__be(const unsigned char* p, int n) {
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

COCO__PRIVATE coco_result coco__dec_need(coco__dec* d, const unsigned char* at, size_t n,
                                         const char* what) {
    if ((size_t)(d->end - d->p) < n)
        return coco__dec_fail(d, at, "%s needs %zu bytes, %zu left", what, n,
                              (size_t)(d->end - d->p));
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__dec_value(coco__dec* d, coco_value* out, int depth);

COCO__PRIVATE coco_result coco__dec_blob(coco__dec* d, const unsigned char* at, size_t n,
                                         coco_kind kind, coco_value* out) {
    coco_result rc;
    char* s;
    if ((rc = coco__dec_need(d, at, n, "string/bytes payload")) != COCO_OK) return rc;
    if (!(s = coco_arena_strndup(d->arena, (const char*)d->p, n))) return COCO_ERR_NOMEM;
    d->p += n;
    *out = coco_strn(s, n);
    out->kind = kind;
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__dec_list(coco__dec* d, const unsigned char* at, size_t n,
                                         coco_value* out, int depth) {
    coco_value* items = NULL;
    size_t i;
    coco_result rc;
    if (n > (size_t)(d->end - d->p))   /* every item takes at least one byte */
        return coco__dec_fail(d, at, "array of %zu items in %zu bytes", n,
                              (size_t)(d->end - d->p));
    if (n && !(items = (coco_value*)coco_arena_alloc(d->arena, n * sizeof *items)))
        return COCO_ERR_NOMEM;
    for (i = 0; i < n; i++)
        if ((rc = coco__dec_value(d, &items[i], depth + 1)) != COCO_OK) return rc;
    *out = coco_list(items, n);
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__dec_map(coco__dec* d, const unsigned char* at, size_t n,
                                        coco_value* out, int depth) {
    coco_map_entry* ents = NULL;
    size_t i;
    coco_result rc;
    if (n > (size_t)(d->end - d->p) / 2)
        return coco__dec_fail(d, at, "map of %zu entries in %zu bytes", n,
                              (size_t)(d->end - d->p));
    if (n && !(ents = (coco_map_entry*)coco_arena_alloc(d->arena, n * sizeof *ents)))
        return COCO_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        coco_value k;
        const unsigned char* kat = d->p;
        if ((rc = coco__dec_value(d, &k, depth + 1)) != COCO_OK) return rc;
        if (k.kind != COCO_STR) return coco__dec_fail(d, kat, "map key is not a string");
        ents[i].key = k.u.s.ptr;
        ents[i].key_len = k.u.s.len;
        if ((rc = coco__dec_value(d, &ents[i].val, depth + 1)) != COCO_OK) return rc;
    }
    *out = coco_map(ents, n);
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__dec_ext(coco__dec* d, const unsigned char* at, size_t n,
                                        coco_value* out, int depth) {
    coco_result rc;
    signed char type;
    if ((rc = coco__dec_need(d, at, 1 + n, "ext payload")) != COCO_OK) return rc;
    type = (signed char)*d->p++;
    switch (type) {
    case COCO__EXT_SYMBOL: return coco__dec_blob(d, at, n, COCO_SYMBOL, out);
    case COCO__EXT_VEC_F32: {
        float* f;
        size_t i, dim = n / 4;
        if (n % 4) return coco__dec_fail(d, at, "float32 vector of %zu bytes", n);
        if (dim && !(f = (float*)coco_arena_alloc(d->arena, n))) return COCO_ERR_NOMEM;
        if (!dim) f = NULL;
        for (i = 0; i < dim; i++) {
            uint32_t bits = coco__get_u32le(d->p + 4 * i);
            memcpy(&f[i], &bits, 4);
        }
        d->p += n;
        *out = coco_vec_f32(f, dim);
        return COCO_OK;
    }
    case COCO__EXT_OBJECT: {
        coco__dec sub;
        sub.base = d->base; sub.p = d->p; sub.end = d->p + n; sub.arena = d->arena;
        if ((rc = coco__dec_value(&sub, out, depth + 1)) != COCO_OK) return rc;
        if (sub.p != sub.end || out->kind != COCO_LIST || out->u.list.count != 2 ||
            out->u.list.items[0].kind != COCO_STR)
            return coco__dec_fail(d, at, "object payload is not [type name, memo key]");
        d->p += n;
        return COCO_OK;
    }
    default: return coco__dec_fail(d, at, "unknown ext type %d", (int)type);
    }
}

COCO__PRIVATE coco_result coco__dec_value(coco__dec* d, coco_value* out, int depth) {
    const unsigned char* at = d->p;
    unsigned char t;
    coco_result rc;
    if (depth > COCO__MAX_DEPTH) return coco__dec_fail(d, at, "nested deeper than %d", COCO__MAX_DEPTH);
    if (d->p >= d->end) return coco__dec_fail(d, at, "truncated: a value was expected");
    t = *d->p++;
    if (t <= 0x7f) { *out = coco_int(t); return COCO_OK; }
    if (t >= 0xe0) { *out = coco_int((int64_t)t - 256); return COCO_OK; }
    if ((t & 0xe0) == 0xa0) return coco__dec_blob(d, at, t & 0x1fu, COCO_STR, out);
    if ((t & 0xf0) == 0x90) return coco__dec_list(d, at, t & 0x0fu, out, depth);
    if ((t & 0xf0) == 0x80) return coco__dec_map(d, at, t & 0x0fu, out, depth);
    switch (t) {
    case 0xc0: *out = coco_null(); return COCO_OK;
    case 0xc2: *out = coco_bool(0); return COCO_OK;
    case 0xc3: *out = coco_bool(1); return COCO_OK;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        int n = 1 << (t - 0xcc);
        uint64_t u;
        if ((rc = coco__dec_need(d, at, (size_t)n, "uint")) != COCO_OK) return rc;
        u = coco__be(d->p, n);
        d->p += n;
        if (u > (uint64_t)INT64_MAX) return coco__dec_fail(d, at, "uint64 %llu exceeds int64",
                                                            (unsigned long long)u);
        *out = coco_int((int64_t)u);
        return COCO_OK;
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        int n = 1 << (t - 0xd0);
        uint64_t u;
        if ((rc = coco__dec_need(d, at, (size_t)n, "int")) != COCO_OK) return rc;
        u = coco__be(d->p, n);
        d->p += n;
        if (n < 8 && (u >> (8 * n - 1))) u |= ~(uint64_t)0 << (8 * n);   /* sign-extend */
        {
            int64_t i;
            memcpy(&i, &u, 8);
            *out = coco_int(i);
        }
        return COCO_OK;
    }
    case 0xca: {
        uint32_t bits;
        float f;
        if ((rc = coco__dec_need(d, at, 4, "float32")) != COCO_OK) return rc;
        bits = (uint32_t)coco__be(d->p, 4);
        d->p += 4;
        memcpy(&f, &bits, 4);
        *out = coco_float((double)f);
        return COCO_OK;
    }
    case 0xcb: {
        uint64_t bits;
        double f;
        if ((rc = coco__dec_need(d, at, 8, "float64")) != COCO_OK) return rc;
        bits = coco__be(d->p, 8);
        d->p += 8;
        memcpy(&f, &bits, 8);
        *out = coco_float(f);
        return COCO_OK;
    }
    case 0xd9: case 0xda: case 0xdb:
    case 0xc4: case 0xc5: case 0xc6:
    case 0xdc: case 0xdd: case 0xde: case 0xdf:
    case 0xc7: case 0xc8: case 0xc9: {
        int n = (t == 0xd9 || t == 0xc4 || t == 0xc7) ? 1
              : (t == 0xda || t == 0xc5 || t == 0xc8 || t == 0xdc || t == 0xde) ? 2 : 4;
        size_t len;
        if ((rc = coco__dec_need(d, at, (size_t)n, "length")) != COCO_OK) return rc;
        len = (size_t)coco__be(d->p, n);
        d->p += n;
        if (t >= 0xd9 && t <= 0xdb) return coco__dec_blob(d, at, len, COCO_STR, out);
        if (t >= 0xc4 && t <= 0xc6) return coco__dec_blob(d, at, len, COCO_BYTES, out);
        if (t == 0xdc || t == 0xdd) return coco__dec_list(d, at, len, out, depth);
        if (t == 0xde || t == 0xdf) return coco__dec_map(d, at, len, out, depth);
        return coco__dec_ext(d, at, len, out, depth);
    }
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        return coco__dec_ext(d, at, (size_t)1 << (t - 0xd4), out, depth);
    default: return coco__dec_fail(d, at, "unknown type byte 0x%02x", t);
    }
}

COCO_API coco_result coco_value_decode(coco_arena* arena, const void* data, size_t len,
                                       coco_value* out) {
    coco__dec d;
    coco_value v;
    coco_result rc;
    if (!arena || (!data && len) || !out) return COCO_ERR_INVALID_ARG;
    d.base = d.p = (const unsigned char*)data;
    d.end = d.base + len;
    d.arena = arena;
    if ((rc = coco__dec_value(&d, &v, 0)) != COCO_OK) return rc;
    if (d.p != d.end) return coco__dec_fail(&d, d.p, "%zu trailing bytes after the value",
                                            (size_t)(d.end - d.p));
    *out = v;
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__copy_value(coco_arena* ar, const coco_value* v, coco_value* out,
                                           int depth) {
    size_t i;
    coco_result rc;
    if (depth > COCO__MAX_DEPTH)
        return coco__arena_fail(ar, COCO_ERR_INVALID_ARG, "value nests deeper than %d levels",
                                COCO__MAX_DEPTH);
    *out = *v;
    switch (v->kind) {
    case COCO_STR: case COCO_BYTES: case COCO_SYMBOL: {
        char* s = coco_arena_strndup(ar, v->u.s.ptr, v->u.s.len);
        if (!s) return COCO_ERR_NOMEM;
        out->u.s.ptr = s;
        return COCO_OK;
    }
    case COCO_VEC_F32: {
        float* f = NULL;
        if (v->u.vec.dim) {
            if (!(f = (float*)coco_arena_alloc(ar, v->u.vec.dim * sizeof *f))) return COCO_ERR_NOMEM;
            memcpy(f, v->u.vec.ptr, v->u.vec.dim * sizeof *f);
        }
        out->u.vec.ptr = f;
        return COCO_OK;
    }
    case COCO_LIST: {
        coco_value* items = NULL;
        if (v->u.list.count &&
            !(items = (coco_value*)coco_arena_alloc(ar, v->u.list.count * sizeof *items)))
            return COCO_ERR_NOMEM;
        for (i = 0; i < v->u.list.count; i++)
            if ((rc = coco__copy_value(ar, &v->u.list.items[i], &items[i], depth + 1))) return rc;
        out->u.list.items = items;
        return COCO_OK;
    }
    case COCO_MAP: {
        coco_map_entry* e = NULL;
        if (v->u.map.count &&
            !(e = (coco_map_entry*)coco_arena_alloc(ar, v->u.map.count * sizeof *e)))
            return COCO_ERR_NOMEM;
        for (i = 0; i < v->u.map.count; i++) {
            const coco_map_entry* s = &v->u.map.entries[i];
            if (!(e[i].key = coco_arena_strndup(ar, s->key, s->key_len))) return COCO_ERR_NOMEM;
            e[i].key_len = s->key_len;
            if ((rc = coco__copy_value(ar, &s->val, &e[i].val, depth + 1))) return rc;
        }
        out->u.map.entries = e;
        return COCO_OK;
    }
    default: return COCO_OK;
    }
}

COCO_API coco_result coco_value_copy(coco_arena* arena, const coco_value* v, coco_value* out) {
    coco_value tmp;
    coco_result rc;
    if (!arena || !v || !out) return COCO_ERR_INVALID_ARG;
    if ((rc = coco__copy_value(arena, v, &tmp, 0)) != COCO_OK) return rc;
    *out = tmp;
    return COCO_OK;
}

/* ==============================================================================================
   >>impl_store -- the embedded KV state store: log format, index, recovery, compaction (Private)
   Owns: coco__log (the built-in backend), coco_store and coco_txn (the generic front).
   Depends on: >>impl_platform, >>impl_util.

   File:   [header 64 B] [group] [group] ...
   Header: "COCOSTOR" | u32 format | u32 header size (64) | u32 flags | zero ... | u32 crc32c
   Group:  u32 magic "COCG" | u32 record count | u64 payload bytes | u64 sequence | u32 zero |
           u32 crc32c of the previous 28 bytes | records (payload)
   Record: u32 crc32c of the rest | u8 op (1 put, 2 del) | varint klen | [varint vlen] | key | val
   A group is one commit: it is applied whole or not at all.  All integers little-endian.
   ============================================================================================== */

#define COCO__FILE_HDR   64u
#define COCO__GROUP_HDR  32u
#define COCO__GROUP_MAGIC 0x47434f43u   /* "COCG" */
#define COCO__STORE_MAGIC "COCOSTOR"

typedef struct coco__rec {
    unsigned       op;
    const unsigned char *key, *val;
    size_t         klen, vlen, size;   /* size = whole record incl. crc */
} coco__rec;

/* Parses the record at p (bounded by end) without checking its crc.  0 on success. */
COCO__PRIVATE int coco__rec_parse(const unsigned char* p, const unsigned char* end, coco__rec* r) {
    const unsigned char* q = p + 5;
    uint64_t klen, vlen = 0;
    if (end - p < 6) return -1;
    r->op = p[4];
    if (r->op != COCO_OP_PUT && r->op != COCO_OP_DEL) return -1;
    if (coco__varint_get(&q, end, &klen)) return -1;
    if (r->op == COCO_OP_PUT && coco__varint_get(&q, end, &vlen)) return -1;
    if (klen > COCO_STORE_MAX_KEY || vlen > COCO_STORE_MAX_VALUE) return -1;
    if ((uint64_t)(end - q) < klen + vlen) return -1;
    r->key = q;
    r->klen = (size_t)klen;
    r->val = q + klen;
    r->vlen = (size_t)vlen;
    r->size = (size_t)(q - p) + (size_t)klen + (size_t)vlen;
    return 0;
}
COCO__PRIVATE int coco__rec_crc_ok(const unsigned char* p, const coco__rec* r) {
    return coco__get_u32le(p) == coco__crc32c(0, p + 4, r->size - 4);
}

COCO_API int coco_batch_next(const void* batch, size_t len, size_t* pos, coco_op* op,
                             coco_bytes* key, coco_bytes* val) {
    const unsigned char* b = (const unsigned char*)batch;
    coco__rec r;
    if (*pos >= len) return 0;
    if (coco__rec_parse(b + *pos, b + len, &r) || !coco__rec_crc_ok(b + *pos, &r)) return -1;
    *op = (coco_op)r.op;
    key->ptr = r.key; key->len = r.klen;
    val->ptr = r.val; val->len = r.vlen;
    *pos += r.size;
    return 1;
}

/* ---- the log backend ------------------------------------------------------------------------ */
typedef struct coco__log {
    coco_allocator  a;
    coco_logger     lg;
    char*           path;          /* NULL: in-memory */
    size_t          path_len;
    int             fd, lock_fd, read_only;
    coco_sync       sync;
    unsigned char*  map;           /* file mode: read-only shared mapping of `map_len` bytes */
    size_t          map_len;
    coco__buf       mem;           /* in-memory mode: the whole log */
    uint64_t        end;           /* end of the last whole commit */
    uint64_t        seq;
    coco__map       index;         /* key hash -> record offset */
    uint64_t        live_bytes;
    uint64_t        commits, compactions, truncated;
    double          compact_garbage;
    uint64_t        compact_min;
    int             failed;        /* a commit failed in a way that leaves the file unknown */
    coco__rwlock    rw;            /* readers vs. index/mapping changes */
} coco__log;

COCO__PRINTF(4, 5)
COCO__PRIVATE coco_result coco__errf(char* err, size_t cap, coco_result rc, const char* fmt, ...) {
    va_list ap;
    if (!err || !cap) return rc;
    va_start(ap, fmt);
    coco__vfmt(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

COCO__PRIVATE const unsigned char* coco__log_base(const coco__log* l) {
    return l->path ? l->map : l->mem.ptr;
}

typedef struct coco__keyref {
    const coco__log*     l;
    const unsigned char* key;
    size_t               klen;
} coco__keyref;

COCO__PRIVATE int coco__log_key_eq(void* ctx, uint64_t off) {
    const coco__keyref* k = (const coco__keyref*)ctx;
    const unsigned char* base = coco__log_base(k->l);
    coco__rec r;
    if (coco__rec_parse(base + off, base + k->l->end, &r)) return 0;
    return r.klen == k->klen && (k->klen == 0 || memcmp(r.key, k->key, k->klen) == 0);
}

/* Applies one validated group to the index.  `base` holds the log; records start at `off`. */
COCO__PRIVATE int coco__log_apply(coco__log* l, const unsigned char* base, uint64_t off,
                                  uint64_t len, uint64_t log_end) {
    uint64_t p = off, stop = off + len;
    coco__keyref kr;
    kr.l = l;
    while (p < stop) {
        coco__rec r;
        uint64_t h;
        coco__map_slot* s;
        if (coco__rec_parse(base + p, base + stop, &r)) return -1;
        kr.key = r.key; kr.klen = r.klen;
        h = coco__hash64(r.key, r.klen);
        if (coco__map_reserve1(&l->index)) return -2;
        {
            uint64_t saved_end = l->end;
            l->end = log_end;       /* key comparison may look at records up to log_end */
            s = coco__map_find(&l->index, h, coco__log_key_eq, &kr);
            l->end = saved_end;
        }
        if (s->val) {
            coco__rec old;
            if (coco__rec_parse(base + s->val, base + log_end, &old) == 0)
                l->live_bytes -= old.size;
            if (r.op == COCO_OP_PUT) s->val = p;
            else coco__map_remove(&l->index, s);
        } else if (r.op == COCO_OP_PUT) {
            s->hash = h;
            s->val = p;
            l->index.count++;
        }
        if (r.op == COCO_OP_PUT) l->live_bytes += r.size;
        p += r.size;
    }
    return 0;
}

/* Checks a group at `off` of a log of `size` bytes.  Returns 0 and sets *payload when whole
   and every record's checksum holds; otherwise -1 with a reason. */
COCO__PRIVATE int coco__group_check(const unsigned char* base, uint64_t off, uint64_t size,
                                    uint64_t* payload, const char** why) {
    const unsigned char* g = base + off;
    uint64_t len, p, stop;
    uint32_t count, n = 0;
    if (size - off < COCO__GROUP_HDR) { *why = "incomplete commit header"; return -1; }
    if (coco__get_u32le(g) != COCO__GROUP_MAGIC) { *why = "bad commit magic"; return -1; }
    if (coco__get_u32le(g + 28) != coco__crc32c(0, g, 28) || coco__get_u32le(g + 24) != 0) {
        *why = "commit header checksum mismatch";
        return -1;
    }
    count = coco__get_u32le(g + 4);
    len = coco__get_u64le(g + 8);
    if (len > size - off - COCO__GROUP_HDR) { *why = "commit extends past the end"; return -1; }
    p = off + COCO__GROUP_HDR;
    stop = p + len;
    while (p < stop) {
        coco__rec r;
        if (coco__rec_parse(base + p, base + stop, &r)) { *why = "malformed record"; return -1; }
        if (!coco__rec_crc_ok(base + p, &r)) { *why = "record checksum mismatch"; return -1; }
        p += r.size;
        n++;
    }
    if (n != count) { *why = "record count mismatch"; return -1; }
    *payload = len;
    return 0;
}

/* After a bad group at `bad`: is there a whole valid group further on?  Then the damage is
   in the middle (refuse); otherwise it is a torn tail (cut it). */
COCO__PRIVATE uint64_t coco__find_later_group(const unsigned char* base, uint64_t bad,
                                              uint64_t size) {
    uint64_t o;
    for (o = bad + 1; o + COCO__GROUP_HDR <= size; o++) {
        uint64_t pl;
        const char* why;
        if (base[o] != 0x43 || coco__get_u32le(base + o) != COCO__GROUP_MAGIC) continue;
        if (coco__group_check(base, o, size, &pl, &why) == 0) return o;
    }
    return 0;
}

/* Rebuilds the index from the log in [0, size).  Sets l->end to the end of the last whole
   commit; *bad_at to where a torn tail starts (== size when none). */
COCO__PRIVATE coco_result coco__log_replay(coco__log* l, const unsigned char* base, uint64_t size,
                                           uint64_t* tail_at, char* err, size_t cap) {
    uint64_t off = COCO__FILE_HDR;
    const char* what = l->path ? l->path : "(memory)";
    l->end = off;
    while (off < size) {
        uint64_t pl, later;
        const char* why = "";
        if (coco__group_check(base, off, size, &pl, &why) != 0) {
            later = coco__find_later_group(base, off, size);
            if (later)
                return coco__errf(err, cap, COCO_ERR_CORRUPT,
                                  "state store '%s' is damaged at offset %llu (%s) and valid "
                                  "commits follow at offset %llu; refusing to open, nothing was "
                                  "changed", what, (unsigned long long)off, why,
                                  (unsigned long long)later);
            break;
        }
        if (coco__log_apply(l, base, off + COCO__GROUP_HDR, pl, size))
            return coco__errf(err, cap, COCO_ERR_NOMEM, "state store '%s': out of memory "
                              "building the index", what);
        l->seq = coco__get_u64le(base + off + 16);
        off += COCO__GROUP_HDR + pl;
        l->end = off;
    }
    *tail_at = off;
    return COCO_OK;
}

COCO__PRIVATE void coco__file_header(unsigned char h[COCO__FILE_HDR]) {
    memset(h, 0, COCO__FILE_HDR);
    memcpy(h, COCO__STORE_MAGIC, 8);
    coco__put_u32le(h + 8, COCO_STORE_FORMAT);
    coco__put_u32le(h + 12, COCO__FILE_HDR);
    coco__put_u32le(h + 60, coco__crc32c(0, h, 60));
}

COCO__PRIVATE coco_result coco__header_check(const unsigned char* h, uint64_t size,
                                             const char* what, char* err, size_t cap) {
    uint32_t fmt;
    if (size < COCO__FILE_HDR || memcmp(h, COCO__STORE_MAGIC, 8) != 0)
        return coco__errf(err, cap, COCO_ERR_CORRUPT, "'%s' is not a cocoindex state store "
                          "(bad magic)", what);
    fmt = coco__get_u32le(h + 8);
    if (coco__get_u32le(h + 60) != coco__crc32c(0, h, 60))
        return coco__errf(err, cap, COCO_ERR_CORRUPT, "state store '%s': header checksum "
                          "mismatch at offset 0", what);
    if (fmt != COCO_STORE_FORMAT)
        return coco__errf(err, cap, COCO_ERR_VERSION, "state store '%s' has format version %u; "
                          "this library (v%s) reads format %u", what, (unsigned)fmt,
                          COCO_VERSION_STRING, (unsigned)COCO_STORE_FORMAT);
    return COCO_OK;
}

COCO__PRIVATE void coco__log_destroy(coco__log* l) {
    coco__map_free(&l->index);
    coco__buf_free(&l->mem);
#if COCO__HAS_FS
    if (l->map) munmap(l->map, l->map_len);
    if (l->fd >= 0) close(l->fd);
    if (l->lock_fd >= 0) close(l->lock_fd);   /* drops the lock */
#endif
    coco__rw_free(&l->rw);
    if (l->path) coco__free(&l->a, l->path, l->path_len + 16);
    coco__free(&l->a, l, sizeof *l);
}

#if COCO__HAS_FS
/* "<path><suffix>" in a stack buffer; -1 when too long. */
COCO__PRIVATE int coco__path_with(char* dst, size_t cap, const char* path, const char* suffix) {
    int n = snprintf(dst, cap, "%s%s", path, suffix);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

COCO__PRIVATE size_t coco__map_reserve_len(uint64_t size) {
    uint64_t want = size * 2 + ((uint64_t)64 << 20);
    if (sizeof(size_t) == 4 && want > ((uint64_t)1 << 30)) want = size + ((uint64_t)16 << 20);
    want = (want + 0xffffu) & ~(uint64_t)0xffffu;
    return (size_t)want;
}

/* (Re)maps the file read-only with room to grow; a mapping past the end is never touched. */
COCO__PRIVATE int coco__log_remap(coco__log* l, uint64_t size) {
    size_t len = coco__map_reserve_len(size);
    void* m = mmap(NULL, len, PROT_READ, MAP_SHARED, l->fd, 0);
    if (m == MAP_FAILED) return -1;
    if (l->map) munmap(l->map, l->map_len);
    l->map = (unsigned char*)m;
    l->map_len = len;
    return 0;
}

COCO__PRIVATE coco_result coco__log_take_lock(coco__log* l, char* err, size_t cap) {
    char lp[4096], pidbuf[32];
    int n;
    if (coco__path_with(lp, sizeof lp, l->path, ".lock"))
        return coco__errf(err, cap, COCO_ERR_INVALID_ARG, "state store path '%s' is too long",
                          l->path);
    l->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->lock_fd < 0)
        return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': cannot open lock file "
                          "'%s': %s", l->path, lp, strerror(errno));
    if (coco__lock_exclusive(l->lock_fd) != 0) {
        int e = errno;
        ssize_t got;
        if (e != EWOULDBLOCK)
            return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': cannot lock '%s': %s",
                              l->path, lp, strerror(e));
        got = pread(l->lock_fd, pidbuf, sizeof pidbuf - 1, 0);
        pidbuf[got > 0 ? got : 0] = 0;
        if (got > 0 && atol(pidbuf) > 0)
            return coco__errf(err, cap, COCO_ERR_LOCKED, "state store '%s' is locked by pid %ld "
                              "(another writer is running)", l->path, atol(pidbuf));
        return coco__errf(err, cap, COCO_ERR_LOCKED, "state store '%s' is locked by another "
                          "process", l->path);
    }
    n = snprintf(pidbuf, sizeof pidbuf, "%ld\n", (long)getpid());
    if (ftruncate(l->lock_fd, 0) != 0 || coco__pwrite_all(l->lock_fd, pidbuf, (size_t)n, 0) != 0)
        return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': cannot write lock file "
                          "'%s': %s", l->path, lp, strerror(errno));
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__log_open_file(coco__log* l, char* err, size_t cap) {
    struct stat st;
    uint64_t size, tail_at = 0;
    coco_result rc;
    int created = 0;
    if (stat(l->path, &st) == 0 && S_ISDIR(st.st_mode))
        return coco__errf(err, cap, COCO_ERR_INVALID_ARG, "state store path '%s' is a directory; "
                          "give a file path such as '%s/state.db'", l->path, l->path);
    if (!l->read_only && (rc = coco__log_take_lock(l, err, cap)) != COCO_OK) return rc;
    l->fd = open(l->path, (l->read_only ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        int e = errno;
        return coco__errf(err, cap, e == ENOENT ? COCO_ERR_NOT_FOUND : COCO_ERR_IO,
                          "state store '%s': cannot open: %s", l->path, strerror(e));
    }
    if (fstat(l->fd, &st) != 0)
        return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': stat: %s", l->path,
                          strerror(errno));
    size = (uint64_t)st.st_size;
    if (size < COCO__FILE_HDR && !l->read_only) {
        /* new, or a crash while creating it: no commit can exist yet */
        unsigned char h[COCO__FILE_HDR], old[COCO__FILE_HDR];
        coco__file_header(h);
        if (size && (coco__pread_all(l->fd, old, (size_t)size, 0) != 0 ||
                     memcmp(old, h, (size_t)size) != 0))
            return coco__errf(err, cap, COCO_ERR_CORRUPT, "'%s' is not a cocoindex state store "
                              "(%llu bytes, bad header)", l->path, (unsigned long long)size);
        if (coco__pwrite_all(l->fd, h, sizeof h, 0) != 0 ||
            (l->sync == COCO_SYNC_FULL && coco__fdatasync(l->fd) != 0))
            return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': cannot write header: %s",
                              l->path, strerror(errno));
        if (l->sync == COCO_SYNC_FULL && coco__fsync_parent_dir(l->path) != 0)
            return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': fsync of its directory: "
                              "%s", l->path, strerror(errno));
        size = COCO__FILE_HDR;
        created = 1;
    }
    if (size < COCO__FILE_HDR)
        return coco__errf(err, cap, COCO_ERR_CORRUPT, "'%s' is not a cocoindex state store "
                          "(%llu bytes)", l->path, (unsigned long long)size);
    if (coco__log_remap(l, size) != 0)
        return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': mmap: %s", l->path,
                          strerror(errno));
    if ((rc = coco__header_check(l->map, size, l->path, err, cap)) != COCO_OK) return rc;
    if (!created && (rc = coco__log_replay(l, l->map, size, &tail_at, err, cap)) != COCO_OK)
        return rc;
    if (created) tail_at = size;
    l->end = created ? size : l->end;
    if (tail_at < size) {
        l->truncated = size - tail_at;
        coco__emit(&l->lg, COCO_LOG_WARN, COCO_OK, "state store: cutting a torn tail left by a "
                  "crash", __FILE__, __LINE__);
        if (!l->read_only &&
            (ftruncate(l->fd, (off_t)tail_at) != 0 ||
             (l->sync == COCO_SYNC_FULL && coco__fdatasync(l->fd) != 0)))
            return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': cannot cut the torn "
                              "tail at offset %llu: %s", l->path, (unsigned long long)tail_at,
                              strerror(errno));
    }
    if (!l->read_only) {
        char tmp[4096];
        if (coco__path_with(tmp, sizeof tmp, l->path, ".compact") == 0) unlink(tmp);
    }
    return COCO_OK;
}
#endif /* COCO__HAS_FS */

COCO__PRIVATE coco_result coco__log_open(const coco_store_desc* d, const coco_allocator* a,
                                         coco__log** out, char* err, size_t cap) {
    coco__log* l = (coco__log*)coco__alloc(a, sizeof *l);
    coco_result rc = COCO_OK;
    if (!l) return coco__errf(err, cap, COCO_ERR_NOMEM, "out of memory");
    memset(l, 0, sizeof *l);
    l->a = *a;
    l->lg = d->logger;
    l->fd = l->lock_fd = -1;
    l->read_only = d->read_only;
    l->sync = d->sync;
    l->compact_garbage = d->compact_garbage;
    l->compact_min = d->compact_min;
    coco__rw_init(&l->rw);
    coco__buf_init(&l->mem, &l->a);
    if (coco__map_init(&l->index, &l->a, 1024)) {
        coco__log_destroy(l);
        return coco__errf(err, cap, COCO_ERR_NOMEM, "out of memory");
    }
    if (d->path) {
#if COCO__HAS_FS
        l->path_len = strlen(d->path);
        l->path = (char*)coco__alloc(a, l->path_len + 16);
        if (!l->path) rc = coco__errf(err, cap, COCO_ERR_NOMEM, "out of memory");
        else {
            memcpy(l->path, d->path, l->path_len + 1);
            rc = coco__log_open_file(l, err, cap);
        }
#else
        rc = coco__errf(err, cap, COCO_ERR_UNSUPPORTED, "state store '%s': built with "
                        "COCO_NO_FILESYSTEM; only the in-memory store (path NULL) exists",
                        d->path);
#endif
    } else {
        unsigned char h[COCO__FILE_HDR];
        coco__file_header(h);
        if (coco__buf_put(&l->mem, h, sizeof h))
            rc = coco__errf(err, cap, COCO_ERR_NOMEM, "out of memory");
        l->end = COCO__FILE_HDR;
    }
    if (rc != COCO_OK) {
        coco__log_destroy(l);
        return rc;
    }
    *out = l;
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__log_get(void* impl, coco_bytes key, coco_arena* arena,
                                        coco_bytes* val, char* err, size_t cap) {
    coco__log* l = (coco__log*)impl;
    coco__keyref kr;
    coco__map_slot* s;
    coco_result rc = COCO_OK;
    kr.l = l; kr.key = (const unsigned char*)key.ptr; kr.klen = key.len;
    coco__rw_rdlock(&l->rw);
    s = coco__map_find(&l->index, coco__hash64(key.ptr, key.len), coco__log_key_eq, &kr);
    if (!s->val) rc = COCO_ERR_NOT_FOUND;
    else {
        const unsigned char* base = coco__log_base(l);
        coco__rec r;
        void* p;
        if (coco__rec_parse(base + s->val, base + l->end, &r) || !coco__rec_crc_ok(base + s->val, &r))
            rc = coco__errf(err, cap, COCO_ERR_CORRUPT, "state store '%s': record at offset %llu "
                            "fails its checksum", l->path ? l->path : "(memory)",
                            (unsigned long long)s->val);
        else if (!(p = coco_arena_alloc(arena, r.vlen))) rc = COCO_ERR_NOMEM;
        else {
            if (r.vlen) memcpy(p, r.val, r.vlen);
            val->ptr = p;
            val->len = r.vlen;
        }
    }
    coco__rw_unlock(&l->rw);
    return rc;
}

/* Writes `len` bytes at the end of the log and makes them durable.  On failure the log is cut
   back to where it was; if even that fails the store is marked failed. */
COCO__PRIVATE coco_result coco__log_append(coco__log* l, const unsigned char* p, size_t len,
                                           char* err, size_t cap) {
    if (!l->path) {
        coco_result rc = COCO_OK;
        coco__rw_wrlock(&l->rw);          /* the buffer may move */
        l->mem.len = (size_t)l->end;
        if (coco__buf_put(&l->mem, p, len)) rc = COCO_ERR_NOMEM;
        coco__rw_unlock(&l->rw);
        return rc == COCO_OK ? rc : coco__errf(err, cap, rc, "in-memory store: out of memory");
    }
#if COCO__HAS_FS
    if (coco__pwrite_all(l->fd, p, len, l->end) != 0 ||
        (l->sync == COCO_SYNC_FULL && coco__fdatasync(l->fd) != 0)) {
        int e = errno;
        if (ftruncate(l->fd, (off_t)l->end) != 0 || e == EIO) l->failed = 1;
        return coco__errf(err, cap, e == ENOSPC ? COCO_ERR_IO : COCO_ERR_IO,
                          "state store '%s': commit of %zu bytes failed: %s%s", l->path, len,
                          strerror(e), l->failed ? " (store closed for writing; reopen it)" : "");
    }
    if (l->end + len > l->map_len) {
        int ok;
        coco__rw_wrlock(&l->rw);
        ok = coco__log_remap(l, l->end + len) == 0;
        coco__rw_unlock(&l->rw);
        if (!ok) {
            l->failed = 1;
            return coco__errf(err, cap, COCO_ERR_IO, "state store '%s': mmap: %s", l->path,
                              strerror(errno));
        }
    }
    return COCO_OK;
#else
    return coco__errf(err, cap, COCO_ERR_UNSUPPORTED, "no file system");
#endif
}

COCO__PRIVATE coco_result coco__log_compact(void* impl, char* err, size_t cap);

COCO__PRIVATE int coco__log_should_compact(const coco__log* l) {
    uint64_t data = l->end - COCO__FILE_HDR;
    return l->end >= l->compact_min && (double)(data - l->live_bytes) > l->compact_garbage * (double)data;
}

/* `batch` is preceded by COCO__GROUP_HDR writable bytes (the txn buffer reserves them). */
COCO__PRIVATE coco_result coco__log_commit(void* impl, const void* batch, size_t len,
                                           uint32_t count, char* err, size_t cap) {
    coco__log* l = (coco__log*)impl;
    unsigned char* g = (unsigned char*)batch - COCO__GROUP_HDR;
    coco_result rc;
    uint64_t old_end = l->end, old_live = l->live_bytes;
    if (l->failed)
        return coco__errf(err, cap, COCO_ERR_STATE, "state store '%s': an earlier commit failed "
                          "and left the file in an unknown state; close and reopen it",
                          l->path ? l->path : "(memory)");
    coco__put_u32le(g, COCO__GROUP_MAGIC);
    coco__put_u32le(g + 4, count);
    coco__put_u64le(g + 8, len);
    coco__put_u64le(g + 16, l->seq + 1);
    coco__put_u32le(g + 24, 0);
    coco__put_u32le(g + 28, coco__crc32c(0, g, 28));
    if ((rc = coco__log_append(l, g, len + COCO__GROUP_HDR, err, cap)) != COCO_OK) return rc;
    coco__rw_wrlock(&l->rw);
    if (coco__log_apply(l, coco__log_base(l), old_end + COCO__GROUP_HDR, len,
                        old_end + COCO__GROUP_HDR + len) != 0) {
        /* out of memory mid-index: the commit is durable but the index is partial */
        l->live_bytes = old_live;
        l->failed = 1;
        coco__rw_unlock(&l->rw);
        return coco__errf(err, cap, COCO_ERR_NOMEM, "state store: out of memory updating the "
                          "index; the commit is stored, reopen the store");
    }
    l->end = old_end + COCO__GROUP_HDR + len;
    l->seq++;
    l->commits++;
    coco__rw_unlock(&l->rw);
    if (coco__log_should_compact(l) && coco__log_compact(l, err, cap) != COCO_OK)
        coco__emit(&l->lg, COCO_LOG_WARN, COCO_ERR_IO, err, __FILE__, __LINE__);
    return COCO_OK;
}

COCO__PRIVATE int coco__u64_cmp(void* ctx, uint64_t a, uint64_t b) {
    (void)ctx;
    return a < b ? -1 : a > b ? 1 : 0;
}

/* Writes the live records, oldest first, into `out` (a new log, header included) as groups of
   at most ~8 MiB, and builds the matching index in `nidx`. */
typedef struct coco__compact_out {
    coco__log* l;
    coco__buf  buf;        /* pending group (file mode) or the whole new log (memory mode) */
    uint64_t   written;    /* file mode: bytes already written */
    int        fd;
    size_t     group_start;
    uint32_t   group_count;
    uint64_t   seq;
} coco__compact_out;

COCO__PRIVATE int coco__compact_flush(coco__compact_out* o) {
    unsigned char* g;
    uint64_t len;
    if (!o->group_count) return 0;
    g = o->buf.ptr + o->group_start;
    len = o->buf.len - o->group_start - COCO__GROUP_HDR;
    coco__put_u32le(g, COCO__GROUP_MAGIC);
    coco__put_u32le(g + 4, o->group_count);
    coco__put_u64le(g + 8, len);
    coco__put_u64le(g + 16, ++o->seq);
    coco__put_u32le(g + 24, 0);
    coco__put_u32le(g + 28, coco__crc32c(0, g, 28));
    o->group_count = 0;
#if COCO__HAS_FS
    if (o->fd >= 0) {
        if (coco__pwrite_all(o->fd, o->buf.ptr, o->buf.len, o->written) != 0) return -1;
        o->written += o->buf.len;
        o->buf.len = 0;
    }
#endif
    return 0;
}

COCO__PRIVATE coco_result coco__log_compact(void* impl, char* err, size_t cap) {
    coco__log* l = (coco__log*)impl;
    const unsigned char* base = coco__log_base(l);
    coco__compact_out o;
    coco__map nidx;
    uint64_t* offs = NULL;
    size_t n = 0, i, nbytes = 0;
    coco_result rc = COCO_OK;
    char tmp[4096];
    int fd = -1;
    tmp[0] = 0;
    (void)tmp;
    (void)fd;
    if (l->read_only) return coco__errf(err, cap, COCO_ERR_READ_ONLY, "store opened read-only");
    if (l->failed) return coco__errf(err, cap, COCO_ERR_STATE, "store failed earlier; reopen it");
    memset(&o, 0, sizeof o);
    o.l = l; o.fd = -1; o.seq = l->seq;
    coco__buf_init(&o.buf, &l->a);
    if (coco__map_init(&nidx, &l->a, l->index.count)) return coco__errf(err, cap, COCO_ERR_NOMEM, "out of memory");
    /* live records in log order keep the compacted file in commit order */
    nbytes = (l->index.count ? l->index.count : 1) * sizeof *offs * 2;
    offs = (uint64_t*)coco__alloc(&l->a, nbytes);
    if (!offs) { rc = COCO_ERR_NOMEM; goto done; }
    for (i = 0; i <= l->index.mask; i++)
        if (l->index.slots[i].val) offs[n++] = l->index.slots[i].val;
    coco__msort(offs, offs + n, n, coco__u64_cmp, NULL);
#if COCO__HAS_FS
    if (l->path) {
        if (coco__path_with(tmp, sizeof tmp, l->path, ".compact")) { rc = COCO_ERR_INVALID_ARG; goto done; }
        fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = coco__errf(err, cap, COCO_ERR_IO, "compaction of '%s': cannot create '%s': %s",
                            l->path, tmp, strerror(errno));
            goto done;
        }
        o.fd = fd;
    }
#endif
    {
        unsigned char h[COCO__FILE_HDR];
        coco__file_header(h);
        if (coco__buf_put(&o.buf, h, sizeof h)) { rc = COCO_ERR_NOMEM; goto done; }
    }
    for (i = 0; i < n; i++) {
        coco__rec r;
        coco__map_slot* s;
        uint64_t at;
        if (coco__rec_parse(base + offs[i], base + l->end, &r)) { rc = COCO_ERR_CORRUPT; goto done; }
        if (!o.group_count) {
            o.group_start = o.buf.len;
            if (coco__buf_reserve(&o.buf, COCO__GROUP_HDR)) { rc = COCO_ERR_NOMEM; goto done; }
            o.buf.len += COCO__GROUP_HDR;
        }
        at = o.written + o.buf.len;
        if (coco__buf_put(&o.buf, base + offs[i], r.size)) { rc = COCO_ERR_NOMEM; goto done; }
        o.group_count++;
        /* the new index points into the new log; key equality is not needed (keys unique) */
        if (coco__map_reserve1(&nidx)) { rc = COCO_ERR_NOMEM; goto done; }
        {
            uint64_t h = coco__hash64(r.key, r.klen);
            size_t j = (size_t)h & nidx.mask;
            while (nidx.slots[j].val) j = (j + 1) & nidx.mask;
            s = &nidx.slots[j];
            s->hash = h;
            s->val = at;
            nidx.count++;
        }
        if (o.buf.len - o.group_start >= ((size_t)8 << 20) && coco__compact_flush(&o)) {
            rc = coco__errf(err, cap, COCO_ERR_IO, "compaction of '%s': write: %s",
                            l->path ? l->path : "(memory)", strerror(errno));
            goto done;
        }
    }
    if (coco__compact_flush(&o)) {
        rc = coco__errf(err, cap, COCO_ERR_IO, "compaction of '%s': write: %s",
                        l->path ? l->path : "(memory)", strerror(errno));
        goto done;
    }
    if (!l->path) {
        coco__rw_wrlock(&l->rw);
        coco__buf_free(&l->mem);
        l->mem = o.buf;
        coco__buf_init(&o.buf, &l->a);
        l->end = l->mem.len;
    }
#if COCO__HAS_FS
    else {
        if ((l->sync == COCO_SYNC_FULL && coco__fdatasync(fd) != 0) || rename(tmp, l->path) != 0) {
            rc = coco__errf(err, cap, COCO_ERR_IO, "compaction of '%s': %s", l->path,
                            strerror(errno));
            goto done;
        }
        if (l->sync == COCO_SYNC_FULL && coco__fsync_parent_dir(l->path) != 0)
            coco__emit(&l->lg, COCO_LOG_WARN, COCO_ERR_IO, "compaction: directory fsync failed",
                      __FILE__, __LINE__);
        coco__rw_wrlock(&l->rw);
        close(l->fd);
        l->fd = fd;
        fd = -1;
        if (coco__log_remap(l, o.written) != 0) l->failed = 1;
        l->end = o.written;
    }
#endif
    {
        coco__map t = l->index;
        l->index = nidx;
        nidx = t;
    }
    l->seq = o.seq;
    l->compactions++;
    coco__rw_unlock(&l->rw);
done:
    if (offs) coco__free(&l->a, offs, nbytes);
    coco__map_free(&nidx);
    coco__buf_free(&o.buf);
#if COCO__HAS_FS
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
#endif
    if (rc == COCO_ERR_NOMEM) coco__errf(err, cap, rc, "compaction: out of memory");
    return rc;
}

typedef struct coco__scan_ctx {
    const unsigned char* base;
    uint64_t             end;
} coco__scan_ctx;

COCO__PRIVATE int coco__scan_key_cmp(void* ctx, uint64_t a, uint64_t b) {
    const coco__scan_ctx* c = (const coco__scan_ctx*)ctx;
    coco__rec ra, rb;
    coco__rec_parse(c->base + a, c->base + c->end, &ra);
    coco__rec_parse(c->base + b, c->base + c->end, &rb);
    return coco__key_bytes_cmp((const char*)ra.key, ra.klen, (const char*)rb.key, rb.klen);
}

COCO__PRIVATE int coco__scan_match(const coco__rec* r, const coco_scan_desc* d) {
    if (!d) return 1;
    if (d->prefix.len && (r->klen < d->prefix.len || memcmp(r->key, d->prefix.ptr, d->prefix.len)))
        return 0;
    if (d->start.len && coco__key_bytes_cmp((const char*)r->key, r->klen,
                                            (const char*)d->start.ptr, d->start.len) < 0)
        return 0;
    if (d->end.len && coco__key_bytes_cmp((const char*)r->key, r->klen,
                                          (const char*)d->end.ptr, d->end.len) >= 0)
        return 0;
    return 1;
}

COCO__PRIVATE coco_result coco__log_scan(void* impl, const coco_scan_desc* desc, coco_scan_fn fn,
                                         void* user, char* err, size_t cap) {
    coco__log* l = (coco__log*)impl;
    const unsigned char* base;
    coco__scan_ctx sc;
    uint64_t* offs;
    size_t n = 0, i, bytes;
    coco_result rc = COCO_OK;
    coco__rw_rdlock(&l->rw);
    base = coco__log_base(l);
    bytes = (l->index.count + 1) * 2 * sizeof *offs;
    offs = (uint64_t*)coco__alloc(&l->a, bytes);
    if (!offs) {
        coco__rw_unlock(&l->rw);
        return coco__errf(err, cap, COCO_ERR_NOMEM, "scan: out of memory");
    }
    for (i = 0; i <= l->index.mask; i++) {
        coco__rec r;
        uint64_t off = l->index.slots[i].val;
        if (!off) continue;
        if (coco__rec_parse(base + off, base + l->end, &r) == 0 && coco__scan_match(&r, desc))
            offs[n++] = off;
    }
    sc.base = base;
    sc.end = l->end;
    coco__msort(offs, offs + n, n, coco__scan_key_cmp, &sc);
    for (i = 0; i < n; i++) {
        coco__rec r;
        coco_bytes k, v;
        coco__rec_parse(base + offs[i], base + l->end, &r);
        if (!coco__rec_crc_ok(base + offs[i], &r)) {
            rc = coco__errf(err, cap, COCO_ERR_CORRUPT, "state store '%s': record at offset %llu "
                            "fails its checksum", l->path ? l->path : "(memory)",
                            (unsigned long long)offs[i]);
            break;
        }
        k.ptr = r.key; k.len = r.klen;
        v.ptr = r.val; v.len = r.vlen;
        if (fn(user, k, v)) break;
    }
    coco__rw_unlock(&l->rw);
    coco__free(&l->a, offs, bytes);
    return rc;
}

COCO__PRIVATE void coco__log_stats(void* impl, coco_store_stats* out) {
    coco__log* l = (coco__log*)impl;
    coco__rw_rdlock(&l->rw);
    out->keys = l->index.count;
    out->live_bytes = l->live_bytes;
    out->file_bytes = l->end;
    out->commits = l->commits;
    out->compactions = l->compactions;
    out->truncated_bytes = l->truncated;
    coco__rw_unlock(&l->rw);
}

COCO__PRIVATE void coco__log_close(void* impl) { coco__log_destroy((coco__log*)impl); }

static const coco_store_backend coco__log_backend = {
    "log", coco__log_get, coco__log_commit, coco__log_scan, coco__log_compact, coco__log_stats,
    coco__log_close
};

/* ---- the generic front: coco_store and coco_txn --------------------------------------------- */
struct coco_txn {
    coco_store* st;
    coco__buf   buf;         /* COCO__GROUP_HDR bytes of room, then records */
    uint32_t    count;
    int         active;
};

struct coco_store {
    const coco_store_backend* be;
    void*           impl;
    coco_store_desc desc;
    coco_allocator  a;
    coco__mutex     wmutex;      /* one write transaction at a time */
    coco_txn        txn;
    char            err[COCO__ERRMSG_CAP];
};

static COCO__TLS char coco__open_err[COCO__ERRMSG_CAP];

COCO_API const char* coco_store_open_errmsg(void) { return coco__open_err; }
COCO_API const char* coco_store_errmsg(const coco_store* st) { return st ? st->err : ""; }

COCO__PRIVATE coco_store_desc coco__store_desc_defaults(const coco_store_desc* in) {
    coco_store_desc d = *in;
    d.sync = COCO__DEF(d.sync, COCO_SYNC_FULL);
    if (!(d.compact_garbage > 0.0)) d.compact_garbage = 0.5;
    d.compact_min = COCO__DEF(d.compact_min, (uint64_t)4 << 20);
    d.allocator = coco__allocator_resolve(&in->allocator);
    return d;
}

COCO__PRIVATE coco_result coco__store_fail(coco_store* st, coco_result rc, const char* file,
                                           int line) {
    if (rc != COCO_OK && rc != COCO_ERR_NOT_FOUND)
        coco__emit(&st->desc.logger, COCO_LOG_ERROR, rc, st->err, file, line);
    return rc;
}

COCO_API coco_result coco_store_open(const coco_store_desc* desc, coco_store** out) {
    coco_store_desc d;
    coco_store* st;
    coco_result rc;
    coco__open_err[0] = 0;
    if (!desc || !out) {
        coco__errf(coco__open_err, sizeof coco__open_err, COCO_ERR_INVALID_ARG,
                   "coco_store_open: desc and out must not be NULL");
        return COCO_ERR_INVALID_ARG;
    }
    d = coco__store_desc_defaults(desc);
    if (d.sync != COCO_SYNC_FULL && d.sync != COCO_SYNC_NONE) {
        coco__errf(coco__open_err, sizeof coco__open_err, COCO_ERR_INVALID_ARG,
                   "coco_store_open: unknown sync mode %d", (int)d.sync);
        return COCO_ERR_INVALID_ARG;
    }
    st = (coco_store*)coco__alloc(&d.allocator, sizeof *st);
    if (!st) return COCO_ERR_NOMEM;
    memset(st, 0, sizeof *st);
    st->desc = d;
    st->a = d.allocator;
    if (d.backend) {
        st->be = d.backend;
        st->impl = d.backend_impl;
    } else {
        coco__log* l = NULL;
        rc = coco__log_open(&d, &st->a, &l, coco__open_err, sizeof coco__open_err);
        if (rc != COCO_OK) {
            coco__emit(&d.logger, COCO_LOG_ERROR, rc, coco__open_err, __FILE__, __LINE__);
            coco__free(&st->a, st, sizeof *st);
            return rc;
        }
        st->be = &coco__log_backend;
        st->impl = l;
    }
    st->desc.path = NULL;   /* not owned; query_desc reports it as NULL after open */
    coco__mutex_init(&st->wmutex);
    coco__buf_init(&st->txn.buf, &st->a);
    st->txn.st = st;
    *out = st;
    return COCO_OK;
}

COCO_API void coco_store_close(coco_store* st) {
    if (!st) return;
    if (st->be && st->be->close) st->be->close(st->impl);
    coco__buf_free(&st->txn.buf);
    coco__mutex_free(&st->wmutex);
    coco__free(&st->a, st, sizeof *st);
}

COCO_API coco_store_desc coco_store_query_desc(const coco_store* st) { return st->desc; }

COCO_API coco_result coco_store_get(coco_store* st, const void* key, size_t klen,
                                    coco_arena* arena, coco_bytes* val) {
    coco_bytes k;
    coco_result rc;
    if (!st || (!key && klen) || !arena || !val) return COCO_ERR_INVALID_ARG;
    k.ptr = key; k.len = klen;
    rc = st->be->get(st->impl, k, arena, val, st->err, sizeof st->err);
    return coco__store_fail(st, rc, __FILE__, __LINE__);
}

COCO_API coco_result coco_store_scan(coco_store* st, const coco_scan_desc* desc, coco_scan_fn fn,
                                     void* user) {
    coco_result rc;
    if (!st || !fn) return COCO_ERR_INVALID_ARG;
    rc = st->be->scan(st->impl, desc, fn, user, st->err, sizeof st->err);
    return coco__store_fail(st, rc, __FILE__, __LINE__);
}

COCO_API coco_result coco_store_compact(coco_store* st) {
    coco_result rc;
    if (!st) return COCO_ERR_INVALID_ARG;
    if (!st->be->compact) return COCO_OK;
    coco__mutex_lock(&st->wmutex);
    rc = st->be->compact(st->impl, st->err, sizeof st->err);
    coco__mutex_unlock(&st->wmutex);
    return coco__store_fail(st, rc, __FILE__, __LINE__);
}

COCO_API void coco_store_stats_get(coco_store* st, coco_store_stats* out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (st && st->be->stats) st->be->stats(st->impl, out);
}

COCO_API coco_result coco_store_txn_begin(coco_store* st, coco_txn** out) {
    if (!st || !out) return COCO_ERR_INVALID_ARG;
    if (st->desc.read_only) {
        coco__errf(st->err, sizeof st->err, COCO_ERR_READ_ONLY, "state store is opened "
                   "read-only; writes are refused");
        return coco__store_fail(st, COCO_ERR_READ_ONLY, __FILE__, __LINE__);
    }
    coco__mutex_lock(&st->wmutex);
    st->txn.buf.len = 0;
    st->txn.count = 0;
    if (coco__buf_reserve(&st->txn.buf, COCO__GROUP_HDR + 4096)) {
        coco__mutex_unlock(&st->wmutex);
        return COCO_ERR_NOMEM;
    }
    st->txn.buf.len = COCO__GROUP_HDR;
    st->txn.active = 1;
    *out = &st->txn;
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__txn_add(coco_txn* t, coco_op op, const void* key, size_t klen,
                                        const void* val, size_t vlen) {
    unsigned char* r;
    size_t hdr, start;
    if (!t || !t->active || (!key && klen) || (!val && vlen)) return COCO_ERR_INVALID_ARG;
    if (klen > COCO_STORE_MAX_KEY || vlen > COCO_STORE_MAX_VALUE) {
        coco__errf(t->st->err, sizeof t->st->err, COCO_ERR_LIMIT, "record too large: key %zu "
                   "bytes (max %u), value %zu bytes (max %u)", klen, COCO_STORE_MAX_KEY, vlen,
                   COCO_STORE_MAX_VALUE);
        return COCO_ERR_LIMIT;
    }
    if (t->count == UINT32_MAX) return COCO_ERR_LIMIT;
    if (coco__buf_reserve(&t->buf, 4 + 1 + 10 + 10 + klen + vlen)) return COCO_ERR_NOMEM;
    start = t->buf.len;
    r = t->buf.ptr + start;
    r[4] = (unsigned char)op;
    hdr = 5 + coco__varint_put(r + 5, klen);
    if (op == COCO_OP_PUT) hdr += coco__varint_put(r + hdr, vlen);
    if (klen) memcpy(r + hdr, key, klen);
    if (vlen) memcpy(r + hdr + klen, val, vlen);
    coco__put_u32le(r, coco__crc32c(0, r + 4, hdr - 4 + klen + vlen));
    t->buf.len += hdr + klen + vlen;
    t->count++;
    return COCO_OK;
}

COCO_API coco_result coco_txn_put(coco_txn* t, const void* key, size_t klen, const void* val,
                                  size_t vlen) {
    return coco__txn_add(t, COCO_OP_PUT, key, klen, val, vlen);
}
COCO_API coco_result coco_txn_del(coco_txn* t, const void* key, size_t klen) {
    return coco__txn_add(t, COCO_OP_DEL, key, klen, NULL, 0);
}

COCO_API void coco_txn_abort(coco_txn* t) {
    if (!t || !t->active) return;
    t->active = 0;
    if (t->buf.cap > ((size_t)64 << 20)) coco__buf_free(&t->buf);   /* don't pin a huge batch */
    coco__mutex_unlock(&t->st->wmutex);
}

COCO_API coco_result coco_txn_commit(coco_txn* t) {
    coco_store* st;
    coco_result rc = COCO_OK;
    if (!t || !t->active) return COCO_ERR_INVALID_ARG;
    st = t->st;
    if (t->count)
        rc = st->be->commit(st->impl, t->buf.ptr + COCO__GROUP_HDR, t->buf.len - COCO__GROUP_HDR,
                            t->count, st->err, sizeof st->err);
    coco_txn_abort(t);
    return coco__store_fail(st, rc, __FILE__, __LINE__);
}

#endif /* COCOINDEX_IMPLEMENTATION */

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
