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
       >>api_config  >>api_types  >>api_fp  >>api_value  >>api_json  >>api_store  >>api_engine
       >>api_cli     >>api_ops
       >>impl_config >>impl_platform >>impl_util >>impl_log >>impl_fp >>impl_value >>impl_json
       >>impl_store  >>impl_engine   >>impl_cli  >>impl_ops

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
       Every allocation goes through the coco_allocator of the desc (zero = the default:
       malloc/free, except that blocks of 2 MiB and up are mmap'ed 2 MiB-aligned with
       MADV_HUGEPAGE where the platform has it, so a big tree's memory costs a few huge-page
       faults instead of thousands of 4 KiB ones; RSS may round up by up to 2 MiB a block).
       Values built by decoding live in a coco_arena and die with it; an arena's blocks
       double from 4 KiB up to 4 MiB.

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
    X(ERR_UNSUPPORTED, -14, "not supported in this build")                     \
    X(ERR_TIMEOUT,     -15, "timed out")

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

/* All zero = the default (malloc/realloc/free; big blocks mapped: see MEMORY above).
   `realloc` and `free` receive the old size. */
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
/* A fingerprint is the first 16 bytes of the BLAKE3 hash of some bytes. Fingerprints are
   compared with coco_fp_eq and printed with coco_fp_hex. coco_hasher is a streaming BLAKE3
   state (plain, keyed or derive-key mode) with extendable output; it is a plain struct, so it
   can live on the stack, be copied, and be finalized any number of times. Its fields are
   private. */
typedef struct coco_fp { uint8_t bytes[16]; } coco_fp;

typedef struct coco_hasher {
    uint32_t key[8];           /* key words: the IV, the key, or the derived context key */
    uint32_t cv[8];            /* chaining value of the chunk in progress */
    uint64_t chunk_counter;    /* index of the chunk in progress */
    uint8_t  buf[64];          /* not yet compressed bytes of the chunk in progress */
    uint8_t  buf_len;          /* bytes used in buf */
    uint8_t  blocks_done;      /* blocks of the chunk in progress already compressed */
    uint8_t  flags;            /* mode flags added to every compression */
    uint8_t  stack_len;        /* entries used in stack */
    uint8_t  stack[55][32];    /* chaining values of completed subtrees, largest first */
} coco_hasher;

/* coco_hasher_init
   Starts a plain (unkeyed) BLAKE3 hash in `h`.
   Thread-safety: a hasher belongs to one thread at a time. */
COCO_API void    coco_hasher_init(coco_hasher* h);

/* coco_hasher_init_keyed
   Starts a keyed BLAKE3 hash (a MAC) with the 32-byte `key`.
   Thread-safety: a hasher belongs to one thread at a time. */
COCO_API void    coco_hasher_init_keyed(coco_hasher* h, const uint8_t key[32]);

/* coco_hasher_init_derive_key
   Starts a BLAKE3 key derivation: `context` is a NUL-terminated, hardcoded, globally unique
   string; feed the key material with coco_hasher_update.
   Thread-safety: a hasher belongs to one thread at a time. */
COCO_API void    coco_hasher_init_derive_key(coco_hasher* h, const char* context);

/* coco_hasher_update
   Feeds `len` bytes. May be called any number of times; `data` may be NULL when `len` is 0.
   Thread-safety: a hasher belongs to one thread at a time. */
COCO_API void    coco_hasher_update(coco_hasher* h, const void* data, size_t len);

/* coco_hasher_finalize
   Writes the first `out_len` bytes (any length: extendable output) of the hash of what was
   fed so far. Does not change `h`: more input may follow.
   Thread-safety: any number of threads may finalize one hasher that nobody updates. */
COCO_API void    coco_hasher_finalize(const coco_hasher* h, uint8_t* out, size_t out_len);

/* coco_hasher_finalize_seek
   Like coco_hasher_finalize, but writes the `out_len` output bytes that start at byte
   `seek` of the extended output.
   Thread-safety: any number of threads may finalize one hasher that nobody updates. */
COCO_API void    coco_hasher_finalize_seek(const coco_hasher* h, uint64_t seek, uint8_t* out,
                                           size_t out_len);

/* coco_hasher_fp
   Returns the 16-byte fingerprint (first 16 output bytes) of what was fed so far.
   Thread-safety: any number of threads may read one hasher that nobody updates. */
COCO_API coco_fp coco_hasher_fp(const coco_hasher* h);

/* coco_fp_of
   Returns the fingerprint of `len` bytes at `data` (first 16 bytes of their BLAKE3 hash).
   Thread-safety: any thread. */
COCO_API coco_fp coco_fp_of(const void* data, size_t len);

/* coco_fp_eq
   Returns 1 if the fingerprints are equal, else 0.
   Thread-safety: any thread. */
COCO_API int     coco_fp_eq(coco_fp a, coco_fp b);

/* coco_fp_hex
   Writes `fp` as 32 lowercase hex digits and a NUL into `out`; returns `out`.
   Thread-safety: any thread. */
COCO_API char*   coco_fp_hex(coco_fp fp, char out[33]);

/* coco_fp_simd
   Returns the name of the BLAKE3 code path in use: "avx512", "avx2", "sse41" or "portable".
   The path is picked at run time from what the CPU and OS support.
   Thread-safety: any thread. */
COCO_API const char* coco_fp_simd(void);

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
    COCO_UUID,       /* 16 bytes in u.s (len 16)                                       */
    COCO__KIND_FORCE_U32 = 0x7FFFFFFF
} coco_kind;

typedef struct coco_value     coco_value;
typedef struct coco_map_entry coco_map_entry;

/* What a user object (a file, a target handle) supplies.  `memo_key` returns the value that
   identifies the object in fingerprints and storage (a file: base-dir key + relative path).
   `memo_state` (optional) gives a two-level state for memo validation: level 0 is cheap (a
   file: size + mtime), level 1 expensive (a file: content fingerprint).  A memo entry stays
   valid while level 0 is unchanged, or level 0 changed but level 1 did not (then the stored
   level 0 is refreshed without re-running anything).  Values may point into `arena`. */
typedef struct coco_object_vtable {
    const char* type_name;
    coco_result (*memo_key)(const void* obj, coco_arena* arena, coco_value* out);
    coco_result (*memo_state)(const void* obj, int level, coco_arena* arena, coco_value* out);
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
COCO_API coco_value coco_uuid(const uint8_t bytes[16]);

/* coco_value_copy
   Deep copy of `v` into `arena` (objects are copied by reference).
   Errors: COCO_ERR_NOMEM.  Thread-safety: the arena's thread. */
COCO_API coco_result coco_value_copy(coco_arena* arena, const coco_value* v, coco_value* out);

/* coco_value_encode
   The canonical encoding of `v` (MessagePack: null, bool, smallest int form, float64, str,
   bin, array, map with keys sorted by bytes; ext 1 = symbol, ext 2 = float32 vector
   little-endian, ext 3 = object [type, memo key], ext 4 = uuid).  Equal values give equal bytes.  The
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
   >>api_json -- JSON text to and from values (Public)
   For HTTP APIs and tools; the state store never uses JSON.  Depends on: >>api_value.
   ============================================================================================== */

/* coco_json_parse
   Parses `len` bytes holding one JSON text (RFC 8259; whitespace around it allowed) into
   `out`: null, true/false, numbers (COCO_INT when written without fraction or exponent and
   within int64, else COCO_FLOAT), strings (COCO_STR: escapes decoded, surrogate pairs joined),
   arrays (COCO_LIST) and objects (COCO_MAP, members in text order).  Strict: invalid UTF-8,
   lone surrogates, control characters in strings, leading zeros, trailing commas, comments,
   NaN/Infinity, a number out of double range, a duplicate member name and nesting deeper
   than 128 are refused.  Everything is copied into `arena`; scratch comes from the arena's
   allocator and is freed before returning.  Never reads outside [text, text+len).
   Thread-safety: any thread; the arena belongs to the calling thread.
   Errors: COCO_ERR_DECODE, with "line L, column C (byte B): what was wrong" in
   coco_arena_errmsg(arena); COCO_ERR_INVALID_ARG (NULL arena/out, NULL text with len > 0);
   COCO_ERR_NOMEM.  `out` is untouched on failure. */
COCO_API coco_result coco_json_parse(coco_arena* arena, const char* text, size_t len,
                                     coco_value* out);

/* coco_json_write
   Compact JSON text for `v`, NUL-terminated, in `arena` (out->len excludes the NUL).
   Integers as written; floats in the shortest form that reads back to the same double,
   always with a "." or an exponent (so they parse back as floats); strings with '"', '\\'
   and control characters escaped, other bytes as they are (invalid UTF-8 becomes U+FFFD);
   bytes as a base64 string; symbols as strings; float32 vectors as arrays of numbers; uuids
   as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; objects as their memo key; maps keep their
   order.  So coco_json_parse(coco_json_write(v)) equals v for values made of null, bools,
   ints, finite floats, valid UTF-8 strings, lists and maps.
   Thread-safety: any thread; the arena belongs to the calling thread.
   Errors: COCO_ERR_INVALID_ARG (NaN or infinity -- JSON has none --, nesting deeper than
   128, unknown kind; the detail in coco_arena_errmsg(arena)), COCO_ERR_NOMEM. */
COCO_API coco_result coco_json_write(coco_arena* arena, const coco_value* v, coco_bytes* out);

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
   offset) and nothing is changed.  With a valid index snapshot ('<path>.idx') the part of
   the log it covers is not re-read at open: damage there is reported (COCO_ERR_CORRUPT) when
   the record is read, since every read verifies its checksum.
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


/* ==============================================================================================
   >>api_engine -- environments, apps, components, functions, memo, target states (Public)
   ============================================================================================== */

typedef struct coco_env    coco_env;
typedef struct coco_app    coco_app;
typedef struct coco_ctx    coco_ctx;      /* the running component; belongs to its thread */
typedef struct coco_target coco_target;

typedef enum coco_logic_tracking {
    COCO_TRACK_DEFAULT = 0,   /* = COCO_TRACK_FULL                                           */
    COCO_TRACK_FULL,          /* own logic and that of every registered function it calls    */
    COCO_TRACK_SELF,          /* own logic only                                              */
    COCO_TRACK_NONE,          /* logic changes never invalidate (context changes still do)   */
    COCO__TRACK_FORCE_U32 = 0x7FFFFFFF
} coco_logic_tracking;

/* A function body.  `args` are the call's arguments; set *ret to the result (it may point
   into coco_ctx_arena(ctx) or at anything that lives until the component ends).  Return
   COCO_OK, or an error (coco_ctx_fail sets its message). */
typedef coco_result (*coco_fn_body)(coco_ctx* ctx, const coco_value* args, size_t nargs,
                                    coco_value* ret);

/* A registered function: usually a `static const coco_fn` next to its body.  Its logic
   fingerprint = name + version + deps (+ the source text, when given). */
typedef struct coco_fn {
    const char*         name;           /* stable identity (persisted); required             */
    uint32_t            version;        /* bump when the logic changes                       */
    const coco_value*   deps;           /* optional value that is part of the logic (prompt) */
    int                 memo;           /* 1 = reuse results for equal (function, arguments) */
    coco_logic_tracking logic_tracking;
    const char*         source;         /* optional: see COCO_FN_SOURCE                      */
    coco_fn_body        body;
} coco_fn;

/* COCO_FN_SOURCE(name, { ... })  defines `static coco_result name(ctx, args, nargs, ret)`
   with that body and `name##_source`, the body's text, to put in coco_fn.source: editing
   the body then changes the logic fingerprint.  Limits: the text is the body's tokens after
   comment removal (comments and spacing do not count); functions or macros it calls are not
   included; changes to them need a version bump. */
#define COCO_FN_SOURCE(name, ...)                                                         \
    static const char name##_source[] = #__VA_ARGS__;                                     \
    static coco_result name(coco_ctx* ctx, const coco_value* args, size_t nargs,          \
                            coco_value* ret) __VA_ARGS__

/* ---- target connectors ---------------------------------------------------------------------- */
typedef enum coco_action_kind {
    COCO_ACTION_NONE = 0,     /* the target already holds the desired state                 */
    COCO_ACTION_UPSERT,       /* create or replace                                          */
    COCO_ACTION_DELETE,       /* delete if it exists                                        */
    COCO__ACTION_FORCE_U32 = 0x7FFFFFFF
} coco_action_kind;

/* What a container's change means for the states inside it (set by reconcile). */
typedef enum coco_invalidation {
    COCO_INVALIDATE_NONE = 0,
    COCO_INVALIDATE_LOSSY,         /* altered in place; children must be written again       */
    COCO_INVALIDATE_DESTRUCTIVE,   /* dropped and recreated; children must be written again  */
    COCO__INVALIDATE_FORCE_U32 = 0x7FFFFFFF
} coco_invalidation;

typedef struct coco_action {
    coco_action_kind  kind;
    coco_invalidation child_invalidation;   /* containers only: set by reconcile            */
    coco_value        key;          /* the target state's key                               */
    coco_value        value;        /* desired value (COCO_NULL kind for a delete)          */
    coco_bytes        tracking;     /* new tracking record (reconcile sets it; empty = none)*/
    const coco_bytes* prev;         /* set by the engine for apply: the tracking records the */
    size_t            nprev;        /* target may hold (none: a state never written before) */
    int               prev_may_be_missing;
} coco_action;

/* What a target connector implements.  `reconcile` is pure (no I/O): given the key, the
   desired value (NULL = no longer declared), every tracking record the target may hold from
   earlier runs (more than one after a crash between a target write and its commit) and
   whether the state may be missing altogether, it fills `out` (kind, tracking record in
   `arena`).  NULL reconcile = the default: tracking = fingerprint of the value; no write when
   every previous record equals it and nothing may be missing.  `apply` performs a batch;
   it must be idempotent (upsert, delete-if-exists): after a crash it may see a batch again. */
typedef struct coco_target_vtable {
    coco_result (*reconcile)(void* user, const coco_value* key, const coco_value* desired,
                             const coco_bytes* prev, size_t nprev, int prev_may_be_missing,
                             coco_arena* arena, coco_action* out);
    coco_result (*apply)(void* user, const coco_action* actions, size_t n, char* err,
                         size_t cap);
} coco_target_vtable;

/* ---- environment ---------------------------------------------------------------------------- */
typedef struct coco_error_info {
    const char* app;
    const char* path;         /* component path, e.g. "/Symbol(process)/\"a.md\""          */
    const char* fn;           /* function name                                             */
    coco_result code;
    const char* msg;
} coco_error_info;
typedef void (*coco_error_fn)(void* user, const coco_error_info* err);

typedef struct coco_env_desc {
    const char*    db_path;          /* NULL = $COCOINDEX_DB; neither = COCO_ERR_INVALID_ARG */
    int            in_memory;        /* 1 = no file: an in-memory state store (tests)       */
    coco_sync      sync;             /* 0 = COCO_SYNC_FULL                                  */
    uint32_t       threads;          /* workers for background mounts; 0 = one per CPU,     */
                                     /* 1 = everything on the calling thread                */
    uint32_t       max_inflight;     /* queued background components; 0 = 1024 (beyond it   */
                                     /* the mounting thread runs the child itself)          */
    coco_error_fn  on_error;         /* called for every failed component; NULL = none      */
    void*          on_error_user;
    coco_allocator allocator;
    coco_logger    logger;
} coco_env_desc;

/* coco_env_open
   Opens the environment and its state store.  Errors: COCO_ERR_INVALID_ARG (no db path),
   any coco_store_open error; the detail from coco_store_open_errmsg().
   Thread-safety: any thread; one environment per state db. */
COCO_API coco_result coco_env_open(const coco_env_desc* desc, coco_env** out);
COCO_API void        coco_env_close(coco_env* env);
COCO_API const char* coco_env_errmsg(const coco_env* env);
COCO_API coco_store* coco_env_store(coco_env* env);
/* An arena that lives as long as the env, for connectors' long-lived data (names, roots).
   Thread-safety: use it during setup (before updates), from one thread. */
COCO_API coco_arena* coco_env_arena(coco_env* env);
/* The env's allocator (the desc's, or the default one with every hook set), for connectors'
   transient memory.  Valid until the env closes.  Thread-safety: any thread. */
COCO_API const coco_allocator* coco_env_allocator(coco_env* env);
/* coco_env_on_close
   Registers `fn(user)` to run when the env closes (after the workers stop, before anything
   of the env is freed; the newest first): connectors release what they hold there, so
   their users need no teardown call of their own.  Thread-safety: during setup. */
COCO_API coco_result coco_env_on_close(coco_env* env, void (*fn)(void* user), void* user);
/* Sets the env's message (coco_env_errmsg) and returns `code`: for connectors' constructors. */
COCO_API coco_result coco_env_fail(coco_env* env, coco_result code, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* coco_env_provide
   Makes `ptr` available to components as context under `key` (coco_use).  With
   `detect_change`, `identity` (required then) is fingerprinted and every memo entry whose
   call read the key is valid only while that fingerprint stays the same.  The key's name is
   what is persisted: the pointer may change between runs.  Call before coco_app_update. */
COCO_API coco_result coco_env_provide(coco_env* env, const char* key, void* ptr,
                                      const coco_value* identity, int detect_change);

/* coco_fn_register
   Registers a function so memo entries that depend on it can be validated before it is
   called in a run.  Functions are also registered on their first call; register up front
   to avoid re-running memoized callers whose callees have not run yet.  */
COCO_API coco_result coco_fn_register(coco_env* env, const coco_fn* fn);

/* A batch body: computes rets[i] for items[i] (each a call's single argument) at once, e.g.
   one HTTP request for many texts.  Results may point into `arena`.  Runs on the thread of
   one of the callers; must be reentrant with respect to other functions. */
typedef coco_result (*coco_batch_fn)(void* user, const coco_value* items, size_t n,
                                     coco_value* rets, coco_arena* arena, char* err,
                                     size_t cap);

/* coco_fn_batch
   From now on, coco_call(ctx, fn, &arg, 1, &ret) calls that miss the memo are coalesced:
   calls arriving from several components while a batch runs are collected and handed to
   `batch` together, up to `max_batch_size` (0 = 64) per call.  fn->body is not used (it may
   be NULL).  Call before the first update. */
COCO_API coco_result coco_fn_batch(coco_env* env, const coco_fn* fn, coco_batch_fn batch,
                                   void* user, uint32_t max_batch_size);
/* coco_fn_serial
   Runs the bodies (or batches) of `fn` one at a time, whatever the number of workers: for
   work that must not run concurrently (one GPU, a rate-limited service). */
COCO_API coco_result coco_fn_serial(coco_env* env, const coco_fn* fn);

/* A container target (a table, a directory) provides, for each of its states, a child target
   for the states inside it (rows, files).  `child_open` makes the child's connector from the
   container state's key; it is also called during drop and cleanup with only the key, so it
   must not need the app's code.  It runs under the env's lock, once per child: what it
   allocates may come from coco_env_arena() (freed with the env). */
typedef coco_result (*coco_child_open_fn)(void* user, const coco_value* key,
                                          const coco_target_vtable** child_vt,
                                          void** child_user);

/* coco_target_register_container
   Registers a container connector under `name`.  Declare containers with coco_mount_target.
   When its reconcile reports a LOSSY or DESTRUCTIVE child invalidation, every component that
   declared states in that container runs again (its memo no longer holds) and those states
   are written again as upserts: backfill without user action. */
COCO_API coco_result coco_target_register_container(coco_env* env, const char* name,
                                                    const coco_target_vtable* vt, void* user,
                                                    coco_child_open_fn child_open,
                                                    coco_target** out);

/* coco_target_user
   The `user` pointer a target was registered with (for a container's child: what child_open
   made), and its vtable in *vt (may be NULL): lets a connector recognise its own targets.
   Thread-safety: any thread. */
COCO_API void* coco_target_user(const coco_target* target, const coco_target_vtable** vt);

/* coco_target_register
   Registers a target connector under a stable `name` (persisted in tracking records, so
   drop and cleanup can find it without the app's code).  The handle lives with the env. */
COCO_API coco_result coco_target_register(coco_env* env, const char* name,
                                          const coco_target_vtable* vt, void* user,
                                          coco_target** out);

/* ---- apps ----------------------------------------------------------------------------------- */
typedef struct coco_app_desc {
    const char*    name;             /* stable; several apps may share one db               */
    const coco_fn* main;             /* the root component's function                       */
    coco_value     arg;              /* passed as its single argument                       */
} coco_app_desc;

typedef struct coco_update_desc {
    int full_reprocess;              /* ignore every memo; re-apply every target state      */
    int live;                        /* after the catch-up pass, keep following live sources */
                                     /* until coco_app_stop() (or *stop becomes non-zero)   */
    volatile int* stop;              /* optional flag polled every 50 ms (signal handlers)  */
    void (*on_ready)(void* user);    /* live: called once catch-up is done and every watcher */
    void* on_ready_user;             /* started (tests and tools wait for it)               */
} coco_update_desc;

typedef struct coco_fn_stats {
    const char* name;
    uint64_t    started;             /* bodies run                                          */
    uint64_t    finished;            /* bodies returned (started - finished = in flight)    */
    uint64_t    unchanged;           /* memo hits (body skipped)                            */
    uint64_t    added;               /* components run for the first time                   */
    uint64_t    reprocessed;         /* components run again                                */
    uint64_t    deleted;             /* components no longer mounted                        */
    uint64_t    errors;
} coco_fn_stats;

typedef struct coco_stats {
    const coco_fn_stats* fns;        /* valid until the next update or coco_app_destroy     */
    size_t               nfns;
    uint64_t             upserts, deletes;   /* target actions applied                      */
    uint64_t             commits;            /* state store commits                         */
    uint64_t             apply_errors;       /* failed target applies (see coco_app_update) */
    double               seconds;
} coco_stats;

COCO_API coco_result coco_app_create(coco_env* env, const coco_app_desc* desc, coco_app** out);
COCO_API void        coco_app_destroy(coco_app* app);
COCO_API const char* coco_app_errmsg(const coco_app* app);

/* coco_app_update
   One catch-up run: runs the root component, mounts what it mounts, applies the difference of
   the declared target states to the targets, deletes what is no longer declared.  Returns
   the root's result: a failure of a background mount is reported (on_error, stats) but does
   not fail the update.  `stats` (optional) receives the counters.
   A target that fails to apply (a write, a commit) is reported through on_error and the
   logger, once per component whose actions it held (or per removed target state, for a
   cleanup), and counted in stats->apply_errors; what the other targets and components did is
   kept, and the failed states stay pending, so the next update retries them.  It fails the
   update (COCO_ERR_CONNECTOR) when it hits the root component's own target states, or the
   child of a coco_use_mount (which then fails its caller).  So an update had errors when it
   returns an error, when stats->apply_errors is non-zero, or when some fns[i].errors is:
   coco_main then exits with 1.
   Thread-safety: one update per app at a time. */
COCO_API coco_result coco_app_update(coco_app* app, const coco_update_desc* desc,
                                     coco_stats* stats);

/* coco_app_stats_snapshot
   Copies up to `cap` per-function counters of the update running now (or of the last one)
   into `out` and returns how many functions there are.  Names stay valid while the app lives.
   Thread-safety: any thread, while an update runs (progress displays). */
COCO_API size_t coco_app_stats_snapshot(coco_app* app, coco_fn_stats* out, size_t cap);

/* coco_app_stop
   Asks a live coco_app_update to return: watchers are told to stop, pending events are
   processed, everything applied is committed.  Thread-safety: any thread. */
COCO_API void coco_app_stop(coco_app* app);

/* coco_app_drop
   Deletes every target state the app ever declared (through the connectors registered under
   the names in its tracking records) and then its state.  On a failure the state needed to
   retry is kept and the error returned. */
COCO_API coco_result coco_app_drop(coco_app* app);

/* ---- inside a component --------------------------------------------------------------------- */

/* coco_mount: runs `fn(args)` as the child component at `key` under the current component,
   in the background on a worker thread (the caller goes on; its own submit waits for all its
   children).  The arguments are copied; object values must live until the caller's component
   ends.  Its failure is reported and does not fail the caller.  coco_use_mount: the same, but the
   child's target states are applied before it returns the child's value in *ret (copied into
   the caller's arena), and a failure is returned.  Duplicate sibling keys are an error. */
COCO_API coco_result coco_mount(coco_ctx* ctx, coco_value key, const coco_fn* fn,
                                const coco_value* args, size_t nargs);
COCO_API coco_result coco_use_mount(coco_ctx* ctx, coco_value key, const coco_fn* fn,
                                    const coco_value* args, size_t nargs, coco_value* ret);
/* One child per item, at path  current / Symbol(fn->name) / keys[i], called as fn(items[i]). */
COCO_API coco_result coco_mount_each(coco_ctx* ctx, const coco_fn* fn, const coco_value* keys,
                                     const coco_value* items, size_t n);
/* coco_call: calls a registered function inside the current component (memoized when
   fn->memo).  coco_map_call: coco_call for each item (one argument each), results in order;
   for a batched function (coco_fn_batch) the items that miss the memo are sent together, in
   batches of up to its batch size (a document's chunks in one request), and each still gets
   its own memo entry. */
COCO_API coco_result coco_call(coco_ctx* ctx, const coco_fn* fn, const coco_value* args,
                               size_t nargs, coco_value* ret);
COCO_API coco_result coco_map_call(coco_ctx* ctx, const coco_fn* fn, const coco_value* items,
                                   size_t n, coco_value* rets);

/* ---- live sources --------------------------------------------------------------------------- */
typedef struct coco_live coco_live;

/* A watcher: runs on its own thread after the catch-up pass of a live update and reports
   changes with coco_live_update / coco_live_delete / coco_live_update_full until
   coco_live_stopping() says so; then it returns COCO_OK (or an error, which is reported). */
typedef coco_result (*coco_live_watch_fn)(void* user, coco_live* live);

/* coco_mount_live
   Mounts a live component at `key`: like coco_mount_each, its children are `each(items[i])`
   at  current / key / Symbol(each->name) / keys[i].  In a live update, `watch(user, live)`
   then runs on its own thread; each reported change re-runs (or deletes) only the child of
   that key.  Changes to one key are coalesced (the latest wins).  `user` must outlive the
   update. */
COCO_API coco_result coco_mount_live(coco_ctx* ctx, coco_value key, const coco_fn* each,
                                     const coco_value* keys, const coco_value* items, size_t n,
                                     coco_live_watch_fn watch, void* user);
/* coco_mount_live_desc
   coco_mount_live with more to say (zero-init the desc; `watch` is required):
   - user_free: the live source owns `user`: user_free(user) runs exactly once, after the
     watcher has returned and its last changes are applied, or at once when `user` is not
     needed: not a live update, the mount failed, or this path is already watched (a full
     pass of a live update mounts its live sources again; the first `user` stays).  So a
     connector may allocate what its watcher needs on every mount without piling it up.
   - partial: the items are only part of the source (a directory could not be read): the
     children of the live component that are not among them are kept as they are, not
     deleted, and the live component keeps no memo.
   - borrow: `keys` and `items` live as long as the calling component (e.g. in its
     coco_ctx_arena): they are used in place, not copied. */
typedef struct coco_live_desc {
    coco_live_watch_fn watch;
    void*              user;
    void             (*user_free)(void* user);
    int                partial;
    int                borrow;
} coco_live_desc;
COCO_API coco_result coco_mount_live_desc(coco_ctx* ctx, coco_value key, const coco_fn* each,
                                          const coco_value* keys, const coco_value* items,
                                          size_t n, const coco_live_desc* desc);
/* The item of `key` changed (or appeared): its child is re-run with `item`.  Copied.  With a
   resolver set (coco_live_set_resolver), `item` may be coco_null(): the item is then made by
   the resolver when the change is processed, from the latest state of the source. */
COCO_API coco_result coco_live_update(coco_live* live, coco_value key, coco_value item);
/* Makes the item of a key at processing time, in `arena` (valid while the child runs).
   COCO_ERR_NOT_FOUND means the item is gone: its child is deleted. */
typedef coco_result (*coco_live_resolve_fn)(void* user, const coco_value* key, coco_arena* arena,
                                            coco_value* item);
COCO_API void        coco_live_set_resolver(coco_live* live, coco_live_resolve_fn fn, void* user);
/* 1 when the component runs in a live update (live sources then get a watcher). */
COCO_API int         coco_ctx_live(coco_ctx* ctx);
/* The environment the component runs in. */
COCO_API coco_env*   coco_ctx_env(coco_ctx* ctx);
/* The item of `key` is gone: its child's target states are deleted. */
COCO_API coco_result coco_live_delete(coco_live* live, coco_value key);
/* Everything may have changed (e.g. events were lost): a full catch-up pass of the app. */
COCO_API coco_result coco_live_update_full(coco_live* live);
/* 1 once the update is stopping; watchers should return. */
COCO_API int         coco_live_stopping(coco_live* live);
/* Blocks up to `ms` milliseconds or until stopping; returns coco_live_stopping(). */
COCO_API int         coco_live_wait(coco_live* live, uint32_t ms);

/* ---- LiveMap: an in-memory keyed map between two stages -------------------------------------- */
typedef struct coco_livemap coco_livemap;

/* coco_livemap_create
   A map whose producer side is a target (declare entries into coco_livemap_target()) and
   whose consumer side is a live source (coco_mount_livemap).  Entries live in memory only:
   mount the producer with coco_use_mount before the consumer so the map is filled first.
   The map lives with the env (freed by coco_env_close). */
COCO_API coco_result   coco_livemap_create(coco_env* env, const char* name, coco_livemap** out);
COCO_API coco_target*  coco_livemap_target(coco_livemap* lm);
/* Mounts `each(value)` for every entry at  current / key / Symbol(each->name) / entry key;
   in a live update, entries the producer adds, changes or removes re-run or delete only
   their child.  Re-declaring an equal value changes nothing downstream. */
COCO_API coco_result   coco_mount_livemap(coco_ctx* ctx, coco_value key, coco_livemap* lm,
                                          const coco_fn* each);

/* coco_mount_refresh
   Mounts `fn(args)` at `key` like coco_use_mount (applied before it returns); in a live
   update the child is re-run every `interval_ms` (what it no longer declares is deleted).
   In a catch-up update it runs once. */
COCO_API coco_result coco_mount_refresh(coco_ctx* ctx, coco_value key, const coco_fn* fn,
                                        const coco_value* args, size_t nargs,
                                        uint32_t interval_ms);

/* coco_mount_target
   Declares the container state `key` = `spec` (e.g. a table and its schema) in its own small
   component at  current / Symbol("coco.target") / (container name, key), applies it before
   returning (a container is in place before anything is written into it), and returns the
   child target for the states inside it.  The child target lives with the env. */
COCO_API coco_result coco_mount_target(coco_ctx* ctx, coco_target* container, coco_value key,
                                       coco_value spec, coco_target** child);

/* coco_declare: declares that `target` should hold `value` under `key` for this component. */
COCO_API coco_result coco_declare(coco_ctx* ctx, coco_target* target, coco_value key,
                                  coco_value value);

/* coco_use: the context value under `key` (records the dependency), or NULL after setting
   the component's error ("context key 'x' was not provided"). */
COCO_API void*       coco_use(coco_ctx* ctx, const char* key);
COCO_API coco_arena* coco_ctx_arena(coco_ctx* ctx);
/* Readable path of the current component ("/" for the root). */
COCO_API const char* coco_ctx_path(coco_ctx* ctx);
/* coco_ctx_on_error
   Installs an error handler for this component's subtree: a failure below is given to the
   nearest handler first; a handler returning non-zero has dealt with it (the env's on_error
   is not called), zero passes it on to the next one up and finally to the env's. */
typedef int (*coco_scoped_error_fn)(void* user, const coco_error_info* err);
COCO_API void coco_ctx_on_error(coco_ctx* ctx, coco_scoped_error_fn fn, void* user);

/* Sets the message of the component's failure and returns `code`. */
COCO_API coco_result coco_ctx_fail(coco_ctx* ctx, coco_result code, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* coco_ctx_item_gone
   Says that the source item this component works on no longer exists (a file deleted after
   the walk listed it or after its live event) and returns COCO_ERR_NOT_FOUND for the body to
   return.  A component that then fails is not a failure: it ends with no target states (its
   outputs are deleted), no children and no memo (so it runs again next time), and nothing is
   reported but a debug line with the message.  Source connectors call it from their readers
   (coco_localfs_file_read* when the file is gone), so a source that changes during an update
   never fails it.  A body that goes on after it (returns OK) is judged as usual. */
COCO_API coco_result coco_ctx_item_gone(coco_ctx* ctx, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Stable ids, starting at 1 and never reused within an app.  coco_generate_id: the same dep
   gives the same id across runs.  coco_id_next: the n-th call with a dep in a component run
   gives the n-th id of that dep (distinct ids for repeated deps, same sequence next run).
   The uuid forms give random v4 uuids with the same stability.  Ids a component no longer
   asks for are released with its next commit. */
COCO_API coco_result coco_generate_id(coco_ctx* ctx, coco_value dep, int64_t* out);
COCO_API coco_result coco_id_next(coco_ctx* ctx, coco_value dep, int64_t* out);
COCO_API coco_result coco_generate_uuid(coco_ctx* ctx, coco_value dep, uint8_t out[16]);
COCO_API coco_result coco_uuid_next(coco_ctx* ctx, coco_value dep, uint8_t out[16]);


/* ==============================================================================================
   >>api_cli -- the standard command line of every app (Public)
   ============================================================================================== */

/* An app option such as  --src DIR : the value is stored into *value (which holds the
   default before parsing).  Options may stand before or after the verb. */
typedef struct coco_cli_option {
    const char*  name;            /* "--src"                                                */
    const char*  metavar;         /* "DIR" (NULL: a flag; *value becomes "1")               */
    const char*  help;
    const char** value;
} coco_cli_option;

typedef struct coco_main_desc {
    const char*            name;       /* app name (also the state's namespace)             */
    const char*            about;      /* one line for --help                                */
    const coco_fn*         main;
    coco_value             arg;
    const coco_cli_option* options;
    size_t                 noptions;
    /* called with the env open and the options parsed, before any verb runs: register
       targets and functions, provide context.  Return non-OK to stop (exit code 1). */
    coco_result (*setup)(void* user, coco_env* env);
    void*                  user;
    uint32_t               threads;    /* as coco_env_desc.threads                           */
} coco_main_desc;

/* coco_main
   The standard CLI:  APP [--db PATH] VERB [options]
     update [--live] [--full-reprocess] [--quiet] [--progress | --no-progress]
                                                    catch up (and follow live sources);
                                                    per-function counters on stderr while it
                                                    runs: redrawn in place every 200 ms on a
                                                    terminal (the default there), plain lines
                                                    every $COCO_PROGRESS_MS (5000) ms with
                                                    --progress otherwise
     drop [--yes]                                   delete every target state, then the state
     show                                           component tree with target states
     stats                                          counts of what the state holds
   --db PATH, else $COCOINDEX_DB, else ./cocoindex.db.  --help anywhere.  Exit codes: 0 ok,
   1 failure (message on stderr; for update also a component that failed or a target that
   failed to apply, with --quiet too: the rest is kept and the summary line says "(with
   errors, see above)"), 2 bad usage.  In live mode SIGINT/SIGTERM stop cleanly. */
COCO_API int coco_main(int argc, char** argv, const coco_main_desc* desc);


/* ==============================================================================================
   >>api_ops -- text splitter, hashing embedder, vector distances (Public)
   Pure functions: no state, no threads, no I/O.  Depends on: >>api_value (coco_arena).
   ============================================================================================== */

/* Which separators coco_split_text tries, strongest first (each line is one level):
     TEXT      blank lines | newlines | sentence ends ". " "! " "? " (and CJK) | "; " ", " | " "
     MARKDOWN  "# " .. "###### " headings (one level each) | fenced code blocks | blank lines |
               newlines | sentence ends | "; " ", " | " "     (a "# " inside ``` is no heading)
     C         "}" or "};" alone in column 0 (end of a top-level definition) | definitions
               starting in column 0 (struct, typedef, static, enum, void, int, class,
               namespace, template, ...) | preprocessor lines | an indented "}" line |
               blank lines | newlines | " "                          (also C++)
     PYTHON    class / def / async def in column 0 | indented def | blank lines | newlines | " "
     JS        "}" "};" "});" in column 0 | function / class / export / const / let / var /
               interface / type / import in column 0 | an indented "}" line | blank lines |
               newlines | " "                                         (also TypeScript)
     RUST      "}" in column 0 | fn / impl / struct / enum / trait / mod / const / static /
               type / use (and their pub forms) in column 0 | an indented "}" line |
               indented fn | blank lines | newlines | " "
     GO        "}" or ")" in column 0 | func / type / var / const / import in column 0 |
               an indented "}" line | blank lines | newlines | " "
     JAVA      "}" in column 0 | public / class / interface / enum / import ... in column 0 |
               an indented "}" line | indented public / private / protected / static members |
               blank lines | newlines | " "                            (also C#, Kotlin)
   A definition keeps the lines right above it that are comments (line or block), decorators
   or annotations ("@"), attributes ("#[" in Rust, "[" in C#) or templates (C++). */
typedef enum coco_lang {
    COCO_LANG_DEFAULT = 0,        /* = COCO_LANG_TEXT                                        */
    COCO_LANG_TEXT,
    COCO_LANG_MARKDOWN,
    COCO_LANG_C,                  /* C and C++                                               */
    COCO_LANG_PYTHON,
    COCO_LANG_JS,                 /* JavaScript and TypeScript                               */
    COCO_LANG_RUST,
    COCO_LANG_GO,
    COCO_LANG_JAVA,               /* Java, C#, Kotlin                                        */
    COCO__LANG_FORCE_U32 = 0x7FFFFFFF
} coco_lang;

typedef struct coco_split_desc {
    size_t             chunk_size;     /* most bytes in a chunk; 0 = 1000                       */
    size_t             chunk_overlap;  /* most bytes of the previous chunk's end that a chunk
                                          repeats; 0 = no overlap; must be < chunk_size         */
    size_t             min_chunk_size; /* a boundary giving a chunk with less new text is passed
                                          over for a weaker one that gives more; 0 =
                                          (chunk_size - chunk_overlap) / 4; <= chunk_size      */
    coco_lang          language;       /* 0 = COCO_LANG_TEXT; ignored when separators is set    */
    const char* const* separators;     /* custom separators, strongest first (one level each);
                                          NULL = those of `language`                            */
    size_t             nseparators;    /* 1..64 when separators is set                          */
} coco_split_desc;

/* A position in a text.  Lines end at "\n" (so "\r\n" counts once; a lone "\r" is not a line
   end).  Columns count code points from 1.  A malformed UTF-8 byte counts as one code point. */
typedef struct coco_text_pos {
    size_t offset;                     /* bytes from the start of the text                      */
    size_t char_offset;                /* code points from the start of the text                */
    size_t line;                       /* 1-based                                               */
    size_t column;                     /* 1-based, in code points                               */
} coco_text_pos;

typedef struct coco_chunk {
    const char*   text;                /* points into the input text (not NUL-terminated)       */
    size_t        len;                 /* bytes; = end.offset - start.offset                    */
    coco_text_pos start;               /* position of the first byte                            */
    coco_text_pos end;                 /* position just after the last byte (exclusive)         */
} coco_chunk;

/* coco_split_text
   Splits `len` bytes of `text` (UTF-8; "\r\n" or "\n" line ends) into chunks of at most
   `chunk_size` bytes, cut at the strongest separators possible (levels: see coco_lang).  A
   chunk takes as many whole units (sections, definitions, paragraphs, lines, sentences,
   words) of the strongest level as fit, choosing the strongest level that gives at least
   min_chunk_size bytes of new text (none does: the one that gives the most); a chunk that
   starts inside a unit of some level ends at that unit's end when it fits.  A word too long
   for a chunk is cut at the last code point boundary that fits, never inside a UTF-8
   sequence.  So every chunk is <= chunk_size bytes, except when chunk_size is smaller than
   one code point (1 to 3 bytes): such a chunk holds that one code point.
   Chunks are trimmed of ASCII whitespace (" \t\r\n\f\v"), whitespace-only stretches give no
   chunk, and they come in text order: starts and ends strictly increase.  Without overlap
   chunks do not overlap and only whitespace lies between them.  With overlap, the new text of
   each chunk after the first is chosen as above for chunk_size - chunk_overlap bytes (for
   chunk_size when only a cut inside a word would fit), and the chunk then starts earlier: at
   the earliest separator boundary within the last chunk_overlap bytes of the previous chunk
   that keeps it within chunk_size (none: no overlap for this chunk).
   The result depends only on the text and the desc (deterministic).
   desc NULL = all defaults.  On success sets *out to an array of *n chunks allocated in
   `arena` (*out NULL when *n is 0: empty or all-whitespace text); on failure leaves them
   untouched.  Scratch memory (about len bytes) comes from the arena's allocator and is freed
   before returning.
   Thread-safety: any thread; the arena belongs to the calling thread.
   Errors: COCO_ERR_INVALID_ARG (NULL arena/out/n, NULL text with len > 0, chunk_overlap >=
   chunk_size, min_chunk_size > chunk_size, bad language, bad separators; the detail is in
   coco_arena_errmsg(arena)), COCO_ERR_NOMEM. */
COCO_API coco_result coco_split_text(coco_arena* arena, const char* text, size_t len,
                                     const coco_split_desc* desc, coco_chunk** out, size_t* n);

/* coco_lang_from_name
   The language for a name or a file name, case-insensitive: "markdown", "md", "c", "cpp",
   "h", "python", "py", "javascript", "js", "typescript", "ts", "tsx", "rust", "rs", "go",
   "java", "cs", "kt", "text", "txt", or a path whose extension is one of them
   ("docs/intro.md").  COCO_LANG_TEXT for NULL or anything else.
   Thread-safety: any thread. */
COCO_API coco_lang coco_lang_from_name(const char* name);

/* Features of the hashing embedder. */
#define COCO_EMBED_WORDS    1u   /* each word                                                */
#define COCO_EMBED_BIGRAMS  2u   /* each pair of adjacent words (phrases)                    */
#define COCO_EMBED_TRIGRAMS 4u   /* character 3-grams of each word (typos, inflections)      */

/* Bumped whenever coco_hash_embed's output for some input changes: put it in the deps of a
   memoized function that stores these vectors, so a new algorithm re-embeds everything. */
#define COCO_HASH_EMBED_VERSION 1

typedef struct coco_hash_embed_desc {
    uint32_t features;                 /* OR of COCO_EMBED_*; 0 = all three                     */
    uint32_t seed;                     /* other seeds give unrelated vector spaces              */
} coco_hash_embed_desc;

/* coco_hash_embed
   A baseline text embedding without a model (the "hashing trick"): a vector of `dim` floats
   for search where no embedding model is at hand.  It measures shared words and word parts,
   not meaning: "car" and "automobile" are unrelated to it.  Words are maximal runs of letters
   and digits (ASCII, and any non-ASCII code point except Unicode spaces and punctuation);
   ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters are lower-cased.  Each word
   (weight 16), each pair of adjacent words (8) and each character 3-gram of a word with "<"
   ">" end marks (16/sqrt(count) each, rounded) is hashed (64-bit FNV-1a and a mixer) to a
   bucket and a sign; the sum is L2-normalised.  Text without words gives the zero vector
   (never NaN; with a handful of dimensions, features can also cancel out to it).
   Bit-identical on every platform where floats are evaluated in their own precision (not
   x87).  Use 256..4096 dimensions; compare with coco_dot or coco_cosine.
   Thread-safety: any thread.
   Errors: COCO_ERR_INVALID_ARG (NULL out, dim 0, NULL text with len > 0, unknown feature
   bits); `out` is untouched then. */
COCO_API coco_result coco_hash_embed(const char* text, size_t len, float* out, size_t dim);

/* coco_hash_embed_ex
   coco_hash_embed with a choice of features and seed (desc NULL = coco_hash_embed).
   Thread-safety: any thread.  Errors: as coco_hash_embed. */
COCO_API coco_result coco_hash_embed_ex(const char* text, size_t len,
                                        const coco_hash_embed_desc* desc, float* out,
                                        size_t dim);

/* coco_dot
   Dot product of two vectors of `dim` floats (summed in double; 0 for NULL).  Equals the
   cosine for L2-normalised vectors.
   Thread-safety: any thread. */
COCO_API float coco_dot(const float* a, const float* b, size_t dim);

/* coco_cosine
   Cosine similarity in [-1, 1]; 0 when either vector is all zero or NULL (never NaN).
   Thread-safety: any thread. */
COCO_API float coco_cosine(const float* a, const float* b, size_t dim);

/* coco_l2
   Euclidean distance sqrt(sum((a[i] - b[i])^2)), summed in double; 0 for NULL.
   Thread-safety: any thread. */
COCO_API float coco_l2(const float* a, const float* b, size_t dim);

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
#include <float.h>
#include <limits.h>
#include <locale.h>
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
typedef struct coco__cond { pthread_cond_t c; } coco__cond;
COCO__PRIVATE void coco__mutex_init_recursive(coco__mutex* m) {
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m->m, &at);
    pthread_mutexattr_destroy(&at);
}
COCO__PRIVATE void coco__cond_init(coco__cond* c)      { pthread_cond_init(&c->c, NULL); }
COCO__PRIVATE void coco__cond_free(coco__cond* c)      { pthread_cond_destroy(&c->c); }
COCO__PRIVATE void coco__cond_wait(coco__cond* c, coco__mutex* m) { pthread_cond_wait(&c->c, &m->m); }
COCO__PRIVATE void coco__cond_broadcast(coco__cond* c) { pthread_cond_broadcast(&c->c); }
/* waits at most `ms` milliseconds (wall clock deadline) */
COCO__PRIVATE void coco__cond_wait_ms(coco__cond* c, coco__mutex* m, uint32_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(&c->c, &m->m, &ts);
}
typedef pthread_t coco__thread;
COCO__PRIVATE int coco__thread_start(coco__thread* t, void* (*fn)(void*), void* arg) {
    return pthread_create(t, NULL, fn, arg);
}
COCO__PRIVATE void coco__thread_join(coco__thread t) { pthread_join(t, NULL); }
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
typedef struct coco__cond { int unused; } coco__cond;
typedef int coco__thread;
COCO__PRIVATE void coco__thread_join(coco__thread t) { (void)t; }
COCO__PRIVATE void coco__mutex_init_recursive(coco__mutex* m) { (void)m; }
COCO__PRIVATE void coco__cond_init(coco__cond* c)      { (void)c; }
COCO__PRIVATE void coco__cond_free(coco__cond* c)      { (void)c; }
COCO__PRIVATE void coco__cond_wait(coco__cond* c, coco__mutex* m) { (void)c; (void)m; }
COCO__PRIVATE void coco__cond_broadcast(coco__cond* c) { (void)c; }
COCO__PRIVATE void coco__cond_wait_ms(coco__cond* c, coco__mutex* m, uint32_t ms) {
    (void)c; (void)m;
    {
        struct timespec ts;   /* no threads: nobody can signal; just let time pass */
        ts.tv_sec = (time_t)(ms / 1000u);
        ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
        nanosleep(&ts, NULL);
    }
}
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

/* The default allocator: malloc, except for blocks of COCO__BIG_BLOCK and up (arena blocks
   and the arrays of a big tree), which are mapped 2 MiB-aligned and advised as transparent
   huge pages.  A no-op update over 100k files touches ~40 MB, and each fresh 4 KiB page costs
   a fault (about 10 us in a VM): those faults were a third of its time.  The size passed to
   free and realloc (the old size, which every caller gives) says which kind a block is. */
#if defined(__SANITIZE_ADDRESS__)
#  define COCO__SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#    define COCO__SANITIZED 1
#  endif
#endif
/* (not under a sanitizer: mapped blocks would hide their overflows and leaks from it) */
#if COCO__HAS_FS && defined(MADV_HUGEPAGE) && defined(MAP_ANONYMOUS) && !defined(COCO__SANITIZED)
#  define COCO__BIG_BLOCK ((size_t)2 << 20)
COCO__PRIVATE size_t coco__big_len(size_t n) {
    return (n + COCO__BIG_BLOCK - 1) & ~(COCO__BIG_BLOCK - 1);
}
COCO__PRIVATE void* coco__big_map(size_t n) {
    size_t len = coco__big_len(n), head;
    unsigned char *p, *q;
    if (len < n || len + COCO__BIG_BLOCK < len) return NULL;
    p = (unsigned char*)mmap(NULL, len + COCO__BIG_BLOCK, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == (unsigned char*)MAP_FAILED) return NULL;
    /* trim to a 2 MiB-aligned range: huge pages need the alignment */
    head = (COCO__BIG_BLOCK - ((uintptr_t)p & (COCO__BIG_BLOCK - 1))) & (COCO__BIG_BLOCK - 1);
    q = p + head;
    if (head) munmap(p, head);
    munmap(q + len, COCO__BIG_BLOCK - head);
    (void)madvise(q, len, MADV_HUGEPAGE);          /* advice: refused is fine */
    return q;
}
COCO__PRIVATE void* coco__default_alloc(void* u, size_t n) {
    (void)u;
    return n >= COCO__BIG_BLOCK ? coco__big_map(n) : malloc(n);
}
COCO__PRIVATE void coco__default_free(void* u, void* p, size_t n) {
    (void)u;
    if (n >= COCO__BIG_BLOCK) munmap(p, coco__big_len(n));
    else free(p);
}
COCO__PRIVATE void* coco__default_realloc(void* u, void* p, size_t old, size_t n) {
    void* q;
    if (old < COCO__BIG_BLOCK && n < COCO__BIG_BLOCK) return realloc(p, n);
    if (old >= COCO__BIG_BLOCK && n >= COCO__BIG_BLOCK) {
        size_t ol = coco__big_len(old), nl = coco__big_len(n);
        if (nl < n) return NULL;
        if (nl <= ol) {
            if (nl < ol) munmap((unsigned char*)p + nl, ol - nl);
            return p;
        }
#  if defined(MREMAP_MAYMOVE) && defined(MREMAP_FIXED)
        /* grown in place where the range after it is free; else its pages move (with their
           tables: nothing is copied) to the head of a fresh aligned block */
        q = mremap(p, ol, nl, 0);
        if (q != MAP_FAILED) {
            (void)madvise(q, nl, MADV_HUGEPAGE);
            return q;
        }
        if (!(q = coco__big_map(n))) return NULL;
        if (mremap(p, ol, ol, MREMAP_MAYMOVE | MREMAP_FIXED, q) != MAP_FAILED) return q;
        memcpy(q, p, old);
        munmap(p, ol);
        return q;
#  endif
    }
    if (!(q = coco__default_alloc(u, n))) return NULL;
    memcpy(q, p, COCO__MIN(old, n));
    coco__default_free(u, p, old);
    return q;
}
#else
COCO__PRIVATE void* coco__default_alloc(void* u, size_t n) { (void)u; return malloc(n); }
COCO__PRIVATE void* coco__default_realloc(void* u, void* p, size_t old, size_t n) {
    (void)u; (void)old; return realloc(p, n);
}
COCO__PRIVATE void coco__default_free(void* u, void* p, size_t n) { (void)u; (void)n; free(p); }
#endif

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

/* snprintf for messages: truncation is fine, and going through vsnprintf keeps compilers'
   truncation warnings out of users' builds. */
COCO__PRINTF(3, 4)
COCO__PRIVATE void coco__fmt(char* dst, size_t cap, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    coco__vfmt(dst, cap, fmt, ap);
    va_end(ap);
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
    int                   fixed;   /* ptr is caller memory (stack): moved to the heap on growth */
} coco__buf;

COCO__PRIVATE void coco__buf_init(coco__buf* b, const coco_allocator* a) {
    b->ptr = NULL; b->len = b->cap = 0; b->a = a; b->fixed = 0;
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
    if (b->fixed) {
        if (!(p = coco__alloc(b->a, cap))) return -1;
        memcpy(p, b->ptr, b->len);
        b->fixed = 0;
    } else if (!(p = coco__realloc(b->a, b->ptr, b->cap, cap))) {
        return -1;
    }
    b->ptr = (unsigned char*)p;
    b->cap = cap;
    return 0;
}
COCO__PRIVATE int coco__buf_put(coco__buf* b, const void* p, size_t n) {
    if (COCO__LIKELY(b->cap - b->len >= n && b->ptr)) {   /* the common case: room already */
        memcpy(b->ptr + b->len, p, n);
        b->len += n;
        return 0;
    }
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
/* An empty map that allocates on its first insertion (most component maps stay empty). */
COCO__PRIVATE void coco__map_init_lazy(coco__map* m, const coco_allocator* a) {
    m->a = a;
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

/* Slot holding (hash, val with eq(ctx,val)), or the empty slot where it would go.  On a lazy
   map that has no slots yet it returns a shared empty slot: only reserve1 + find may insert. */
COCO__PRIVATE coco__map_slot* coco__map_find(coco__map* m, uint64_t hash, coco__map_eq_fn eq,
                                             void* ctx) {
    static coco__map_slot empty;   /* stays zero: callers insert only after reserve1 */
    size_t i = (size_t)hash & m->mask;
    if (!m->slots) return &empty;
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
    if (!m->slots) return coco__map_init(m, m->a, 8);
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
/* ==============================================================================================
   >>impl_fp -- BLAKE3 and 16-byte fingerprints (Private)
   Owns: the compression function, SIMD paths, dispatch.  Depends on: nothing.
   ============================================================================================== */
/* BLAKE3 in brief: the input is cut into 1 KiB chunks of 64-byte blocks; each chunk is hashed
   block by block into a chaining value (CV); CVs are merged pairwise into a binary tree whose
   left subtrees are complete (a power of two chunks); the root node is compressed once more
   per 64 output bytes with the ROOT flag. Speed comes from hashing many chunks (and many
   parent nodes) side by side, one SIMD lane per input: hash_many over 4, 8 or 16 inputs. The
   streaming hasher feeds big updates to that as whole subtrees and keeps a stack of the CVs
   of completed subtrees, merged lazily so the root is never compressed without ROOT. */

#define COCO__B3_BLOCK_LEN   64
#define COCO__B3_CHUNK_LEN   1024
#define COCO__B3_MAX_DEGREE  16          /* widest hash_many (AVX-512) */
#define COCO__B3_CHUNK_START 1u
#define COCO__B3_CHUNK_END   2u
#define COCO__B3_PARENT      4u
#define COCO__B3_ROOT        8u
#define COCO__B3_KEYED_HASH  16u
#define COCO__B3_DERIVE_KEY_CONTEXT  32u
#define COCO__B3_DERIVE_KEY_MATERIAL 64u

#define COCO__SIMD_PORTABLE 0
#define COCO__SIMD_SSE41    1
#define COCO__SIMD_AVX2     2
#define COCO__SIMD_AVX512   3

static const uint32_t coco__b3_iv[8] = {
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
    0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u
};

/* ---- generic round structure ------------------------------------------------------------
   P names an operation set: P##_ADD, P##_XOR and P##_R16/R12/R8/R7 (rotate right). The state
   is sixteen variables v0..v15 (one word each, or one SIMD lane per input); m is an array of
   the sixteen message words. COCO__B3_R0..R6 are the seven rounds, with the message schedule
   (the permutation applied 0..6 times) written out; K picks how a round orders its eight G
   functions (COCO__B3_RNDL or COCO__B3_RNDS). */
#define COCO__B3_G(P, a, b, c, d, x, y)                                        \
    a = P##_ADD(P##_ADD(a, x), b); d = P##_R16(P##_XOR(d, a));                \
    c = P##_ADD(c, d);             b = P##_R12(P##_XOR(b, c));                \
    a = P##_ADD(P##_ADD(a, y), b); d = P##_R8(P##_XOR(d, a));                 \
    c = P##_ADD(c, d);             b = P##_R7(P##_XOR(b, c))

/* Four G functions in lockstep (one step of each in turn), so that the instruction stream
   offers four independent operations of one kind at a time. */
#define COCO__B3_STEP4(OP, a0, a1, a2, a3, b0, b1, b2, b3)                      \
    a0 = OP(a0, b0); a1 = OP(a1, b1); a2 = OP(a2, b2); a3 = OP(a3, b3)
#define COCO__B3_ROT4(R, a0, a1, a2, a3) a0 = R(a0); a1 = R(a1); a2 = R(a2); a3 = R(a3)
#define COCO__B3_G4(P, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3,   \
                    x0, x1, x2, x3, y0, y1, y2, y3)                                         \
    COCO__B3_STEP4(P##_ADD, a0, a1, a2, a3, x0, x1, x2, x3);                               \
    COCO__B3_STEP4(P##_ADD, a0, a1, a2, a3, b0, b1, b2, b3);                               \
    COCO__B3_STEP4(P##_XOR, d0, d1, d2, d3, a0, a1, a2, a3);                               \
    COCO__B3_ROT4(P##_R16, d0, d1, d2, d3);                                                \
    COCO__B3_STEP4(P##_ADD, c0, c1, c2, c3, d0, d1, d2, d3);                               \
    COCO__B3_STEP4(P##_XOR, b0, b1, b2, b3, c0, c1, c2, c3);                               \
    COCO__B3_ROT4(P##_R12, b0, b1, b2, b3);                                                \
    COCO__B3_STEP4(P##_ADD, a0, a1, a2, a3, y0, y1, y2, y3);                               \
    COCO__B3_STEP4(P##_ADD, a0, a1, a2, a3, b0, b1, b2, b3);                               \
    COCO__B3_STEP4(P##_XOR, d0, d1, d2, d3, a0, a1, a2, a3);                               \
    COCO__B3_ROT4(P##_R8, d0, d1, d2, d3);                                                 \
    COCO__B3_STEP4(P##_ADD, c0, c1, c2, c3, d0, d1, d2, d3);                               \
    COCO__B3_STEP4(P##_XOR, b0, b1, b2, b3, c0, c1, c2, c3);                               \
    COCO__B3_ROT4(P##_R7, b0, b1, b2, b3)

#define COCO__B3_RNDL(P, v, m, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, sa, sb, sc, sd, se, sf) \
    COCO__B3_G4(P, v##0, v##1, v##2, v##3, v##4, v##5, v##6, v##7,                         \
                v##8, v##9, v##10, v##11, v##12, v##13, v##14, v##15,                       \
                m[s0], m[s2], m[s4], m[s6], m[s1], m[s3], m[s5], m[s7]);                   \
    COCO__B3_G4(P, v##0, v##1, v##2, v##3, v##5, v##6, v##7, v##4,                         \
                v##10, v##11, v##8, v##9, v##15, v##12, v##13, v##14,                       \
                m[s8], m[sa], m[sc], m[se], m[s9], m[sb], m[sd], m[sf])

/* The same round with the G functions one after the other: fewer values live at once, which
   suits the 16-register SSE4.1/AVX2 paths and scalar code. */
#define COCO__B3_RNDS(P, v, m, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, sa, sb, sc, sd, se, sf) \
    COCO__B3_G(P, v##0, v##4, v##8,  v##12, m[s0], m[s1]);                   \
    COCO__B3_G(P, v##1, v##5, v##9,  v##13, m[s2], m[s3]);                   \
    COCO__B3_G(P, v##2, v##6, v##10, v##14, m[s4], m[s5]);                   \
    COCO__B3_G(P, v##3, v##7, v##11, v##15, m[s6], m[s7]);                   \
    COCO__B3_G(P, v##0, v##5, v##10, v##15, m[s8], m[s9]);                   \
    COCO__B3_G(P, v##1, v##6, v##11, v##12, m[sa], m[sb]);                   \
    COCO__B3_G(P, v##2, v##7, v##8,  v##13, m[sc], m[sd]);                   \
    COCO__B3_G(P, v##3, v##4, v##9,  v##14, m[se], m[sf])

#define COCO__B3_R0(K, P, v, m) \
    K(P, v, m, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define COCO__B3_R1(K, P, v, m) \
    K(P, v, m, 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
#define COCO__B3_R2(K, P, v, m) \
    K(P, v, m, 3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1)
#define COCO__B3_R3(K, P, v, m) \
    K(P, v, m, 10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6)
#define COCO__B3_R4(K, P, v, m) \
    K(P, v, m, 12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4)
#define COCO__B3_R5(K, P, v, m) \
    K(P, v, m, 9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7)
#define COCO__B3_R6(K, P, v, m) \
    K(P, v, m, 11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13)
#define COCO__B3_ROUNDS(K, P, v, m)                                                \
    COCO__B3_R0(K, P, v, m); COCO__B3_R1(K, P, v, m); COCO__B3_R2(K, P, v, m);   \
    COCO__B3_R3(K, P, v, m); COCO__B3_R4(K, P, v, m); COCO__B3_R5(K, P, v, m);   \
    COCO__B3_R6(K, P, v, m)

/* Round r of each SIMD path on its state v0..v15 and message array m. */
#define COCO__B3_RS4(r)  COCO__B3_R##r(COCO__B3_RNDS, COCO__S4, v, m)
#define COCO__B3_RA8(r)  COCO__B3_R##r(COCO__B3_RNDS, COCO__A8, v, m)
#define COCO__B3_RZ16(r) COCO__B3_R##r(COCO__B3_RNDL, COCO__Z16, v, m)

/* ---- portable path ------------------------------------------------------------------------ */
#define COCO__ROTR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define COCO__SC_ADD(a, b) ((uint32_t)((a) + (b)))
#define COCO__SC_XOR(a, b) ((a) ^ (b))
#define COCO__SC_R16(x)    COCO__ROTR32(x, 16)
#define COCO__SC_R12(x)    COCO__ROTR32(x, 12)
#define COCO__SC_R8(x)     COCO__ROTR32(x, 8)
#define COCO__SC_R7(x)     COCO__ROTR32(x, 7)

COCO__PRIVATE uint32_t coco__b3_ld32(const uint8_t* p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

COCO__PRIVATE void coco__b3_st32(uint8_t* p, uint32_t w) {
    p[0] = (uint8_t)w; p[1] = (uint8_t)(w >> 8); p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

COCO__PRIVATE void coco__b3_words_to_bytes(const uint32_t* w, size_t n, uint8_t* out) {
    size_t i;
    for (i = 0; i < n; i++) coco__b3_st32(out + 4 * i, w[i]);
}

/* One compression: out[0..7] is the new CV, out[8..15] the second half of the XOF block.
   out must not overlap cv. */
COCO__PRIVATE void coco__b3_compress_portable(const uint32_t cv[8], const uint8_t block[64],
                                              uint8_t len, uint64_t ctr, uint8_t flags,
                                              uint32_t out[16]) {
    uint32_t m[16];
    uint32_t v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3];
    uint32_t v4 = cv[4], v5 = cv[5], v6 = cv[6], v7 = cv[7];
    uint32_t v8 = coco__b3_iv[0], v9 = coco__b3_iv[1], v10 = coco__b3_iv[2];
    uint32_t v11 = coco__b3_iv[3], v12 = (uint32_t)ctr, v13 = (uint32_t)(ctr >> 32);
    uint32_t v14 = len, v15 = flags;
    int i;
    for (i = 0; i < 16; i++) m[i] = coco__b3_ld32(block + 4 * i);
    COCO__B3_ROUNDS(COCO__B3_RNDS, COCO__SC, v, m);
    out[0] = v0 ^ v8;   out[1] = v1 ^ v9;   out[2] = v2 ^ v10;  out[3] = v3 ^ v11;
    out[4] = v4 ^ v12;  out[5] = v5 ^ v13;  out[6] = v6 ^ v14;  out[7] = v7 ^ v15;
    out[8] = v8 ^ cv[0];   out[9] = v9 ^ cv[1];   out[10] = v10 ^ cv[2];
    out[11] = v11 ^ cv[3]; out[12] = v12 ^ cv[4]; out[13] = v13 ^ cv[5];
    out[14] = v14 ^ cv[6]; out[15] = v15 ^ cv[7];
}

/* ---- x86 SIMD paths ----------------------------------------------------------------------- */
#if COCO__X86
/* g++ 12 reports the deliberately uninitialized `__Y = __Y` inside the AVX-512 intrinsics
   (_mm512_undefined_*) once they are inlined at -O2 (GCC bug 105593); the diagnostic state
   at the header's own lines is what counts, so it is silenced around the include. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wuninitialized"
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif
#include <cpuid.h>

#define COCO__B3_TGT_SSE41  __attribute__((target("sse4.1")))
#define COCO__B3_TGT_AVX2   __attribute__((target("avx2")))
#define COCO__B3_TGT_AVX512 __attribute__((target("avx512f,avx512vl")))
#define COCO__B3_INLINE     __inline__ __attribute__((always_inline))
#define COCO__B3_PREFETCH   256

/* SSE4.1, 4 lanes */
#define COCO__S4_ADD(a, b) _mm_add_epi32((a), (b))
#define COCO__S4_XOR(a, b) _mm_xor_si128((a), (b))
#define COCO__S4_R16(x) \
    _mm_shuffle_epi8((x), _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13))
#define COCO__S4_R12(x) _mm_or_si128(_mm_srli_epi32((x), 12), _mm_slli_epi32((x), 20))
#define COCO__S4_R8(x) \
    _mm_shuffle_epi8((x), _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12))
#define COCO__S4_R7(x)  _mm_or_si128(_mm_srli_epi32((x), 7), _mm_slli_epi32((x), 25))

/* AVX2, 8 lanes */
#define COCO__A8_ADD(a, b) _mm256_add_epi32((a), (b))
#define COCO__A8_XOR(a, b) _mm256_xor_si256((a), (b))
#define COCO__A8_R16(x) \
    _mm256_shuffle_epi8((x), _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15,  \
        12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13))
#define COCO__A8_R12(x) _mm256_or_si256(_mm256_srli_epi32((x), 12), _mm256_slli_epi32((x), 20))
#define COCO__A8_R8(x) \
    _mm256_shuffle_epi8((x), _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14,  \
        15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12))
#define COCO__A8_R7(x)  _mm256_or_si256(_mm256_srli_epi32((x), 7), _mm256_slli_epi32((x), 25))

/* AVX-512VL on 128-bit rows (single-block compression) */
#define COCO__X4_ADD(a, b) _mm_add_epi32((a), (b))
#define COCO__X4_XOR(a, b) _mm_xor_si128((a), (b))
#define COCO__X4_R16(x) _mm_ror_epi32((x), 16)
#define COCO__X4_R12(x) _mm_ror_epi32((x), 12)
#define COCO__X4_R8(x)  _mm_ror_epi32((x), 8)
#define COCO__X4_R7(x)  _mm_ror_epi32((x), 7)

/* AVX-512F, 16 lanes */
#define COCO__Z16_ADD(a, b) _mm512_add_epi32((a), (b))
#define COCO__Z16_XOR(a, b) _mm512_xor_si512((a), (b))
#define COCO__Z16_R16(x) _mm512_ror_epi32((x), 16)
#define COCO__Z16_R12(x) _mm512_ror_epi32((x), 12)
#define COCO__Z16_R8(x)  _mm512_ror_epi32((x), 8)
#define COCO__Z16_R7(x)  _mm512_ror_epi32((x), 7)

#define COCO__B3_SHUFPS(a, b, imm) \
    _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), (imm)))
#define COCO__B3_LD128(p)     _mm_loadu_si128((const __m128i*)(const void*)(p))
#define COCO__B3_ST128(p, x)  _mm_storeu_si128((__m128i*)(void*)(p), (x))
#define COCO__B3_LD256(p)     _mm256_loadu_si256((const __m256i*)(const void*)(p))
#define COCO__B3_ST256(p, x)  _mm256_storeu_si256((__m256i*)(void*)(p), (x))

/* Single-block compression with the state as four rows r0..r3 of 128 bits. The message
   vectors hold (w0 w2 w4 w6) (w1 w3 w5 w7) (w8 w10 w12 w14) (w9 w11 w13 w15) of the round's
   message w; between rounds they are permuted in registers (w'[i] = w[perm[i]]). Uses
   SSE4.1 instructions only besides the P operations. */
#define COCO__B3_ROWS(P, r0, r1, r2, r3, block) do {                                      \
    __m128i b0_ = COCO__B3_LD128(block), b1_ = COCO__B3_LD128((block) + 16);             \
    __m128i b2_ = COCO__B3_LD128((block) + 32), b3_ = COCO__B3_LD128((block) + 48);      \
    __m128i m0_ = COCO__B3_SHUFPS(b0_, b1_, _MM_SHUFFLE(2, 0, 2, 0));                    \
    __m128i m1_ = COCO__B3_SHUFPS(b0_, b1_, _MM_SHUFFLE(3, 1, 3, 1));                    \
    __m128i m2_ = COCO__B3_SHUFPS(b2_, b3_, _MM_SHUFFLE(2, 0, 2, 0));                    \
    __m128i m3_ = COCO__B3_SHUFPS(b2_, b3_, _MM_SHUFFLE(3, 1, 3, 1));                    \
    int rd_;                                                                              \
    for (rd_ = 0;; rd_++) {                                                               \
        __m128i n0_, n1_, n2_, n3_;                                                       \
        COCO__B3_G(P, r0, r1, r2, r3, m0_, m1_);                                          \
        r1 = _mm_shuffle_epi32(r1, 0x39); r2 = _mm_shuffle_epi32(r2, 0x4E);               \
        r3 = _mm_shuffle_epi32(r3, 0x93);                                                 \
        COCO__B3_G(P, r0, r1, r2, r3, m2_, m3_);                                          \
        r1 = _mm_shuffle_epi32(r1, 0x93); r2 = _mm_shuffle_epi32(r2, 0x4E);               \
        r3 = _mm_shuffle_epi32(r3, 0x39);                                                 \
        if (rd_ == 6) break;                                                              \
        n0_ = _mm_shuffle_epi32(COCO__B3_SHUFPS(m0_, m1_, _MM_SHUFFLE(3, 1, 2, 1)),       \
                                _MM_SHUFFLE(1, 3, 2, 0));                                 \
        n1_ = COCO__B3_SHUFPS(m0_, _mm_blend_epi16(m2_, m3_, 0x30), _MM_SHUFFLE(2, 1, 0, 3)); \
        n1_ = _mm_shuffle_epi32(n1_, _MM_SHUFFLE(3, 1, 2, 0));                            \
        n2_ = _mm_blend_epi16(_mm_blend_epi16(m2_, m3_, 0xC3), _mm_slli_si128(m1_, 4), 0x0C); \
        n2_ = _mm_shuffle_epi32(n2_, _MM_SHUFFLE(3, 0, 2, 1));                            \
        n3_ = _mm_blend_epi16(_mm_blend_epi16(m2_, m3_, 0x0C), m1_, 0x30);                \
        n3_ = _mm_shuffle_epi32(n3_, _MM_SHUFFLE(0, 3, 2, 1));                            \
        m0_ = n0_; m1_ = n1_; m2_ = n2_; m3_ = n3_;                                       \
    }                                                                                     \
} while (0)

#define COCO__B3_ROWS_INIT(r0, r1, r2, r3, cv, len, ctr, flags)                          \
    r0 = COCO__B3_LD128(cv); r1 = COCO__B3_LD128((cv) + 4); r2 = COCO__B3_LD128(coco__b3_iv); \
    r3 = _mm_setr_epi32((int)(uint32_t)(ctr), (int)(uint32_t)((ctr) >> 32), (int)(len),  \
                        (int)(flags))

COCO__B3_TGT_SSE41 COCO__PRIVATE void coco__b3_compress_sse41(uint32_t cv[8],
        const uint8_t block[64], uint8_t len, uint64_t ctr, uint8_t flags) {
    __m128i r0, r1, r2, r3;
    COCO__B3_ROWS_INIT(r0, r1, r2, r3, cv, len, ctr, flags);
    COCO__B3_ROWS(COCO__S4, r0, r1, r2, r3, block);
    COCO__B3_ST128(cv, _mm_xor_si128(r0, r2));
    COCO__B3_ST128(cv + 4, _mm_xor_si128(r1, r3));
}

COCO__B3_TGT_SSE41 COCO__PRIVATE void coco__b3_compress_xof_sse41(const uint32_t cv[8],
        const uint8_t block[64], uint8_t len, uint64_t ctr, uint8_t flags, uint8_t out[64]) {
    __m128i r0, r1, r2, r3;
    COCO__B3_ROWS_INIT(r0, r1, r2, r3, cv, len, ctr, flags);
    COCO__B3_ROWS(COCO__S4, r0, r1, r2, r3, block);
    COCO__B3_ST128(out, _mm_xor_si128(r0, r2));
    COCO__B3_ST128(out + 16, _mm_xor_si128(r1, r3));
    COCO__B3_ST128(out + 32, _mm_xor_si128(r2, COCO__B3_LD128(cv)));
    COCO__B3_ST128(out + 48, _mm_xor_si128(r3, COCO__B3_LD128(cv + 4)));
}

COCO__B3_TGT_AVX512 COCO__PRIVATE void coco__b3_compress_avx512(uint32_t cv[8],
        const uint8_t block[64], uint8_t len, uint64_t ctr, uint8_t flags) {
    __m128i r0, r1, r2, r3;
    COCO__B3_ROWS_INIT(r0, r1, r2, r3, cv, len, ctr, flags);
    COCO__B3_ROWS(COCO__X4, r0, r1, r2, r3, block);
    COCO__B3_ST128(cv, _mm_xor_si128(r0, r2));
    COCO__B3_ST128(cv + 4, _mm_xor_si128(r1, r3));
}

COCO__B3_TGT_AVX512 COCO__PRIVATE void coco__b3_compress_xof_avx512(const uint32_t cv[8],
        const uint8_t block[64], uint8_t len, uint64_t ctr, uint8_t flags, uint8_t out[64]) {
    __m128i r0, r1, r2, r3;
    COCO__B3_ROWS_INIT(r0, r1, r2, r3, cv, len, ctr, flags);
    COCO__B3_ROWS(COCO__X4, r0, r1, r2, r3, block);
    COCO__B3_ST128(out, _mm_xor_si128(r0, r2));
    COCO__B3_ST128(out + 16, _mm_xor_si128(r1, r3));
    COCO__B3_ST128(out + 32, _mm_xor_si128(r2, COCO__B3_LD128(cv)));
    COCO__B3_ST128(out + 48, _mm_xor_si128(r3, COCO__B3_LD128(cv + 4)));
}

/* Lane counters for hash_many: lane i gets ctr + i (chunks) or ctr (parents). */
COCO__PRIVATE void coco__b3_lane_counters(uint64_t ctr, int inc, int n, uint32_t* lo,
                                          uint32_t* hi) {
    int i;
    for (i = 0; i < n; i++) {
        uint64_t c = ctr + (inc ? (uint64_t)i : 0);
        lo[i] = (uint32_t)c;
        hi[i] = (uint32_t)(c >> 32);
    }
}

/* 4x4 transpose of 32-bit words in four 128-bit registers. */
#define COCO__B3_TR4(r0, r1, r2, r3) do {                                                 \
    __m128i t0_ = _mm_unpacklo_epi32(r0, r1), t1_ = _mm_unpackhi_epi32(r0, r1);          \
    __m128i t2_ = _mm_unpacklo_epi32(r2, r3), t3_ = _mm_unpackhi_epi32(r2, r3);          \
    r0 = _mm_unpacklo_epi64(t0_, t2_); r1 = _mm_unpackhi_epi64(t0_, t2_);                \
    r2 = _mm_unpacklo_epi64(t1_, t3_); r3 = _mm_unpackhi_epi64(t1_, t3_);                \
} while (0)

/* Loads block `off` of 4 inputs as 16 message vectors (m[j] lane i = word j of input i). */
COCO__B3_TGT_SSE41 COCO__PRIVATE COCO__B3_INLINE void coco__b3_msg4(const uint8_t* const* in,
                                                                    size_t off, __m128i* m) {
    int q;
    for (q = 0; q < 4; q++) {
        __m128i x0 = COCO__B3_LD128(in[0] + off + 16 * q);
        __m128i x1 = COCO__B3_LD128(in[1] + off + 16 * q);
        __m128i x2 = COCO__B3_LD128(in[2] + off + 16 * q);
        __m128i x3 = COCO__B3_LD128(in[3] + off + 16 * q);
        COCO__B3_TR4(x0, x1, x2, x3);
        m[4 * q] = x0; m[4 * q + 1] = x1; m[4 * q + 2] = x2; m[4 * q + 3] = x3;
    }
}

/* The hash_many functions: `blocks` blocks of each of the inputs in[0..W-1] (W = 4, 8, 16),
   lane i with counter ctr (+ i if inc); flags on every block, fs added on the first and fe
   on the last; the W chaining values go to out (32 bytes each). The next block's message is
   loaded and transposed after the first round of the current one, so that this work
   overlaps with the rounds (it costs up to 15% otherwise). */
COCO__B3_TGT_SSE41 COCO__PRIVATE void coco__b3_hash4_sse41(const uint8_t* const* in,
        size_t blocks, const uint32_t key[8], uint64_t ctr, int inc, uint8_t flags,
        uint8_t fs, uint8_t fe, uint8_t* out) {
    __m128i mbuf[2][16];
    __m128i* m = mbuf[0];
    __m128i h0 = _mm_set1_epi32((int)key[0]), h1 = _mm_set1_epi32((int)key[1]);
    __m128i h2 = _mm_set1_epi32((int)key[2]), h3 = _mm_set1_epi32((int)key[3]);
    __m128i h4 = _mm_set1_epi32((int)key[4]), h5 = _mm_set1_epi32((int)key[5]);
    __m128i h6 = _mm_set1_epi32((int)key[6]), h7 = _mm_set1_epi32((int)key[7]);
    __m128i clo, chi;
    uint32_t lo[4], hi[4];
    size_t b;
    coco__b3_lane_counters(ctr, inc, 4, lo, hi);
    clo = COCO__B3_LD128(lo);
    chi = COCO__B3_LD128(hi);
    coco__b3_msg4(in, 0, m);
    for (b = 0; b < blocks; b++) {
        uint8_t fl = (uint8_t)(flags | (b == 0 ? fs : 0) | (b + 1 == blocks ? fe : 0));
        __m128i v0 = h0, v1 = h1, v2 = h2, v3 = h3, v4 = h4, v5 = h5, v6 = h6, v7 = h7;
        __m128i v8 = _mm_set1_epi32((int)coco__b3_iv[0]);
        __m128i v9 = _mm_set1_epi32((int)coco__b3_iv[1]);
        __m128i v10 = _mm_set1_epi32((int)coco__b3_iv[2]);
        __m128i v11 = _mm_set1_epi32((int)coco__b3_iv[3]);
        __m128i v12 = clo, v13 = chi, v14 = _mm_set1_epi32(64), v15 = _mm_set1_epi32(fl);
        m = mbuf[b & 1];
        COCO__B3_RS4(0);
        if (b + 1 < blocks) coco__b3_msg4(in, (b + 1) * 64, mbuf[(b + 1) & 1]);
        COCO__B3_RS4(1); COCO__B3_RS4(2);
        COCO__B3_RS4(3); COCO__B3_RS4(4);
        COCO__B3_RS4(5); COCO__B3_RS4(6);
        h0 = _mm_xor_si128(v0, v8);  h1 = _mm_xor_si128(v1, v9);
        h2 = _mm_xor_si128(v2, v10); h3 = _mm_xor_si128(v3, v11);
        h4 = _mm_xor_si128(v4, v12); h5 = _mm_xor_si128(v5, v13);
        h6 = _mm_xor_si128(v6, v14); h7 = _mm_xor_si128(v7, v15);
    }
    COCO__B3_TR4(h0, h1, h2, h3);
    COCO__B3_TR4(h4, h5, h6, h7);
    COCO__B3_ST128(out, h0);      COCO__B3_ST128(out + 16, h4);
    COCO__B3_ST128(out + 32, h1); COCO__B3_ST128(out + 48, h5);
    COCO__B3_ST128(out + 64, h2); COCO__B3_ST128(out + 80, h6);
    COCO__B3_ST128(out + 96, h3); COCO__B3_ST128(out + 112, h7);
}

/* 8x8 transpose of 32-bit words in eight 256-bit registers. */
#define COCO__B3_TR8(r0, r1, r2, r3, r4, r5, r6, r7) do {                                 \
    __m256i a0_ = _mm256_unpacklo_epi32(r0, r1), a1_ = _mm256_unpackhi_epi32(r0, r1);    \
    __m256i a2_ = _mm256_unpacklo_epi32(r2, r3), a3_ = _mm256_unpackhi_epi32(r2, r3);    \
    __m256i a4_ = _mm256_unpacklo_epi32(r4, r5), a5_ = _mm256_unpackhi_epi32(r4, r5);    \
    __m256i a6_ = _mm256_unpacklo_epi32(r6, r7), a7_ = _mm256_unpackhi_epi32(r6, r7);    \
    __m256i b0_ = _mm256_unpacklo_epi64(a0_, a2_), b1_ = _mm256_unpackhi_epi64(a0_, a2_); \
    __m256i b2_ = _mm256_unpacklo_epi64(a1_, a3_), b3_ = _mm256_unpackhi_epi64(a1_, a3_); \
    __m256i b4_ = _mm256_unpacklo_epi64(a4_, a6_), b5_ = _mm256_unpackhi_epi64(a4_, a6_); \
    __m256i b6_ = _mm256_unpacklo_epi64(a5_, a7_), b7_ = _mm256_unpackhi_epi64(a5_, a7_); \
    r0 = _mm256_permute2x128_si256(b0_, b4_, 0x20);                                       \
    r1 = _mm256_permute2x128_si256(b1_, b5_, 0x20);                                       \
    r2 = _mm256_permute2x128_si256(b2_, b6_, 0x20);                                       \
    r3 = _mm256_permute2x128_si256(b3_, b7_, 0x20);                                       \
    r4 = _mm256_permute2x128_si256(b0_, b4_, 0x31);                                       \
    r5 = _mm256_permute2x128_si256(b1_, b5_, 0x31);                                       \
    r6 = _mm256_permute2x128_si256(b2_, b6_, 0x31);                                       \
    r7 = _mm256_permute2x128_si256(b3_, b7_, 0x31);                                       \
} while (0)

/* Loads block `off` of 8 inputs as 16 message vectors (m[j] lane i = word j of input i). */
COCO__B3_TGT_AVX2 COCO__PRIVATE COCO__B3_INLINE void coco__b3_msg8(const uint8_t* const* in,
                                                                   size_t off, __m256i* m) {
    int q;
    for (q = 0; q < 2; q++) {
        __m256i x0 = COCO__B3_LD256(in[0] + off + 32 * q);
        __m256i x1 = COCO__B3_LD256(in[1] + off + 32 * q);
        __m256i x2 = COCO__B3_LD256(in[2] + off + 32 * q);
        __m256i x3 = COCO__B3_LD256(in[3] + off + 32 * q);
        __m256i x4 = COCO__B3_LD256(in[4] + off + 32 * q);
        __m256i x5 = COCO__B3_LD256(in[5] + off + 32 * q);
        __m256i x6 = COCO__B3_LD256(in[6] + off + 32 * q);
        __m256i x7 = COCO__B3_LD256(in[7] + off + 32 * q);
        COCO__B3_TR8(x0, x1, x2, x3, x4, x5, x6, x7);
        m[8 * q] = x0;     m[8 * q + 1] = x1; m[8 * q + 2] = x2; m[8 * q + 3] = x3;
        m[8 * q + 4] = x4; m[8 * q + 5] = x5; m[8 * q + 6] = x6; m[8 * q + 7] = x7;
    }
}

COCO__B3_TGT_AVX2 COCO__PRIVATE void coco__b3_hash8_avx2(const uint8_t* const* in,
        size_t blocks, const uint32_t key[8], uint64_t ctr, int inc, uint8_t flags,
        uint8_t fs, uint8_t fe, uint8_t* out) {
    __m256i mbuf[2][16];
    __m256i* m = mbuf[0];
    __m256i h0 = _mm256_set1_epi32((int)key[0]), h1 = _mm256_set1_epi32((int)key[1]);
    __m256i h2 = _mm256_set1_epi32((int)key[2]), h3 = _mm256_set1_epi32((int)key[3]);
    __m256i h4 = _mm256_set1_epi32((int)key[4]), h5 = _mm256_set1_epi32((int)key[5]);
    __m256i h6 = _mm256_set1_epi32((int)key[6]), h7 = _mm256_set1_epi32((int)key[7]);
    __m256i clo, chi;
    uint32_t lo[8], hi[8];
    size_t b;
    coco__b3_lane_counters(ctr, inc, 8, lo, hi);
    clo = COCO__B3_LD256(lo);
    chi = COCO__B3_LD256(hi);
    coco__b3_msg8(in, 0, m);
    for (b = 0; b < blocks; b++) {
        uint8_t fl = (uint8_t)(flags | (b == 0 ? fs : 0) | (b + 1 == blocks ? fe : 0));
        __m256i v0 = h0, v1 = h1, v2 = h2, v3 = h3, v4 = h4, v5 = h5, v6 = h6, v7 = h7;
        __m256i v8 = _mm256_set1_epi32((int)coco__b3_iv[0]);
        __m256i v9 = _mm256_set1_epi32((int)coco__b3_iv[1]);
        __m256i v10 = _mm256_set1_epi32((int)coco__b3_iv[2]);
        __m256i v11 = _mm256_set1_epi32((int)coco__b3_iv[3]);
        __m256i v12 = clo, v13 = chi, v14 = _mm256_set1_epi32(64);
        __m256i v15 = _mm256_set1_epi32(fl);
        m = mbuf[b & 1];
        COCO__B3_RA8(0);
        if (b + 1 < blocks) coco__b3_msg8(in, (b + 1) * 64, mbuf[(b + 1) & 1]);
        COCO__B3_RA8(1); COCO__B3_RA8(2);
        COCO__B3_RA8(3); COCO__B3_RA8(4);
        COCO__B3_RA8(5); COCO__B3_RA8(6);
        h0 = _mm256_xor_si256(v0, v8);  h1 = _mm256_xor_si256(v1, v9);
        h2 = _mm256_xor_si256(v2, v10); h3 = _mm256_xor_si256(v3, v11);
        h4 = _mm256_xor_si256(v4, v12); h5 = _mm256_xor_si256(v5, v13);
        h6 = _mm256_xor_si256(v6, v14); h7 = _mm256_xor_si256(v7, v15);
    }
    COCO__B3_TR8(h0, h1, h2, h3, h4, h5, h6, h7);
    COCO__B3_ST256(out, h0);       COCO__B3_ST256(out + 32, h1);
    COCO__B3_ST256(out + 64, h2);  COCO__B3_ST256(out + 96, h3);
    COCO__B3_ST256(out + 128, h4); COCO__B3_ST256(out + 160, h5);
    COCO__B3_ST256(out + 192, h6); COCO__B3_ST256(out + 224, h7);
}

/* 16x16 transpose of 32-bit words, x[i] = row i on entry, column i on return: 32-bit and
   64-bit interleaves inside 128-bit lanes, then a 4x4 transpose of the 128-bit lanes. Written
   out so that it stays in registers. */
#define COCO__B3_UNPK32(a, b, x, y) \
    a = _mm512_unpacklo_epi32(x, y); b = _mm512_unpackhi_epi32(x, y)
#define COCO__B3_UNPK64(a, b, c, d, x0, x1, x2, x3)                                        \
    a = _mm512_unpacklo_epi64(x0, x2); b = _mm512_unpackhi_epi64(x0, x2);                 \
    c = _mm512_unpacklo_epi64(x1, x3); d = _mm512_unpackhi_epi64(x1, x3)
#define COCO__B3_LANES4(o0, o1, o2, o3, x0, x1, x2, x3) do {                              \
    __m512i t0_ = _mm512_shuffle_i32x4(x0, x1, 0x44), t1_ = _mm512_shuffle_i32x4(x0, x1, 0xEE); \
    __m512i t2_ = _mm512_shuffle_i32x4(x2, x3, 0x44), t3_ = _mm512_shuffle_i32x4(x2, x3, 0xEE); \
    o0 = _mm512_shuffle_i32x4(t0_, t2_, 0x88); o1 = _mm512_shuffle_i32x4(t0_, t2_, 0xDD);  \
    o2 = _mm512_shuffle_i32x4(t1_, t3_, 0x88); o3 = _mm512_shuffle_i32x4(t1_, t3_, 0xDD);  \
} while (0)

#define COCO__B3_TR16(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, xa, xb, xc, xd, xe, xf) do {   \
    __m512i a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15;          \
    __m512i b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15;          \
    COCO__B3_UNPK32(a0, a1, x0, x1);   COCO__B3_UNPK32(a2, a3, x2, x3);                    \
    COCO__B3_UNPK32(a4, a5, x4, x5);   COCO__B3_UNPK32(a6, a7, x6, x7);                    \
    COCO__B3_UNPK32(a8, a9, x8, x9);   COCO__B3_UNPK32(a10, a11, xa, xb);                  \
    COCO__B3_UNPK32(a12, a13, xc, xd); COCO__B3_UNPK32(a14, a15, xe, xf);                  \
    COCO__B3_UNPK64(b0, b1, b2, b3, a0, a1, a2, a3);                                       \
    COCO__B3_UNPK64(b4, b5, b6, b7, a4, a5, a6, a7);                                       \
    COCO__B3_UNPK64(b8, b9, b10, b11, a8, a9, a10, a11);                                   \
    COCO__B3_UNPK64(b12, b13, b14, b15, a12, a13, a14, a15);                               \
    COCO__B3_LANES4(x0, x4, x8, xc, b0, b4, b8, b12);                                      \
    COCO__B3_LANES4(x1, x5, x9, xd, b1, b5, b9, b13);                                      \
    COCO__B3_LANES4(x2, x6, xa, xe, b2, b6, b10, b14);                                     \
    COCO__B3_LANES4(x3, x7, xb, xf, b3, b7, b11, b15);                                     \
} while (0)

/* Loads block `off` of 16 inputs as 16 message vectors (m[j] lane i = word j of input i). */
COCO__B3_TGT_AVX512 COCO__PRIVATE COCO__B3_INLINE void coco__b3_msg16(const uint8_t* const* in,
                                                                      size_t off, __m512i* m) {
#define COCO__B3_L(k) _mm512_loadu_si512((const void*)(in[k] + off))
    __m512i x0 = COCO__B3_L(0), x1 = COCO__B3_L(1), x2 = COCO__B3_L(2), x3 = COCO__B3_L(3);
    __m512i x4 = COCO__B3_L(4), x5 = COCO__B3_L(5), x6 = COCO__B3_L(6), x7 = COCO__B3_L(7);
    __m512i x8 = COCO__B3_L(8), x9 = COCO__B3_L(9), x10 = COCO__B3_L(10);
    __m512i x11 = COCO__B3_L(11), x12 = COCO__B3_L(12), x13 = COCO__B3_L(13);
    __m512i x14 = COCO__B3_L(14), x15 = COCO__B3_L(15);
#undef COCO__B3_L
    {   /* a few blocks ahead: the data may not be in L1/L2 yet */
        int i;
        for (i = 0; i < 16; i++)
            _mm_prefetch((const char*)(in[i] + off + COCO__B3_PREFETCH), _MM_HINT_T0);
    }
    COCO__B3_TR16(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15);
    m[0] = x0;   m[1] = x1;   m[2] = x2;   m[3] = x3;   m[4] = x4;   m[5] = x5;
    m[6] = x6;   m[7] = x7;   m[8] = x8;   m[9] = x9;   m[10] = x10; m[11] = x11;
    m[12] = x12; m[13] = x13; m[14] = x14; m[15] = x15;
}

COCO__B3_TGT_AVX512 COCO__PRIVATE void coco__b3_hash16_avx512(const uint8_t* const* in,
        size_t blocks, const uint32_t key[8], uint64_t ctr, int inc, uint8_t flags,
        uint8_t fs, uint8_t fe, uint8_t* out) {
    __m512i mbuf[2][16];
    __m512i* m = mbuf[0];
    __m512i h0 = _mm512_set1_epi32((int)key[0]), h1 = _mm512_set1_epi32((int)key[1]);
    __m512i h2 = _mm512_set1_epi32((int)key[2]), h3 = _mm512_set1_epi32((int)key[3]);
    __m512i h4 = _mm512_set1_epi32((int)key[4]), h5 = _mm512_set1_epi32((int)key[5]);
    __m512i h6 = _mm512_set1_epi32((int)key[6]), h7 = _mm512_set1_epi32((int)key[7]);
    __m512i clo, chi;
    uint32_t lo[16], hi[16];
    size_t b;
    int i;
    coco__b3_lane_counters(ctr, inc, 16, lo, hi);
    clo = _mm512_loadu_si512((const void*)lo);
    chi = _mm512_loadu_si512((const void*)hi);
    coco__b3_msg16(in, 0, m);
    for (b = 0; b < blocks; b++) {
        uint8_t fl = (uint8_t)(flags | (b == 0 ? fs : 0) | (b + 1 == blocks ? fe : 0));
        __m512i v0 = h0, v1 = h1, v2 = h2, v3 = h3, v4 = h4, v5 = h5, v6 = h6, v7 = h7;
        __m512i v8 = _mm512_set1_epi32((int)coco__b3_iv[0]);
        __m512i v9 = _mm512_set1_epi32((int)coco__b3_iv[1]);
        __m512i v10 = _mm512_set1_epi32((int)coco__b3_iv[2]);
        __m512i v11 = _mm512_set1_epi32((int)coco__b3_iv[3]);
        __m512i v12 = clo, v13 = chi, v14 = _mm512_set1_epi32(64);
        __m512i v15 = _mm512_set1_epi32(fl);
        m = mbuf[b & 1];
        COCO__B3_RZ16(0);
        if (b + 1 < blocks) coco__b3_msg16(in, (b + 1) * 64, mbuf[(b + 1) & 1]);
        COCO__B3_RZ16(1); COCO__B3_RZ16(2);
        COCO__B3_RZ16(3); COCO__B3_RZ16(4);
        COCO__B3_RZ16(5); COCO__B3_RZ16(6);
        h0 = _mm512_xor_si512(v0, v8);  h1 = _mm512_xor_si512(v1, v9);
        h2 = _mm512_xor_si512(v2, v10); h3 = _mm512_xor_si512(v3, v11);
        h4 = _mm512_xor_si512(v4, v12); h5 = _mm512_xor_si512(v5, v13);
        h6 = _mm512_xor_si512(v6, v14); h7 = _mm512_xor_si512(v7, v15);
    }
    {   /* transpose the CVs (rows 8..15 are unused) and store lane i's 8 words */
        __m512i z8 = _mm512_setzero_si512(), z9 = z8, z10 = z8, z11 = z8, z12 = z8;
        __m512i z13 = z8, z14 = z8, z15 = z8;
        COCO__B3_TR16(h0, h1, h2, h3, h4, h5, h6, h7, z8, z9, z10, z11, z12, z13, z14, z15);
        m[0] = h0;   m[1] = h1;   m[2] = h2;   m[3] = h3;   m[4] = h4;   m[5] = h5;
        m[6] = h6;   m[7] = h7;   m[8] = z8;   m[9] = z9;   m[10] = z10; m[11] = z11;
        m[12] = z12; m[13] = z13; m[14] = z14; m[15] = z15;
    }
    for (i = 0; i < 16; i++) COCO__B3_ST256(out + 32 * i, _mm512_castsi512_si256(m[i]));
}

/* CPU and OS support: SSE4.1; AVX2 needs the OS to save YMM state (XCR0 bits 1-2);
   AVX-512 needs AVX2, AVX-512F and VL, and opmask/ZMM state saved (XCR0 bits 5-7). */
COCO__PRIVATE int coco__b3_detect(void) {
    unsigned a = 0, b = 0, c = 0, d = 0, lo = 0, hi = 0;
    uint64_t xcr0;
    int lvl;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19))) return COCO__SIMD_PORTABLE;
    lvl = COCO__SIMD_SSE41;
    if (!(c & (1u << 27)) || !(c & (1u << 28))) return lvl;       /* OSXSAVE, AVX */
    __asm__ __volatile__(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));  /* xgetbv */
    xcr0 = ((uint64_t)hi << 32) | lo;
    if ((xcr0 & 0x6) != 0x6 || __get_cpuid_max(0, NULL) < 7) return lvl;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b & (1u << 5))) return lvl;                                 /* AVX2 */
    lvl = COCO__SIMD_AVX2;
    if ((xcr0 & 0xE6) == 0xE6 && (b & (1u << 16)) && (b & (1u << 31))) /* AVX512F, VL */
        lvl = COCO__SIMD_AVX512;
    return lvl;
}
#else
COCO__PRIVATE int coco__b3_detect(void) { return COCO__SIMD_PORTABLE; }
#endif /* COCO__X86 */

/* ---- dispatch ----------------------------------------------------------------------------- */
#if defined(__GNUC__)
#  define COCO__B3_LOAD(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#  define COCO__B3_STORE(p, x) __atomic_store_n((p), (x), __ATOMIC_RELAXED)
#else
#  define COCO__B3_LOAD(p)     (*(p))
#  define COCO__B3_STORE(p, x) (*(p) = (x))
#endif

static int coco__b3_detected = -1;   /* -1 until detected; the same value from every thread */
static int coco__b3_forced = -1;     /* tests: the level forced, or -1 */

COCO__PRIVATE int coco__b3_max_level(void) {
    int d = COCO__B3_LOAD(&coco__b3_detected);
    if (d < 0) {
        d = coco__b3_detect();
        COCO__B3_STORE(&coco__b3_detected, d);
    }
    return d;
}

COCO__PRIVATE int coco__b3_level(void) {
    int f = COCO__B3_LOAD(&coco__b3_forced);
    return f >= 0 ? f : coco__b3_max_level();
}

/* Test hook: force a code path (COCO__SIMD_*); level < 0 restores auto-detection. Returns 1 if
   the level is usable on this CPU (and then uses it), 0 if not (and changes nothing). */
COCO__PRIVATE int coco__blake3_force(int level) {
    if (level < 0) {
        COCO__B3_STORE(&coco__b3_forced, -1);
        return 1;
    }
    if (level > COCO__SIMD_AVX512 || level > coco__b3_max_level()) return 0;
    COCO__B3_STORE(&coco__b3_forced, level);
    return 1;
}

COCO__PRIVATE size_t coco__b3_degree(int lvl) {
    return lvl >= COCO__SIMD_AVX512 ? 16 : lvl == COCO__SIMD_AVX2 ? 8 :
           lvl == COCO__SIMD_SSE41 ? 4 : 1;
}

/* Compresses one block into cv in place. */
COCO__PRIVATE void coco__blake3_compress(int lvl, uint32_t cv[8], const uint8_t block[64],
                                         uint8_t len, uint64_t ctr, uint8_t flags) {
    uint32_t full[16];
#if COCO__X86
    if (lvl >= COCO__SIMD_AVX512) { coco__b3_compress_avx512(cv, block, len, ctr, flags); return; }
    if (lvl >= COCO__SIMD_SSE41) { coco__b3_compress_sse41(cv, block, len, ctr, flags); return; }
#else
    (void)lvl;
#endif
    coco__b3_compress_portable(cv, block, len, ctr, flags, full);
    memcpy(cv, full, 32);
}

/* Compresses one block and writes the full 64-byte output block (XOF). */
COCO__PRIVATE void coco__blake3_compress_xof(int lvl, const uint32_t cv[8],
                                             const uint8_t block[64], uint8_t len,
                                             uint64_t ctr, uint8_t flags, uint8_t out[64]) {
    uint32_t full[16];
#if COCO__X86
    if (lvl >= COCO__SIMD_AVX512) {
        coco__b3_compress_xof_avx512(cv, block, len, ctr, flags, out);
        return;
    }
    if (lvl >= COCO__SIMD_SSE41) {
        coco__b3_compress_xof_sse41(cv, block, len, ctr, flags, out);
        return;
    }
#else
    (void)lvl;
#endif
    coco__b3_compress_portable(cv, block, len, ctr, flags, full);
    coco__b3_words_to_bytes(full, 16, out);
}

/* Hashes `blocks` whole blocks of one input into a 32-byte CV. */
COCO__PRIVATE void coco__b3_hash_one(int lvl, const uint8_t* in, size_t blocks,
                                     const uint32_t key[8], uint64_t ctr, uint8_t flags,
                                     uint8_t fs, uint8_t fe, uint8_t out[32]) {
    uint32_t cv[8];
    uint8_t fl = (uint8_t)(flags | fs);
    memcpy(cv, key, 32);
    for (; blocks > 0; blocks--, in += 64) {
        if (blocks == 1) fl = (uint8_t)(fl | fe);
        coco__blake3_compress(lvl, cv, in, 64, ctr, fl);
        fl = flags;
    }
    coco__b3_words_to_bytes(cv, 8, out);
}

/* Hashes n inputs of `blocks` whole blocks each, widest SIMD first; see hash4 for the rest. */
COCO__PRIVATE void coco__blake3_hash_many(int lvl, const uint8_t* const* in, size_t n,
                                          size_t blocks, const uint32_t key[8], uint64_t ctr,
                                          int inc, uint8_t flags, uint8_t fs, uint8_t fe,
                                          uint8_t* out) {
#if COCO__X86
    if (lvl >= COCO__SIMD_AVX512) {
        for (; n >= 16; n -= 16, in += 16, out += 16 * 32, ctr += inc ? 16 : 0)
            coco__b3_hash16_avx512(in, blocks, key, ctr, inc, flags, fs, fe, out);
    }
    if (lvl >= COCO__SIMD_AVX2) {
        for (; n >= 8; n -= 8, in += 8, out += 8 * 32, ctr += inc ? 8 : 0)
            coco__b3_hash8_avx2(in, blocks, key, ctr, inc, flags, fs, fe, out);
    }
    if (lvl >= COCO__SIMD_SSE41) {
        for (; n >= 4; n -= 4, in += 4, out += 4 * 32, ctr += inc ? 4 : 0)
            coco__b3_hash4_sse41(in, blocks, key, ctr, inc, flags, fs, fe, out);
    }
#endif
    for (; n > 0; n--, in++, out += 32, ctr += inc ? 1 : 0)
        coco__b3_hash_one(lvl, *in, blocks, key, ctr, flags, fs, fe, out);
}

/* ---- tree --------------------------------------------------------------------------------- */
/* CV of one chunk (1..1024 bytes) that is not the root. */
COCO__PRIVATE void coco__b3_chunk_cv(int lvl, const uint8_t* in, size_t len,
                                     const uint32_t key[8], uint64_t ctr, uint8_t flags,
                                     uint8_t out[32]) {
    uint32_t cv[8];
    uint8_t last[64];
    uint8_t fl = (uint8_t)(flags | COCO__B3_CHUNK_START);
    memcpy(cv, key, 32);
    for (; len > 64; len -= 64, in += 64) {
        coco__blake3_compress(lvl, cv, in, 64, ctr, fl);
        fl = flags;
    }
    memset(last, 0, sizeof last);
    memcpy(last, in, len);
    coco__blake3_compress(lvl, cv, last, (uint8_t)len, ctr, (uint8_t)(fl | COCO__B3_CHUNK_END));
    coco__b3_words_to_bytes(cv, 8, out);
}

/* Largest power of two <= x (x >= 1). */
COCO__PRIVATE uint64_t coco__b3_pow2_floor(uint64_t x) {
    uint64_t p = 1;
    while (x >>= 1) p <<= 1;
    return p;
}

COCO__PRIVATE unsigned coco__b3_popcount(uint64_t x) {
    unsigned n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

/* Parents of the pairs of n CVs (the odd last one is carried up); returns (n + 1) / 2. */
COCO__PRIVATE size_t coco__b3_parents(int lvl, const uint8_t* cvs, size_t n,
                                      const uint32_t key[8], uint8_t flags, uint8_t* out) {
    const uint8_t* ptrs[COCO__B3_MAX_DEGREE];
    size_t i, np = n / 2;
    for (i = 0; i < np; i++) ptrs[i] = cvs + 64 * i;
    coco__blake3_hash_many(lvl, ptrs, np, 1, key, 0, 0,
                           (uint8_t)(flags | COCO__B3_PARENT), 0, 0, out);
    if (n & 1) memcpy(out + 32 * np, cvs + 64 * np, 32);
    return np + (n & 1);
}

/* Hashes len bytes (len > 0) starting at chunk ctr, a complete subtree unless it is the
   right edge of the input, down to at most max(degree, 2) CVs, written to out; returns how
   many. Chunks go through hash_many `degree` at a time, and so do the parents. */
COCO__PRIVATE size_t coco__b3_subtree_wide(int lvl, const uint8_t* in, size_t len,
                                           const uint32_t key[8], uint64_t ctr,
                                           uint8_t flags, uint8_t* out) {
    size_t deg = coco__b3_degree(lvl);
    if (len <= deg * COCO__B3_CHUNK_LEN) {
        const uint8_t* ptrs[COCO__B3_MAX_DEGREE];
        size_t n = 0;
        for (; len >= COCO__B3_CHUNK_LEN; len -= COCO__B3_CHUNK_LEN, in += COCO__B3_CHUNK_LEN)
            ptrs[n++] = in;
        coco__blake3_hash_many(lvl, ptrs, n, COCO__B3_CHUNK_LEN / COCO__B3_BLOCK_LEN, key, ctr,
                               1, flags, COCO__B3_CHUNK_START, COCO__B3_CHUNK_END, out);
        if (len > 0) {
            coco__b3_chunk_cv(lvl, in, len, key, ctr + n, flags, out + 32 * n);
            n++;
        }
        return n;
    } else {
        uint8_t cvs[2 * COCO__B3_MAX_DEGREE * 32];
        size_t left = (size_t)coco__b3_pow2_floor((len - 1) / COCO__B3_CHUNK_LEN) *
                      COCO__B3_CHUNK_LEN;
        size_t nl = coco__b3_subtree_wide(lvl, in, left, key, ctr, flags, cvs);
        size_t nr = coco__b3_subtree_wide(lvl, in + left, len - left, key,
                                          ctr + left / COCO__B3_CHUNK_LEN, flags, cvs + 32 * nl);
        if (nl == 1) {              /* degree 1: two chunks, keep both */
            memcpy(out, cvs, 64);
            return 2;
        }
        return coco__b3_parents(lvl, cvs, nl + nr, key, flags, out);
    }
}

/* Hashes len > 1024 bytes (a complete subtree or the right edge) down to the two CVs that
   are the children of its top node; they go to out[0..63]. */
COCO__PRIVATE void coco__b3_subtree_top(int lvl, const uint8_t* in, size_t len,
                                        const uint32_t key[8], uint64_t ctr, uint8_t flags,
                                        uint8_t out[64]) {
    uint8_t a[COCO__B3_MAX_DEGREE * 32], b[COCO__B3_MAX_DEGREE * 32];
    size_t n = coco__b3_subtree_wide(lvl, in, len, key, ctr, flags, a);
    while (n > 2) {
        n = coco__b3_parents(lvl, a, n, key, flags, b);
        memcpy(a, b, 32 * n);
    }
    memcpy(out, a, 64);
}

/* An output node: the last compression's inputs, kept to compress it as the root. */
typedef struct coco__b3_node {
    uint32_t cv[8];
    uint8_t  block[64];
    uint64_t counter;
    uint8_t  len;
    uint8_t  flags;
} coco__b3_node;

COCO__PRIVATE void coco__b3_parent_node(const coco_hasher* h, const uint8_t left[32],
                                        const uint8_t right[32], coco__b3_node* n) {
    memcpy(n->cv, h->key, 32);
    memcpy(n->block, left, 32);
    memcpy(n->block + 32, right, 32);
    n->counter = 0;
    n->len = 64;
    n->flags = (uint8_t)(h->flags | COCO__B3_PARENT);
}

COCO__PRIVATE void coco__b3_node_cv(int lvl, const coco__b3_node* n, uint8_t out[32]) {
    uint32_t cv[8];
    memcpy(cv, n->cv, 32);
    coco__blake3_compress(lvl, cv, n->block, n->len, n->counter, n->flags);
    coco__b3_words_to_bytes(cv, 8, out);
}

/* ---- streaming hasher --------------------------------------------------------------------- */
COCO__PRIVATE void coco__b3_init(coco_hasher* h, const uint32_t key[8], uint8_t flags) {
    memset(h, 0, sizeof *h);
    memcpy(h->key, key, 32);
    memcpy(h->cv, key, 32);
    h->flags = flags;
}

COCO__PRIVATE size_t coco__b3_chunk_len(const coco_hasher* h) {
    return (size_t)h->blocks_done * COCO__B3_BLOCK_LEN + h->buf_len;
}

COCO__PRIVATE uint8_t coco__b3_start_flag(const coco_hasher* h) {
    return h->blocks_done == 0 ? (uint8_t)COCO__B3_CHUNK_START : (uint8_t)0;
}

/* Adds bytes to the chunk in progress (never past 1024). The last block is kept in buf
   until more input shows it is not the chunk's last. */
COCO__PRIVATE void coco__b3_chunk_update(int lvl, coco_hasher* h, const uint8_t* in,
                                         size_t len) {
    while (len > 0) {
        size_t take;
        if (h->buf_len == COCO__B3_BLOCK_LEN) {
            coco__blake3_compress(lvl, h->cv, h->buf, 64, h->chunk_counter,
                                  (uint8_t)(h->flags | coco__b3_start_flag(h)));
            h->blocks_done++;
            h->buf_len = 0;
        }
        if (h->buf_len == 0) {
            for (; len > COCO__B3_BLOCK_LEN; len -= 64, in += 64) {
                coco__blake3_compress(lvl, h->cv, in, 64, h->chunk_counter,
                                      (uint8_t)(h->flags | coco__b3_start_flag(h)));
                h->blocks_done++;
            }
        }
        take = COCO__B3_BLOCK_LEN - h->buf_len;
        if (take > len) take = len;
        memcpy(h->buf + h->buf_len, in, take);
        h->buf_len = (uint8_t)(h->buf_len + take);
        in += take;
        len -= take;
    }
}

COCO__PRIVATE void coco__b3_chunk_node(const coco_hasher* h, coco__b3_node* n) {
    memcpy(n->cv, h->cv, 32);
    memset(n->block, 0, 64);
    memcpy(n->block, h->buf, h->buf_len);
    n->counter = h->chunk_counter;
    n->len = h->buf_len;
    n->flags = (uint8_t)(h->flags | coco__b3_start_flag(h) | COCO__B3_CHUNK_END);
}

/* Merges the top of the stack until it holds one CV per 1 bit of total_chunks (the complete
   subtrees among that many chunks). Lazy: called only once more input is known to follow,
   so a merge never makes the root. */
COCO__PRIVATE void coco__b3_merge(int lvl, coco_hasher* h, uint64_t total_chunks) {
    unsigned keep = coco__b3_popcount(total_chunks);
    while (h->stack_len > keep) {
        uint32_t cv[8];
        memcpy(cv, h->key, 32);
        coco__blake3_compress(lvl, cv, h->stack[h->stack_len - 2], 64, 0,
                              (uint8_t)(h->flags | COCO__B3_PARENT));
        coco__b3_words_to_bytes(cv, 8, h->stack[h->stack_len - 2]);
        h->stack_len--;
    }
}

COCO__PRIVATE void coco__b3_push(int lvl, coco_hasher* h, const uint8_t cv[32],
                                 uint64_t chunk_index) {
    coco__b3_merge(lvl, h, chunk_index);
    memcpy(h->stack[h->stack_len], cv, 32);
    h->stack_len++;
}

COCO__PRIVATE void coco__b3_chunk_reset(coco_hasher* h, uint64_t counter) {
    memcpy(h->cv, h->key, 32);
    h->chunk_counter = counter;
    h->buf_len = 0;
    h->blocks_done = 0;
}

/* The root node of everything fed so far. */
COCO__PRIVATE void coco__b3_root(int lvl, const coco_hasher* h, coco__b3_node* n) {
    size_t left;
    uint8_t cv[32];
    if (h->stack_len == 0) {
        coco__b3_chunk_node(h, n);
        return;
    }
    if (coco__b3_chunk_len(h) > 0) {
        coco__b3_chunk_node(h, n);
        left = h->stack_len;
    } else {        /* input ended on a subtree: its two halves are the top two entries */
        left = (size_t)h->stack_len - 2;
        coco__b3_parent_node(h, h->stack[left], h->stack[left + 1], n);
    }
    while (left > 0) {
        left--;
        coco__b3_node_cv(lvl, n, cv);
        coco__b3_parent_node(h, h->stack[left], cv, n);
    }
}

COCO_API void coco_hasher_init(coco_hasher* h) {
    coco__b3_init(h, coco__b3_iv, 0);
}

COCO_API void coco_hasher_init_keyed(coco_hasher* h, const uint8_t key[32]) {
    uint32_t k[8];
    int i;
    for (i = 0; i < 8; i++) k[i] = coco__b3_ld32(key + 4 * i);
    coco__b3_init(h, k, (uint8_t)COCO__B3_KEYED_HASH);
}

COCO_API void coco_hasher_init_derive_key(coco_hasher* h, const char* context) {
    uint8_t ck[32];
    uint32_t k[8];
    int i;
    coco__b3_init(h, coco__b3_iv, (uint8_t)COCO__B3_DERIVE_KEY_CONTEXT);
    coco_hasher_update(h, context, strlen(context));
    coco_hasher_finalize(h, ck, 32);
    for (i = 0; i < 8; i++) k[i] = coco__b3_ld32(ck + 4 * i);
    coco__b3_init(h, k, (uint8_t)COCO__B3_DERIVE_KEY_MATERIAL);
}

COCO_API void coco_hasher_update(coco_hasher* h, const void* data, size_t len) {
    const uint8_t* in = (const uint8_t*)data;
    int lvl;
    if (len == 0) return;
    lvl = coco__b3_level();
    if (coco__b3_chunk_len(h) > 0) {            /* finish the chunk in progress */
        size_t take = COCO__B3_CHUNK_LEN - coco__b3_chunk_len(h);
        coco__b3_node n;
        uint8_t cv[32];
        if (take > len) take = len;
        coco__b3_chunk_update(lvl, h, in, take);
        in += take;
        len -= take;
        if (len == 0) return;
        coco__b3_chunk_node(h, &n);
        coco__b3_node_cv(lvl, &n, cv);
        coco__b3_push(lvl, h, cv, h->chunk_counter);
        coco__b3_chunk_reset(h, h->chunk_counter + 1);
    }
    /* Whole subtrees: the largest power of two chunks that fits, is aligned to the chunk
       count so far, and leaves at least one byte (the last chunk may be the root). */
    while (len > COCO__B3_CHUNK_LEN) {
        uint64_t sub = coco__b3_pow2_floor((uint64_t)len);
        uint64_t chunks = sub / COCO__B3_CHUNK_LEN;
        while ((h->chunk_counter & (chunks - 1)) != 0) {
            sub >>= 1;
            chunks >>= 1;
        }
        if (chunks == 1) {
            uint8_t cv[32];
            coco__b3_chunk_cv(lvl, in, COCO__B3_CHUNK_LEN, h->key, h->chunk_counter, h->flags, cv);
            coco__b3_push(lvl, h, cv, h->chunk_counter);
        } else {
            uint8_t two[64];
            coco__b3_subtree_top(lvl, in, (size_t)sub, h->key, h->chunk_counter, h->flags, two);
            coco__b3_push(lvl, h, two, h->chunk_counter);
            coco__b3_push(lvl, h, two + 32, h->chunk_counter + chunks / 2);
        }
        coco__b3_chunk_reset(h, h->chunk_counter + chunks);
        in += sub;
        len -= (size_t)sub;
    }
    if (len > 0) {
        coco__b3_chunk_update(lvl, h, in, len);
        coco__b3_merge(lvl, h, h->chunk_counter);
    }
}

COCO_API void coco_hasher_finalize_seek(const coco_hasher* h, uint64_t seek, uint8_t* out,
                                        size_t out_len) {
    int lvl = coco__b3_level();
    coco__b3_node n;
    uint8_t tmp[64];
    uint64_t ctr = seek / 64;
    size_t off = (size_t)(seek % 64);
    if (out_len == 0) return;
    coco__b3_root(lvl, h, &n);
    n.flags = (uint8_t)(n.flags | COCO__B3_ROOT);
    while (out_len > 0) {
        size_t take = 64 - off;
        if (take > out_len) take = out_len;
        if (take == 64) {
            coco__blake3_compress_xof(lvl, n.cv, n.block, n.len, ctr, n.flags, out);
        } else {
            coco__blake3_compress_xof(lvl, n.cv, n.block, n.len, ctr, n.flags, tmp);
            memcpy(out, tmp + off, take);
        }
        out += take;
        out_len -= take;
        off = 0;
        ctr++;
    }
}

COCO_API void coco_hasher_finalize(const coco_hasher* h, uint8_t* out, size_t out_len) {
    coco_hasher_finalize_seek(h, 0, out, out_len);
}

COCO_API coco_fp coco_hasher_fp(const coco_hasher* h) {
    coco_fp fp;
    coco_hasher_finalize(h, fp.bytes, sizeof fp.bytes);
    return fp;
}

COCO_API coco_fp coco_fp_of(const void* data, size_t len) {
    coco_hasher h;
    coco_hasher_init(&h);
    coco_hasher_update(&h, data, len);
    return coco_hasher_fp(&h);
}

COCO_API int coco_fp_eq(coco_fp a, coco_fp b) {
    return memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
}

COCO_API char* coco_fp_hex(coco_fp fp, char out[33]) {
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 16; i++) {
        out[2 * i] = digits[fp.bytes[i] >> 4];
        out[2 * i + 1] = digits[fp.bytes[i] & 15];
    }
    out[32] = '\0';
    return out;
}

COCO_API const char* coco_fp_simd(void) {
    switch (coco__b3_level()) {
    case COCO__SIMD_AVX512: return "avx512";
    case COCO__SIMD_AVX2:   return "avx2";
    case COCO__SIMD_SSE41:  return "sse41";
    default:                return "portable";
    }
}

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
#define COCO__ARENA_MAX ((size_t)4 << 20)

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
        /* blocks double up to COCO__ARENA_MAX; header + data is a power of two, so the big
           ones fill whole huge pages of the default allocator */
        size_t bs = b ? (b->size + COCO__ARENA_HDR) * 2 - COCO__ARENA_HDR
                      : COCO__ARENA_MIN - COCO__ARENA_HDR;
        if (bs > COCO__ARENA_MAX - COCO__ARENA_HDR) bs = COCO__ARENA_MAX - COCO__ARENA_HDR;
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
COCO_API coco_value coco_uuid(const uint8_t bytes[16]) {
    coco_value v = coco_strn((const char*)bytes, 16); v.kind = COCO_UUID; return v;
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
#define COCO__EXT_UUID 4

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
    for (i = 1; i < n && coco__map_entry_cmp(&kc, i - 1, i) < 0; i++) { }
    if (i < n) coco__msort(order, tmp, n, coco__map_entry_cmp, &kc);   /* not sorted yet */
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
    unsigned char small[256];
    const coco_object_vtable* vt = v->u.obj.vt;
    if (!vt || !vt->memo_key)
        return coco__arena_fail(e->arena, COCO_ERR_INVALID_ARG,
                                "object value without a memo_key function");
    if ((rc = vt->memo_key(v->u.obj.obj, e->arena, &key)) != COCO_OK)
        return coco__arena_fail(e->arena, rc, "memo_key of a '%s' object failed",
                                vt->type_name ? vt->type_name : "?");
    pair[0] = coco_str(vt->type_name ? vt->type_name : "");
    pair[1] = key;
    /* the ext payload needs its length up front: encode the pair aside first (on the stack
       when it is small) */
    coco__buf_init(&inner, &e->arena->a);
    inner.ptr = small;
    inner.cap = sizeof small;
    inner.fixed = 1;
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
    if (!inner.fixed) coco__buf_free(&inner);
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
    case COCO_UUID:
        if (v->u.s.len != 16)
            return coco__arena_fail(e->arena, COCO_ERR_INVALID_ARG, "uuid of %zu bytes",
                                    v->u.s.len);
        coco__enc_ext_hdr(e, COCO__EXT_UUID, 16);
        coco__enc_put(e, v->u.s.ptr, 16);
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
    unsigned char small[512];
    if (!arena || !v || !out) return COCO_ERR_INVALID_ARG;
    /* small values encode on the stack (no heap round trip), larger ones move to the heap */
    coco__buf_init(&b, &arena->a);
    b.ptr = small;
    b.cap = sizeof small;
    b.fixed = 1;
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
    if (!b.fixed) coco__buf_free(&b);
    return rc;
}

COCO_API coco_result coco_value_fp(coco_arena* arena, const coco_value* v, coco_fp* out) {
    coco_hasher h;
    coco__enc e;
    coco_result rc;
    unsigned char small[1024];
    coco__buf b;
    if (!arena || !v || !out) return COCO_ERR_INVALID_ARG;
    /* small values: encode into the stack, hash once (feeding the hasher byte by byte costs
       more than the encoding); large ones stream into the hasher */
    coco__buf_init(&b, &arena->a);
    b.ptr = small;
    b.cap = sizeof small;
    b.fixed = 1;
    e.buf = &b; e.hasher = NULL; e.arena = arena; e.oom = 0;
    rc = coco__enc_value(&e, v, 0);
    if (rc == COCO_OK && b.fixed) {
        *out = coco_fp_of(small, b.len);
        return COCO_OK;
    }
    if (!b.fixed) coco__buf_free(&b);
    if (rc != COCO_OK) return rc;
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
    int                  borrow;   /* BYTES point into the input (which outlives the values) */
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
    if (d->borrow && kind == COCO_BYTES) {
        /* a record's children list: 100k fingerprints need not be copied */
        *out = coco_bytes_val(d->p, n);
        d->p += n;
        return COCO_OK;
    }
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
    case COCO__EXT_UUID:
        if (n != 16) return coco__dec_fail(d, at, "uuid of %zu bytes", n);
        return coco__dec_blob(d, at, n, COCO_UUID, out);
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

/* coco_value_decode; with `borrow`, BYTES values point into `data`, which must outlive them. */
COCO__PRIVATE coco_result coco__value_decode(coco_arena* arena, const void* data, size_t len,
                                             coco_value* out, int borrow) {
    coco__dec d;
    coco_value v;
    coco_result rc;
    if (!arena || (!data && len) || !out) return COCO_ERR_INVALID_ARG;
    d.base = d.p = (const unsigned char*)data;
    d.end = d.base + len;
    d.arena = arena;
    d.borrow = borrow;
    if ((rc = coco__dec_value(&d, &v, 0)) != COCO_OK) return rc;
    if (d.p != d.end) return coco__dec_fail(&d, d.p, "%zu trailing bytes after the value",
                                            (size_t)(d.end - d.p));
    *out = v;
    return COCO_OK;
}
COCO_API coco_result coco_value_decode(coco_arena* arena, const void* data, size_t len,
                                       coco_value* out) {
    return coco__value_decode(arena, data, len, out, 0);
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
    case COCO_STR: case COCO_BYTES: case COCO_SYMBOL: case COCO_UUID: {
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
   >>impl_json -- JSON parser and writer (Private, public wrappers last)
   Depends on: >>impl_util (coco__buf), >>impl_value (coco_arena, coco__arena_fail).
   ============================================================================================== */

/* Length of the valid UTF-8 sequence at p (1..4), 0 if none starts there: no overlong forms,
   no surrogates, nothing above U+10FFFF. */
COCO__PRIVATE size_t coco__u8_valid_at(const unsigned char* p, size_t avail) {
    unsigned char b = p[0];
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (b >= 0xE0 && b <= 0xEF) {
        unsigned char lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
        return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        unsigned char lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
        return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
                       (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

COCO__PRIVATE void coco__u8_put(unsigned char* o, size_t* n, uint32_t cp) {
    if (cp < 0x80) { o[(*n)++] = (unsigned char)cp; return; }
    if (cp < 0x800) {
        o[(*n)++] = (unsigned char)(0xC0 | (cp >> 6));
    } else if (cp < 0x10000) {
        o[(*n)++] = (unsigned char)(0xE0 | (cp >> 12));
        o[(*n)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    } else {
        o[(*n)++] = (unsigned char)(0xF0 | (cp >> 18));
        o[(*n)++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*n)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    }
    o[(*n)++] = (unsigned char)(0x80 | (cp & 0x3F));
}

/* ---- parser --------------------------------------------------------------------------------- */
typedef struct coco__jp {
    const unsigned char *base, *p, *end;
    coco_arena*          arena;
    coco__buf            vals;   /* elements of the arrays being parsed, innermost last       */
    coco__buf            ents;   /* members of the objects being parsed, innermost last       */
    coco__buf            str;    /* a string with escapes, being decoded                      */
} coco__jp;

COCO__PRINTF(3, 4)
COCO__PRIVATE coco_result coco__jp_fail(coco__jp* j, const unsigned char* at, const char* fmt,
                                        ...) {
    char what[160];
    const unsigned char* q;
    size_t line = 1, col = 1;
    va_list ap;
    va_start(ap, fmt);
    coco__vfmt(what, sizeof what, fmt, ap);
    va_end(ap);
    for (q = j->base; q < at; q++) {
        if (*q == '\n') { line++; col = 1; }
        else if ((*q & 0xC0) != 0x80) col++;
    }
    return coco__arena_fail(j->arena, COCO_ERR_DECODE, "JSON line %zu, column %zu (byte %zu): %s",
                            line, col, (size_t)(at - j->base), what);
}

/* How a byte is named in messages. */
COCO__PRIVATE const char* coco__jp_show(unsigned char c, char buf[8]) {
    if (c >= 0x21 && c < 0x7F) coco__fmt(buf, 8, "'%c'", c);
    else coco__fmt(buf, 8, "0x%02x", c);
    return buf;
}

COCO__PRIVATE void coco__jp_ws(coco__jp* j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

COCO__PRIVATE int coco__jp_hex4(const unsigned char* p, uint32_t* out) {
    uint32_t v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* j->p at the opening quote; on success *s and *n are the decoded bytes in the arena. */
COCO__PRIVATE coco_result coco__jp_string(coco__jp* j, const char** s, size_t* n) {
    const unsigned char* open = j->p++;
    const unsigned char* q = j->p;
    char* copy;
    j->str.len = 0;
    for (;;) {
        /* plain run: copied in one piece */
        const unsigned char* run = q;
        while (q < j->end && *q != '"' && *q != '\\' && *q >= 0x20) {
            size_t k = coco__u8_valid_at(q, (size_t)(j->end - q));
            if (!k) return coco__jp_fail(j, q, "invalid UTF-8 in a string");
            q += k;
        }
        if (coco__buf_put(&j->str, run, (size_t)(q - run))) return COCO_ERR_NOMEM;
        if (q >= j->end) return coco__jp_fail(j, open, "string not closed before the end");
        if (*q == '"') break;
        if (*q < 0x20) {
            return coco__jp_fail(j, q, "control character 0x%02x in a string (must be escaped)",
                                 *q);
        }
        /* an escape */
        if (q + 1 >= j->end) return coco__jp_fail(j, q, "string not closed before the end");
        {
            unsigned char e = q[1], u8[4];
            size_t un = 0;
            uint32_t cp, lo;
            switch (e) {
            case '"': case '\\': case '/': u8[un++] = e; break;
            case 'b': u8[un++] = '\b'; break;
            case 'f': u8[un++] = '\f'; break;
            case 'n': u8[un++] = '\n'; break;
            case 'r': u8[un++] = '\r'; break;
            case 't': u8[un++] = '\t'; break;
            case 'u':
                if (j->end - q < 6 || !coco__jp_hex4(q + 2, &cp))
                    return coco__jp_fail(j, q, "\\u needs four hex digits");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return coco__jp_fail(j, q, "lone low surrogate \\u%04X", (unsigned)cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (j->end - q < 12 || q[6] != '\\' || q[7] != 'u' ||
                        !coco__jp_hex4(q + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return coco__jp_fail(j, q, "high surrogate \\u%04X without a low one",
                                             (unsigned)cp);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    q += 6;
                }
                coco__u8_put(u8, &un, cp);
                q += 4;
                break;
            default: {
                char b[8];
                return coco__jp_fail(j, q, "unknown escape \\%s", coco__jp_show(e, b));
            }
            }
            if (coco__buf_put(&j->str, u8, un)) return COCO_ERR_NOMEM;
            q += 2;
        }
    }
    j->p = q + 1;
    copy = coco_arena_strndup(j->arena, j->str.len ? (const char*)j->str.ptr : "", j->str.len);
    if (!copy) return COCO_ERR_NOMEM;
    *s = copy;
    *n = j->str.len;
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__jp_number(coco__jp* j, coco_value* out) {
    const unsigned char* start = j->p;
    const unsigned char* q = j->p;
    int neg = 0, is_float = 0;
    if (*q == '-') { neg = 1; q++; }
    if (q >= j->end || *q < '0' || *q > '9') return coco__jp_fail(j, start, "a number needs digits");
    if (*q == '0') {
        q++;
        if (q < j->end && *q >= '0' && *q <= '9')
            return coco__jp_fail(j, start, "a number may not start with 0");
    } else {
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && *q == '.') {
        is_float = 1;
        q++;
        if (q >= j->end || *q < '0' || *q > '9')
            return coco__jp_fail(j, q, "digits must follow the decimal point");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        is_float = 1;
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || *q < '0' || *q > '9')
            return coco__jp_fail(j, q, "digits must follow the exponent");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    j->p = q;
    if (!is_float) {
        /* exact int64 when it fits; a float otherwise */
        const unsigned char* d = start + neg;
        uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
        int fits = 1;
        for (; d < q; d++) {
            uint64_t dig = (uint64_t)(*d - '0');
            if (u > (lim - dig) / 10) { fits = 0; break; }
            u = u * 10 + dig;
        }
        if (fits) {
            *out = coco_int(neg ? (u == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)u)
                                : (int64_t)u);
            return COCO_OK;
        }
    }
    {
        /* strtod wants a NUL-terminated text with the locale's decimal point */
        size_t n = (size_t)(q - start), i;
        char small[64];
        char* t = n < sizeof small ? small : (char*)coco_arena_alloc(j->arena, n + 1);
        char dp = localeconv()->decimal_point[0];
        double d;
        if (!t) return COCO_ERR_NOMEM;
        memcpy(t, start, n);
        t[n] = 0;
        if (dp && dp != '.')
            for (i = 0; i < n; i++) if (t[i] == '.') t[i] = dp;
        d = strtod(t, NULL);
        if (d > DBL_MAX || d < -DBL_MAX)
            return coco__jp_fail(j, start, "number %.40s%s is out of range", t,
                                 n > 40 ? "..." : "");
        *out = coco_float(d);
        return COCO_OK;
    }
}

COCO__PRIVATE int coco__jp_keycmp(const void* a, const void* b) {
    const coco_map_entry* x = *(const coco_map_entry* const*)a;
    const coco_map_entry* y = *(const coco_map_entry* const*)b;
    size_t n = COCO__MIN(x->key_len, y->key_len);
    int c = n ? memcmp(x->key, y->key, n) : 0;
    return c ? c : (x->key_len < y->key_len ? -1 : x->key_len > y->key_len);
}

/* The first member name that appears twice, or NULL. */
COCO__PRIVATE const coco_map_entry* coco__jp_dup(coco__jp* j, const coco_map_entry* e, size_t n,
                                                 int* oom) {
    const coco_map_entry* dup = NULL;
    const coco_map_entry** s;
    size_t i, k;
    if (n <= 16) {
        for (i = 0; i < n; i++)
            for (k = i + 1; k < n; k++) {
                const coco_map_entry *x = &e[i], *y = &e[k];
                if (!coco__jp_keycmp(&x, &y)) return y;
            }
        return NULL;
    }
    s = (const coco_map_entry**)coco__alloc(&j->arena->a, n * sizeof *s);
    if (!s) { *oom = 1; return NULL; }
    for (i = 0; i < n; i++) s[i] = &e[i];
    qsort((void*)s, n, sizeof *s, coco__jp_keycmp);
    for (i = 1; i < n && !dup; i++)
        if (!coco__jp_keycmp(&s[i - 1], &s[i])) dup = s[i];
    coco__free(&j->arena->a, (void*)s, n * sizeof *s);
    return dup;
}

COCO__PRIVATE coco_result coco__jp_value(coco__jp* j, coco_value* out, int depth);

COCO__PRIVATE coco_result coco__jp_array(coco__jp* j, coco_value* out, int depth) {
    size_t base = j->vals.len, n;
    coco_value* items = NULL;
    coco_result rc;
    j->p++;
    coco__jp_ws(j);
    if (j->p < j->end && *j->p == ']') { j->p++; *out = coco_list(NULL, 0); return COCO_OK; }
    for (;;) {
        coco_value v;
        if ((rc = coco__jp_value(j, &v, depth + 1)) != COCO_OK) return rc;
        if (coco__buf_put(&j->vals, &v, sizeof v)) return COCO_ERR_NOMEM;
        coco__jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            coco__jp_ws(j);
            if (j->p < j->end && *j->p == ']') return coco__jp_fail(j, j->p, "trailing comma");
            continue;
        }
        if (j->p < j->end && *j->p == ']') { j->p++; break; }
        return coco__jp_fail(j, j->p, j->p < j->end ? "expected ',' or ']' after an element"
                                                    : "array not closed before the end");
    }
    n = (j->vals.len - base) / sizeof(coco_value);
    if (!(items = (coco_value*)coco_arena_alloc(j->arena, n * sizeof *items)))
        return COCO_ERR_NOMEM;
    memcpy(items, j->vals.ptr + base, n * sizeof *items);
    j->vals.len = base;
    *out = coco_list(items, n);
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__jp_object(coco__jp* j, coco_value* out, int depth) {
    size_t base = j->ents.len, n;
    coco_map_entry* ents;
    const coco_map_entry* dup;
    const unsigned char* open = j->p;
    coco_result rc;
    int oom = 0;
    j->p++;
    coco__jp_ws(j);
    if (j->p < j->end && *j->p == '}') { j->p++; *out = coco_map(NULL, 0); return COCO_OK; }
    for (;;) {
        coco_map_entry e;
        if (j->p >= j->end) return coco__jp_fail(j, j->p, "object not closed before the end");
        if (*j->p != '"') return coco__jp_fail(j, j->p, "expected a member name in double quotes");
        if ((rc = coco__jp_string(j, &e.key, &e.key_len)) != COCO_OK) return rc;
        coco__jp_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return coco__jp_fail(j, j->p, "expected ':' after the member name");
        j->p++;
        if ((rc = coco__jp_value(j, &e.val, depth + 1)) != COCO_OK) return rc;
        if (coco__buf_put(&j->ents, &e, sizeof e)) return COCO_ERR_NOMEM;
        coco__jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            coco__jp_ws(j);
            if (j->p < j->end && *j->p == '}') return coco__jp_fail(j, j->p, "trailing comma");
            continue;
        }
        if (j->p < j->end && *j->p == '}') { j->p++; break; }
        return coco__jp_fail(j, j->p, j->p < j->end ? "expected ',' or '}' after a member"
                                                    : "object not closed before the end");
    }
    n = (j->ents.len - base) / sizeof(coco_map_entry);
    if (!(ents = (coco_map_entry*)coco_arena_alloc(j->arena, n * sizeof *ents)))
        return COCO_ERR_NOMEM;
    memcpy(ents, j->ents.ptr + base, n * sizeof *ents);
    j->ents.len = base;
    if ((dup = coco__jp_dup(j, ents, n, &oom)) != NULL)
        return coco__jp_fail(j, open, "member \"%.*s\" appears twice in this object",
                             (int)COCO__MIN(dup->key_len, 60), dup->key);
    if (oom) return COCO_ERR_NOMEM;
    *out = coco_map(ents, n);
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__jp_value(coco__jp* j, coco_value* out, int depth) {
    char b[8];
    size_t left;
    coco__jp_ws(j);
    if (j->p >= j->end) return coco__jp_fail(j, j->p, "expected a value, found the end");
    if (depth > COCO__MAX_DEPTH)
        return coco__jp_fail(j, j->p, "nesting deeper than %d levels", COCO__MAX_DEPTH);
    left = (size_t)(j->end - j->p);
    switch (*j->p) {
    case '{': return coco__jp_object(j, out, depth);
    case '[': return coco__jp_array(j, out, depth);
    case '"': {
        const char* s;
        size_t n;
        coco_result rc = coco__jp_string(j, &s, &n);
        if (rc == COCO_OK) *out = coco_strn(s, n);
        return rc;
    }
    case 't':
        if (left >= 4 && !memcmp(j->p, "true", 4)) {
            j->p += 4; *out = coco_bool(1); return COCO_OK;
        }
        break;
    case 'f':
        if (left >= 5 && !memcmp(j->p, "false", 5)) {
            j->p += 5; *out = coco_bool(0); return COCO_OK;
        }
        break;
    case 'n':
        if (left >= 4 && !memcmp(j->p, "null", 4)) {
            j->p += 4; *out = coco_null(); return COCO_OK;
        }
        break;
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return coco__jp_number(j, out);
        break;
    }
    return coco__jp_fail(j, j->p, "unexpected %s where a value should be",
                         coco__jp_show(*j->p, b));
}

COCO_API coco_result coco_json_parse(coco_arena* arena, const char* text, size_t len,
                                     coco_value* out) {
    coco__jp j;
    coco_value v;
    coco_result rc;
    if (!arena || !out || (!text && len)) return COCO_ERR_INVALID_ARG;
    j.base = j.p = (const unsigned char*)(text ? text : "");
    j.end = j.base + len;
    j.arena = arena;
    coco__buf_init(&j.vals, &arena->a);
    coco__buf_init(&j.ents, &arena->a);
    coco__buf_init(&j.str, &arena->a);
    rc = coco__jp_value(&j, &v, 0);
    if (rc == COCO_OK) {
        coco__jp_ws(&j);
        if (j.p < j.end) {
            char b[8];
            rc = coco__jp_fail(&j, j.p, "unexpected %s after the JSON value",
                               coco__jp_show(*j.p, b));
        }
    }
    coco__buf_free(&j.vals);
    coco__buf_free(&j.ents);
    coco__buf_free(&j.str);
    if (rc == COCO_OK) *out = v;
    return rc;
}

/* ---- writer --------------------------------------------------------------------------------- */
typedef struct coco__jw {
    coco__buf   b;
    coco_arena* arena;
    int         oom;
} coco__jw;

COCO__PRIVATE void coco__jw_put(coco__jw* w, const char* s, size_t n) {
    if (coco__buf_put(&w->b, s, n)) w->oom = 1;
}

/* The shortest of %.{min..max}g that reads back to `d` (as a float when `as_float`), with the
   locale's decimal point turned into '.', and ".0" added when it would read as an integer. */
COCO__PRIVATE void coco__jw_number(coco__jw* w, double d, int as_float) {
    char t[40];
    int prec, n = 0;
    char dp = localeconv()->decimal_point[0];
    for (prec = 1; prec <= (as_float ? 9 : 17); prec++) {
        double back;
        n = snprintf(t, sizeof t, "%.*g", prec, d);
        back = strtod(t, NULL);
        if (as_float ? (float)back == (float)d : back == d) break;
    }
    if (n < 0 || n >= (int)sizeof t) { w->oom = 1; return; }
    {
        int i, shaped = 0;
        for (i = 0; i < n; i++) {
            if (t[i] == dp) t[i] = '.';
            if (t[i] == '.' || t[i] == 'e' || t[i] == 'E') shaped = 1;
        }
        coco__jw_put(w, t, (size_t)n);
        if (!shaped) coco__jw_put(w, ".0", 2);
    }
}

COCO__PRIVATE void coco__jw_string(coco__jw* w, const char* s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char* p = (const unsigned char*)s;
    size_t i = 0, run = 0;
    coco__jw_put(w, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        const char* esc = NULL;
        char u[6];
        size_t k;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { i++; continue; }
        if (c >= 0x80 && (k = coco__u8_valid_at(p + i, n - i)) != 0) { i += k; continue; }
        coco__jw_put(w, s + run, i - run);
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
                u[4] = hex[c >> 4]; u[5] = hex[c & 15];
                coco__jw_put(w, u, 6);
            } else {
                coco__jw_put(w, "\xEF\xBF\xBD", 3);   /* invalid UTF-8: U+FFFD */
            }
        }
        if (esc) coco__jw_put(w, esc, strlen(esc));
        run = ++i;
    }
    coco__jw_put(w, s + run, n - run);
    coco__jw_put(w, "\"", 1);
}

COCO__PRIVATE void coco__jw_base64(coco__jw* w, const unsigned char* p, size_t n) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    coco__jw_put(w, "\"", 1);
    for (i = 0; i + 2 < n; i += 3) {
        char o[4];
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        o[0] = al[v >> 18]; o[1] = al[(v >> 12) & 63]; o[2] = al[(v >> 6) & 63]; o[3] = al[v & 63];
        coco__jw_put(w, o, 4);
    }
    if (i < n) {
        char o[4];
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0u);
        o[0] = al[v >> 18]; o[1] = al[(v >> 12) & 63];
        o[2] = i + 1 < n ? al[(v >> 6) & 63] : '='; o[3] = '=';
        coco__jw_put(w, o, 4);
    }
    coco__jw_put(w, "\"", 1);
}

COCO__PRIVATE coco_result coco__jw_value(coco__jw* w, const coco_value* v, int depth) {
    size_t i;
    coco_result rc;
    char t[48];
    if (depth > COCO__MAX_DEPTH)
        return coco__arena_fail(w->arena, COCO_ERR_INVALID_ARG,
                                "value nests deeper than %d levels", COCO__MAX_DEPTH);
    switch (v->kind) {
    case COCO_NULL: coco__jw_put(w, "null", 4); return COCO_OK;
    case COCO_BOOL: coco__jw_put(w, v->u.b ? "true" : "false", v->u.b ? 4 : 5); return COCO_OK;
    case COCO_INT:
        coco__fmt(t, sizeof t, "%lld", (long long)v->u.i);
        coco__jw_put(w, t, strlen(t));
        return COCO_OK;
    case COCO_FLOAT:
        if (!(v->u.f <= DBL_MAX && v->u.f >= -DBL_MAX))
            return coco__arena_fail(w->arena, COCO_ERR_INVALID_ARG,
                                    "%s cannot be written as JSON", v->u.f != v->u.f ? "NaN"
                                                                                   : "infinity");
        coco__jw_number(w, v->u.f, 0);
        return COCO_OK;
    case COCO_STR: case COCO_SYMBOL:
        coco__jw_string(w, v->u.s.ptr, v->u.s.len);
        return COCO_OK;
    case COCO_BYTES:
        coco__jw_base64(w, (const unsigned char*)v->u.s.ptr, v->u.s.len);
        return COCO_OK;
    case COCO_UUID: {
        const unsigned char* u = (const unsigned char*)v->u.s.ptr;
        if (v->u.s.len != 16)
            return coco__arena_fail(w->arena, COCO_ERR_INVALID_ARG, "uuid of %zu bytes",
                                    v->u.s.len);
        coco__fmt(t, sizeof t, "\"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                  "%02x%02x%02x%02x%02x%02x\"", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                  u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        coco__jw_put(w, t, strlen(t));
        return COCO_OK;
    }
    case COCO_VEC_F32:
        coco__jw_put(w, "[", 1);
        for (i = 0; i < v->u.vec.dim; i++) {
            float f = v->u.vec.ptr[i];
            if (!(f <= FLT_MAX && f >= -FLT_MAX))
                return coco__arena_fail(w->arena, COCO_ERR_INVALID_ARG, "vector element %zu is "
                                        "%s: JSON has none", i, f != f ? "NaN" : "infinite");
            if (i) coco__jw_put(w, ",", 1);
            coco__jw_number(w, (double)f, 1);
        }
        coco__jw_put(w, "]", 1);
        return COCO_OK;
    case COCO_LIST:
        coco__jw_put(w, "[", 1);
        for (i = 0; i < v->u.list.count; i++) {
            if (i) coco__jw_put(w, ",", 1);
            if ((rc = coco__jw_value(w, &v->u.list.items[i], depth + 1)) != COCO_OK) return rc;
        }
        coco__jw_put(w, "]", 1);
        return COCO_OK;
    case COCO_MAP:
        coco__jw_put(w, "{", 1);
        for (i = 0; i < v->u.map.count; i++) {
            const coco_map_entry* e = &v->u.map.entries[i];
            if (i) coco__jw_put(w, ",", 1);
            coco__jw_string(w, e->key, e->key_len);
            coco__jw_put(w, ":", 1);
            if ((rc = coco__jw_value(w, &e->val, depth + 1)) != COCO_OK) return rc;
        }
        coco__jw_put(w, "}", 1);
        return COCO_OK;
    case COCO_OBJECT: {
        coco_value k;
        if (!v->u.obj.vt || !v->u.obj.vt->memo_key)
            return coco__arena_fail(w->arena, COCO_ERR_INVALID_ARG, "object without memo_key");
        if ((rc = v->u.obj.vt->memo_key(v->u.obj.obj, w->arena, &k)) != COCO_OK)
            return coco__arena_fail(w->arena, rc, "memo_key of a '%s' object failed",
                                    v->u.obj.vt->type_name ? v->u.obj.vt->type_name : "?");
        return coco__jw_value(w, &k, depth + 1);
    }
    default:
        return coco__arena_fail(w->arena, COCO_ERR_INVALID_ARG, "value of unknown kind %d",
                                (int)v->kind);
    }
}

COCO_API coco_result coco_json_write(coco_arena* arena, const coco_value* v, coco_bytes* out) {
    coco__jw w;
    coco_result rc;
    char* p = NULL;
    if (!arena || !v || !out) return COCO_ERR_INVALID_ARG;
    coco__buf_init(&w.b, &arena->a);
    w.arena = arena;
    w.oom = 0;
    rc = coco__jw_value(&w, v, 0);
    if (rc == COCO_OK && w.oom) rc = COCO_ERR_NOMEM;
    if (rc == COCO_OK && !(p = (char*)coco_arena_alloc(arena, w.b.len + 1))) rc = COCO_ERR_NOMEM;
    if (rc == COCO_OK) {
        if (w.b.len) memcpy(p, w.b.ptr, w.b.len);
        p[w.b.len] = 0;
        out->ptr = (const unsigned char*)p;
        out->len = w.b.len;
    }
    coco__buf_free(&w.b);
    return rc;
}

/* ==============================================================================================
   >>impl_store -- the embedded KV state store: log format, index, recovery, compaction (Private)
   Owns: coco__log (the built-in backend), coco_store and coco_txn (the generic front).
   Depends on: >>impl_platform, >>impl_util.

   File:   [header 64 B] [group] [group] ...
   Header: "COCOSTOR" | u32 format | u32 header size (64) | u32 flags | 16 B log id | zero ... |
           u32 crc32c of bytes 0..59
   Group:  u32 magic "COCG" | u32 record count | u64 payload bytes | u64 sequence | u32 zero |
           u32 crc32c of the previous 28 bytes | records (payload)
   Record: u32 crc32c of the rest | u8 op (1 put, 2 del) | varint klen | [varint vlen] | key | val
   A group is one commit: it is applied whole or not at all.  All integers little-endian.
   Index snapshot "<path>.idx": the in-memory index as of one group's end, written at a
   writer's close and after a compaction, so an open replays only the groups after it.  It is
   an optimisation only: used when it provably matches the log, else ignored (coco__idx_load).
   docs/store-format.md describes both files.
   ============================================================================================== */

#define COCO__FILE_HDR   64u
#define COCO__GROUP_HDR  32u
#define COCO__GROUP_MAGIC 0x47434f43u   /* "COCG" */
#define COCO__STORE_MAGIC "COCOSTOR"
#define COCO__LOG_ID_AT  20u            /* the log id lives in header bytes once always zero */
#define COCO__LOG_ID_LEN 16u
/* The index keeps 48 bits of a key's hash: a false match (costing one key comparison) stays
   rare at 2^-48 a probe, and each snapshot entry is 2 bytes smaller. */
#define COCO__LOG_HASH_MASK 0xffffffffffffull
#define COCO__REF_DEL ((uint64_t)1 << 63)
/* How far ahead an index update touches slots (and, half as far, the records they point at):
   far enough for the cache miss to land before the record's turn comes. */
#define COCO__PREFETCH_SLOT 16u
#define COCO__PREFETCH_REC  8u

#if defined(__GNUC__)
#  define COCO__PREFETCH(p) __builtin_prefetch(p)
#else
#  define COCO__PREFETCH(p) ((void)(p))
#endif

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

COCO__PRIVATE uint64_t coco__log_hash(const void* key, size_t n) {
    return coco__hash64(key, n) & COCO__LOG_HASH_MASK;
}

/* One record of the group being applied: its key hash and log offset (COCO__REF_DEL set for a
   delete).  A group's records are contiguous, so a record's size is the next offset minus
   its own: nothing else is needed to update the index. */
typedef struct coco__recref { uint64_t hash, off; } coco__recref;

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
    uint64_t        last_group;    /* offset of the header of the group ending at `end`; 0 none */
    uint64_t        seq;
    coco__map       index;         /* 48-bit key hash -> record offset */
    uint64_t        live_bytes;
    uint64_t        commits, compactions, truncated;
    double          compact_garbage;
    uint64_t        compact_min;
    int             failed;        /* a commit failed in a way that leaves the file unknown */
    coco__rwlock    rw;            /* readers vs. index/mapping changes */
    coco__recref*   refs;          /* scratch: the records of the group being applied */
    size_t          refs_cap;
    unsigned char   id[COCO__LOG_ID_LEN];   /* the log's identity; all zero: none (older file) */
    int             has_id;
    int             opened;        /* the open succeeded: a close may write the snapshot */
    int             idx_current;   /* the snapshot on disk holds exactly this index */
    int             idx_mark;      /* ... unmarked: mark it APPENDED before the next append */
    uint64_t        idx_covered;   /* the log end that snapshot covers */
    uint64_t        replay_from;   /* where the open's replay began (past the header: snapshot) */
    uint64_t        unverified;    /* records below: loaded with a snapshot, not checked yet */
    uint64_t        damaged_at;    /* the damaged record coco__log_apply met (it returned -3) */
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

/* Called only for a slot whose hash is the key's.  A record there that does not parse, or
   holds another key and fails its checksum, counts as a match: it is almost surely this key
   damaged (a snapshot's index is trusted without reading the records it covers), and the
   get must report COCO_ERR_CORRUPT, not COCO_ERR_NOT_FOUND.  The checksum is read only on a
   hash match with another key, which an intact log almost never has. */
COCO__PRIVATE int coco__log_key_eq(void* ctx, uint64_t off) {
    const coco__keyref* k = (const coco__keyref*)ctx;
    const unsigned char* base = coco__log_base(k->l);
    coco__rec r;
    if (coco__rec_parse(base + off, base + k->l->end, &r)) return 1;
    if (r.klen == k->klen && (k->klen == 0 || memcmp(r.key, k->key, k->klen) == 0)) return 1;
    return !coco__rec_crc_ok(base + off, &r);
}

/* Room for `n` records in the scratch array (kept between commits; see coco__log_refs_trim). */
COCO__PRIVATE coco__recref* coco__log_refs(coco__log* l, size_t n) {
    if (n > l->refs_cap) {
        size_t want = COCO__MAX(n, (size_t)1024);
        coco__recref* r;
        if (want > ((size_t)-1) / sizeof *r) return NULL;
        r = (coco__recref*)coco__alloc(&l->a, want * sizeof *r);
        if (!r) return NULL;
        coco__free(&l->a, l->refs, l->refs_cap * sizeof *l->refs);
        l->refs = r;
        l->refs_cap = want;
    }
    return l->refs;
}
/* One bulk load must not pin its scratch (16 bytes a record) for the life of the handle. */
COCO__PRIVATE void coco__log_refs_trim(coco__log* l) {
    if (l->refs_cap <= 65536) return;
    coco__free(&l->a, l->refs, l->refs_cap * sizeof *l->refs);
    l->refs = NULL;
    l->refs_cap = 0;
}

/* Parses the `count` records of p[0, len), the payload of a group whose records start at log
   offset `at`, into l->refs with each key's hash; with `verify` every record's checksum is
   checked too.  One pass: the apply that follows never parses a record of the group again.
   Returns 0, -1 with *why (malformed), or -2 (out of memory). */
COCO__PRIVATE int coco__log_collect(coco__log* l, const unsigned char* p, uint64_t len,
                                    uint64_t at, uint32_t count, int verify, const char** why) {
    const unsigned char *q = p, *end = p + len;
    coco__recref* refs = l->refs;
    uint32_t n = 0;
    /* a record takes at least 6 bytes: a larger count is a lie, not an allocation size */
    if ((uint64_t)count > len / 6) { *why = "record count mismatch"; return -1; }
    if (count && !(refs = coco__log_refs(l, count))) return -2;
    while (q < end) {
        coco__rec r;
        if (coco__rec_parse(q, end, &r)) { *why = "malformed record"; return -1; }
        if (verify && !coco__rec_crc_ok(q, &r)) { *why = "record checksum mismatch"; return -1; }
        if (n == count) { *why = "record count mismatch"; return -1; }
        refs[n].hash = coco__log_hash(r.key, r.klen);
        refs[n].off = (at + (uint64_t)(q - p)) | (r.op == COCO_OP_DEL ? COCO__REF_DEL : 0);
        q += r.size;
        n++;
    }
    if (n != count) { *why = "record count mismatch"; return -1; }
    return 0;
}

/* Where an index update finds records: those of the group being applied (offsets from
   `fresh` to `stop`) in `fresh_buf`, older ones in the log at `base`.  A commit passes its
   batch as fresh_buf: hot in the cache, while the pages it just appended to the mapping
   have never been touched (each first touch is a page fault). */
typedef struct coco__applyctx {
    const unsigned char* base;
    const unsigned char* fresh_buf;
    uint64_t             fresh, stop;
} coco__applyctx;

COCO__PRIVATE const unsigned char* coco__apply_at(const coco__applyctx* c, uint64_t off) {
    return off >= c->fresh ? c->fresh_buf + (off - c->fresh) : c->base + off;
}
COCO__PRIVATE int coco__apply_rec(const coco__applyctx* c, uint64_t off, coco__rec* r) {
    const unsigned char* lim = off >= c->fresh ? c->fresh_buf + (c->stop - c->fresh)
                                               : c->base + c->fresh;
    return coco__rec_parse(coco__apply_at(c, off), lim, r);
}

/* An empty index table with room for `want` entries (coco__map_init's sizing), or of
   exactly 2^bits slots when bits > 0.  The tables are big (16 bytes a slot: 32 MiB at 1M
   keys) and filled at once: having the kernel back the whole range in one call costs about
   a third of taking a page fault on each 4 KiB page (Linux 5.14+; elsewhere, or when
   refused, the pages fault in as they are cleared). */
COCO__PRIVATE int coco__log_table(coco__log* l, coco__map* m, size_t want, unsigned bits) {
    size_t slots = 16;
    if (bits) slots = (size_t)1 << bits;
    else while (slots < want + want / 2 + 1) slots *= 2;
    m->a = &l->a;
    m->mask = slots - 1;
    m->count = 0;
    m->slots = (coco__map_slot*)coco__alloc(&l->a, slots * sizeof *m->slots);
    if (!m->slots) return -1;
#if COCO__HAS_FS && defined(__linux__) && defined(MADV_POPULATE_WRITE)
    if (slots * sizeof *m->slots >= ((size_t)1 << 20)) {
        uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), from = (uintptr_t)m->slots;
        uintptr_t to = (from + slots * sizeof *m->slots) & ~(pg - 1);
        from = (from + pg - 1) & ~(pg - 1);
        if (pg && to > from) (void)madvise((void*)from, to - from, MADV_POPULATE_WRITE);
    }
#endif
    memset(m->slots, 0, slots * sizeof *m->slots);
    return 0;
}

/* Rehashes the index into a table with room for `want` entries. */
COCO__PRIVATE int coco__log_index_grow(coco__log* l, size_t want) {
    coco__map nm;
    size_t i;
    if (coco__log_table(l, &nm, want, 0)) return -1;
    for (i = 0; l->index.slots && i <= l->index.mask; i++) {
        const coco__map_slot* s = &l->index.slots[i];
        size_t j;
        if (!s->val) continue;
        j = (size_t)s->hash & nm.mask;
        while (nm.slots[j].val) j = (j + 1) & nm.mask;
        nm.slots[j] = *s;
    }
    nm.count = l->index.count;
    coco__map_free(&l->index);
    l->index = nm;
    return 0;
}

/* Applies the `n` collected records of one validated group to the index (and live_bytes).
   The slots are random in a table far bigger than the cache, so each record's slot is
   prefetched COCO__PREFETCH_SLOT records ahead, and the old record an overwrite will compare
   keys with (and size) COCO__PREFETCH_REC ahead.  Returns 0, -2 when out of memory, or -3
   when the record to replace is damaged (l->damaged_at; the index is then partial). */
COCO__PRIVATE int coco__log_apply(coco__log* l, const coco__recref* refs, size_t n,
                                  const coco__applyctx* c) {
    coco__map* m = &l->index;
    size_t i, nput = 0;
    for (i = 0; i < n; i++) nput += !(refs[i].off & COCO__REF_DEL);
    /* a group bigger than the index is mostly new keys (a bulk load, the first group of a
       replay): size the table once instead of doubling it ~log2(n) times on the way */
    if (nput > m->count && (m->count + nput + 1) * 4 >= (m->mask + 1) * 3 &&
        coco__log_index_grow(l, m->count + nput))
        return -2;
    for (i = 0; i < n; i++) {
        uint64_t h = refs[i].hash, off = refs[i].off & ~COCO__REF_DEL;
        uint64_t next = i + 1 < n ? refs[i + 1].off & ~COCO__REF_DEL : c->stop;
        int del = (refs[i].off & COCO__REF_DEL) != 0, have_new = 0;
        coco__rec old, nr;
        coco__map_slot* s;
        size_t j;
        if (i + COCO__PREFETCH_SLOT < n)
            COCO__PREFETCH(&m->slots[refs[i + COCO__PREFETCH_SLOT].hash & m->mask]);
        if (i + COCO__PREFETCH_REC < n) {
            const coco__map_slot* t = &m->slots[refs[i + COCO__PREFETCH_REC].hash & m->mask];
            if (t->val && t->hash == refs[i + COCO__PREFETCH_REC].hash) {
                const unsigned char* r = coco__apply_at(c, t->val);
                COCO__PREFETCH(r);
                COCO__PREFETCH(r + 48);   /* a short record's key may cross a cache line */
            }
        }
        j = (size_t)h & m->mask;
        for (;;) {
            s = &m->slots[j];
            if (!s->val) break;
            /* one parse of the old record: its key confirms the match, its size leaves
               live_bytes */
            if (s->hash == h && coco__apply_rec(c, s->val, &old) == 0) {
                if (!have_new) have_new = coco__apply_rec(c, off, &nr) == 0 ? 1 : -1;
                if (have_new > 0 && old.klen == nr.klen &&
                    (nr.klen == 0 || memcmp(old.key, nr.key, nr.klen) == 0))
                    break;
            } else if (s->hash == h && s->val < l->unverified) {
                l->damaged_at = s->val;
                return -3;
            }
            j = (j + 1) & m->mask;
        }
        /* a record that came with a loaded snapshot is checked the first time it is read
           here: a damaged one would leave live_bytes off by its misread size.  Once per
           record (the one replacing it is past the snapshot), so at most the full replay's
           checksum work, spread over the commits that replace records. */
        if (s->val && s->val < l->unverified &&
            !coco__rec_crc_ok(coco__apply_at(c, s->val), &old)) {
            l->damaged_at = s->val;
            return -3;
        }
        if (s->val) {
            l->live_bytes -= old.size;
            if (del) coco__map_remove(m, s);
            else s->val = off;
        } else if (!del) {
            if ((m->count + 1) * 4 >= (m->mask + 1) * 3) {
                if (coco__log_index_grow(l, m->mask + 1)) return -2;
                j = (size_t)h & m->mask;
                while (m->slots[j].val) j = (j + 1) & m->mask;
                s = &m->slots[j];
            }
            s->hash = h;
            s->val = off;
            m->count++;
        }
        if (!del) l->live_bytes += next - off;
    }
    return 0;
}

/* Checks the header of the group at `off` of a log of `size` bytes and that its payload lies
   within the file.  0 with *payload and *count, or -1 with a reason. */
COCO__PRIVATE int coco__group_head(const unsigned char* base, uint64_t off, uint64_t size,
                                   uint64_t* payload, uint32_t* count, const char** why) {
    const unsigned char* g = base + off;
    uint64_t len;
    if (size - off < COCO__GROUP_HDR) { *why = "incomplete commit header"; return -1; }
    if (coco__get_u32le(g) != COCO__GROUP_MAGIC) { *why = "bad commit magic"; return -1; }
    if (coco__get_u32le(g + 28) != coco__crc32c(0, g, 28) || coco__get_u32le(g + 24) != 0) {
        *why = "commit header checksum mismatch";
        return -1;
    }
    len = coco__get_u64le(g + 8);
    if (len > size - off - COCO__GROUP_HDR) { *why = "commit extends past the end"; return -1; }
    *count = coco__get_u32le(g + 4);
    *payload = len;
    return 0;
}

/* Checks a whole group at `off` (header, then every record's checksum and the count).
   Returns 0 and sets *payload when whole; otherwise -1 with a reason. */
COCO__PRIVATE int coco__group_check(const unsigned char* base, uint64_t off, uint64_t size,
                                    uint64_t* payload, const char** why) {
    uint64_t len, p, stop;
    uint32_t count, n = 0;
    if (coco__group_head(base, off, size, &len, &count, why)) return -1;
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

/* Replays the groups of the log in [from, size) into the index: `from` is the end of the
   header, or the end a loaded snapshot covers.  Each group is checked and its records
   collected in one pass, then applied.  Sets l->end to the end of the last whole commit and
   *tail_at to where a torn tail starts (== size when none). */
COCO__PRIVATE coco_result coco__log_replay(coco__log* l, const unsigned char* base, uint64_t from,
                                           uint64_t size, uint64_t* tail_at, char* err,
                                           size_t cap) {
    uint64_t off = from;
    const char* what = l->path ? l->path : "(memory)";
    coco_result rc = COCO_OK;
    l->end = off;
    while (off < size) {
        uint64_t pl = 0, later;
        uint32_t count = 0;
        const char* why = "";
        coco__applyctx c;
        int bad = coco__group_head(base, off, size, &pl, &count, &why);
        if (!bad)
            bad = coco__log_collect(l, base + off + COCO__GROUP_HDR, pl, off + COCO__GROUP_HDR,
                                    count, 1, &why);
        if (bad == -2) {
            rc = coco__errf(err, cap, COCO_ERR_NOMEM, "state store '%s': out of memory "
                            "building the index", what);
            break;
        }
        if (bad) {
            later = coco__find_later_group(base, off, size);
            if (later)
                rc = coco__errf(err, cap, COCO_ERR_CORRUPT,
                                "state store '%s' is damaged at offset %llu (%s) and valid "
                                "commits follow at offset %llu; refusing to open, nothing was "
                                "changed", what, (unsigned long long)off, why,
                                (unsigned long long)later);
            break;
        }
        c.base = base;
        c.fresh = off + COCO__GROUP_HDR;
        c.fresh_buf = base + c.fresh;
        c.stop = c.fresh + pl;
        bad = coco__log_apply(l, l->refs, count, &c);
        if (bad == -3) {   /* a full replay would refuse this log too */
            rc = coco__errf(err, cap, COCO_ERR_CORRUPT,
                            "state store '%s': record at offset %llu (covered by the index "
                            "snapshot, replaced by the commit at offset %llu) is damaged; "
                            "refusing to open, nothing was changed", what,
                            (unsigned long long)l->damaged_at, (unsigned long long)off);
            break;
        }
        if (bad) {
            rc = coco__errf(err, cap, COCO_ERR_NOMEM, "state store '%s': out of memory "
                            "building the index", what);
            break;
        }
        l->seq = coco__get_u64le(base + off + 16);
        l->last_group = off;
        off += COCO__GROUP_HDR + pl;
        l->end = off;
    }
    coco__log_refs_trim(l);
    *tail_at = off;
    return rc;
}

/* The file header; `id` NULL leaves the log without an identity (the in-memory log). */
COCO__PRIVATE void coco__file_header(unsigned char h[COCO__FILE_HDR], const unsigned char* id) {
    memset(h, 0, COCO__FILE_HDR);
    memcpy(h, COCO__STORE_MAGIC, 8);
    coco__put_u32le(h + 8, COCO_STORE_FORMAT);
    coco__put_u32le(h + 12, COCO__FILE_HDR);
    if (id) memcpy(h + COCO__LOG_ID_AT, id, COCO__LOG_ID_LEN);
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

#if COCO__HAS_FS
COCO__PRIVATE void coco__idx_write(coco__log* l);
#endif

COCO__PRIVATE void coco__log_destroy(coco__log* l) {
#if COCO__HAS_FS
    /* a clean close leaves a snapshot so the next open need not replay the whole log */
    if (l->opened && l->path && !l->read_only && !l->failed && !l->idx_current)
        coco__idx_write(l);
#endif
    coco__map_free(&l->index);
    coco__buf_free(&l->mem);
    coco__free(&l->a, l->refs, l->refs_cap * sizeof *l->refs);
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

/* A fresh log identity, made at creation and at each compaction: 16 bytes from the kernel's
   random source, mixed with both clocks, the pid and a stack address, so that two logs do
   not share one even where /dev/urandom cannot be read. */
COCO__PRIVATE void coco__log_new_id(unsigned char id[COCO__LOG_ID_LEN]) {
    unsigned char r[COCO__LOG_ID_LEN];
    struct timespec ts;
    uint64_t a, b;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    memset(r, 0, sizeof r);
    if (fd >= 0) {
        if (read(fd, r, sizeof r) != (ssize_t)sizeof r) memset(r, 0, sizeof r);
        close(fd);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    a = coco__get_u64le(r) ^ coco__mix64((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    b = coco__get_u64le(r + 8) ^
        coco__mix64(coco__now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts);
    if (!(a | b)) a = 1;   /* all zero means "no id" */
    coco__put_u64le(id, a);
    coco__put_u64le(id + 8, b);
}

/* ---- the index snapshot "<path>.idx" ----------------------------------------------------------
   Header (COCO__IDX_HDR bytes, little-endian):
     0 "COCOSIDX" | 8 u32 version | 12 u32 header size | 16 u32 flags | 20 u8 log2(slots) |
     21 u8 offset width W | 22 u16 zero | 24 16 B log id | 40 u64 log inode |
     48 u64 log mtime ns | 56 u64 log ctime ns | 64 u64 covered end | 72 u64 last group offset |
     80 u32 last group header crc | 84 u32 crc32c of the entries | 88 u64 seq | 96 u64 keys |
     104 u64 live bytes | 112 u64 first slot | 120 u32 zero | 124 u32 crc32c of bytes 0..123
   Entries: one per key, in slot order from `first slot` (the slot after an empty one),
   wrapping: u48 hash, then the record offset in W bytes.  Rebuilding the table from them is
   one sequential pass (coco__idx_build), which is what makes an open at 1M keys cheap.
   The stat fields let a snapshot whose log was rewritten in place be refused; the APPENDED
   flag is set by a writer before it first appends past the covered end. */
#define COCO__IDX_MAGIC    "COCOSIDX"
#define COCO__IDX_VERSION  1u
#define COCO__IDX_HDR      128u
#define COCO__IDX_APPENDED 1u

#if defined(__APPLE__)
#  define COCO__ST_MTIME_NS(s) coco__ts_ns((s)->st_mtimespec)
#  define COCO__ST_CTIME_NS(s) coco__ts_ns((s)->st_ctimespec)
#else
#  define COCO__ST_MTIME_NS(s) coco__ts_ns((s)->st_mtim)
#  define COCO__ST_CTIME_NS(s) coco__ts_ns((s)->st_ctim)
#endif
COCO__PRIVATE uint64_t coco__ts_ns(struct timespec ts) {
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

COCO__PRIVATE void coco__put_uNle(unsigned char* p, uint64_t v, unsigned n) {
    unsigned i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}
COCO__PRIVATE uint64_t coco__get_uNle(const unsigned char* p, unsigned n) {
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

COCO__PRIVATE int coco__idx_header_ok(const unsigned char* h) {
    return memcmp(h, COCO__IDX_MAGIC, 8) == 0 && coco__get_u32le(h + 8) == COCO__IDX_VERSION &&
           coco__get_u32le(h + 12) == COCO__IDX_HDR &&
           coco__get_u32le(h + 124) == coco__crc32c(0, h, 124);
}

/* Writes the snapshot of the index as it is now: a temp file, fsynced, renamed over
   "<path>.idx", then the directory fsynced (COCO_SYNC_FULL).  Writer only, at close and after
   a compaction.  Failing costs the next open a full replay, nothing more: it is logged, not
   returned. */
COCO__PRIVATE void coco__idx_write(coco__log* l) {
    char ip[4096], tp[4096], msg[COCO__ERRMSG_CAP];
    unsigned char h[COCO__IDX_HDR];
    unsigned char* buf = NULL;
    const size_t bufcap = (size_t)256 << 10;
    size_t blen = 0, slots = l->index.mask + 1, i, first;
    uint64_t at = COCO__IDX_HDR, keys = 0;
    uint32_t crc = 0;
    unsigned bits = 0, w = 1;
    struct stat st;
    int fd = -1, renamed = 0, e = 0;
    const char* fail = NULL;
    if (!l->has_id || !l->path || l->fd < 0 || !l->index.slots) return;
    if (coco__path_with(ip, sizeof ip, l->path, ".idx") ||
        coco__path_with(tp, sizeof tp, l->path, ".idx.tmp"))
        return;
    /* fsync, not fdatasync: the log's times recorded below must survive a power loss too,
       or the snapshot would be refused after one */
    if (l->sync == COCO_SYNC_FULL && fsync(l->fd) != 0) { fail = "fsync of the log"; goto sys; }
    if (fstat(l->fd, &st) != 0) { fail = "stat of the log"; goto sys; }
    if ((uint64_t)st.st_size != l->end) { fail = "the log's size is not its end"; goto out; }
    while (((size_t)1 << bits) < slots) bits++;
    while (w < 8 && (l->end >> (8 * w)) != 0) w++;
    /* start after an empty slot (the load factor stays below 3/4, so there is one): no run
       of occupied slots then wraps past the start, and the loader can place every entry by
       its predecessor alone */
    for (first = 0; first < slots && l->index.slots[first].val; first++) {}
    first = (first + 1) & (slots - 1);
    if (!(buf = (unsigned char*)coco__alloc(&l->a, bufcap))) { fail = "out of memory"; goto out; }
    fd = open(tp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { fail = "cannot create the temp file"; goto sys; }
    for (i = 0; i <= slots; i++) {
        const coco__map_slot* s = i < slots ? &l->index.slots[(first + i) & (slots - 1)] : NULL;
        if (blen && (!s || blen + 6 + w > bufcap)) {
            crc = coco__crc32c(crc, buf, blen);
            if (coco__pwrite_all(fd, buf, blen, at) != 0) { fail = "write"; goto sys; }
            at += blen;
            blen = 0;
        }
        if (!s || !s->val) continue;
        coco__put_uNle(buf + blen, s->hash, 6);
        coco__put_uNle(buf + blen + 6, s->val, w);
        blen += 6 + w;
        keys++;
    }
    memset(h, 0, sizeof h);
    memcpy(h, COCO__IDX_MAGIC, 8);
    coco__put_u32le(h + 8, COCO__IDX_VERSION);
    coco__put_u32le(h + 12, COCO__IDX_HDR);
    h[20] = (unsigned char)bits;
    h[21] = (unsigned char)w;
    memcpy(h + 24, l->id, COCO__LOG_ID_LEN);
    coco__put_u64le(h + 40, (uint64_t)st.st_ino);
    coco__put_u64le(h + 48, COCO__ST_MTIME_NS(&st));
    coco__put_u64le(h + 56, COCO__ST_CTIME_NS(&st));
    coco__put_u64le(h + 64, l->end);
    coco__put_u64le(h + 72, l->last_group);
    coco__put_u32le(h + 80, l->last_group ? coco__get_u32le(l->map + l->last_group + 28) : 0);
    coco__put_u32le(h + 84, crc);
    coco__put_u64le(h + 88, l->seq);
    coco__put_u64le(h + 96, keys);
    coco__put_u64le(h + 104, l->live_bytes);
    coco__put_u64le(h + 112, (uint64_t)first);
    coco__put_u32le(h + 124, coco__crc32c(0, h, 124));
    if (coco__pwrite_all(fd, h, sizeof h, 0) != 0) { fail = "write"; goto sys; }
    if (l->sync == COCO_SYNC_FULL && coco__fdatasync(fd) != 0) { fail = "fsync"; goto sys; }
    if (close(fd) != 0) { fd = -1; fail = "close"; goto sys; }
    fd = -1;
    if (rename(tp, ip) != 0) { fail = "rename"; goto sys; }
    renamed = 1;
    l->idx_current = 1;
    l->idx_mark = 1;
    l->idx_covered = l->end;
    if (l->sync == COCO_SYNC_FULL && coco__fsync_parent_dir(l->path) != 0) {
        fail = "fsync of the directory";   /* in place and valid, maybe not durable yet */
        goto sys;
    }
    goto out;
sys:
    e = errno;
out:
    if (fail) {
        if (fd >= 0) close(fd);
        if (!renamed) unlink(tp);
        coco__fmt(msg, sizeof msg, "state store '%s': index snapshot '%s' not written (%s%s%s); "
                  "the next open replays the log", l->path, ip, fail, e ? ": " : "",
                  e ? strerror(e) : "");
        coco__emit(&l->lg, COCO_LOG_WARN, COCO_ERR_IO, msg, __FILE__, __LINE__);
    }
    coco__free(&l->a, buf, bufcap);
}

/* Before the first append past a snapshot this handle loaded or wrote in its strict form
   (the log must be exactly as recorded): flag it APPENDED, so that after a crash the next
   open may still use it and replay the rest.  Only a snapshot still naming this log and end
   is flagged.  If the flag cannot be written the snapshot is deleted, and if even that
   fails the strict form refuses it once the log has grown: never a wrong index. */
COCO__PRIVATE void coco__idx_mark_appended(coco__log* l) {
    char ip[4096];
    unsigned char h[COCO__IDX_HDR];
    int fd, ok = 1;
    l->idx_mark = 0;
    if (coco__path_with(ip, sizeof ip, l->path, ".idx")) return;
    fd = open(ip, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    if (coco__pread_all(fd, h, sizeof h, 0) == 0 && coco__idx_header_ok(h) &&
        memcmp(h + 24, l->id, COCO__LOG_ID_LEN) == 0 && coco__get_u64le(h + 64) == l->idx_covered) {
        coco__put_u32le(h + 16, coco__get_u32le(h + 16) | COCO__IDX_APPENDED);
        coco__put_u32le(h + 124, coco__crc32c(0, h, 124));
        ok = coco__pwrite_all(fd, h, sizeof h, 0) == 0;
    }
    close(fd);
    if (!ok) unlink(ip);
}

/* An 8-byte little-endian load: one instruction on little-endian hosts. */
COCO__PRIVATE uint64_t coco__load_u64le(const unsigned char* p) {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return coco__get_u64le(p);
#endif
}

/* Rebuilds the table from the snapshot's `keys` entries at `e`.  They come in slot order from
   `first`, the slot after an empty one, so each goes at max(its home, the previous entry's
   slot + 1): one sequential pass over the table (no random access), branch-free but for the
   checks, with the entries' crc taken a chunk at a time just before decoding it.  Refuses
   (-1) unless every entry stays reachable from its home (no empty slot in between), the
   empty slot before `first` stays empty, every offset lies inside the covered log and the
   checksum holds. */
COCO__PRIVATE int coco__idx_build(coco__log* l, coco__map* nm, const unsigned char* e,
                                  uint64_t keys, unsigned w, unsigned bits, uint64_t first,
                                  uint64_t covered, uint32_t want_crc) {
    const size_t slots = (size_t)1 << bits, mask = slots - 1, esz = 6 + w, chunk = 4096;
    const uint64_t limit = first + slots - 1;   /* unwrapped: slot first-1 must stay empty */
    const uint64_t wmask = w == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * w)) - 1;
    const uint64_t lo = COCO__FILE_HDR + COCO__GROUP_HDR;
    uint64_t k, next = first, run = first, bad = 0;
    uint32_t crc = 0;
    coco__map_slot* t;
    if (coco__log_table(l, nm, slots, bits)) return -1;
    t = nm->slots;
    for (k = 0; k < keys; k++) {
        const unsigned char* p = e + k * esz;
        uint64_t hash, off, home, pos;
        if (k % chunk == 0)
            crc = coco__crc32c(crc, p, (size_t)COCO__MIN(keys - k, (uint64_t)chunk) * esz);
        if (k + 1 < keys) {   /* whole 8-byte loads; only the last entry's would overrun */
            hash = coco__load_u64le(p) & COCO__LOG_HASH_MASK;
            off = coco__load_u64le(p + 6) & wmask;
        } else {
            hash = coco__get_uNle(p, 6);
            off = coco__get_uNle(p + 6, w);
        }
        home = (hash & mask) + (((hash & mask) < first) ? slots : 0);
        /* past a gap a new run of occupied slots starts at the home; within a run the home
           must not lie before the run, where an empty slot would hide the entry */
        run = home > next ? home : run;
        pos = home > next ? home : next;
        bad |= (uint64_t)(home < run) | (uint64_t)(pos >= limit) | (uint64_t)(off < lo) |
               (uint64_t)(off >= covered);
        t[pos & mask].hash = hash;
        t[pos & mask].val = off;
        next = pos + 1;
    }
    if (bad || crc != want_crc) return -1;
    nm->count = (size_t)keys;
    return 0;
}

/* Loads "<path>.idx" when it is valid for this log (`lst` its stat, `size` its size), setting
   the index, live bytes, seq, end and last group as of the covered end; returns 1.  Else 0,
   nothing changed, and the caller replays the whole log.  A wrong index would silently return
   wrong data, so the snapshot must: pass its checksums; name this log (id, never all zero,
   and inode); cover a prefix of it that ends with the very group header it recorded (offset,
   crc, seq, length); and rebuild a sound table.  Unless a writer flagged it APPENDED, the log
   must also be exactly as it was when the snapshot was written (size, mtime, ctime): a log
   rewritten in place, not appended to by this library, is not trusted. */
COCO__PRIVATE int coco__idx_load(coco__log* l, const struct stat* lst, uint64_t size) {
    char ip[4096];
    unsigned char h[COCO__IDX_HDR];
    struct stat st;
    coco__map nm;
    void* m = MAP_FAILED;
    size_t mlen = 0;
    uint64_t covered, lg, keys, live, first, slots;
    uint32_t flags;
    unsigned bits, w;
    int fd, ok = 0;
    nm.slots = NULL;
    if (!l->has_id || coco__path_with(ip, sizeof ip, l->path, ".idx")) return 0;
    fd = open(ip, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < COCO__IDX_HDR ||
        coco__pread_all(fd, h, sizeof h, 0) != 0 || !coco__idx_header_ok(h))
        goto out;
    flags = coco__get_u32le(h + 16);
    bits = h[20];
    w = h[21];
    covered = coco__get_u64le(h + 64);
    lg = coco__get_u64le(h + 72);
    keys = coco__get_u64le(h + 96);
    live = coco__get_u64le(h + 104);
    first = coco__get_u64le(h + 112);
    if ((flags & ~COCO__IDX_APPENDED) || h[22] || h[23] || coco__get_u32le(h + 120)) goto out;
    if (memcmp(h + 24, l->id, COCO__LOG_ID_LEN) != 0 ||
        coco__get_u64le(h + 40) != (uint64_t)lst->st_ino)
        goto out;
    if (covered < COCO__FILE_HDR || covered > size) goto out;
    if (!(flags & COCO__IDX_APPENDED) &&
        (covered != size || coco__get_u64le(h + 48) != COCO__ST_MTIME_NS(lst) ||
         coco__get_u64le(h + 56) != COCO__ST_CTIME_NS(lst)))
        goto out;
    if (bits < 4 || bits > 48 || w < 1 || w > 8 || ((uint64_t)1 << bits) > (size_t)-1 / 32)
        goto out;
    slots = (uint64_t)1 << bits;
    /* the table never outgrows the log it indexes (a record takes 6 bytes or more, a table
       at most ~3 slots a record, 2048 at first): a bigger one is a lie, not an allocation */
    if (slots > covered + 4096 || keys * 4 > slots * 3 || first >= slots ||
        live > covered - COCO__FILE_HDR)
        goto out;
    if ((uint64_t)st.st_size != COCO__IDX_HDR + keys * (6 + w)) goto out;
    if (!lg) {
        if (covered != COCO__FILE_HDR || keys) goto out;
    } else {
        const unsigned char* g = l->map + lg;
        if (lg < COCO__FILE_HDR || covered < COCO__GROUP_HDR || lg > covered - COCO__GROUP_HDR)
            goto out;
        if (coco__get_u32le(g) != COCO__GROUP_MAGIC || coco__get_u32le(g + 24) != 0 ||
            coco__get_u32le(g + 28) != coco__crc32c(0, g, 28) ||
            coco__get_u32le(g + 28) != coco__get_u32le(h + 80) ||
            coco__get_u64le(g + 16) != coco__get_u64le(h + 88) ||
            coco__get_u64le(g + 8) != covered - lg - COCO__GROUP_HDR)
            goto out;
    }
    if (keys) {
        mlen = (size_t)st.st_size;
#if defined(MAP_POPULATE)
        m = mmap(NULL, mlen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);   /* read it all */
#else
        m = mmap(NULL, mlen, PROT_READ, MAP_PRIVATE, fd, 0);
#endif
        if (m == MAP_FAILED) goto out;
    }
    if (coco__idx_build(l, &nm, keys ? (const unsigned char*)m + COCO__IDX_HDR : h, keys, w,
                        bits, first, covered, coco__get_u32le(h + 84)) != 0)
        goto out;
    coco__map_free(&l->index);
    l->index = nm;
    nm.slots = NULL;
    l->live_bytes = live;
    l->seq = coco__get_u64le(h + 88);
    l->end = covered;
    l->last_group = lg;
    l->idx_covered = covered;
    l->unverified = covered;
    /* a strict snapshot of exactly this log needs no rewrite at close, only the APPENDED
       flag before the first append; an APPENDED one is replaced at close */
    l->idx_current = l->idx_mark = !(flags & COCO__IDX_APPENDED);
    ok = 1;
out:
    if (m != MAP_FAILED) munmap(m, mlen);
    close(fd);
    if (nm.slots) coco__free(&l->a, nm.slots, (nm.mask + 1) * sizeof *nm.slots);
    return ok;
}

/* A writer that could not use the snapshot removes it before it changes the log (the directory
   fsynced, so it cannot come back).  Else a torn-tail cut below the end it covers, then new
   commits of the same shapes, could rebuild a log that passes every check it makes (id,
   inode, the last group's offset, header and seq) with other records. */
COCO__PRIVATE void coco__idx_drop(coco__log* l) {
    char ip[4096];
    if (coco__path_with(ip, sizeof ip, l->path, ".idx") == 0 && unlink(ip) == 0 &&
        l->sync == COCO_SYNC_FULL && coco__fsync_parent_dir(l->path) != 0)
        coco__emit(&l->lg, COCO_LOG_WARN, COCO_ERR_IO, "state store: directory fsync after "
                  "removing a stale index snapshot failed", __FILE__, __LINE__);
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
    size_t i;
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
        /* new, or a crash while creating it: no commit can exist yet.  Only the fixed part
           of a partly written header can be compared (the id is random). */
        unsigned char h[COCO__FILE_HDR], old[COCO__FILE_HDR], id[COCO__LOG_ID_LEN];
        coco__log_new_id(id);
        coco__file_header(h, id);
        if (size && (coco__pread_all(l->fd, old, (size_t)size, 0) != 0 ||
                     memcmp(old, h, (size_t)COCO__MIN(size, (uint64_t)COCO__LOG_ID_AT)) != 0))
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
    memcpy(l->id, l->map + COCO__LOG_ID_AT, COCO__LOG_ID_LEN);
    for (i = 0; i < COCO__LOG_ID_LEN; i++) l->has_id |= l->id[i] != 0;
    l->replay_from = COCO__FILE_HDR;
    if (!created) {
        if (coco__idx_load(l, &st, size)) l->replay_from = l->end;
        rc = coco__log_replay(l, l->map, l->replay_from, size, &tail_at, err, cap);
        if (rc != COCO_OK) return rc;
    }
    if (!l->read_only && l->replay_from == COCO__FILE_HDR) coco__idx_drop(l);
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
        if (coco__path_with(tmp, sizeof tmp, l->path, ".idx.tmp") == 0) unlink(tmp);
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
    l->replay_from = COCO__FILE_HDR;
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
        coco__file_header(h, NULL);
        if (coco__buf_put(&l->mem, h, sizeof h))
            rc = coco__errf(err, cap, COCO_ERR_NOMEM, "out of memory");
        l->end = COCO__FILE_HDR;
    }
    if (rc != COCO_OK) {
        coco__log_destroy(l);
        return rc;
    }
    l->opened = 1;
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
    s = coco__map_find(&l->index, coco__log_hash(key.ptr, key.len), coco__log_key_eq, &kr);
    if (!s->val) rc = COCO_ERR_NOT_FOUND;
    else {
        const unsigned char* base = coco__log_base(l);
        coco__rec r;
        void* p;
        if (coco__rec_parse(base + s->val, base + l->end, &r) ||
            !coco__rec_crc_ok(base + s->val, &r))
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

/* Touches what the index update after a commit will need, read only: each record's home slot
   and the record an overwrite will replace there.  Run while the disk writes the commit (see
   coco__log_append), it moves many of the update's cache and TLB misses off its path.  Real
   loads: prefetches of pages missing from the TLB measured no effect. */
COCO__PRIVATE void coco__log_warm(const coco__log* l, const coco__recref* refs, size_t n) {
    const coco__map* m = &l->index;
    const unsigned char* base = coco__log_base(l);
    volatile unsigned char sink = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        const coco__map_slot* s;
        if (i + COCO__PREFETCH_SLOT < n)
            COCO__PREFETCH(&m->slots[refs[i + COCO__PREFETCH_SLOT].hash & m->mask]);
        s = &m->slots[refs[i].hash & m->mask];
        if (s->val && s->hash == refs[i].hash && s->val < l->end) sink = base[s->val + 4];
    }
    (void)sink;
}

/* Writes `len` bytes at the end of the log and makes them durable.  On failure the log is cut
   back to where it was; if even that fails the store is marked failed.  With `warm` (the
   commit's records), their part of the index is warmed while the disk works. */
COCO__PRIVATE coco_result coco__log_append(coco__log* l, const unsigned char* p, size_t len,
                                           const coco__recref* warm, size_t nwarm, char* err,
                                           size_t cap) {
    int bad;
    if (!l->path) {
        coco_result rc = COCO_OK;
        coco__rw_wrlock(&l->rw);          /* the buffer may move */
        l->mem.len = (size_t)l->end;
        if (coco__buf_put(&l->mem, p, len)) rc = COCO_ERR_NOMEM;
        coco__rw_unlock(&l->rw);
        return rc == COCO_OK ? rc : coco__errf(err, cap, rc, "in-memory store: out of memory");
    }
#if COCO__HAS_FS
    bad = coco__pwrite_all(l->fd, p, len, l->end) != 0;
    if (!bad && l->sync == COCO_SYNC_FULL) {
        if (nwarm >= 64) {
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
            /* start the device write now: the warm-up runs while it is under way, and the
               fdatasync below waits for what is left (durability is fdatasync's, as ever) */
            (void)sync_file_range(l->fd, (off_t)l->end, (off_t)len, SYNC_FILE_RANGE_WRITE);
#endif
            coco__log_warm(l, warm, nwarm);
        }
        bad = coco__fdatasync(l->fd) != 0;
    }
    if (bad) {
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
    (void)bad;
    (void)warm;
    (void)nwarm;
    return coco__errf(err, cap, COCO_ERR_UNSUPPORTED, "no file system");
#endif
}

COCO__PRIVATE coco_result coco__log_compact(void* impl, char* err, size_t cap);

COCO__PRIVATE int coco__log_should_compact(const coco__log* l) {
    uint64_t data = l->end - COCO__FILE_HDR;
    return l->end >= l->compact_min &&
           (double)(data - l->live_bytes) > l->compact_garbage * (double)data;
}

/* `batch` is preceded by COCO__GROUP_HDR writable bytes (the txn buffer reserves them). */
COCO__PRIVATE coco_result coco__log_commit(void* impl, const void* batch, size_t len,
                                           uint32_t count, char* err, size_t cap) {
    coco__log* l = (coco__log*)impl;
    unsigned char* g = (unsigned char*)batch - COCO__GROUP_HDR;
    coco_result rc;
    uint64_t old_end = l->end, old_live = l->live_bytes, rec_at = l->end + COCO__GROUP_HDR;
    coco__applyctx c;
    const char* why = "";
    int bad;
    if (l->failed)
        return coco__errf(err, cap, COCO_ERR_STATE, "state store '%s': an earlier commit failed "
                          "and left the file in an unknown state; close and reopen it",
                          l->path ? l->path : "(memory)");
    /* parse and hash the batch now, while it is hot and before the lock is taken: the index
       update after the sync then has its keys' hashes and sizes at hand */
    bad = coco__log_collect(l, (const unsigned char*)batch, len, rec_at, count, 0, &why);
    if (bad == -2)
        return coco__errf(err, cap, COCO_ERR_NOMEM, "state store '%s': out of memory preparing "
                          "a commit", l->path ? l->path : "(memory)");
    if (bad)
        return coco__errf(err, cap, COCO_ERR_INVALID_ARG, "state store '%s': malformed commit "
                          "batch (%s)", l->path ? l->path : "(memory)", why);
    coco__put_u32le(g, COCO__GROUP_MAGIC);
    coco__put_u32le(g + 4, count);
    coco__put_u64le(g + 8, len);
    coco__put_u64le(g + 16, l->seq + 1);
    coco__put_u32le(g + 24, 0);
    coco__put_u32le(g + 28, coco__crc32c(0, g, 28));
#if COCO__HAS_FS
    if (l->idx_mark) coco__idx_mark_appended(l);
#endif
    l->idx_current = 0;
    rc = coco__log_append(l, g, len + COCO__GROUP_HDR, l->refs, count, err, cap);
    if (rc != COCO_OK) return rc;
    c.base = coco__log_base(l);
    c.fresh = rec_at;
    c.fresh_buf = (const unsigned char*)batch;
    c.stop = rec_at + len;
    coco__rw_wrlock(&l->rw);
    if ((bad = coco__log_apply(l, l->refs, count, &c)) != 0) {
        /* out of memory or damage mid-index: the commit is durable but the index is partial */
        l->live_bytes = old_live;
        l->failed = 1;
        coco__rw_unlock(&l->rw);
        if (bad == -3)
            return coco__errf(err, cap, COCO_ERR_CORRUPT, "state store '%s': record at offset "
                              "%llu, which this commit replaces, is damaged; the commit is "
                              "stored, but the store will not reopen until it is repaired",
                              l->path ? l->path : "(memory)",
                              (unsigned long long)l->damaged_at);
        return coco__errf(err, cap, COCO_ERR_NOMEM, "state store: out of memory updating the "
                          "index; the commit is stored, reopen the store");
    }
    l->end = rec_at + len;
    l->last_group = old_end;
    l->seq++;
    l->commits++;
    coco__rw_unlock(&l->rw);
    coco__log_refs_trim(l);
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
    uint64_t   last_group; /* offset in the new log of the last group written */
} coco__compact_out;

COCO__PRIVATE int coco__compact_flush(coco__compact_out* o) {
    if (o->group_count) {
        unsigned char* g = o->buf.ptr + o->group_start;
        uint64_t len = o->buf.len - o->group_start - COCO__GROUP_HDR;
        coco__put_u32le(g, COCO__GROUP_MAGIC);
        coco__put_u32le(g + 4, o->group_count);
        coco__put_u64le(g + 8, len);
        coco__put_u64le(g + 16, ++o->seq);
        coco__put_u32le(g + 24, 0);
        coco__put_u32le(g + 28, coco__crc32c(0, g, 28));
        o->group_count = 0;
        o->last_group = o->written + o->group_start;
    }
#if COCO__HAS_FS
    /* without a group, what is pending is the file header alone: a store with no live keys
       still needs it, or the next commit would land at offset 0 */
    if (o->fd >= 0 && o->buf.len) {
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
    unsigned char nid[COCO__LOG_ID_LEN];
    char tmp[4096];
    int fd = -1;
    tmp[0] = 0;
    (void)tmp;
    (void)fd;
    if (l->read_only) return coco__errf(err, cap, COCO_ERR_READ_ONLY, "store opened read-only");
    if (l->failed) return coco__errf(err, cap, COCO_ERR_STATE, "store failed earlier; reopen it");
    memset(&o, 0, sizeof o);
    memset(nid, 0, sizeof nid);
    o.l = l; o.fd = -1; o.seq = l->seq;
    coco__buf_init(&o.buf, &l->a);
    if (coco__log_table(l, &nidx, l->index.count, 0))
        return coco__errf(err, cap, COCO_ERR_NOMEM, "out of memory");
    /* live records in log order keep the compacted file in commit order */
    nbytes = (l->index.count ? l->index.count : 1) * sizeof *offs * 2;
    offs = (uint64_t*)coco__alloc(&l->a, nbytes);
    if (!offs) { rc = COCO_ERR_NOMEM; goto done; }
    for (i = 0; i <= l->index.mask; i++)
        if (l->index.slots[i].val) offs[n++] = l->index.slots[i].val;
    coco__msort(offs, offs + n, n, coco__u64_cmp, NULL);
#if COCO__HAS_FS
    if (l->path) {
        if (coco__path_with(tmp, sizeof tmp, l->path, ".compact")) {
            rc = COCO_ERR_INVALID_ARG;
            goto done;
        }
        fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = coco__errf(err, cap, COCO_ERR_IO, "compaction of '%s': cannot create '%s': %s",
                            l->path, tmp, strerror(errno));
            goto done;
        }
        o.fd = fd;
        /* a new identity: any snapshot of the old log can never be taken for this one */
        coco__log_new_id(nid);
    }
#endif
    {
        unsigned char h[COCO__FILE_HDR];
        coco__file_header(h, l->path ? nid : NULL);
        if (coco__buf_put(&o.buf, h, sizeof h)) { rc = COCO_ERR_NOMEM; goto done; }
    }
    for (i = 0; i < n; i++) {
        coco__rec r;
        coco__map_slot* s;
        uint64_t at;
        /* copied as parsed: a damaged record that came with a snapshot is refused here, not
           copied with a misread size (see coco__log_apply) */
        if (coco__rec_parse(base + offs[i], base + l->end, &r) ||
            (offs[i] < l->unverified && !coco__rec_crc_ok(base + offs[i], &r))) {
            rc = coco__errf(err, cap, COCO_ERR_CORRUPT, "compaction of '%s': record at offset "
                            "%llu is damaged; nothing was changed",
                            l->path ? l->path : "(memory)", (unsigned long long)offs[i]);
            goto done;
        }
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
            uint64_t h = coco__log_hash(r.key, r.klen);
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
        memcpy(l->id, nid, sizeof nid);
        l->has_id = 1;
    }
#endif
    {
        coco__map t = l->index;
        l->index = nidx;
        nidx = t;
    }
    l->seq = o.seq;
    l->last_group = o.last_group;
    l->unverified = 0;   /* every record copied is known good now */
    l->idx_current = l->idx_mark = 0;
    l->compactions++;
    coco__rw_unlock(&l->rw);
#if COCO__HAS_FS
    /* the old snapshot names the old log; a fresh one keeps the next open short even if this
       process dies before its close */
    if (l->path && !l->failed) coco__idx_write(l);
#endif
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
        /* a record the index points at that does not parse is damage (the part of the log a
           snapshot covers is not read at open): skipping it would hide a live key */
        if (coco__rec_parse(base + off, base + l->end, &r)) {
            rc = coco__errf(err, cap, COCO_ERR_CORRUPT, "state store '%s': record at offset %llu "
                            "is damaged", l->path ? l->path : "(memory)",
                            (unsigned long long)off);
            break;
        }
        if (coco__scan_match(&r, desc)) offs[n++] = off;
    }
    if (rc != COCO_OK) {
        coco__rw_unlock(&l->rw);
        coco__free(&l->a, offs, bytes);
        return rc;
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

/* ==============================================================================================
   >>impl_engine -- env, apps, component runs, memo, reconcile/submit, cleanup, ids (Private)
   Owns: coco_env, coco_app, coco_ctx, the run and its submit batches.
   Depends on: >>impl_value, >>impl_store.

   State layout, per app (P = "A" + app name + NUL):
     P "c" <16-byte path fp>  component record (a value map, see coco__rec_build)
     P "z" <16-byte fp of (target name, key)>  tombstone: a target state to delete
     P "n"                    next stable id
   Submit protocol per batch of components: (1) commit "pending" records listing every
   tracking record the targets may hold, (2) apply the actions per target, (3) commit the
   final records with tombstones.  A crash between (1) and (3) leaves the pending records,
   so the next run reconciles against every possible previous state.
   ============================================================================================== */

#define COCO__BATCH_MAX 1024   /* components per submit batch */

typedef struct coco__ctxval {
    char*   key;
    void*   ptr;
    coco_fp fp;
    int     detect;
} coco__ctxval;

typedef struct coco__breq {
    struct coco__breq* next;
    const coco_value*  arg;
    coco_value         ret;        /* points into the batch's arena */
    coco_result        rc;
    int                done;
    struct coco__batch* batch;
    char               err[COCO__ERRMSG_CAP / 2];
} coco__breq;

typedef struct coco__batch {       /* one executed batch; freed by its last reader */
    coco_arena* arena;
    size_t      readers;
} coco__batch;

typedef struct coco__fnreg {
    const coco_fn* fn;
    char*          name;
    coco_fp        logic;
    coco_batch_fn  batch;          /* coalescing (coco_fn_batch) */
    void*          batch_user;
    uint32_t       batch_max;
    int            serial;
    coco__mutex    m;              /* batch queue; serial execution */
    coco__cond     cv;
    coco__breq    *head, *tail;
    int            running;
} coco__fnreg;

struct coco_target {
    coco_env*          env;
    char*              name;          /* a child's: "<container name>/<hex of key encoding>" */
    coco_target_vtable vt;
    void*              user;
    coco_child_open_fn child_open;    /* containers */
    coco_target*       container;     /* children: their container */
    coco_fp            ckey;          /* children: fp of (container name, key) */
    char               ckey_hex[33];  /* children: the dep name of their generation */
    coco_target*       next;
};

typedef struct coco__task {
    struct coco__task* next;
    struct coco__run*  run;
    coco_ctx*          parent;
    coco_value         path;
    coco_fp            pathfp;
    const coco_fn*     fn;
    const coco_value*  args;
    size_t             nargs;
    void             (*job)(void* user);   /* instead of a component: job(job_user) ...       */
    void*              job_user;
    size_t*            count;              /* ... counted here instead of parent->pending_kids */
} coco__task;

/* Worker pool for background mounts.  A thread waiting for its children runs queued tasks
   meanwhile, so nested waits never starve the pool. */
typedef struct coco__pool {
    coco__mutex   m;
    coco__cond    work, done;
    coco__task   *head, *tail;
    size_t        queued, max_queued;
    coco__thread* threads;
    uint32_t      nthreads;
    int           stop;
} coco__pool;

struct coco_env {
    coco_allocator a;
    coco_logger    lg;
    coco__pool     pool;
    coco__mutex    lock;          /* function registry */
    coco_store*    store;
    coco_error_fn  on_error;
    void*          on_error_user;
    coco__buf      ctxv;          /* coco__ctxval[] */
    coco__buf      fns;           /* coco__fnreg*[] (stable pointers; under `lock`) */
    coco_target*   targets;
    struct coco_livemap* livemaps;
    coco_arena*    arena;         /* names, identities */
    coco__buf      closers;       /* coco__closer[]: run by coco_env_close, newest first */
    char           err[COCO__ERRMSG_CAP];
};

typedef struct coco__closer { void (*fn)(void*); void* user; } coco__closer;

struct coco_app {
    coco_env*      env;
    char*          name;
    const coco_fn* main;
    coco_value     arg;
    coco_arena*    arena;
    unsigned char* prefix;        /* "A" name NUL */
    size_t         prefix_len;
    coco__buf      stats;         /* coco_fn_stats[] */
    char           err[COCO__ERRMSG_CAP];
    /* live mode */
    coco__mutex    live_m;        /* lives, events, stop */
    coco__cond     live_cv;
    struct coco_live* lives;      /* registered by live components during a live update */
    coco__buf      events;        /* struct coco__live_ev*[] */
    int            live_mode;
    int            stop_req;
    coco__mutex    stats_m;       /* stats, readable while an update runs */
    int            links_settled; /* no link journal entry left by an earlier run (known) */
    int            links_marked;  /* P 'l' is 1 in the store (journal entries may exist) */
    int            tombs_marked;  /* P 'y' is 1 in the store (tombstones may exist) */
    int            tombs_none;    /* no tombstone in the store (known since the last pass) */
};

/* one dependency a memo entry is valid under */
typedef struct coco__dep {
    int         kind;             /* 0 = function logic, 1 = context value */
    const char* name;
    coco_fp     fp;
} coco__dep;

typedef struct coco__frame {
    coco__buf           deps;     /* coco__dep[] */
    coco_logic_tracking tracking;
} coco__frame;

typedef struct coco__decl {
    coco_target* t;
    coco_value   key, value;
    coco_fp      tk;              /* fp of (target name, key) */
} coco__decl;

typedef struct coco__idstate {
    coco_fp           dep;        /* fp of [kind, dep] */
    int               uuid;
    const coco_value* old;        /* stored ids (list) or NULL */
    coco__buf         ids;        /* ids handed out this run (int64_t or 16-byte uuids) */
} coco__idstate;

typedef struct coco__act {
    coco_target* t;
    coco_action  a;
    size_t       sub;             /* index of its submission */
} coco__act;

typedef struct coco__kv {
    coco_bytes key, val;          /* val.ptr NULL = delete */
} coco__kv;

typedef struct coco__sub {
    coco_bytes pending;           /* empty: no target action, no pending record */
    coco_bytes rec_key;
    coco_bytes final_rec;
    size_t     kv_start, kv_end;  /* extra puts/dels in run->kvs */
    int        failed;
    int        link;              /* a new component: journal (link_kid, link_parent) */
    coco_fp    link_kid, link_parent;
    const coco__ctxval* unused;
} coco__sub;

typedef struct coco__gen { coco_fp ckey; int64_t gen; } coco__gen;

typedef struct coco__run {
    coco_app*   app;
    coco_env*   env;
    int         full;
    coco_arena* batch_arena;      /* submissions of the current batch */
    coco__buf   subs;             /* coco__sub[] */
    coco__buf   acts;             /* coco__act[] */
    coco__buf   kvs;              /* coco__kv[] */
    coco__map   declared;         /* tk fp -> 1: declared somewhere this run */
    int64_t     next_id;
    int         id_dirty;
    uint64_t    upserts, deletes, commits;
    uint64_t    apply_failures;
    uint64_t    apply_errors;     /* failures reported by target applies (coco_stats)    */
    int         root_failed;      /* the root component's own target states failed to apply */
    coco_result first_err;
    char        last_err[COCO__ERRMSG_CAP];
    coco__mutex lock;             /* recursive: batch, declared set, ids, stats, errors */
    coco__buf   gens;             /* coco__gen[]: container generations seen this run */
    coco__buf   hits;             /* coco_fp[]: memo-hit components (their states count as
                                     declared; loaded only if tombstones need the check) */
    int         hits_lost;        /* some could not be recorded: no tombstone is processed */
    coco__buf   links;            /* coco_fp[]: ids of the link journal entries this run wrote */
    uint64_t    link_seq;         /* ids: (run start ns, sequence) */
    uint64_t    link_t0;
    int         has_live_parent;  /* live rounds: the parent of the components run directly */
    coco_fp     live_parent;
    int         tombs_mark;       /* the transaction being built puts P 'y' = 1 */
} coco__run;

struct coco_ctx {
    coco__run*     run;
    coco_ctx*      parent;
    const coco_fn* fn;
    coco_arena*    arena;
    coco_value     path;          /* list of keys */
    coco_fp        pathfp;
    char*          path_str;
    const coco_value* old;        /* decoded old record (map) or NULL */
    coco_bytes     old_bytes;
    coco_bytes     old_fields[26];    /* one-letter fields of old_bytes, found in one pass */
    int            old_indexed;
    int            field_err;     /* coco__raw_field could not decode a field (out of memory) */
    coco__buf      decls;         /* coco__decl[] */
    coco__buf      decl_tks;      /* coco_fp[]: decls[i].tk, for the set's equality checks */
    coco__map      decl_set;      /* tk -> index + 1 */
    coco__buf      kids;          /* coco_fp[] */
    coco__map      kid_set;
    coco__buf      xents;         /* coco_value[]: function memo entries for the new record */
    coco__buf      groups;        /* coco_value[]: group memo entries of its coco_mount_each
                                     calls (P 'm'), in the order of their children */
    coco_bytes     groups_old;    /* its group memo record as stored (when read) */
    int            groups_read;   /* groups_old was looked up */
    coco__buf      frames;        /* coco__frame[] (a stack) */
    coco__buf      idstates;      /* coco__idstate[] */
    int            in_memo;       /* depth of memoized coco_call frames */
    size_t         pending_kids;  /* background children not finished (under pool.m) */
    struct coco__probe* probe;    /* mount-time memo checks of its children (coco__probe_keep) */
    coco_scoped_error_fn on_error;    /* coco_ctx_on_error */
    void*          on_error_user;
    coco_result    err_code;
    int            item_gone;     /* coco_ctx_item_gone: its source item went away */
    int            no_memo;       /* ends without a memo entry (its item went away) */
    char           err[COCO__ERRMSG_CAP];
};

/* ---- small helpers -------------------------------------------------------------------------- */
COCO__PRIVATE void* coco__vpush(coco__buf* b, const void* e, size_t sz) {
    void* p;
    if (coco__buf_reserve(b, sz)) return NULL;
    p = b->ptr + b->len;
    if (e) memcpy(p, e, sz); else memset(p, 0, sz);
    b->len += sz;
    return p;
}
#define COCO__VLEN(b, T) ((b).len / sizeof(T))
#define COCO__VAT(b, T, i) (((T*)(void*)(b).ptr)[i])

COCO__PRIVATE const coco_value* coco__field(const coco_value* m, const char* k) {
    size_t i, n = strlen(k);
    if (!m || m->kind != COCO_MAP) return NULL;
    for (i = 0; i < m->u.map.count; i++)
        if (m->u.map.entries[i].key_len == n && memcmp(m->u.map.entries[i].key, k, n) == 0)
            return &m->u.map.entries[i].val;
    return NULL;
}
COCO__PRIVATE size_t coco__list_len(const coco_value* v) {
    return v && v->kind == COCO_LIST ? v->u.list.count : 0;
}
COCO__PRIVATE const coco_value* coco__list_at(const coco_value* v, size_t i) {
    return &v->u.list.items[i];
}
COCO__PRIVATE coco_value coco__fp_val(coco_arena* ar, coco_fp f) {
    unsigned char* p = (unsigned char*)coco_arena_alloc(ar, 16);
    if (!p) return coco_null();
    memcpy(p, f.bytes, 16);
    return coco_bytes_val(p, 16);
}
COCO__PRIVATE int coco__val_is_fp(const coco_value* v, coco_fp f) {
    return v && v->kind == COCO_BYTES && v->u.s.len == 16 && memcmp(v->u.s.ptr, f.bytes, 16) == 0;
}
COCO__PRIVATE coco_fp coco__val_fp_bytes(const coco_value* v) {
    coco_fp f;
    memset(&f, 0, sizeof f);
    if (v && v->kind == COCO_BYTES && v->u.s.len == 16) memcpy(f.bytes, v->u.s.ptr, 16);
    return f;
}
COCO__PRIVATE uint64_t coco__fp_hash(coco_fp f) {
    uint64_t h;
    memcpy(&h, f.bytes, 8);
    return h | 1u;   /* map values must be non-zero: the hash never is, and we store it */
}
/* a set of fingerprints on top of coco__map: the slot value is the fp's index + 1 in `arr` */
typedef struct coco__fpset_eq { const coco_fp* arr; coco_fp f; } coco__fpset_eq;
COCO__PRIVATE int coco__fpset_eqfn(void* ctx, uint64_t val) {
    coco__fpset_eq* e = (coco__fpset_eq*)ctx;
    return coco_fp_eq(e->arr[val - 1], e->f);
}

/* Readable rendering of a path key, for messages and tools. */
COCO__PRIVATE void coco__render_key(coco__buf* b, const coco_value* k, int depth) {
    char tmp[64];
    size_t i;
    switch (k->kind) {
    case COCO_NULL: coco__buf_put(b, "null", 4); break;
    case COCO_BOOL: coco__buf_put(b, k->u.b ? "true" : "false", k->u.b ? 4 : 5); break;
    case COCO_INT:
        coco__fmt(tmp, sizeof tmp, "%lld", (long long)k->u.i);
        coco__buf_put(b, tmp, strlen(tmp));
        break;
    case COCO_STR:
        coco__buf_byte(b, '"');
        for (i = 0; i < k->u.s.len; i++) {
            unsigned char c = (unsigned char)k->u.s.ptr[i];
            if (c == '"' || c == '\\') { coco__buf_byte(b, '\\'); coco__buf_byte(b, c); }
            else if (c < 0x20 || c == 0x7f) {
                coco__fmt(tmp, sizeof tmp, "\\x%02x", c);
                coco__buf_put(b, tmp, 4);
            } else coco__buf_byte(b, c);
        }
        coco__buf_byte(b, '"');
        break;
    case COCO_SYMBOL:
        coco__buf_put(b, "Symbol(", 7);
        coco__buf_put(b, k->u.s.ptr, k->u.s.len);
        coco__buf_byte(b, ')');
        break;
    case COCO_BYTES: case COCO_UUID:
        coco__buf_put(b, k->kind == COCO_UUID ? "uuid(" : "b(", k->kind == COCO_UUID ? 5 : 2);
        for (i = 0; i < k->u.s.len && i < 32; i++) {
            coco__fmt(tmp, sizeof tmp, "%02x", (unsigned char)k->u.s.ptr[i]);
            coco__buf_put(b, tmp, 2);
        }
        coco__buf_byte(b, ')');
        break;
    case COCO_LIST:
        coco__buf_byte(b, '(');
        for (i = 0; i < k->u.list.count && depth < 8; i++) {
            if (i) coco__buf_put(b, ", ", 2);
            coco__render_key(b, &k->u.list.items[i], depth + 1);
        }
        coco__buf_byte(b, ')');
        break;
    default: coco__buf_put(b, "?", 1); break;
    }
}

COCO__PRIVATE char* coco__render_path(coco_arena* ar, const coco_value* path) {
    coco__buf b;
    char* s;
    size_t i;
    coco__buf_init(&b, &ar->a);
    if (coco__list_len(path) == 0) coco__buf_byte(&b, '/');
    for (i = 0; i < coco__list_len(path); i++) {
        coco__buf_byte(&b, '/');
        coco__render_key(&b, coco__list_at(path, i), 0);
    }
    s = coco_arena_strndup(ar, b.ptr ? (const char*)b.ptr : "", b.len);
    coco__buf_free(&b);
    return s ? s : (char*)"?";
}

COCO__PRIVATE int coco__is_key_kind(const coco_value* k, int depth) {
    size_t i;
    switch (k->kind) {
    case COCO_NULL: case COCO_BOOL: case COCO_INT: case COCO_STR: case COCO_BYTES:
    case COCO_SYMBOL: case COCO_UUID:
        return 1;
    case COCO_LIST:
        if (depth > 8) return 0;
        for (i = 0; i < k->u.list.count; i++)
            if (!coco__is_key_kind(&k->u.list.items[i], depth + 1)) return 0;
        return 1;
    default: return 0;
    }
}

/* ---- worker pool ---------------------------------------------------------------------------- */
COCO__PRIVATE coco_result coco__run_component(struct coco__run* run, coco_ctx* parent,
                                              const coco_value* path, coco_fp pathfp,
                                              const coco_fn* fn, const coco_value* args,
                                              size_t nargs, coco_arena* ret_arena,
                                              coco_value* ret_out);

/* Runs a dequeued task, then tells its parent; called without the pool lock. */
COCO__PRIVATE void coco__task_run(coco_env* env, coco__task* t) {
    if (t->job) t->job(t->job_user);
    else coco__run_component(t->run, t->parent, &t->path, t->pathfp, t->fn, t->args, t->nargs,
                             NULL, NULL);
    coco__mutex_lock(&env->pool.m);
    (*(t->count ? t->count : &t->parent->pending_kids))--;
    coco__cond_broadcast(&env->pool.done);
    coco__mutex_unlock(&env->pool.m);
    coco__free(&env->a, t, sizeof *t);
}

/* The next queued task, or NULL; called with the pool lock held. */
COCO__PRIVATE coco__task* coco__pool_pop(coco__pool* p) {
    coco__task* t = p->head;
    if (t) {
        p->head = t->next;
        if (!p->head) p->tail = NULL;
        p->queued--;
    }
    return t;
}

#if COCO__HAS_THREADS
COCO__PRIVATE void* coco__pool_worker(void* arg) {
    coco_env* env = (coco_env*)arg;
    coco__pool* p = &env->pool;
    coco__mutex_lock(&p->m);
    for (;;) {
        coco__task* t;
        while (!p->stop && !p->head) coco__cond_wait(&p->work, &p->m);
        if (p->stop && !p->head) break;
        t = coco__pool_pop(p);
        coco__mutex_unlock(&p->m);
        coco__task_run(env, t);
        coco__mutex_lock(&p->m);
    }
    coco__mutex_unlock(&p->m);
    return NULL;
}
#endif

COCO__PRIVATE void coco__pool_start(coco_env* env, uint32_t nthreads, uint32_t max_queued) {
    coco__pool* p = &env->pool;
    uint32_t i;
    coco__mutex_init(&p->m);
    coco__cond_init(&p->work);
    coco__cond_init(&p->done);
    p->max_queued = max_queued;
#if COCO__HAS_THREADS
    if (nthreads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (uint32_t)n : 1u;
    }
    if (nthreads <= 1) return;   /* the calling thread does everything */
    p->threads = (coco__thread*)coco__alloc(&env->a, nthreads * sizeof *p->threads);
    if (!p->threads) return;
    for (i = 0; i < nthreads; i++)
        if (coco__thread_start(&p->threads[i], coco__pool_worker, env) != 0) break;
    p->nthreads = i;
#else
    (void)nthreads; (void)i;
#endif
}

COCO__PRIVATE void coco__pool_stop(coco_env* env) {
    coco__pool* p = &env->pool;
#if COCO__HAS_THREADS
    uint32_t i;
    coco__mutex_lock(&p->m);
    p->stop = 1;
    coco__cond_broadcast(&p->work);
    coco__mutex_unlock(&p->m);
    for (i = 0; i < p->nthreads; i++) coco__thread_join(p->threads[i]);
    if (p->threads) coco__free(&env->a, p->threads, p->nthreads * sizeof *p->threads);
#endif
    coco__cond_free(&p->work);
    coco__cond_free(&p->done);
    coco__mutex_free(&p->m);
}

/* Queues `t` for a worker; 0 when queued, -1 when the caller must run it (no workers, or the
   queue is at its bound). */
COCO__PRIVATE int coco__pool_push(coco_env* env, coco__task* t) {
    coco__pool* p = &env->pool;
    int queued = 0;
    if (!p->nthreads) return -1;
    coco__mutex_lock(&p->m);
    if (p->queued < p->max_queued) {
        t->next = NULL;
        if (p->tail) p->tail->next = t; else p->head = t;
        p->tail = t;
        p->queued++;
        (*(t->count ? t->count : &t->parent->pending_kids))++;
        coco__cond_broadcast(&p->work);
        queued = 1;
    }
    coco__mutex_unlock(&p->m);
    return queued ? 0 : -1;
}

/* Waits until *count (tasks pushed and not finished) is 0, running queued tasks meanwhile. */
COCO__PRIVATE void coco__pool_wait(coco_env* env, size_t* count) {
    coco__pool* p = &env->pool;
    if (!p->nthreads) return;
    coco__mutex_lock(&p->m);
    while (*count > 0) {
        coco__task* t = coco__pool_pop(p);
        if (t) {
            coco__mutex_unlock(&p->m);
            coco__task_run(env, t);
            coco__mutex_lock(&p->m);
        } else {
            coco__cond_wait(&p->done, &p->m);
        }
    }
    coco__mutex_unlock(&p->m);
}

/* Waits until every background child of `ctx` has finished, running queued tasks meanwhile. */
COCO__PRIVATE void coco__pool_wait_kids(coco_env* env, coco_ctx* ctx) {
    coco__pool_wait(env, &ctx->pending_kids);
}

/* ---- environment ---------------------------------------------------------------------------- */
COCO__PRIVATE void coco__livemaps_free(coco_env* env);
COCO_API const char* coco_env_errmsg(const coco_env* env) { return env ? env->err : ""; }
COCO_API coco_arena* coco_env_arena(coco_env* env) { return env ? env->arena : NULL; }
COCO_API const coco_allocator* coco_env_allocator(coco_env* env) { return env ? &env->a : NULL; }
COCO_API coco_result coco_env_fail(coco_env* env, coco_result code, const char* fmt, ...) {
    va_list ap;
    if (!env) return code;
    va_start(ap, fmt);
    coco__vfmt(env->err, sizeof env->err, fmt, ap);
    va_end(ap);
    return code;
}
COCO_API coco_store* coco_env_store(coco_env* env) { return env ? env->store : NULL; }

COCO_API coco_result coco_env_open(const coco_env_desc* desc, coco_env** out) {
    coco_allocator a;
    coco_env* env;
    coco_store_desc sd;
    coco_result rc;
    const char* path;
    if (!desc || !out) return COCO_ERR_INVALID_ARG;
    a = coco__allocator_resolve(&desc->allocator);
    path = desc->db_path ? desc->db_path : getenv("COCOINDEX_DB");
    if (!desc->in_memory && (!path || !*path)) {
        coco__fmt(coco__open_err, sizeof coco__open_err, "no state db: set db_path in the "
                 "environment desc or the COCOINDEX_DB environment variable");
        return COCO_ERR_INVALID_ARG;
    }
    env = (coco_env*)coco__alloc(&a, sizeof *env);
    if (!env) return COCO_ERR_NOMEM;
    memset(env, 0, sizeof *env);
    env->a = a;
    env->lg = desc->logger;
    env->on_error = desc->on_error;
    env->on_error_user = desc->on_error_user;
    coco__buf_init(&env->ctxv, &env->a);
    coco__buf_init(&env->closers, &env->a);
    coco__buf_init(&env->fns, &env->a);
    if ((rc = coco_arena_create(&env->a, &env->arena)) != COCO_OK) {
        coco__free(&a, env, sizeof *env);
        return rc;
    }
    memset(&sd, 0, sizeof sd);
    sd.path = desc->in_memory ? NULL : path;
    sd.sync = desc->sync;
    sd.allocator = env->a;
    sd.logger = desc->logger;
    if ((rc = coco_store_open(&sd, &env->store)) != COCO_OK) {
        coco_arena_destroy(env->arena);
        coco__free(&a, env, sizeof *env);
        return rc;
    }
    coco__mutex_init_recursive(&env->lock);
    coco__pool_start(env, desc->threads, COCO__DEF(desc->max_inflight, 1024u));
    *out = env;
    return COCO_OK;
}

COCO_API coco_result coco_env_on_close(coco_env* env, void (*fn)(void* user), void* user) {
    coco__closer c;
    if (!env || !fn) return COCO_ERR_INVALID_ARG;
    c.fn = fn;
    c.user = user;
    return coco__vpush(&env->closers, &c, sizeof c) ? COCO_OK : COCO_ERR_NOMEM;
}

COCO_API void coco_env_close(coco_env* env) {
    coco_target* t;
    size_t nc;
    if (!env) return;
    coco__pool_stop(env);
    for (nc = COCO__VLEN(env->closers, coco__closer); nc > 0; nc--) {
        coco__closer* c = &COCO__VAT(env->closers, coco__closer, nc - 1);
        c->fn(c->user);
    }
    coco__buf_free(&env->closers);
    coco__livemaps_free(env);
    {
        size_t i;
        for (i = 0; i < COCO__VLEN(env->fns, coco__fnreg*); i++) {
            coco__fnreg* r = COCO__VAT(env->fns, coco__fnreg*, i);
            coco__mutex_free(&r->m);
            coco__cond_free(&r->cv);
        }
    }
    coco__mutex_free(&env->lock);
    for (t = env->targets; t; ) {
        coco_target* n = t->next;
        coco__free(&env->a, t, sizeof *t);
        t = n;
    }
    coco_store_close(env->store);
    coco__buf_free(&env->ctxv);
    coco__buf_free(&env->fns);
    coco_arena_destroy(env->arena);
    coco__free(&env->a, env, sizeof *env);
}

COCO__PRIVATE coco__ctxval* coco__ctx_find(coco_env* env, const char* key) {
    size_t i, n = COCO__VLEN(env->ctxv, coco__ctxval);
    for (i = 0; i < n; i++)
        if (strcmp(COCO__VAT(env->ctxv, coco__ctxval, i).key, key) == 0)
            return &COCO__VAT(env->ctxv, coco__ctxval, i);
    return NULL;
}

COCO_API coco_result coco_env_provide(coco_env* env, const char* key, void* ptr,
                                      const coco_value* identity, int detect_change) {
    coco__ctxval* cv;
    coco_fp f;
    if (!env || !key || !*key) return COCO_ERR_INVALID_ARG;
    memset(&f, 0, sizeof f);
    if (detect_change) {
        if (!identity) {
            coco__fmt(env->err, sizeof env->err, "context key '%s': detect_change needs an "
                     "identity value to fingerprint", key);
            return COCO_ERR_INVALID_ARG;
        }
        if (coco_value_fp(env->arena, identity, &f) != COCO_OK) {
            coco__fmt(env->err, sizeof env->err, "context key '%s': %s", key,
                     coco_arena_errmsg(env->arena));
            return COCO_ERR_INVALID_ARG;
        }
    }
    cv = coco__ctx_find(env, key);
    if (!cv) {
        if (!(cv = (coco__ctxval*)coco__vpush(&env->ctxv, NULL, sizeof *cv))) return COCO_ERR_NOMEM;
        if (!(cv->key = coco_arena_strndup(env->arena, key, strlen(key)))) return COCO_ERR_NOMEM;
    }
    cv->ptr = ptr;
    cv->fp = f;
    cv->detect = detect_change ? 1 : 0;
    return COCO_OK;
}

/* Caller holds env->lock. */
COCO__PRIVATE coco__fnreg* coco__fn_find_name(coco_env* env, const char* name, size_t len) {
    size_t i, n = COCO__VLEN(env->fns, coco__fnreg*);
    for (i = 0; i < n; i++) {
        coco__fnreg* r = COCO__VAT(env->fns, coco__fnreg*, i);
        if (strlen(r->name) == len && memcmp(r->name, name, len) == 0) return r;
    }
    return NULL;
}

COCO__PRIVATE coco__fnreg* coco__fn_reg_locked(coco_env* env, const coco_fn* fn,
                                               coco_result* rc);
/* The registration of `fn`, registering it on first use.  The result stays valid for the
   life of the env. */
COCO__PRIVATE coco__fnreg* coco__fn_reg(coco_env* env, const coco_fn* fn, coco_result* rc) {
    coco__fnreg* r;
    coco__mutex_lock(&env->lock);
    r = coco__fn_reg_locked(env, fn, rc);
    coco__mutex_unlock(&env->lock);
    return r;
}

COCO__PRIVATE coco__fnreg* coco__fn_reg_locked(coco_env* env, const coco_fn* fn,
                                               coco_result* rc) {
    size_t i, n = COCO__VLEN(env->fns, coco__fnreg*);
    coco__fnreg* r;
    coco_value parts[4];
    coco_value lst;
    for (i = 0; i < n; i++)
        if (COCO__VAT(env->fns, coco__fnreg*, i)->fn == fn) return COCO__VAT(env->fns, coco__fnreg*, i);
    *rc = COCO_ERR_INVALID_ARG;
    if (!fn->name || !*fn->name) {
        coco__fmt(env->err, sizeof env->err, "a coco_fn needs a name");
        return NULL;
    }
    if ((r = coco__fn_find_name(env, fn->name, strlen(fn->name))) != NULL) {
        coco__fmt(env->err, sizeof env->err, "two different coco_fn share the name '%s'",
                 fn->name);
        return NULL;
    }
    parts[0] = coco_str(fn->name);
    parts[1] = coco_int(fn->version);
    parts[2] = fn->deps ? *fn->deps : coco_null();
    parts[3] = fn->source ? coco_str(fn->source) : coco_null();
    lst = coco_list(parts, 4);
    *rc = COCO_ERR_NOMEM;
    if (!(r = (coco__fnreg*)coco_arena_alloc(env->arena, sizeof *r))) return NULL;
    memset(r, 0, sizeof *r);
    coco__mutex_init(&r->m);
    coco__cond_init(&r->cv);
    r->fn = fn;
    if (!(r->name = coco_arena_strndup(env->arena, fn->name, strlen(fn->name)))) return NULL;
    if ((*rc = coco_value_fp(env->arena, &lst, &r->logic)) != COCO_OK) {
        coco__fmt(env->err, sizeof env->err, "function '%s': deps cannot be encoded: %s",
                 fn->name, coco_arena_errmsg(env->arena));
        return NULL;
    }
    if (!coco__vpush(&env->fns, &r, sizeof r)) { *rc = COCO_ERR_NOMEM; return NULL; }
    *rc = COCO_OK;
    return r;
}

COCO_API coco_result coco_fn_register(coco_env* env, const coco_fn* fn) {
    coco_result rc = COCO_OK;
    if (!env || !fn) return COCO_ERR_INVALID_ARG;
    return coco__fn_reg(env, fn, &rc) ? COCO_OK : rc;
}

COCO_API coco_result coco_fn_batch(coco_env* env, const coco_fn* fn, coco_batch_fn batch,
                                   void* user, uint32_t max_batch_size) {
    coco_result rc = COCO_OK;
    coco__fnreg* r;
    if (!env || !fn || !batch) return COCO_ERR_INVALID_ARG;
    if (!(r = coco__fn_reg(env, fn, &rc))) return rc;
    r->batch = batch;
    r->batch_user = user;
    r->batch_max = max_batch_size ? max_batch_size : 64u;
    return COCO_OK;
}

COCO_API coco_result coco_fn_serial(coco_env* env, const coco_fn* fn) {
    coco_result rc = COCO_OK;
    coco__fnreg* r;
    if (!env || !fn) return COCO_ERR_INVALID_ARG;
    if (!(r = coco__fn_reg(env, fn, &rc))) return rc;
    r->serial = 1;
    return COCO_OK;
}

COCO_API coco_result coco_target_register(coco_env* env, const char* name,
                                          const coco_target_vtable* vt, void* user,
                                          coco_target** out) {
    coco_target* t;
    if (!env || !name || !*name || !vt || !vt->apply || !out) return COCO_ERR_INVALID_ARG;
    if (strchr(name, '/')) {
        coco__fmt(env->err, sizeof env->err, "target name '%s': '/' is reserved for the child "
                  "targets of containers", name);
        return COCO_ERR_INVALID_ARG;
    }
    coco__mutex_lock(&env->lock);
    for (t = env->targets; t; t = t->next)
        if (strcmp(t->name, name) == 0) {
            coco__fmt(env->err, sizeof env->err, "target '%s' is already registered", name);
            coco__mutex_unlock(&env->lock);
            return COCO_ERR_INVALID_ARG;
        }
    if (!(t = (coco_target*)coco__alloc(&env->a, sizeof *t))) {
        coco__mutex_unlock(&env->lock);
        return COCO_ERR_NOMEM;
    }
    memset(t, 0, sizeof *t);
    if (!(t->name = coco_arena_strndup(env->arena, name, strlen(name)))) {
        coco__free(&env->a, t, sizeof *t);
        coco__mutex_unlock(&env->lock);
        return COCO_ERR_NOMEM;
    }
    t->env = env;
    t->vt = *vt;
    t->user = user;
    t->next = env->targets;
    env->targets = t;
    *out = t;
    coco__mutex_unlock(&env->lock);
    return COCO_OK;
}

COCO_API coco_result coco_target_register_container(coco_env* env, const char* name,
                                                    const coco_target_vtable* vt, void* user,
                                                    coco_child_open_fn child_open,
                                                    coco_target** out) {
    coco_result rc;
    if (!child_open || (name && strchr(name, '/'))) return COCO_ERR_INVALID_ARG;
    if ((rc = coco_target_register(env, name, vt, user, out)) == COCO_OK)
        (*out)->child_open = child_open;
    return rc;
}

COCO_API void* coco_target_user(const coco_target* target, const coco_target_vtable** vt) {
    if (vt) *vt = target ? &target->vt : NULL;
    return target ? target->user : NULL;
}

COCO__PRIVATE coco_target* coco__target_find_locked(coco_env* env, const char* name, size_t len);
COCO__PRIVATE coco_result coco__tk_fp(coco_arena* ar, const char* tname, const coco_value* key,
                                      coco_fp* out);

/* The child target of `container` for the container state `key` (created on first use). */
COCO__PRIVATE coco_target* coco__child_target_locked(coco_env* env, coco_target* container,
                                                     const coco_value* key) {
    coco_bytes enc;
    coco__buf nb;
    coco_target* t;
    size_t i;
    static const char hex[] = "0123456789abcdef";
    const coco_target_vtable* cvt = NULL;
    void* cu = NULL;
    if (coco_value_encode(env->arena, key, &enc) != COCO_OK) return NULL;
    coco__buf_init(&nb, &env->a);
    coco__buf_put(&nb, container->name, strlen(container->name));
    coco__buf_byte(&nb, '/');
    for (i = 0; i < enc.len; i++) {
        unsigned char c = ((const unsigned char*)enc.ptr)[i];
        coco__buf_byte(&nb, (unsigned char)hex[c >> 4]);
        coco__buf_byte(&nb, (unsigned char)hex[c & 15]);
    }
    if (!nb.ptr) return NULL;
    for (t = env->targets; t; t = t->next)
        if (strlen(t->name) == nb.len && memcmp(t->name, nb.ptr, nb.len) == 0) break;
    if (t) {
        coco__buf_free(&nb);
        return t;
    }
    if (container->child_open(container->user, key, &cvt, &cu) != COCO_OK || !cvt || !cvt->apply ||
        !(t = (coco_target*)coco__alloc(&env->a, sizeof *t))) {
        coco__buf_free(&nb);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->name = coco_arena_strndup(env->arena, (const char*)nb.ptr, nb.len);
    coco__buf_free(&nb);
    if (!t->name || coco__tk_fp(env->arena, container->name, key, &t->ckey) != COCO_OK) {
        coco__free(&env->a, t, sizeof *t);
        return NULL;
    }
    coco_fp_hex(t->ckey, t->ckey_hex);
    t->env = env;
    t->vt = *cvt;
    t->user = cu;
    t->container = container;
    t->child_open = container->child_open;   /* containers nest (directories in directories) */
    t->next = env->targets;
    env->targets = t;
    return t;
}

/* By name; a child target not seen yet is rebuilt from its name (drop, cleanup). */
COCO__PRIVATE coco_target* coco__target_find_locked(coco_env* env, const char* name, size_t len) {
    coco_target* t;
    const char* slash = NULL;
    size_t i;
    for (t = env->targets; t; t = t->next)
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0) return t;
    for (i = len; i > 0; i--)
        if (name[i - 1] == '/') { slash = name + i - 1; break; }
    if (slash && ((size_t)(name + len - slash - 1) % 2) == 0) {
        coco_target* c = coco__target_find_locked(env, name, (size_t)(slash - name));
        size_t n = (size_t)(name + len - slash - 1) / 2;
        unsigned char* raw;
        coco_value key;
        if (!c || !c->child_open || !(raw = (unsigned char*)coco_arena_alloc(env->arena, n + 1)))
            return NULL;
        for (i = 0; i < n; i++) {
            int hi = slash[1 + 2 * i], lo = slash[2 + 2 * i];
            hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
            lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
            if (hi < 0 || hi > 15 || lo < 0 || lo > 15) return NULL;
            raw[i] = (unsigned char)(hi << 4 | lo);
        }
        if (coco_value_decode(env->arena, raw, n, &key) != COCO_OK) return NULL;
        return coco__child_target_locked(env, c, &key);
    }
    return NULL;
}

COCO__PRIVATE coco_target* coco__target_find(coco_env* env, const char* name, size_t len) {
    coco_target* t;
    coco__mutex_lock(&env->lock);
    t = coco__target_find_locked(env, name, len);
    coco__mutex_unlock(&env->lock);
    return t;
}

/* ---- apps ----------------------------------------------------------------------------------- */
COCO_API const char* coco_app_errmsg(const coco_app* app) { return app ? app->err : ""; }

COCO_API coco_result coco_app_create(coco_env* env, const coco_app_desc* desc, coco_app** out) {
    coco_app* app;
    size_t n;
    coco_result rc;
    if (!env || !desc || !out) return COCO_ERR_INVALID_ARG;
    if (!desc->name || !*desc->name || !desc->main) {
        coco__fmt(env->err, sizeof env->err, "an app needs a name and a main function");
        return COCO_ERR_INVALID_ARG;
    }
    if (!(app = (coco_app*)coco__alloc(&env->a, sizeof *app))) return COCO_ERR_NOMEM;
    memset(app, 0, sizeof *app);
    app->env = env;
    app->main = desc->main;
    coco__buf_init(&app->stats, &env->a);
    coco__buf_init(&app->events, &env->a);
    coco__mutex_init(&app->live_m);
    coco__mutex_init(&app->stats_m);
    coco__cond_init(&app->live_cv);
    if ((rc = coco_arena_create(&env->a, &app->arena)) != COCO_OK) {
        coco__mutex_free(&app->stats_m);
        coco__mutex_free(&app->live_m);
        coco__cond_free(&app->live_cv);
        coco__free(&env->a, app, sizeof *app);
        return rc;
    }
    n = strlen(desc->name);
    app->name = coco_arena_strndup(app->arena, desc->name, n);
    app->prefix = (unsigned char*)coco_arena_alloc(app->arena, n + 2);
    if (!app->name || !app->prefix ||
        (rc = coco_value_copy(app->arena, &desc->arg, &app->arg)) != COCO_OK) {
        coco_app_destroy(app);
        return COCO_ERR_NOMEM;
    }
    app->prefix[0] = 'A';
    memcpy(app->prefix + 1, desc->name, n);
    app->prefix[n + 1] = 0;
    app->prefix_len = n + 2;
    *out = app;
    return COCO_OK;
}

COCO_API void coco_app_destroy(coco_app* app) {
    if (!app) return;
    coco__mutex_free(&app->live_m);
    coco__mutex_free(&app->stats_m);
    coco__cond_free(&app->live_cv);
    coco__buf_free(&app->events);
    coco__buf_free(&app->stats);
    coco_arena_destroy(app->arena);
    coco__free(&app->env->a, app, sizeof *app);
}

/* P <tag> <16 bytes> in `ar` */
COCO__PRIVATE coco_bytes coco__app_key(coco_arena* ar, const coco_app* app, char tag,
                                       const coco_fp* f) {
    coco_bytes k;
    unsigned char* p = (unsigned char*)coco_arena_alloc(ar, app->prefix_len + 17);
    k.ptr = p;
    k.len = 0;
    if (!p) return k;
    memcpy(p, app->prefix, app->prefix_len);
    p[app->prefix_len] = (unsigned char)tag;
    if (f) memcpy(p + app->prefix_len + 1, f->bytes, 16);
    k.len = app->prefix_len + 1 + (f ? 16 : 0);
    return k;
}

COCO__PRIVATE coco_fn_stats* coco__stats_for(coco_app* app, const char* name) {
    size_t i, n = COCO__VLEN(app->stats, coco_fn_stats);
    coco_fn_stats* s;
    for (i = 0; i < n; i++)
        if (strcmp(COCO__VAT(app->stats, coco_fn_stats, i).name, name) == 0)
            return &COCO__VAT(app->stats, coco_fn_stats, i);
    if (!(s = (coco_fn_stats*)coco__vpush(&app->stats, NULL, sizeof *s))) return NULL;
    s->name = coco_arena_strndup(app->arena, name, strlen(name));
    if (!s->name) { app->stats.len -= sizeof *s; return NULL; }
    return s;
}
#define COCO__STAT(run, name, field) do { coco_fn_stats* coco__s;                     \
    coco__mutex_lock(&(run)->app->stats_m);                                                  \
    coco__s = coco__stats_for((run)->app, name);                                             \
    if (coco__s) coco__s->field++;                                                           \
    coco__mutex_unlock(&(run)->app->stats_m); } while (0)

COCO_API size_t coco_app_stats_snapshot(coco_app* app, coco_fn_stats* out, size_t cap) {
    size_t n, i;
    if (!app) return 0;
    coco__mutex_lock(&app->stats_m);
    n = COCO__VLEN(app->stats, coco_fn_stats);
    for (i = 0; i < n && i < cap && out; i++) out[i] = COCO__VAT(app->stats, coco_fn_stats, i);
    coco__mutex_unlock(&app->stats_m);
    return n;
}

/* ---- component contexts --------------------------------------------------------------------- */
COCO_API coco_arena* coco_ctx_arena(coco_ctx* ctx) { return ctx ? ctx->arena : NULL; }
/* rendered on first use: most components never need their path as text */
COCO_API const char* coco_ctx_path(coco_ctx* ctx) {
    if (!ctx) return "";
    if (!ctx->path_str) ctx->path_str = coco__render_path(ctx->arena, &ctx->path);
    return ctx->path_str;
}

COCO_API coco_result coco_ctx_fail(coco_ctx* ctx, coco_result code, const char* fmt, ...) {
    va_list ap;
    if (!ctx) return code;
    if (ctx->err_code != COCO_OK) return code;   /* the first failure tells the story */
    va_start(ap, fmt);
    coco__vfmt(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    ctx->err_code = code;
    return code;
}

COCO_API coco_result coco_ctx_item_gone(coco_ctx* ctx, const char* fmt, ...) {
    va_list ap;
    if (!ctx) return COCO_ERR_NOT_FOUND;
    if (!ctx->item_gone) {
        va_start(ap, fmt);
        coco__vfmt(ctx->err, sizeof ctx->err, fmt, ap);
        va_end(ap);
        ctx->item_gone = 1;
    }
    return COCO_ERR_NOT_FOUND;
}

/* A component whose source item went away while it ran (coco_ctx_item_gone) ends as one with
   nothing to declare: no target states, no children, no memo; not an error. */
COCO__PRIVATE void coco__end_item_gone(coco_ctx* ctx, coco_value* ret) {
    char line[COCO__ERRMSG_CAP + 64];
    ctx->decls.len = 0;
    ctx->decl_tks.len = 0;
    ctx->kids.len = 0;
    ctx->err_code = COCO_OK;
    ctx->no_memo = 1;
    *ret = coco_null();
    coco__fmt(line, sizeof line, "component %s: its source item is gone: %s", coco_ctx_path(ctx),
              ctx->err);
    coco__emit(&ctx->run->env->lg, COCO_LOG_DEBUG, COCO_ERR_NOT_FOUND, line, __FILE__, __LINE__);
    ctx->err[0] = 0;
}

COCO__PRIVATE coco__frame* coco__frame_top(coco_ctx* ctx) {
    size_t n = COCO__VLEN(ctx->frames, coco__frame);
    return n ? &COCO__VAT(ctx->frames, coco__frame, n - 1) : NULL;
}

COCO__PRIVATE int coco__frame_add(coco__frame* f, int kind, const char* name, coco_fp fp) {
    size_t i, n = COCO__VLEN(f->deps, coco__dep);
    coco__dep d;
    for (i = 0; i < n; i++) {
        coco__dep* e = &COCO__VAT(f->deps, coco__dep, i);
        if (e->kind == kind && strcmp(e->name, name) == 0) return 0;
    }
    d.kind = kind; d.name = name; d.fp = fp;
    return coco__vpush(&f->deps, &d, sizeof d) ? 0 : -1;
}

COCO__PRIVATE coco__frame* coco__frame_push(coco_ctx* ctx, coco_logic_tracking tr) {
    coco__frame* f = (coco__frame*)coco__vpush(&ctx->frames, NULL, sizeof *f);
    if (!f) return NULL;
    coco__buf_init(&f->deps, &ctx->run->env->a);
    f->tracking = tr == COCO_TRACK_DEFAULT ? COCO_TRACK_FULL : tr;
    return f;
}

/* Pops the top frame into the one below: context deps always, logic deps when the caller
   tracks its callees (full). */
COCO__PRIVATE void coco__frame_pop(coco_ctx* ctx) {
    size_t n = COCO__VLEN(ctx->frames, coco__frame), i;
    coco__frame* top = &COCO__VAT(ctx->frames, coco__frame, n - 1);
    if (n >= 2) {
        coco__frame* below = &COCO__VAT(ctx->frames, coco__frame, n - 2);
        for (i = 0; i < COCO__VLEN(top->deps, coco__dep); i++) {
            coco__dep* d = &COCO__VAT(top->deps, coco__dep, i);
            if (d->kind == 1 || below->tracking == COCO_TRACK_FULL)
                coco__frame_add(below, d->kind, d->name, d->fp);
        }
    }
    coco__buf_free(&top->deps);
    ctx->frames.len -= sizeof *top;
}

/* deps as a stored value: [[kind, name, fp], ...] */
COCO__PRIVATE coco_value coco__deps_val(coco_arena* ar, const coco__frame* f) {
    size_t i, n = COCO__VLEN(f->deps, coco__dep);
    coco_value* items = (coco_value*)coco_arena_alloc(ar, (n ? n : 1) * sizeof *items);
    if (!items) return coco_null();
    for (i = 0; i < n; i++) {
        const coco__dep* d = &COCO__VAT(f->deps, coco__dep, i);
        coco_value* t = (coco_value*)coco_arena_alloc(ar, 3 * sizeof *t);
        if (!t) return coco_null();
        t[0] = coco_int(d->kind);
        t[1] = coco_str(d->name);
        t[2] = coco__fp_val(ar, d->fp);
        items[i] = coco_list(t, 3);
    }
    return coco_list(items, n);
}

/* The generation of a container state: bumped each time a change invalidates its children. */
COCO__PRIVATE int64_t coco__gen_get(coco__run* run, coco_fp ckey) {
    size_t i;
    int64_t g = 0;
    coco_bytes k, v;
    coco_value gv;
    coco_arena* ar;
    coco__mutex_lock(&run->lock);
    for (i = 0; i < COCO__VLEN(run->gens, coco__gen); i++)
        if (coco_fp_eq(COCO__VAT(run->gens, coco__gen, i).ckey, ckey)) {
            g = COCO__VAT(run->gens, coco__gen, i).gen;
            coco__mutex_unlock(&run->lock);
            return g;
        }
    if (coco_arena_create(&run->env->a, &ar) == COCO_OK) {
        k = coco__app_key(ar, run->app, 'g', &ckey);
        if (coco_store_get(run->env->store, k.ptr, k.len, ar, &v) == COCO_OK &&
            coco_value_decode(ar, v.ptr, v.len, &gv) == COCO_OK && gv.kind == COCO_INT)
            g = gv.u.i;
        coco_arena_destroy(ar);
    }
    {
        coco__gen e;
        e.ckey = ckey;
        e.gen = g;
        coco__vpush(&run->gens, &e, sizeof e);
    }
    coco__mutex_unlock(&run->lock);
    return g;
}

COCO__PRIVATE void coco__gen_set(coco__run* run, coco_fp ckey, int64_t g) {
    size_t i;
    coco__gen e;
    coco__mutex_lock(&run->lock);
    for (i = 0; i < COCO__VLEN(run->gens, coco__gen); i++)
        if (coco_fp_eq(COCO__VAT(run->gens, coco__gen, i).ckey, ckey)) {
            COCO__VAT(run->gens, coco__gen, i).gen = g;
            coco__mutex_unlock(&run->lock);
            return;
        }
    e.ckey = ckey;
    e.gen = g;
    coco__vpush(&run->gens, &e, sizeof e);
    coco__mutex_unlock(&run->lock);
}

COCO__PRIVATE coco_fp coco__gen_fp(int64_t g) {
    unsigned char b[8];
    coco__put_u64le(b, (uint64_t)g);
    return coco_fp_of(b, 8);
}

COCO__PRIVATE int coco__hex16(const char* s, size_t n, coco_fp* out) {
    size_t i;
    if (n != 32) return -1;
    for (i = 0; i < 16; i++) {
        int hi = s[2 * i], lo = s[2 * i + 1];
        hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
        lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
        if (hi < 0 || lo < 0) return -1;
        out->bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* 1 if every stored dependency still holds */
COCO__PRIVATE int coco__deps_valid(coco__run* run, const coco_value* deps) {
    coco_env* env = run->env;
    size_t i;
    if (!deps || deps->kind != COCO_LIST) return 0;
    for (i = 0; i < deps->u.list.count; i++) {
        const coco_value* d = &deps->u.list.items[i];
        const coco_value *kind, *name, *fp;
        if (d->kind != COCO_LIST || d->u.list.count != 3) return 0;
        kind = &d->u.list.items[0]; name = &d->u.list.items[1]; fp = &d->u.list.items[2];
        if (kind->kind != COCO_INT || name->kind != COCO_STR) return 0;
        if (kind->u.i == 2) {
            coco_fp ck;
            if (coco__hex16(name->u.s.ptr, name->u.s.len, &ck) ||
                !coco__val_is_fp(fp, coco__gen_fp(coco__gen_get(run, ck))))
                return 0;
        } else if (kind->u.i == 0) {
            coco__fnreg* r;
            coco__mutex_lock(&env->lock);
            r = coco__fn_find_name(env, name->u.s.ptr, name->u.s.len);
            coco__mutex_unlock(&env->lock);
            if (!r || !coco__val_is_fp(fp, r->logic)) return 0;
        } else {
            size_t j, n = COCO__VLEN(env->ctxv, coco__ctxval);
            int ok = 0;
            for (j = 0; j < n; j++) {
                coco__ctxval* cv = &COCO__VAT(env->ctxv, coco__ctxval, j);
                if (strlen(cv->key) == name->u.s.len &&
                    memcmp(cv->key, name->u.s.ptr, name->u.s.len) == 0) {
                    ok = cv->detect && coco__val_is_fp(fp, cv->fp);
                    break;
                }
            }
            if (!ok) return 0;
        }
    }
    return 1;
}

/* adds stored deps to the current frame (a memo hit carries them upward) */
COCO__PRIVATE void coco__frame_add_stored(coco_ctx* ctx, coco__frame* f, const coco_value* deps) {
    size_t i;
    for (i = 0; i < coco__list_len(deps); i++) {
        const coco_value* d = coco__list_at(deps, i);
        char* name = coco_arena_strndup(ctx->arena, d->u.list.items[1].u.s.ptr,
                                        d->u.list.items[1].u.s.len);
        if (name) coco__frame_add(f, (int)d->u.list.items[0].u.i, name,
                                  coco__val_fp_bytes(&d->u.list.items[2]));
    }
}

COCO_API void* coco_use(coco_ctx* ctx, const char* key) {
    coco__ctxval* cv;
    coco__frame* f;
    if (!ctx || !key) return NULL;
    cv = coco__ctx_find(ctx->run->env, key);
    if (!cv) {
        coco_ctx_fail(ctx, COCO_ERR_NOT_FOUND, "context key '%s' was not provided "
                      "(coco_env_provide) at %s", key, coco_ctx_path(ctx));
        return NULL;
    }
    if (cv->detect && (f = coco__frame_top(ctx)) != NULL) coco__frame_add(f, 1, cv->key, cv->fp);
    return cv->ptr;
}

COCO__PRIVATE coco_result coco__ctx_create(coco__run* run, coco_ctx* parent, const coco_fn* fn,
                                           coco_ctx** out) {
    coco_env* env = run->env;
    coco_ctx* c = (coco_ctx*)coco__alloc(&env->a, sizeof *c);
    if (!c) return COCO_ERR_NOMEM;
    memset(c, 0, sizeof *c);
    c->run = run;
    c->parent = parent;
    c->fn = fn;
    coco__buf_init(&c->decls, &env->a);
    coco__buf_init(&c->decl_tks, &env->a);
    coco__buf_init(&c->kids, &env->a);
    coco__buf_init(&c->xents, &env->a);
    coco__buf_init(&c->groups, &env->a);
    coco__buf_init(&c->frames, &env->a);
    coco__buf_init(&c->idstates, &env->a);
    coco__map_init_lazy(&c->decl_set, &env->a);
    coco__map_init_lazy(&c->kid_set, &env->a);
    if (coco_arena_create(&env->a, &c->arena) != COCO_OK) {
        coco__free(&env->a, c, sizeof *c);
        return COCO_ERR_NOMEM;
    }
    *out = c;
    return COCO_OK;
}

COCO__PRIVATE void coco__probe_free(coco__run* run, struct coco__probe* pr);
COCO__PRIVATE void coco__ctx_destroy(coco_ctx* c) {
    coco_env* env;
    size_t i;
    if (!c) return;
    env = c->run->env;
    while (COCO__VLEN(c->frames, coco__frame)) coco__frame_pop(c);
    for (i = 0; i < COCO__VLEN(c->idstates, coco__idstate); i++)
        coco__buf_free(&COCO__VAT(c->idstates, coco__idstate, i).ids);
    coco__buf_free(&c->decls);
    coco__buf_free(&c->decl_tks);
    coco__buf_free(&c->kids);
    coco__buf_free(&c->xents);
    coco__buf_free(&c->groups);
    coco__buf_free(&c->frames);
    coco__buf_free(&c->idstates);
    coco__map_free(&c->decl_set);
    coco__map_free(&c->kid_set);
    coco__probe_free(c->run, c->probe);
    coco_arena_destroy(c->arena);
    coco__free(&env->a, c, sizeof *c);
}

/* 1 if `f` was mounted by this component in this run */
COCO__PRIVATE int coco__kid_has(coco_ctx* ctx, coco_fp f) {
    coco__fpset_eq eq;
    eq.arr = (const coco_fp*)(void*)ctx->kids.ptr;
    eq.f = f;
    return coco__map_find(&ctx->kid_set, coco__fp_hash(f), coco__fpset_eqfn, &eq)->val != 0;
}

/* A hash index over the old record's children list: slot values are list index + 1. */
typedef struct coco__listeq { const coco_value* list; coco_fp f; } coco__listeq;
COCO__PRIVATE int coco__listeq_fn(void* ctx, uint64_t val) {
    const coco__listeq* e = (const coco__listeq*)ctx;
    return coco__val_is_fp(coco__list_at(e->list, (size_t)val - 1), e->f);
}
COCO__PRIVATE int coco__list_index(coco__map* m, const coco_allocator* a, const coco_value* list) {
    size_t i, n = coco__list_len(list);
    if (coco__map_init(m, a, n)) return -1;
    for (i = 0; i < n; i++) {
        uint64_t h = coco__fp_hash(coco__val_fp_bytes(coco__list_at(list, i)));
        size_t j = (size_t)h & m->mask;
        while (m->slots[j].val) j = (j + 1) & m->mask;
        m->slots[j].hash = h;
        m->slots[j].val = i + 1;
        m->count++;
    }
    return 0;
}
COCO__PRIVATE int coco__list_index_has(coco__map* m, const coco_value* list, coco_fp f) {
    coco__listeq e;
    e.list = list;
    e.f = f;
    return coco__map_find(m, coco__fp_hash(f), coco__listeq_fn, &e)->val != 0;
}

/* ---- target declarations -------------------------------------------------------------------- */
COCO__PRIVATE coco_result coco__tk_fp(coco_arena* ar, const char* tname, const coco_value* key,
                                      coco_fp* out) {
    coco_value pair[2];
    coco_value l;
    pair[0] = coco_str(tname);
    pair[1] = *key;
    l = coco_list(pair, 2);
    return coco_value_fp(ar, &l, out);
}

COCO__PRIVATE int coco__declared_add(coco__run* run, coco_fp tk);

COCO__PRIVATE coco_result coco__declare(coco_ctx* ctx, coco_target* t, const coco_value* key,
                                        const coco_value* value) {
    coco__decl d;
    coco__fpset_eq eq;
    coco__map_slot* s;
    coco_result rc;
    coco_fp* fps;
    size_t n = COCO__VLEN(ctx->decls, coco__decl);
    if ((rc = coco__tk_fp(ctx->arena, t->name, key, &d.tk)) != COCO_OK)
        return coco_ctx_fail(ctx, rc, "target '%s': key cannot be encoded at %s: %s", t->name,
                             coco_ctx_path(ctx), coco_arena_errmsg(ctx->arena));
    /* the set's slot values index into decl_tks, kept next to decls */
    fps = (coco_fp*)(void*)ctx->decl_tks.ptr;
    eq.arr = fps; eq.f = d.tk;
    if (coco__map_reserve1(&ctx->decl_set)) return COCO_ERR_NOMEM;
    s = coco__map_find(&ctx->decl_set, coco__fp_hash(d.tk), coco__fpset_eqfn, &eq);
    if (s->val) {
        coco__buf kb;
        coco__buf_init(&kb, &ctx->run->env->a);
        coco__render_key(&kb, key, 0);
        coco__buf_byte(&kb, 0);
        rc = coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "target '%s': key %s declared twice in "
                           "component %s", t->name, kb.ptr ? (const char*)kb.ptr : "?",
                           coco_ctx_path(ctx));
        coco__buf_free(&kb);
        return rc;
    }
    if (t->container) {
        /* states inside a container hold only while the container keeps its generation */
        coco__frame* f = coco__frame_top(ctx);
        if (f) coco__frame_add(f, 2, t->ckey_hex, coco__gen_fp(coco__gen_get(ctx->run, t->ckey)));
    }
    d.t = t;
    if ((rc = coco_value_copy(ctx->arena, key, &d.key)) != COCO_OK) return rc;
    if ((rc = coco_value_copy(ctx->arena, value, &d.value)) != COCO_OK) return rc;
    if (!coco__vpush(&ctx->decl_tks, &d.tk, sizeof d.tk)) return COCO_ERR_NOMEM;
    if (!coco__vpush(&ctx->decls, &d, sizeof d)) {
        ctx->decl_tks.len -= sizeof d.tk;
        return COCO_ERR_NOMEM;
    }
    s->hash = coco__fp_hash(d.tk);
    s->val = n + 1;
    ctx->decl_set.count++;
    if (coco__declared_add(ctx->run, d.tk)) return COCO_ERR_NOMEM;
    return COCO_OK;
}

COCO_API coco_result coco_declare(coco_ctx* ctx, coco_target* target, coco_value key,
                                  coco_value value) {
    if (!ctx || !target) return COCO_ERR_INVALID_ARG;
    return coco__declare(ctx, target, &key, &value);
}

/* ---- the run's set of target states declared anywhere in this run ---------------------------- */
typedef struct coco__tkeq { coco_fp f; } coco__tkeq;
COCO__PRIVATE int coco__declared_eqfn(void* ctx, uint64_t val) {
    /* the slot keeps the fp's second half in `val`; the first half is the hash */
    const coco__tkeq* e = (const coco__tkeq*)ctx;
    uint64_t lo;
    memcpy(&lo, e->f.bytes + 8, 8);
    return (lo | 1u) == val;
}
COCO__PRIVATE int coco__declared_add(coco__run* run, coco_fp tk) {
    coco__tkeq e;
    coco__map_slot* s;
    uint64_t lo;
    int rc = 0;
    e.f = tk;
    coco__mutex_lock(&run->lock);
    if (coco__map_reserve1(&run->declared)) rc = -1;
    else {
        s = coco__map_find(&run->declared, coco__fp_hash(tk), coco__declared_eqfn, &e);
        if (!s->val) {
            memcpy(&lo, tk.bytes + 8, 8);
            s->hash = coco__fp_hash(tk);
            s->val = lo | 1u;
            run->declared.count++;
        }
    }
    coco__mutex_unlock(&run->lock);
    return rc;
}
COCO__PRIVATE int coco__declared_has(coco__run* run, coco_fp tk) {
    coco__tkeq e;
    int has;
    e.f = tk;
    coco__mutex_lock(&run->lock);
    has = coco__map_find(&run->declared, coco__fp_hash(tk), coco__declared_eqfn, &e)->val != 0;
    coco__mutex_unlock(&run->lock);
    return has;
}

/* ---- stable ids ----------------------------------------------------------------------------- */
COCO__PRIVATE coco__idstate* coco__idstate_for(coco_ctx* ctx, const coco_value* dep, int kind,
                                               int uuid) {
    coco_value parts[2], l;
    coco_fp f;
    size_t i, n = COCO__VLEN(ctx->idstates, coco__idstate);
    coco__idstate* st;
    const coco_value* old = coco__field(ctx->old, uuid ? "u" : "i");
    parts[0] = coco_int(kind);
    parts[1] = *dep;
    l = coco_list(parts, 2);
    if (coco_value_fp(ctx->arena, &l, &f) != COCO_OK) return NULL;
    for (i = 0; i < n; i++) {
        st = &COCO__VAT(ctx->idstates, coco__idstate, i);
        if (st->uuid == uuid && coco_fp_eq(st->dep, f)) return st;
    }
    if (!(st = (coco__idstate*)coco__vpush(&ctx->idstates, NULL, sizeof *st))) return NULL;
    st->dep = f;
    st->uuid = uuid;
    coco__buf_init(&st->ids, &ctx->run->env->a);
    for (i = 0; i < coco__list_len(old); i++) {
        const coco_value* e = coco__list_at(old, i);
        if (coco__list_len(e) == 2 && coco__val_is_fp(&e->u.list.items[0], f)) {
            st->old = &e->u.list.items[1];
            break;
        }
    }
    return st;
}

COCO__PRIVATE void coco__random16(coco__run* run, uint8_t out[16]) {
    static uint64_t counter;
    coco_hasher h;
    uint64_t t = coco__now_ns(), c = ++counter;
    int ok = 0;
#if COCO__HAS_FS
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ok = coco__pread_all(fd, out, 16, 0) == 0 || read(fd, out, 16) == 16;
        close(fd);
    }
#endif
    if (!ok) {
        coco_hasher_init(&h);
        coco_hasher_update(&h, &t, sizeof t);
        coco_hasher_update(&h, &c, sizeof c);
        coco_hasher_update(&h, &run, sizeof run);
        coco_hasher_finalize(&h, out, 16);
    }
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);   /* version 4 */
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);   /* variant 10 */
}

/* The `idx`-th id of `st`: the stored one if there is one, else a new one. */
COCO__PRIVATE coco_result coco__id_at_locked(coco_ctx* ctx, coco__idstate* st, size_t idx,
                                             void* out);
COCO__PRIVATE coco_result coco__id_at(coco_ctx* ctx, coco__idstate* st, size_t idx, void* out) {
    coco_result rc;
    coco__mutex_lock(&ctx->run->lock);     /* the app's id counter is shared */
    rc = coco__id_at_locked(ctx, st, idx, out);
    coco__mutex_unlock(&ctx->run->lock);
    return rc;
}
COCO__PRIVATE coco_result coco__id_at_locked(coco_ctx* ctx, coco__idstate* st, size_t idx,
                                             void* out) {
    size_t have = COCO__VLEN(st->ids, int64_t);
    if (st->uuid) have = st->ids.len / 16;
    while (have <= idx) {
        const coco_value* old = st->old && have < coco__list_len(st->old)
                                ? coco__list_at(st->old, have) : NULL;
        if (st->uuid) {
            uint8_t u[16];
            if (old && old->kind == COCO_UUID) memcpy(u, old->u.s.ptr, 16);
            else coco__random16(ctx->run, u);
            if (!coco__vpush(&st->ids, u, 16)) return COCO_ERR_NOMEM;
        } else {
            int64_t id;
            if (old && old->kind == COCO_INT) id = old->u.i;
            else { id = ctx->run->next_id++; ctx->run->id_dirty = 1; }
            if (!coco__vpush(&st->ids, &id, sizeof id)) return COCO_ERR_NOMEM;
        }
        have++;
    }
    if (st->uuid) memcpy(out, st->ids.ptr + idx * 16, 16);
    else memcpy(out, st->ids.ptr + idx * sizeof(int64_t), sizeof(int64_t));
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__id_req(coco_ctx* ctx, coco_value dep, int next, int uuid,
                                       void* out) {
    coco__idstate* st;
    if (!ctx || !out) return COCO_ERR_INVALID_ARG;
    if (!(st = coco__idstate_for(ctx, &dep, next, uuid))) return COCO_ERR_NOMEM;
    if (!next) return coco__id_at(ctx, st, 0, out);
    /* generator: the n-th request in this run gets the n-th id */
    {
        size_t used;
        coco_result rc;
        /* `used` counts requests so far: ids beyond it are only preloaded, never */
        used = st->uuid ? st->ids.len / 16 : COCO__VLEN(st->ids, int64_t);
        rc = coco__id_at(ctx, st, used, out);
        return rc;
    }
}

COCO_API coco_result coco_generate_id(coco_ctx* ctx, coco_value dep, int64_t* out) {
    return coco__id_req(ctx, dep, 0, 0, out);
}
COCO_API coco_result coco_id_next(coco_ctx* ctx, coco_value dep, int64_t* out) {
    return coco__id_req(ctx, dep, 1, 0, out);
}
COCO_API coco_result coco_generate_uuid(coco_ctx* ctx, coco_value dep, uint8_t out[16]) {
    return coco__id_req(ctx, dep, 0, 1, out);
}
COCO_API coco_result coco_uuid_next(coco_ctx* ctx, coco_value dep, uint8_t out[16]) {
    return coco__id_req(ctx, dep, 1, 1, out);
}

/* ---- reconcile ------------------------------------------------------------------------------ */
COCO__PRIVATE coco_result coco__reconcile(coco_target* t, coco_arena* ar, const coco_value* key,
                                          const coco_value* desired, const coco_bytes* prev,
                                          size_t nprev, int may_missing, coco_action* out) {
    memset(out, 0, sizeof *out);
    out->key = *key;
    out->value = desired ? *desired : coco_null();
    if (t->vt.reconcile)
        return t->vt.reconcile(t->user, key, desired, prev, nprev, may_missing, ar, out);
    if (!desired) {
        out->kind = (nprev || may_missing) ? COCO_ACTION_DELETE : COCO_ACTION_NONE;
        return COCO_OK;
    } else {
        coco_fp f;
        size_t i;
        int same = nprev > 0 && !may_missing;
        coco_result rc = coco_value_fp(ar, desired, &f);
        unsigned char* p;
        if (rc != COCO_OK) return rc;
        if (!(p = (unsigned char*)coco_arena_alloc(ar, 16))) return COCO_ERR_NOMEM;
        memcpy(p, f.bytes, 16);
        out->tracking.ptr = p;
        out->tracking.len = 16;
        for (i = 0; i < nprev && same; i++)
            same = prev[i].len == 16 && memcmp(prev[i].ptr, f.bytes, 16) == 0;
        out->kind = same ? COCO_ACTION_NONE : COCO_ACTION_UPSERT;
        return COCO_OK;
    }
}

/* every tracking record an old entry [target, key, tracking, pending, prev] may stand for,
   copied into `ar` (the batch's arena: apply sees them after the component is gone); *out is
   NULL when an allocation failed (a partial list would pass for a complete one) */
COCO__PRIVATE size_t coco__possible(coco_arena* ar, const coco_value* e, coco_bytes** out,
                                    int* pending) {
    const coco_value* prev = &e->u.list.items[4];
    size_t n = 1 + coco__list_len(prev), i, k = 0;
    coco_bytes* arr = (coco_bytes*)coco_arena_alloc(ar, n * sizeof *arr);
    *pending = e->u.list.items[3].kind == COCO_BOOL && e->u.list.items[3].u.b;
    *out = arr;
    if (!arr) return 0;
    for (i = 0; i < n; i++) {
        const coco_value* p = i == 0 ? &e->u.list.items[2] : coco__list_at(prev, i - 1);
        char* copy;
        if (p->kind != COCO_BYTES) continue;
        if (!(copy = coco_arena_strndup(ar, p->u.s.ptr, p->u.s.len))) { *out = NULL; return 0; }
        arr[k].ptr = copy;
        arr[k++].len = p->u.s.len;
    }
    return k;
}

COCO__PRIVATE int coco__tstate_ok(const coco_value* e) {
    return e->kind == COCO_LIST && (e->u.list.count == 5 || e->u.list.count == 6) &&
           e->u.list.items[0].kind == COCO_STR;
}
/* the container generation a state inside a container was written under (0: none) */
COCO__PRIVATE int64_t coco__tstate_gen(const coco_value* e) {
    return e->u.list.count == 6 && e->u.list.items[5].kind == COCO_INT ? e->u.list.items[5].u.i : 0;
}

COCO__PRIVATE coco_value coco__tstate(coco_arena* ar, const char* tname, const coco_value* key,
                                      coco_bytes tracking, int pending, const coco_bytes* prev,
                                      size_t nprev, int64_t gen) {
    coco_value* t = (coco_value*)coco_arena_alloc(ar, 6 * sizeof *t);
    coco_value* pv = (coco_value*)coco_arena_alloc(ar, (nprev ? nprev : 1) * sizeof *pv);
    size_t i;
    if (!t || !pv) return coco_null();
    for (i = 0; i < nprev; i++) pv[i] = coco_bytes_val(prev[i].ptr, prev[i].len);
    t[0] = coco_str(tname);
    t[1] = *key;
    t[2] = coco_bytes_val(tracking.ptr, tracking.len);
    t[3] = coco_bool(pending);
    t[4] = coco_list(pv, nprev);
    t[5] = coco_int(gen);
    return coco_list(t, gen ? 6 : 5);
}

/* ---- run plumbing --------------------------------------------------------------------------- */
COCO__PRIVATE coco_result coco__kv_add(coco__run* run, coco_bytes key, const coco_value* val) {
    coco__kv kv;
    if (!key.len) return COCO_ERR_NOMEM;   /* coco__app_key could not allocate */
    kv.key = key;
    kv.val.ptr = NULL;
    kv.val.len = 0;
    if (val) {
        coco_result rc = coco_value_encode(run->batch_arena, val, &kv.val);
        if (rc != COCO_OK) return rc;
        if (!kv.val.ptr) kv.val.ptr = "";
    }
    return coco__vpush(&run->kvs, &kv, sizeof kv) ? COCO_OK : COCO_ERR_NOMEM;
}

COCO_API void coco_ctx_on_error(coco_ctx* ctx, coco_scoped_error_fn fn, void* user) {
    if (!ctx) return;
    ctx->on_error = fn;
    ctx->on_error_user = user;
}

COCO__PRIVATE void coco__report_in(coco__run* run, coco_ctx* where, const char* path,
                                   const char* fn, coco_result rc, const char* msg);
COCO__PRIVATE void coco__report(coco__run* run, const char* path, const char* fn, coco_result rc,
                                const char* msg) {
    coco__report_in(run, NULL, path, fn, rc, msg);
}

/* Reports a failure: scoped handlers from `where` up, then the env's handler and logger. */
COCO__PRIVATE void coco__report_in(coco__run* run, coco_ctx* where, const char* path,
                                   const char* fn, coco_result rc, const char* msg) {
    coco_env* env = run->env;
    coco_error_info e;
    char line[COCO__ERRMSG_CAP];
    if (!msg || !*msg) msg = coco_result_str(rc);
    coco__fmt(line, sizeof line, "component %s (%s): %s", path, fn, msg);
    coco__mutex_lock(&run->lock);          /* one error at a time through the handlers */
    if (run->first_err == COCO_OK) {
        run->first_err = rc;
        coco__fmt(run->app->err, sizeof run->app->err, "%s", line);
    }
    e.app = run->app->name; e.path = path; e.fn = fn; e.code = rc; e.msg = msg;
    {
        coco_ctx* c;
        int handled = 0;
        for (c = where; c && !handled; c = c->parent)
            if (c->on_error) handled = c->on_error(c->on_error_user, &e);
        if (!handled && env->on_error) env->on_error(env->on_error_user, &e);
    }
    coco__emit(&env->lg, COCO_LOG_ERROR, rc, line, __FILE__, __LINE__);
    coco__mutex_unlock(&run->lock);
}

/* Tombstones for every target state of the subtree at `pathfp`, and deletes of its records. */
COCO__PRIVATE coco_result coco__collect_removed(coco__run* run, coco_fp pathfp, int depth) {
    coco_arena* ar = run->batch_arena;
    coco_bytes key = coco__app_key(ar, run->app, 'c', &pathfp), raw;
    coco_value rec;
    const coco_value *t, *c, *f;
    coco_result rc;
    size_t i;
    if (depth > 256) return COCO_ERR_LIMIT;
    if (!key.len) return COCO_ERR_NOMEM;
    rc = coco_store_get(run->env->store, key.ptr, key.len, ar, &raw);
    if (rc == COCO_ERR_NOT_FOUND) return COCO_OK;
    if (rc != COCO_OK) return rc;
    if ((rc = coco_value_decode(ar, raw.ptr, raw.len, &rec)) != COCO_OK) return rc;
    t = coco__field(&rec, "t");
    for (i = 0; i < coco__list_len(t); i++) {
        const coco_value* e = coco__list_at(t, i);
        coco_bytes* poss;
        int pend;
        size_t n;
        coco_fp tk;
        coco_value tomb[3], pv[1];
        if (!coco__tstate_ok(e)) continue;
        n = coco__possible(ar, e, &poss, &pend);
        (void)pv;
        if (!poss) return COCO_ERR_NOMEM;
        {
            char* tname = coco_arena_strndup(ar, e->u.list.items[0].u.s.ptr,
                                             e->u.list.items[0].u.s.len);
            coco_value* pl = (coco_value*)coco_arena_alloc(ar, (n ? n : 1) * sizeof *pl);
            size_t j;
            if (!tname || !pl) return COCO_ERR_NOMEM;
            for (j = 0; j < n; j++) pl[j] = coco_bytes_val(poss[j].ptr, poss[j].len);
            if ((rc = coco__tk_fp(ar, tname, &e->u.list.items[1], &tk)) != COCO_OK) return rc;
            tomb[0] = coco_str(tname);
            tomb[1] = e->u.list.items[1];
            tomb[2] = coco_list(pl, n);
        }
        {
            coco_value tv = coco_list(tomb, 3);
            if ((rc = coco__kv_add(run, coco__app_key(ar, run->app, 'z', &tk), &tv)) != COCO_OK)
                return rc;
        }
    }
    c = coco__field(&rec, "c");
    for (i = 0; i < coco__list_len(c); i++)
        if ((rc = coco__collect_removed(run, coco__val_fp_bytes(coco__list_at(c, i)), depth + 1)))
            return rc;
    f = coco__field(&rec, "f");
    if (f && f->kind == COCO_STR) {
        char* fname = coco_arena_strndup(ar, f->u.s.ptr, f->u.s.len);
        if (fname) COCO__STAT(run, fname, deleted);
    }
    if (coco__field(&rec, "g") &&
        (rc = coco__kv_add(run, coco__app_key(ar, run->app, 'm', &pathfp), NULL)) != COCO_OK)
        return rc;
    return coco__kv_add(run, key, NULL);
}

/* Puts `kvs` in `t`.  A tombstone among them (P 'z') also puts P 'y' = 1, unless this process
   put it already: the tombstone pass looks for tombstones only when P 'y' says there may be
   some (see coco__process_tombstones).  run->tombs_mark: the commit of `t` sets it. */
COCO__PRIVATE coco_result coco__txn_kvs(coco__run* run, coco_txn* t, const coco__kv* kvs,
                                        size_t n) {
    size_t i, pl = run->app->prefix_len;
    coco_result rc = COCO_OK;
    int tomb = 0;
    for (i = 0; i < n && rc == COCO_OK; i++) {
        if (kvs[i].val.ptr && kvs[i].key.len > pl &&
            ((const unsigned char*)kvs[i].key.ptr)[pl] == 'z')
            tomb = 1;
        rc = kvs[i].val.ptr ? coco_txn_put(t, kvs[i].key.ptr, kvs[i].key.len, kvs[i].val.ptr,
                                           kvs[i].val.len)
                            : coco_txn_del(t, kvs[i].key.ptr, kvs[i].key.len);
    }
    if (rc == COCO_OK && tomb) {
        run->app->tombs_none = 0;
        if (!run->app->tombs_marked && !run->tombs_mark) {
            static const unsigned char one = 0x01;
            coco_bytes mk = coco__app_key(run->batch_arena, run->app, 'y', NULL);
            rc = mk.len ? coco_txn_put(t, mk.ptr, mk.len, &one, 1) : COCO_ERR_NOMEM;
            run->tombs_mark = 1;
        }
    }
    return rc;
}

/* After a commit that may have carried P 'y' = 1 (coco__txn_kvs). */
COCO__PRIVATE void coco__tombs_marked(coco__run* run) {
    if (run->tombs_mark) run->app->tombs_marked = 1;
    run->tombs_mark = 0;
}

COCO__PRIVATE coco_result coco__put_next_id(coco__run* run, coco_txn* t) {
    coco_bytes k = coco__app_key(run->batch_arena, run->app, 'n', NULL), v;
    coco_value iv = coco_int(run->next_id);
    coco_result rc;
    if (!run->id_dirty) return COCO_OK;
    if (!k.len) return COCO_ERR_NOMEM;
    if ((rc = coco_value_encode(run->batch_arena, &iv, &v)) != COCO_OK) return rc;
    run->id_dirty = 0;
    return coco_txn_put(t, k.ptr, k.len, v.ptr, v.len);
}

/* Applies `acts` target by target, in order of first appearance; marks the submissions of a
   failed target.  Returns the first failure. */
COCO__PRIVATE coco_result coco__apply_acts(coco__run* run, coco__act* acts, size_t n,
                                           coco__sub* subs, const char* const* sub_paths) {
    coco_result first = COCO_OK;
    size_t i, j;
    char* done;
    coco_action* batch;
    if (!n) return COCO_OK;
    done = (char*)coco_arena_alloc(run->batch_arena, n);
    batch = (coco_action*)coco_arena_alloc(run->batch_arena, n * sizeof *batch);
    if (!done || !batch) {
        /* nothing applied: each submission keeps its pending record, each tombstone stays */
        for (i = 0; i < n && subs; i++) subs[acts[i].sub].failed = 1;
        coco__report(run, "(apply)", "-", COCO_ERR_NOMEM, "out of memory before applying the "
                     "batch's target actions");
        run->apply_errors++;   /* counted like a failed apply: the update ends with an error */
        return COCO_ERR_NOMEM;
    }
    memset(done, 0, n);
    for (i = 0; i < n; i++) {
        coco_target* t = acts[i].t;
        size_t m = 0;
        char err[COCO__ERRMSG_CAP / 2];
        coco_result rc;
        if (done[i]) continue;
        for (j = i; j < n; j++)
            if (!done[j] && acts[j].t == t) { batch[m++] = acts[j].a; done[j] = 1; }
        err[0] = 0;
        rc = t->vt.apply(t->user, batch, m, err, sizeof err);
        if (rc != COCO_OK) {
            char msg[COCO__ERRMSG_CAP];
            coco__fmt(msg, sizeof msg, "target '%s' failed to apply %zu action(s): %s", t->name,
                     m, err[0] ? err : coco_result_str(rc));
            if (first == COCO_OK) first = rc;
            coco__mutex_lock(&run->lock);  /* coco_use_mount words its failure from it */
            coco__fmt(run->last_err, sizeof run->last_err, "%s", msg);
            coco__mutex_unlock(&run->lock);
            for (j = i; j < n; j++)
                if (acts[j].t == t && subs) {
                    const char* sp = sub_paths ? sub_paths[acts[j].sub] : "?";
                    if (!subs[acts[j].sub].failed) {
                        coco__report(run, sp, t->name, rc, msg);
                        run->apply_errors++;
                    }
                    subs[acts[j].sub].failed = 1;
                    if (sp && strcmp(sp, "/") == 0) run->root_failed = 1;   /* critical path */
                }
            if (!subs) {
                coco__report(run, "(cleanup)", t->name, rc, msg);
                run->apply_errors++;
            }
            continue;
        }
        for (j = 0; j < m; j++) {
            if (batch[j].kind == COCO_ACTION_UPSERT) run->upserts++;
            else if (batch[j].kind == COCO_ACTION_DELETE) run->deletes++;
        }
    }
    return first;
}

/* The batch's link journal entry, put in `t` (the batch's first commit): the (component,
   parent) pairs of its new components.  See coco__links_settle. */
COCO__PRIVATE coco_result coco__link_put(coco__run* run, coco_txn* t) {
    size_t ns = COCO__VLEN(run->subs, coco__sub), i, n = 0;
    coco__sub* subs = (coco__sub*)(void*)run->subs.ptr;
    unsigned char* v;
    coco_bytes k, enc;
    coco_value bv;
    coco_result rc;
    coco_fp id;
    for (i = 0; i < ns; i++) n += subs[i].link != 0;
    if (!n) return COCO_OK;
    if (!(v = (unsigned char*)coco_arena_alloc(run->batch_arena, n * 32))) return COCO_ERR_NOMEM;
    for (i = 0, n = 0; i < ns; i++) {
        if (!subs[i].link) continue;
        memcpy(v + n * 32, subs[i].link_kid.bytes, 16);
        memcpy(v + n * 32 + 16, subs[i].link_parent.bytes, 16);
        n++;
    }
    for (i = 0; i < 8; i++) {
        id.bytes[i] = (unsigned char)(run->link_t0 >> (56 - 8 * i));
        id.bytes[8 + i] = (unsigned char)(run->link_seq >> (56 - 8 * i));
    }
    k = coco__app_key(run->batch_arena, run->app, 'o', &id);
    bv = coco_bytes_val(v, n * 32);
    if ((rc = coco_value_encode(run->batch_arena, &bv, &enc)) != COCO_OK) return rc;
    if (!k.len || !coco__vpush(&run->links, &id, sizeof id)) return COCO_ERR_NOMEM;
    run->link_seq++;
    if ((rc = coco_txn_put(t, k.ptr, k.len, enc.ptr, enc.len)) != COCO_OK) return rc;
    if (!run->app->links_marked) {
        /* P 'l' = 1, in the same commit: journal entries may exist (coco__links_settle) */
        static const unsigned char one = 0x01;
        coco_bytes mk = coco__app_key(run->batch_arena, run->app, 'l', NULL);
        if (!mk.len) return COCO_ERR_NOMEM;
        if ((rc = coco_txn_put(t, mk.ptr, mk.len, &one, 1)) != COCO_OK) return rc;
        run->app->links_marked = 1;
    }
    return COCO_OK;
}

/* Commits and applies the current batch of submissions (see the protocol above). */
COCO__PRIVATE coco_result coco__flush_batch(coco__run* run) {
    size_t ns = COCO__VLEN(run->subs, coco__sub), i;
    coco__sub* subs = (coco__sub*)(void*)run->subs.ptr;
    const char** paths;
    coco_txn* t;
    coco_result rc, applied;
    int any_pending = 0;
    if (!ns && !run->id_dirty) return COCO_OK;
    paths = (const char**)coco_arena_alloc(run->batch_arena, (ns ? ns : 1) * sizeof *paths);
    if (!paths) return COCO_ERR_NOMEM;
    for (i = 0; i < ns; i++) {
        paths[i] = (const char*)subs[i].unused;
        if (subs[i].pending.len) any_pending = 1;
    }
    if (any_pending) {
        if ((rc = coco_store_txn_begin(run->env->store, &t)) != COCO_OK) return rc;
        rc = coco__link_put(run, t);
        for (i = 0; i < ns && rc == COCO_OK; i++)
            if (subs[i].pending.len)
                rc = coco_txn_put(t, subs[i].rec_key.ptr, subs[i].rec_key.len,
                                  subs[i].pending.ptr, subs[i].pending.len);
        if (rc != COCO_OK) { coco_txn_abort(t); return rc; }
        if ((rc = coco_txn_commit(t)) != COCO_OK) return rc;
        run->commits++;
    }
    applied = coco__apply_acts(run, (coco__act*)(void*)run->acts.ptr,
                               COCO__VLEN(run->acts, coco__act), subs, paths);
    if ((rc = coco_store_txn_begin(run->env->store, &t)) != COCO_OK) return rc;
    if (!any_pending) rc = coco__link_put(run, t);
    for (i = 0; i < ns && rc == COCO_OK; i++) {
        if (subs[i].failed) continue;
        rc = coco_txn_put(t, subs[i].rec_key.ptr, subs[i].rec_key.len, subs[i].final_rec.ptr,
                          subs[i].final_rec.len);
        if (rc == COCO_OK && subs[i].kv_end > subs[i].kv_start)
            rc = coco__txn_kvs(run, t, (coco__kv*)(void*)run->kvs.ptr + subs[i].kv_start,
                               subs[i].kv_end - subs[i].kv_start);
    }
    if (rc == COCO_OK) rc = coco__put_next_id(run, t);
    if (rc != COCO_OK) { coco_txn_abort(t); run->tombs_mark = 0; return rc; }
    if ((rc = coco_txn_commit(t)) != COCO_OK) { run->tombs_mark = 0; return rc; }
    coco__tombs_marked(run);
    run->commits++;
    run->subs.len = run->acts.len = run->kvs.len = 0;
    coco_arena_reset(run->batch_arena);
    if (applied != COCO_OK) run->apply_failures++;   /* reported per component already */
    return COCO_OK;
}

/* coco__flush_batch; a failure leaves its message in run->last_err, where coco_use_mount and
   a submit that flushed find it: the store's own for a store failure ("state store '...':
   commit of N bytes failed: ..."), not only the code.  Caller holds run->lock (or is alone). */
COCO__PRIVATE coco_result coco__flush(coco__run* run) {
    coco_result rc = coco__flush_batch(run);
    if (rc != COCO_OK) {
        const char* m = coco_store_errmsg(run->env->store);
        coco__fmt(run->last_err, sizeof run->last_err, "%s",
                  rc != COCO_ERR_NOMEM && m[0] ? m : coco_result_str(rc));
    }
    return rc;
}

/* ---- submit: from declarations to a submission ------------------------------------------------ */
COCO__PRIVATE coco_value coco__fp_list(coco_arena* ar, const coco_fp* fps, size_t n) {
    coco_value* items = (coco_value*)coco_arena_alloc(ar, (n ? n : 1) * sizeof *items);
    size_t i;
    if (!items) return coco_null();
    for (i = 0; i < n; i++) items[i] = coco__fp_val(ar, fps[i]);
    return coco_list(items, n);
}

COCO__PRIVATE coco_value coco__ids_val(coco_arena* ar, coco_ctx* ctx, int uuid) {
    size_t i, n = COCO__VLEN(ctx->idstates, coco__idstate), k = 0, j;
    coco_value* items = (coco_value*)coco_arena_alloc(ar, (n ? n : 1) * sizeof *items);
    if (!items) return coco_null();
    for (i = 0; i < n; i++) {
        coco__idstate* st = &COCO__VAT(ctx->idstates, coco__idstate, i);
        size_t m = uuid ? st->ids.len / 16 : COCO__VLEN(st->ids, int64_t);
        coco_value* pair = (coco_value*)coco_arena_alloc(ar, 2 * sizeof *pair);
        coco_value* ids = (coco_value*)coco_arena_alloc(ar, (m ? m : 1) * sizeof *ids);
        if (st->uuid != uuid) continue;
        if (!pair || !ids) return coco_null();
        for (j = 0; j < m; j++) {
            if (uuid) {
                unsigned char* u = (unsigned char*)coco_arena_alloc(ar, 16);
                if (!u) return coco_null();
                memcpy(u, st->ids.ptr + j * 16, 16);
                ids[j] = coco_uuid(u);
            } else ids[j] = coco_int(COCO__VAT(st->ids, int64_t, j));
        }
        pair[0] = coco__fp_val(ar, st->dep);
        pair[1] = coco_list(ids, m);
        items[k++] = coco_list(pair, 2);
    }
    return coco_list(items, k);
}

typedef struct coco__recparts {
    coco_value path, fn, memo_key, deps, ret, states, targets, kids, xents, ids, uuids;
    int        memo;
    int        groups;            /* 'g' = 1: a group memo record (P 'm') exists */
} coco__recparts;

COCO__PRIVATE coco_result coco__rec_encode(coco_arena* ar, const coco__recparts* p, coco_bytes* out) {
    coco_map_entry e[12];
    size_t n = 0;
    coco_value m;
    /* in key order, so the encoder finds the map already sorted */
#define COCO__E(k, v) do { e[n].key = k; e[n].key_len = 1; e[n].val = v; n++; } while (0)
    COCO__E("c", p->kids);
    if (p->memo) COCO__E("d", p->deps);
    COCO__E("f", p->fn);
    if (p->groups) COCO__E("g", coco_int(1));
    COCO__E("i", p->ids);
    if (p->memo) COCO__E("k", p->memo_key);
    COCO__E("p", p->path);
    if (p->memo) { COCO__E("r", p->ret); COCO__E("s", p->states); }
    COCO__E("t", p->targets);
    COCO__E("u", p->uuids);
    COCO__E("x", p->xents);
#undef COCO__E
    m = coco_map(e, n);
    return coco_value_encode(ar, &m, out);
}

/* coco__rec_encode with p->kids = the list of `n` fingerprints, byte for byte, written
   straight from `kids`: a parent of many children never builds them as values. */
COCO__PRIVATE coco_result coco__rec_encode_kids(coco_arena* ar, coco__recparts* p,
                                                const coco_fp* kids, size_t n, coco_bytes* out) {
    coco_bytes rec;
    const unsigned char* r;
    unsigned char* o;
    size_t hl, i, len;
    coco_result rc;
    p->kids = coco_list(NULL, 0);
    if ((rc = coco__rec_encode(ar, p, &rec)) != COCO_OK) return rc;
    r = (const unsigned char*)rec.ptr;
    /* "c" is the first key: fixmap header, a1 'c', then the empty list 0x90 to replace */
    if (rec.len < 4 || (r[0] & 0xf0) != 0x80 || r[1] != 0xa1 || r[2] != 'c' || r[3] != 0x90)
        return coco__arena_fail(ar, COCO_ERR_INVALID_ARG, "component record layout");
    hl = n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
    if ((uint64_t)n > 0xffffffffu || n > (SIZE_MAX - rec.len - hl) / 18) return COCO_ERR_LIMIT;
    len = rec.len - 1 + hl + 18 * n;
    if (!(o = (unsigned char*)coco_arena_alloc(ar, len))) return COCO_ERR_NOMEM;
    memcpy(o, r, 3);
    if (hl == 1) o[3] = (unsigned char)(0x90 | n);
    else if (hl == 3) { o[3] = 0xdc; o[4] = (unsigned char)(n >> 8); o[5] = (unsigned char)n; }
    else {
        o[3] = 0xdd;
        o[4] = (unsigned char)(n >> 24); o[5] = (unsigned char)(n >> 16);
        o[6] = (unsigned char)(n >> 8);  o[7] = (unsigned char)n;
    }
    for (i = 0; i < n; i++) {     /* bin8 of 16 bytes each */
        unsigned char* q = o + 3 + hl + 18 * i;
        q[0] = 0xc4;
        q[1] = 16;
        memcpy(q + 2, kids[i].bytes, 16);
    }
    memcpy(o + 3 + hl + 18 * n, r + 4, rec.len - 4);
    out->ptr = o;
    out->len = len;
    return COCO_OK;
}

typedef struct coco__oldidx { const coco_fp* tks; coco_fp f; } coco__oldidx;
COCO__PRIVATE int coco__oldidx_eq(void* ctx, uint64_t val) {
    coco__oldidx* o = (coco__oldidx*)ctx;
    return coco_fp_eq(o->tks[val - 1], o->f);
}

/* The component's group memo record P 'm' + its path fingerprint, as stored (empty: none); read
   once (its record's 'g' says whether there is one). */
COCO__PRIVATE coco_result coco__groups_load(coco_ctx* ctx) {
    coco_bytes k;
    coco_result rc;
    if (ctx->groups_read) return COCO_OK;
    ctx->groups_read = 1;
    ctx->groups_old.ptr = NULL;
    ctx->groups_old.len = 0;
    if (!coco__field(ctx->old, "g")) return COCO_OK;
    k = coco__app_key(ctx->arena, ctx->run->app, 'm', &ctx->pathfp);
    if (!k.len) return COCO_ERR_NOMEM;
    rc = coco_store_get(ctx->run->env->store, k.ptr, k.len, ctx->arena, &ctx->groups_old);
    if (rc == COCO_ERR_NOT_FOUND) rc = COCO_OK;
    return rc;
}

/* At the component's submission (run->lock held): its group memo record written when it
   changed, deleted when it has none left; *flag: the record's 'g'.  The write goes with the
   record's commit (the submission's range of run->kvs). */
COCO__PRIVATE coco_result coco__groups_submit(coco_ctx* ctx, int* flag) {
    coco__run* run = ctx->run;
    size_t n = COCO__VLEN(ctx->groups, coco_value);
    coco_bytes k, enc;
    coco_value list;
    coco_result rc;
    *flag = n != 0;
    if (!n && !coco__field(ctx->old, "g")) return COCO_OK;
    if ((rc = coco__groups_load(ctx)) != COCO_OK) return rc;
    k = coco__app_key(run->batch_arena, run->app, 'm', &ctx->pathfp);
    if (!n) return ctx->groups_old.len ? coco__kv_add(run, k, NULL) : COCO_OK;
    list = coco_list((const coco_value*)(void*)ctx->groups.ptr, n);
    if ((rc = coco_value_encode(run->batch_arena, &list, &enc)) != COCO_OK) return rc;
    if (enc.len == ctx->groups_old.len && memcmp(enc.ptr, ctx->groups_old.ptr, enc.len) == 0)
        return COCO_OK;                               /* unchanged: no write */
    return coco__kv_add(run, k, &list);
}

COCO__PRIVATE coco_result coco__submit_locked(coco_ctx* ctx, const coco_value* ret,
                                              coco_fp memo_key, const coco_value* states);
/* Submissions share the run's batch: one component at a time builds its entry. */
COCO__PRIVATE coco_result coco__submit(coco_ctx* ctx, const coco_value* ret, coco_fp memo_key,
                                       const coco_value* states) {
    coco_result rc;
    coco__mutex_lock(&ctx->run->lock);
    rc = coco__submit_locked(ctx, ret, memo_key, states);
    coco__mutex_unlock(&ctx->run->lock);
    return rc;
}
COCO__PRIVATE coco_result coco__submit_locked(coco_ctx* ctx, const coco_value* ret,
                                              coco_fp memo_key, const coco_value* states) {
    coco__run* run = ctx->run;
    coco_arena* ar = run->batch_arena;
    const coco_value* old_t = coco__field(ctx->old, "t");
    const coco_value* old_c = coco__field(ctx->old, "c");
    size_t nold = coco__list_len(old_t), ndecl = COCO__VLEN(ctx->decls, coco__decl);
    size_t nkids = COCO__VLEN(ctx->kids, coco_fp), i, j, kv0 = COCO__VLEN(run->kvs, coco__kv);
    size_t nact0 = COCO__VLEN(run->acts, coco__act), npend;
    coco_fp* old_tk = (coco_fp*)coco_arena_alloc(ar, (nold ? nold : 1) * sizeof *old_tk);
    char* used = (char*)coco_arena_alloc(ar, nold ? nold : 1);
    coco_value* fin_t = (coco_value*)coco_arena_alloc(ar, (ndecl ? ndecl : 1) * sizeof *fin_t);
    coco_value* pen_t = (coco_value*)coco_arena_alloc(ar, (ndecl + nold + 1) * sizeof *pen_t);
    coco__map idx;
    coco__recparts rp;
    coco_bytes final_rec, pending_rec;
    coco_result rc = COCO_OK;
    coco__sub sub;
    if (!old_tk || !used || !fin_t || !pen_t) return COCO_ERR_NOMEM;
    memset(used, 0, nold ? nold : 1);
    if (coco__map_init(&idx, &run->env->a, nold)) return COCO_ERR_NOMEM;
    for (i = 0; i < nold; i++) {
        const coco_value* e = coco__list_at(old_t, i);
        coco__oldidx oi;
        coco__map_slot* s;
        char* tname;
        memset(&old_tk[i], 0, sizeof old_tk[i]);
        if (!coco__tstate_ok(e)) { used[i] = 1; continue; }
        tname = coco_arena_strndup(ar, e->u.list.items[0].u.s.ptr, e->u.list.items[0].u.s.len);
        if (!tname || coco__tk_fp(ar, tname, &e->u.list.items[1], &old_tk[i]) != COCO_OK) {
            rc = COCO_ERR_NOMEM;
            goto done;
        }
        oi.tks = old_tk; oi.f = old_tk[i];
        if (coco__map_reserve1(&idx)) { rc = COCO_ERR_NOMEM; goto done; }
        s = coco__map_find(&idx, coco__fp_hash(old_tk[i]), coco__oldidx_eq, &oi);
        if (!s->val) { s->hash = coco__fp_hash(old_tk[i]); s->val = i + 1; idx.count++; }
    }
    npend = 0;
    for (i = 0; i < ndecl; i++) {
        coco__decl* d = &COCO__VAT(ctx->decls, coco__decl, i);
        coco__oldidx oi;
        coco__map_slot* s;
        coco_bytes* prev = NULL;
        size_t nprev = 0;
        int pending = 0;
        int64_t gen;
        coco_action act;
        coco_value key, value;
        oi.tks = old_tk; oi.f = d->tk;
        s = coco__map_find(&idx, coco__fp_hash(d->tk), coco__oldidx_eq, &oi);
        gen = d->t->container ? coco__gen_get(run, d->t->ckey) : 0;
        if (s->val) {
            const coco_value* oe = coco__list_at(old_t, s->val - 1);
            used[s->val - 1] = 1;
            nprev = coco__possible(ar, oe, &prev, &pending);
            if (!prev) { rc = COCO_ERR_NOMEM; goto done; }
            if (coco__tstate_gen(oe) != gen) pending = 1;   /* its container was recreated */
        }
        if ((rc = coco_value_copy(ar, &d->key, &key)) != COCO_OK) goto done;
        if ((rc = coco_value_copy(ar, &d->value, &value)) != COCO_OK) goto done;
        rc = coco__reconcile(d->t, ar, &key, &value, prev, nprev, run->full || pending, &act);
        act.prev = prev;
        act.nprev = nprev;
        act.prev_may_be_missing = run->full || pending;
        if (rc == COCO_OK && d->t->child_open && act.child_invalidation != COCO_INVALIDATE_NONE &&
            act.kind != COCO_ACTION_NONE) {
            /* backfill: every state inside this container must be written again */
            coco_fp ck;
            coco_value gv;
            int64_t ng;
            if ((rc = coco__tk_fp(ar, d->t->name, &key, &ck)) != COCO_OK) goto done;
            ng = coco__gen_get(run, ck) + 1;
            gv = coco_int(ng);
            if ((rc = coco__kv_add(run, coco__app_key(ar, run->app, 'g', &ck), &gv)) != COCO_OK)
                goto done;
            coco__gen_set(run, ck, ng);
        }
        if (rc != COCO_OK) {
            coco_ctx_fail(ctx, rc, "target '%s': reconcile failed at %s", d->t->name,
                          coco_ctx_path(ctx));
            goto done;
        }
        fin_t[i] = coco__tstate(ar, d->t->name, &key, act.tracking, 0, NULL, 0, gen);
        if (act.kind != COCO_ACTION_NONE) {
            coco__act a;
            a.t = d->t;
            a.a = act;
            a.sub = COCO__VLEN(run->subs, coco__sub);
            if (!coco__vpush(&run->acts, &a, sizeof a)) { rc = COCO_ERR_NOMEM; goto done; }
            pen_t[npend++] = coco__tstate(ar, d->t->name, &key, act.tracking, 1, prev, nprev, gen);
        } else {
            pen_t[npend++] = fin_t[i];
        }
    }
    /* no longer declared: tombstones (deleted at the end of the run unless re-declared) */
    for (i = 0; i < nold; i++) {
        const coco_value* e;
        coco_bytes* poss;
        int pend;
        size_t n;
        coco_value tomb[3], tv;
        coco_value* pl;
        if (used[i]) continue;
        e = coco__list_at(old_t, i);
        pen_t[npend++] = *e;
        n = coco__possible(ar, e, &poss, &pend);
        if (!poss || !(pl = (coco_value*)coco_arena_alloc(ar, (n ? n : 1) * sizeof *pl))) {
            rc = COCO_ERR_NOMEM;
            goto done;
        }
        for (j = 0; j < n; j++) pl[j] = coco_bytes_val(poss[j].ptr, poss[j].len);
        tomb[0] = e->u.list.items[0];
        tomb[1] = e->u.list.items[1];
        tomb[2] = coco_list(pl, n);
        tv = coco_list(tomb, 3);
        if ((rc = coco__kv_add(run, coco__app_key(ar, run->app, 'z', &old_tk[i]), &tv))) goto done;
    }
    /* children no longer mounted: their whole subtree goes */
    for (i = 0; i < coco__list_len(old_c); i++) {
        coco_fp cf = coco__val_fp_bytes(coco__list_at(old_c, i));
        if (!coco__kid_has(ctx, cf) && (rc = coco__collect_removed(run, cf, 0)) != COCO_OK)
            goto done;
    }
    memset(&rp, 0, sizeof rp);
    rp.path = ctx->path;
    rp.fn = coco_str(ctx->fn->name);
    rp.memo = ctx->fn->memo && !ctx->no_memo;
    if (rp.memo) {
        coco__frame* f = coco__frame_top(ctx);
        rp.memo_key = coco__fp_val(ar, memo_key);
        rp.deps = coco__deps_val(ar, f);
        rp.ret = ret ? *ret : coco_null();
        rp.states = states ? *states : coco_list(NULL, 0);
    }
    rp.targets = coco_list(fin_t, ndecl);
    rp.xents = coco_list((const coco_value*)(void*)ctx->xents.ptr, COCO__VLEN(ctx->xents, coco_value));
    if ((rc = coco__groups_submit(ctx, &rp.groups)) != COCO_OK) goto done;
    rp.ids = coco__ids_val(ar, ctx, 0);
    rp.uuids = coco__ids_val(ar, ctx, 1);
    if ((rc = coco__rec_encode_kids(ar, &rp, (const coco_fp*)(void*)ctx->kids.ptr, nkids,
                                    &final_rec)) != COCO_OK) {
        coco_ctx_fail(ctx, rc, "%s", coco_arena_errmsg(ar));
        goto done;
    }
    pending_rec.ptr = NULL;
    pending_rec.len = 0;
    if (COCO__VLEN(run->acts, coco__act) > nact0) {
        /* pending: every state the targets may hold, all children, no memo */
        size_t nold_c = coco__list_len(old_c), k = 0;
        coco_value* allk = (coco_value*)coco_arena_alloc(ar, (nold_c + nkids + 1) * sizeof *allk);
        if (!allk) { rc = COCO_ERR_NOMEM; goto done; }
        for (i = 0; i < nold_c; i++) allk[k++] = *coco__list_at(old_c, i);
        for (i = 0; i < nkids; i++) allk[k++] = coco__fp_val(ar, COCO__VAT(ctx->kids, coco_fp, i));
        rp.memo = 0;
        rp.groups = coco__field(ctx->old, "g") != NULL;   /* the old one until the final */
        rp.targets = coco_list(pen_t, npend);
        rp.kids = coco_list(allk, k);
        if ((rc = coco__rec_encode(ar, &rp, &pending_rec)) != COCO_OK) goto done;
    }
    if (!pending_rec.len && COCO__VLEN(run->kvs, coco__kv) == kv0 &&
        final_rec.len == ctx->old_bytes.len &&
        memcmp(final_rec.ptr, ctx->old_bytes.ptr, final_rec.len) == 0)
        goto done;   /* nothing changed: no write at all */
    memset(&sub, 0, sizeof sub);
    sub.pending = pending_rec;
    sub.final_rec = final_rec;
    sub.rec_key = coco__app_key(ar, run->app, 'c', &ctx->pathfp);
    if (!sub.rec_key.len) { rc = COCO_ERR_NOMEM; goto done; }
    sub.kv_start = kv0;
    sub.kv_end = COCO__VLEN(run->kvs, coco__kv);
    if (!ctx->old_bytes.len && (ctx->parent || run->has_live_parent)) {
        sub.link = 1;
        sub.link_kid = ctx->pathfp;
        sub.link_parent = ctx->parent ? ctx->parent->pathfp : run->live_parent;
    }
    sub.unused = (const coco__ctxval*)(const void*)coco_arena_strndup(ar, coco_ctx_path(ctx),
                                                                      strlen(coco_ctx_path(ctx)));
    if (!coco__vpush(&run->subs, &sub, sizeof sub)) { rc = COCO_ERR_NOMEM; goto done; }
    coco__map_free(&idx);
    if (COCO__VLEN(run->subs, coco__sub) >= COCO__BATCH_MAX && (rc = coco__flush(run)) != COCO_OK)
        return coco_ctx_fail(ctx, rc, "%s", run->last_err);
    return COCO_OK;
done:
    coco__map_free(&idx);
    if (rc != COCO_OK) {
        /* drop what this component added to the batch */
        run->acts.len = nact0 * sizeof(coco__act);
        run->kvs.len = kv0 * sizeof(coco__kv);
    }
    return rc;
}

/* ---- two-level memo states of object arguments ------------------------------------------------ */
COCO__PRIVATE coco_result coco__collect_objs(const coco_value* v, coco__buf* out, int depth) {
    size_t i;
    if (depth > COCO__MAX_DEPTH) return COCO_OK;
    if (v->kind == COCO_OBJECT) {
        if (v->u.obj.vt && v->u.obj.vt->memo_state && !coco__vpush(out, &v, sizeof v))
            return COCO_ERR_NOMEM;
    } else if (v->kind == COCO_LIST) {
        for (i = 0; i < v->u.list.count; i++)
            if (coco__collect_objs(&v->u.list.items[i], out, depth + 1)) return COCO_ERR_NOMEM;
    } else if (v->kind == COCO_MAP) {
        for (i = 0; i < v->u.map.count; i++)
            if (coco__collect_objs(&v->u.map.entries[i].val, out, depth + 1)) return COCO_ERR_NOMEM;
    }
    return COCO_OK;
}

/* [[cheap, expensive], ...] for the objects among `args`, or an empty list. */
COCO__PRIVATE coco_result coco__states_now(coco_ctx* ctx, const coco_value* args, size_t nargs,
                                           coco_value* out) {
    coco__buf objs;
    size_t i, n;
    coco_value* items;
    coco_result rc = COCO_OK;
    coco__buf_init(&objs, &ctx->run->env->a);
    for (i = 0; i < nargs && rc == COCO_OK; i++) rc = coco__collect_objs(&args[i], &objs, 0);
    n = COCO__VLEN(objs, const coco_value*);
    items = (coco_value*)coco_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *items);
    if (!items) rc = COCO_ERR_NOMEM;
    for (i = 0; i < n && rc == COCO_OK; i++) {
        const coco_value* o = COCO__VAT(objs, const coco_value*, i);
        coco_value* pair = (coco_value*)coco_arena_alloc(ctx->arena, 2 * sizeof *pair);
        if (!pair) { rc = COCO_ERR_NOMEM; break; }
        rc = o->u.obj.vt->memo_state(o->u.obj.obj, 0, ctx->arena, &pair[0]);
        if (rc == COCO_OK) rc = o->u.obj.vt->memo_state(o->u.obj.obj, 1, ctx->arena, &pair[1]);
        if (rc != COCO_OK)
            coco_ctx_fail(ctx, rc, "memo state of a '%s' object failed at %s",
                          o->u.obj.vt->type_name ? o->u.obj.vt->type_name : "?", coco_ctx_path(ctx));
        items[i] = coco_list(pair, 2);
    }
    coco__buf_free(&objs);
    *out = coco_list(items, n);
    return rc;
}

/* Checks stored states against the objects among `args`: cheap level first, the expensive
   one only where the cheap one changed (with `cheap_only`, a changed cheap state is an
   answer of 0 instead: nothing is read).  Returns 1 when valid; *refreshed then holds the
   states to store (same as `stored` unless a cheap state was refreshed, *changed = 1). */
COCO__PRIVATE int coco__states_valid_ex(coco_ctx* ctx, const coco_value* args, size_t nargs,
                                        const coco_value* stored, coco_value* refreshed,
                                        int* changed, int cheap_only) {
    coco__buf objs;
    const coco_value* few[8];
    size_t i, n;
    int ok = 1;
    coco_value* items = NULL;
    *changed = 0;
    coco__buf_init(&objs, &ctx->run->env->a);
    objs.ptr = (unsigned char*)(void*)few;       /* the usual handful of objects: no heap */
    objs.cap = sizeof few;
    objs.fixed = 1;
    for (i = 0; i < nargs; i++)
        if (coco__collect_objs(&args[i], &objs, 0)) { ok = 0; break; }
    n = COCO__VLEN(objs, const coco_value*);
    if (ok && n == 0) {
        if (!objs.fixed) coco__buf_free(&objs);
        *refreshed = coco_list(NULL, 0);
        return coco__list_len(stored) == 0;
    }
    if (ok && coco__list_len(stored) != n) ok = 0;
    if (ok && !(items = (coco_value*)coco_arena_alloc(ctx->arena, n * sizeof *items))) ok = 0;
    for (i = 0; i < n && ok; i++) {
        const coco_value* o = COCO__VAT(objs, const coco_value*, i);
        const coco_value* st = coco__list_at(stored, i);
        coco_value now;
        coco_value* pair;
        items[i] = *st;
        if (coco__list_len(st) != 2 ||
            o->u.obj.vt->memo_state(o->u.obj.obj, 0, ctx->arena, &now) != COCO_OK) { ok = 0; break; }
        if (coco_value_eq(ctx->arena, &now, &st->u.list.items[0])) continue;
        if (cheap_only) { ok = 0; break; }
        if (!(pair = (coco_value*)coco_arena_alloc(ctx->arena, 2 * sizeof *pair))) { ok = 0; break; }
        pair[0] = now;
        if (o->u.obj.vt->memo_state(o->u.obj.obj, 1, ctx->arena, &pair[1]) != COCO_OK ||
            !coco_value_eq(ctx->arena, &pair[1], &st->u.list.items[1])) { ok = 0; break; }
        items[i] = coco_list(pair, 2);   /* touched, same content: refresh the cheap state */
        *changed = 1;
    }
    if (!objs.fixed) coco__buf_free(&objs);
    if (ok) *refreshed = coco_list(items, n);
    return ok;
}
COCO__PRIVATE int coco__states_valid(coco_ctx* ctx, const coco_value* args, size_t nargs,
                                     const coco_value* stored, coco_value* refreshed,
                                     int* changed) {
    return coco__states_valid_ex(ctx, args, nargs, stored, refreshed, changed, 0);
}

/* A memo hit whose cheap states were refreshed: rewrite the record with the new states only. */
COCO__PRIVATE coco_result coco__refresh_states_locked(coco_ctx* ctx, const coco_value* states);
COCO__PRIVATE coco_result coco__refresh_states(coco_ctx* ctx, const coco_value* states) {
    coco_result rc;
    coco__mutex_lock(&ctx->run->lock);
    rc = coco__refresh_states_locked(ctx, states);
    coco__mutex_unlock(&ctx->run->lock);
    return rc;
}
COCO__PRIVATE coco_result coco__refresh_states_locked(coco_ctx* ctx, const coco_value* states) {
    coco__run* run = ctx->run;
    coco_arena* ar = run->batch_arena;
    size_t i, k = 0, nf = ctx->old->u.map.count;
    coco_map_entry* ents = (coco_map_entry*)coco_arena_alloc(ar, (nf + 1) * sizeof *ents);
    coco__sub sub;
    coco_value m;
    if (!ents) return COCO_ERR_NOMEM;
    for (i = 0; i < nf; i++) {
        const coco_map_entry* e = &ctx->old->u.map.entries[i];
        if (e->key_len == 1 && e->key[0] == 's') continue;
        ents[k++] = *e;
    }
    ents[k].key = "s"; ents[k].key_len = 1; ents[k].val = *states; k++;
    m = coco_map(ents, k);
    memset(&sub, 0, sizeof sub);
    if (coco_value_encode(ar, &m, &sub.final_rec) != COCO_OK) return COCO_ERR_NOMEM;
    sub.rec_key = coco__app_key(ar, run->app, 'c', &ctx->pathfp);
    if (!sub.rec_key.len) return COCO_ERR_NOMEM;
    sub.kv_start = sub.kv_end = COCO__VLEN(run->kvs, coco__kv);
    sub.unused = (const coco__ctxval*)(const void*)"";
    return coco__vpush(&run->subs, &sub, sizeof sub) ? COCO_OK : COCO_ERR_NOMEM;
}

/* ---- running components --------------------------------------------------------------------- */
COCO__PRIVATE coco_result coco__call_body(coco_ctx* ctx, coco__fnreg* r, const coco_value* args,
                                          size_t nargs, coco_value* ret);
COCO__PRIVATE coco_result coco__args_fp(coco_arena* ar, const char* name, const coco_value* args,
                                        size_t nargs, coco_fp* out) {
    coco_value parts[2], l;
    parts[0] = coco_str(name);
    parts[1] = coco_list(args, nargs);
    l = coco_list(parts, 2);
    return coco_value_fp(ar, &l, out);
}

/* ---- reading fields of an encoded record without decoding all of it ---------------------------- */
/* End of the MessagePack value at p, or NULL when malformed; iterative, never past `end`. */
COCO__PRIVATE const unsigned char* coco__mp_skip(const unsigned char* p, const unsigned char* end) {
    size_t pending = 1;
    while (pending) {
        unsigned t;
        uint64_t n = 0;
        if (p >= end || pending > (size_t)(end - p)) return NULL;
        t = *p++;
        pending--;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) continue;
        if ((t & 0xe0) == 0xa0) { n = t & 31u; }
        else if ((t & 0xf0) == 0x90) { pending += t & 15u; continue; }
        else if ((t & 0xf0) == 0x80) { pending += 2u * (t & 15u); continue; }
        else if (t >= 0xcc && t <= 0xcf) n = 1u << (t - 0xcc);
        else if (t >= 0xd0 && t <= 0xd3) n = 1u << (t - 0xd0);
        else if (t == 0xca) n = 4;
        else if (t == 0xcb) n = 8;
        else if (t >= 0xd4 && t <= 0xd8) n = 1u + (1u << (t - 0xd4));
        else {
            int w = (t == 0xd9 || t == 0xc4 || t == 0xc7) ? 1
                  : (t == 0xda || t == 0xc5 || t == 0xc8 || t == 0xdc || t == 0xde) ? 2
                  : (t == 0xdb || t == 0xc6 || t == 0xc9 || t == 0xdd || t == 0xdf) ? 4 : 0;
            if (!w || (size_t)(end - p) < (size_t)w) return NULL;
            n = coco__be(p, w);
            p += w;
            if (t == 0xdc || t == 0xdd) { pending += (size_t)n; continue; }
            if (t == 0xde || t == 0xdf) { pending += 2 * (size_t)n; continue; }
            if (t >= 0xc7 && t <= 0xc9) n += 1;   /* the ext type byte */
        }
        if (n > (uint64_t)(end - p)) return NULL;
        p += n;
    }
    return p;
}

/* Finds every one-letter field of an encoded map in one pass (fields[key - 'a']). */
COCO__PRIVATE void coco__mp_index(coco_bytes rec, coco_bytes fields[26]) {
    const unsigned char *p = (const unsigned char*)rec.ptr, *end = p + rec.len;
    size_t n, i;
    memset(fields, 0, 26 * sizeof *fields);
    if (!p || p >= end) return;
    if ((*p & 0xf0) == 0x80) n = *p++ & 15u;
    else if (*p == 0xde && end - p >= 3) { n = (size_t)coco__be(p + 1, 2); p += 3; }
    else return;
    for (i = 0; i < n; i++) {
        const unsigned char *v, *e;
        int letter = end - p >= 2 && p[0] == 0xa1 && p[1] >= 'a' && p[1] <= 'z' ? p[1] - 'a' : -1;
        if (!(v = coco__mp_skip(p, end)) || !(e = coco__mp_skip(v, end))) return;
        if (letter >= 0) { fields[letter].ptr = v; fields[letter].len = (size_t)(e - v); }
        p = e;
    }
}

/* The encoded value of the one-letter field `key` of an encoded map (len 0: absent). */
COCO__PRIVATE coco_bytes coco__mp_field(coco_bytes rec, char key) {
    const unsigned char *p = (const unsigned char*)rec.ptr, *end = p + rec.len;
    coco_bytes out;
    size_t n, i;
    out.ptr = NULL;
    out.len = 0;
    if (p >= end) return out;
    if ((*p & 0xf0) == 0x80) n = *p++ & 15u;
    else if (*p == 0xde && end - p >= 3) { n = (size_t)coco__be(p + 1, 2); p += 3; }
    else return out;
    for (i = 0; i < n; i++) {
        const unsigned char* v;
        int match = end - p >= 2 && p[0] == 0xa1 && p[1] == (unsigned char)key;
        if (!(v = coco__mp_skip(p, end))) return out;
        if (match) {
            const unsigned char* e = coco__mp_skip(v, end);
            if (e) { out.ptr = v; out.len = (size_t)(e - v); }
            return out;
        }
        if (!(p = coco__mp_skip(v, end))) return out;
    }
    return out;
}

/* The field decoded into the ctx arena, or NULL when absent or malformed. */
COCO__PRIVATE coco_bytes coco__old_field(coco_ctx* ctx, char key) {
    if (!ctx->old_indexed) {
        coco__mp_index(ctx->old_bytes, ctx->old_fields);
        ctx->old_indexed = 1;
    }
    return ctx->old_fields[key - 'a'];
}

COCO__PRIVATE const coco_value* coco__raw_field(coco_ctx* ctx, char key) {
    coco_bytes b = coco__old_field(ctx, key);
    coco_value* v;
    if (!b.len) return NULL;
    if (!(v = (coco_value*)coco_arena_alloc(ctx->arena, sizeof *v)) ||
        coco_value_decode(ctx->arena, b.ptr, b.len, v) != COCO_OK) {
        ctx->field_err = 1;   /* not "no such field": the caller must not take it for absent */
        return NULL;
    }
    return v;
}

/* Loads the raw record; decoding waits until it is needed (coco__decode_old). */
COCO__PRIVATE coco_result coco__load_record(coco_ctx* ctx) {
    coco_bytes key = coco__app_key(ctx->arena, ctx->run->app, 'c', &ctx->pathfp), raw;
    coco_result rc = key.len ? coco_store_get(ctx->run->env->store, key.ptr, key.len, ctx->arena,
                                              &raw) : COCO_ERR_NOMEM;
    if (rc == COCO_ERR_NOT_FOUND) return COCO_OK;
    if (rc != COCO_OK)
        return coco_ctx_fail(ctx, rc, "state of %s: %s", coco_ctx_path(ctx),
                             coco_store_errmsg(ctx->run->env->store));
    ctx->old_bytes = raw;
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__decode_old(coco_ctx* ctx) {
    coco_value* rec;
    coco_result rc;
    if (ctx->old || !ctx->old_bytes.ptr) return COCO_OK;
    if (!(rec = (coco_value*)coco_arena_alloc(ctx->arena, sizeof *rec))) return COCO_ERR_NOMEM;
    /* its bytes (fingerprints: children, memo key, states) stay in old_bytes, which lives as
       long as ctx->old */
    if ((rc = coco__value_decode(ctx->arena, ctx->old_bytes.ptr, ctx->old_bytes.len, rec, 1)) ==
            COCO_ERR_NOMEM)
        return coco_ctx_fail(ctx, rc, "state of %s: out of memory", coco_ctx_path(ctx));
    if (rc != COCO_OK || rec->kind != COCO_MAP)
        return coco_ctx_fail(ctx, COCO_ERR_CORRUPT, "state of %s is not a component record: %s",
                             coco_ctx_path(ctx), coco_arena_errmsg(ctx->arena));
    ctx->old = rec;
    return COCO_OK;
}

/* 1 if the record's memo key "k" is the 16-byte `key` (bin8 of length 16) */
COCO__PRIVATE int coco__raw_key_is(coco_ctx* ctx, coco_fp key) {
    coco_bytes b = coco__old_field(ctx, 'k');
    const unsigned char* p = (const unsigned char*)b.ptr;
    return b.len == 18 && p[0] == 0xc4 && p[1] == 16 && memcmp(p + 2, key.bytes, 16) == 0;
}

/* After a failure: keep the old record, but list children mounted for the first time so
   they are not orphaned if the next run no longer mounts them. */
COCO__PRIVATE coco_result coco__keep_new_kids_locked(coco_ctx* ctx);
COCO__PRIVATE coco_result coco__keep_new_kids(coco_ctx* ctx) {
    coco_result rc;
    coco__mutex_lock(&ctx->run->lock);
    rc = coco__keep_new_kids_locked(ctx);
    coco__mutex_unlock(&ctx->run->lock);
    return rc;
}
COCO__PRIVATE coco_result coco__keep_new_kids_locked(coco_ctx* ctx) {
    coco__run* run = ctx->run;
    coco_arena* ar = run->batch_arena;
    const coco_value* old_c = coco__field(ctx->old, "c");
    size_t nold = coco__list_len(old_c), nk = COCO__VLEN(ctx->kids, coco_fp), i, k = 0, nf, nall;
    coco__map oldidx;
    coco_value* all = (coco_value*)coco_arena_alloc(ar, (nold + nk + 1) * sizeof *all);
    coco_map_entry* ents;
    coco__sub sub;
    coco_value m;
    int added = 0;
    if (!all) return COCO_ERR_NOMEM;
    for (i = 0; i < nold; i++) all[k++] = *coco__list_at(old_c, i);
    if (coco__list_index(&oldidx, &run->env->a, old_c)) return COCO_ERR_NOMEM;
    for (i = 0; i < nk; i++) {
        coco_fp f = COCO__VAT(ctx->kids, coco_fp, i);
        if (!coco__list_index_has(&oldidx, old_c, f)) { all[k++] = coco__fp_val(ar, f); added = 1; }
    }
    coco__map_free(&oldidx);
    if (!added) return COCO_OK;
    nall = k;
    nf = ctx->old ? ctx->old->u.map.count : 0;
    if (!(ents = (coco_map_entry*)coco_arena_alloc(ar, (nf + 3) * sizeof *ents))) return COCO_ERR_NOMEM;
    k = 0;
    for (i = 0; i < nf; i++) {
        const coco_map_entry* e = &ctx->old->u.map.entries[i];
        /* no memo, and no group memo (its children may have run) */
        if (e->key_len == 1 && (e->key[0] == 'c' || e->key[0] == 'k' || e->key[0] == 'g'))
            continue;
        ents[k++] = *e;
    }
    ents[k].key = "c"; ents[k].key_len = 1; ents[k].val = coco_list(all, nall); k++;
    if (!ctx->old) {
        ents[k].key = "p"; ents[k].key_len = 1; ents[k].val = ctx->path; k++;
        ents[k].key = "f"; ents[k].key_len = 1; ents[k].val = coco_str(ctx->fn->name); k++;
    }
    m = coco_map(ents, k);
    memset(&sub, 0, sizeof sub);
    if (coco_value_encode(ar, &m, &sub.final_rec) != COCO_OK) return COCO_ERR_NOMEM;
    sub.rec_key = coco__app_key(ar, run->app, 'c', &ctx->pathfp);
    if (!sub.rec_key.len) return COCO_ERR_NOMEM;
    sub.kv_start = COCO__VLEN(run->kvs, coco__kv);
    if (coco__field(ctx->old, "g") &&        /* the group memo goes with the kept record */
        coco__kv_add(run, coco__app_key(ar, run->app, 'm', &ctx->pathfp), NULL) != COCO_OK)
        return COCO_ERR_NOMEM;
    sub.kv_end = COCO__VLEN(run->kvs, coco__kv);
    sub.unused = (const coco__ctxval*)(const void*)"";
    return coco__vpush(&run->subs, &sub, sizeof sub) ? COCO_OK : COCO_ERR_NOMEM;
}

/* Scratch state of the mount-time memo checks of one component's children
   (coco__probe_keep); belongs to the mounting component's thread. */
typedef struct coco__probe {
    coco_ctx*      c;            /* scratch context: its arena is emptied for every child      */
    const coco_fn* fn;           /* the children's function, registered                        */
    coco__buf      deps_ok;      /* an encoded dependency list found current (see below)       */
    coco__buf      hits;         /* coco_fp[]: kept children with target states, for run->hits */
    uint64_t       unchanged;    /* kept children of `fn` not yet in its counters              */
} coco__probe;

/* Hands the probe's kept children to the run: their target states count as declared
   (coco__declare_hits), and their function's counters. */
COCO__PRIVATE coco_result coco__probe_flush(coco__run* run, coco__probe* pr) {
    coco_result rc = COCO_OK;
    if (!pr) return COCO_OK;
    if (pr->hits.len) {
        coco__mutex_lock(&run->lock);
        if (coco__buf_put(&run->hits, pr->hits.ptr, pr->hits.len)) {
            rc = COCO_ERR_NOMEM;
            run->hits_lost = 1;      /* a kept state could look undeclared: delete nothing */
        }
        coco__mutex_unlock(&run->lock);
        pr->hits.len = 0;
    }
    if (pr->unchanged) {
        coco__mutex_lock(&run->app->stats_m);
        {
            coco_fn_stats* st = coco__stats_for(run->app, pr->fn->name);
            if (st) st->unchanged += pr->unchanged;
        }
        coco__mutex_unlock(&run->app->stats_m);
        pr->unchanged = 0;
    }
    return rc;
}

COCO__PRIVATE void coco__probe_free(coco__run* run, coco__probe* pr) {
    if (!pr) return;
    coco__probe_flush(run, pr);
    coco__buf_free(&pr->deps_ok);
    coco__buf_free(&pr->hits);
    coco__ctx_destroy(pr->c);
    coco__free(&run->env->a, pr, sizeof *pr);
}

/* coco__deps_valid of the dependencies in the record loaded in `ctx`.  With a probe, an
   encoded list found current before is current again without being decoded: a function's
   logic fingerprint and a context value's never change during a run (functions are only ever
   added); a list naming a container generation (kind 2, which a run may bump) is not kept. */
COCO__PRIVATE int coco__deps_current(coco_ctx* ctx, coco__probe* pr) {
    coco_bytes raw = coco__old_field(ctx, 'd');
    const coco_value* d;
    size_t i;
    if (pr && raw.len && raw.len == pr->deps_ok.len &&
        memcmp(raw.ptr, pr->deps_ok.ptr, raw.len) == 0)
        return 1;
    d = coco__raw_field(ctx, 'd');
    if (!coco__deps_valid(ctx->run, d)) return 0;
    if (pr) {
        for (i = 0; i < coco__list_len(d); i++)
            if (coco__list_at(d, i)->u.list.items[0].u.i == 2) return 1;
        pr->deps_ok.len = 0;
        if (coco__buf_put(&pr->deps_ok, raw.ptr, raw.len)) pr->deps_ok.len = 0;
    }
    return 1;
}

/* The memo test of a component whose record is loaded in `ctx`: a memoized function, not a
   full reprocess, the same function and arguments (memo key `key`), every stored dependency
   current, the objects' states unchanged (coco__states_valid_ex: *states, *refresh).  With a
   probe (a check at mount time), only the cheap states are looked at: a changed one is not
   a hit.  1 = a memo hit. */
COCO__PRIVATE int coco__component_hit(coco_ctx* ctx, const coco_fn* fn, const coco_value* args,
                                      size_t nargs, coco_fp key, coco__probe* pr,
                                      coco_value* states, int* refresh) {
    int hit;
    *refresh = 0;
    ctx->field_err = 0;
    hit = fn->memo && !ctx->run->full && ctx->old_bytes.ptr && coco__raw_key_is(ctx, key) &&
          coco__deps_current(ctx, pr) &&
          coco__states_valid_ex(ctx, args, nargs, coco__raw_field(ctx, 's'), states, refresh,
                                pr != NULL);
    return hit && !ctx->field_err;   /* a field that could not be read proves nothing */
}

/* Notes a memo hit of the component at `pathfp`: its target states (`tb`, the encoded list
   of its record) count as declared in this run (coco__declare_hits), and its function's
   counters. */
COCO__PRIVATE coco_result coco__note_hit(coco__run* run, coco_fp pathfp, coco_bytes tb,
                                         const char* fname) {
    if (tb.len > 1) {   /* a non-empty list of target states */
        int pushed;
        coco__mutex_lock(&run->lock);
        pushed = coco__vpush(&run->hits, &pathfp, sizeof pathfp) != NULL;
        coco__mutex_unlock(&run->lock);
        if (!pushed) return COCO_ERR_NOMEM;
    }
    COCO__STAT(run, fname, unchanged);
    return COCO_OK;
}

/* The probe of ctx's mount-time memo checks, its scratch arena emptied; NULL when it cannot
   be made (the children then simply run). */
COCO__PRIVATE coco__probe* coco__probe_new(coco_ctx* ctx) {
    coco_env* env = ctx->run->env;
    coco__probe* pr = (coco__probe*)coco__alloc(&env->a, sizeof *pr);
    if (!pr) return NULL;
    memset(pr, 0, sizeof *pr);
    coco__buf_init(&pr->deps_ok, &env->a);
    coco__buf_init(&pr->hits, &env->a);
    if (coco__ctx_create(ctx->run, ctx, ctx->fn, &pr->c) != COCO_OK) {
        coco__free(&env->a, pr, sizeof *pr);
        return NULL;
    }
    return pr;
}
COCO__PRIVATE coco__probe* coco__probe_get(coco_ctx* ctx) {
    if (!ctx->probe && !(ctx->probe = coco__probe_new(ctx))) return NULL;
    coco_arena_reset(ctx->probe->c->arena);
    return ctx->probe;
}

/* The memo check of a background child made at mount time, on the mounting thread.  When
   `fn(args)` at `path` (fingerprint `pf`) is certainly a memo hit with every cheap state
   unchanged, the child is kept as it is -- record, memo, children and target states carry
   over, its states count as declared for the tombstone pass -- and it is neither queued nor
   run: no context of its own, no worker hand-off.  Returns 1 then.  0 when anything is
   uncertain (no record yet, other arguments, a stale dependency, a changed cheap state, any
   failure): the child then runs as usual and makes the full check itself, content
   fingerprints included.  Never 1 in a full reprocess.  `pr` from coco__probe_get(ctx). */
COCO__PRIVATE int coco__probe_keep(coco_ctx* ctx, coco__probe* pr, const coco_value* path,
                                   coco_fp pf, const coco_fn* fn, const coco_value* args,
                                   size_t nargs) {
    coco__run* run = ctx->run;
    coco_ctx* p = pr->c;
    coco_result rc = COCO_OK;
    coco_fp key;
    coco_value states;
    coco_bytes tb;
    int refresh;
    if (pr->fn != fn) {
        if (coco__probe_flush(run, pr) != COCO_OK || !coco__fn_reg(run->env, fn, &rc)) return 0;
        pr->fn = fn;
        pr->deps_ok.len = 0;
    }
    p->fn = fn;
    p->pathfp = pf;
    p->path = *path;
    p->path_str = NULL;
    p->old = NULL;
    p->old_bytes.ptr = NULL;
    p->old_bytes.len = 0;
    p->old_indexed = 0;
    p->err_code = COCO_OK;
    p->err[0] = 0;
    if (coco__load_record(p) != COCO_OK || !p->old_bytes.ptr ||
        coco__args_fp(p->arena, fn->name, args, nargs, &key) != COCO_OK ||
        !coco__component_hit(p, fn, args, nargs, key, pr, &states, &refresh) || refresh)
        return 0;
    tb = coco__old_field(p, 't');
    if (tb.len > 1 && coco__buf_put(&pr->hits, pf.bytes, sizeof pf)) return 0;
    pr->unchanged++;
    return 1;
}

/* Runs (or skips, on a memo hit) the component `fn(args)` at `path`.  With ret_arena, the
   component's value is copied there into *ret_out. */
COCO__PRIVATE coco_result coco__run_component(coco__run* run, coco_ctx* parent,
                                              const coco_value* path, coco_fp pathfp,
                                              const coco_fn* fn, const coco_value* args,
                                              size_t nargs, coco_arena* ret_arena,
                                              coco_value* ret_out) {
    coco_ctx* ctx;
    coco__fnreg* reg;
    coco_result rc = COCO_OK;
    coco_fp key;
    coco_value ret = coco_null(), states = coco_null();
    coco__frame* f;
    int refresh = 0, reported = 0;
    if (!(reg = coco__fn_reg(run->env, fn, &rc)) ||
        (rc = coco__ctx_create(run, parent, fn, &ctx)) != COCO_OK) {
        /* no context to fail: said here, since a background child's result goes nowhere */
        char msg[COCO__ERRMSG_CAP];
        coco__fmt(msg, sizeof msg, "cannot start a component of '%s' under %s: %s",
                  fn->name ? fn->name : "?", parent ? coco_ctx_path(parent) : "/",
                  rc == COCO_ERR_NOMEM ? "out of memory" : run->env->err);
        coco__report(run, parent ? coco_ctx_path(parent) : "/", fn->name ? fn->name : "?", rc,
                     msg);
        return rc;
    }
    ctx->pathfp = pathfp;
    if ((rc = coco_value_copy(ctx->arena, path, &ctx->path)) != COCO_OK) goto out;
    if ((rc = coco__load_record(ctx)) != COCO_OK) goto fail;
    if ((rc = coco__args_fp(ctx->arena, fn->name, args, nargs, &key)) != COCO_OK) {
        coco_ctx_fail(ctx, rc, "arguments of %s cannot be encoded: %s", fn->name,
                      coco_arena_errmsg(ctx->arena));
        goto fail;
    }
    if (coco__component_hit(ctx, fn, args, nargs, key, NULL, &states, &refresh)) {
        /* memo hit: the subtree stays as it is; nothing is written (but refreshed states) */
        if (refresh && ((rc = coco__decode_old(ctx)) != COCO_OK ||
                        (rc = coco__refresh_states(ctx, &states)) != COCO_OK))
            goto out;
        if ((rc = coco__note_hit(run, ctx->pathfp, coco__old_field(ctx, 't'), fn->name)) != COCO_OK)
            goto out;
        if (ret_arena) {
            const coco_value* r = coco__raw_field(ctx, 'r');
            rc = ctx->field_err ? COCO_ERR_NOMEM : coco_value_copy(ret_arena, r ? r : &ret, ret_out);
        }
        goto out;
    }
    if ((rc = coco__decode_old(ctx)) != COCO_OK) goto fail;
    if (!(f = coco__frame_push(ctx, fn->logic_tracking))) { rc = COCO_ERR_NOMEM; goto out; }
    if (f->tracking != COCO_TRACK_NONE) coco__frame_add(f, 0, reg->name, reg->logic);
    COCO__STAT(run, fn->name, started);
    if (ctx->old) COCO__STAT(run, fn->name, reprocessed);
    else COCO__STAT(run, fn->name, added);
    /* the states are taken before the body reads the objects, so a change made while it
       runs is seen next time */
    if (fn->memo && (rc = coco__states_now(ctx, args, nargs, &states)) != COCO_OK) goto fail;
    rc = reg->batch ? coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "batched function '%s' mounted "
                                    "as a component; call it with coco_call", fn->name)
                    : coco__call_body(ctx, reg, args, nargs, &ret);
    COCO__STAT(run, fn->name, finished);
    coco__pool_wait_kids(run->env, ctx);     /* children submit before their parent */
    if (rc == COCO_OK && ctx->err_code != COCO_OK) rc = ctx->err_code;
    if (rc != COCO_OK && ctx->item_gone) {
        coco__end_item_gone(ctx, &ret);
        rc = COCO_OK;
    }
    if (rc != COCO_OK) goto fail;
    if ((rc = coco__submit(ctx, &ret, key, &states)) != COCO_OK) goto fail;
    if (ret_arena) rc = coco_value_copy(ret_arena, &ret, ret_out);
    goto out;
fail:
    coco__pool_wait_kids(run->env, ctx);     /* they point into this component's arena */
    COCO__STAT(run, fn->name, errors);
    coco__report_in(run, ctx, coco_ctx_path(ctx), fn->name, rc,
                    ctx->err[0] ? ctx->err : NULL);
    coco__mutex_lock(&run->lock);
    coco__fmt(run->last_err, sizeof run->last_err, "%s",
             ctx->err[0] ? ctx->err : coco_result_str(rc));
    coco__mutex_unlock(&run->lock);
    if (coco__keep_new_kids(ctx) != COCO_OK) rc = COCO_ERR_NOMEM;
    reported = 1;
out:
    if (rc != COCO_OK && !reported)   /* a failure outside the body (memory, a copy) */
        coco__report_in(run, ctx, coco_ctx_path(ctx) ? coco_ctx_path(ctx) : "?", fn->name, rc,
                        ctx->err[0] ? ctx->err : NULL);
    coco__ctx_destroy(ctx);
    return rc;
}

/* The path  ctx's path + suffix  in `ar`; the suffix keys are copied unless `shallow`. */
COCO__PRIVATE coco_result coco__child_path(coco_ctx* ctx, coco_arena* ar, const coco_value* suffix,
                                           size_t nsuffix, int shallow, coco_value* path) {
    size_t n = coco__list_len(&ctx->path), i;
    coco_value* items = (coco_value*)coco_arena_alloc(ar, (n + nsuffix) * sizeof *items);
    coco_result rc;
    if (!items) return COCO_ERR_NOMEM;
    for (i = 0; i < n; i++) items[i] = ctx->path.u.list.items[i];
    for (i = 0; i < nsuffix; i++) {  /* the key may live on the caller's stack: copy it */
        if (shallow) items[n + i] = suffix[i];
        else if ((rc = coco_value_copy(ar, &suffix[i], &items[n + i])) != COCO_OK) return rc;
    }
    *path = coco_list(items, n + nsuffix);
    return COCO_OK;
}

/* A child already looked at by coco_mount_each's memo checks (coco__pjob_run). */
typedef struct coco__pre {
    coco_fp pf;                   /* its path fingerprint */
    int     checked;              /* 0: not looked at (pf unset): coco__mount decides */
    int     kept;                 /* 1: kept by coco__probe_keep; 0: it must run */
} coco__pre;

COCO__PRIVATE coco_result coco__mount_pre(coco_ctx* ctx, const coco_value* suffix, size_t nsuffix,
                                          const coco_fn* fn, const coco_value* args,
                                          size_t nargs, int want, coco_value* ret,
                                          const coco__pre* pre) {
    coco__run* run;
    size_t i;
    coco_value path;
    coco_fp pf;
    coco__fpset_eq eq;
    coco__map_slot* s;
    coco_result rc;
    uint64_t fails;
    coco__probe* probe = NULL;
    coco_arena* ar;
    if (!ctx || !fn || (nargs && !args)) return COCO_ERR_INVALID_ARG;
    run = ctx->run;
    if (ctx->in_memo)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "a memoized function mounts a child "
                             "component (%s under %s); memoized functions called with coco_call "
                             "must not mount: make it a component instead", fn->name,
                             coco_ctx_path(ctx));
    for (i = 0; i < nsuffix; i++)
        if (!coco__is_key_kind(&suffix[i], 0))
            return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "child key of kind %d under %s: a "
                                 "path key is null, bool, int, string, bytes, uuid, symbol or a "
                                 "list of those", (int)suffix[i].kind, coco_ctx_path(ctx));
    if (pre) {
        pf = pre->pf;
        ar = ctx->arena;
        path = coco_null();       /* built below only where it is needed */
    } else {
        /* a memoized background child is checked here first (coco__probe_keep): its path is
           built in the probe's scratch arena and copied only when the child must run */
        probe = !want && fn->memo && !run->full ? coco__probe_get(ctx) : NULL;
        ar = probe ? probe->c->arena : ctx->arena;
        if ((rc = coco__child_path(ctx, ar, suffix, nsuffix, probe != NULL, &path)) != COCO_OK)
            return rc;
        if ((rc = coco_value_fp(ar, &path, &pf)) != COCO_OK)
            return coco_ctx_fail(ctx, rc, "child path under %s: %s", coco_ctx_path(ctx),
                                 coco_arena_errmsg(ar));
    }
    eq.arr = (const coco_fp*)(void*)ctx->kids.ptr;
    eq.f = pf;
    if (coco__map_reserve1(&ctx->kid_set)) return COCO_ERR_NOMEM;
    s = coco__map_find(&ctx->kid_set, coco__fp_hash(pf), coco__fpset_eqfn, &eq);
    if (s->val) {
        if (pre && coco__child_path(ctx, ar, suffix, nsuffix, 1, &path) != COCO_OK)
            return COCO_ERR_NOMEM;
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "duplicate child path %s: mounted twice "
                             "under %s", coco__render_path(ar, &path), coco_ctx_path(ctx));
    }
    if (!coco__vpush(&ctx->kids, &pf, sizeof pf)) return COCO_ERR_NOMEM;
    s->hash = coco__fp_hash(pf);
    s->val = COCO__VLEN(ctx->kids, coco_fp);
    ctx->kid_set.count++;
    if (pre) {
        if (pre->kept) return COCO_OK;
        if ((rc = coco__child_path(ctx, ctx->arena, suffix, nsuffix, 0, &path)) != COCO_OK)
            return rc;
    } else if (probe) {
        coco_value shallow = path;
        if (coco__probe_keep(ctx, probe, &shallow, pf, fn, args, nargs)) return COCO_OK;
        if ((rc = coco_value_copy(ctx->arena, &shallow, &path)) != COCO_OK) return rc;
    }
    if (!want) {
        /* background: the task gets its own copy of the arguments, in this arena */
        coco__task* t = (coco__task*)coco__alloc(&run->env->a, sizeof *t);
        coco_value* acopy = (coco_value*)coco_arena_alloc(ctx->arena, (nargs ? nargs : 1) *
                                                          sizeof *acopy);
        if (!t || !acopy) {
            coco__free(&run->env->a, t, sizeof *t);
            return COCO_ERR_NOMEM;
        }
        for (i = 0; i < nargs; i++)
            if ((rc = coco_value_copy(ctx->arena, &args[i], &acopy[i])) != COCO_OK) {
                coco__free(&run->env->a, t, sizeof *t);
                return rc;
            }
        memset(t, 0, sizeof *t);
        t->run = run; t->parent = ctx; t->path = path; t->pathfp = pf; t->fn = fn;
        t->args = acopy; t->nargs = nargs;
        if (coco__pool_push(run->env, t) == 0) return COCO_OK;
        coco__free(&run->env->a, t, sizeof *t);
        rc = coco__run_component(run, ctx, &path, pf, fn, acopy, nargs, NULL, NULL);
        return rc == COCO_ERR_NOMEM ? rc : COCO_OK;   /* isolated failure */
    }
    fails = run->apply_failures;
    rc = coco__run_component(run, ctx, &path, pf, fn, args, nargs, ctx->arena, ret);
    /* the child's failure, or the flush's (a store commit, a target apply), is in last_err */
    coco__mutex_lock(&run->lock);
    if (rc == COCO_OK) rc = coco__flush(run);
    if (rc == COCO_OK && run->apply_failures != fails) rc = COCO_ERR_CONNECTOR;
    if (rc != COCO_OK)
        coco_ctx_fail(ctx, rc, "use_mount of %s failed: %s", coco__render_path(ctx->arena, &path),
                      run->last_err[0] ? run->last_err : coco_result_str(rc));
    coco__mutex_unlock(&run->lock);
    return rc;
}

COCO__PRIVATE coco_result coco__mount(coco_ctx* ctx, const coco_value* suffix, size_t nsuffix,
                                      const coco_fn* fn, const coco_value* args, size_t nargs,
                                      int want, coco_value* ret) {
    return coco__mount_pre(ctx, suffix, nsuffix, fn, args, nargs, want, ret, NULL);
}

COCO_API coco_result coco_mount(coco_ctx* ctx, coco_value key, const coco_fn* fn,
                                const coco_value* args, size_t nargs) {
    return coco__mount(ctx, &key, 1, fn, args, nargs, 0, NULL);
}

/* the component that declares one container state: args = [container name, key, spec] */
COCO__PRIVATE coco_result coco__target_body(coco_ctx* ctx, const coco_value* args, size_t nargs,
                                            coco_value* ret) {
    coco_target* t;
    (void)nargs; (void)ret;
    t = coco__target_find(ctx->run->env, args[0].u.s.ptr, args[0].u.s.len);
    if (!t) return coco_ctx_fail(ctx, COCO_ERR_NOT_FOUND, "container target '%.*s' is not "
                                 "registered", (int)args[0].u.s.len, args[0].u.s.ptr);
    return coco__declare(ctx, t, &args[1], &args[2]);
}
static const coco_fn coco__target_fn = { "coco.target", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL,
                                         coco__target_body };

COCO_API coco_result coco_mount_target(coco_ctx* ctx, coco_target* container, coco_value key,
                                       coco_value spec, coco_target** child) {
    coco_value suffix[2], args[3], pair[2];
    coco_result rc;
    coco_target* c;
    coco_value dummy;
    if (!ctx || !container || !child) return COCO_ERR_INVALID_ARG;
    if (!container->child_open)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "target '%s' is not a container "
                             "(coco_target_register_container)", container->name);
    pair[0] = coco_str(container->name);
    pair[1] = key;
    suffix[0] = coco_symbol("coco.target");
    suffix[1] = coco_list(pair, 2);
    args[0] = coco_str(container->name);
    args[1] = key;
    args[2] = spec;
    if ((rc = coco__mount(ctx, suffix, 2, &coco__target_fn, args, 3, 1, &dummy)) != COCO_OK)
        return rc;
    coco__mutex_lock(&ctx->run->env->lock);
    c = coco__child_target_locked(ctx->run->env, container, &key);
    coco__mutex_unlock(&ctx->run->env->lock);
    if (!c) return coco_ctx_fail(ctx, COCO_ERR_CONNECTOR, "container '%s': cannot open the "
                                 "child target at %s", container->name, coco_ctx_path(ctx));
    *child = c;
    return COCO_OK;
}

COCO_API coco_result coco_use_mount(coco_ctx* ctx, coco_value key, const coco_fn* fn,
                                    const coco_value* args, size_t nargs, coco_value* ret) {
    coco_value dummy;
    return coco__mount(ctx, &key, 1, fn, args, nargs, 1, ret ? ret : &dummy);
}

/* ---- the group memo of coco_mount_each ------------------------------------------------------
   A parent of many memoized children keeps, in its record ('g'), one entry per run of
   consecutive children (a "group": cut after a key whose hash has 7 given bits zero, at most
   COCO__GROUP_MAX children): a fingerprint of the function (name, version, logic) and of
   every child's key, argument and cheap states, the dependency list all of them stored (as
   encoded), where the group's children sit in the parent's children list, and a fingerprint
   of those entries of the list (checked before they are trusted).  A later
   mount of a group with the same fingerprint, whose dependencies are still current, keeps
   its children as they are without reading their records: each would be a memo hit.  An
   entry is written only for a group whose children were all memo hits at mount time with
   the same cacheable dependency list; the entries go with every parent run that does not
   mount the group again, with a failed parent run (coco__keep_new_kids) and with a live
   round of the parent (coco__live_apply), the only other ways its children change. */
#define COCO__GROUP_MAX 512u

typedef struct coco__group {
    size_t      from, to;         /* children [from, to) of the coco_mount_each call */
    coco_fp     fp;
    int         recordable;       /* every child a memo hit with the same dependency list */
    coco_bytes  deps;             /* that list, encoded */
} coco__group;

/* The groups of `n` children: cut after a key whose (FNV-1a) hash has bits 40-46 zero, so an
   added or removed child moves no other group's boundary.  NULL when out of memory; else
   free it with *cap_out entries. */
COCO__PRIVATE coco__group* coco__groups_cut(coco_env* env, const coco_value* keys, size_t n,
                                            size_t* ngroups, size_t* cap_out) {
    size_t i, k = 0, start = 0, cap = n / 64 + 16;
    coco__group* g = (coco__group*)coco__alloc(&env->a, cap * sizeof *g);
    if (!g) return NULL;
    for (i = 0; i < n; i++) {
        uint64_t h = 1469598103934665603ull;
        const coco_value* kv = &keys[i];
        int cut;
        if (kv->kind == COCO_STR || kv->kind == COCO_BYTES || kv->kind == COCO_SYMBOL) {
            size_t j;
            for (j = 0; j < kv->u.s.len; j++) {
                h ^= (unsigned char)kv->u.s.ptr[j];
                h *= 1099511628211ull;
            }
        } else if (kv->kind == COCO_INT) {
            h ^= (uint64_t)kv->u.i;
            h *= 1099511628211ull;
            h ^= h >> 29;
        }
        cut = (h >> 40 & 127) == 0 || i + 1 - start >= COCO__GROUP_MAX || i + 1 == n;
        if (!cut) continue;
        if (k == cap) {
            coco__group* ng = (coco__group*)coco__realloc(&env->a, g, cap * sizeof *g,
                                                          2 * cap * sizeof *g);
            if (!ng) { coco__free(&env->a, g, cap * sizeof *g); return NULL; }
            g = ng;
            cap *= 2;
        }
        memset(&g[k], 0, sizeof g[k]);
        g[k].from = start;
        g[k].to = i + 1;
        k++;
        start = i + 1;
    }
    *ngroups = k;
    *cap_out = cap;
    return g;
}

/* The fingerprint of group `g`: the function, then each child's key, argument (objects by
   type and memo key) and the cheap states of the objects in it.  0 = cannot be made. */
COCO__PRIVATE int coco__group_fp(coco_arena* ar, const coco__fnreg* reg, const coco_fn* fn,
                                 const coco_value* keys, const coco_value* items,
                                 coco__group* g) {
    coco_hasher h;
    coco__enc e;
    coco__buf objs;
    const coco_value* few[8];
    unsigned char hdr[24];
    size_t i, j;
    int ok = 1;
    coco_hasher_init(&h);
    coco_hasher_update(&h, "coco.group.1", 13);
    coco_hasher_update(&h, fn->name, strlen(fn->name) + 1);
    coco__put_u64le(hdr, (uint64_t)fn->version);
    coco__put_u64le(hdr + 8, (uint64_t)(g->to - g->from));
    coco_hasher_update(&h, hdr, 16);
    coco_hasher_update(&h, reg->logic.bytes, 16);
    e.buf = NULL; e.hasher = &h; e.arena = ar; e.oom = 0;
    coco__buf_init(&objs, &ar->a);
    objs.fixed = 1;
    for (i = g->from; i < g->to && ok; i++) {
        if (!objs.fixed) coco__buf_free(&objs);
        objs.ptr = (unsigned char*)(void*)few;
        objs.cap = sizeof few;
        objs.len = 0;
        objs.fixed = 1;
        if (coco__enc_value(&e, &keys[i], 0) != COCO_OK ||
            coco__enc_value(&e, &items[i], 0) != COCO_OK || e.oom ||
            coco__collect_objs(&items[i], &objs, 0) != COCO_OK) { ok = 0; break; }
        for (j = 0; j < COCO__VLEN(objs, const coco_value*) && ok; j++) {
            const coco_value* o = COCO__VAT(objs, const coco_value*, j);
            coco_value st;
            ok = o->u.obj.vt->memo_state(o->u.obj.obj, 0, ar, &st) == COCO_OK &&
                 coco__enc_value(&e, &st, 0) == COCO_OK && !e.oom;
        }
    }
    if (!objs.fixed) coco__buf_free(&objs);
    if (ok) g->fp = coco_hasher_fp(&h);
    return ok;
}

/* One share of coco_mount_each's memo checks, on any thread of the pool: the groups
   [gfrom, gto).  A group found in the parent's old record ('g') with its dependencies current
   is kept whole; the others are checked child by child (coco__probe_keep).  Each child gets
   its path fingerprint and its answer in pre[]; each group, its fingerprint and whether it
   can be recorded. */
typedef struct coco__pjob {
    coco_ctx*          ctx;       /* the mounting component: only read here */
    const coco_fn*     fn;
    const coco__fnreg* reg;
    const coco_value*  keys;      /* the caller's arrays: valid until coco_mount_each returns */
    const coco_value*  items;
    coco__group*       groups;
    size_t             gfrom, gto;
    coco__pre*         pre;
    const coco_value*  old_c;     /* the parent's old children list */
    const coco_value*  old_g;     /* [fp, deps, start, count] entries of the old record */
    coco__map*         old_idx;   /* fp -> index + 1 into old_g */
    coco_arena*        ar;        /* the recordable groups' dependency lists */
} coco__pjob;

/* The fingerprint of `count` children fingerprints: from a list of values, or from an array. */
COCO__PRIVATE int coco__kids_fp_list(const coco_value* list, size_t start, size_t count,
                                     coco_fp* out) {
    coco_hasher h;
    size_t i;
    coco_hasher_init(&h);
    for (i = 0; i < count; i++) {
        const coco_value* v = coco__list_at(list, start + i);
        if (!v || v->kind != COCO_BYTES || v->u.s.len != 16) return 0;
        coco_hasher_update(&h, v->u.s.ptr, 16);
    }
    *out = coco_hasher_fp(&h);
    return 1;
}
COCO__PRIVATE coco_fp coco__kids_fp_array(const coco_fp* kids, size_t count) {
    coco_hasher h;
    coco_hasher_init(&h);
    coco_hasher_update(&h, kids, count * sizeof *kids);
    return coco_hasher_fp(&h);
}

typedef struct coco__geq { const coco_value* const* ents; coco_fp f; } coco__geq;
COCO__PRIVATE int coco__geq_fn(void* c, uint64_t val) {
    const coco__geq* e = (const coco__geq*)c;
    return coco__val_is_fp(&e->ents[val - 1]->u.list.items[1], e->f);
}

/* The old entry of group fingerprint `f` whose children can be kept: the dependency list is
   current and the positions fit the old children list.  NULL = check them one by one. */
COCO__PRIVATE const coco_value* coco__group_old(coco__pjob* j, coco__probe* pr,
                                               const coco__group* g) {
    const coco_value* const* ents = (const coco_value* const*)(const void*)j->old_g;
    coco__geq q;
    coco__map_slot* s;
    const coco_value* e;
    const coco_value* deps;
    coco_value dv;
    int64_t start, count;
    if (!j->old_idx || !j->old_idx->count) return NULL;
    q.ents = ents;
    q.f = g->fp;
    s = coco__map_find(j->old_idx, coco__fp_hash(g->fp), coco__geq_fn, &q);
    if (!s->val) return NULL;
    e = ents[s->val - 1];
    deps = &e->u.list.items[2];
    start = e->u.list.items[3].u.i;
    count = e->u.list.items[4].u.i;
    if (count != (int64_t)(g->to - g->from) || start < 0 ||
        (uint64_t)start + (uint64_t)count > (uint64_t)coco__list_len(j->old_c))
        return NULL;
    {   /* the children at that position are the ones the entry was written for */
        coco_fp kf;
        if (!coco__kids_fp_list(j->old_c, (size_t)start, (size_t)count, &kf) ||
            !coco__val_is_fp(&e->u.list.items[5], kf))
            return NULL;
    }
    /* the same dependency list as the last one found current: current again (a function's
       logic and a context value do not change during a run) */
    if (deps->u.s.len == pr->deps_ok.len && deps->u.s.len &&
        memcmp(deps->u.s.ptr, pr->deps_ok.ptr, deps->u.s.len) == 0)
        return e;
    coco_arena_reset(pr->c->arena);
    if (coco_value_decode(pr->c->arena, deps->u.s.ptr, deps->u.s.len, &dv) != COCO_OK ||
        !coco__deps_valid(j->ctx->run, &dv))
        return NULL;
    {   /* recorded lists never name a container generation (kind 2): cacheable */
        size_t i;
        for (i = 0; i < coco__list_len(&dv); i++)
            if (coco__list_at(&dv, i)->u.list.items[0].u.i == 2) return NULL;
    }
    pr->deps_ok.len = 0;
    if (coco__buf_put(&pr->deps_ok, deps->u.s.ptr, deps->u.s.len)) pr->deps_ok.len = 0;
    return e;
}

COCO__PRIVATE void coco__pjob_run(void* user) {
    coco__pjob* j = (coco__pjob*)user;
    coco__probe* pr = coco__probe_new(j->ctx);
    coco_value suffix[2], path;
    size_t gi, i;
    coco_result rc = COCO_OK;
    if (!pr) return;              /* nothing checked: coco__mount checks them one by one */
    if (!coco__fn_reg(j->ctx->run->env, j->fn, &rc)) { coco__probe_free(j->ctx->run, pr); return; }
    pr->fn = j->fn;
    suffix[0] = coco_symbol(j->fn->name);
    for (gi = j->gfrom; gi < j->gto; gi++) {
        coco__group* g = &j->groups[gi];
        const coco_value* old;
        int have_fp, all_same = 1;
        coco_arena_reset(pr->c->arena);
        have_fp = coco__group_fp(pr->c->arena, j->reg, j->fn, j->keys, j->items, g);
        if (have_fp && (old = coco__group_old(j, pr, g)) != NULL) {
            /* kept whole: the children are where the old record lists them */
            const coco_value* deps = &old->u.list.items[2];
            size_t start = (size_t)old->u.list.items[3].u.i;
            for (i = g->from; i < g->to; i++) {
                coco__pre* e = &j->pre[i];
                e->pf = coco__val_fp_bytes(coco__list_at(j->old_c, start + (i - g->from)));
                e->checked = 1;
                e->kept = 1;
                if (coco__buf_put(&pr->hits, e->pf.bytes, sizeof e->pf)) e->kept = 0;
                else pr->unchanged++;
            }
            g->deps.ptr = coco_arena_alloc(j->ar, deps->u.s.len ? deps->u.s.len : 1);
            if (g->deps.ptr) {
                memcpy((void*)g->deps.ptr, deps->u.s.ptr, deps->u.s.len);
                g->deps.len = deps->u.s.len;
                g->recordable = 1;
            }
            for (i = g->from; i < g->to; i++) if (!j->pre[i].kept) g->recordable = 0;
            continue;
        }
        /* all_same: every child so far kept, with the same cacheable dependency list (in
           g->deps) */
        for (i = g->from; i < g->to; i++) {
            coco__pre* e = &j->pre[i];
            coco_arena_reset(pr->c->arena);
            suffix[1] = j->keys[i];
            if (!coco__is_key_kind(&suffix[1], 0) ||
                coco__child_path(j->ctx, pr->c->arena, suffix, 2, 1, &path) != COCO_OK ||
                coco_value_fp(pr->c->arena, &path, &e->pf) != COCO_OK) {
                all_same = 0;
                continue;         /* left to coco__mount (which reports what is wrong) */
            }
            e->kept = coco__probe_keep(j->ctx, pr, &path, e->pf, j->fn, &j->items[i], 1);
            e->checked = 1;
            if (!e->kept) { all_same = 0; continue; }
            if (all_same) {
                /* its dependency list, as coco__deps_current left it when cacheable */
                coco_bytes raw = coco__old_field(pr->c, 'd');
                if (!raw.len || raw.len != pr->deps_ok.len ||
                    memcmp(raw.ptr, pr->deps_ok.ptr, raw.len) != 0)
                    all_same = 0;
                else if (!g->deps.ptr) {
                    void* cp = coco_arena_alloc(j->ar, raw.len);
                    if (!cp) all_same = 0;
                    else {
                        memcpy(cp, raw.ptr, raw.len);
                        g->deps.ptr = cp;
                        g->deps.len = raw.len;
                    }
                } else if (raw.len != g->deps.len || memcmp(raw.ptr, g->deps.ptr, raw.len) != 0) {
                    all_same = 0;
                }
            }
        }
        g->recordable = have_fp && all_same;
    }
    coco__probe_free(j->ctx->run, pr);
}

#define COCO__CHECK_MIN 512       /* coco_mount_each: children checked on the pool from here */

/* The old record's group entries, indexed by fingerprint (in `idx`, values index + 1 into
   the returned array); NULL when there are none. */
COCO__PRIVATE const coco_value** coco__groups_old(coco_ctx* ctx, coco__map* idx, size_t* n) {
    coco_value* g;
    const coco_value** ents;
    size_t i, m = 0, total;
    *n = 0;
    if (coco__groups_load(ctx) != COCO_OK || !ctx->groups_old.len ||
        !(g = (coco_value*)coco_arena_alloc(ctx->arena, sizeof *g)) ||
        coco__value_decode(ctx->arena, ctx->groups_old.ptr, ctx->groups_old.len, g, 1) != COCO_OK)
        return NULL;
    total = coco__list_len(g);
    if (!total) return NULL;
    if (!(ents = (const coco_value**)coco_arena_alloc(ctx->arena, total * sizeof *ents)))
        return NULL;
    if (coco__map_init(idx, &ctx->run->env->a, total)) return NULL;
    for (i = 0; i < total; i++) {
        const coco_value* e = coco__list_at(g, i);
        const coco_value* it;
        coco__geq q;
        coco__map_slot* sl;
        coco_fp f;
        if (coco__list_len(e) != 6) continue;
        it = e->u.list.items;
        if (it[1].kind != COCO_BYTES || it[1].u.s.len != 16 || it[2].kind != COCO_BYTES ||
            it[3].kind != COCO_INT || it[4].kind != COCO_INT || it[5].kind != COCO_BYTES ||
            it[5].u.s.len != 16)
            continue;
        f = coco__val_fp_bytes(&it[1]);
        ents[m] = e;
        q.ents = ents;
        q.f = f;
        sl = coco__map_find(idx, coco__fp_hash(f), coco__geq_fn, &q);
        if (sl->val) continue;
        sl->hash = coco__fp_hash(f);
        sl->val = ++m;
        idx->count++;
    }
    *n = m;
    return ents;
}

/* One entry of the parent's 'g': [fn name, fp, deps, start, count, children fp], with the
   children fingerprint taken from the parent's kids [start, start + count). */
COCO__PRIVATE coco_result coco__gent_push(coco_ctx* ctx, const char* fname, coco_fp fp,
                                          const void* deps, size_t deps_len, size_t start,
                                          size_t count) {
    coco_arena* ar = ctx->arena;
    coco_value* e = (coco_value*)coco_arena_alloc(ar, 6 * sizeof *e);
    void* d = coco_arena_alloc(ar, deps_len ? deps_len : 1);
    coco_value one;
    if (!e || !d) return COCO_ERR_NOMEM;
    memcpy(d, deps, deps_len);
    e[0] = coco_str(fname);                  /* registered functions outlive every record */
    e[1] = coco__fp_val(ar, fp);
    e[2] = coco_bytes_val(d, deps_len);
    e[3] = coco_int((int64_t)start);
    e[4] = coco_int((int64_t)count);
    e[5] = coco__fp_val(ar, coco__kids_fp_array((const coco_fp*)(void*)ctx->kids.ptr + start,
                                                count));
    if (e[1].kind != COCO_BYTES || e[5].kind != COCO_BYTES) return COCO_ERR_NOMEM;
    one = coco_list(e, 6);
    return coco__vpush(&ctx->groups, &one, sizeof one) ? COCO_OK : COCO_ERR_NOMEM;
}

/* This mount's recordable groups become entries of the parent's 'g' (a group with a child
   that runs now is recorded by a later mount that finds them all memo hits).  `base`: the
   parent's children before the mount (the mount's are base.. in order). */
COCO__PRIVATE coco_result coco__groups_record(coco_ctx* ctx, const coco_fn* fn,
                                              const coco__group* g, size_t ng, size_t base) {
    size_t i;
    coco_result rc;
    for (i = 0; i < ng; i++)
        if (g[i].recordable &&
            (rc = coco__gent_push(ctx, fn->name, g[i].fp, g[i].deps.ptr, g[i].deps.len,
                                  base + g[i].from, g[i].to - g[i].from)) != COCO_OK)
            return rc;
    return COCO_OK;
}

/* coco_mount_each of a memoized function with many children: the memo checks of the children
   run first, on the pool when it has workers, a group of children at a time (kept whole when
   the group memo allows, else coco__probe_keep each); then the children are registered in
   order and only those not kept are mounted; the recordable groups go to the parent's record.
   Returns 1 when it did the job (*rc), 0 when the plain loop should. */
COCO__PRIVATE int coco__mount_each_checked(coco_ctx* ctx, const coco_fn* fn,
                                           const coco_value* keys, const coco_value* items,
                                           size_t n, coco_result* rc) {
    coco__run* run = ctx->run;
    coco_env* env = run->env;
    size_t per, njobs, njobs_cap, k, i, pending = 0, ng = 0, gcap = 0, nold = 0, base;
    coco__pjob* jobs;
    coco__pre* pre;
    coco__group* groups;
    coco__fnreg* reg;
    coco__map old_idx;
    const coco_value** old_g;
    coco_value suffix[2];
    coco_result frc = COCO_OK;
    if (n < COCO__CHECK_MIN || !fn->memo || run->full || ctx->in_memo) return 0;
    if (!(reg = coco__fn_reg(env, fn, &frc))) return 0;
    if (!(groups = coco__groups_cut(env, keys, n, &ng, &gcap))) return 0;
    memset(&old_idx, 0, sizeof old_idx);
    old_g = coco__groups_old(ctx, &old_idx, &nold);
    per = n / (4 * ((size_t)env->pool.nthreads + 1)) + 1;    /* children a job, about */
    if (per < 256) per = 256;
    njobs = njobs_cap = (n + per - 1) / per + 1;
    pre = (coco__pre*)coco__alloc(&env->a, n * sizeof *pre);
    jobs = (coco__pjob*)coco__alloc(&env->a, njobs * sizeof *jobs);
    if (!pre || !jobs) {
        coco__free(&env->a, pre, n * sizeof *pre);
        coco__free(&env->a, jobs, njobs * sizeof *jobs);
        coco__free(&env->a, groups, gcap * sizeof *groups);
        if (old_g) coco__map_free(&old_idx);
        return 0;
    }
    memset(pre, 0, n * sizeof *pre);
    memset(jobs, 0, njobs * sizeof *jobs);
    /* jobs of whole groups, about `per` children each */
    for (k = 0, i = 0; i < ng && k < njobs; k++) {
        coco__pjob* j = &jobs[k];
        size_t gi = i;
        while (gi < ng && (gi == i || groups[gi].to - groups[i].from <= per)) gi++;
        if (k == njobs - 1) gi = ng;
        j->ctx = ctx; j->fn = fn; j->reg = reg; j->keys = keys; j->items = items;
        j->groups = groups; j->gfrom = i; j->gto = gi; j->pre = pre;
        j->old_c = coco__field(ctx->old, "c");
        j->old_g = (const coco_value*)(const void*)old_g;
        j->old_idx = old_g ? &old_idx : NULL;
        if (coco_arena_create(&env->a, &j->ar) != COCO_OK) j->ar = NULL;
        i = gi;
    }
    njobs = k;
    for (k = 0; k < njobs; k++) {
        coco__pjob* j = &jobs[k];
        coco__task* t;
        if (!j->ar) continue;     /* not checked: coco__mount checks them one by one */
        if (env->pool.nthreads && (t = (coco__task*)coco__alloc(&env->a, sizeof *t)) != NULL) {
            memset(t, 0, sizeof *t);
            t->run = run; t->parent = ctx; t->job = coco__pjob_run; t->job_user = j;
            t->count = &pending;
            if (coco__pool_push(env, t) == 0) continue;
            coco__free(&env->a, t, sizeof *t);
        }
        coco__pjob_run(j);        /* no worker, or no room in the queue: this thread */
    }
    coco__pool_wait(env, &pending);
    *rc = COCO_OK;
    /* room for the n children at once (no rehash or regrowth on the way) */
    if (!ctx->kid_set.count) {
        coco__map_free(&ctx->kid_set);
        if (coco__map_init(&ctx->kid_set, &env->a, n)) coco__map_init_lazy(&ctx->kid_set, &env->a);
    }
    coco__buf_reserve(&ctx->kids, n * sizeof(coco_fp));
    base = COCO__VLEN(ctx->kids, coco_fp);
    suffix[0] = coco_symbol(fn->name);
    for (i = 0; i < n && *rc == COCO_OK; i++) {
        suffix[1] = keys[i];
        *rc = coco__mount_pre(ctx, suffix, 2, fn, &items[i], 1, 0, NULL,
                              pre[i].checked ? &pre[i] : NULL);
    }
    /* a group whose children became kids n..: positions hold when every child registered */
    if (*rc == COCO_OK && COCO__VLEN(ctx->kids, coco_fp) == base + n)
        *rc = coco__groups_record(ctx, fn, groups, ng, base);
    for (k = 0; k < njobs; k++) coco_arena_destroy(jobs[k].ar);
    coco__free(&env->a, pre, n * sizeof *pre);
    coco__free(&env->a, jobs, njobs_cap * sizeof *jobs);
    coco__free(&env->a, groups, gcap * sizeof *groups);
    if (old_g) coco__map_free(&old_idx);
    return 1;
}

COCO_API coco_result coco_mount_each(coco_ctx* ctx, const coco_fn* fn, const coco_value* keys,
                                     const coco_value* items, size_t n) {
    size_t i;
    coco_value suffix[2];
    coco_result rc;
    if (!ctx || !fn || (n && (!keys || !items))) return COCO_ERR_INVALID_ARG;
    if (coco__mount_each_checked(ctx, fn, keys, items, n, &rc)) {
        if (rc != COCO_OK) return rc;
    } else {
        suffix[0] = coco_symbol(fn->name);
        for (i = 0; i < n; i++) {
            suffix[1] = keys[i];
            if ((rc = coco__mount(ctx, suffix, 2, fn, &items[i], 1, 0, NULL)) != COCO_OK)
                return rc;
        }
    }
    return coco__probe_flush(ctx->run, ctx->probe);   /* counters visible as it returns */
}

/* Runs the queued requests of `r` (up to its batch size) as one batch; caller holds r->m and
   gets it back. */
COCO__PRIVATE void coco__batch_run(coco_env* env, coco__fnreg* r) {
    coco__breq* take[1024];
    coco_value* items = NULL;
    coco_value* rets = NULL;
    coco__batch* b;
    size_t n = 0, i, max = COCO__MIN(r->batch_max, 1024u);
    coco_result rc = COCO_ERR_NOMEM;
    char err[COCO__ERRMSG_CAP / 2];
    while (r->head && n < max) {
        take[n++] = r->head;
        r->head = r->head->next;
    }
    if (!r->head) r->tail = NULL;
    r->running = 1;
    coco__mutex_unlock(&r->m);
    err[0] = 0;
    b = (coco__batch*)coco__alloc(&env->a, sizeof *b);
    if (b && coco_arena_create(&env->a, &b->arena) == COCO_OK) {
        items = (coco_value*)coco_arena_alloc(b->arena, n * sizeof *items);
        rets = (coco_value*)coco_arena_alloc(b->arena, n * sizeof *rets);
        if (items && rets) {
            for (i = 0; i < n; i++) { items[i] = *take[i]->arg; rets[i] = coco_null(); }
            rc = r->batch(r->batch_user, items, n, rets, b->arena, err, sizeof err);
        }
    } else if (b) {
        coco__free(&env->a, b, sizeof *b);
        b = NULL;
    }
    coco__mutex_lock(&r->m);
    if (b) b->readers = n;
    for (i = 0; i < n; i++) {
        take[i]->rc = rc;
        take[i]->ret = rets && rc == COCO_OK ? rets[i] : coco_null();
        take[i]->batch = b;
        coco__fmt(take[i]->err, sizeof take[i]->err, "%s", err);
        take[i]->done = 1;
    }
    r->running = 0;
    coco__cond_broadcast(&r->cv);
}

/* One call through the batcher: queue it, lead a batch when none runs, else wait. */
COCO__PRIVATE coco_result coco__batch_call(coco_ctx* ctx, coco__fnreg* r, const coco_value* arg,
                                           coco_value* ret) {
    coco_env* env = ctx->run->env;
    coco__breq req;
    coco_result rc;
    memset(&req, 0, sizeof req);
    req.arg = arg;
    coco__mutex_lock(&r->m);
    if (r->tail) r->tail->next = &req; else r->head = &req;
    r->tail = &req;
    while (!req.done) {
        if (!r->running) coco__batch_run(env, r);
        else coco__cond_wait(&r->cv, &r->m);
    }
    coco__mutex_unlock(&r->m);
    rc = req.rc;
    if (rc == COCO_OK) rc = coco_value_copy(ctx->arena, &req.ret, ret);
    else coco_ctx_fail(ctx, rc, "batched function '%s' failed at %s: %s", r->name, coco_ctx_path(ctx),
                       req.err[0] ? req.err : coco_result_str(rc));
    if (req.batch) {
        int last;
        coco__mutex_lock(&r->m);
        last = --req.batch->readers == 0;
        coco__mutex_unlock(&r->m);
        if (last) {
            coco_arena_destroy(req.batch->arena);
            coco__free(&env->a, req.batch, sizeof *req.batch);
        }
    }
    return rc;
}

COCO__PRIVATE coco_result coco__call_body(coco_ctx* ctx, coco__fnreg* r, const coco_value* args,
                                          size_t nargs, coco_value* ret) {
    coco_result rc;
    if (r->batch) {
        if (nargs != 1)
            return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "batched function '%s' takes one "
                                 "argument, got %zu", r->name, nargs);
        return coco__batch_call(ctx, r, &args[0], ret);   /* one batch at a time: serial */
    }
    if (!r->fn->body)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "function '%s' has no body", r->name);
    if (!r->serial) return r->fn->body(ctx, args, nargs, ret);
    coco__mutex_lock(&r->m);
    rc = r->fn->body(ctx, args, nargs, ret);
    coco__mutex_unlock(&r->m);
    return rc;
}

/* Looks `fn(args)` up in the component's stored memo entries (key = its arguments'
   fingerprint).  On a hit: re-declares the stored target states, adds the stored deps to
   frame `f`, sets *ret and returns 1 (*rc says whether that went well).  0 = a miss. */
COCO__PRIVATE int coco__memo_hit(coco_ctx* ctx, const coco_fn* fn, coco__frame* f,
                                 const coco_value* args, size_t nargs, coco_fp key,
                                 coco_value* ret, coco_result* rc) {
    coco__run* run = ctx->run;
    const coco_value* x = coco__field(ctx->old, "x");
    size_t i;
    for (i = 0; i < coco__list_len(x) && !run->full; i++) {
        const coco_value* e = coco__list_at(x, i);
        const coco_value* decls;
        size_t j;
        coco_value states;
        int refreshed = 0;
        if (coco__list_len(e) != 5 || !coco__val_is_fp(&e->u.list.items[0], key)) continue;
        if (!coco__deps_valid(run, &e->u.list.items[1]) ||
            !coco__states_valid(ctx, args, nargs, &e->u.list.items[4], &states, &refreshed))
            return 0;
        if (refreshed) {
            coco_value* ne = (coco_value*)coco_arena_alloc(ctx->arena, 5 * sizeof *ne);
            coco_value* nl = (coco_value*)coco_arena_alloc(ctx->arena, sizeof *nl);
            if (!ne || !nl) { *rc = COCO_ERR_NOMEM; return 1; }
            memcpy(ne, e->u.list.items, 5 * sizeof *ne);
            ne[4] = states;
            *nl = coco_list(ne, 5);
            e = nl;
        }
        /* memo hit: the stored value, the stored declarations, the stored deps */
        decls = &e->u.list.items[3];
        for (j = 0; j < coco__list_len(decls); j++) {
            const coco_value* d = coco__list_at(decls, j);
            coco_target* t;
            if (coco__list_len(d) != 3 || d->u.list.items[0].kind != COCO_STR) continue;
            t = coco__target_find(run->env, d->u.list.items[0].u.s.ptr,
                                  d->u.list.items[0].u.s.len);
            if (!t) {
                *rc = coco_ctx_fail(ctx, COCO_ERR_NOT_FOUND, "memo of %s at %s declares "
                                    "target '%.*s', which is not registered", fn->name,
                                    coco_ctx_path(ctx), (int)d->u.list.items[0].u.s.len,
                                    d->u.list.items[0].u.s.ptr);
                return 1;
            }
            if ((*rc = coco__declare(ctx, t, &d->u.list.items[1], &d->u.list.items[2])))
                return 1;
        }
        coco__frame_add_stored(ctx, f, &e->u.list.items[1]);
        if (!coco__vpush(&ctx->xents, e, sizeof *e)) *rc = COCO_ERR_NOMEM;
        else *rc = coco_value_copy(ctx->arena, &e->u.list.items[2], ret);
        COCO__STAT(run, fn->name, unchanged);
        return 1;
    }
    return 0;
}

/* Records a new memo entry [key, deps, value, declarations decl0.., states] for this run. */
COCO__PRIVATE coco_result coco__memo_record(coco_ctx* ctx, coco_fp key, coco_value deps,
                                            const coco_value* ret, size_t decl0,
                                            coco_value states) {
    size_t nd = COCO__VLEN(ctx->decls, coco__decl) - decl0, i;
    coco_value* ent = (coco_value*)coco_arena_alloc(ctx->arena, 5 * sizeof *ent);
    coco_value* dl = (coco_value*)coco_arena_alloc(ctx->arena, (nd ? nd : 1) * sizeof *dl);
    coco_value e;
    coco_result rc;
    if (!ent || !dl) return COCO_ERR_NOMEM;
    for (i = 0; i < nd; i++) {
        coco__decl* d = &COCO__VAT(ctx->decls, coco__decl, decl0 + i);
        coco_value* tr = (coco_value*)coco_arena_alloc(ctx->arena, 3 * sizeof *tr);
        if (!tr) return COCO_ERR_NOMEM;
        tr[0] = coco_str(d->t->name);
        tr[1] = d->key;
        tr[2] = d->value;
        dl[i] = coco_list(tr, 3);
    }
    ent[0] = coco__fp_val(ctx->arena, key);
    ent[1] = deps;
    if ((rc = coco_value_copy(ctx->arena, ret, &ent[2])) != COCO_OK) return rc;
    ent[3] = coco_list(dl, nd);
    ent[4] = states;
    e = coco_list(ent, 5);
    return coco__vpush(&ctx->xents, &e, sizeof e) ? COCO_OK : COCO_ERR_NOMEM;
}

COCO_API coco_result coco_call(coco_ctx* ctx, const coco_fn* fn, const coco_value* args,
                               size_t nargs, coco_value* ret) {
    coco__run* run;
    coco__fnreg* reg;
    coco__frame* f;
    coco_result rc = COCO_OK;
    coco_fp key;
    size_t decl0;
    coco_value dummy = coco_null(), call_states = coco_null();
    if (!ctx || !fn || (nargs && !args)) return COCO_ERR_INVALID_ARG;
    if (!ret) ret = &dummy;
    run = ctx->run;
    if (!(reg = coco__fn_reg(run->env, fn, &rc)))
        return coco_ctx_fail(ctx, rc, "%s", run->env->err);
    if (!(f = coco__frame_push(ctx, fn->logic_tracking))) return COCO_ERR_NOMEM;
    if (f->tracking != COCO_TRACK_NONE) coco__frame_add(f, 0, reg->name, reg->logic);
    if (fn->memo) {
        if ((rc = coco__args_fp(ctx->arena, fn->name, args, nargs, &key)) != COCO_OK) {
            coco__frame_pop(ctx);
            return coco_ctx_fail(ctx, rc, "arguments of %s cannot be encoded at %s: %s",
                                 fn->name, coco_ctx_path(ctx), coco_arena_errmsg(ctx->arena));
        }
        if (coco__memo_hit(ctx, fn, f, args, nargs, key, ret, &rc)) {
            coco__frame_pop(ctx);
            return rc;
        }
        if ((rc = coco__states_now(ctx, args, nargs, &call_states)) != COCO_OK) {
            coco__frame_pop(ctx);
            return rc;
        }
        ctx->in_memo++;
    }
    decl0 = COCO__VLEN(ctx->decls, coco__decl);
    COCO__STAT(run, fn->name, started);
    rc = coco__call_body(ctx, reg, args, nargs, ret);
    COCO__STAT(run, fn->name, finished);
    if (fn->memo) {
        ctx->in_memo--;
        if (rc == COCO_OK)
            rc = coco__memo_record(ctx, key, coco__deps_val(ctx->arena, f), ret, decl0,
                                   call_states);
    }
    if (rc != COCO_OK) COCO__STAT(run, fn->name, errors);
    coco__frame_pop(ctx);
    return rc;
}

/* coco_map_call of a batched function: every call that misses the memo is queued at once, so
   they travel in as few batches as the batch size allows (one HTTP request for a document's
   chunks), then each gets its memo entry as coco_call would have made it. */
COCO__PRIVATE coco_result coco__map_call_batched(coco_ctx* ctx, const coco_fn* fn,
                                                 coco__fnreg* reg, const coco_value* items,
                                                 size_t n, coco_value* rets) {
    coco__run* run = ctx->run;
    coco_env* env = run->env;
    size_t* miss = (size_t*)coco_arena_alloc(ctx->arena, n * sizeof *miss);
    coco_fp* keys = (coco_fp*)coco_arena_alloc(ctx->arena, n * sizeof *keys);
    coco_value* deps = (coco_value*)coco_arena_alloc(ctx->arena, n * sizeof *deps);
    coco_value* states = (coco_value*)coco_arena_alloc(ctx->arena, n * sizeof *states);
    coco__breq* reqs = (coco__breq*)coco_arena_alloc(ctx->arena, n * sizeof *reqs);
    size_t nmiss = 0, i, pending;
    coco_result rc = COCO_OK, first = COCO_OK;
    if (!miss || !keys || !deps || !states || !reqs) return COCO_ERR_NOMEM;
    /* 1: memo lookups, in order, each in its own frame as coco_call does */
    for (i = 0; i < n; i++) {
        coco__frame* f = coco__frame_push(ctx, fn->logic_tracking);
        if (!f) return COCO_ERR_NOMEM;
        if (f->tracking != COCO_TRACK_NONE) coco__frame_add(f, 0, reg->name, reg->logic);
        states[i] = coco_null();
        if (fn->memo) {
            if ((rc = coco__args_fp(ctx->arena, fn->name, &items[i], 1, &keys[i])) != COCO_OK) {
                coco__frame_pop(ctx);
                return coco_ctx_fail(ctx, rc, "arguments of %s cannot be encoded at %s: %s",
                                     fn->name, coco_ctx_path(ctx),
                                     coco_arena_errmsg(ctx->arena));
            }
            if (coco__memo_hit(ctx, fn, f, &items[i], 1, keys[i], &rets[i], &rc)) {
                coco__frame_pop(ctx);
                if (rc != COCO_OK) return rc;
                continue;
            }
            if ((rc = coco__states_now(ctx, &items[i], 1, &states[i])) != COCO_OK) {
                coco__frame_pop(ctx);
                return rc;
            }
            deps[i] = coco__deps_val(ctx->arena, f);
        }
        coco__frame_pop(ctx);
        miss[nmiss++] = i;
        COCO__STAT(run, fn->name, started);
    }
    if (!nmiss) return COCO_OK;
    /* 2: queue every miss, then lead batches until all are answered */
    memset(reqs, 0, nmiss * sizeof *reqs);
    coco__mutex_lock(&reg->m);
    for (i = 0; i < nmiss; i++) {
        reqs[i].arg = &items[miss[i]];
        if (reg->tail) reg->tail->next = &reqs[i]; else reg->head = &reqs[i];
        reg->tail = &reqs[i];
    }
    for (;;) {
        for (pending = 0, i = 0; i < nmiss; i++) pending += !reqs[i].done;
        if (!pending) break;
        if (!reg->running) coco__batch_run(env, reg);
        else coco__cond_wait(&reg->cv, &reg->m);
    }
    coco__mutex_unlock(&reg->m);
    /* 3: results and memo entries; every batch's arena is released by its last reader */
    for (i = 0; i < nmiss; i++) {
        coco__breq* q = &reqs[i];
        size_t at = miss[i];
        COCO__STAT(run, fn->name, finished);
        rc = q->rc;
        if (rc == COCO_OK) rc = coco_value_copy(ctx->arena, &q->ret, &rets[at]);
        if (rc == COCO_OK && fn->memo)
            rc = coco__memo_record(ctx, keys[at], deps[at], &rets[at],
                                   COCO__VLEN(ctx->decls, coco__decl), states[at]);
        if (rc != COCO_OK) {
            COCO__STAT(run, fn->name, errors);
            if (first == COCO_OK) {
                first = rc;
                coco_ctx_fail(ctx, rc, "batched function '%s' failed at %s: %s", reg->name,
                              coco_ctx_path(ctx), q->err[0] ? q->err : coco_result_str(rc));
            }
        }
        if (q->batch) {
            int last;
            coco__mutex_lock(&reg->m);
            last = --q->batch->readers == 0;
            coco__mutex_unlock(&reg->m);
            if (last) {
                coco_arena_destroy(q->batch->arena);
                coco__free(&env->a, q->batch, sizeof *q->batch);
            }
        }
    }
    return first;
}

COCO_API coco_result coco_map_call(coco_ctx* ctx, const coco_fn* fn, const coco_value* items,
                                   size_t n, coco_value* rets) {
    size_t i;
    coco_result rc = COCO_OK;
    coco__fnreg* reg;
    if (!ctx || !fn || (n && (!items || !rets))) return COCO_ERR_INVALID_ARG;
    if (!(reg = coco__fn_reg(ctx->run->env, fn, &rc)))
        return coco_ctx_fail(ctx, rc, "%s", ctx->run->env->err);
    if (reg->batch && n > 1) return coco__map_call_batched(ctx, fn, reg, items, n, rets);
    for (i = 0; i < n; i++)
        if ((rc = coco_call(ctx, fn, &items[i], 1, &rets[i])) != COCO_OK) return rc;
    return COCO_OK;
}

/* ---- end of run: tombstones ----------------------------------------------------------------- */
typedef struct coco__tomb {
    coco_bytes   key;
    coco_target* t;
    coco_value   tkey;
    coco_bytes*  poss;
    size_t       nposs;
} coco__tomb;

typedef struct coco__tomb_scan {
    coco__run* run;
    coco__buf* out;
    coco_result rc;
    size_t     kept;              /* tombstones left for a later run (no target registered) */
} coco__tomb_scan;

COCO__PRIVATE int coco__tomb_collect(void* user, coco_bytes k, coco_bytes v) {
    coco__tomb_scan* ts = (coco__tomb_scan*)user;
    coco_arena* ar = ts->run->batch_arena;
    coco__tomb tb;
    coco_value tv;
    unsigned char* kc = (unsigned char*)coco_arena_alloc(ar, k.len);
    int pend;
    coco_value fake[5];
    coco_value fl;
    if (!kc) { ts->rc = COCO_ERR_NOMEM; return 1; }
    memcpy(kc, k.ptr, k.len);
    memset(&tb, 0, sizeof tb);
    tb.key.ptr = kc;
    tb.key.len = k.len;
    if ((ts->rc = coco_value_decode(ar, v.ptr, v.len, &tv)) == COCO_ERR_NOMEM) return 1;
    if (ts->rc != COCO_OK || coco__list_len(&tv) != 3 || tv.u.list.items[0].kind != COCO_STR) {
        ts->rc = COCO_ERR_CORRUPT;
        coco__fmt(ts->run->app->err, sizeof ts->run->app->err, "malformed tombstone record in "
                 "app '%s': %s", ts->run->app->name, coco_arena_errmsg(ar));
        return 1;
    }
    tb.t = coco__target_find(ts->run->env, tv.u.list.items[0].u.s.ptr, tv.u.list.items[0].u.s.len);
    tb.tkey = tv.u.list.items[1];
    fake[0] = tv.u.list.items[0];
    fake[1] = tv.u.list.items[1];
    fake[2] = coco_null();
    fake[3] = coco_bool(0);
    fake[4] = tv.u.list.items[2];
    fl = coco_list(fake, 5);
    tb.nposs = coco__possible(ar, &fl, &tb.poss, &pend);
    if (!tb.poss) { ts->rc = COCO_ERR_NOMEM; return 1; }
    if (!tb.t) {
        char msg[COCO__ERRMSG_CAP];
        coco__fmt(msg, sizeof msg, "a target state of connector '%.*s' must be deleted, but no "
                 "target is registered under that name; kept for a later run",
                 (int)tv.u.list.items[0].u.s.len, tv.u.list.items[0].u.s.ptr);
        coco__report(ts->run, "(cleanup)", "-", COCO_ERR_NOT_FOUND, msg);
        ts->kept++;
        return 0;
    }
    if (!coco__vpush(ts->out, &tb, sizeof tb)) { ts->rc = COCO_ERR_NOMEM; return 1; }
    return 0;
}

/* Adds the target states of this run's memo-hit components to the declared set (only needed
   when there are tombstones to check against it). */
COCO__PRIVATE coco_result coco__declare_hits(coco__run* run) {
    coco_arena* ar;
    size_t i, j, n = COCO__VLEN(run->hits, coco_fp);
    coco_result rc = COCO_OK;
    if (!n) return COCO_OK;
    if ((rc = coco_arena_create(&run->env->a, &ar)) != COCO_OK) return rc;
    for (i = 0; i < n && rc == COCO_OK; i++) {
        coco_fp pf = COCO__VAT(run->hits, coco_fp, i);
        coco_bytes k = coco__app_key(ar, run->app, 'c', &pf), raw;
        coco_value rec;
        const coco_value* t;
        if (!k.len) { rc = COCO_ERR_NOMEM; break; }
        rc = coco_store_get(run->env->store, k.ptr, k.len, ar, &raw);
        if (rc == COCO_ERR_NOT_FOUND) { rc = COCO_OK; continue; }
        if (rc != COCO_OK || (rc = coco_value_decode(ar, raw.ptr, raw.len, &rec)) != COCO_OK)
            break;   /* a state left out of the set could be deleted while still owned */
        t = coco__field(&rec, "t");
        for (j = 0; j < coco__list_len(t) && rc == COCO_OK; j++) {
            const coco_value* e = coco__list_at(t, j);
            coco_fp tk;
            char* tname;
            if (!coco__tstate_ok(e)) continue;
            tname = coco_arena_strndup(ar, e->u.list.items[0].u.s.ptr, e->u.list.items[0].u.s.len);
            if (!tname || coco__tk_fp(ar, tname, &e->u.list.items[1], &tk) != COCO_OK ||
                coco__declared_add(run, tk))
                rc = COCO_ERR_NOMEM;
        }
        coco_arena_reset(ar);
    }
    run->hits.len = 0;
    coco_arena_destroy(ar);
    return rc;
}

/* Deletes every target state in the app's tombstones that nobody declared in this run. */
/* The app's marker P `tag` (P 'l': link journal entries may exist, P 'y': tombstones may
   exist): 0 or 1, or -1 when absent (a store from before them). */
COCO__PRIVATE coco_result coco__marker_get(coco__run* run, char tag, int* out) {
    coco_bytes k = coco__app_key(run->batch_arena, run->app, tag, NULL), v;
    coco_result rc;
    *out = -1;
    if (!k.len) return COCO_ERR_NOMEM;
    rc = coco_store_get(run->env->store, k.ptr, k.len, run->batch_arena, &v);
    if (rc == COCO_ERR_NOT_FOUND) return COCO_OK;
    if (rc != COCO_OK) return rc;
    *out = v.len == 1 && ((const unsigned char*)v.ptr)[0] == 0x00 ? 0 : 1;
    return COCO_OK;
}
COCO__PRIVATE coco_result coco__marker_put(coco_txn* t, coco__run* run, char tag, int on) {
    static const unsigned char zero = 0x00, one = 0x01;
    coco_bytes k = coco__app_key(run->batch_arena, run->app, tag, NULL);
    if (!k.len) return COCO_ERR_NOMEM;
    return coco_txn_put(t, k.ptr, k.len, on ? &one : &zero, 1);
}
/* P `tag` = 0 in a commit of its own (nothing left for the pass it spares). */
COCO__PRIVATE coco_result coco__marker_clear(coco__run* run, char tag) {
    coco_txn* t;
    coco_result rc;
    if ((rc = coco_store_txn_begin(run->env->store, &t)) != COCO_OK) return rc;
    if ((rc = coco__marker_put(t, run, tag, 0)) != COCO_OK) { coco_txn_abort(t); return rc; }
    if ((rc = coco_txn_commit(t)) == COCO_OK) run->commits++;
    return rc;
}

COCO__PRIVATE coco_result coco__process_tombstones(coco__run* run) {
    coco__buf tombs, acts;
    coco__tomb_scan ts;
    coco_scan_desc sd;
    coco_bytes prefix = coco__app_key(run->batch_arena, run->app, 'z', NULL);
    coco_txn* t;
    size_t i, n;
    coco_result rc = COCO_OK;
    int marker = 1, all_done = 1;
    if (!prefix.len) return COCO_ERR_NOMEM;   /* an empty prefix would match every key */
    /* P 'y' = 0: no tombstone anywhere, no scan of the whole index */
    if (run->app->tombs_none) return COCO_OK;
    if (!run->app->tombs_marked && (rc = coco__marker_get(run, 'y', &marker)) != COCO_OK)
        return rc;
    if (marker == 0) { run->app->tombs_none = 1; return COCO_OK; }
    coco__buf_init(&tombs, &run->env->a);
    coco__buf_init(&acts, &run->env->a);
    memset(&sd, 0, sizeof sd);
    sd.prefix = prefix;
    ts.run = run; ts.out = &tombs; ts.rc = COCO_OK; ts.kept = 0;
    if ((rc = coco_store_scan(run->env->store, &sd, coco__tomb_collect, &ts)) != COCO_OK) goto out;
    if ((rc = ts.rc) != COCO_OK) goto out;
    n = COCO__VLEN(tombs, coco__tomb);
    if (ts.kept) all_done = 0;
    if (!n) {
        if (!all_done || marker == 0) goto out;
        if ((rc = coco__marker_clear(run, 'y')) == COCO_OK) {
            run->app->tombs_none = 1;
            run->app->tombs_marked = 0;
        }
        goto out;
    }
    if (run->hits_lost) { rc = COCO_ERR_NOMEM; goto out; }   /* retried next run */
    if ((rc = coco__declare_hits(run)) != COCO_OK) goto out;
    {
        /* states inside containers go before their containers: deepest target names first */
        coco__tomb* tv = (coco__tomb*)(void*)tombs.ptr;
        size_t a, b;
        for (a = 1; a < n; a++) {
            coco__tomb x = tv[a];
            size_t dx = 0, k;
            for (k = 0; x.t->name[k]; k++) dx += x.t->name[k] == '/';
            for (b = a; b > 0; b--) {
                size_t db = 0;
                for (k = 0; tv[b - 1].t->name[k]; k++) db += tv[b - 1].t->name[k] == '/';
                if (db >= dx) break;
                tv[b] = tv[b - 1];
            }
            tv[b] = x;
        }
    }
    for (i = 0; i < n; i++) {
        coco__tomb* tb = &COCO__VAT(tombs, coco__tomb, i);
        coco_fp tk;
        coco__act a;
        memcpy(tk.bytes, (const unsigned char*)tb->key.ptr + tb->key.len - 16, 16);
        if (coco__declared_has(run, tk)) continue;   /* owned elsewhere now: no delete */
        rc = coco__reconcile(tb->t, run->batch_arena, &tb->tkey, NULL, tb->poss, tb->nposs, 0,
                             &a.a);
        a.a.prev = tb->poss;
        a.a.nprev = tb->nposs;
        if (rc != COCO_OK) goto out;
        a.t = tb->t;
        a.sub = i;
        if (a.a.kind != COCO_ACTION_NONE && !coco__vpush(&acts, &a, sizeof a)) {
            rc = COCO_ERR_NOMEM;
            goto out;
        }
    }
    {
        /* apply target by target; a failed target keeps its tombstones */
        coco__sub* fake = (coco__sub*)coco_arena_alloc(run->batch_arena, n * sizeof *fake);
        const char** paths = (const char**)coco_arena_alloc(run->batch_arena, n * sizeof *paths);
        if (!fake || !paths) { rc = COCO_ERR_NOMEM; goto out; }
        memset(fake, 0, n * sizeof *fake);
        for (i = 0; i < n; i++) paths[i] = "(cleanup of a removed target state)";
        coco__apply_acts(run, (coco__act*)(void*)acts.ptr, COCO__VLEN(acts, coco__act), fake,
                         paths);
        if ((rc = coco_store_txn_begin(run->env->store, &t)) != COCO_OK) goto out;
        for (i = 0; i < n && rc == COCO_OK; i++) {
            coco__tomb* tb = &COCO__VAT(tombs, coco__tomb, i);
            if (fake[i].failed) { all_done = 0; continue; }
            rc = coco_txn_del(t, tb->key.ptr, tb->key.len);
        }
        /* the last tombstones go with this commit: P 'y' = 0 */
        if (rc == COCO_OK && all_done) rc = coco__marker_put(t, run, 'y', 0);
        if (rc != COCO_OK) { coco_txn_abort(t); goto out; }
        if ((rc = coco_txn_commit(t)) != COCO_OK) goto out;
        run->commits++;
        if (all_done) { run->app->tombs_none = 1; run->app->tombs_marked = 0; }
        for (i = 0; i < n; i++) if (fake[i].failed) { rc = COCO_ERR_CONNECTOR; break; }
    }
out:
    coco__buf_free(&tombs);
    coco__buf_free(&acts);
    return rc;
}

/* ---- the link journal ------------------------------------------------------------------------
   Children finish first, so a new component's record (and its target states) commit before the
   record of its parent that lists it.  If the parent's commit never comes (a crash in between,
   or a parent that failed), no parent lists the component and no cleanup would ever find it.
   Each batch's first commit therefore journals its new components as (component, parent) pairs
   under P "o" <id>.  A run that ends clean deletes the entries; entries left by earlier runs are
   settled first: a component its parent's record does not list is removed like an unmounted
   child (tombstones for its subtree).  A run that is not clean keeps every entry. */
typedef struct coco__link_scan {
    coco__run*  run;
    coco__buf*  out;              /* coco_bytes[] pairs (key, value), copies in batch_arena */
    coco_result rc;
} coco__link_scan;

COCO__PRIVATE int coco__link_collect(void* user, coco_bytes k, coco_bytes v) {
    coco__link_scan* ls = (coco__link_scan*)user;
    coco_bytes kv[2];
    void* kc = coco_arena_alloc(ls->run->batch_arena, k.len);
    void* vc = coco_arena_alloc(ls->run->batch_arena, v.len ? v.len : 1);
    if (!kc || !vc) { ls->rc = COCO_ERR_NOMEM; return 1; }
    memcpy(kc, k.ptr, k.len);
    if (v.len) memcpy(vc, v.ptr, v.len);
    kv[0].ptr = kc; kv[0].len = k.len;
    kv[1].ptr = vc; kv[1].len = v.len;
    if (!coco__vpush(ls->out, kv, sizeof kv)) { ls->rc = COCO_ERR_NOMEM; return 1; }
    return 0;
}

/* 1 when the record at `parent` lists `kid` among its children, 0 when not (or no record) */
COCO__PRIVATE coco_result coco__rec_lists(coco__run* run, coco_fp parent, coco_fp kid, int* yes) {
    coco_arena* ar = run->batch_arena;
    coco_bytes key = coco__app_key(ar, run->app, 'c', &parent), raw;
    coco_value rec;
    const coco_value* c;
    coco_result rc;
    size_t i;
    *yes = 0;
    if (!key.len) return COCO_ERR_NOMEM;
    rc = coco_store_get(run->env->store, key.ptr, key.len, ar, &raw);
    if (rc == COCO_ERR_NOT_FOUND) return COCO_OK;
    if (rc != COCO_OK) return rc;
    if ((rc = coco_value_decode(ar, raw.ptr, raw.len, &rec)) != COCO_OK) return rc;
    c = coco__field(&rec, "c");
    for (i = 0; i < coco__list_len(c) && !*yes; i++) {
        coco_fp f = coco__val_fp_bytes(coco__list_at(c, i));
        *yes = memcmp(f.bytes, kid.bytes, 16) == 0;
    }
    return COCO_OK;
}

COCO__PRIVATE int coco__link_is_own(const coco__run* run, const coco_bytes* key) {
    size_t i, n = COCO__VLEN(run->links, coco_fp);
    const unsigned char* id = (const unsigned char*)key->ptr + key->len - 16;
    for (i = 0; i < n; i++)
        if (memcmp(COCO__VAT(run->links, coco_fp, i).bytes, id, 16) == 0) return 1;
    return 0;
}

/* At the end of a run, after its last flush; `clean`: every component ran or was kept and
   every commit and apply succeeded.  Adds tombstones (run->kvs, committed here) that the
   tombstone pass then deletes. */
COCO__PRIVATE coco_result coco__links_settle(coco__run* run, int clean) {
    coco_app* app = run->app;
    coco_arena* ar = run->batch_arena;
    coco__buf ents;
    coco_txn* t;
    coco_result rc = COCO_OK;
    size_t i, j, n;
    if (!clean) {
        if (COCO__VLEN(run->links, coco_fp)) app->links_settled = 0;
        return COCO_OK;
    }
    coco__buf_init(&ents, &run->env->a);
    if (!app->links_settled && !COCO__VLEN(run->links, coco_fp)) {
        /* P 'l' says whether journal entries may exist: 0 (none) spares the scan of the
           whole index; absent (a store from before it) or 1: scan */
        coco_bytes mk = coco__app_key(ar, app, 'l', NULL), mv;
        if (!mk.len) { rc = COCO_ERR_NOMEM; goto out; }
        rc = coco_store_get(run->env->store, mk.ptr, mk.len, ar, &mv);
        if (rc == COCO_OK && mv.len == 1 && ((const unsigned char*)mv.ptr)[0] == 0x00) {
            app->links_settled = 1;
            goto out;
        }
        if (rc != COCO_OK && rc != COCO_ERR_NOT_FOUND) goto out;
        rc = COCO_OK;
        app->links_marked = 1;     /* absent or 1: the scan settles, and P 'l' = 0 after */
    }
    if (!app->links_settled) {
        coco__link_scan ls;
        coco_scan_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.prefix = coco__app_key(ar, app, 'o', NULL);
        if (!sd.prefix.len) { rc = COCO_ERR_NOMEM; goto out; }
        ls.run = run; ls.out = &ents; ls.rc = COCO_OK;
        if ((rc = coco_store_scan(run->env->store, &sd, coco__link_collect, &ls)) != COCO_OK ||
            (rc = ls.rc) != COCO_OK)
            goto out;
    } else {
        for (i = 0; i < COCO__VLEN(run->links, coco_fp); i++) {
            coco_bytes kv[2];
            kv[0] = coco__app_key(ar, app, 'o', &COCO__VAT(run->links, coco_fp, i));
            kv[1].ptr = NULL; kv[1].len = 0;
            if (!kv[0].len || !coco__vpush(&ents, kv, sizeof kv)) { rc = COCO_ERR_NOMEM; goto out; }
        }
    }
    n = COCO__VLEN(ents, coco_bytes) / 2;
    if (!n && !app->links_marked) { app->links_settled = 1; goto out; }   /* nothing to write */
    run->kvs.len = 0;
    for (i = 0; i < n && rc == COCO_OK; i++) {
        const coco_bytes* kv = &COCO__VAT(ents, coco_bytes, 2 * i);
        const unsigned char* p;
        coco_value pv;
        if (coco__link_is_own(run, &kv[0])) continue;   /* this clean run linked them */
        if ((rc = coco_value_decode(ar, kv[1].ptr, kv[1].len, &pv)) == COCO_ERR_NOMEM) break;
        if (rc != COCO_OK || pv.kind != COCO_BYTES || pv.u.s.len % 32) {
            coco__fmt(app->err, sizeof app->err, "malformed link record in app '%s'", app->name);
            rc = COCO_ERR_CORRUPT;
            break;
        }
        p = (const unsigned char*)pv.u.s.ptr;
        for (j = 0; j + 32 <= pv.u.s.len && rc == COCO_OK; j += 32) {
            coco_fp kid, parent;
            int listed;
            memcpy(kid.bytes, p + j, 16);
            memcpy(parent.bytes, p + j + 16, 16);
            if ((rc = coco__rec_lists(run, parent, kid, &listed)) == COCO_OK && !listed)
                rc = coco__collect_removed(run, kid, 0);
        }
    }
    if (rc != COCO_OK) goto out;
    if ((rc = coco_store_txn_begin(run->env->store, &t)) != COCO_OK) goto out;
    rc = coco__txn_kvs(run, t, (coco__kv*)(void*)run->kvs.ptr, COCO__VLEN(run->kvs, coco__kv));
    for (i = 0; i < n && rc == COCO_OK; i++) {
        const coco_bytes* k = &COCO__VAT(ents, coco_bytes, 2 * i);
        rc = coco_txn_del(t, k->ptr, k->len);
    }
    if (rc == COCO_OK) {   /* every entry is gone with this commit: P 'l' = 0 */
        static const unsigned char zero = 0x00;
        coco_bytes mk = coco__app_key(ar, app, 'l', NULL);
        rc = mk.len ? coco_txn_put(t, mk.ptr, mk.len, &zero, 1) : COCO_ERR_NOMEM;
    }
    if (rc != COCO_OK) { coco_txn_abort(t); run->tombs_mark = 0; goto out; }
    if ((rc = coco_txn_commit(t)) != COCO_OK) { run->tombs_mark = 0; goto out; }
    coco__tombs_marked(run);
    run->commits++;
    app->links_settled = 1;
    app->links_marked = 0;
out:
    run->kvs.len = 0;
    coco__buf_free(&ents);
    return rc;
}

/* ---- live mode ------------------------------------------------------------------------------ */
struct coco_live {
    coco_app*          app;
    coco_arena*        arena;
    coco_value         path;          /* the live component (or the refreshed child) */
    coco_fp            pathfp;
    const coco_fn*     each;          /* coco_mount_live: the per-item function */
    const coco_fn*     fn;            /* coco_mount_refresh: the refreshed function */
    coco_value*        args;
    size_t             nargs;
    uint32_t           interval_ms;
    coco_live_watch_fn watch;
    void*              user;
    void             (*user_free)(void* user);
    coco_live_resolve_fn resolve;
    void*              resolve_user;
    coco__thread       thread;
    int                started;
    struct coco_live*  next;
};

typedef struct coco__live_ev {
    coco_live*  live;
    int         kind;                 /* 1 update, 2 delete, 3 full pass, 4 re-run */
    coco_fp     keyfp;
    coco_value  key, item;
    coco_arena* ar;
} coco__live_ev;

typedef struct coco__live_closure {
    const coco_fn*     each;
    const coco_value*  keys;
    const coco_value*  items;
    size_t             n;
    int                partial;       /* keep the children not among the items */
} coco__live_closure;

typedef struct coco__totals { uint64_t upserts, deletes, commits, apply_errors; } coco__totals;

COCO__PRIVATE coco_result coco__closure_key(const void* obj, coco_arena* ar, coco_value* out) {
    (void)ar;
    *out = coco_str(((const coco__live_closure*)obj)->each->name);
    return COCO_OK;
}
static const coco_object_vtable coco__closure_vt = { "coco.live", coco__closure_key, NULL };

/* child path  ctx->path + suffix  and its fingerprint, in `ar` */
COCO__PRIVATE coco_result coco__path_join(coco_arena* ar, const coco_value* base,
                                          const coco_value* suffix, size_t nsuffix,
                                          coco_value* path, coco_fp* pf) {
    size_t n = coco__list_len(base), i;
    coco_value* items = (coco_value*)coco_arena_alloc(ar, (n + nsuffix) * sizeof *items);
    if (!items) return COCO_ERR_NOMEM;
    for (i = 0; i < n; i++) items[i] = base->u.list.items[i];
    for (i = 0; i < nsuffix; i++) items[n + i] = suffix[i];
    *path = coco_list(items, n + nsuffix);
    return coco_value_fp(ar, path, pf);
}

/* Registers a live source found during a live update's pass (once per path).  A `user` that
   is not kept (the path is already registered, or an error) is given to `user_free` now. */
COCO__PRIVATE coco_result coco__live_register(coco_app* app, const coco_value* path, coco_fp pf,
                                              const coco_fn* each, const coco_fn* fn,
                                              const coco_value* args, size_t nargs,
                                              uint32_t interval, coco_live_watch_fn watch,
                                              void* user, void (*user_free)(void*)) {
    coco_live* l;
    coco_result rc = COCO_OK;
    int kept = 0;
    size_t i;
    coco__mutex_lock(&app->live_m);
    for (l = app->lives; l; l = l->next)
        if (coco_fp_eq(l->pathfp, pf)) break;
    if (!l) {
        l = (coco_live*)coco__alloc(&app->env->a, sizeof *l);
        if (!l) rc = COCO_ERR_NOMEM;
        else {
            memset(l, 0, sizeof *l);
            if ((rc = coco_arena_create(&app->env->a, &l->arena)) == COCO_OK)
                rc = coco_value_copy(l->arena, path, &l->path);
            if (rc == COCO_OK && nargs) {
                l->args = (coco_value*)coco_arena_alloc(l->arena, nargs * sizeof *l->args);
                if (!l->args) rc = COCO_ERR_NOMEM;
                for (i = 0; i < nargs && rc == COCO_OK; i++)
                    rc = coco_value_copy(l->arena, &args[i], &l->args[i]);
            }
            if (rc != COCO_OK) {
                coco_arena_destroy(l->arena);
                coco__free(&app->env->a, l, sizeof *l);
            } else {
                l->app = app; l->pathfp = pf; l->each = each; l->fn = fn; l->nargs = nargs;
                l->interval_ms = interval; l->watch = watch; l->user = user;
                l->user_free = user_free;
                l->next = app->lives;
                app->lives = l;
                kept = 1;
            }
        }
    }
    coco__mutex_unlock(&app->live_m);
    if (!kept && user_free && user) user_free(user);
    return rc;
}

/* Forgets every live source (their watchers have returned or never started). */
COCO__PRIVATE void coco__lives_free(coco_app* app) {
    while (app->lives) {
        coco_live* l = app->lives;
        app->lives = l->next;
        if (l->user_free && l->user) l->user_free(l->user);
        coco_arena_destroy(l->arena);
        coco__free(&app->env->a, l, sizeof *l);
    }
}

/* A partial listing: the children the component had and did not mount in this run stay
   listed (so they are neither deleted nor orphaned), and it keeps no memo. */
COCO__PRIVATE coco_result coco__keep_unmounted_kids(coco_ctx* ctx) {
    const coco_value* old_c = coco__field(ctx->old, "c");
    size_t i, n = coco__list_len(old_c);
    ctx->no_memo = 1;
    for (i = 0; i < n; i++) {
        coco_fp f = coco__val_fp_bytes(coco__list_at(old_c, i));
        coco__fpset_eq eq;
        coco__map_slot* s;
        if (coco__map_reserve1(&ctx->kid_set)) return COCO_ERR_NOMEM;
        eq.arr = (const coco_fp*)(void*)ctx->kids.ptr;
        eq.f = f;
        s = coco__map_find(&ctx->kid_set, coco__fp_hash(f), coco__fpset_eqfn, &eq);
        if (s->val) continue;                      /* mounted again this run */
        if (!coco__vpush(&ctx->kids, &f, sizeof f)) return COCO_ERR_NOMEM;
        s->hash = coco__fp_hash(f);
        s->val = COCO__VLEN(ctx->kids, coco_fp);
        ctx->kid_set.count++;
    }
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__live_body(coco_ctx* ctx, const coco_value* args, size_t nargs,
                                          coco_value* ret) {
    const coco__live_closure* c = (const coco__live_closure*)args[0].u.obj.obj;
    coco_result rc;
    (void)nargs; (void)ret;
    if ((rc = coco_mount_each(ctx, c->each, c->keys, c->items, c->n)) != COCO_OK) return rc;
    return c->partial ? coco__keep_unmounted_kids(ctx) : COCO_OK;
}
static const coco_fn coco__live_fn = { "coco.live", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL,
                                       coco__live_body };

/* The live component: its children mounted like coco_mount_each's. */
COCO__PRIVATE coco_result coco__mount_live_kids(coco_ctx* ctx, coco_value key, const coco_fn* each,
                                                const coco_value* keys, const coco_value* items,
                                                size_t n, int partial, int borrow) {
    coco__live_closure* c;
    coco_value* kc = NULL;
    coco_value* ic = NULL;
    coco_value arg;
    size_t i;
    coco_result rc;
    if (!(c = (coco__live_closure*)coco_arena_alloc(ctx->arena, sizeof *c))) return COCO_ERR_NOMEM;
    if (!borrow) {
        kc = (coco_value*)coco_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *kc);
        ic = (coco_value*)coco_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *ic);
        if (!kc || !ic) return COCO_ERR_NOMEM;
        for (i = 0; i < n; i++) {
            if ((rc = coco_value_copy(ctx->arena, &keys[i], &kc[i])) != COCO_OK) return rc;
            if ((rc = coco_value_copy(ctx->arena, &items[i], &ic[i])) != COCO_OK) return rc;
        }
    }
    c->each = each; c->n = n; c->partial = partial;
    c->keys = borrow ? keys : kc;
    c->items = borrow ? items : ic;
    arg = coco_object(&coco__closure_vt, c);
    return coco_mount(ctx, key, &coco__live_fn, &arg, 1);
}

COCO_API coco_result coco_mount_live_desc(coco_ctx* ctx, coco_value key, const coco_fn* each,
                                          const coco_value* keys, const coco_value* items,
                                          size_t n, const coco_live_desc* d) {
    coco_result rc;
    coco_value path;
    coco_fp pf;
    if (!ctx || !each || !d || !d->watch || (n && (!keys || !items))) rc = COCO_ERR_INVALID_ARG;
    else rc = coco__mount_live_kids(ctx, key, each, keys, items, n, d->partial, d->borrow);
    /* a live update watches the source from here on (the first mount of this path wins) */
    if (rc == COCO_OK && ctx->run->app->live_mode &&
        (rc = coco__path_join(ctx->arena, &ctx->path, &key, 1, &path, &pf)) == COCO_OK)
        return coco__live_register(ctx->run->app, &path, pf, each, NULL, NULL, 0, 0, d->watch,
                                   d->user, d->user_free);
    if (d && d->user_free && d->user) d->user_free(d->user);
    return rc;
}

COCO_API coco_result coco_mount_live(coco_ctx* ctx, coco_value key, const coco_fn* each,
                                     const coco_value* keys, const coco_value* items, size_t n,
                                     coco_live_watch_fn watch, void* user) {
    coco_live_desc d;
    memset(&d, 0, sizeof d);
    d.watch = watch;
    d.user = user;
    return coco_mount_live_desc(ctx, key, each, keys, items, n, &d);
}

COCO_API coco_result coco_mount_refresh(coco_ctx* ctx, coco_value key, const coco_fn* fn,
                                        const coco_value* args, size_t nargs,
                                        uint32_t interval_ms) {
    coco_result rc;
    coco_value path;
    coco_fp pf;
    if (!ctx || !fn) return COCO_ERR_INVALID_ARG;
    /* the first pass is applied before returning, so a refreshed producer (e.g. of a
       LiveMap) has filled its targets before its consumers are mounted */
    if ((rc = coco_use_mount(ctx, key, fn, args, nargs, NULL)) != COCO_OK) return rc;
    if (!ctx->run->app->live_mode) return COCO_OK;
    if ((rc = coco__path_join(ctx->arena, &ctx->path, &key, 1, &path, &pf)) != COCO_OK) return rc;
    return coco__live_register(ctx->run->app, &path, pf, NULL, fn, args, nargs,
                               interval_ms ? interval_ms : 1000u, NULL, NULL, NULL);
}

COCO__PRIVATE coco_result coco__live_push(coco_live* live, int kind, const coco_value* key,
                                          const coco_value* item) {
    coco_app* app;
    coco__live_ev* ev;
    coco_result rc = COCO_OK;
    size_t i, n;
    if (!live) return COCO_ERR_INVALID_ARG;
    app = live->app;
    if (key && !coco__is_key_kind(key, 0)) return COCO_ERR_INVALID_ARG;
    if (!(ev = (coco__live_ev*)coco__alloc(&app->env->a, sizeof *ev))) return COCO_ERR_NOMEM;
    memset(ev, 0, sizeof *ev);
    ev->live = live;
    ev->kind = kind;
    if ((rc = coco_arena_create(&app->env->a, &ev->ar)) == COCO_OK && key) {
        rc = coco_value_copy(ev->ar, key, &ev->key);
        if (rc == COCO_OK) rc = coco_value_fp(ev->ar, key, &ev->keyfp);
        if (rc == COCO_OK && item) rc = coco_value_copy(ev->ar, item, &ev->item);
    }
    if (rc != COCO_OK) {
        coco_arena_destroy(ev->ar);
        coco__free(&app->env->a, ev, sizeof *ev);
        return rc;
    }
    coco__mutex_lock(&app->live_m);
    n = COCO__VLEN(app->events, coco__live_ev*);
    for (i = 0; i < n && key; i++) {
        /* coalesce: the latest change of a key wins */
        coco__live_ev* old = COCO__VAT(app->events, coco__live_ev*, i);
        if (old->live == live && (old->kind == 1 || old->kind == 2) &&
            coco_fp_eq(old->keyfp, ev->keyfp)) {
            coco_arena_destroy(old->ar);
            coco__free(&app->env->a, old, sizeof *old);
            COCO__VAT(app->events, coco__live_ev*, i) = ev;
            ev = NULL;
            break;
        }
    }
    if (ev && !coco__vpush(&app->events, &ev, sizeof ev)) {
        coco_arena_destroy(ev->ar);
        coco__free(&app->env->a, ev, sizeof *ev);
        rc = COCO_ERR_NOMEM;
    }
    coco__cond_broadcast(&app->live_cv);
    coco__mutex_unlock(&app->live_m);
    return rc;
}

COCO_API coco_result coco_live_update(coco_live* live, coco_value key, coco_value item) {
    return coco__live_push(live, 1, &key, &item);
}
COCO_API void coco_live_set_resolver(coco_live* live, coco_live_resolve_fn fn, void* user) {
    if (!live) return;
    coco__mutex_lock(&live->app->live_m);
    live->resolve = fn;
    live->resolve_user = user;
    coco__mutex_unlock(&live->app->live_m);
}
COCO_API int coco_ctx_live(coco_ctx* ctx) { return ctx ? ctx->run->app->live_mode : 0; }
COCO_API coco_env* coco_ctx_env(coco_ctx* ctx) { return ctx ? ctx->run->env : NULL; }
COCO_API coco_result coco_live_delete(coco_live* live, coco_value key) {
    return coco__live_push(live, 2, &key, NULL);
}
COCO_API coco_result coco_live_update_full(coco_live* live) {
    return coco__live_push(live, 3, NULL, NULL);
}
COCO_API int coco_live_stopping(coco_live* live) {
    int s;
    if (!live) return 1;
    coco__mutex_lock(&live->app->live_m);
    s = live->app->stop_req;
    coco__mutex_unlock(&live->app->live_m);
    return s;
}
COCO_API int coco_live_wait(coco_live* live, uint32_t ms) {
    int s;
    if (!live) return 1;
    coco__mutex_lock(&live->app->live_m);
    if (!live->app->stop_req) coco__cond_wait_ms(&live->app->live_cv, &live->app->live_m, ms);
    s = live->app->stop_req;
    coco__mutex_unlock(&live->app->live_m);
    return s;
}
COCO_API void coco_app_stop(coco_app* app) {
    if (!app) return;
    coco__mutex_lock(&app->live_m);
    app->stop_req = 1;
    coco__cond_broadcast(&app->live_cv);
    coco__mutex_unlock(&app->live_m);
}

/* the refresh "watcher": asks for a re-run every interval */
COCO__PRIVATE coco_result coco__refresh_watch(void* user, coco_live* live) {
    (void)user;
    while (!coco_live_wait(live, live->interval_ms))
        coco__live_push(live, 4, NULL, NULL);
    return COCO_OK;
}

#if COCO__HAS_THREADS
COCO__PRIVATE void* coco__live_thread(void* arg) {
    coco_live* l = (coco_live*)arg;
    coco_result rc = l->watch ? l->watch(l->user, l) : coco__refresh_watch(NULL, l);
    if (rc != COCO_OK) {
        coco_env* env = l->app->env;
        coco_error_info e;
        char* path = coco__render_path(l->arena, &l->path);
        e.app = l->app->name; e.path = path; e.fn = l->each ? l->each->name : l->fn->name;
        e.code = rc; e.msg = "live watcher failed";
        coco__mutex_lock(&l->app->live_m);
        if (env->on_error) env->on_error(env->on_error_user, &e);
        coco__emit(&env->lg, COCO_LOG_ERROR, rc, "live watcher failed", __FILE__, __LINE__);
        coco__mutex_unlock(&l->app->live_m);
    }
    return NULL;
}
#endif

COCO__PRIVATE void coco__live_start_watchers(coco_app* app) {
    coco_live* l;
    coco__mutex_lock(&app->live_m);
    for (l = app->lives; l; l = l->next) {
        if (l->started) continue;
#if COCO__HAS_THREADS
        if (coco__thread_start(&l->thread, coco__live_thread, l) == 0) l->started = 1;
#endif
    }
    coco__mutex_unlock(&app->live_m);
}

COCO__PRIVATE void coco__live_free_events(coco_app* app, coco__live_ev** evs, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        coco_arena_destroy(evs[i]->ar);
        coco__free(&app->env->a, evs[i], sizeof *evs[i]);
    }
}

/* The live component's children after the events: its record with "c" replaced.  Deleted
   children's subtrees become tombstones in the same commit. */
typedef struct coco__live_edit {
    coco_live*        live;
    const coco_value* rec;
    coco_bytes        raw;
    coco__buf         kids;      /* coco_fp[] */
    coco__buf         gone;      /* coco_fp[] */
} coco__live_edit;

COCO__PRIVATE coco__live_edit* coco__live_edit_for(coco__run* run, coco__buf* edits,
                                                   coco_live* l, coco_arena* ar) {
    size_t i, n = COCO__VLEN(*edits, coco__live_edit);
    coco__live_edit* e;
    coco_bytes key;
    coco_value* rec;
    const coco_value* c;
    for (i = 0; i < n; i++)
        if (COCO__VAT(*edits, coco__live_edit, i).live == l) return &COCO__VAT(*edits, coco__live_edit, i);
    if (!(e = (coco__live_edit*)coco__vpush(edits, NULL, sizeof *e))) return NULL;
    e->live = l;
    coco__buf_init(&e->kids, &run->env->a);
    coco__buf_init(&e->gone, &run->env->a);
    key = coco__app_key(ar, run->app, 'c', &l->pathfp);
    if (!key.len || !(rec = (coco_value*)coco_arena_alloc(ar, sizeof *rec))) return NULL;
    if (coco_store_get(run->env->store, key.ptr, key.len, ar, &e->raw) != COCO_OK ||
        coco_value_decode(ar, e->raw.ptr, e->raw.len, rec) != COCO_OK || rec->kind != COCO_MAP)
        return e;   /* no record: treated as no children */
    e->rec = rec;
    c = coco__field(rec, "c");
    for (i = 0; i < coco__list_len(c); i++) {
        coco_fp f = coco__val_fp_bytes(coco__list_at(c, i));
        if (!coco__vpush(&e->kids, &f, sizeof f)) return NULL;
    }
    return e;
}

COCO__PRIVATE void coco__fp_set(coco__buf* b, coco_fp f, int present) {
    size_t i, n = COCO__VLEN(*b, coco_fp);
    for (i = 0; i < n; i++)
        if (coco_fp_eq(COCO__VAT(*b, coco_fp, i), f)) {
            if (!present) {
                COCO__VAT(*b, coco_fp, i) = COCO__VAT(*b, coco_fp, n - 1);
                b->len -= sizeof f;
            }
            return;
        }
    if (present) coco__vpush(b, &f, sizeof f);
}

COCO__PRIVATE coco_result coco__catch_up(coco_app* app, int full, coco__totals* tot);
COCO__PRIVATE coco_result coco__run_init(coco__run* run, coco_app* app, int full);
COCO__PRIVATE void coco__run_free(coco__run* run);
COCO__PRIVATE coco_result coco__process_tombstones(coco__run* run);

/* Applies a drained batch of live events in one small run. */
COCO__PRIVATE coco_result coco__live_apply(coco_app* app, coco__live_ev** evs, size_t n,
                                           coco__totals* tot) {
    coco__run run;
    coco__buf edits;
    coco_arena* ar = NULL;
    coco_result rc;
    size_t i, j;
    for (i = 0; i < n; i++)
        if (evs[i]->kind == 3) return coco__catch_up(app, 0, tot);   /* a full pass covers all */
    if ((rc = coco__run_init(&run, app, 0)) != COCO_OK) { coco__run_free(&run); return rc; }
    coco__buf_init(&edits, &app->env->a);
    if ((rc = coco_arena_create(&app->env->a, &ar)) != COCO_OK) goto out;
    for (i = 0; i < n && rc == COCO_OK; i++) {
        coco__live_ev* ev = evs[i];
        coco_live* l = ev->live;
        if (ev->kind == 4) {
            coco__run_component(&run, NULL, &l->path, l->pathfp, l->fn, l->args, l->nargs, NULL,
                                NULL);
        } else {
            coco_value suffix[2], path;
            coco_fp pf;
            coco_live_resolve_fn rf;
            void* ru;
            coco__live_edit* e = coco__live_edit_for(&run, &edits, l, ar);
            if (!e) { rc = COCO_ERR_NOMEM; break; }
            suffix[0] = coco_symbol(l->each->name);
            suffix[1] = ev->key;
            if ((rc = coco__path_join(ar, &l->path, suffix, 2, &path, &pf)) != COCO_OK) break;
            coco__mutex_lock(&app->live_m);
            rf = l->resolve;
            ru = l->resolve_user;
            coco__mutex_unlock(&app->live_m);
            if (ev->kind == 1 && ev->item.kind == COCO_NULL && rf) {
                /* the latest state of the source decides: changed, or gone */
                coco_result r = rf(ru, &ev->key, ev->ar, &ev->item);
                if (r == COCO_ERR_NOT_FOUND) ev->kind = 2;
                else if (r != COCO_OK) {
                    char* where = coco__render_path(ar, &path);
                    coco__report(&run, where ? where : "?", l->each->name, r,
                                 "the live source could not describe this item");
                    continue;
                }
            }
            if (ev->kind == 1) {
                run.has_live_parent = 1;
                run.live_parent = l->pathfp;
                if (coco__run_component(&run, NULL, &path, pf, l->each, &ev->item, 1, NULL,
                                        NULL) == COCO_OK) {
                    coco__fp_set(&e->kids, pf, 1);
                    coco__fp_set(&e->gone, pf, 0);
                }
            } else {
                coco__fp_set(&e->kids, pf, 0);
                coco__fp_set(&e->gone, pf, 1);
            }
        }
    }
    coco__mutex_lock(&run.lock);
    for (i = 0; i < COCO__VLEN(edits, coco__live_edit) && rc == COCO_OK; i++) {
        coco__live_edit* e = &COCO__VAT(edits, coco__live_edit, i);
        coco__sub sub;
        size_t kv0 = COCO__VLEN(run.kvs, coco__kv), nf, k = 0;
        coco_map_entry* ents;
        coco_value m;
        if (!e->rec) continue;
        for (j = 0; j < COCO__VLEN(e->gone, coco_fp) && rc == COCO_OK; j++)
            rc = coco__collect_removed(&run, COCO__VAT(e->gone, coco_fp, j), 0);
        if (rc != COCO_OK) break;
        nf = e->rec->u.map.count;
        if (!(ents = (coco_map_entry*)coco_arena_alloc(run.batch_arena, (nf + 1) * sizeof *ents))) {
            rc = COCO_ERR_NOMEM;
            break;
        }
        for (j = 0; j < nf; j++) {
            const coco_map_entry* me = &e->rec->u.map.entries[j];
            if (me->key_len == 1 && me->key[0] == 'g') {
                /* the group memo of its children goes: some of them changed */
                rc = coco__kv_add(&run, coco__app_key(run.batch_arena, app, 'm', &e->live->pathfp),
                                  NULL);
                continue;
            }
            if (me->key_len == 1 && me->key[0] == 'c') continue;
            ents[k++] = *me;
        }
        if (rc != COCO_OK) break;
        ents[k].key = "c"; ents[k].key_len = 1;
        ents[k].val = coco__fp_list(run.batch_arena, (const coco_fp*)(void*)e->kids.ptr,
                                    COCO__VLEN(e->kids, coco_fp));
        k++;
        m = coco_map(ents, k);
        memset(&sub, 0, sizeof sub);
        if ((rc = coco_value_encode(run.batch_arena, &m, &sub.final_rec)) != COCO_OK) break;
        sub.rec_key = coco__app_key(run.batch_arena, app, 'c', &e->live->pathfp);
        if (!sub.rec_key.len) { rc = COCO_ERR_NOMEM; break; }
        sub.kv_start = kv0;
        sub.kv_end = COCO__VLEN(run.kvs, coco__kv);
        sub.unused = (const coco__ctxval*)(const void*)"";
        if (!coco__vpush(&run.subs, &sub, sizeof sub)) rc = COCO_ERR_NOMEM;
    }
    coco__mutex_unlock(&run.lock);
    if (rc == COCO_OK) rc = coco__flush(&run);
    {
        coco_result rs = coco__links_settle(&run, rc == COCO_OK && run.first_err == COCO_OK &&
                                                  !run.apply_failures);
        if (rc == COCO_OK) rc = rs;
    }
    if (rc == COCO_OK) {
        rc = coco__process_tombstones(&run);
        if (rc == COCO_ERR_CONNECTOR || rc == COCO_ERR_NOT_FOUND) rc = COCO_OK;
    }
out:
    tot->upserts += run.upserts;
    tot->deletes += run.deletes;
    tot->commits += run.commits;
    tot->apply_errors += run.apply_errors;
    for (i = 0; i < COCO__VLEN(edits, coco__live_edit); i++) {
        coco__buf_free(&COCO__VAT(edits, coco__live_edit, i).kids);
        coco__buf_free(&COCO__VAT(edits, coco__live_edit, i).gone);
    }
    coco__buf_free(&edits);
    coco_arena_destroy(ar);
    coco__run_free(&run);
    return rc;
}

/* After the catch-up pass: follow the live sources until asked to stop. */
COCO__PRIVATE coco_result coco__live_loop(coco_app* app, const coco_update_desc* d,
                                          coco__totals* tot) {
    coco_result rc = COCO_OK;
    coco_live* l;
    coco__live_start_watchers(app);
    if (d->on_ready) d->on_ready(d->on_ready_user);
    for (;;) {
        coco__buf evs;
        int stopping;
        size_t n;
        coco__mutex_lock(&app->live_m);
        while (!COCO__VLEN(app->events, coco__live_ev*) && !app->stop_req &&
               !(d->stop && *d->stop))
            coco__cond_wait_ms(&app->live_cv, &app->live_m, 50);
        if (d->stop && *d->stop) app->stop_req = 1;
        stopping = app->stop_req;
        if (stopping) coco__cond_broadcast(&app->live_cv);
        evs = app->events;
        coco__buf_init(&app->events, &app->env->a);
        coco__mutex_unlock(&app->live_m);
        n = COCO__VLEN(evs, coco__live_ev*);
        if (n) {
            coco_result r = coco__live_apply(app, (coco__live_ev**)(void*)evs.ptr, n, tot);
            if (r != COCO_OK && rc == COCO_OK) rc = r;
            coco__live_free_events(app, (coco__live_ev**)(void*)evs.ptr, n);
        }
        coco__buf_free(&evs);
        if (stopping) break;
        coco__live_start_watchers(app);   /* live sources found by a full pass */
    }
    /* watchers return; what they reported on the way out is applied too */
    for (l = app->lives; l; l = l->next)
        if (l->started) coco__thread_join(l->thread);
    {
        size_t n = COCO__VLEN(app->events, coco__live_ev*);
        if (n) {
            coco_result r = coco__live_apply(app, (coco__live_ev**)(void*)app->events.ptr, n, tot);
            if (r != COCO_OK && rc == COCO_OK) rc = r;
            coco__live_free_events(app, (coco__live_ev**)(void*)app->events.ptr, n);
        }
        app->events.len = 0;
    }
    coco__lives_free(app);
    return rc;
}


/* ---- LiveMap ---------------------------------------------------------------------------------- */
typedef struct coco__lm_entry { coco_value key, value; coco_arena* ar; } coco__lm_entry;

struct coco_livemap {
    coco_env*    env;
    coco_target* target;
    coco__mutex  m;
    coco__buf    entries;       /* coco__lm_entry[] */
    coco__buf    consumers;     /* coco_live*[] registered by live consumers */
    struct coco_livemap* next;
};

COCO__PRIVATE int coco__lm_find(coco_livemap* lm, const coco_value* key) {
    size_t i, n = COCO__VLEN(lm->entries, coco__lm_entry);
    coco_arena* tmp;
    int found = -1;
    if (coco_arena_create(&lm->env->a, &tmp) != COCO_OK) return -1;
    for (i = 0; i < n && found < 0; i++)
        if (coco_value_eq(tmp, &COCO__VAT(lm->entries, coco__lm_entry, i).key, key)) found = (int)i;
    coco_arena_destroy(tmp);
    return found;
}

COCO__PRIVATE coco_result coco__lm_apply(void* user, const coco_action* acts, size_t n,
                                         char* err, size_t cap) {
    coco_livemap* lm = (coco_livemap*)user;
    size_t i, c;
    (void)err; (void)cap;
    coco__mutex_lock(&lm->m);
    for (i = 0; i < n; i++) {
        int at = coco__lm_find(lm, &acts[i].key);
        if (acts[i].kind == COCO_ACTION_UPSERT) {
            coco__lm_entry e;
            if (coco_arena_create(&lm->env->a, &e.ar) != COCO_OK ||
                coco_value_copy(e.ar, &acts[i].key, &e.key) != COCO_OK ||
                coco_value_copy(e.ar, &acts[i].value, &e.value) != COCO_OK) {
                coco__mutex_unlock(&lm->m);
                return COCO_ERR_NOMEM;
            }
            if (at >= 0) {
                coco_arena_destroy(COCO__VAT(lm->entries, coco__lm_entry, at).ar);
                COCO__VAT(lm->entries, coco__lm_entry, at) = e;
            } else if (!coco__vpush(&lm->entries, &e, sizeof e)) {
                coco_arena_destroy(e.ar);
                coco__mutex_unlock(&lm->m);
                return COCO_ERR_NOMEM;
            }
            for (c = 0; c < COCO__VLEN(lm->consumers, coco_live*); c++)
                coco_live_update(COCO__VAT(lm->consumers, coco_live*, c), acts[i].key,
                                 acts[i].value);
        } else if (acts[i].kind == COCO_ACTION_DELETE && at >= 0) {
            size_t last = COCO__VLEN(lm->entries, coco__lm_entry) - 1;
            coco_arena_destroy(COCO__VAT(lm->entries, coco__lm_entry, at).ar);
            COCO__VAT(lm->entries, coco__lm_entry, at) = COCO__VAT(lm->entries, coco__lm_entry, last);
            lm->entries.len -= sizeof(coco__lm_entry);
            for (c = 0; c < COCO__VLEN(lm->consumers, coco_live*); c++)
                coco_live_delete(COCO__VAT(lm->consumers, coco_live*, c), acts[i].key);
        }
    }
    coco__mutex_unlock(&lm->m);
    return COCO_OK;
}
static const coco_target_vtable coco__lm_vt = { NULL, coco__lm_apply };

COCO_API coco_result coco_livemap_create(coco_env* env, const char* name, coco_livemap** out) {
    coco_livemap* lm;
    coco_result rc;
    if (!env || !name || !out) return COCO_ERR_INVALID_ARG;
    if (!(lm = (coco_livemap*)coco__alloc(&env->a, sizeof *lm))) return COCO_ERR_NOMEM;
    memset(lm, 0, sizeof *lm);
    lm->env = env;
    coco__mutex_init(&lm->m);
    coco__buf_init(&lm->entries, &env->a);
    coco__buf_init(&lm->consumers, &env->a);
    if ((rc = coco_target_register(env, name, &coco__lm_vt, lm, &lm->target)) != COCO_OK) {
        coco__mutex_free(&lm->m);
        coco__free(&env->a, lm, sizeof *lm);
        return rc;
    }
    coco__mutex_lock(&env->lock);
    lm->next = env->livemaps;
    env->livemaps = lm;
    coco__mutex_unlock(&env->lock);
    *out = lm;
    return COCO_OK;
}

COCO__PRIVATE void coco__livemaps_free(coco_env* env) {
    while (env->livemaps) {
        coco_livemap* lm = env->livemaps;
        size_t i;
        env->livemaps = lm->next;
        for (i = 0; i < COCO__VLEN(lm->entries, coco__lm_entry); i++)
            coco_arena_destroy(COCO__VAT(lm->entries, coco__lm_entry, i).ar);
        coco__buf_free(&lm->entries);
        coco__buf_free(&lm->consumers);
        coco__mutex_free(&lm->m);
        coco__free(&env->a, lm, sizeof *lm);
    }
}

COCO_API coco_target* coco_livemap_target(coco_livemap* lm) { return lm ? lm->target : NULL; }

/* the consumer's watcher: registers for the map's changes until the update stops */
COCO__PRIVATE coco_result coco__lm_watch(void* user, coco_live* live) {
    coco_livemap* lm = (coco_livemap*)user;
    size_t i;
    coco__mutex_lock(&lm->m);
    if (!coco__vpush(&lm->consumers, &live, sizeof live)) {
        coco__mutex_unlock(&lm->m);
        return COCO_ERR_NOMEM;
    }
    coco__mutex_unlock(&lm->m);
    while (!coco_live_wait(live, 1000)) { }
    coco__mutex_lock(&lm->m);
    for (i = 0; i < COCO__VLEN(lm->consumers, coco_live*); i++)
        if (COCO__VAT(lm->consumers, coco_live*, i) == live) {
            size_t last = COCO__VLEN(lm->consumers, coco_live*) - 1;
            COCO__VAT(lm->consumers, coco_live*, i) = COCO__VAT(lm->consumers, coco_live*, last);
            lm->consumers.len -= sizeof live;
            break;
        }
    coco__mutex_unlock(&lm->m);
    return COCO_OK;
}

COCO_API coco_result coco_mount_livemap(coco_ctx* ctx, coco_value key, coco_livemap* lm,
                                        const coco_fn* each) {
    coco_value *keys, *vals;
    size_t i, n;
    coco_result rc;
    if (!ctx || !lm || !each) return COCO_ERR_INVALID_ARG;
    coco__mutex_lock(&lm->m);
    n = COCO__VLEN(lm->entries, coco__lm_entry);
    keys = (coco_value*)coco_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *keys);
    vals = (coco_value*)coco_arena_alloc(ctx->arena, (n ? n : 1) * sizeof *vals);
    rc = keys && vals ? COCO_OK : COCO_ERR_NOMEM;
    for (i = 0; i < n && rc == COCO_OK; i++) {
        rc = coco_value_copy(ctx->arena, &COCO__VAT(lm->entries, coco__lm_entry, i).key, &keys[i]);
        if (rc == COCO_OK)
            rc = coco_value_copy(ctx->arena, &COCO__VAT(lm->entries, coco__lm_entry, i).value,
                                 &vals[i]);
    }
    coco__mutex_unlock(&lm->m);
    if (rc != COCO_OK) return rc;
    return coco_mount_live(ctx, key, each, keys, vals, n, coco__lm_watch, lm);
}

/* ---- update and drop ------------------------------------------------------------------------ */
COCO__PRIVATE coco_result coco__run_init(coco__run* run, coco_app* app, int full) {
    coco_bytes k, v;
    coco_value iv;
    coco_result rc;
    memset(run, 0, sizeof *run);
    coco__mutex_init_recursive(&run->lock);
    coco__buf_init(&run->gens, &app->env->a);
    coco__buf_init(&run->hits, &app->env->a);
    run->app = app;
    run->env = app->env;
    run->full = full;
    run->next_id = 1;
    coco__buf_init(&run->subs, &app->env->a);
    coco__buf_init(&run->acts, &app->env->a);
    coco__buf_init(&run->kvs, &app->env->a);
    coco__buf_init(&run->links, &app->env->a);
    /* wall-clock seconds (ids stay distinct across reboots) and the monotonic clock's ns */
    run->link_t0 = (uint64_t)time(NULL) * 1000000000u + coco__now_ns() % 1000000000u;
    if ((rc = coco_arena_create(&app->env->a, &run->batch_arena)) != COCO_OK) return rc;
    if (coco__map_init(&run->declared, &app->env->a, 64)) return COCO_ERR_NOMEM;
    k = coco__app_key(run->batch_arena, app, 'n', NULL);
    if (!k.len) return COCO_ERR_NOMEM;   /* "no record" would restart the ids at 1 */
    rc = coco_store_get(app->env->store, k.ptr, k.len, run->batch_arena, &v);
    if (rc == COCO_OK && coco_value_decode(run->batch_arena, v.ptr, v.len, &iv) == COCO_OK &&
        iv.kind == COCO_INT)
        run->next_id = iv.u.i;
    else if (rc != COCO_OK && rc != COCO_ERR_NOT_FOUND) return rc;
    return COCO_OK;
}

COCO__PRIVATE void coco__run_free(coco__run* run) {
    coco__mutex_free(&run->lock);
    coco__buf_free(&run->gens);
    coco__buf_free(&run->hits);
    coco__buf_free(&run->subs);
    coco__buf_free(&run->acts);
    coco__buf_free(&run->kvs);
    coco__buf_free(&run->links);
    coco__map_free(&run->declared);
    coco_arena_destroy(run->batch_arena);
}

/* One pass over the whole app: root component, submit, cleanup. */
COCO__PRIVATE coco_result coco__catch_up(coco_app* app, int full, coco__totals* tot) {
    coco__run run;
    coco_result rc, rc2;
    coco_value root = coco_list(NULL, 0);
    coco_fp rootfp;
    if ((rc = coco__run_init(&run, app, full)) != COCO_OK) {
        coco__run_free(&run);
        return rc;
    }
    if ((rc = coco_value_fp(run.batch_arena, &root, &rootfp)) == COCO_OK)
        rc = coco__run_component(&run, NULL, &root, rootfp, app->main, &app->arg, 1, NULL, NULL);
    rc2 = coco__flush(&run);
    if (rc == COCO_OK) rc = rc2;
    if (rc == COCO_OK && run.root_failed) rc = COCO_ERR_CONNECTOR;   /* reported already */
    rc2 = coco__links_settle(&run, rc == COCO_OK && run.first_err == COCO_OK &&
                                   !run.apply_failures);
    if (rc == COCO_OK) rc = rc2;
    if (rc == COCO_OK) {
        rc = coco__process_tombstones(&run);
        /* a failed cleanup is retried next run; it is reported but not the root's failure */
        if (rc == COCO_ERR_CONNECTOR || rc == COCO_ERR_NOT_FOUND) rc = COCO_OK;
    }
    tot->upserts += run.upserts;
    tot->deletes += run.deletes;
    tot->commits += run.commits;
    tot->apply_errors += run.apply_errors;
    coco__run_free(&run);
    return rc;
}

COCO_API coco_result coco_app_update(coco_app* app, const coco_update_desc* desc,
                                     coco_stats* stats) {
    coco__totals tot;
    coco_result rc;
    uint64_t t0 = coco__now_ns();
    size_t i;
    int live = desc && desc->live;
    if (!app) return COCO_ERR_INVALID_ARG;
#if !COCO__HAS_THREADS
    if (live) {
        coco__fmt(app->err, sizeof app->err, "live updates need threads (built with "
                  "COCO_NO_THREADS)");
        return COCO_ERR_UNSUPPORTED;
    }
#endif
    memset(&tot, 0, sizeof tot);
    app->err[0] = 0;
    coco__mutex_lock(&app->stats_m);
    for (i = 0; i < COCO__VLEN(app->stats, coco_fn_stats); i++) {
        coco_fn_stats* s = &COCO__VAT(app->stats, coco_fn_stats, i);
        const char* name = s->name;
        memset(s, 0, sizeof *s);
        s->name = name;
    }
    coco__mutex_unlock(&app->stats_m);
    coco__mutex_lock(&app->live_m);
    app->live_mode = live;
    app->stop_req = 0;
    coco__mutex_unlock(&app->live_m);
    rc = coco__catch_up(app, desc ? desc->full_reprocess : 0, &tot);
    if (rc == COCO_OK && live) rc = coco__live_loop(app, desc, &tot);
    coco__lives_free(app);              /* a failed catch-up registered some, never started */
    app->live_mode = 0;
    if (rc != COCO_OK && !app->err[0])
        coco__fmt(app->err, sizeof app->err, "%s: %s", coco_result_str(rc),
                  coco_store_errmsg(app->env->store));
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->fns = (const coco_fn_stats*)(void*)app->stats.ptr;
        stats->nfns = COCO__VLEN(app->stats, coco_fn_stats);
        stats->upserts = tot.upserts;
        stats->deletes = tot.deletes;
        stats->commits = tot.commits;
        stats->apply_errors = tot.apply_errors;
        stats->seconds = (double)(coco__now_ns() - t0) / 1e9;
    }
    return rc;
}

typedef struct coco__drop_scan {
    coco__run* run;
    coco_result rc;
    coco__buf*  keys;            /* coco_bytes[] in run->batch_arena (coco__drop_key) */
} coco__drop_scan;

COCO__PRIVATE int coco__drop_key(void* user, coco_bytes k, coco_bytes v) {
    coco__drop_scan* ds = (coco__drop_scan*)user;
    coco_bytes c;
    void* p = coco_arena_alloc(ds->run->batch_arena, k.len ? k.len : 1);
    (void)v;
    if (!p) { ds->rc = COCO_ERR_NOMEM; return 1; }
    memcpy(p, k.ptr, k.len);
    c.ptr = p;
    c.len = k.len;
    if (!coco__vpush(ds->keys, &c, sizeof c)) { ds->rc = COCO_ERR_NOMEM; return 1; }
    return 0;
}

COCO__PRIVATE int coco__drop_collect(void* user, coco_bytes k, coco_bytes v) {
    coco__drop_scan* ds = (coco__drop_scan*)user;
    coco_fp pf;
    (void)v;
    if (k.len != ds->run->app->prefix_len + 17) return 0;
    memcpy(pf.bytes, (const unsigned char*)k.ptr + k.len - 16, 16);
    ds->rc = coco__collect_removed(ds->run, pf, 0);
    return ds->rc != COCO_OK;
}

COCO_API coco_result coco_app_drop(coco_app* app) {
    coco__run run;
    coco__drop_scan ds;
    coco_scan_desc sd;
    coco_txn* t;
    coco_result rc;
    if (!app) return COCO_ERR_INVALID_ARG;
    if ((rc = coco__run_init(&run, app, 0)) != COCO_OK) goto out;
    memset(&sd, 0, sizeof sd);
    sd.prefix = coco__app_key(run.batch_arena, app, 'c', NULL);
    if (!sd.prefix.len) { rc = COCO_ERR_NOMEM; goto out; }
    ds.run = &run;
    ds.rc = COCO_OK;
    ds.keys = NULL;
    /* every component record becomes tombstones for its target states, atomically */
    if ((rc = coco_store_scan(app->env->store, &sd, coco__drop_collect, &ds)) != COCO_OK) goto out;
    if ((rc = ds.rc) != COCO_OK) goto out;
    if ((rc = coco_store_txn_begin(app->env->store, &t)) != COCO_OK) goto out;
    rc = coco__txn_kvs(&run, t, (coco__kv*)(void*)run.kvs.ptr, COCO__VLEN(run.kvs, coco__kv));
    if (rc != COCO_OK) { coco_txn_abort(t); goto out; }
    if ((rc = coco_txn_commit(t)) != COCO_OK) goto out;
    run.kvs.len = 0;
    if ((rc = coco__process_tombstones(&run)) != COCO_OK) {
        if (!app->err[0]) snprintf(app->err, sizeof app->err, "drop of app '%s': some target "
                                   "states could not be deleted; run drop again", app->name);
        goto out;
    }
    {
        /* nothing left to revert: the app's remaining state (ids, container generations,
           anything else under its prefix) goes too */
        coco__buf keys;
        coco_scan_desc all;
        size_t i;
        coco__buf_init(&keys, &app->env->a);
        memset(&all, 0, sizeof all);
        all.prefix.ptr = app->prefix;
        all.prefix.len = app->prefix_len;
        ds.rc = COCO_OK;
        ds.keys = &keys;
        rc = coco_store_scan(app->env->store, &all, coco__drop_key, &ds);
        if (rc == COCO_OK) rc = ds.rc;
        if (rc == COCO_OK && (rc = coco_store_txn_begin(app->env->store, &t)) == COCO_OK) {
            for (i = 0; i < COCO__VLEN(keys, coco_bytes) && rc == COCO_OK; i++) {
                coco_bytes* k = &COCO__VAT(keys, coco_bytes, i);
                rc = coco_txn_del(t, k->ptr, k->len);
            }
            if (rc == COCO_OK) rc = coco_txn_commit(t);
            else coco_txn_abort(t);
        }
        coco__buf_free(&keys);
    }
out:
    /* whatever is left, the markers may be gone: look again */
    app->links_settled = app->links_marked = app->tombs_marked = app->tombs_none = 0;
    coco__run_free(&run);
    return rc;
}

/* ==============================================================================================
   >>impl_cli -- coco_main (Private, public wrapper last)
   Depends on: >>impl_engine.
   ============================================================================================== */
#if COCO__HAS_FS
#include <signal.h>

static volatile int coco__cli_stop;   /* polled by the live loop every 50 ms */
static void coco__cli_on_signal(int sig) { (void)sig; coco__cli_stop = 1; }

COCO__PRIVATE void coco__cli_usage(FILE* f, const char* prog, const coco_main_desc* d) {
    size_t i;
    fprintf(f, "%s%s%s\n\n", d->name, d->about ? " - " : "", d->about ? d->about : "");
    fprintf(f, "usage: %s [--db PATH] <verb> [options]\n\n", prog);
    fprintf(f, "verbs:\n"
               "  update [--live] [--full-reprocess] [--quiet] [--progress | --no-progress]\n"
               "                      bring the targets up to date (--live: keep following changes;\n"
               "                      progress on stderr: by default when it is a terminal)\n"
               "  drop [--yes]        delete every target state this app created, then its state\n"
               "  show                the component tree with its target states\n"
               "  stats               counts of components, target states and memo entries\n\n"
               "options:\n"
               "  --db PATH           state db (default: $COCOINDEX_DB, else ./cocoindex.db)\n"
               "  --help              this text\n");
    for (i = 0; i < d->noptions; i++) {
        const coco_cli_option* o = &d->options[i];
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(f, "  %-19s %s%s%s%s\n", head, o->help ? o->help : "",
                o->value && *o->value && o->metavar ? " (default: " : "",
                o->value && *o->value && o->metavar ? *o->value : "",
                o->value && *o->value && o->metavar ? ")" : "");
    }
}

typedef struct coco__show {
    FILE*       out;
    coco_arena* ar;
    size_t      components, states, memos;
    int         print;
} coco__show;

COCO__PRIVATE int coco__show_one(void* user, coco_bytes k, coco_bytes v) {
    coco__show* s = (coco__show*)user;
    coco_value rec;
    const coco_value *p, *f, *t, *x;
    size_t i;
    (void)k;
    coco_arena_reset(s->ar);
    if (coco_value_decode(s->ar, v.ptr, v.len, &rec) != COCO_OK) {
        if (s->print) fprintf(s->out, "(unreadable component record)\n");
        return 0;
    }
    p = coco__field(&rec, "p");
    f = coco__field(&rec, "f");
    t = coco__field(&rec, "t");
    x = coco__field(&rec, "x");
    s->components++;
    s->states += coco__list_len(t);
    s->memos += coco__list_len(x) + (coco__field(&rec, "k") ? 1u : 0u);
    if (!s->print) return 0;
    fprintf(s->out, "%s  [%.*s]%s\n", p ? coco__render_path(s->ar, p) : "?",
            f && f->kind == COCO_STR ? (int)f->u.s.len : 1, f && f->kind == COCO_STR ? f->u.s.ptr : "?",
            coco__field(&rec, "k") ? " memo" : "");
    for (i = 0; i < coco__list_len(t); i++) {
        const coco_value* e = coco__list_at(t, i);
        coco__buf kb;
        if (!coco__tstate_ok(e)) continue;
        coco__buf_init(&kb, &s->ar->a);
        coco__render_key(&kb, &e->u.list.items[1], 0);
        coco__buf_byte(&kb, 0);
        fprintf(s->out, "    -> %.*s %s%s\n", (int)e->u.list.items[0].u.s.len,
                e->u.list.items[0].u.s.ptr, kb.ptr ? (const char*)kb.ptr : "?",
                e->u.list.items[3].kind == COCO_BOOL && e->u.list.items[3].u.b ? " (pending)" : "");
        coco__buf_free(&kb);
    }
    return 0;
}

COCO__PRIVATE int coco__cli_show(coco_app* app, int print, FILE* out) {
    coco__show s;
    coco_scan_desc sd;
    coco_arena* keys;
    coco_result rc;
    memset(&s, 0, sizeof s);
    s.out = out;
    s.print = print;
    if (coco_arena_create(&app->env->a, &s.ar) != COCO_OK) return 1;
    if (coco_arena_create(&app->env->a, &keys) != COCO_OK) { coco_arena_destroy(s.ar); return 1; }
    memset(&sd, 0, sizeof sd);
    sd.prefix = coco__app_key(keys, app, 'c', NULL);
    rc = sd.prefix.len ? coco_store_scan(app->env->store, &sd, coco__show_one, &s) : COCO_ERR_NOMEM;
    if (!print)
        fprintf(out, "app %s: %zu components, %zu target states, %zu memo entries\n", app->name,
                s.components, s.states, s.memos);
    coco_arena_destroy(s.ar);
    coco_arena_destroy(keys);
    if (rc != COCO_OK) {
        fprintf(stderr, "%s: %s\n", app->name, coco_store_errmsg(app->env->store));
        return 1;
    }
    return 0;
}

/* Returns the index of the option matching argv[i] or -1. */
COCO__PRIVATE int coco__cli_opt(const coco_main_desc* d, const char* a) {
    size_t i;
    for (i = 0; i < d->noptions; i++)
        if (d->options[i].name && strcmp(d->options[i].name, a) == 0) return (int)i;
    return -1;
}

/* ---- progress display ------------------------------------------------------------------------ */
/* While an update runs, a thread draws the per-function counters on stderr: redrawn in place
   every 200 ms on a terminal, a plain line per function every $COCO_PROGRESS_MS (default
   5000) ms otherwise. */
typedef struct coco__progress {
    coco_app*   app;
    FILE*       out;
    int         tty, stop, drawn;
    uint32_t    every_ms;
    uint64_t    t0;
    coco__mutex m;
    coco__cond  cv;
} coco__progress;

COCO__PRIVATE void coco__progress_draw(coco__progress* p) {
    coco_fn_stats fs[16];
    size_t n = coco_app_stats_snapshot(p->app, fs, 16), i, shown = COCO__MIN(n, 16);
    double secs = (double)(coco__now_ns() - p->t0) / 1e9;
    if (p->tty && p->drawn) fprintf(p->out, "\033[%dA", p->drawn);
    for (i = 0; i < shown; i++) {
        const coco_fn_stats* f = &fs[i];
        fprintf(p->out, "%s%-20.20s %7llu total %5llu in flight %7llu added %7llu reprocessed "
                "%6llu deleted %7llu unchanged %5llu errors  %.1fs\n", p->tty ? "\r\033[K" : "",
                f->name, (unsigned long long)(f->started + f->unchanged),
                (unsigned long long)(f->started - COCO__MIN(f->finished, f->started)),
                (unsigned long long)f->added, (unsigned long long)f->reprocessed,
                (unsigned long long)f->deleted, (unsigned long long)f->unchanged,
                (unsigned long long)f->errors, secs);
    }
    p->drawn = (int)shown;
    fflush(p->out);
}

COCO__PRIVATE void* coco__progress_main(void* arg) {
    coco__progress* p = (coco__progress*)arg;
    coco__mutex_lock(&p->m);
    while (!p->stop) {
        coco__cond_wait_ms(&p->cv, &p->m, p->every_ms);
        if (p->stop) break;
        coco__mutex_unlock(&p->m);
        coco__progress_draw(p);
        coco__mutex_lock(&p->m);
    }
    coco__mutex_unlock(&p->m);
    return NULL;
}

COCO__PRIVATE coco_result coco__cli_update_with_progress(coco_app* app, const coco_update_desc* ud,
                                                        coco_stats* st, int show) {
#if defined(COCO_NO_THREADS)
    (void)show;
    return coco_app_update(app, ud, st);
#else
    coco__progress p;
    coco__thread th;
    coco_result rc;
    const char* ms = getenv("COCO_PROGRESS_MS");
    if (!show) return coco_app_update(app, ud, st);
    memset(&p, 0, sizeof p);
    p.app = app;
    p.out = stderr;
    p.tty = isatty(2);
    p.every_ms = p.tty ? 200u : 5000u;
    if (ms && atoi(ms) > 0) p.every_ms = (uint32_t)atoi(ms);
    p.t0 = coco__now_ns();
    coco__mutex_init(&p.m);
    coco__cond_init(&p.cv);
    if (coco__thread_start(&th, coco__progress_main, &p) != 0) {
        coco__cond_free(&p.cv);
        coco__mutex_free(&p.m);
        return coco_app_update(app, ud, st);
    }
    rc = coco_app_update(app, ud, st);
    coco__mutex_lock(&p.m);
    p.stop = 1;
    coco__cond_broadcast(&p.cv);
    coco__mutex_unlock(&p.m);
    coco__thread_join(th);
    coco__progress_draw(&p);                         /* the final counters */
    coco__cond_free(&p.cv);
    coco__mutex_free(&p.m);
    return rc;
#endif
}

/* Every failed component, as it happens: the update goes on, its summary counts them. */
COCO__PRIVATE void coco__cli_on_error(void* user, const coco_error_info* e) {
    fprintf(stderr, "%s: error in %s at %s: %s\n", (const char*)user, e->fn ? e->fn : "?",
            e->path ? e->path : "?", e->msg && *e->msg ? e->msg : coco_result_str(e->code));
}

COCO_API int coco_main(int argc, char** argv, const coco_main_desc* d) {
    const char* prog = argc > 0 ? argv[0] : "app";
    const char* verb = NULL;
    const char* db = NULL;
    int live = 0, full = 0, quiet = 0, yes = 0, i, code = 0, progress = -1;
    coco_env_desc ed;
    coco_app_desc ad;
    coco_env* env = NULL;
    coco_app* app = NULL;
    coco_result rc;
    if (!d || !d->name || !d->main) return 2;
    for (i = 1; i < argc; i++) {
        const char* a = argv[i];
        int oi;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            coco__cli_usage(stdout, prog, d);
            return 0;
        } else if (strcmp(a, "--db") == 0) {
            if (++i >= argc) { fprintf(stderr, "%s: --db needs a PATH\n", prog); return 2; }
            db = argv[i];
        } else if (strcmp(a, "--live") == 0) live = 1;
        else if (strcmp(a, "--full-reprocess") == 0) full = 1;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) quiet = 1;
        else if (strcmp(a, "--progress") == 0) progress = 1;
        else if (strcmp(a, "--no-progress") == 0) progress = 0;
        else if (strcmp(a, "--yes") == 0 || strcmp(a, "-y") == 0) yes = 1;
        else if ((oi = coco__cli_opt(d, a)) >= 0) {
            const coco_cli_option* o = &d->options[oi];
            if (o->metavar) {
                if (++i >= argc) {
                    fprintf(stderr, "%s: %s needs a %s\n", prog, a, o->metavar);
                    return 2;
                }
                if (o->value) *o->value = argv[i];
            } else if (o->value) *o->value = "1";
        } else if (a[0] == '-') {
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, a);
            return 2;
        } else if (!verb) verb = a;
        else {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, a);
            return 2;
        }
    }
    if (!verb) {
        coco__cli_usage(stderr, prog, d);
        return 2;
    }
    if (strcmp(verb, "update") && strcmp(verb, "drop") && strcmp(verb, "show") &&
        strcmp(verb, "stats")) {
        fprintf(stderr, "%s: unknown verb '%s' (update, drop, show, stats)\n", prog, verb);
        return 2;
    }
    if ((live || full || quiet || progress >= 0) && strcmp(verb, "update") != 0) {
        fprintf(stderr, "%s: --live, --full-reprocess, --quiet and --progress go with 'update'\n",
                prog);
        return 2;
    }
    if (progress < 0) progress = !quiet && isatty(2);
    if (strcmp(verb, "drop") == 0 && !yes) {
        if (!isatty(0)) {
            fprintf(stderr, "%s: drop deletes every target state of app '%s'; add --yes\n", prog,
                    d->name);
            return 2;
        } else {
            char line[16];
            fprintf(stderr, "delete every target state of app '%s'? [y/N] ", d->name);
            if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
                fprintf(stderr, "nothing dropped\n");
                return 1;
            }
        }
    }
    if (!db) db = getenv("COCOINDEX_DB");
    if (!db || !*db) db = "./cocoindex.db";
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.threads = d->threads;
    ed.on_error = coco__cli_on_error;
    ed.on_error_user = (void*)prog;
    if ((rc = coco_env_open(&ed, &env)) != COCO_OK) {
        fprintf(stderr, "%s: %s\n", prog, coco_store_open_errmsg());
        return 1;
    }
    if (d->setup && (rc = d->setup(d->user, env)) != COCO_OK) {
        fprintf(stderr, "%s: setup failed: %s%s%s\n", prog, coco_result_str(rc),
                coco_env_errmsg(env)[0] ? ": " : "", coco_env_errmsg(env));
        coco_env_close(env);
        return 1;
    }
    memset(&ad, 0, sizeof ad);
    ad.name = d->name;
    ad.main = d->main;
    ad.arg = d->arg;
    if ((rc = coco_app_create(env, &ad, &app)) != COCO_OK) {
        fprintf(stderr, "%s: %s\n", prog, coco_env_errmsg(env));
        coco_env_close(env);
        return 1;
    }
    if (strcmp(verb, "update") == 0) {
        coco_update_desc ud;
        coco_stats st;
        memset(&ud, 0, sizeof ud);
        ud.full_reprocess = full;
        ud.live = live;
        if (live) {
            coco__cli_stop = 0;
            ud.stop = &coco__cli_stop;
            signal(SIGINT, coco__cli_on_signal);
            signal(SIGTERM, coco__cli_on_signal);
        }
        rc = coco__cli_update_with_progress(app, &ud, &st, progress && !live && !quiet);
        if (rc != COCO_OK) {
            fprintf(stderr, "%s: update failed: %s\n", prog, coco_app_errmsg(app));
            code = 1;
        } else {
            /* failed components and failed target applies were reported: exit 1 */
            size_t k;
            uint64_t run = 0, skip = 0, err = st.apply_errors;
            for (k = 0; k < st.nfns; k++) {
                run += st.fns[k].started;
                skip += st.fns[k].unchanged;
                err += st.fns[k].errors;
            }
            if (!quiet)
                printf("%sprocessed %llu, wrote %llu, skipped %llu, deleted %llu%s in %.2fs\n",
                       st.upserts + st.deletes + err == 0 ? "nothing to do: " : "",
                       (unsigned long long)run, (unsigned long long)st.upserts,
                       (unsigned long long)skip, (unsigned long long)st.deletes,
                       err ? " (with errors, see above)" : "", st.seconds);
            if (err) code = 1;
        }
    } else if (strcmp(verb, "drop") == 0) {
        if ((rc = coco_app_drop(app)) != COCO_OK) {
            fprintf(stderr, "%s: drop failed: %s\n", prog, coco_app_errmsg(app)[0] ?
                    coco_app_errmsg(app) : coco_result_str(rc));
            code = 1;
        } else if (!quiet) printf("dropped app '%s'\n", d->name);
    } else {
        code = coco__cli_show(app, strcmp(verb, "show") == 0, stdout);
    }
    coco_app_destroy(app);
    coco_env_close(env);
    return code;
}
#else
COCO_API int coco_main(int argc, char** argv, const coco_main_desc* desc) {
    (void)argc; (void)argv; (void)desc;
    fputs("coco_main: built with COCO_NO_FILESYSTEM (no state db file)\n", stderr);
    return 1;
}
#endif /* COCO__HAS_FS */

/* ==============================================================================================
   >>impl_ops -- text splitter, hashing embedder, vector distances (Private, public wrappers last)
   Owns: the separator tables.  Depends on: >>impl_util (allocator, coco__buf), >>impl_value
   (coco_arena, coco__arena_fail).  No libm: square roots are Newton steps on doubles.
   ============================================================================================== */

/* ---- UTF-8 -------------------------------------------------------------------------------- */
/* Code points are walked as: a lead byte plus the continuation bytes that follow it, up to the
   length the lead announces; any other byte is a code point of its own.  Every position that
   this walk does not step over is a code point boundary. */
COCO__PRIVATE size_t coco__ops_u8_seqlen(unsigned char b) {
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 1;
}
/* Bytes of the code point at p (1..4); avail >= 1. */
COCO__PRIVATE size_t coco__ops_u8_step(const unsigned char* p, size_t avail) {
    size_t want = coco__ops_u8_seqlen(p[0]), k = 1;
    while (k < want && k < avail && (p[k] & 0xC0) == 0x80) k++;
    return k;
}
/* 1 if position i (0 < i < n) lies inside a code point. */
COCO__PRIVATE int coco__ops_u8_inside(const unsigned char* t, size_t i) {
    size_t k;
    if ((t[i] & 0xC0) != 0x80) return 0;
    for (k = 1; k <= 3 && k <= i; k++) {
        unsigned char b = t[i - k];
        if ((b & 0xC0) != 0x80) return k < coco__ops_u8_seqlen(b);
    }
    return 0;
}
COCO__PRIVATE int coco__ops_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- separator tables --------------------------------------------------------------------- */
#define COCO__SPLIT_SEP_AFTER 1u /* the cut goes after the whole separator                     */
#define COCO__SPLIT_SEP_DEF   2u /* a definition: cut after the "\n", keep the comments above  */
#define COCO__SPLIT_SEP_PROSE 4u /* markdown: not inside a fenced code block                   */
#define COCO__SPLIT_MAXSEPS   96
#define COCO__SPLIT_MAXLEVELS 64
#define COCO__SPLIT_NONE      0xFFu

typedef struct coco__split_sep {
    const char*   s;
    unsigned char level, flags;
} coco__split_sep;

typedef struct coco__split_langdef {
    const coco__split_sep* seps;    /* ends with a NULL string                                 */
    const char* const*     glue;    /* line prefixes kept with the definition below; NULL=none */
    unsigned               nlevels;
    unsigned               fence;   /* markdown: level of fenced code blocks; 0 = not markdown */
} coco__split_langdef;

#define COCO__SENTENCES(l) \
    {". ", l, 0}, {"! ", l, 0}, {"? ", l, 0}, {"\xe3\x80\x82", l, 0}, {"\xef\xbc\x81", l, 0}, \
    {"\xef\xbc\x9f", l, 0}
#define COCO__CLAUSES(l) {"; ", l, 0}, {", ", l, 0}, {"\xef\xbc\x8c", l, 0}, {"\xe3\x80\x81", l, 0}
#define COCO__D COCO__SPLIT_SEP_DEF
#define COCO__A COCO__SPLIT_SEP_AFTER
#define COCO__P COCO__SPLIT_SEP_PROSE

COCO__PRIVATE const coco__split_langdef* coco__split_lang_def(coco_lang lang) {
    static const coco__split_sep text[] = {
        {"\n\n", 0, 0}, {"\n", 1, 0}, COCO__SENTENCES(2), COCO__CLAUSES(3), {" ", 4, 0},
        {NULL, 0, 0}};
    static const coco__split_sep md[] = {
        {"\n# ", 0, COCO__P}, {"\n## ", 1, COCO__P}, {"\n### ", 2, COCO__P},
        {"\n#### ", 3, COCO__P}, {"\n##### ", 4, COCO__P}, {"\n###### ", 5, COCO__P},
        /* level 6: fenced code blocks, found by coco__split_levels */
        {"\n\n", 7, 0}, {"\n", 8, 0}, COCO__SENTENCES(9), COCO__CLAUSES(10), {" ", 11, 0},
        {NULL, 0, 0}};
    static const coco__split_sep c[] = {
        {"\n}\n", 0, COCO__A}, {"\n};\n", 0, COCO__A},
        {"\nstruct ", 1, COCO__D}, {"\ntypedef ", 1, COCO__D}, {"\nstatic ", 1, COCO__D},
        {"\nenum ", 1, COCO__D}, {"\nunion ", 1, COCO__D}, {"\nvoid ", 1, COCO__D},
        {"\nint ", 1, COCO__D}, {"\nchar ", 1, COCO__D}, {"\nunsigned ", 1, COCO__D},
        {"\nconst ", 1, COCO__D}, {"\nextern ", 1, COCO__D}, {"\ninline ", 1, COCO__D},
        {"\nbool ", 1, COCO__D}, {"\nsize_t ", 1, COCO__D}, {"\ndouble ", 1, COCO__D},
        {"\nfloat ", 1, COCO__D}, {"\nlong ", 1, COCO__D}, {"\nauto ", 1, COCO__D},
        {"\nclass ", 1, COCO__D}, {"\nnamespace ", 1, COCO__D}, {"\ntemplate", 1, COCO__D},
        {"\n#", 2, COCO__D},
        {"\n    }\n", 3, COCO__A}, {"\n\t}\n", 3, COCO__A}, {"\n  }\n", 3, COCO__A},
        {"\n\n", 4, 0}, {"\n", 5, 0}, {" ", 6, 0}, {NULL, 0, 0}};
    static const coco__split_sep py[] = {
        {"\nclass ", 0, COCO__D}, {"\ndef ", 0, COCO__D}, {"\nasync def ", 0, COCO__D},
        {"\n    def ", 1, COCO__D}, {"\n    async def ", 1, COCO__D}, {"\n\tdef ", 1, COCO__D},
        {"\n\tasync def ", 1, COCO__D}, {"\n    class ", 1, COCO__D},
        {"\n\n", 2, 0}, {"\n", 3, 0}, {" ", 4, 0}, {NULL, 0, 0}};
    static const coco__split_sep js[] = {
        {"\n}\n", 0, COCO__A}, {"\n};\n", 0, COCO__A}, {"\n});\n", 0, COCO__A},
        {"\n})\n", 0, COCO__A}, {"\n})();\n", 0, COCO__A},
        {"\nfunction ", 1, COCO__D}, {"\nasync function ", 1, COCO__D},
        {"\nexport ", 1, COCO__D}, {"\nclass ", 1, COCO__D}, {"\nconst ", 1, COCO__D},
        {"\nlet ", 1, COCO__D}, {"\nvar ", 1, COCO__D}, {"\ninterface ", 1, COCO__D},
        {"\ntype ", 1, COCO__D}, {"\nenum ", 1, COCO__D}, {"\nimport ", 1, COCO__D},
        {"\nabstract ", 1, COCO__D}, {"\ndeclare ", 1, COCO__D}, {"\nnamespace ", 1, COCO__D},
        {"\n  }\n", 2, COCO__A}, {"\n    }\n", 2, COCO__A}, {"\n\t}\n", 2, COCO__A},
        {"\n  };\n", 2, COCO__A}, {"\n    };\n", 2, COCO__A},
        {"\n\n", 3, 0}, {"\n", 4, 0}, {" ", 5, 0}, {NULL, 0, 0}};
    static const coco__split_sep rs[] = {
        {"\n}\n", 0, COCO__A},
        {"\nfn ", 1, COCO__D}, {"\npub fn ", 1, COCO__D}, {"\npub(crate) fn ", 1, COCO__D},
        {"\nasync fn ", 1, COCO__D}, {"\npub async fn ", 1, COCO__D},
        {"\nconst fn ", 1, COCO__D}, {"\npub const fn ", 1, COCO__D},
        {"\nunsafe fn ", 1, COCO__D}, {"\npub unsafe fn ", 1, COCO__D},
        {"\nimpl ", 1, COCO__D}, {"\nimpl<", 1, COCO__D}, {"\nunsafe impl", 1, COCO__D},
        {"\nstruct ", 1, COCO__D}, {"\npub struct ", 1, COCO__D},
        {"\npub(crate) struct ", 1, COCO__D}, {"\nenum ", 1, COCO__D},
        {"\npub enum ", 1, COCO__D}, {"\ntrait ", 1, COCO__D}, {"\npub trait ", 1, COCO__D},
        {"\nmod ", 1, COCO__D}, {"\npub mod ", 1, COCO__D}, {"\nconst ", 1, COCO__D},
        {"\npub const ", 1, COCO__D}, {"\nstatic ", 1, COCO__D}, {"\npub static ", 1, COCO__D},
        {"\ntype ", 1, COCO__D}, {"\npub type ", 1, COCO__D}, {"\nmacro_rules!", 1, COCO__D},
        {"\nuse ", 1, COCO__D}, {"\npub use ", 1, COCO__D}, {"\nextern ", 1, COCO__D},
        {"\n    }\n", 2, COCO__A}, {"\n\t}\n", 2, COCO__A},
        {"\n    fn ", 3, COCO__D}, {"\n    pub fn ", 3, COCO__D},
        {"\n    pub(crate) fn ", 3, COCO__D}, {"\n    async fn ", 3, COCO__D},
        {"\n    pub async fn ", 3, COCO__D}, {"\n    const fn ", 3, COCO__D},
        {"\n    unsafe fn ", 3, COCO__D},
        {"\n\n", 4, 0}, {"\n", 5, 0}, {" ", 6, 0}, {NULL, 0, 0}};
    static const coco__split_sep go[] = {
        {"\n}\n", 0, COCO__A}, {"\n)\n", 0, COCO__A},
        {"\nfunc ", 1, COCO__D}, {"\ntype ", 1, COCO__D}, {"\nvar ", 1, COCO__D},
        {"\nconst ", 1, COCO__D}, {"\nimport ", 1, COCO__D}, {"\npackage ", 1, COCO__D},
        {"\n\t}\n", 2, COCO__A}, {"\n    }\n", 2, COCO__A},
        {"\n\n", 3, 0}, {"\n", 4, 0}, {" ", 5, 0}, {NULL, 0, 0}};
    static const coco__split_sep java[] = {
        {"\n}\n", 0, COCO__A},
        {"\npublic ", 1, COCO__D}, {"\nprivate ", 1, COCO__D}, {"\nprotected ", 1, COCO__D},
        {"\ninternal ", 1, COCO__D}, {"\nclass ", 1, COCO__D}, {"\ninterface ", 1, COCO__D},
        {"\nenum ", 1, COCO__D}, {"\nabstract ", 1, COCO__D}, {"\nfinal ", 1, COCO__D},
        {"\nsealed ", 1, COCO__D}, {"\nrecord ", 1, COCO__D}, {"\nimport ", 1, COCO__D},
        {"\npackage ", 1, COCO__D}, {"\nusing ", 1, COCO__D}, {"\nnamespace ", 1, COCO__D},
        {"\nfun ", 1, COCO__D}, {"\nobject ", 1, COCO__D}, {"\ndata class ", 1, COCO__D},
        {"\nopen ", 1, COCO__D}, {"\nstatic ", 1, COCO__D},
        {"\n    }\n", 2, COCO__A}, {"\n\t}\n", 2, COCO__A},
        {"\n    public ", 3, COCO__D}, {"\n    private ", 3, COCO__D},
        {"\n    protected ", 3, COCO__D}, {"\n    internal ", 3, COCO__D},
        {"\n    static ", 3, COCO__D}, {"\n    override ", 3, COCO__D},
        {"\n    fun ", 3, COCO__D}, {"\n\tpublic ", 3, COCO__D}, {"\n\tprivate ", 3, COCO__D},
        {"\n\tprotected ", 3, COCO__D}, {"\n\tstatic ", 3, COCO__D},
        {"\n\n", 4, 0}, {"\n", 5, 0}, {" ", 6, 0}, {NULL, 0, 0}};
    static const char* const glue_c[]    = {"//", "/*", "*", "template", "[[", NULL};
    static const char* const glue_py[]   = {"@", "#", NULL};
    static const char* const glue_js[]   = {"//", "/*", "*", "@", NULL};
    static const char* const glue_rs[]   = {"//", "/*", "*", "#[", "#!", NULL};
    static const char* const glue_go[]   = {"//", "/*", "*", NULL};
    static const char* const glue_java[] = {"//", "/*", "*", "@", "[", NULL};
    static const coco__split_langdef defs[] = {
        {text, NULL, 5, 0},      /* COCO_LANG_DEFAULT */
        {text, NULL, 5, 0},      /* COCO_LANG_TEXT */
        {md, NULL, 12, 6},       /* COCO_LANG_MARKDOWN */
        {c, glue_c, 7, 0},       /* COCO_LANG_C */
        {py, glue_py, 5, 0},     /* COCO_LANG_PYTHON */
        {js, glue_js, 6, 0},     /* COCO_LANG_JS */
        {rs, glue_rs, 7, 0},     /* COCO_LANG_RUST */
        {go, glue_go, 6, 0},     /* COCO_LANG_GO */
        {java, glue_java, 7, 0}, /* COCO_LANG_JAVA */
    };
    return (unsigned)lang < sizeof defs / sizeof defs[0] ? &defs[lang] : NULL;
}
#undef COCO__SENTENCES
#undef COCO__CLAUSES
#undef COCO__D
#undef COCO__A
#undef COCO__P

/* The resolved separators of one call, grouped by first byte. */
typedef struct coco__split_cfg {
    const char*        s[COCO__SPLIT_MAXSEPS];
    size_t             cutk[COCO__SPLIT_MAXSEPS];   /* cut after this many separator chars  */
    unsigned char      level[COCO__SPLIT_MAXSEPS], flags[COCO__SPLIT_MAXSEPS];
    unsigned short     by_first[257];               /* seps of first byte b: [b], [b + 1]   */
    size_t             nseps;
    const char* const* glue;
    unsigned           nlevels, fence;
    size_t             size, overlap, minsz;
} coco__split_cfg;

COCO__PRIVATE void coco__split_cfg_add(coco__split_cfg* g, const char* s, unsigned level,
                                       unsigned flags) {
    size_t n = g->nseps++, len = strlen(s), r = 0;
    COCO_ASSERT(n < COCO__SPLIT_MAXSEPS);
    while (r < len && s[r] == '\n') r++;
    g->s[n] = s;
    g->level[n] = (unsigned char)level;
    g->flags[n] = (unsigned char)flags;
    /* Default: a separator made of newlines followed by text ("\n# ", "\nfn ") starts the next
       piece; any other separator ends the previous one. */
    g->cutk[n] = (flags & COCO__SPLIT_SEP_AFTER) || r == 0 || r == len ? len : r;
}

/* Sorts the separators by first byte (stable, so the table order stays within a byte). */
COCO__PRIVATE void coco__split_cfg_index(coco__split_cfg* g) {
    coco__split_cfg t = *g;
    size_t i, k = 0;
    unsigned b;
    for (b = 0; b < 256; b++) {
        g->by_first[b] = (unsigned short)k;
        for (i = 0; i < t.nseps; i++) {
            if ((unsigned char)t.s[i][0] != b) continue;
            g->s[k] = t.s[i]; g->cutk[k] = t.cutk[i];
            g->level[k] = t.level[i]; g->flags[k] = t.flags[i];
            k++;
        }
    }
    g->by_first[256] = (unsigned short)k;
}

/* Where separator `sep` matching at i cuts, or 0 when it does not match.  A "\n" in a
   separator also matches "\r\n", and between two newlines spaces and tabs are skipped (a line
   of blanks is a blank line). */
COCO__PRIVATE size_t coco__split_match(const unsigned char* t, size_t n, size_t i,
                                       const char* sep, size_t cutk) {
    size_t j = i, k, cut = 0;
    for (k = 0; sep[k]; k++) {
        unsigned char ch = (unsigned char)sep[k];
        if (k == cutk) cut = j;
        if (ch == '\n' && k > 0) {
            if (sep[k - 1] == '\n')
                while (j < n && (t[j] == ' ' || t[j] == '\t')) j++;
            if (j < n && t[j] == '\r') j++;
        }
        if (j >= n || t[j] != ch) return 0;
        j++;
    }
    return k == cutk ? j : cut;
}

/* Moves a definition's cut at line start p up over the comment, decorator and attribute
   lines right above it. */
COCO__PRIVATE size_t coco__split_glue(const unsigned char* t, size_t p, const char* const* glue) {
    while (glue && p > 0) {
        size_t q = p - 1, s, g;
        int hit = 0;
        while (q > 0 && t[q - 1] != '\n') q--;
        s = q;
        while (s < p - 1 && (t[s] == ' ' || t[s] == '\t')) s++;
        for (g = 0; glue[g] && !hit; g++) {
            size_t gl = strlen(glue[g]);
            hit = s + gl <= p - 1 && memcmp(t + s, glue[g], gl) == 0;
        }
        if (!hit) break;
        p = q;
    }
    return p;
}

/* lv[i] = the strongest level (0 = strongest) of a cut at position i, COCO__SPLIT_NONE when
   no separator cuts there.  The start and end of the text are level 0. */
COCO__PRIVATE void coco__split_levels(const unsigned char* t, size_t n, const coco__split_cfg* g,
                                      unsigned char* lv) {
    unsigned char fence = 0;
    size_t i, k;
    memset(lv, COCO__SPLIT_NONE, n + 1);
    lv[0] = lv[n] = 0;
    for (i = 0; i < n; i++) {
        if (g->fence && (i == 0 || t[i - 1] == '\n')) {
            size_t s = i, e;
            while (s < n && s < i + 3 && t[s] == ' ') s++;
            if (s + 3 <= n && (t[s] == '`' || t[s] == '~') && t[s + 1] == t[s] &&
                t[s + 2] == t[s]) {
                if (!fence) {
                    fence = t[s];
                    if (lv[i] > g->fence) lv[i] = (unsigned char)g->fence;
                } else if (t[s] == fence) {
                    e = s;
                    while (e < n && t[e] == fence) e++;
                    while (e < n && (t[e] == ' ' || t[e] == '\t' || t[e] == '\r')) e++;
                    if (e >= n || t[e] == '\n') {            /* a closing fence has no info */
                        if (e < n) e++;
                        fence = 0;
                        if (lv[e] > g->fence) lv[e] = (unsigned char)g->fence;
                    }
                }
            }
        }
        for (k = g->by_first[t[i]]; k < g->by_first[t[i] + 1]; k++) {
            size_t cut;
            if ((g->flags[k] & COCO__SPLIT_SEP_PROSE) && fence) continue;
            cut = coco__split_match(t, n, i, g->s[k], g->cutk[k]);
            if (cut == 0 || cut >= n) continue;
            if (g->flags[k] & COCO__SPLIT_SEP_DEF) cut = coco__split_glue(t, cut, g->glue);
            if (cut == 0 || coco__ops_u8_inside(t, cut)) continue;
            if (lv[cut] > g->level[k]) lv[cut] = g->level[k];
        }
    }
}

COCO__PRIVATE size_t coco__split_rtrim(const unsigned char* t, size_t from, size_t e) {
    while (e > from && coco__ops_ws(t[e - 1])) e--;
    return e;
}

/* The end of the chunk whose new text starts at c (not whitespace; the cut before it has level
   lc) and may take `budget` bytes.  For each level L, strongest first, the candidate is the
   furthest cut of level <= L that fits (L >= lc), or, when the chunk starts inside a unit of
   level L (L < lc), the end of that unit if it fits.  The first candidate that gives
   min_chunk_size bytes wins, else the longest one; with none at all (*cut = 1), the last code
   point boundary that fits, or the one code point at c when even that does not fit. */
COCO__PRIVATE size_t coco__split_pick(const unsigned char* t, size_t n, const unsigned char* lv,
                                      const coco__split_cfg* g, size_t c, unsigned lc,
                                      size_t budget, int* cut) {
    size_t first[COCO__SPLIT_MAXLEVELS], last[COCO__SPLIT_MAXLEVELS];
    size_t limit = budget > SIZE_MAX - c ? SIZE_MAX : c + budget;
    size_t rt = c + 1, hard = 0, i, best = 0, bestlen = 0, fmin = 0, lmax = 0;
    unsigned L;
    *cut = 0;
    memset(first, 0, sizeof first);
    memset(last, 0, sizeof last);
    for (i = c + 1; i <= n && rt <= limit; i++) {
        unsigned l = i == n ? 0u : lv[i];
        if (l != COCO__SPLIT_NONE) {
            if (!first[l]) first[l] = i;
            last[l] = i;
        }
        if (i == n || (t[i] & 0xC0) != 0x80 || !coco__ops_u8_inside(t, i)) hard = i;
        if (i < n && !coco__ops_ws(t[i])) rt = i + 1;
    }
    for (L = 0; L < g->nlevels; L++) {
        size_t e, got;
        if (first[L] && (!fmin || first[L] < fmin)) fmin = first[L];
        if (last[L] > lmax) lmax = last[L];
        e = L < lc ? fmin : lmax;
        if (!e) continue;
        got = coco__split_rtrim(t, c, e) - c;
        if (got >= g->minsz) return e;
        if (got > bestlen) { best = e; bestlen = got; }
    }
    *cut = !best;
    if (best) return best;
    if (hard > c) return hard;
    return c + coco__ops_u8_step(t + c, n - c); /* the budget is smaller than this code point */
}

/* Where the chunk after [ps, pe) starts when it repeats the end of it: at the earliest cut at
   or after `lo` (and after ps), moved past whitespace; `none` when there is none. */
COCO__PRIVATE size_t coco__split_overlap(const unsigned char* t, const unsigned char* lv,
                                         size_t ps, size_t pe, size_t lo, size_t none) {
    size_t b = lo > ps ? lo : ps + 1;
    for (; b < pe; b++) {
        size_t s = b;
        if (lv[b] == COCO__SPLIT_NONE) continue;
        while (s < pe && coco__ops_ws(t[s])) s++;
        if (s < pe) return s;
    }
    return none;
}

/* Walks positions forward (offsets only grow), counting code points, lines and columns. */
typedef struct coco__textwalk {
    const unsigned char* t;
    size_t               n;
    coco_text_pos        p;
} coco__textwalk;

COCO__PRIVATE void coco__textwalk_init(coco__textwalk* w, const unsigned char* t, size_t n) {
    w->t = t; w->n = n;
    w->p.offset = 0; w->p.char_offset = 0; w->p.line = 1; w->p.column = 1;
}
COCO__PRIVATE coco_text_pos coco__textwalk_to(coco__textwalk* w, size_t off) {
    coco_text_pos p = w->p;
    while (p.offset < off) {
        unsigned char ch = w->t[p.offset];
        if (ch == '\n') { p.offset++; p.line++; p.column = 1; }
        else if (ch < 0x80) { p.offset++; p.column++; }
        else { p.offset += coco__ops_u8_step(w->t + p.offset, w->n - p.offset); p.column++; }
        p.char_offset++;
    }
    w->p = p;
    return p;
}

/* Checks the desc and resolves defaults and separators into *g. */
COCO__PRIVATE coco_result coco__split_resolve(coco_arena* arena, const coco_split_desc* desc,
                                              coco__split_cfg* g) {
    coco_split_desc d;
    size_t i;
    if (desc) d = *desc;
    else memset(&d, 0, sizeof d);
    memset(g, 0, sizeof *g);
    g->size = COCO__DEF(d.chunk_size, (size_t)1000);
    g->overlap = d.chunk_overlap;
    if (g->overlap >= g->size)
        return coco__arena_fail(arena, COCO_ERR_INVALID_ARG,
                                "coco_split_text: chunk_overlap (%zu) must be smaller than "
                                "chunk_size (%zu)", g->overlap, g->size);
    g->minsz = COCO__DEF(d.min_chunk_size, (g->size - g->overlap) / 4);
    if (g->minsz > g->size)
        return coco__arena_fail(arena, COCO_ERR_INVALID_ARG,
                                "coco_split_text: min_chunk_size (%zu) is larger than "
                                "chunk_size (%zu)", g->minsz, g->size);
    if (d.separators || d.nseparators) {
        if (!d.separators || d.nseparators == 0 || d.nseparators > COCO__SPLIT_MAXLEVELS)
            return coco__arena_fail(arena, COCO_ERR_INVALID_ARG,
                                    "coco_split_text: separators needs 1 to %d strings "
                                    "(got %zu)", COCO__SPLIT_MAXLEVELS, d.nseparators);
        for (i = 0; i < d.nseparators; i++) {
            if (!d.separators[i] || !d.separators[i][0])
                return coco__arena_fail(arena, COCO_ERR_INVALID_ARG,
                                        "coco_split_text: separator %zu is NULL or empty", i);
            coco__split_cfg_add(g, d.separators[i], (unsigned)i, 0);
        }
        g->nlevels = (unsigned)d.nseparators;
    } else {
        const coco__split_langdef* ld = coco__split_lang_def(d.language);
        if (!ld)
            return coco__arena_fail(arena, COCO_ERR_INVALID_ARG,
                                    "coco_split_text: unknown language %d", (int)d.language);
        for (i = 0; ld->seps[i].s; i++)
            coco__split_cfg_add(g, ld->seps[i].s, ld->seps[i].level, ld->seps[i].flags);
        g->glue = ld->glue;
        g->nlevels = ld->nlevels;
        g->fence = ld->fence;
    }
    coco__split_cfg_index(g);
    return COCO_OK;
}

/* ---- hashing embedder --------------------------------------------------------------------- */
#define COCO__OPS_FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define COCO__OPS_FNV_PRIME  UINT64_C(0x100000001b3)

COCO__PRIVATE uint64_t coco__ops_fnv_byte(uint64_t h, unsigned b) {
    return (h ^ (uint64_t)(b & 0xFFu)) * COCO__OPS_FNV_PRIME;
}
/* Feeds a code point as its UTF-8 bytes (any value below 2^21). */
COCO__PRIVATE uint64_t coco__ops_fnv_cp(uint64_t h, uint32_t c) {
    if (c < 0x80) return coco__ops_fnv_byte(h, c);
    if (c < 0x800) {
        h = coco__ops_fnv_byte(h, 0xC0 | (c >> 6));
    } else if (c < 0x10000) {
        h = coco__ops_fnv_byte(h, 0xE0 | (c >> 12));
        h = coco__ops_fnv_byte(h, 0x80 | ((c >> 6) & 0x3F));
    } else {
        h = coco__ops_fnv_byte(h, 0xF0 | (c >> 18));
        h = coco__ops_fnv_byte(h, 0x80 | ((c >> 12) & 0x3F));
        h = coco__ops_fnv_byte(h, 0x80 | ((c >> 6) & 0x3F));
    }
    return coco__ops_fnv_byte(h, 0x80 | (c & 0x3F));
}
COCO__PRIVATE uint64_t coco__ops_mix64(uint64_t h) {
    h ^= h >> 33; h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33; h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

/* Decodes the code point at p (a malformed byte or truncated sequence gives 0xDC00 + its first
   byte) and returns its length in bytes. */
COCO__PRIVATE size_t coco__emb_cp(const unsigned char* p, size_t avail, uint32_t* cp) {
    size_t k = coco__ops_u8_step(p, avail);
    uint32_t b = p[0];
    if (k == 1) *cp = b < 0x80 ? b : 0xDC00u + b;
    else if (k != coco__ops_u8_seqlen(p[0])) *cp = 0xDC00u + b;
    else if (k == 2) *cp = (b & 0x1Fu) << 6 | (p[1] & 0x3Fu);
    else if (k == 3) *cp = (b & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
    else *cp = (b & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
    return k;
}

/* Letters and digits: ASCII alphanumerics, and every non-ASCII code point except controls,
   Latin-1 punctuation and symbols, Unicode spaces, punctuation, arrows, math and box drawing,
   CJK and fullwidth punctuation. */
COCO__PRIVATE int coco__emb_is_word(uint32_t c) {
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c < 0xC0) return c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 || c == 0xB9 ||
                         c == 0xBA || (c >= 0xBC && c <= 0xBE);
    if (c == 0xD7 || c == 0xF7) return 0;
    if (c >= 0x2000 && c <= 0x206F) return 0;
    if (c >= 0x2190 && c <= 0x2BFF) return 0;
    if (c >= 0x2E00 && c <= 0x2E7F) return 0;
    if (c >= 0x3000 && c <= 0x303F) return 0;
    if (c >= 0xFE30 && c <= 0xFE4F) return 0;
    if ((c >= 0xFF00 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
        (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65))
        return 0;
    return c != 0x1680 && c != 0xFEFF && c != 0xFFFD;
}

/* Lower case for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic. */
COCO__PRIVATE uint32_t coco__emb_fold(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c < 0xC0) return c;
    if (c <= 0xDE) return c == 0xD7 ? c : c + 32;
    if (c >= 0x100 && c <= 0x137) return c | 1u;
    if (c >= 0x139 && c <= 0x148) return (c & 1u) ? c + 1 : c;
    if (c >= 0x14A && c <= 0x177) return c | 1u;
    if (c >= 0x179 && c <= 0x17E) return (c & 1u) ? c + 1 : c;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

/* Feeds the folded code points of a word. */
COCO__PRIVATE uint64_t coco__emb_feed(uint64_t h, const unsigned char* p, size_t n) {
    size_t i = 0;
    uint32_t c;
    while (i < n) {
        i += coco__emb_cp(p + i, n - i, &c);
        h = coco__ops_fnv_cp(h, coco__emb_fold(c));
    }
    return h;
}

/* Adds +-w to the feature's bucket.  Weights are small integers, so the sums are exact in
   float (below 2^24) and the same on every platform. */
COCO__PRIVATE void coco__emb_add(float* out, size_t dim, uint64_t h, float w) {
    size_t i;
    h = coco__ops_mix64(h);
    i = (size_t)((h >> 1) % (uint64_t)dim);
    if (h & 1u) out[i] -= w;
    else out[i] += w;
}

#define COCO__EMB_MARK_BEGIN 2u   /* "<" of the 3-grams (never a word code point) */
#define COCO__EMB_MARK_END   3u   /* ">" */

/* The character 3-grams of the word [p, p+n) with end marks, each weighing about
   16/sqrt(count) (so together about as much as the word): round(16/sqrt(m)) for m code
   points, at least 1. */
COCO__PRIVATE void coco__emb_trigrams(float* out, size_t dim, uint64_t base,
                                      const unsigned char* p, size_t n) {
    uint64_t m = 0;
    uint32_t a, b, c;
    size_t i = 0;
    unsigned w;
    while (i < n) { i += coco__ops_u8_step(p + i, n - i); m++; }
    if (m > 1024) m = 1024;
    for (w = 16; w > 1 && (uint64_t)(2 * w - 1) * (2 * w - 1) * m > 1024; w--) {}
    base = coco__ops_fnv_byte(base, 't');
    a = COCO__EMB_MARK_BEGIN;
    i = coco__emb_cp(p, n, &b);
    b = coco__emb_fold(b);
    for (;;) {
        uint64_t h;
        if (i < n) {
            i += coco__emb_cp(p + i, n - i, &c);
            c = coco__emb_fold(c);
        } else {
            c = COCO__EMB_MARK_END;
        }
        h = coco__ops_fnv_cp(coco__ops_fnv_cp(coco__ops_fnv_cp(base, a), b), c);
        coco__emb_add(out, dim, h, (float)w);
        if (c == COCO__EMB_MARK_END) break;
        a = b;
        b = c;
    }
}

/* sqrt without libm: scaled into [1, 4), then Newton steps; 0 for x <= 0 or NaN. */
COCO__PRIVATE double coco__ops_sqrt(double x) {
    double s = 1.0, y;
    int i;
    if (!(x > 0.0)) return 0.0;
    if (x - x != 0.0) return x;                 /* infinity */
    while (x >= 4.0) { x *= 0.25; s *= 2.0; }
    while (x < 1.0) { x *= 4.0; s *= 0.5; }
    y = 0.5 * (x + 1.0);
    for (i = 0; i < 6; i++) y = 0.5 * (y + x / y);
    return y * s;
}

/* ---- public wrappers ---------------------------------------------------------------------- */
COCO_API coco_result coco_split_text(coco_arena* arena, const char* text, size_t len,
                                     const coco_split_desc* desc, coco_chunk** out, size_t* n) {
    const unsigned char* t = (const unsigned char*)text;
    coco__split_cfg* g;
    unsigned char* lv;
    coco__buf spans;
    coco_chunk* chunks = NULL;
    coco__textwalk ws, we;
    size_t pos = 0, ps = 0, pe = 0, m, i;
    unsigned lc = 0;
    int have_prev = 0;
    coco_result rc;
    if (!arena || !out || !n) return COCO_ERR_INVALID_ARG;
    if (!text && len)
        return coco__arena_fail(arena, COCO_ERR_INVALID_ARG, "coco_split_text: text is NULL");
    if (len >= SIZE_MAX / 2)
        return coco__arena_fail(arena, COCO_ERR_LIMIT, "coco_split_text: text too long");
    g = (coco__split_cfg*)coco__alloc(&arena->a, sizeof *g);
    if (!g) return coco__arena_fail(arena, COCO_ERR_NOMEM, "coco_split_text: out of memory");
    if ((rc = coco__split_resolve(arena, desc, g)) != COCO_OK) {
        coco__free(&arena->a, g, sizeof *g);
        return rc;
    }
    if (!(lv = (unsigned char*)coco__alloc(&arena->a, len + 1))) {
        coco__free(&arena->a, g, sizeof *g);
        return coco__arena_fail(arena, COCO_ERR_NOMEM, "coco_split_text: out of memory");
    }
    coco__split_levels(t, len, g, lv);
    coco__buf_init(&spans, &arena->a);
    rc = COCO_OK;
    for (;;) {
        size_t c = pos, E, span[2];
        int ovl = have_prev && g->overlap, cut = 0;
        while (c < len && coco__ops_ws(t[c])) c++;
        if (c >= len) break;
        /* new text as if chunk_size - chunk_overlap, then up to chunk_overlap bytes of the
           previous chunk in front, as long as the whole stays within chunk_size; when only a
           cut inside a word fits that, the new text may take all of chunk_size */
        E = coco__split_pick(t, len, lv, g, c, lc, ovl ? g->size - g->overlap : g->size, &cut);
        if (ovl && cut) {
            size_t E2 = coco__split_pick(t, len, lv, g, c, lc, g->size, &cut);
            if (!cut) E = E2;
        }
        span[0] = c;
        span[1] = coco__split_rtrim(t, c, E);
        if (ovl) {
            size_t lo = pe - COCO__MIN(pe, g->overlap);
            if (span[1] > g->size && span[1] - g->size > lo) lo = span[1] - g->size;
            span[0] = coco__split_overlap(t, lv, ps, pe, lo, c);
        }
        if (coco__buf_put(&spans, span, sizeof span)) { rc = COCO_ERR_NOMEM; break; }
        lc = E >= len ? 0u : lv[E] != COCO__SPLIT_NONE ? lv[E] : g->nlevels;
        ps = span[0];
        pe = span[1];
        pos = E;
        have_prev = 1;
    }
    coco__free(&arena->a, lv, len + 1);
    coco__free(&arena->a, g, sizeof *g);
    m = spans.len / (2 * sizeof(size_t));
    if (rc == COCO_OK && m) {
        chunks = (coco_chunk*)coco_arena_alloc(arena, m * sizeof *chunks);
        if (!chunks) rc = COCO_ERR_NOMEM;
    }
    if (rc != COCO_OK) {
        coco__buf_free(&spans);
        return coco__arena_fail(arena, rc, "coco_split_text: out of memory");
    }
    coco__textwalk_init(&ws, t, len);
    coco__textwalk_init(&we, t, len);
    for (i = 0; i < m; i++) {
        size_t span[2];
        memcpy(span, spans.ptr + i * sizeof span, sizeof span);
        chunks[i].text = text + span[0];
        chunks[i].len = span[1] - span[0];
        chunks[i].start = coco__textwalk_to(&ws, span[0]);
        chunks[i].end = coco__textwalk_to(&we, span[1]);
    }
    coco__buf_free(&spans);
    *out = chunks;
    *n = m;
    return COCO_OK;
}

COCO__PRIVATE int coco__ops_ieq(const char* a, const char* b) {
    for (;; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
        if (!x) return 1;
    }
}

COCO_API coco_lang coco_lang_from_name(const char* name) {
    static const struct { const char* name; coco_lang lang; } names[] = {
        {"text", COCO_LANG_TEXT}, {"txt", COCO_LANG_TEXT}, {"plain", COCO_LANG_TEXT},
        {"markdown", COCO_LANG_MARKDOWN}, {"md", COCO_LANG_MARKDOWN},
        {"mdx", COCO_LANG_MARKDOWN}, {"markdn", COCO_LANG_MARKDOWN},
        {"c", COCO_LANG_C}, {"h", COCO_LANG_C}, {"cpp", COCO_LANG_C}, {"c++", COCO_LANG_C},
        {"cc", COCO_LANG_C}, {"cxx", COCO_LANG_C}, {"hpp", COCO_LANG_C}, {"hh", COCO_LANG_C},
        {"hxx", COCO_LANG_C},
        {"python", COCO_LANG_PYTHON}, {"py", COCO_LANG_PYTHON}, {"pyi", COCO_LANG_PYTHON},
        {"javascript", COCO_LANG_JS}, {"js", COCO_LANG_JS}, {"mjs", COCO_LANG_JS},
        {"cjs", COCO_LANG_JS}, {"jsx", COCO_LANG_JS}, {"typescript", COCO_LANG_JS},
        {"ts", COCO_LANG_JS}, {"tsx", COCO_LANG_JS}, {"mts", COCO_LANG_JS},
        {"rust", COCO_LANG_RUST}, {"rs", COCO_LANG_RUST},
        {"go", COCO_LANG_GO}, {"golang", COCO_LANG_GO},
        {"java", COCO_LANG_JAVA}, {"csharp", COCO_LANG_JAVA}, {"c#", COCO_LANG_JAVA},
        {"cs", COCO_LANG_JAVA}, {"kotlin", COCO_LANG_JAVA}, {"kt", COCO_LANG_JAVA},
        {"kts", COCO_LANG_JAVA}};
    const char *ext = NULL, *p;
    size_t i, k;
    if (!name) return COCO_LANG_TEXT;
    for (p = name; *p; p++) {
        if (*p == '/' || *p == '\\') ext = NULL;
        else if (*p == '.') ext = p + 1;
    }
    for (k = 0; k < 2; k++) {
        const char* s = k == 0 ? name : ext;
        if (!s) continue;
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (coco__ops_ieq(s, names[i].name)) return names[i].lang;
    }
    return COCO_LANG_TEXT;
}

COCO_API coco_result coco_hash_embed_ex(const char* text, size_t len,
                                        const coco_hash_embed_desc* desc, float* out,
                                        size_t dim) {
    const unsigned char* t = (const unsigned char*)text;
    uint32_t feats = desc && desc->features ? desc->features : 7u;
    uint32_t seed = desc ? desc->seed : 0u;
    uint64_t base = COCO__OPS_FNV_OFFSET;
    const unsigned char* prev = NULL;
    size_t prev_len = 0, i = 0, k;
    double ss = 0.0;
    if (!out || dim == 0 || (!text && len) || (feats & ~7u)) return COCO_ERR_INVALID_ARG;
    for (k = 0; k < dim; k++) out[k] = 0.0f;
    for (k = 0; k < 4; k++) base = coco__ops_fnv_byte(base, (unsigned)(seed >> (8 * k)));
    while (i < len) {
        size_t ws, step;
        uint32_t c;
        step = coco__emb_cp(t + i, len - i, &c);
        if (!coco__emb_is_word(c)) { i += step; continue; }
        ws = i;
        i += step;
        while (i < len) {
            step = coco__emb_cp(t + i, len - i, &c);
            if (!coco__emb_is_word(c)) break;
            i += step;
        }
        if (feats & COCO_EMBED_WORDS)
            coco__emb_add(out, dim, coco__emb_feed(coco__ops_fnv_byte(base, 'w'), t + ws, i - ws),
                          16.0f);
        if ((feats & COCO_EMBED_BIGRAMS) && prev) {
            uint64_t h = coco__emb_feed(coco__ops_fnv_byte(base, 'b'), prev, prev_len);
            h = coco__emb_feed(coco__ops_fnv_byte(h, 0), t + ws, i - ws);
            coco__emb_add(out, dim, h, 8.0f);
        }
        if (feats & COCO_EMBED_TRIGRAMS) coco__emb_trigrams(out, dim, base, t + ws, i - ws);
        prev = t + ws;
        prev_len = i - ws;
    }
    for (k = 0; k < dim; k++) ss += (double)out[k] * (double)out[k];
    if (ss > 0.0) {
        double norm = coco__ops_sqrt(ss);
        for (k = 0; k < dim; k++) out[k] = (float)((double)out[k] / norm);
    }
    return COCO_OK;
}

COCO_API coco_result coco_hash_embed(const char* text, size_t len, float* out, size_t dim) {
    return coco_hash_embed_ex(text, len, NULL, out, dim);
}

COCO_API float coco_dot(const float* a, const float* b, size_t dim) {
    double s = 0.0;
    size_t i;
    if (!a || !b) return 0.0f;
    for (i = 0; i < dim; i++) s += (double)a[i] * (double)b[i];
    return (float)s;
}

COCO_API float coco_cosine(const float* a, const float* b, size_t dim) {
    double ab = 0.0, aa = 0.0, bb = 0.0, r;
    size_t i;
    if (!a || !b) return 0.0f;
    for (i = 0; i < dim; i++) {
        ab += (double)a[i] * (double)b[i];
        aa += (double)a[i] * (double)a[i];
        bb += (double)b[i] * (double)b[i];
    }
    if (!(aa > 0.0) || !(bb > 0.0)) return 0.0f;
    r = ab / (coco__ops_sqrt(aa) * coco__ops_sqrt(bb));
    return (float)(r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r);
}

COCO_API float coco_l2(const float* a, const float* b, size_t dim) {
    double s = 0.0;
    size_t i;
    if (!a || !b) return 0.0f;
    for (i = 0; i < dim; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return (float)coco__ops_sqrt(s);
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
