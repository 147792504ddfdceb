// cocoindex_localfs.h - v0.1.0 - local files for cocoindex.h: globs, walks, file objects and
// file targets - MIT licence, see end of file
//
// Include cocoindex.h first.  In the one C or C++ file that defines COCOINDEX_IMPLEMENTATION,
// include this header after cocoindex.h: the implementation comes with it (or define
// COCOINDEX_LOCALFS_IMPLEMENTATION there).  POSIX (Linux); C99 or C++11.
//
// QUICK START (markdown in, transformed files out)
//     static coco_target* out_dir;
//     static coco_result per_file(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
//         const coco_localfs_file* f = coco_localfs_file_of(&a[0]);
//         coco_bytes text;
//         coco_result rc = coco_localfs_file_read_text(f, ctx, COCO_LOCALFS_TEXT_REPLACE, &text);
//         if (rc != COCO_OK) return rc;                      the message names the file
//         ... transform ...
//         return coco_localfs_declare_file(ctx, out_dir, coco_localfs_file_path(f), p, len);
//     }
//     static const coco_fn per_file_fn = { "per_file", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL,
//                                          per_file };            memo = 1: see FILE OBJECTS below
//     static coco_result app_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
//         const char* inc[] = { "**/*.md" };
//         coco_localfs_walk_desc d = {0};
//         coco_localfs_items it;
//         d.context_key = "src"; d.recursive = 1; d.include = inc; d.ninclude = 1;
//         coco_result rc = coco_localfs_walk(ctx, &d, &it);
//         if (rc != COCO_OK) return rc;
//         return coco_mount_each(ctx, &per_file_fn, it.keys, it.items, it.n);
//     }
//     setup:  coco_env_provide(env, "src", (void*)"docs", NULL, 0);
//             coco_localfs_target_desc td = {0};  td.root = "out";
//             coco_localfs_target_create(env, &td, &out_dir);
//
// CONTENTS (grep for the >>tag)
//     >>lfs_api_glob  >>lfs_api_walk  >>lfs_api_file  >>lfs_api_target
//     >>lfs_impl_base >>lfs_impl_glob >>lfs_impl_text >>lfs_impl_file >>lfs_impl_walk
//     >>lfs_impl_target
//
// GLOBS (globset syntax, matched against relative paths with '/' separators)
//     *        any characters within one path segment (never '/')
//     **       as a whole segment: any number of segments.  "**/*.md" matches a.md, d/a.md,
//              d/e/a.md; "a/**" matches everything under a (not a itself); "**" alone
//              matches everything.  "**" inside a segment ("a**b") is a plain "*".
//     ?        one character (a UTF-8 sequence, not '/')
//     [a-z] [!x] [^x]   one character (not '/') in / not in the set; "]" first is literal
//     {a,b}    alternatives, nestable, may hold any of the above ("{src/**,*.md}")
//     \c       the character c literally
//     A pattern ending in '/' means everything under it ("build/" = "build/**").
//     Deliberate difference from CocoIndex's Rust matcher: there, globset's default options
//     let '*' cross '/'; here '*' stays within one segment, as CocoIndex documents it.
//     Selection: a file is selected when it matches some include pattern (no includes =
//     every file) and is not excluded.  Exclude patterns are checked against the file's path
//     and against each of its ancestor directories; the deepest match decides, and at equal
//     depth the later pattern wins; a pattern starting with '!' re-includes ("build",
//     "!build/keep.md" excludes build/ but keeps build/keep.md).  A directory is entered only
//     when some include could match inside it and it is not excluded, or some later '!'
//     pattern could match inside it.  Patterns compile to small automata: matching costs
//     O(path length x pattern size), never exponential, never deep recursion.
//
// WALKING
//     coco_localfs_walk lists the files of a directory (optionally recursive) in sorted
//     order, as keys (relative paths) and items ("localfs.file" objects) for coco_mount_each.
//     It reads no content: one fstatat per selected file, none for files the globs reject.
//     Symlinks to files are listed under the link's path; symlinks to directories are
//     followed once: a directory already listed (or an ancestor: a loop) is not listed again.
//     Dangling symlinks, fifos, sockets and devices are skipped, as are files larger than
//     max_file_size and this header's own temporary files ('.NAME.coco-tmp.PID').
//     Errors are never silent deletions: a file that cannot be stat'ed or read (by its
//     permission bits) is still listed, with coco_localfs_file_error() set; a directory that
//     cannot be read is listed as an item with the error, the component is marked failed
//     (so none of the files under it are deleted this run) and COCO_ERR_IO is returned with
//     `out` still filled: mount it, then return the error.
//
// FILE OBJECTS AND MEMO
//     A file's memo key is [base, relative path], where base is "key:NAME" when the walk used
//     a context key (moving the directory and providing the key again keeps every memo) and
//     else the directory's absolute path.  Its memo state is two-level: [size, mtime ns] from
//     the walk (no system call), then the BLAKE3 fingerprint of the content, read in 64 KiB
//     blocks only when the first changed.  Touching a file re-runs nothing.
//
// FILE TARGETS
//     coco_localfs_target_create registers a target connector that owns files under a root
//     directory; coco_localfs_declare_file declares one (key = relative path, value = bytes).
//     Writes go to '.NAME.coco-tmp.PID' in the same directory, then rename over the file;
//     parent directories are created as needed and removed again when a delete leaves them
//     empty (never the root).  A file is ours when a tracking record says we wrote it: a file
//     found at a path we never wrote (a foreign file) is an error naming it unless `overwrite`
//     is set, except when it already holds exactly the desired bytes (our own write from a
//     crashed run).  Deletes remove only a file whose content is one we wrote; anything else
//     (a foreign or hand-edited file) is left alone.  Deleting a missing file succeeds.
//     Durability: by default one syncfs() per applied batch; COCO_LOCALFS_FSYNC_FILE fsyncs
//     every file and its directory; a failed fsync fails the batch.
//
// LIMITS (v0.1)
//     No live watching yet (inotify is a later step).  No nested directory targets: a target
//     is one root directory.  Linux only.
//
// THREADING
//     A compiled coco_glob may be used by any number of threads.  File objects are immutable
//     and may be read from any thread while the component that walked them runs.  A target's
//     apply may run on any engine thread; it keeps no mutable shared state.
//
#if defined(COCOINDEX_IMPLEMENTATION) && !defined(COCOINDEX_LOCALFS_IMPLEMENTATION)
#define COCOINDEX_LOCALFS_IMPLEMENTATION
#endif

#ifndef COCOINDEX_LOCALFS_H_INCLUDED
#define COCOINDEX_LOCALFS_H_INCLUDED
#ifndef COCOINDEX_H_INCLUDED
#error "include cocoindex.h before cocoindex_localfs.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ==============================================================================================
   >>lfs_api_glob -- include/exclude glob sets (Public)
   ============================================================================================== */
typedef struct coco_glob coco_glob;

typedef struct coco_glob_desc {
    const char* const* include;      /* patterns a file must match one of; none = all files  */
    size_t             ninclude;
    const char* const* exclude;      /* patterns excluding files and directories; '!' first  */
    size_t             nexclude;     /* re-includes (later patterns win)                     */
    coco_allocator     allocator;    /* all zero = malloc/realloc/free                       */
} coco_glob_desc;

#define COCO_GLOB_MAX_PATTERN 4096   /* bytes per pattern  */
#define COCO_GLOB_MAX_NESTING 32     /* nested {braces}    */

/* coco_glob_compile
   Compiles the include and exclude lists of `desc` (syntax and selection rules at the top of
   this file) into one matcher.  On failure writes a message naming the bad pattern and the
   byte offset into `err` (`cap` bytes, NUL-terminated; err may be NULL) and returns
   COCO_ERR_INVALID_ARG ("unclosed '['", "unmatched '}'", "dangling '\'", "invalid range",
   "'!' in an include pattern", too long, nested too deep) or COCO_ERR_NOMEM.
   Ownership: release with coco_glob_destroy(); destroying NULL is a no-op.
   Thread-safety: any thread; the compiled matcher is immutable. */
COCO_API coco_result coco_glob_compile(const coco_glob_desc* desc, coco_glob** out, char* err,
                                       size_t cap);

/* coco_glob_destroy
   Frees a matcher from coco_glob_compile; NULL is a no-op.
   Thread-safety: once no other thread uses the matcher. */
COCO_API void        coco_glob_destroy(coco_glob* g);

/* coco_glob_match
   1 if the file at `relpath` (relative, '/'-separated, NUL-terminated) is selected: it matches
   some include (or there are none) and is not excluded.  0 otherwise (also for NULL).  Never
   fails: when the scratch memory of a big pattern cannot be allocated, the answer is 1 (listing
   one file too many is harmless; dropping one would delete its outputs).
   Thread-safety: any number of threads on one matcher. */
COCO_API int coco_glob_match(const coco_glob* g, const char* relpath);

/* coco_glob_dir_may_match
   0 when no file under the directory `reldir` can be selected, so a walk need not enter it:
   no include can match below it, or it is excluded (itself, by an ancestor, or by a pattern
   covering everything below it, like node_modules/ and two stars) and no later '!' pattern
   can match below it.  1 otherwise ("" = the root: always 1).  Never 0 for a directory
   holding a file that coco_glob_match selects.
   Thread-safety: any number of threads on one matcher. */
COCO_API int coco_glob_dir_may_match(const coco_glob* g, const char* reldir);

/* ==============================================================================================
   >>lfs_api_walk -- listing a directory (Public)
   ============================================================================================== */
typedef struct coco_localfs_file coco_localfs_file;

typedef struct coco_localfs_walk_desc {
    const char*        path;         /* the directory; or NULL and context_key:             */
    const char*        context_key;  /* a context key whose value (coco_env_provide) is the  */
                                     /* directory path (const char*); its NAME is the file's */
                                     /* memo identity, so the directory may move            */
    int                recursive;    /* 0 = the directory's own files only                   */
    const char* const* include;      /* glob patterns (see the top of this file)             */
    size_t             ninclude;
    const char* const* exclude;
    size_t             nexclude;
    const coco_glob*   glob;         /* optional precompiled matcher; replaces the lists     */
    uint64_t           max_file_size;/* bytes; larger files are skipped; 0 = no limit        */
} coco_localfs_walk_desc;

typedef struct coco_localfs_items {
    const coco_value* keys;          /* COCO_STR: relative paths, '/'-separated, sorted      */
    const coco_value* items;         /* COCO_OBJECT of type "localfs.file", same order       */
    size_t            n;
    size_t            nerrors;       /* items listed with an error (coco_localfs_file_error) */
    size_t            nskipped;      /* files skipped for max_file_size                      */
    size_t            ndirs;         /* directories read (the root included)                 */
} coco_localfs_items;

/* coco_localfs_walk
   Lists the selected files under the directory of `desc` into `out`, sorted by relative path
   (bytewise).  Everything lives in coco_ctx_arena(ctx): valid until the component ends, which
   is what coco_mount_each needs.  Reads no content (see WALKING above for the rules).
   Errors: COCO_ERR_INVALID_ARG (neither or both of path/context_key, bad pattern),
   COCO_ERR_NOT_FOUND (context key not provided), COCO_ERR_IO (the directory cannot be opened;
   or a subdirectory cannot be read: `out` is then still filled, with an error item for it,
   and the component is marked failed so nothing below it is deleted), COCO_ERR_NOMEM.  The
   message, naming the path, is set on the component (coco_ctx_fail).
   Thread-safety: the component's thread. */
COCO_API coco_result coco_localfs_walk(coco_ctx* ctx, const coco_localfs_walk_desc* desc,
                                       coco_localfs_items* out);

/* coco_localfs_mount_walk
   Walks like coco_localfs_walk and mounts `each(file)` for every file at
   current / key / Symbol(each->name) / relative path.  In a live update (coco_update_desc.live)
   the directory is then watched with inotify: a file written (close after write), created,
   moved in or out, or deleted re-runs or deletes only its child; a new subdirectory is
   watched and its files picked up; a lost event queue (IN_Q_OVERFLOW) or a removed
   subdirectory triggers a full pass.  Without inotify it falls back to a full pass every
   second.  Errors: those of coco_localfs_walk (the listed files are mounted even then, so an
   unreadable subdirectory deletes nothing).  Thread-safety: the component's thread. */
COCO_API coco_result coco_localfs_mount_walk(coco_ctx* ctx, coco_value key,
                                             const coco_localfs_walk_desc* desc,
                                             const coco_fn* each);

/* ==============================================================================================
   >>lfs_api_file -- file objects (Public)
   ============================================================================================== */
#define COCO_LOCALFS_FILE_TYPE "localfs.file"

/* coco_localfs_file_of
   The file behind an item of coco_localfs_walk, or NULL when `v` is not a localfs file.
   Thread-safety: any thread. */
COCO_API const coco_localfs_file* coco_localfs_file_of(const coco_value* v);

/* Accessors.  Strings are NUL-terminated and live as long as the file.  For "d/e/a.tar.gz":
   path "d/e/a.tar.gz", name "a.tar.gz", stem "a.tar", suffix ".gz", parent "d/e"; for
   ".bashrc": stem ".bashrc", suffix "".  A root-level file has parent "".  `dir` is the
   walked directory's absolute path; size and mtime come from the walk.
   Thread-safety: any thread. */
COCO_API const char* coco_localfs_file_path(const coco_localfs_file* f);
COCO_API const char* coco_localfs_file_name(const coco_localfs_file* f);
COCO_API const char* coco_localfs_file_stem(const coco_localfs_file* f);
COCO_API const char* coco_localfs_file_suffix(const coco_localfs_file* f);
COCO_API const char* coco_localfs_file_parent(const coco_localfs_file* f);
COCO_API const char* coco_localfs_file_dir(const coco_localfs_file* f);
COCO_API uint64_t    coco_localfs_file_size(const coco_localfs_file* f);
COCO_API int64_t     coco_localfs_file_mtime_ns(const coco_localfs_file* f);

/* coco_localfs_file_error
   NULL for a healthy item; else why it could not be listed properly ("... permission
   denied"); such an item stands for a file (or directory) that exists but cannot be read.
   Thread-safety: any thread. */
COCO_API const char* coco_localfs_file_error(const coco_localfs_file* f);

/* coco_localfs_file_read
   Reads the whole file (max_bytes 0) or its first `max_bytes` bytes into
   coco_ctx_arena(ctx); out->ptr is followed by a NUL byte not counted in out->len.
   Errors: COCO_ERR_IO (also for an item listed with an error), the message naming the path is
   set on the component (coco_ctx_fail); COCO_ERR_NOMEM; COCO_ERR_NOT_FOUND when the file is
   gone (deleted after it was listed): the component is told with coco_ctx_item_gone, so if
   the body returns the error its outputs are deleted and no failure is reported.
   Thread-safety: the component's thread. */
COCO_API coco_result coco_localfs_file_read(const coco_localfs_file* f, coco_ctx* ctx,
                                            size_t max_bytes, coco_bytes* out);

typedef enum coco_localfs_text_mode {
    COCO_LOCALFS_TEXT_REPLACE = 0,   /* invalid UTF-8 / UTF-16 becomes U+FFFD (default)       */
    COCO_LOCALFS_TEXT_STRICT,        /* invalid input is an error naming the byte offset      */
    COCO__LOCALFS_TEXT_FORCE_U32 = 0x7FFFFFFF
} coco_localfs_text_mode;

/* coco_localfs_file_read_text
   Reads the whole file as text and returns UTF-8 (NUL-terminated, in the component's arena):
   a UTF-8 BOM is dropped, UTF-16LE/BE with a BOM is converted, invalid sequences are
   replaced by U+FFFD (one per maximal invalid subpart) or, in STRICT mode, fail with
   COCO_ERR_DECODE and a message naming the file and the byte offset in the file.
   Errors: as coco_localfs_file_read, plus COCO_ERR_DECODE.
   Thread-safety: the component's thread. */
COCO_API coco_result coco_localfs_file_read_text(const coco_localfs_file* f, coco_ctx* ctx,
                                                 coco_localfs_text_mode mode, coco_bytes* out);

/* coco_localfs_decode_text
   The conversion of coco_localfs_file_read_text on bytes in memory: the result is a
   NUL-terminated UTF-8 copy in `arena`.  On COCO_ERR_DECODE (STRICT only) *bad_offset (may be
   NULL) is the offset of the first invalid byte in `data`.
   Errors: COCO_ERR_DECODE, COCO_ERR_NOMEM.  Thread-safety: the arena's thread. */
COCO_API coco_result coco_localfs_decode_text(coco_arena* arena, const void* data, size_t len,
                                              coco_localfs_text_mode mode, coco_bytes* out,
                                              size_t* bad_offset);

/* ==============================================================================================
   >>lfs_api_target -- a directory of files as a target (Public)
   ============================================================================================== */
typedef enum coco_localfs_fsync {
    COCO_LOCALFS_FSYNC_BATCH = 0,    /* one syncfs() of the root's filesystem per batch       */
    COCO_LOCALFS_FSYNC_FILE,         /* fsync every written file and its directory            */
    COCO_LOCALFS_FSYNC_NONE,         /* none: survives a crash of the process, not power loss */
    COCO__LOCALFS_FSYNC_FORCE_U32 = 0x7FFFFFFF
} coco_localfs_fsync;

typedef struct coco_localfs_target_desc {
    const char*        name;         /* stable connector name (persisted); NULL = "localfs"   */
    const char*        root;         /* the directory files are declared under (created on    */
                                     /* the first write); relative = to the current directory */
    int                overwrite;    /* 1 = replace foreign files at declared paths           */
    coco_localfs_fsync fsync;
} coco_localfs_target_desc;

/* coco_localfs_target_create
   Registers a file target under desc->name (coco_target_register), rooted at desc->root.
   Register it in every process that updates or drops the app: drop finds it by name.
   Errors: COCO_ERR_INVALID_ARG (no root, name taken; detail in coco_env_errmsg), COCO_ERR_IO
   (the current directory is unknown), COCO_ERR_NOMEM.
   Ownership: lives with the env.  Thread-safety: before updates, on one thread. */
COCO_API coco_result coco_localfs_target_create(coco_env* env,
                                                const coco_localfs_target_desc* desc,
                                                coco_target** out);

/* coco_localfs_declare_file
   Declares that `target` (made by coco_localfs_target_create) should hold a file at `relpath`
   (relative to its root, '/'-separated) with these `len` bytes.  The bytes are copied.
   Errors: COCO_ERR_INVALID_ARG naming the path when it is empty, absolute, has empty, "." or
   ".." segments, or a name reserved for temporary files; errors of coco_declare.
   Thread-safety: the component's thread. */
COCO_API coco_result coco_localfs_declare_file(coco_ctx* ctx, coco_target* target,
                                               const char* relpath, const void* content,
                                               size_t len);

/* coco_localfs_dir_target
   A directory target at `reldir` under `parent` (a target of coco_localfs_target_create or
   another directory target): the directory is created before this returns, in its own small
   component (coco_mount_target), and `*out` declares files (and further directory targets)
   relative to it.  When no longer declared, its files are deleted first and then the
   directory, if it is empty (files we did not create keep it).
   Errors: COCO_ERR_INVALID_ARG naming a bad `reldir`; those of coco_mount_target.
   Thread-safety: the component's thread. */
COCO_API coco_result coco_localfs_dir_target(coco_ctx* ctx, coco_target* parent,
                                             const char* reldir, coco_target** out);

#ifdef __cplusplus
} /* extern "C" */
#endif
#endif /* COCOINDEX_LOCALFS_H_INCLUDED */

/* ==============================================================================================
   IMPLEMENTATION
   ============================================================================================== */
#if defined(COCOINDEX_LOCALFS_IMPLEMENTATION) && !defined(COCOINDEX_LOCALFS_IMPL_INCLUDED)
#define COCOINDEX_LOCALFS_IMPL_INCLUDED 1
#if !defined(COCOINDEX_IMPL_INCLUDED)
#error "cocoindex_localfs.h: implement it in the file defining COCOINDEX_IMPLEMENTATION"
#endif

/* ==============================================================================================
   >>lfs_impl_base -- includes, allocation, growable buffers, messages, path checks (Private)
   ============================================================================================== */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#if !defined(COCO_NO_THREADS)
#include <pthread.h>
#endif

#define COCO__LFS_ERRCAP 512
#if defined(__linux__) && defined(_GNU_SOURCE)
#  define COCO__LFS_HAVE_SYNCFS 1
#else
#  define COCO__LFS_HAVE_SYNCFS 0
#endif
#if defined(DT_UNKNOWN) && defined(DT_DIR) && defined(DT_REG) && defined(DT_LNK)
#  define COCO__LFS_DTYPE(e) ((int)(e)->d_type)
#  define COCO__LFS_DT_UNKNOWN DT_UNKNOWN
#  define COCO__LFS_DT_DIR DT_DIR
#  define COCO__LFS_DT_REG DT_REG
#  define COCO__LFS_DT_LNK DT_LNK
#else
#  define COCO__LFS_DTYPE(e) 0
#  define COCO__LFS_DT_UNKNOWN 0
#  define COCO__LFS_DT_DIR (-1)
#  define COCO__LFS_DT_REG (-2)
#  define COCO__LFS_DT_LNK (-3)
#endif

#define COCO__LFS_ENV_ARENA(env)  coco_env_arena(env)

COCO__PRIVATE void* coco__lfs_alloc(const coco_allocator* a, size_t n) {
    if (a && a->alloc) return a->alloc(a->user, n);
    return malloc(n);
}
COCO__PRIVATE void coco__lfs_free(const coco_allocator* a, void* p, size_t n) {
    if (!p) return;
    if (a && a->free) a->free(a->user, p, n);
    else free(p);
}
/* realloc: a big block grows in place or is remapped, not copied into fresh pages */
COCO__PRIVATE void* coco__lfs_realloc(const coco_allocator* a, void* p, size_t o, size_t n) {
    if (!p) return coco__lfs_alloc(a, n);
    if (a && a->realloc) return a->realloc(a->user, p, o, n);
    if (a && a->alloc) {
        void* q = a->alloc(a->user, n);
        if (q) { memcpy(q, p, o < n ? o : n); coco__lfs_free(a, p, o); }
        return q;
    }
    return realloc(p, n);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
COCO__PRIVATE void coco__lfs_msg(char* err, size_t cap, const char* fmt, ...) {
    va_list ap;
    if (!err || !cap) return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* A growable byte buffer for transient work; `a` NULL = malloc. */
typedef struct coco__lfs_vec {
    char*                 p;
    size_t                len, cap;
    const coco_allocator* a;
} coco__lfs_vec;

COCO__PRIVATE void coco__lfs_vec_init(coco__lfs_vec* v, const coco_allocator* a) {
    v->p = NULL;
    v->len = v->cap = 0;
    v->a = a;
}
COCO__PRIVATE void coco__lfs_vec_free(coco__lfs_vec* v) {
    coco__lfs_free(v->a, v->p, v->cap);
    v->p = NULL;
    v->len = v->cap = 0;
}
COCO__PRIVATE int coco__lfs_vec_reserve(coco__lfs_vec* v, size_t add) {
    size_t ncap;
    char* np;
    if (add <= v->cap - v->len) return 0;
    if (add > (size_t)-1 / 2 - v->len) return -1;
    ncap = v->cap ? v->cap : 64;
    while (ncap - v->len < add) ncap *= 2;
    if (!(np = (char*)coco__lfs_realloc(v->a, v->p, v->cap, ncap))) return -1;
    v->p = np;
    v->cap = ncap;
    return 0;
}
COCO__PRIVATE int coco__lfs_vec_put(coco__lfs_vec* v, const void* src, size_t n) {
    if (coco__lfs_vec_reserve(v, n)) return -1;
    if (n) memcpy(v->p + v->len, src, n);
    v->len += n;
    return 0;
}

/* One UTF-8 sequence at s[0..n): returns its length and sets *cp when it is well formed
   (shortest form, no surrogates, at most U+10FFFF); else returns 0 and sets *bad to the length
   of the maximal invalid subpart (at least 1), as Unicode recommends for U+FFFD. */
COCO__PRIVATE size_t coco__lfs_utf8_seq(const unsigned char* s, size_t n, uint32_t* cp,
                                       size_t* bad) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, k;
    uint32_t v;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { need = 1; v = c & 0x1Fu; }
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2; v = c & 0x0Fu;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3; v = c & 0x07u;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else { *bad = 1; return 0; }
    for (k = 1; k <= need; k++) {
        unsigned b;
        if (k >= n) { *bad = k; return 0; }
        b = s[k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) { *bad = k; return 0; }
        v = (v << 6) | (b & 0x3Fu);
    }
    *cp = v;
    return need + 1;
}

/* The next character of a path or pattern: a code point, or 0x110000 + byte for a byte that
   does not start a well-formed sequence (so such bytes still match themselves). */
COCO__PRIVATE uint32_t coco__lfs_next_char(const unsigned char* s, size_t n, size_t* i) {
    uint32_t cp;
    size_t bad, k = coco__lfs_utf8_seq(s + *i, n - *i, &cp, &bad);
    if (k) { *i += k; return cp; }
    cp = 0x110000u + s[*i];
    *i += 1;
    return cp;
}

/* Temporary files of the target: ".<name>.coco-tmp.<pid>".  Returns 1 and sets *pid. */
COCO__PRIVATE int coco__lfs_is_tmpname(const char* name, size_t len, long* pid) {
    static const char mark[] = ".coco-tmp.";
    size_t e = len, ml = sizeof mark - 1, d;
    long v = 0;
    while (e > 0 && name[e - 1] >= '0' && name[e - 1] <= '9') e--;
    d = len - e;
    if (d == 0 || d > 9 || e < ml + 2 || name[0] != '.') return 0;
    if (memcmp(name + e - ml, mark, ml) != 0) return 0;
    for (; e < len; e++) v = v * 10 + (name[e] - '0');
    if (pid) *pid = v;
    return 1;
}

/* NULL when `p[0..len)` is a clean relative path (no empty, "." or ".." segments, not
   absolute, no NUL, not a temporary-file name); else why not. */
COCO__PRIVATE const char* coco__lfs_relpath_problem(const char* p, size_t len) {
    size_t i = 0, s;
    if (len == 0) return "the path is empty";
    if (p[0] == '/') return "the path is absolute";
    if (memchr(p, 0, len)) return "the path contains a NUL byte";
    if (len > 4095) return "the path is longer than 4095 bytes";
    while (i <= len) {
        s = i;
        while (i < len && p[i] != '/') i++;
        if (i == s) return "the path has an empty segment";
        if ((i - s == 1 && p[s] == '.') || (i - s == 2 && p[s] == '.' && p[s + 1] == '.'))
            return "the path has a '.' or '..' segment";
        if (i - s > 255) return "a segment is longer than 255 bytes";
        if (i == len && coco__lfs_is_tmpname(p + s, i - s, NULL))
            return "the name is reserved for temporary files ('.NAME.coco-tmp.PID')";
        i++;
    }
    return NULL;
}

/* ==============================================================================================
   >>lfs_impl_glob -- glob patterns compiled to Thompson automata, run as a Pike VM (Private)
   Each pattern becomes a small program; matching keeps the set of live instructions (never
   backtracks), so a path costs O(length x program size).  '*' is SPLIT/ANY/JMP; a '**'
   segment is the same loop over ANYS (any character, '/' too); {a,b} is a SPLIT chain.
   ============================================================================================== */
enum {
    COCO__LFS_G_CHAR = 1,   /* a: code point                                                 */
    COCO__LFS_G_ANY,        /* one character but '/'                                         */
    COCO__LFS_G_ANYS,       /* one character, '/' too; flag 1: the loop of a '**', 2: and    */
                            /* leaving the loop reaches a match (matches all that follows)   */
    COCO__LFS_G_CLASS,      /* a: first range, b: range count; flag 1 = negated; never '/'   */
    COCO__LFS_G_SPLIT,      /* go on at a and at b                                           */
    COCO__LFS_G_JMP,        /* go on at a                                                    */
    COCO__LFS_G_MATCH
};

typedef struct coco__lfs_gins {
    uint8_t  op, flag;
    uint32_t a, b;
} coco__lfs_gins;

/* Shapes of patterns matched without the automaton (same answers, checked by the tests). */
enum {
    COCO__LFS_GQ_NONE = 0,
    COCO__LFS_GQ_ALL,       /* two stars, or two stars + '/' + one star: every path           */
    COCO__LFS_GQ_SUFFIX,    /* two stars + '/' + one star + S: the last segment ends with S   */
    COCO__LFS_GQ_ROOT       /* "*S": one segment ending with S                                */
};
#define COCO__LFS_GQ_MAX 24   /* longest literal suffix S kept for the quick check */

typedef struct coco__lfs_gpat {
    size_t   code;          /* first instruction in coco_glob.code */
    uint32_t n;             /* instruction count (targets are relative to `code`) */
    int      neg;           /* exclude list: a '!' pattern */
    int      quick;         /* COCO__LFS_GQ_*: matched by coco__lfs_gquick */
    size_t   slen;          /* the literal suffix S: ASCII, none of * ? [ ] { } \ / */
    char     suffix[COCO__LFS_GQ_MAX];
} coco__lfs_gpat;

struct coco_glob {
    coco_allocator  a;
    coco__lfs_gins* code;
    size_t          code_cap;
    uint32_t*       ranges;       /* lo, hi pairs */
    size_t          ranges_cap;
    coco__lfs_gpat* pats;         /* includes, then excludes */
    size_t          ninc, nexc;
    uint32_t        maxn;         /* largest program: scratch size */
};

/* scratch for one run: marks, two thread lists and the closure stack */
typedef struct coco__lfs_gsim {
    uint32_t *mark, *cl, *nl, *stk;
    uint32_t ncl, gen;
    void*    heap;                /* allocated when the stack buffer is too small */
    size_t   heap_size;
    const coco_allocator* a;
    uint32_t local[128 * 5 + 2];
} coco__lfs_gsim;

COCO__PRIVATE int coco__lfs_gsim_init(coco__lfs_gsim* sm, const coco_glob* g) {
    uint32_t n = g->maxn ? g->maxn : 1, *p = sm->local;
    sm->heap = NULL;
    sm->heap_size = 0;
    sm->a = &g->a;
    if (n > 128) {
        sm->heap_size = ((size_t)n * 5 + 2) * sizeof(uint32_t);
        if (!(sm->heap = coco__lfs_alloc(&g->a, sm->heap_size))) return -1;
        p = (uint32_t*)sm->heap;
    }
    sm->mark = p;
    sm->cl = p + n;
    sm->nl = p + 2 * (size_t)n;
    sm->stk = p + 3 * (size_t)n;
    return 0;
}
COCO__PRIVATE void coco__lfs_gsim_free(coco__lfs_gsim* sm) {
    coco__lfs_free(sm->a, sm->heap, sm->heap_size);
    sm->heap = NULL;
}

/* Adds `pc` and everything reachable from it without input to `list` (iterative). */
COCO__PRIVATE void coco__lfs_gadd(const coco__lfs_gins* code, coco__lfs_gsim* sm, uint32_t* list,
                                  uint32_t* n, uint32_t pc) {
    uint32_t sp = 0;
    sm->stk[sp++] = pc;
    while (sp) {
        uint32_t p = sm->stk[--sp];
        if (sm->mark[p] == sm->gen) continue;
        sm->mark[p] = sm->gen;
        if (code[p].op == COCO__LFS_G_JMP) sm->stk[sp++] = code[p].a;
        else if (code[p].op == COCO__LFS_G_SPLIT) {
            sm->stk[sp++] = code[p].b;
            sm->stk[sp++] = code[p].a;
        } else list[(*n)++] = p;
    }
}

COCO__PRIVATE int coco__lfs_gclass(const coco_glob* g, const coco__lfs_gins* in, uint32_t cp) {
    uint32_t i;
    int hit = 0;
    if (cp == '/') return 0;
    for (i = 0; i < in->b && !hit; i++)
        hit = cp >= g->ranges[2 * (in->a + i)] && cp <= g->ranges[2 * (in->a + i) + 1];
    return hit != (in->flag & 1);
}

COCO__PRIVATE void coco__lfs_gstep(const coco_glob* g, const coco__lfs_gins* code,
                                   coco__lfs_gsim* sm, uint32_t cp) {
    uint32_t k, nn = 0, *t;
    sm->gen++;
    for (k = 0; k < sm->ncl; k++) {
        const coco__lfs_gins* in = &code[sm->cl[k]];
        int ok;
        switch (in->op) {
        case COCO__LFS_G_CHAR:  ok = in->a == cp; break;
        case COCO__LFS_G_ANY:   ok = cp != '/'; break;
        case COCO__LFS_G_ANYS:  ok = 1; break;
        case COCO__LFS_G_CLASS: ok = coco__lfs_gclass(g, in, cp); break;
        default:                ok = 0; break;
        }
        if (ok) coco__lfs_gadd(code, sm, sm->nl, &nn, sm->cl[k] + 1);
    }
    t = sm->cl; sm->cl = sm->nl; sm->nl = t;
    sm->ncl = nn;
}

COCO__PRIVATE int coco__lfs_ghas(const coco__lfs_gins* code, const coco__lfs_gsim* sm, int op,
                                 int flag) {
    uint32_t k;
    for (k = 0; k < sm->ncl; k++)
        if (code[sm->cl[k]].op == op && (code[sm->cl[k]].flag & flag) == flag) return 1;
    return 0;
}

/* Runs pattern `pt` over s[0..n).  Returns the deepest level (number of '/' before the end of
   the match) at which it matched: the whole string, and with `anc` also each ancestor (the
   prefix before a '/'); -1 when none.  With `tail` it then feeds a '/' and reports whether
   anything below could still match (*alive) or everything below matches (*univ). */
COCO__PRIVATE long coco__lfs_grun(const coco_glob* g, const coco__lfs_gpat* pt, const char* str,
                                  size_t n, int anc, int tail, int* alive, int* univ,
                                  coco__lfs_gsim* sm) {
    const coco__lfs_gins* code = g->code + pt->code;
    const unsigned char* s = (const unsigned char*)str;
    size_t i = 0;
    long level = 0, best = -1;
    memset(sm->mark, 0, pt->n * sizeof *sm->mark);
    sm->gen = 1;
    sm->ncl = 0;
    coco__lfs_gadd(code, sm, sm->cl, &sm->ncl, 0);
    if (alive) *alive = 0;
    if (univ) *univ = 0;
    while (i < n && sm->ncl) {
        uint32_t cp;
        if (s[i] == '/') {
            if (anc && coco__lfs_ghas(code, sm, COCO__LFS_G_MATCH, 0)) best = level;
            level++;
            cp = '/';
            i++;
        } else cp = coco__lfs_next_char(s, n, &i);
        coco__lfs_gstep(g, code, sm, cp);
    }
    if (i < n || !sm->ncl) return best;
    if (coco__lfs_ghas(code, sm, COCO__LFS_G_MATCH, 0)) best = level;
    if (tail) {
        coco__lfs_gstep(g, code, sm, '/');
        if (alive) *alive = sm->ncl > 0;
        if (univ) *univ = coco__lfs_ghas(code, sm, COCO__LFS_G_ANYS, 2);
    }
    return best;
}

/* The answer of coco__lfs_grun(pt, s[0..n)) >= 0 for a quick pattern (-1: not one).  Sound
   because an ASCII byte is never part of a multi-byte sequence (coco__lfs_next_char), so a
   byte suffix of ASCII is a character suffix, and '*' takes any characters but '/'. */
COCO__PRIVATE int coco__lfs_gquick(const coco__lfs_gpat* pt, const char* s, size_t n) {
    switch (pt->quick) {
    case COCO__LFS_GQ_ALL: return 1;
    case COCO__LFS_GQ_SUFFIX:
    case COCO__LFS_GQ_ROOT:
        if (n < pt->slen || memcmp(s + n - pt->slen, pt->suffix, pt->slen) != 0) return 0;
        /* S holds no '/': it lies in the last segment, which '*' fills up to it */
        return pt->quick == COCO__LFS_GQ_SUFFIX || !n || !memchr(s, '/', n);
    default: return -1;
    }
}

/* 1 selected, 0 not. */
COCO__PRIVATE int coco__lfs_gmatch(const coco_glob* g, const char* s, size_t n,
                                   coco__lfs_gsim* sm) {
    size_t i;
    long best = -1, l;
    int neg = 0, any = g->ninc == 0, q;
    for (i = 0; i < g->ninc && !any; i++)
        any = (q = coco__lfs_gquick(&g->pats[i], s, n)) >= 0
                  ? q : coco__lfs_grun(g, &g->pats[i], s, n, 0, 0, NULL, NULL, sm) >= 0;
    if (!any) return 0;
    for (i = g->ninc; i < g->ninc + g->nexc; i++) {
        l = coco__lfs_grun(g, &g->pats[i], s, n, 1, 0, NULL, NULL, sm);
        if (l >= 0 && l >= best) { best = l; neg = g->pats[i].neg; }
    }
    return best < 0 || neg;
}

COCO__PRIVATE int coco__lfs_gdir(const coco_glob* g, const char* s, size_t n,
                                 coco__lfs_gsim* sm) {
    size_t i;
    long best = -1, l, u = -1;
    int neg = 0, any = g->ninc == 0, alive, univ, excluded;
    if (n == 0) return 1;
    for (i = 0; i < g->ninc && !any; i++) {
        /* below a directory (n > 0): "**" shapes can still match, a root-only "*S" cannot */
        if (g->pats[i].quick) alive = g->pats[i].quick != COCO__LFS_GQ_ROOT;
        else coco__lfs_grun(g, &g->pats[i], s, n, 0, 1, &alive, NULL, sm);
        any = alive;
    }
    if (!any) return 0;
    if (!g->nexc) return 1;
    /* pass 1: is the directory itself excluded, and which plain pattern covers all below */
    for (i = 0; i < g->nexc; i++) {
        const coco__lfs_gpat* pt = &g->pats[g->ninc + i];
        l = coco__lfs_grun(g, pt, s, n, 1, 1, &alive, &univ, sm);
        if (l >= 0 && l >= best) { best = l; neg = pt->neg; }
        if (univ && !pt->neg) u = (long)i;
    }
    excluded = best >= 0 && !neg;
    if (!excluded && u < 0) return 1;
    /* pass 2: a later '!' pattern that could match below re-opens it */
    for (i = (size_t)(u + 1); i < g->nexc; i++) {
        const coco__lfs_gpat* pt = &g->pats[g->ninc + i];
        if (!pt->neg) continue;
        coco__lfs_grun(g, pt, s, n, 0, 1, &alive, NULL, sm);
        if (alive) return 1;
    }
    return 0;
}

/* ---- compiling ------------------------------------------------------------------------------ */
typedef struct coco__lfs_gparse {
    coco_glob*     g;
    coco__lfs_vec  code;          /* coco__lfs_gins of all patterns */
    coco__lfs_vec  ranges;        /* uint32_t pairs */
    size_t         base;          /* first instruction of the pattern being compiled */
    const char*    pat;           /* the pattern as given (with its '!') for messages */
    const char*    s;             /* the pattern's text */
    size_t         n, i;
    int            depth;
    int            nomem;
    size_t         esc_end;       /* just past the last character read after a '\\' */
    char*          err;
    size_t         cap;
} coco__lfs_gparse;

COCO__PRIVATE uint32_t coco__lfs_gpc(const coco__lfs_gparse* p) {
    return (uint32_t)(p->code.len / sizeof(coco__lfs_gins) - p->base);
}
COCO__PRIVATE coco__lfs_gins* coco__lfs_gat(coco__lfs_gparse* p, uint32_t pc) {
    return (coco__lfs_gins*)(void*)p->code.p + p->base + pc;
}
COCO__PRIVATE uint32_t coco__lfs_gemit(coco__lfs_gparse* p, int op, uint32_t a, uint32_t b,
                                       int flag) {
    coco__lfs_gins in;
    uint32_t pc = coco__lfs_gpc(p);
    in.op = (uint8_t)op;
    in.flag = (uint8_t)flag;
    in.a = a;
    in.b = b;
    if (coco__lfs_vec_put(&p->code, &in, sizeof in)) p->nomem = 1;
    return pc;
}
/* `x*` for ANY (within a segment) or ANYS (the loop of a '**') */
COCO__PRIVATE void coco__lfs_gloop(coco__lfs_gparse* p, int op) {
    uint32_t l1 = coco__lfs_gpc(p);
    coco__lfs_gemit(p, COCO__LFS_G_SPLIT, l1 + 1, l1 + 3, 0);
    coco__lfs_gemit(p, op, 0, 0, op == COCO__LFS_G_ANYS ? 1 : 0);
    coco__lfs_gemit(p, COCO__LFS_G_JMP, l1, 0, 0);
}

COCO__PRIVATE int coco__lfs_gfail(coco__lfs_gparse* p, const char* what, size_t at) {
    coco__lfs_msg(p->err, p->cap, "glob pattern '%s': %s at byte %lu", p->pat, what,
                  (unsigned long)at);
    return -1;
}

/* one (possibly escaped) character of a class */
COCO__PRIVATE int coco__lfs_gclass_char(coco__lfs_gparse* p, uint32_t* cp) {
    const unsigned char* s = (const unsigned char*)p->s;
    if (s[p->i] == '\\') {
        if (p->i + 1 >= p->n) return coco__lfs_gfail(p, "dangling '\\'", p->i);
        p->i++;
    }
    *cp = coco__lfs_next_char(s, p->n, &p->i);
    return 0;
}

COCO__PRIVATE int coco__lfs_gparse_class(coco__lfs_gparse* p) {
    size_t open_at = p->i, first;
    uint32_t lo, hi, count = 0;
    uint32_t start = (uint32_t)(p->ranges.len / (2 * sizeof(uint32_t)));
    int neg = 0;
    p->i++;
    if (p->i < p->n && (p->s[p->i] == '!' || p->s[p->i] == '^')) { neg = 1; p->i++; }
    first = p->i;
    for (;;) {
        uint32_t pair[2];
        if (p->i >= p->n) return coco__lfs_gfail(p, "unclosed '['", open_at);
        if (p->s[p->i] == ']' && p->i != first) { p->i++; break; }
        if (coco__lfs_gclass_char(p, &lo)) return -1;
        hi = lo;
        if (p->i + 1 < p->n && p->s[p->i] == '-' && p->s[p->i + 1] != ']') {
            size_t at = p->i;
            p->i++;
            if (coco__lfs_gclass_char(p, &hi)) return -1;
            if (hi < lo) return coco__lfs_gfail(p, "invalid range in '[...]'", at);
        }
        pair[0] = lo;
        pair[1] = hi;
        if (coco__lfs_vec_put(&p->ranges, pair, sizeof pair)) { p->nomem = 1; return -1; }
        count++;
    }
    coco__lfs_gemit(p, COCO__LFS_G_CLASS, start, count, neg);
    return 0;
}

COCO__PRIVATE int coco__lfs_gparse_seq(coco__lfs_gparse* p);

COCO__PRIVATE int coco__lfs_gparse_alt(coco__lfs_gparse* p) {
    size_t open_at = p->i;
    uint32_t patch = UINT32_MAX, split = 0, end, j;
    if (++p->depth > COCO_GLOB_MAX_NESTING)
        return coco__lfs_gfail(p, "braces nested too deep", open_at);
    p->i++;
    for (;;) {
        split = coco__lfs_gemit(p, COCO__LFS_G_SPLIT, 0, 0, 0);
        if (p->nomem) return -1;
        coco__lfs_gat(p, split)->a = split + 1;
        if (coco__lfs_gparse_seq(p)) return -1;
        if (p->i >= p->n) return coco__lfs_gfail(p, "unclosed '{'", open_at);
        j = coco__lfs_gemit(p, COCO__LFS_G_JMP, patch, 0, 0);   /* chained until the end */
        if (p->nomem) return -1;
        patch = j;
        coco__lfs_gat(p, split)->b = coco__lfs_gpc(p);
        if (p->s[p->i++] == '}') break;                        /* else ',' */
    }
    coco__lfs_gat(p, split)->op = COCO__LFS_G_JMP;            /* the last one is not optional */
    end = coco__lfs_gpc(p);
    while (patch != UINT32_MAX) {
        coco__lfs_gins* in = coco__lfs_gat(p, patch);
        patch = in->a;
        in->a = end;
    }
    p->depth--;
    return 0;
}

COCO__PRIVATE int coco__lfs_gparse_seq(coco__lfs_gparse* p) {
    const unsigned char* s = (const unsigned char*)p->s;
    while (p->i < p->n && !p->nomem) {
        unsigned char c = s[p->i];
        if (p->depth && (c == ',' || c == '}')) return 0;
        if (c == '\\') {
            if (p->i + 1 >= p->n) return coco__lfs_gfail(p, "dangling '\\'", p->i);
            p->i++;
            coco__lfs_gemit(p, COCO__LFS_G_CHAR, coco__lfs_next_char(s, p->n, &p->i), 0, 0);
            p->esc_end = p->i;
        } else if (c == '?') {
            coco__lfs_gemit(p, COCO__LFS_G_ANY, 0, 0, 0);
            p->i++;
        } else if (c == '*') {
            unsigned char prev = p->i ? s[p->i - 1] : '/', next;
            int starts, ends;
            if (p->i + 1 >= p->n || s[p->i + 1] != '*') {
                coco__lfs_gloop(p, COCO__LFS_G_ANY);
                p->i++;
                continue;
            }
            next = p->i + 2 < p->n ? s[p->i + 2] : 0;
            starts = prev == '/' || (p->depth && (prev == '{' || prev == ','));
            ends = p->i + 2 >= p->n || (p->depth && (next == ',' || next == '}'));
            if (starts && next == '/') {                     /* "**" "/": 0+ segments */
                uint32_t s0 = coco__lfs_gpc(p);
                coco__lfs_gemit(p, COCO__LFS_G_SPLIT, s0 + 1, s0 + 5, 0);
                coco__lfs_gloop(p, COCO__LFS_G_ANYS);
                coco__lfs_gemit(p, COCO__LFS_G_CHAR, '/', 0, 0);
                p->i += 3;
            } else if (starts && ends) {                     /* a last "**": anything */
                coco__lfs_gloop(p, COCO__LFS_G_ANYS);
                p->i += 2;
            } else {                                         /* "a**b": one '*' */
                coco__lfs_gloop(p, COCO__LFS_G_ANY);
                p->i += 2;
            }
        } else if (c == '[') {
            if (coco__lfs_gparse_class(p)) return -1;
        } else if (c == '{') {
            if (coco__lfs_gparse_alt(p)) return -1;
        } else if (c == '}') {
            return coco__lfs_gfail(p, "unmatched '}'", p->i);
        } else {
            coco__lfs_gemit(p, COCO__LFS_G_CHAR, coco__lfs_next_char(s, p->n, &p->i), 0, 0);
        }
    }
    return p->nomem ? -1 : 0;
}

/* 1 when MATCH is reachable from `pc` without input */
COCO__PRIVATE int coco__lfs_geps_match(const coco__lfs_gins* code, uint32_t n, uint32_t pc,
                                       uint32_t* mark, uint32_t* stk, uint32_t gen) {
    uint32_t sp = 0;
    stk[sp++] = pc;
    while (sp) {
        uint32_t q = stk[--sp];
        if (q >= n || mark[q] == gen) continue;
        mark[q] = gen;
        if (code[q].op == COCO__LFS_G_MATCH) return 1;
        if (code[q].op == COCO__LFS_G_JMP) stk[sp++] = code[q].a;
        else if (code[q].op == COCO__LFS_G_SPLIT) { stk[sp++] = code[q].b; stk[sp++] = code[q].a; }
    }
    return 0;
}

/* Recognises the quick shapes of coco__lfs_gquick in a pattern's text (after any '!'). */
COCO__PRIVATE void coco__lfs_gclassify(const char* s, size_t n, coco__lfs_gpat* out) {
    size_t at, i;
    out->quick = COCO__LFS_GQ_NONE;
    out->slen = 0;
    if ((n == 2 && memcmp(s, "**", 2) == 0) || (n == 4 && memcmp(s, "**/*", 4) == 0)) {
        out->quick = COCO__LFS_GQ_ALL;
        return;
    }
    if (n >= 4 && memcmp(s, "**/*", 4) == 0) at = 4;
    else if (n >= 1 && s[0] == '*' && (n == 1 || s[1] != '*')) at = 1;
    else return;
    if (n - at > COCO__LFS_GQ_MAX) return;
    for (i = at; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || strchr("*?[]{}\\/", s[i])) return;
    out->quick = at == 4 ? COCO__LFS_GQ_SUFFIX : COCO__LFS_GQ_ROOT;
    out->slen = n - at;
    if (out->slen) memcpy(out->suffix, s + at, out->slen);
}

COCO__PRIVATE int coco__lfs_gcompile_one(coco__lfs_gparse* p, const char* pattern, int exclude,
                                         coco__lfs_gpat* out) {
    size_t n = strlen(pattern);
    uint32_t pcn, k, gen = 0, *scratch;
    coco__lfs_gins* code;
    p->pat = pattern;
    p->s = pattern;
    p->n = n;
    p->i = 0;
    p->depth = 0;
    p->esc_end = 0;
    out->neg = 0;
    if (n > COCO_GLOB_MAX_PATTERN)
        return coco__lfs_gfail(p, "pattern longer than COCO_GLOB_MAX_PATTERN bytes", 0);
    if (n && pattern[0] == '!') {
        if (!exclude)
            return coco__lfs_gfail(p, "'!' (re-include) only works in exclude patterns", 0);
        out->neg = 1;
        p->s++;
        p->n--;
    }
    p->base = p->code.len / sizeof(coco__lfs_gins);
    if (coco__lfs_gparse_seq(p)) return -1;
    /* "dir/" = "dir/" + "**", unless that '/' was escaped: the parser says so, since the
       byte before it may itself be an escaped backslash ("a" + two backslashes + "/") */
    if (p->n && p->s[p->n - 1] == '/' && p->esc_end != p->n)
        coco__lfs_gloop(p, COCO__LFS_G_ANYS);
    coco__lfs_gemit(p, COCO__LFS_G_MATCH, 0, 0, 0);
    if (p->nomem) return -1;
    pcn = coco__lfs_gpc(p);
    /* flag the '**' loops after which everything matches */
    scratch = (uint32_t*)coco__lfs_alloc(&p->g->a, (size_t)pcn * 3 * sizeof(uint32_t) + 8);
    if (!scratch) { p->nomem = 1; return -1; }
    memset(scratch, 0, (size_t)pcn * sizeof(uint32_t));
    code = coco__lfs_gat(p, 0);
    for (k = 0; k < pcn; k++)
        if (code[k].op == COCO__LFS_G_ANYS && (code[k].flag & 1) &&
            coco__lfs_geps_match(code, pcn, k + 2, scratch, scratch + pcn, ++gen))
            code[k].flag |= 2;
    coco__lfs_free(&p->g->a, scratch, (size_t)pcn * 3 * sizeof(uint32_t) + 8);
    out->code = p->base;
    out->n = pcn;
    if (pcn > p->g->maxn) p->g->maxn = pcn;
    coco__lfs_gclassify(p->s, p->n, out);
    return 0;
}

COCO_API coco_result coco_glob_compile(const coco_glob_desc* desc, coco_glob** out, char* err,
                                       size_t cap) {
    coco_glob* g;
    coco__lfs_gparse p;
    size_t i, np;
    coco_allocator a;
    if (err && cap) err[0] = 0;
    if (!desc || !out || (desc->ninclude && !desc->include) ||
        (desc->nexclude && !desc->exclude)) {
        coco__lfs_msg(err, cap, "coco_glob_compile: missing desc, out or pattern array");
        return COCO_ERR_INVALID_ARG;
    }
    a = desc->allocator;
    if (!a.alloc || !a.free) memset(&a, 0, sizeof a);
    np = desc->ninclude + desc->nexclude;
    if (!(g = (coco_glob*)coco__lfs_alloc(&a, sizeof *g))) return COCO_ERR_NOMEM;
    memset(g, 0, sizeof *g);
    g->a = a;
    g->pats = (coco__lfs_gpat*)coco__lfs_alloc(&a, (np ? np : 1) * sizeof *g->pats);
    if (!g->pats) { coco__lfs_free(&a, g, sizeof *g); return COCO_ERR_NOMEM; }
    memset(&p, 0, sizeof p);
    p.g = g;
    p.err = err;
    p.cap = cap;
    coco__lfs_vec_init(&p.code, &g->a);
    coco__lfs_vec_init(&p.ranges, &g->a);
    for (i = 0; i < np; i++) {
        int exc = i >= desc->ninclude;
        const char* pat = exc ? desc->exclude[i - desc->ninclude] : desc->include[i];
        if (!pat) {
            coco__lfs_msg(err, cap, "glob %s pattern %lu is NULL", exc ? "exclude" : "include",
                          (unsigned long)(exc ? i - desc->ninclude : i));
            break;
        }
        if (coco__lfs_gcompile_one(&p, pat, exc, &g->pats[i])) break;
    }
    if (i < np) {
        coco_result rc = p.nomem ? COCO_ERR_NOMEM : COCO_ERR_INVALID_ARG;
        if (p.nomem) coco__lfs_msg(err, cap, "glob patterns: out of memory");
        coco__lfs_vec_free(&p.code);
        coco__lfs_vec_free(&p.ranges);
        coco__lfs_free(&a, g->pats, (np ? np : 1) * sizeof *g->pats);
        coco__lfs_free(&a, g, sizeof *g);
        return rc;
    }
    g->code = (coco__lfs_gins*)(void*)p.code.p;
    g->code_cap = p.code.cap;
    g->ranges = (uint32_t*)(void*)p.ranges.p;
    g->ranges_cap = p.ranges.cap;
    g->ninc = desc->ninclude;
    g->nexc = desc->nexclude;
    *out = g;
    return COCO_OK;
}

COCO_API void coco_glob_destroy(coco_glob* g) {
    coco_allocator a;
    if (!g) return;
    a = g->a;
    coco__lfs_free(&a, g->code, g->code_cap);
    coco__lfs_free(&a, g->ranges, g->ranges_cap);
    coco__lfs_free(&a, g->pats, (g->ninc + g->nexc ? g->ninc + g->nexc : 1) * sizeof *g->pats);
    coco__lfs_free(&a, g, sizeof *g);
}

COCO_API int coco_glob_match(const coco_glob* g, const char* relpath) {
    coco__lfs_gsim sm;
    int r;
    if (!g || !relpath) return 0;
    if (coco__lfs_gsim_init(&sm, g)) return 1;    /* out of memory: select, never drop */
    r = coco__lfs_gmatch(g, relpath, strlen(relpath), &sm);
    coco__lfs_gsim_free(&sm);
    return r;
}

COCO_API int coco_glob_dir_may_match(const coco_glob* g, const char* reldir) {
    coco__lfs_gsim sm;
    int r;
    if (!g || !reldir) return 1;
    if (coco__lfs_gsim_init(&sm, g)) return 1;
    r = coco__lfs_gdir(g, reldir, strlen(reldir), &sm);
    coco__lfs_gsim_free(&sm);
    return r;
}

/* ==============================================================================================
   >>lfs_impl_text -- BOM detection, UTF-16 to UTF-8, UTF-8 validation with U+FFFD (Private)
   ============================================================================================== */
COCO__PRIVATE size_t coco__lfs_put_utf8(unsigned char* o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Converts s[0..n) (the whole file) to UTF-8.  With `view` and input that is already clean
   UTF-8, *out points into `s` (which the caller keeps NUL-terminated).  On a STRICT failure
   sets *bad (offset in s) and *enc ("UTF-8" or "UTF-16"). */
COCO__PRIVATE coco_result coco__lfs_decode(coco_arena* ar, const unsigned char* s, size_t n,
                                           int strict, int view, coco_bytes* out, size_t* bad,
                                           const char** enc) {
    size_t off = 0, i, k, sub, o = 0;
    unsigned char* dst;
    uint32_t cp;
    int be = 0;
    *enc = "UTF-8";
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) off = 3;
    else if (n >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) {
        be = s[0] == 0xFE;
        *enc = be ? "UTF-16BE" : "UTF-16LE";
        if ((n - 2) / 2 > ((size_t)-1 - 8) / 3) return COCO_ERR_NOMEM;
        if (!(dst = (unsigned char*)coco_arena_alloc(ar, (n - 2) / 2 * 3 + 8)))
            return COCO_ERR_NOMEM;
        for (i = 2; i < n;) {
            uint32_t u, u2;
            if (i + 1 >= n) {                                   /* odd trailing byte */
                if (strict) { *bad = i; return COCO_ERR_DECODE; }
                o += coco__lfs_put_utf8(dst + o, 0xFFFD);
                break;
            }
            u = be ? (uint32_t)(s[i] << 8 | s[i + 1]) : (uint32_t)(s[i + 1] << 8 | s[i]);
            if (u >= 0xD800 && u <= 0xDBFF && i + 3 < n) {
                u2 = be ? (uint32_t)(s[i + 2] << 8 | s[i + 3])
                        : (uint32_t)(s[i + 3] << 8 | s[i + 2]);
                if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
                    o += coco__lfs_put_utf8(dst + o, 0x10000 + ((u - 0xD800) << 10) +
                                                         (u2 - 0xDC00));
                    i += 4;
                    continue;
                }
            }
            if (u >= 0xD800 && u <= 0xDFFF) {                   /* unpaired surrogate */
                if (strict) { *bad = i; return COCO_ERR_DECODE; }
                u = 0xFFFD;
            }
            o += coco__lfs_put_utf8(dst + o, u);
            i += 2;
        }
        dst[o] = 0;
        out->ptr = dst;
        out->len = o;
        return COCO_OK;
    }
    /* UTF-8: validate; copy only when something must be replaced (or no view allowed) */
    for (i = off; i < n; i += k) {
        if (s[i] < 0x80) { k = 1; continue; }
        if (!(k = coco__lfs_utf8_seq(s + i, n - i, &cp, &sub))) break;
    }
    if (i >= n) {
        if (view) {
            out->ptr = s + off;
            out->len = n - off;
            return COCO_OK;
        }
        if (!(dst = (unsigned char*)coco_arena_alloc(ar, n - off + 1))) return COCO_ERR_NOMEM;
        if (n - off) memcpy(dst, s + off, n - off);
        dst[n - off] = 0;
        out->ptr = dst;
        out->len = n - off;
        return COCO_OK;
    }
    if (strict) { *bad = i; return COCO_ERR_DECODE; }
    if ((n - off) > ((size_t)-1 - 8) / 3) return COCO_ERR_NOMEM;
    if (!(dst = (unsigned char*)coco_arena_alloc(ar, (n - off) * 3 + 1))) return COCO_ERR_NOMEM;
    memcpy(dst, s + off, i - off);
    o = i - off;
    while (i < n) {
        if ((k = coco__lfs_utf8_seq(s + i, n - i, &cp, &sub)) != 0) {
            memcpy(dst + o, s + i, k);
            o += k;
            i += k;
        } else {
            o += coco__lfs_put_utf8(dst + o, 0xFFFD);
            i += sub;
        }
    }
    dst[o] = 0;
    out->ptr = dst;
    out->len = o;
    return COCO_OK;
}

COCO_API coco_result coco_localfs_decode_text(coco_arena* arena, const void* data, size_t len,
                                              coco_localfs_text_mode mode, coco_bytes* out,
                                              size_t* bad_offset) {
    size_t bad = 0;
    const char* enc;
    coco_result rc;
    if (!arena || !out || (len && !data)) return COCO_ERR_INVALID_ARG;
    rc = coco__lfs_decode(arena, (const unsigned char*)(len ? data : ""), len,
                          mode == COCO_LOCALFS_TEXT_STRICT, 0, out, &bad, &enc);
    if (rc == COCO_ERR_DECODE && bad_offset) *bad_offset = bad;
    return rc;
}

/* ==============================================================================================
   >>lfs_impl_file -- file objects: accessors, reads, memo key and two-level memo state (Private)
   ============================================================================================== */
struct coco_localfs_file {
    const char* dir;              /* absolute directory the walk listed (shared) */
    const char* base;             /* memo identity: "key:NAME" or `dir` (shared) */
    const char* rel;              /* relative path, NUL-terminated */
    const char* parent;           /* NUL-terminated copy of the part before the name */
    const char* stem;             /* NUL-terminated copy of the name without its suffix */
    size_t      rel_len, name_off, suffix_off;
    uint64_t    size;
    int64_t     mtime_ns;
    const char* error;            /* NULL = healthy */
    int         is_dir;           /* an unreadable directory listed as an error item */
};

#define COCO__LFS_BLOCK (64u * 1024u)

COCO__PRIVATE coco_result coco__lfs_memo_key(const void* obj, coco_arena* ar, coco_value* out);
COCO__PRIVATE coco_result coco__lfs_memo_state(const void* obj, int level, coco_arena* ar,
                                               coco_value* out);
static const coco_object_vtable coco__lfs_file_vt = {
    COCO_LOCALFS_FILE_TYPE, coco__lfs_memo_key, coco__lfs_memo_state
};

COCO_API const coco_localfs_file* coco_localfs_file_of(const coco_value* v) {
    if (!v || v->kind != COCO_OBJECT || v->u.obj.vt != &coco__lfs_file_vt) return NULL;
    return (const coco_localfs_file*)v->u.obj.obj;
}
COCO_API const char* coco_localfs_file_path(const coco_localfs_file* f) { return f ? f->rel : ""; }
COCO_API const char* coco_localfs_file_name(const coco_localfs_file* f) {
    return f ? f->rel + f->name_off : "";
}
COCO_API const char* coco_localfs_file_stem(const coco_localfs_file* f) { return f ? f->stem : ""; }
COCO_API const char* coco_localfs_file_suffix(const coco_localfs_file* f) {
    return f ? f->rel + f->suffix_off : "";
}
COCO_API const char* coco_localfs_file_parent(const coco_localfs_file* f) {
    return f ? f->parent : "";
}
COCO_API const char* coco_localfs_file_dir(const coco_localfs_file* f) { return f ? f->dir : ""; }
COCO_API uint64_t coco_localfs_file_size(const coco_localfs_file* f) { return f ? f->size : 0; }
COCO_API int64_t coco_localfs_file_mtime_ns(const coco_localfs_file* f) {
    return f ? f->mtime_ns : 0;
}
COCO_API const char* coco_localfs_file_error(const coco_localfs_file* f) {
    return f ? f->error : NULL;
}

/* dir + "/" + rel in `ar` */
COCO__PRIVATE char* coco__lfs_full_path(coco_arena* ar, const coco_localfs_file* f) {
    size_t dl = strlen(f->dir), sep = dl && f->dir[dl - 1] != '/';
    char* p = (char*)coco_arena_alloc(ar, dl + sep + f->rel_len + 1);
    if (!p) return NULL;
    memcpy(p, f->dir, dl);
    if (sep) p[dl] = '/';
    memcpy(p + dl + sep, f->rel, f->rel_len + 1);
    return p;
}

COCO__PRIVATE int coco__lfs_open_file(coco_arena* ar, const coco_localfs_file* f, char** path,
                                      char* err, size_t cap) {
    int fd;
    struct stat st;
    if (!(*path = coco__lfs_full_path(ar, f))) {
        coco__lfs_msg(err, cap, "out of memory");
        return -2;
    }
    if (f->is_dir) {
        coco__lfs_msg(err, cap, "%s", f->error ? f->error : "not a file");
        return -1;
    }
    do fd = open(*path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        coco__lfs_msg(err, cap, "cannot open '%s': %s", *path, strerror(e));
        return e == ENOENT || e == ENOTDIR ? -3 : -1;      /* -3: the file is gone */
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        coco__lfs_msg(err, cap, "cannot read '%s': it is a directory", *path);
        return -1;
    }
    return fd;
}

/* read() that retries on EINTR; -1 on error */
COCO__PRIVATE ssize_t coco__lfs_read_some(int fd, void* buf, size_t n) {
    ssize_t r;
    do r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

COCO__PRIVATE coco_result coco__lfs_read(const coco_localfs_file* f, coco_arena* ar,
                                         size_t max_bytes, coco_bytes* out, char* err,
                                         size_t cap) {
    char* path;
    int fd = coco__lfs_open_file(ar, f, &path, err, cap);
    struct stat st;
    size_t want = max_bytes ? max_bytes : (size_t)-1 - 1, bufcap, got = 0;
    unsigned char* buf;
    out->ptr = "";
    out->len = 0;
    if (fd == -2) return COCO_ERR_NOMEM;
    if (fd == -3) return COCO_ERR_NOT_FOUND;
    if (fd < 0) return COCO_ERR_IO;
    bufcap = (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < want)
             ? (size_t)st.st_size : (want < COCO__LFS_BLOCK ? want : COCO__LFS_BLOCK);
    if (!(buf = (unsigned char*)coco_arena_alloc(ar, bufcap + 1))) {
        coco__lfs_msg(err, cap, "cannot read '%s': out of memory for its %llu bytes", path,
                      (unsigned long long)bufcap);
        close(fd);
        return COCO_ERR_NOMEM;
    }
    for (;;) {
        ssize_t r;
        if (got == bufcap) {                   /* full: the file grew, or its size was unknown */
            size_t ncap;
            unsigned char* nb;
            if (got >= want) break;
            ncap = bufcap > want / 2 ? want : bufcap * 2 + COCO__LFS_BLOCK;
            if (ncap > want) ncap = want;
            if (!(nb = (unsigned char*)coco_arena_alloc(ar, ncap + 1))) {
                coco__lfs_msg(err, cap, "cannot read '%s': out of memory at %llu bytes", path,
                              (unsigned long long)ncap);
                close(fd);
                return COCO_ERR_NOMEM;
            }
            memcpy(nb, buf, got);
            buf = nb;
            bufcap = ncap;
        }
        r = coco__lfs_read_some(fd, buf + got, bufcap - got);
        if (r < 0) {
            coco__lfs_msg(err, cap, "cannot read '%s': %s", path, strerror(errno));
            close(fd);
            return COCO_ERR_IO;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    out->ptr = buf;
    out->len = got;
    return COCO_OK;
}

COCO_API coco_result coco_localfs_file_read(const coco_localfs_file* f, coco_ctx* ctx,
                                            size_t max_bytes, coco_bytes* out) {
    char err[COCO__LFS_ERRCAP];
    coco_result rc;
    coco_arena* ar = coco_ctx_arena(ctx);
    if (!f || !ar || !out) return COCO_ERR_INVALID_ARG;
    err[0] = 0;
    rc = coco__lfs_read(f, ar, max_bytes, out, err, sizeof err);
    if (rc == COCO_ERR_NOT_FOUND) return coco_ctx_item_gone(ctx, "%s", err);
    if (rc != COCO_OK) return coco_ctx_fail(ctx, rc, "%s", err[0] ? err : coco_result_str(rc));
    return COCO_OK;
}

COCO_API coco_result coco_localfs_file_read_text(const coco_localfs_file* f, coco_ctx* ctx,
                                                 coco_localfs_text_mode mode, coco_bytes* out) {
    char err[COCO__LFS_ERRCAP];
    coco_bytes raw;
    coco_result rc;
    size_t bad = 0;
    const char* enc = "UTF-8";
    coco_arena* ar = coco_ctx_arena(ctx);
    if (!f || !ar || !out) return COCO_ERR_INVALID_ARG;
    err[0] = 0;
    if ((rc = coco__lfs_read(f, ar, 0, &raw, err, sizeof err)) == COCO_ERR_NOT_FOUND)
        return coco_ctx_item_gone(ctx, "%s", err);
    if (rc != COCO_OK) return coco_ctx_fail(ctx, rc, "%s", err[0] ? err : coco_result_str(rc));
    rc = coco__lfs_decode(ar, (const unsigned char*)raw.ptr, raw.len,
                          mode == COCO_LOCALFS_TEXT_STRICT, 1, out, &bad, &enc);
    if (rc == COCO_ERR_DECODE) {
        char* path = coco__lfs_full_path(ar, f);
        return coco_ctx_fail(ctx, rc, "'%s': invalid %s at byte %lu", path ? path : f->rel, enc,
                             (unsigned long)bad);
    }
    return rc;
}

/* ---- memo key and state ---------------------------------------------------------------------- */
COCO__PRIVATE coco_result coco__lfs_memo_key(const void* obj, coco_arena* ar, coco_value* out) {
    const coco_localfs_file* f = (const coco_localfs_file*)obj;
    coco_value* two = (coco_value*)coco_arena_alloc(ar, 2 * sizeof *two);
    if (!two) return COCO_ERR_NOMEM;
    two[0] = coco_str(f->base);
    two[1] = coco_strn(f->rel, f->rel_len);
    *out = coco_list(two, 2);
    return COCO_OK;
}

/* BLAKE3 fingerprint of the content, read in 64 KiB blocks; 0 or -1 with a message */
COCO__PRIVATE int coco__lfs_hash_fd(int fd, unsigned char* buf, size_t cap, coco_fp* out) {
    coco_hasher h;
    coco_hasher_init(&h);
    for (;;) {
        ssize_t r = coco__lfs_read_some(fd, buf, cap);
        if (r < 0) return -1;
        if (r == 0) break;
        coco_hasher_update(&h, buf, (size_t)r);
    }
    *out = coco_hasher_fp(&h);
    return 0;
}

/* Level 0: [size, mtime ns] from the walk.  Level 1: the content fingerprint (16 bytes).  An
   item that cannot be read states "error..." at both levels: never equal to a healthy state,
   so the component runs and reports the error when it reads the file. */
COCO__PRIVATE coco_result coco__lfs_memo_state(const void* obj, int level, coco_arena* ar,
                                               coco_value* out) {
    const coco_localfs_file* f = (const coco_localfs_file*)obj;
    char err[COCO__LFS_ERRCAP];
    char* path;
    unsigned char* buf;
    coco_fp fp;
    int fd, e;
    if (f->error) {
        *out = coco_str("error");
        return COCO_OK;
    }
    if (level == 0) {
        coco_value* two = (coco_value*)coco_arena_alloc(ar, 2 * sizeof *two);
        if (!two) return COCO_ERR_NOMEM;
        two[0] = coco_int((int64_t)f->size);
        two[1] = coco_int(f->mtime_ns);
        *out = coco_list(two, 2);
        return COCO_OK;
    }
    err[0] = 0;
    if ((fd = coco__lfs_open_file(ar, f, &path, err, sizeof err)) == -2) return COCO_ERR_NOMEM;
    if (fd >= 0) {
        if (!(buf = (unsigned char*)coco_arena_alloc(ar, COCO__LFS_BLOCK))) {
            close(fd);
            return COCO_ERR_NOMEM;
        }
        e = coco__lfs_hash_fd(fd, buf, COCO__LFS_BLOCK, &fp);
        if (e) coco__lfs_msg(err, sizeof err, "cannot read '%s': %s", path, strerror(errno));
        close(fd);
        if (!e) {
            unsigned char* p = (unsigned char*)coco_arena_alloc(ar, 16);
            if (!p) return COCO_ERR_NOMEM;
            memcpy(p, fp.bytes, 16);
            *out = coco_bytes_val(p, 16);
            return COCO_OK;
        }
    }
    {
        char* m = coco_arena_strndup(ar, err, strlen(err));
        *out = coco_str(m ? m : "error");
    }
    return COCO_OK;
}

/* ==============================================================================================
   >>lfs_impl_walk -- listing directories: openat/fdopendir, d_type, one fstatat per file (Private)
   Directories are read from a work list, real ones before those reached through a symlink, so
   a directory reachable both ways is listed under its real path.  Every directory read is
   remembered by (dev, ino): a symlinked directory already read (an ancestor: a loop) is
   skipped.  Transient buffers come from the env's allocator; what is handed out lives in the
   arena.
   ============================================================================================== */
typedef struct coco__lfs_devino { uint64_t dev, ino; } coco__lfs_devino;

typedef struct coco__lfs_work { size_t off, len; } coco__lfs_work;   /* a string in `pool` */

/* A directory to read, and the record of the directory that listed it. */
typedef struct coco__lfs_task { coco__lfs_work wk; size_t parent; } coco__lfs_task;

/* A directory read: its files are w->files[from, to), sorted as soon as it is read (hot in
   the cache); the walk's order is then a merge of these runs with the subdirectories
   (coco__lfs_order), not a sort of every path. */
typedef struct coco__lfs_dirrec {
    coco__lfs_work path;          /* in `pool` ("" = the root) */
    size_t         parent;        /* SIZE_MAX for the root */
    size_t         from, to;
    size_t         kid0, nkids;   /* its subdirectories: kids[kid0, kid0 + nkids) */
} coco__lfs_dirrec;

/* A selected regular file (by its directory entry) listed before its stat: the stats of a
   walk are made after the directories are read, on several threads for a big tree. */
typedef struct coco__lfs_pend {
    coco_localfs_file* f;
    coco__lfs_work     dir;       /* its directory, relative ("" = the root) */
    int                err;       /* out: errno of the stat, 0 = done */
    unsigned           mode;      /* out: st_mode, st_uid, st_gid */
    uid_t              uid;
    gid_t              gid;
} coco__lfs_pend;

typedef struct coco__lfs_walker {
    coco_arena*       ar;
    const coco_allocator* a;      /* the env's: transient buffers */
    const coco_glob*  g;
    coco__lfs_gsim    sm;
    int               rootfd;
    const char*       dir;        /* absolute, in the arena */
    const char*       base;       /* memo identity, in the arena */
    int               recursive;
    uint64_t          max_size;
    uid_t             euid;
    gid_t*            groups;     /* effective gid first */
    int               ngroups;
    coco__lfs_vec     files;      /* coco_localfs_file* */
    coco__lfs_vec     pool;       /* relative directory paths */
    coco__lfs_vec     real, links;/* coco__lfs_task stacks */
    coco__lfs_vec     dirs;       /* coco__lfs_dirrec of each directory read */
    size_t            cur_rec;    /* the record of the directory being read */
    int               unordered;  /* an item outside its directory's run: sort every path */
    coco__lfs_vec     rel;        /* scratch: the entry's relative path */
    coco__lfs_devino* seen;       /* open-addressing set of directories read */
    size_t            nseen, seen_cap;
    coco__lfs_vec     pend;       /* coco__lfs_pend: regular files whose stat is deferred */
    coco__lfs_work    cur;        /* the directory being read (a string in `pool`) */
    size_t            nerrors, nskipped, ndirs;
    int               nomem;
    char*             err;        /* first directory error */
    size_t            cap;
} coco__lfs_walker;

COCO__PRIVATE uint64_t coco__lfs_mix(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* 1 if (dev, ino) was new and is now remembered, 0 if seen before, -1 out of memory */
COCO__PRIVATE int coco__lfs_seen_add(coco__lfs_walker* w, uint64_t dev, uint64_t ino) {
    size_t i, mask;
    if ((w->nseen + 1) * 2 > w->seen_cap) {
        size_t ncap = w->seen_cap ? w->seen_cap * 2 : 64, j;
        coco__lfs_devino* ns = (coco__lfs_devino*)coco__lfs_alloc(w->a, ncap * sizeof *ns);
        if (!ns) return -1;
        for (j = 0; j < ncap; j++) ns[j].dev = ns[j].ino = UINT64_MAX;
        for (j = 0; j < w->seen_cap; j++) {
            if (w->seen[j].ino == UINT64_MAX && w->seen[j].dev == UINT64_MAX) continue;
            i = (size_t)coco__lfs_mix(w->seen[j].dev * 31 + w->seen[j].ino) & (ncap - 1);
            while (ns[i].ino != UINT64_MAX || ns[i].dev != UINT64_MAX) i = (i + 1) & (ncap - 1);
            ns[i] = w->seen[j];
        }
        coco__lfs_free(w->a, w->seen, w->seen_cap * sizeof *w->seen);
        w->seen = ns;
        w->seen_cap = ncap;
    }
    mask = w->seen_cap - 1;
    i = (size_t)coco__lfs_mix(dev * 31 + ino) & mask;
    while (w->seen[i].ino != UINT64_MAX || w->seen[i].dev != UINT64_MAX) {
        if (w->seen[i].dev == dev && w->seen[i].ino == ino) return 0;
        i = (i + 1) & mask;
    }
    w->seen[i].dev = dev;
    w->seen[i].ino = ino;
    w->nseen++;
    return 1;
}

/* readable by this process, judging by the permission bits */
COCO__PRIVATE int coco__lfs_readable(const coco__lfs_walker* w, const struct stat* st) {
    int i;
    if (w->euid == 0) return 1;
    if (st->st_uid == w->euid) return (st->st_mode & S_IRUSR) != 0;
    for (i = 0; i < w->ngroups; i++)
        if (w->groups[i] == st->st_gid) return (st->st_mode & S_IRGRP) != 0;
    return (st->st_mode & S_IROTH) != 0;
}

/* Adds an item for rel[0..len); `st` NULL for error items. */
/* A file object in `ar` for `rel` under `dir` (memo identity `base`). */
COCO__PRIVATE coco_localfs_file* coco__lfs_file_new(coco_arena* ar, const char* dir,
                                                    const char* base, const char* rel,
                                                    size_t len, const struct stat* st,
                                                    const char* error, int is_dir) {
    coco_localfs_file* f;
    size_t name_off = len, dot, stem_len, i;
    char *p, *msg = NULL;
    while (name_off > 0 && rel[name_off - 1] != '/') name_off--;
    dot = len;
    for (i = len; i > name_off; i--)
        if (rel[i - 1] == '.') { dot = i - 1; break; }
    if (dot == name_off || dot + 1 >= len) dot = len;         /* ".bashrc", "a." */
    stem_len = dot - name_off;
    f = (coco_localfs_file*)coco_arena_alloc(ar, sizeof *f + len + 1 + name_off + 1 +
                                             stem_len + 1);
    if (error && !(msg = coco_arena_strndup(ar, error, strlen(error)))) f = NULL;
    if (!f) return NULL;
    memset(f, 0, sizeof *f);
    p = (char*)(f + 1);
    memcpy(p, rel, len);
    p[len] = 0;
    f->rel = p;
    p += len + 1;
    if (name_off) memcpy(p, rel, name_off - 1);
    p[name_off ? name_off - 1 : 0] = 0;
    f->parent = p;
    p += name_off + 1;
    memcpy(p, rel + name_off, stem_len);
    p[stem_len] = 0;
    f->stem = p;
    f->rel_len = len;
    f->name_off = name_off;
    f->suffix_off = dot;
    f->dir = dir;
    f->base = base;
    f->error = msg;
    f->is_dir = is_dir;
    if (st) {
        f->size = (uint64_t)st->st_size;
        f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + (int64_t)st->st_mtim.tv_nsec;
    }
    return f;
}

COCO__PRIVATE int coco__lfs_add(coco__lfs_walker* w, const char* rel, size_t len,
                                const struct stat* st, const char* error, int is_dir) {
    coco_localfs_file* f = coco__lfs_file_new(w->ar, w->dir, w->base, rel, len, st, error,
                                              is_dir);
    if (!f) { w->nomem = 1; return -1; }
    if (error) w->nerrors++;
    if (coco__lfs_vec_put(&w->files, &f, sizeof f)) { w->nomem = 1; return -1; }
    return 0;
}

/* Queues the directory at w->rel (NUL-terminated) for reading. */
COCO__PRIVATE void coco__lfs_push_dir(coco__lfs_walker* w, int via_link) {
    coco__lfs_task t;
    t.wk.off = w->pool.len;
    t.wk.len = w->rel.len - 1;
    t.parent = w->cur_rec;
    if (coco__lfs_vec_put(&w->pool, w->rel.p, t.wk.len) ||
        coco__lfs_vec_put(via_link ? &w->links : &w->real, &t, sizeof t))
        w->nomem = 1;
}

COCO__PRIVATE void coco__lfs_dir_error(coco__lfs_walker* w, const char* rel, size_t len, int e,
                                       const char* what) {
    char msg[COCO__LFS_ERRCAP];
    coco__lfs_msg(msg, sizeof msg, "cannot %s directory '%s%s%.*s': %s", what, w->dir,
                  len ? "/" : "", (int)len, rel, strerror(e));
    if (w->err && !w->err[0]) coco__lfs_msg(w->err, w->cap, "%s", msg);
    if (len) {
        coco__lfs_add(w, rel, len, NULL, msg, 1);
        w->unordered = 1;                 /* sorts among its parent's files, not in a run */
    }
}

/* The checks of a selected regular file once stat'ed: too large (skipped), unreadable by its
   permission bits (an error item), else the item.  0 = listed (*f updated), -1 = not. */
COCO__PRIVATE int coco__lfs_checked(coco__lfs_walker* w, const char* rel, const struct stat* st,
                                    char** error) {
    char msg[COCO__LFS_ERRCAP];
    *error = NULL;
    if (w->max_size && (uint64_t)st->st_size > w->max_size) { w->nskipped++; return -1; }
    if (!coco__lfs_readable(w, st)) {
        coco__lfs_msg(msg, sizeof msg, "cannot read '%s/%s': %s", w->dir, rel, strerror(EACCES));
        if (!(*error = coco_arena_strndup(w->ar, msg, strlen(msg)))) w->nomem = 1;
        w->nerrors++;
    }
    return 0;
}

/* One directory entry `name` of the directory `dfd`; w->rel holds its relative path. */
COCO__PRIVATE void coco__lfs_entry(coco__lfs_walker* w, int dfd, const char* name, int dtype) {
    struct stat st;
    char msg[COCO__LFS_ERRCAP];
    const char* rel = w->rel.p;
    size_t len = w->rel.len - 1;                     /* w->rel is NUL-terminated */
    int via_link = 0, e;
    if (dtype == COCO__LFS_DT_DIR) {
        if (w->recursive && coco__lfs_gdir(w->g, rel, len, &w->sm)) coco__lfs_push_dir(w, 0);
        return;
    }
    if (dtype == COCO__LFS_DT_REG && !coco__lfs_gmatch(w->g, rel, len, &w->sm)) return;
    if (dtype == COCO__LFS_DT_REG) {
        /* listed now, stat'ed later (coco__lfs_stat_pending) */
        coco__lfs_pend pd;
        if (coco__lfs_add(w, rel, len, NULL, NULL, 0)) return;
        memset(&pd, 0, sizeof pd);
        pd.f = ((coco_localfs_file**)(void*)w->files.p)[w->files.len / sizeof pd.f - 1];
        pd.dir = w->cur;
        if (coco__lfs_vec_put(&w->pend, &pd, sizeof pd)) w->nomem = 1;
        return;
    }
    if (dtype == COCO__LFS_DT_UNKNOWN) {
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) goto stat_failed;
        if (S_ISLNK(st.st_mode)) dtype = COCO__LFS_DT_LNK;
    }
    if (dtype == COCO__LFS_DT_LNK) {
        via_link = 1;
        if (!coco__lfs_gmatch(w->g, rel, len, &w->sm) &&
            !(w->recursive && coco__lfs_gdir(w->g, rel, len, &w->sm)))
            return;                                  /* wanted neither as file nor as dir */
        if (fstatat(dfd, name, &st, 0) != 0) {
            if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) return;   /* dangling */
            goto stat_failed;
        }
    } else if (dtype != COCO__LFS_DT_REG && dtype != COCO__LFS_DT_UNKNOWN) {
        return;                                      /* fifo, socket, device */
    }
    if (S_ISDIR(st.st_mode)) {
        if (w->recursive && coco__lfs_gdir(w->g, rel, len, &w->sm)) coco__lfs_push_dir(w, via_link);
        return;
    }
    if (!S_ISREG(st.st_mode)) return;
    if (!coco__lfs_gmatch(w->g, rel, len, &w->sm)) return;
    {
        char* error;
        if (coco__lfs_checked(w, rel, &st, &error) == 0 &&
            coco__lfs_add(w, rel, len, &st, NULL, 0) == 0)
            ((coco_localfs_file**)(void*)w->files.p)[w->files.len / sizeof(void*) - 1]->error =
                error;
    }
    return;
stat_failed:
    e = errno;
    if (e == ENOENT || e == ENOTDIR) return;         /* deleted since it was read: not there */
    if (!coco__lfs_gmatch(w->g, rel, len, &w->sm)) return;
    coco__lfs_msg(msg, sizeof msg, "cannot stat '%s/%s': %s", w->dir, rel, strerror(e));
    coco__lfs_add(w, rel, len, NULL, msg, 0);
}

COCO__PRIVATE int coco__lfs_cmp(const void* a, const void* b) {
    const coco_localfs_file* x = *(const coco_localfs_file* const*)a;
    const coco_localfs_file* y = *(const coco_localfs_file* const*)b;
    size_t n = x->rel_len < y->rel_len ? x->rel_len : y->rel_len;
    int c = memcmp(x->rel, y->rel, n);
    if (c) return c;
    return x->rel_len < y->rel_len ? -1 : x->rel_len > y->rel_len;
}

/* Reads the directory of task `t`: its files become items (sorted), its subdirectories work. */
COCO__PRIVATE void coco__lfs_read_dir(coco__lfs_walker* w, coco__lfs_task t, int via_link) {
    char* rel;
    const char* path;
    int dfd, e;
    DIR* d;
    struct stat st;
    struct dirent* ent;
    coco__lfs_work wk = t.wk;
    coco__lfs_dirrec rec;
    /* the pool grows (moves) while entries are read: `path` is taken again after that */
#define COCO__LFS_WPATH() (path = wk.len ? w->pool.p + wk.off : "")
    COCO__LFS_WPATH();
    w->cur = wk;
    w->rel.len = 0;
    if (coco__lfs_vec_put(&w->rel, path, wk.len) || coco__lfs_vec_put(&w->rel, "", 1)) {
        w->nomem = 1;
        return;
    }
    rel = w->rel.p;
    if (wk.len == 0) dfd = dup(w->rootfd);
    else {
        do dfd = openat(w->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        while (dfd < 0 && errno == EINTR);
    }
    if (dfd < 0) {
        e = errno;
        if (via_link && (e == ENOENT || e == ELOOP)) return;     /* gone meanwhile */
        /* deleted or moved away since its parent was read: it is not there (anything else,
           EACCES or EMFILE, is an error item: its files must not pass for deleted) */
        if (wk.len && (e == ENOENT || e == ENOTDIR)) return;
        coco__lfs_dir_error(w, rel, wk.len, e, "open");
        return;
    }
    if (fstat(dfd, &st) != 0) {
        e = errno;
        close(dfd);
        coco__lfs_dir_error(w, path, wk.len, e, "stat");
        return;
    }
    if (wk.len) {                                   /* the root was added by the caller */
        int r = coco__lfs_seen_add(w, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
        if (r < 0) { close(dfd); w->nomem = 1; return; }
        if (r == 0) { close(dfd); return; }          /* listed already, or a symlink loop */
    }
    if (!(d = fdopendir(dfd))) {
        e = errno;
        close(dfd);
        coco__lfs_dir_error(w, path, wk.len, e, "read");
        return;
    }
    w->ndirs++;
    memset(&rec, 0, sizeof rec);
    rec.path = wk;
    rec.parent = t.parent;
    rec.from = w->files.len / sizeof(coco_localfs_file*);
    w->cur_rec = w->dirs.len / sizeof rec;
    for (;;) {
        size_t nlen;
        errno = 0;
        if (!(ent = readdir(d))) break;
        if (ent->d_name[0] == '.' && (ent->d_name[1] == 0 ||
                                      (ent->d_name[1] == '.' && ent->d_name[2] == 0)))
            continue;
        nlen = strlen(ent->d_name);
        if (coco__lfs_is_tmpname(ent->d_name, nlen, NULL)) continue;
        w->rel.len = 0;
        COCO__LFS_WPATH();
        if (coco__lfs_vec_put(&w->rel, path, wk.len) ||
            (wk.len && coco__lfs_vec_put(&w->rel, "/", 1)) ||
            coco__lfs_vec_put(&w->rel, ent->d_name, nlen + 1)) { w->nomem = 1; break; }
        coco__lfs_entry(w, dirfd(d), ent->d_name, COCO__LFS_DTYPE(ent));
        if (w->nomem) break;
    }
    e = errno;
    closedir(d);
    COCO__LFS_WPATH();
    rec.to = w->files.len / sizeof(coco_localfs_file*);
    if (rec.to - rec.from > 1)
        qsort((coco_localfs_file**)(void*)w->files.p + rec.from, rec.to - rec.from,
              sizeof(coco_localfs_file*), coco__lfs_cmp);
    if (coco__lfs_vec_put(&w->dirs, &rec, sizeof rec)) w->nomem = 1;
    if (!ent && e && !w->nomem) coco__lfs_dir_error(w, path, wk.len, e, "read");
#undef COCO__LFS_WPATH
}

/* A subdirectory as its parent's merge sees it: its name, which sorts as NAME + "/". */
typedef struct coco__lfs_kid {
    size_t      parent, rec;
    const char* name;
    size_t      len;
} coco__lfs_kid;

/* The name a, followed by '/' when a_dir, against the subdirectory name b as "b/" (bytes). */
COCO__PRIVATE int coco__lfs_cmp_name(const char* a, size_t al, int a_dir, const char* b,
                                     size_t bl) {
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    if (c) return c;
    if (al > bl) return (unsigned char)a[n] - '/';
    if (!a_dir) return -1;                    /* a file: a prefix of "b/" */
    return al == bl ? 0 : '/' - (unsigned char)b[n];
}

COCO__PRIVATE int coco__lfs_kid_cmp(const void* x, const void* y) {
    const coco__lfs_kid* a = (const coco__lfs_kid*)x;
    const coco__lfs_kid* b = (const coco__lfs_kid*)y;
    if (a->parent != b->parent) return a->parent < b->parent ? -1 : 1;
    return coco__lfs_cmp_name(a->name, a->len, 1, b->name, b->len);
}

/* Puts w->files in sorted path order.  Each directory's run is sorted already; the order of
   the whole walk interleaves a directory's files with its subdirectories, a subdirectory D
   sorting as "D/" among its parent's names (so "a.md" < "a/x.md" < "a0.md", as the full paths
   do).  Falls back to sorting every path when an item lies outside the runs. */
COCO__PRIVATE void coco__lfs_order(coco__lfs_walker* w) {
    coco__lfs_dirrec* rec = (coco__lfs_dirrec*)(void*)w->dirs.p;
    coco_localfs_file** fs = (coco_localfs_file**)(void*)w->files.p;
    size_t nr = w->dirs.len / sizeof *rec, n = w->files.len / sizeof *fs, nk = 0, i, m = 0, sp;
    coco__lfs_kid* kids = NULL;
    coco_localfs_file** out = NULL;
    struct frame { size_t rec, fi, ki; }* st = NULL;
    if (n < 2) return;
    if (w->unordered || !nr || rec[0].parent != SIZE_MAX) goto sort_all;
    kids = (coco__lfs_kid*)coco__lfs_alloc(w->a, nr * sizeof *kids);
    out = (coco_localfs_file**)coco__lfs_alloc(w->a, n * sizeof *out);
    st = (struct frame*)coco__lfs_alloc(w->a, nr * sizeof *st);
    if (!kids || !out || !st) goto sort_all;
    for (i = 1; i < nr; i++) {
        const char* path = w->pool.p + rec[i].path.off;
        size_t len = rec[i].path.len, o = len;
        while (o > 0 && path[o - 1] != '/') o--;
        kids[nk].parent = rec[i].parent;
        kids[nk].rec = i;
        kids[nk].name = path + o;
        kids[nk].len = len - o;
        nk++;
    }
    if (nk > 1) qsort(kids, nk, sizeof *kids, coco__lfs_kid_cmp);
    for (i = 0; i < nk; i++) {
        coco__lfs_dirrec* p = &rec[kids[i].parent];
        if (!p->nkids) p->kid0 = i;
        p->nkids++;
    }
    /* depth first, a frame per open directory */
    st[0].rec = 0;
    st[0].fi = rec[0].from;
    st[0].ki = 0;
    sp = 1;
    while (sp) {
        struct frame* f = &st[sp - 1];
        const coco__lfs_dirrec* d = &rec[f->rec];
        if (f->fi < d->to) {
            const coco_localfs_file* x = fs[f->fi];
            const coco__lfs_kid* k = f->ki < d->nkids ? &kids[d->kid0 + f->ki] : NULL;
            if (!k || coco__lfs_cmp_name(x->rel + x->name_off, x->rel_len - x->name_off, 0,
                                         k->name, k->len) < 0) {
                out[m++] = fs[f->fi++];
                continue;
            }
        }
        if (f->ki < d->nkids) {
            size_t r = kids[d->kid0 + f->ki++].rec;
            if (sp >= nr) goto sort_all;           /* a cycle: cannot be, but never loop */
            st[sp].rec = r;
            st[sp].fi = rec[r].from;
            st[sp].ki = 0;
            sp++;
            continue;
        }
        sp--;
    }
    if (m != n) goto sort_all;
    memcpy(fs, out, n * sizeof *fs);
    goto done;
sort_all:
    qsort(fs, n, sizeof *fs, coco__lfs_cmp);
done:
    coco__lfs_free(w->a, kids, nr * sizeof *kids);
    coco__lfs_free(w->a, out, n * sizeof *out);
    coco__lfs_free(w->a, st, nr * sizeof *st);
}

/* Stats pend[from, to) (each directory opened once); any thread: touches only those entries
   and their files' size and mtime. */
typedef struct coco__lfs_statjob {
    const coco__lfs_walker* w;
    size_t                  from, to;
} coco__lfs_statjob;

COCO__PRIVATE void* coco__lfs_stat_range(void* arg) {
    const coco__lfs_statjob* j = (const coco__lfs_statjob*)arg;
    const coco__lfs_walker* w = j->w;
    coco__lfs_pend* pd = (coco__lfs_pend*)(void*)w->pend.p;
    char dir[PATH_MAX];
    int dfd = -1, derr = 0;
    size_t i, off = SIZE_MAX, len = 0;
    for (i = j->from; i < j->to; i++) {
        coco__lfs_pend* p = &pd[i];
        struct stat st;
        if (p->dir.off != off || p->dir.len != len) {
            if (dfd >= 0 && dfd != w->rootfd) close(dfd);
            off = p->dir.off;
            len = p->dir.len;
            derr = 0;
            if (!len) dfd = w->rootfd;
            else if (len >= sizeof dir) { dfd = -1; derr = ENAMETOOLONG; }
            else {
                memcpy(dir, w->pool.p + off, len);
                dir[len] = 0;
                do dfd = openat(w->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                while (dfd < 0 && errno == EINTR);
                if (dfd < 0) derr = errno;
            }
        }
        if (dfd < 0) { p->err = derr ? derr : EIO; continue; }
        if (fstatat(dfd, p->f->rel + p->f->name_off, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            p->err = errno ? errno : EIO;
            continue;
        }
        p->err = 0;
        p->mode = (unsigned)st.st_mode;
        p->uid = st.st_uid;
        p->gid = st.st_gid;
        p->f->size = (uint64_t)st.st_size;
        p->f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + (int64_t)st.st_mtim.tv_nsec;
    }
    if (dfd >= 0 && dfd != w->rootfd) close(dfd);
    return NULL;
}

#define COCO__LFS_PAR_MIN 2048     /* deferred stats from which helper threads share them */
#define COCO__LFS_PAR_MAX 4        /* threads at most */

/* The deferred stats (on up to COCO__LFS_PAR_MAX threads when there are many), then what the
   walk does with a stat'ed regular file: checks, error items, or dropping it (a file that is
   no longer a regular file).  Dropped files leave w->files. */
COCO__PRIVATE void coco__lfs_stat_pending(coco__lfs_walker* w) {
    size_t n = w->pend.len / sizeof(coco__lfs_pend), i, k, nt = 1;
    coco__lfs_pend* pd = (coco__lfs_pend*)(void*)w->pend.p;
    coco__lfs_statjob jobs[COCO__LFS_PAR_MAX];
    int dropped = 0;
#if !defined(COCO_NO_THREADS)
    pthread_t th[COCO__LFS_PAR_MAX];
    int started[COCO__LFS_PAR_MAX];
    if (n >= COCO__LFS_PAR_MIN) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        nt = nc > 1 ? (size_t)nc : 1;
        if (nt > COCO__LFS_PAR_MAX) nt = COCO__LFS_PAR_MAX;
    }
#endif
    if (!n) return;
    for (k = 0; k < nt; k++) {
        jobs[k].w = w;
        jobs[k].from = n * k / nt;
        jobs[k].to = n * (k + 1) / nt;
    }
#if !defined(COCO_NO_THREADS)
    for (k = 1; k < nt; k++)
        started[k] = pthread_create(&th[k], NULL, coco__lfs_stat_range, &jobs[k]) == 0;
    coco__lfs_stat_range(&jobs[0]);
    for (k = 1; k < nt; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        else coco__lfs_stat_range(&jobs[k]);       /* no thread: this one does it */
    }
#else
    coco__lfs_stat_range(&jobs[0]);
#endif
    for (i = 0; i < n && !w->nomem; i++) {
        coco__lfs_pend* p = &pd[i];
        coco_localfs_file* f = p->f;
        char msg[COCO__LFS_ERRCAP];
        struct stat st;
        char* error = NULL;
        int e = p->err;
        if (!e && S_ISLNK(p->mode)) {
            /* replaced by a symlink since its directory was read: follow it */
            if (fstatat(w->rootfd, f->rel, &st, 0) != 0) {
                e = errno ? errno : EIO;
                if (e == ENOENT || e == ELOOP || e == ENOTDIR) { f->is_dir = -1; dropped = 1; continue; }
            } else {
                p->mode = (unsigned)st.st_mode;
                p->uid = st.st_uid;
                p->gid = st.st_gid;
                f->size = (uint64_t)st.st_size;
                f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + (int64_t)st.st_mtim.tv_nsec;
            }
        }
        if (e == ENOENT || e == ENOTDIR) { f->is_dir = -1; dropped = 1; continue; }  /* gone */
        if (e) {
            coco__lfs_msg(msg, sizeof msg, "cannot stat '%s/%s': %s", w->dir, f->rel, strerror(e));
            if (!(f->error = coco_arena_strndup(w->ar, msg, strlen(msg)))) w->nomem = 1;
            f->size = 0;
            f->mtime_ns = 0;
            w->nerrors++;
            continue;
        }
        if (!S_ISREG(p->mode)) { f->is_dir = -1; dropped = 1; continue; }   /* now a dir, ... */
        memset(&st, 0, sizeof st);
        st.st_mode = (mode_t)p->mode;
        st.st_uid = p->uid;
        st.st_gid = p->gid;
        st.st_size = (off_t)f->size;
        if (coco__lfs_checked(w, f->rel, &st, &error) != 0) { f->is_dir = -1; dropped = 1; continue; }
        f->error = error;
    }
    if (dropped) {
        coco_localfs_file** fs = (coco_localfs_file**)(void*)w->files.p;
        size_t m = w->files.len / sizeof *fs, o = 0;
        for (i = 0; i < m; i++)
            if (fs[i]->is_dir != -1) fs[o++] = fs[i];
        w->files.len = o * sizeof *fs;
    }
}

/* The absolute, symlink-free path of the open directory `fd` (named `dir`) in `ar`: Linux's
   /proc/self/fd link, else `dir` joined to the current directory. */
COCO__PRIVATE char* coco__lfs_abspath(coco_arena* ar, int fd, const char* dir) {
    char link[64], buf[PATH_MAX + 1], *p;
    ssize_t n;
    size_t dl = strlen(dir), cl = 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, buf, sizeof buf - 1);
    if (n > 0 && buf[0] == '/' && (size_t)n < sizeof buf - 1)
        return coco_arena_strndup(ar, buf, (size_t)n);
    if (dir[0] != '/') {
        if (!getcwd(buf, sizeof buf)) return coco_arena_strndup(ar, dir, dl);
        cl = strlen(buf);
    }
    if (!(p = (char*)coco_arena_alloc(ar, cl + 1 + dl + 1))) return NULL;
    memcpy(p, buf, cl);
    if (cl && p[cl - 1] != '/') p[cl++] = '/';
    memcpy(p + cl, dir, dl + 1);
    return p;
}

/* The walk proper.  `key_name` NULL: the base is the absolute directory; `a` NULL = malloc. */
COCO__PRIVATE coco_result coco__lfs_walk(coco_arena* ar, const coco_allocator* a,
                                         const char* dir, const char* key_name,
                                         const coco_localfs_walk_desc* d,
                                         coco_localfs_items* out, char* err, size_t cap) {
    coco__lfs_walker w;
    coco_glob* own = NULL;
    coco_result rc = COCO_OK;
    struct stat st;
    size_t i, n;
    coco_value *keys, *items;
    coco__lfs_task task;
    memset(out, 0, sizeof *out);
    memset(&w, 0, sizeof w);
    w.rootfd = -1;
    w.err = err;
    w.cap = cap;
    if (err && cap) err[0] = 0;
    w.a = a;
    coco__lfs_vec_init(&w.files, a);
    coco__lfs_vec_init(&w.pool, a);
    coco__lfs_vec_init(&w.real, a);
    coco__lfs_vec_init(&w.links, a);
    coco__lfs_vec_init(&w.rel, a);
    coco__lfs_vec_init(&w.pend, a);
    coco__lfs_vec_init(&w.dirs, a);
    w.ar = ar;
    w.recursive = d->recursive;
    w.max_size = d->max_file_size;
    w.g = d->glob;
    if (!w.g) {
        coco_glob_desc gd;
        memset(&gd, 0, sizeof gd);
        gd.include = d->include;
        gd.ninclude = d->ninclude;
        gd.exclude = d->exclude;
        gd.nexclude = d->nexclude;
        if ((rc = coco_glob_compile(&gd, &own, err, cap)) != COCO_OK) return rc;
        w.g = own;
    }
    if (coco__lfs_gsim_init(&w.sm, w.g)) { rc = COCO_ERR_NOMEM; goto done; }
    do w.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (w.rootfd < 0 && errno == EINTR);
    if (w.rootfd < 0 || fstat(w.rootfd, &st) != 0) {
        int e = errno;
        coco__lfs_msg(err, cap, "walk: cannot open directory '%s': %s", dir, strerror(e));
        rc = e == ENOENT || e == ENOTDIR ? COCO_ERR_NOT_FOUND : e == ENOMEM ? COCO_ERR_NOMEM
                                                                          : COCO_ERR_IO;
        goto done;
    }
    w.dir = coco__lfs_abspath(ar, w.rootfd, dir);
    if (key_name) {
        size_t kl = strlen(key_name);
        char* b = (char*)coco_arena_alloc(ar, kl + 5);
        if (b) { memcpy(b, "key:", 4); memcpy(b + 4, key_name, kl + 1); }
        w.base = b;
    } else w.base = w.dir;
    w.euid = geteuid();
    if (w.euid != 0) {
        int ng = getgroups(0, NULL);
        if (ng < 0) ng = 0;
        w.groups = (gid_t*)coco_arena_alloc(ar, ((size_t)ng + 1) * sizeof *w.groups);
        if (w.groups) {
            w.groups[0] = getegid();
            ng = ng ? getgroups(ng, w.groups + 1) : 0;
            w.ngroups = 1 + (ng > 0 ? ng : 0);
        }
    }
    if (!w.dir || !w.base || (w.euid != 0 && !w.groups) ||
        coco__lfs_seen_add(&w, (uint64_t)st.st_dev, (uint64_t)st.st_ino) < 0) {
        rc = COCO_ERR_NOMEM;
        goto done;
    }
    task.wk.off = 0;
    task.wk.len = 0;
    task.parent = SIZE_MAX;
    coco__lfs_read_dir(&w, task, 0);
    while (!w.nomem) {
        int via = 0;
        if (w.real.len) {
            w.real.len -= sizeof task;
            memcpy(&task, w.real.p + w.real.len, sizeof task);
        } else if (w.links.len) {
            w.links.len -= sizeof task;
            memcpy(&task, w.links.p + w.links.len, sizeof task);
            via = 1;
        } else break;
        coco__lfs_read_dir(&w, task, via);
    }
    if (!w.nomem) coco__lfs_order(&w);
    if (!w.nomem) coco__lfs_stat_pending(&w);             /* drops keep the order */
    if (w.nomem) { rc = COCO_ERR_NOMEM; goto done; }
    n = w.files.len / sizeof(coco_localfs_file*);
    keys = (coco_value*)coco_arena_alloc(ar, (n ? n : 1) * sizeof *keys);
    items = (coco_value*)coco_arena_alloc(ar, (n ? n : 1) * sizeof *items);
    if (!keys || !items) { rc = COCO_ERR_NOMEM; goto done; }
    for (i = 0; i < n; i++) {
        const coco_localfs_file* f = ((coco_localfs_file**)(void*)w.files.p)[i];
        keys[i] = coco_strn(f->rel, f->rel_len);
        items[i] = coco_object(&coco__lfs_file_vt, f);
    }
    out->keys = keys;
    out->items = items;
    out->n = n;
    out->nerrors = w.nerrors;
    out->nskipped = w.nskipped;
    out->ndirs = w.ndirs;
    if (err && err[0]) rc = COCO_ERR_IO;            /* a subdirectory could not be read */
done:
    if (rc == COCO_ERR_NOMEM) coco__lfs_msg(err, cap, "walk of '%s': out of memory", dir);
    if (w.rootfd >= 0) close(w.rootfd);
    coco__lfs_free(a, w.seen, w.seen_cap * sizeof *w.seen);
    coco__lfs_gsim_free(&w.sm);
    coco_glob_destroy(own);
    coco__lfs_vec_free(&w.files);
    coco__lfs_vec_free(&w.pool);
    coco__lfs_vec_free(&w.real);
    coco__lfs_vec_free(&w.links);
    coco__lfs_vec_free(&w.rel);
    coco__lfs_vec_free(&w.pend);
    coco__lfs_vec_free(&w.dirs);
    return rc;
}

COCO_API coco_result coco_localfs_walk(coco_ctx* ctx, const coco_localfs_walk_desc* desc,
                                       coco_localfs_items* out) {
    char err[COCO__LFS_ERRCAP];
    const char* dir;
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_result rc;
    if (out) memset(out, 0, sizeof *out);
    if (!ar || !desc || !out) return COCO_ERR_INVALID_ARG;
    if (!desc->path == !desc->context_key)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "localfs walk at %s: give either a path "
                             "or a context_key", coco_ctx_path(ctx));
    dir = desc->path;
    if (desc->context_key) {
        if (!(dir = (const char*)coco_use(ctx, desc->context_key))) return COCO_ERR_NOT_FOUND;
        if (!*dir)
            return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "localfs walk: context key '%s' "
                                 "holds an empty path", desc->context_key);
    }
    err[0] = 0;
    rc = coco__lfs_walk(ar, coco_env_allocator(coco_ctx_env(ctx)), dir, desc->context_key, desc,
                        out, err, sizeof err);
    if (rc != COCO_OK) return coco_ctx_fail(ctx, rc, "%s", err[0] ? err : coco_result_str(rc));
    return COCO_OK;
}


/* ==============================================================================================
   >>lfs_impl_live -- watching a walked directory with inotify (Private)
   ============================================================================================== */
#if defined(__linux__)
#include <poll.h>
#include <sys/inotify.h>
#define COCO__LFS_HAS_INOTIFY 1
#else
#define COCO__LFS_HAS_INOTIFY 0
#endif

/* What a watcher needs after the walking component is gone: one block (malloc), owned by
   the live source (coco_mount_live_owned frees it with coco__lfs_watchcfg_free). */
typedef struct coco__lfs_watchcfg {
    const char* dir;              /* absolute; in the same block */
    const char* base;             /* memo identity; in the same block */
    int         recursive;
    uint64_t    max_size;
    coco_glob*  glob;             /* owned */
} coco__lfs_watchcfg;

COCO__PRIVATE void coco__lfs_watchcfg_free(void* user) {
    coco__lfs_watchcfg* c = (coco__lfs_watchcfg*)user;
    if (!c) return;
    coco_glob_destroy(c->glob);
    free(c);
}

/* The watcher settings of a walk: `dir` absolute, the base "key:NAME" or the directory. */
COCO__PRIVATE coco__lfs_watchcfg* coco__lfs_watchcfg_new(const char* absdir,
                                                         const char* context_key) {
    size_t dl = strlen(absdir), kl = context_key ? strlen(context_key) : 0;
    coco__lfs_watchcfg* c = (coco__lfs_watchcfg*)malloc(sizeof *c + dl + 1 + (kl ? kl + 5 : 0));
    char* p;
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    p = (char*)(c + 1);
    memcpy(p, absdir, dl + 1);
    c->dir = p;
    c->base = p;
    if (context_key) {
        p += dl + 1;
        memcpy(p, "key:", 4);
        memcpy(p + 4, context_key, kl + 1);
        c->base = p;
    }
    return c;
}

/* The item of `key` as the file is now: a file object, or NOT_FOUND when it is gone, is no
   longer a regular file or is too large. */
COCO__PRIVATE coco_result coco__lfs_resolve(void* user, const coco_value* key, coco_arena* ar,
                                            coco_value* item) {
    const coco__lfs_watchcfg* c = (const coco__lfs_watchcfg*)user;
    coco_localfs_file* f;
    struct stat st;
    char* full;
    size_t dl = strlen(c->dir);
    if (key->kind != COCO_STR) return COCO_ERR_NOT_FOUND;
    if (!(full = (char*)coco_arena_alloc(ar, dl + 1 + key->u.s.len + 1))) return COCO_ERR_NOMEM;
    memcpy(full, c->dir, dl);
    full[dl] = '/';
    memcpy(full + dl + 1, key->u.s.ptr, key->u.s.len);
    full[dl + 1 + key->u.s.len] = 0;
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) return COCO_ERR_NOT_FOUND;
    if (c->max_size && (uint64_t)st.st_size > c->max_size) return COCO_ERR_NOT_FOUND;
    f = coco__lfs_file_new(ar, c->dir, c->base, key->u.s.ptr, key->u.s.len, &st, NULL, 0);
    if (!f) return COCO_ERR_NOMEM;
    *item = coco_object(&coco__lfs_file_vt, f);
    return COCO_OK;
}

#if COCO__LFS_HAS_INOTIFY
typedef struct coco__lfs_wd { int wd; char* rel; } coco__lfs_wd;
typedef struct coco__lfs_watcher {
    const coco__lfs_watchcfg* c;
    coco_live*    live;
    int           fd;
    coco__lfs_vec wds;            /* coco__lfs_wd[] */
} coco__lfs_watcher;

#define COCO__LFS_IN_MASK (IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | \
                           IN_DELETE | IN_DELETE_SELF | IN_ATTRIB | IN_ONLYDIR)

/* "a/b" + "/" + "c" (or "c" at the root), malloc'ed */
COCO__PRIVATE char* coco__lfs_join(const char* a, const char* b) {
    size_t al = strlen(a), bl = strlen(b);
    char* r = (char*)malloc(al + 1 + bl + 1);
    if (!r) return NULL;
    memcpy(r, a, al);
    if (al) r[al++] = '/';
    memcpy(r + al, b, bl + 1);
    return r;
}

/* Watches the directory `rel` and, when recursive, its subdirectories; with `report`, also
   reports its files (they may have been written before the watch existed). */
COCO__PRIVATE void coco__lfs_watch_tree(coco__lfs_watcher* W, const char* rel, int report,
                                        int depth) {
    const coco__lfs_watchcfg* c = W->c;
    char* abs = coco__lfs_join(c->dir, rel);
    DIR* d;
    struct dirent* e;
    coco__lfs_wd w;
    if (!abs || depth > 64) { free(abs); return; }
    if (!*rel) { free(abs); abs = coco__lfs_join(c->dir, ""); if (abs) abs[strlen(abs) - 1] = 0; }
    if (!abs) return;
    w.wd = inotify_add_watch(W->fd, abs, COCO__LFS_IN_MASK);
    if (w.wd >= 0 && (w.rel = (char*)malloc(strlen(rel) + 1)) != NULL) {
        memcpy(w.rel, rel, strlen(rel) + 1);
        if (coco__lfs_vec_put(&W->wds, &w, sizeof w)) free(w.rel);
    }
    if ((d = opendir(abs)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            struct stat st;
            char* sub;
            char* full;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            if (coco__lfs_is_tmpname(e->d_name, strlen(e->d_name), NULL)) continue;
            if (!(sub = coco__lfs_join(rel, e->d_name))) continue;
            full = coco__lfs_join(c->dir, sub);
            if (full && lstat(full, &st) == 0) {
                if (S_ISDIR(st.st_mode)) {
                    if (c->recursive && coco_glob_dir_may_match(c->glob, sub))
                        coco__lfs_watch_tree(W, sub, report, depth + 1);
                } else if (report && coco_glob_match(c->glob, sub)) {
                    coco_live_update(W->live, coco_str(sub), coco_null());
                }
            }
            free(full);
            free(sub);
        }
        closedir(d);
    }
    free(abs);
}

COCO__PRIVATE const char* coco__lfs_wd_rel(coco__lfs_watcher* W, int wd) {
    size_t i, n = W->wds.len / sizeof(coco__lfs_wd);
    for (i = 0; i < n; i++)
        if (((coco__lfs_wd*)(void*)W->wds.p)[i].wd == wd) return ((coco__lfs_wd*)(void*)W->wds.p)[i].rel;
    return NULL;
}

COCO__PRIVATE void coco__lfs_unwatch_all(coco__lfs_watcher* W) {
    size_t i, n = W->wds.len / sizeof(coco__lfs_wd);
    for (i = 0; i < n; i++) {
        inotify_rm_watch(W->fd, ((coco__lfs_wd*)(void*)W->wds.p)[i].wd);
        free(((coco__lfs_wd*)(void*)W->wds.p)[i].rel);
    }
    W->wds.len = 0;
}

/* One batch of inotify events: per-file updates; a full pass when that is the only safe
   answer (lost events, a directory gone). */
COCO__PRIVATE void coco__lfs_events(coco__lfs_watcher* W, const char* buf, ssize_t len) {
    const char* p = buf;
    int full = 0;
    while (p < buf + len) {
        const struct inotify_event* ev = (const struct inotify_event*)(const void*)p;
        const char* dirrel;
        char* rel;
        p += sizeof *ev + ev->len;
        if (ev->mask & IN_Q_OVERFLOW) { full = 1; continue; }
        if (ev->mask & (IN_DELETE_SELF | IN_IGNORED)) continue;
        if (!ev->len || !(dirrel = coco__lfs_wd_rel(W, ev->wd))) continue;
        if (coco__lfs_is_tmpname(ev->name, strlen(ev->name), NULL)) continue;
        if (!(rel = coco__lfs_join(dirrel, ev->name))) continue;
        if (ev->mask & IN_ISDIR) {
            if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
                if (W->c->recursive && coco_glob_dir_may_match(W->c->glob, rel))
                    coco__lfs_watch_tree(W, rel, 1, 1);
            } else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                full = 1;
            }
        } else if (coco_glob_match(W->c->glob, rel)) {
            coco_live_update(W->live, coco_str(rel), coco_null());
        }
        free(rel);
    }
    if (full) {
        /* rebuild the watches, then let a full pass reconcile everything */
        coco__lfs_unwatch_all(W);
        coco__lfs_watch_tree(W, "", 0, 0);
        coco_live_update_full(W->live);
    }
}
#endif

COCO__PRIVATE coco_result coco__lfs_watch(void* user, coco_live* live) {
    coco__lfs_watchcfg* c = (coco__lfs_watchcfg*)user;
    coco_live_set_resolver(live, coco__lfs_resolve, c);
#if COCO__LFS_HAS_INOTIFY
    {
        coco__lfs_watcher W;
        char buf[16384] __attribute__((aligned(8)));
        memset(&W, 0, sizeof W);
        W.c = c;
        W.live = live;
        coco__lfs_vec_init(&W.wds, NULL);
        W.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (W.fd >= 0) {
            coco__lfs_watch_tree(&W, "", 0, 0);
            /* anything written between the catch-up walk and the first watch: one pass */
            coco_live_update_full(live);
            while (!coco_live_stopping(live)) {
                struct pollfd pfd;
                ssize_t n;
                pfd.fd = W.fd;
                pfd.events = POLLIN;
                pfd.revents = 0;
                if (poll(&pfd, 1, 50) <= 0) continue;
                while ((n = read(W.fd, buf, sizeof buf)) > 0) coco__lfs_events(&W, buf, n);
            }
            coco__lfs_unwatch_all(&W);
            close(W.fd);
            coco__lfs_vec_free(&W.wds);
            return COCO_OK;
        }
    }
#endif
    /* no inotify: poll with full passes (cheap: unchanged files are memo hits) */
    while (!coco_live_wait(live, 1000)) coco_live_update_full(live);
    return COCO_OK;
}

COCO_API coco_result coco_localfs_mount_walk(coco_ctx* ctx, coco_value key,
                                             const coco_localfs_walk_desc* desc,
                                             const coco_fn* each) {
    coco_localfs_items items;
    coco_result rc, wrc;
    coco__lfs_watchcfg* c = NULL;
    if (!ctx || !desc || !each) return COCO_ERR_INVALID_ARG;
    wrc = coco_localfs_walk(ctx, desc, &items);
    if (wrc != COCO_OK && wrc != COCO_ERR_IO) return wrc;
    if (coco_ctx_live(ctx)) {
        coco_glob_desc gd;
        char err[COCO__LFS_ERRCAP];
        const char* dir = desc->path ? desc->path : (const char*)coco_use(ctx, desc->context_key);
        char absdir[PATH_MAX];
        if (desc->glob) {
            /* a caller's precompiled matcher: the watcher needs its own lasting copy */
            return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "coco_localfs_mount_walk: give "
                                 "include/exclude lists, not a precompiled glob");
        }
        if (!dir || !realpath(dir, absdir))
            return coco_ctx_fail(ctx, COCO_ERR_IO, "cannot watch '%s': %s", dir ? dir : "?",
                                 strerror(errno));
        if (!(c = coco__lfs_watchcfg_new(absdir, desc->context_key))) return COCO_ERR_NOMEM;
        c->recursive = desc->recursive;
        c->max_size = desc->max_file_size;
        memset(&gd, 0, sizeof gd);
        gd.include = desc->include;
        gd.ninclude = desc->ninclude;
        gd.exclude = desc->exclude;
        gd.nexclude = desc->nexclude;
        if ((rc = coco_glob_compile(&gd, &c->glob, err, sizeof err)) != COCO_OK) {
            coco__lfs_watchcfg_free(c);
            return coco_ctx_fail(ctx, rc, "%s", err);
        }
    }
    {
        coco_live_desc ld;
        memset(&ld, 0, sizeof ld);
        ld.watch = coco__lfs_watch;
        /* the live source keeps c while it is watched, and frees it (or this copy, when a
           full pass of a live update mounts the walk again) */
        ld.user = c;
        ld.user_free = coco__lfs_watchcfg_free;
        /* a directory that could not be read: the files under it were not listed, and must
           not pass for deleted */
        ld.partial = wrc != COCO_OK;
        ld.borrow = 1;                  /* the items are in this component's arena */
        rc = coco_mount_live_desc(ctx, key, each, items.keys, items.items, items.n, &ld);
    }
    return rc != COCO_OK ? rc : wrc;
}

/* ==============================================================================================
   >>lfs_impl_target -- the file target: reconcile, apply (temp + rename), ownership (Private)
   Tracking record of a file: its content fingerprint (16 bytes) + size (8 bytes LE).  A file
   on disk is ours when a tracking record may describe it: certain when the last commit says
   so (prev present, nothing missing); otherwise checked by content (size first, then hash).
   ============================================================================================== */
typedef struct coco__lfs_target {
    coco_env*          env;
    const char*        name;
    const char*        root;          /* absolute */
    size_t             root_len;
    int                overwrite;
    coco_localfs_fsync fsync;
} coco__lfs_target;

#define COCO__LFS_TRACK_LEN 24

typedef struct coco__lfs_apply {
    const coco__lfs_target* t;
    int           rootfd;
    int           per_file;           /* fsync every file and its directory */
    int           touched;
    int           cache_fd;           /* the last parent directory opened, or -1 */
    coco__lfs_vec cache_rel;
    coco__lfs_vec cleaned;            /* coco_fp of directories scanned for stale temps */
    coco__lfs_vec scratch, rel;
    size_t        nfail;
    coco_result   first;
    char*         err;
    size_t        cap;
} coco__lfs_apply;

COCO__PRIVATE uint64_t coco__lfs_le64(const unsigned char* p) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
COCO__PRIVATE coco_result coco__lfs_afail(coco__lfs_apply* A, coco_result rc, const char* fmt,
                                          ...) {
    va_list ap;
    if (A->nfail++ == 0) {
        A->first = rc;
        if (A->err && A->cap) {
            va_start(ap, fmt);
            vsnprintf(A->err, A->cap, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

/* A directory target's state: key [Symbol("dir"), relative dir] */
COCO__PRIVATE int coco__lfs_is_dirkey(const coco_value* key) {
    return key->kind == COCO_LIST && key->u.list.count == 2 &&
           key->u.list.items[0].kind == COCO_SYMBOL && key->u.list.items[0].u.s.len == 3 &&
           memcmp(key->u.list.items[0].u.s.ptr, "dir", 3) == 0 &&
           key->u.list.items[1].kind == COCO_STR;
}

COCO__PRIVATE coco_result coco__lfs_reconcile(void* user, const coco_value* key,
                                              const coco_value* desired, const coco_bytes* prev,
                                              size_t nprev, int may_missing, coco_arena* ar,
                                              coco_action* out) {
    unsigned char* tr;
    coco_fp fp;
    size_t i, len;
    uint64_t sz;
    int same;
    (void)user;
    (void)key;
    if (!desired) {
        out->kind = (nprev || may_missing) ? COCO_ACTION_DELETE : COCO_ACTION_NONE;
        return COCO_OK;
    }
    if (coco__lfs_is_dirkey(key)) {
        /* a directory: created once, nothing to compare but its existence */
        out->tracking.ptr = "dir";
        out->tracking.len = 3;
        out->kind = nprev > 0 && !may_missing ? COCO_ACTION_NONE : COCO_ACTION_UPSERT;
        return COCO_OK;
    }
    if (desired->kind != COCO_BYTES && desired->kind != COCO_STR) return COCO_ERR_INVALID_ARG;
    len = desired->u.s.len;
    if (!(tr = (unsigned char*)coco_arena_alloc(ar, COCO__LFS_TRACK_LEN))) return COCO_ERR_NOMEM;
    fp = coco_fp_of(desired->u.s.ptr, len);
    memcpy(tr, fp.bytes, 16);
    for (i = 0, sz = (uint64_t)len; i < 8; i++, sz >>= 8) tr[16 + i] = (unsigned char)sz;
    out->tracking.ptr = tr;
    out->tracking.len = COCO__LFS_TRACK_LEN;
    same = nprev > 0 && !may_missing;
    for (i = 0; i < nprev && same; i++)
        same = prev[i].len == COCO__LFS_TRACK_LEN &&
               memcmp(prev[i].ptr, tr, COCO__LFS_TRACK_LEN) == 0;
    out->kind = same ? COCO_ACTION_NONE : COCO_ACTION_UPSERT;
    return COCO_OK;
}

/* mkdir -p of an absolute path */
COCO__PRIVATE int coco__lfs_mkdirs(const char* path, size_t len, coco__lfs_vec* scratch) {
    size_t i;
    scratch->len = 0;
    if (coco__lfs_vec_put(scratch, path, len) || coco__lfs_vec_put(scratch, "", 1)) {
        errno = ENOMEM;
        return -1;
    }
    for (i = 1; i <= len; i++) {
        if (i < len && scratch->p[i] != '/') continue;
        scratch->p[i] = 0;
        if (mkdir(scratch->p, 0777) != 0 && errno != EEXIST) return -1;
        if (i < len) scratch->p[i] = '/';
    }
    return 0;
}

COCO__PRIVATE void coco__lfs_uncache(coco__lfs_apply* A) {
    if (A->cache_fd >= 0) close(A->cache_fd);
    A->cache_fd = -1;
    A->cache_rel.len = 0;
}

/* Opens the directory `parent` (relative to the root), creating it when asked.  0 and *fdo
   (owned by A: do not close), or an errno value. */
COCO__PRIVATE int coco__lfs_parent(coco__lfs_apply* A, const char* parent, size_t plen,
                                   int create, int* fdo) {
    int cur = A->rootfd, nfd, e;
    size_t i = 0, s;
    char* buf;
    if (plen == 0) { *fdo = A->rootfd; return 0; }
    if (A->cache_fd >= 0 && A->cache_rel.len == plen && memcmp(A->cache_rel.p, parent, plen) == 0) {
        *fdo = A->cache_fd;
        return 0;
    }
    coco__lfs_uncache(A);
    A->scratch.len = 0;
    if (coco__lfs_vec_put(&A->scratch, parent, plen) || coco__lfs_vec_put(&A->scratch, "", 1))
        return ENOMEM;
    buf = A->scratch.p;
    while (i < plen) {
        s = i;
        while (i < plen && buf[i] != '/') i++;
        buf[i] = 0;
        if (create) {
            if (mkdirat(cur, buf + s, 0777) == 0) {
                if (A->per_file && fsync(cur) != 0) { e = errno; goto fail; }
            } else if (errno != EEXIST) { e = errno; goto fail; }
        }
        do nfd = openat(cur, buf + s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        while (nfd < 0 && errno == EINTR);
        if (nfd < 0) { e = errno; goto fail; }
        if (cur != A->rootfd) close(cur);
        cur = nfd;
        i++;
    }
    if (coco__lfs_vec_put(&A->cache_rel, parent, plen)) { e = ENOMEM; goto fail; }
    A->cache_fd = cur;
    *fdo = cur;
    return 0;
fail:
    if (cur != A->rootfd) close(cur);
    return e;
}

/* Removes stale temporary files ('.NAME.coco-tmp.PID' of a process that is gone) from the
   directory `dfd`, once per apply and directory. */
COCO__PRIVATE void coco__lfs_clean_tmp(coco__lfs_apply* A, int dfd, const char* parent,
                                       size_t plen) {
    coco_fp f = coco_fp_of(parent, plen);
    size_t i, n = A->cleaned.len / sizeof f;
    int fd;
    DIR* d;
    struct dirent* ent;
    for (i = 0; i < n; i++)
        if (memcmp(A->cleaned.p + i * sizeof f, f.bytes, sizeof f) == 0) return;
    if (coco__lfs_vec_put(&A->cleaned, &f, sizeof f)) return;
    if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) return;
    if (!(d = fdopendir(fd))) { close(fd); return; }
    while ((ent = readdir(d)) != NULL) {
        long pid;
        if (!coco__lfs_is_tmpname(ent->d_name, strlen(ent->d_name), &pid)) continue;
        if (pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* its writer may live */
        if (unlinkat(dfd, ent->d_name, 0) == 0) A->touched = 1;
    }
    closedir(d);
}

/* 1 if the file `name` holds exactly content[0..len), 0 if not, -1 if it cannot be read */
COCO__PRIVATE int coco__lfs_same(int dfd, const char* name, const struct stat* st,
                                 const unsigned char* content, size_t len) {
    unsigned char buf[16384];
    size_t off = 0;
    int fd, same = 1;
    if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size != (uint64_t)len) return 0;
    if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) return -1;
    for (;;) {
        ssize_t r = coco__lfs_read_some(fd, buf, sizeof buf);
        if (r < 0) { same = -1; break; }
        if (r == 0) break;
        if ((size_t)r > len - off || memcmp(buf, content + off, (size_t)r) != 0) {
            same = 0;
            break;
        }
        off += (size_t)r;
    }
    close(fd);
    return same == 1 ? off == len : same;
}

/* 1 if the file `name` holds content a tracking record in prev[] describes, 0 if not, -1 if it
   cannot be read */
COCO__PRIVATE int coco__lfs_owned(int dfd, const char* name, const struct stat* st,
                                  const coco_bytes* prev, size_t nprev) {
    unsigned char buf[16384];
    size_t i;
    int fd, any = 0;
    coco_fp fp;
    if (!S_ISREG(st->st_mode)) return 0;
    for (i = 0; i < nprev && !any; i++)
        any = prev[i].len == COCO__LFS_TRACK_LEN &&
              coco__lfs_le64((const unsigned char*)prev[i].ptr + 16) == (uint64_t)st->st_size;
    if (!any) return 0;
    if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) return -1;
    any = coco__lfs_hash_fd(fd, buf, sizeof buf, &fp);
    close(fd);
    if (any) return -1;
    for (i = 0; i < nprev; i++)
        if (prev[i].len == COCO__LFS_TRACK_LEN && memcmp(prev[i].ptr, fp.bytes, 16) == 0 &&
            coco__lfs_le64((const unsigned char*)prev[i].ptr + 16) == (uint64_t)st->st_size)
            return 1;
    return 0;
}

COCO__PRIVATE coco_result coco__lfs_write(coco__lfs_apply* A, int dfd, const char* name,
                                          const char* rel, const unsigned char* content,
                                          size_t len) {
    char tmp[NAME_MAX + 1];
    size_t nl = strlen(name), off = 0;
    int fd, tries = 0, e;
    const char* what = "create";
    if (nl + 32 <= NAME_MAX) {
        snprintf(tmp, sizeof tmp, ".%s.coco-tmp.%ld", name, (long)getpid());
    } else {
        char hex[33];
        coco_fp_hex(coco_fp_of(name, nl), hex);
        snprintf(tmp, sizeof tmp, ".%.16s.coco-tmp.%ld", hex, (long)getpid());
    }
    for (;;) {
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                    0666);
        if (fd >= 0) break;
        if (errno == EINTR) continue;
        if (errno == EEXIST && tries++ == 0 && unlinkat(dfd, tmp, 0) == 0) continue;
        e = errno;
        return coco__lfs_afail(A, COCO_ERR_IO, "cannot create a temporary file to write '%s/%s': "
                               "%s", A->t->root, rel, strerror(e));
    }
    while (off < len) {
        ssize_t w = write(fd, content + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { what = "write"; goto fail; }
        off += (size_t)w;
    }
    if (A->per_file && fsync(fd) != 0) { what = "fsync"; goto fail; }
    if (close(fd) != 0) { fd = -1; what = "write"; goto fail; }
    fd = -1;
    if (renameat(dfd, tmp, dfd, name) != 0) { what = "rename into"; goto fail; }
    if (A->per_file && fsync(dfd) != 0) {
        e = errno;
        A->touched = 1;
        return coco__lfs_afail(A, COCO_ERR_IO, "fsync of the directory of '%s/%s': %s",
                               A->t->root, rel, strerror(e));
    }
    A->touched = 1;
    return COCO_OK;
fail:
    e = errno ? errno : EIO;
    if (fd >= 0) close(fd);
    unlinkat(dfd, tmp, 0);
    return coco__lfs_afail(A, COCO_ERR_IO, "cannot %s '%s/%s': %s", what, A->t->root, rel,
                           strerror(e));
}

COCO__PRIVATE coco_result coco__lfs_upsert(coco__lfs_apply* A, const char* rel, size_t rlen,
                                           const coco_action* a) {
    const char* slash = strrchr(rel, '/');
    const char* name = slash ? slash + 1 : rel;
    size_t plen = slash ? (size_t)(slash - rel) : 0;
    const unsigned char* content;
    size_t len;
    struct stat st;
    int dfd, e;
    (void)rlen;
    if (a->value.kind != COCO_BYTES && a->value.kind != COCO_STR)
        return coco__lfs_afail(A, COCO_ERR_INVALID_ARG, "'%s/%s': the declared value is not "
                               "bytes or a string (kind %d)", A->t->root, rel, (int)a->value.kind);
    content = (const unsigned char*)(a->value.u.s.len ? a->value.u.s.ptr : "");
    len = a->value.u.s.len;
    if ((e = coco__lfs_parent(A, rel, plen, 1, &dfd)) != 0)
        return coco__lfs_afail(A, COCO_ERR_IO, "cannot create the directory '%s/%.*s': %s",
                               A->t->root, (int)plen, rel, strerror(e));
    if (a->prev_may_be_missing) coco__lfs_clean_tmp(A, dfd, rel, plen);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(st.st_mode))
            return coco__lfs_afail(A, COCO_ERR_IO, "cannot write '%s/%s': a directory is in "
                                   "the way", A->t->root, rel);
        if (a->nprev == 0 || a->prev_may_be_missing) {
            /* not certainly ours: the bytes we want already (our own write before a crash)? */
            int same = coco__lfs_same(dfd, name, &st, content, len);
            int own = same == 1 ? 1 : same < 0 ? -1
                                    : coco__lfs_owned(dfd, name, &st, a->prev, a->nprev);
            if (same == 1) return COCO_OK;
            if (own < 0) {                             /* unknown: neither ours nor foreign */
                e = errno;
                return coco__lfs_afail(A, COCO_ERR_IO, "cannot read '%s/%s' to check that it "
                                       "is ours: %s", A->t->root, rel, strerror(e));
            }
            if (own != 1 && !A->t->overwrite)
                return coco__lfs_afail(A, COCO_ERR_CONNECTOR, "foreign file '%s/%s': it exists "
                                       "and was not written by this target; remove it or set "
                                       "overwrite", A->t->root, rel);
        }
    } else if (errno != ENOENT) {
        e = errno;
        return coco__lfs_afail(A, COCO_ERR_IO, "cannot stat '%s/%s': %s", A->t->root, rel,
                               strerror(e));
    }
    return coco__lfs_write(A, dfd, name, rel, content, len);
}

/* rmdir of the parents of `rel` that are empty now, deepest first, never the root */
COCO__PRIVATE void coco__lfs_prune(coco__lfs_apply* A, const char* rel, size_t plen) {
    coco__lfs_uncache(A);
    A->scratch.len = 0;
    if (coco__lfs_vec_put(&A->scratch, rel, plen) || coco__lfs_vec_put(&A->scratch, "", 1)) return;
    while (plen > 0) {
        A->scratch.p[plen] = 0;
        if (unlinkat(A->rootfd, A->scratch.p, AT_REMOVEDIR) == 0) A->touched = 1;
        else if (errno != ENOENT) return;            /* not empty (or not ours to remove) */
        while (plen > 0 && A->scratch.p[plen - 1] != '/') plen--;
        if (plen > 0) plen--;
    }
}

COCO__PRIVATE coco_result coco__lfs_delete(coco__lfs_apply* A, const char* rel, size_t rlen,
                                           const coco_action* a) {
    const char* slash = strrchr(rel, '/');
    const char* name = slash ? slash + 1 : rel;
    size_t plen = slash ? (size_t)(slash - rel) : 0;
    struct stat st;
    int dfd, e, own;
    (void)rlen;
    if (A->rootfd < 0) return COCO_OK;                 /* no root: nothing to delete */
    if ((e = coco__lfs_parent(A, rel, plen, 0, &dfd)) != 0) {
        if (e == ENOENT || e == ENOTDIR) return COCO_OK;
        return coco__lfs_afail(A, COCO_ERR_IO, "cannot open the directory '%s/%.*s': %s",
                               A->t->root, (int)plen, rel, strerror(e));
    }
    coco__lfs_clean_tmp(A, dfd, rel, plen);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) {
            e = errno;
            return coco__lfs_afail(A, COCO_ERR_IO, "cannot stat '%s/%s': %s", A->t->root, rel,
                                   strerror(e));
        }
        coco__lfs_prune(A, rel, plen);                 /* a crash may have left them */
        return COCO_OK;
    }
    own = coco__lfs_owned(dfd, name, &st, a->prev, a->nprev);
    if (own < 0) {                                     /* unknown: keep the tombstone */
        e = errno;
        return coco__lfs_afail(A, COCO_ERR_IO, "cannot read '%s/%s' to check that it is ours "
                               "before deleting it: %s", A->t->root, rel, strerror(e));
    }
    if (own != 1) return COCO_OK;                      /* not content we wrote: leave it */
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT) {
        e = errno;
        return coco__lfs_afail(A, COCO_ERR_IO, "cannot delete '%s/%s': %s", A->t->root, rel,
                               strerror(e));
    }
    A->touched = 1;
    if (A->per_file && fsync(dfd) != 0) {
        e = errno;
        return coco__lfs_afail(A, COCO_ERR_IO, "fsync of the directory of '%s/%s': %s",
                               A->t->root, rel, strerror(e));
    }
    coco__lfs_prune(A, rel, plen);
    return COCO_OK;
}

COCO__PRIVATE coco_result coco__lfs_apply_fn(void* user, const coco_action* acts, size_t n,
                                             char* err, size_t cap) {
    coco__lfs_apply A;
    const coco__lfs_target* t = (const coco__lfs_target*)user;
    size_t i;
    int any_upsert = 0, e;
    memset(&A, 0, sizeof A);
    A.t = t;
    A.cache_fd = -1;
    A.first = COCO_OK;
    A.err = err;
    A.cap = cap;
    A.per_file = t->fsync == COCO_LOCALFS_FSYNC_FILE ||
                 (t->fsync == COCO_LOCALFS_FSYNC_BATCH && !COCO__LFS_HAVE_SYNCFS);
    coco__lfs_vec_init(&A.cache_rel, NULL);
    coco__lfs_vec_init(&A.cleaned, NULL);
    coco__lfs_vec_init(&A.scratch, NULL);
    coco__lfs_vec_init(&A.rel, NULL);
    for (i = 0; i < n; i++) any_upsert |= acts[i].kind == COCO_ACTION_UPSERT;
    do A.rootfd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (A.rootfd < 0 && errno == EINTR);
    if (A.rootfd < 0 && errno == ENOENT && any_upsert) {
        if (coco__lfs_mkdirs(t->root, t->root_len, &A.scratch) == 0)
            A.rootfd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (A.rootfd < 0 && (errno != ENOENT || any_upsert)) {
        e = errno;
        coco__lfs_afail(&A, COCO_ERR_IO, "cannot open the target directory '%s': %s", t->root,
                        strerror(e));
        goto out;
    }
    for (i = 0; i < n; i++) {
        const coco_action* a = &acts[i];
        const char* why;
        if (a->kind != COCO_ACTION_UPSERT && a->kind != COCO_ACTION_DELETE) continue;
        if (coco__lfs_is_dirkey(&a->key)) {
            const coco_value* d = &a->key.u.list.items[1];
            A.rel.len = 0;
            if (coco__lfs_vec_put(&A.rel, t->root, t->root_len) || coco__lfs_vec_put(&A.rel, "/", 1) ||
                coco__lfs_vec_put(&A.rel, d->u.s.ptr, d->u.s.len) || coco__lfs_vec_put(&A.rel, "", 1)) {
                coco__lfs_afail(&A, COCO_ERR_NOMEM, "out of memory");
                break;
            }
            if (a->kind == COCO_ACTION_UPSERT) {
                if (coco__lfs_mkdirs(A.rel.p, A.rel.len - 1, &A.scratch) != 0)
                    coco__lfs_afail(&A, COCO_ERR_IO, "cannot create the directory '%s': %s",
                                    A.rel.p, strerror(errno));
            } else if (rmdir(A.rel.p) != 0 && errno != ENOENT && errno != ENOTEMPTY &&
                       errno != EEXIST) {
                coco__lfs_afail(&A, COCO_ERR_IO, "cannot remove the directory '%s': %s",
                                A.rel.p, strerror(errno));
            }
            continue;
        }
        if (a->key.kind != COCO_STR) {
            coco__lfs_afail(&A, COCO_ERR_INVALID_ARG, "a file key under '%s' is not a string "
                            "(kind %d)", t->root, (int)a->key.kind);
            continue;
        }
        if ((why = coco__lfs_relpath_problem(a->key.u.s.ptr, a->key.u.s.len)) != NULL) {
            coco__lfs_afail(&A, COCO_ERR_INVALID_ARG, "cannot use the file path '%.*s' under "
                            "'%s': %s", (int)a->key.u.s.len, a->key.u.s.ptr, t->root, why);
            continue;
        }
        A.rel.len = 0;
        if (coco__lfs_vec_put(&A.rel, a->key.u.s.ptr, a->key.u.s.len) ||
            coco__lfs_vec_put(&A.rel, "", 1)) {
            coco__lfs_afail(&A, COCO_ERR_NOMEM, "out of memory");
            break;
        }
        if (a->kind == COCO_ACTION_UPSERT) coco__lfs_upsert(&A, A.rel.p, a->key.u.s.len, a);
        else coco__lfs_delete(&A, A.rel.p, a->key.u.s.len, a);
    }
#if COCO__LFS_HAVE_SYNCFS
    if (A.touched && t->fsync == COCO_LOCALFS_FSYNC_BATCH && syncfs(A.rootfd) != 0) {
        e = errno;
        coco__lfs_afail(&A, COCO_ERR_IO, "syncfs of the target directory '%s': %s", t->root,
                        strerror(e));
    }
#endif
out:
    coco__lfs_uncache(&A);
    if (A.rootfd >= 0) close(A.rootfd);
    coco__lfs_vec_free(&A.cache_rel);
    coco__lfs_vec_free(&A.cleaned);
    coco__lfs_vec_free(&A.scratch);
    coco__lfs_vec_free(&A.rel);
    if (A.nfail > 1 && err && cap) {
        size_t l = strlen(err);
        if (l < cap) snprintf(err + l, cap - l, " (and %lu more)", (unsigned long)(A.nfail - 1));
    }
    return A.first;
}

/* The files inside a directory target: a target rooted at the parent's root + the dir. */
COCO__PRIVATE coco_result coco__lfs_child_open(void* user, const coco_value* key,
                                               const coco_target_vtable** vt, void** cu) {
    static const coco_target_vtable child_vt = { coco__lfs_reconcile, coco__lfs_apply_fn };
    const coco__lfs_target* p = (const coco__lfs_target*)user;
    coco__lfs_target* t;
    const coco_value* d;
    char* root;
    if (!coco__lfs_is_dirkey(key)) return COCO_ERR_INVALID_ARG;
    d = &key->u.list.items[1];
    /* lives as long as the env, like the child target (the engine calls child_open under
       the env's lock, so its arena may be used here) */
    t = (coco__lfs_target*)coco_arena_alloc(coco_env_arena(p->env), sizeof *t + p->root_len +
                                            1 + d->u.s.len + 1);
    if (!t) return COCO_ERR_NOMEM;
    *t = *p;
    root = (char*)(t + 1);
    memcpy(root, p->root, p->root_len);
    root[p->root_len] = '/';
    memcpy(root + p->root_len + 1, d->u.s.ptr, d->u.s.len);
    root[p->root_len + 1 + d->u.s.len] = 0;
    t->root = root;
    t->root_len = p->root_len + 1 + d->u.s.len;
    *vt = &child_vt;
    *cu = t;
    return COCO_OK;
}

COCO_API coco_result coco_localfs_target_create(coco_env* env,
                                                const coco_localfs_target_desc* desc,
                                                coco_target** out) {
    coco__lfs_target* t;
    coco_target_vtable vt;
    coco_arena* ar;
    char cwd[PATH_MAX];
    const char* name;
    size_t rl, cl = 0;
    char* root;
    if (!env || !desc || !out) return COCO_ERR_INVALID_ARG;
    name = desc->name && *desc->name ? desc->name : "localfs";
    if (!desc->root || !*desc->root) {
        (void)coco_env_fail(env, COCO_OK, "localfs target "
                      "'%s': no root directory in the desc", name);
        return COCO_ERR_INVALID_ARG;
    }
    if ((unsigned)desc->fsync > (unsigned)COCO_LOCALFS_FSYNC_NONE) {
        (void)coco_env_fail(env, COCO_OK, "localfs target "
                      "'%s': unknown fsync mode %d", name, (int)desc->fsync);
        return COCO_ERR_INVALID_ARG;
    }
    if (desc->root[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) {
            (void)coco_env_fail(env, COCO_OK, "localfs "
                          "target '%s': cannot resolve '%s': %s", name, desc->root,
                          strerror(errno));
            return COCO_ERR_IO;
        }
        cl = strlen(cwd);
    }
    rl = strlen(desc->root);
    ar = COCO__LFS_ENV_ARENA(env);
    t = (coco__lfs_target*)coco_arena_alloc(ar, sizeof *t);
    root = (char*)coco_arena_alloc(ar, cl + 1 + rl + 1);
    if (!t || !root) return COCO_ERR_NOMEM;
    memset(t, 0, sizeof *t);
    if (cl) {
        memcpy(root, cwd, cl);
        if (root[cl - 1] != '/') root[cl++] = '/';
    }
    memcpy(root + cl, desc->root, rl + 1);
    rl += cl;
    while (rl > 1 && root[rl - 1] == '/') root[--rl] = 0;
    t->env = env;
    t->name = name;
    t->root = root;
    t->root_len = rl;
    t->overwrite = desc->overwrite;
    t->fsync = desc->fsync;
    memset(&vt, 0, sizeof vt);
    vt.reconcile = coco__lfs_reconcile;
    vt.apply = coco__lfs_apply_fn;
    return coco_target_register_container(env, name, &vt, t, coco__lfs_child_open, out);
}

COCO_API coco_result coco_localfs_dir_target(coco_ctx* ctx, coco_target* parent,
                                             const char* reldir, coco_target** out) {
    coco_value key[2];
    const char* why;
    if (!ctx || !parent || !reldir || !out) return COCO_ERR_INVALID_ARG;
    if ((why = coco__lfs_relpath_problem(reldir, strlen(reldir))) != NULL)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "directory target '%s': %s", reldir, why);
    key[0] = coco_symbol("dir");
    key[1] = coco_str(reldir);
    return coco_mount_target(ctx, parent, coco_list(key, 2), coco_str(reldir), out);
}

COCO_API coco_result coco_localfs_declare_file(coco_ctx* ctx, coco_target* target,
                                               const char* relpath, const void* content,
                                               size_t len) {
    const char* why;
    if (!ctx || !target || !relpath || (len && !content)) return COCO_ERR_INVALID_ARG;
    if ((why = coco__lfs_relpath_problem(relpath, strlen(relpath))) != NULL)
        return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "localfs: cannot declare the file '%s' "
                             "at %s: %s", relpath, coco_ctx_path(ctx), why);
    return coco_declare(ctx, target, coco_str(relpath), coco_bytes_val(len ? content : "", len));
}

#endif /* COCOINDEX_LOCALFS_IMPLEMENTATION */

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
