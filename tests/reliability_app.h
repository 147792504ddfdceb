/* tests/reliability_app.h -- shared by tests/test_exhaust.c and tests/test_damage.c: a
   counting allocator that fails on request, an in-memory keyed target, file helpers, and a
   small reference app (a localfs walk, one memoized component per file, a memoized inner
   call that splits the text, several target states per file, a stable id, a plain child).
   Include after cocoindex.h, connectors/cocoindex_localfs.h and coco_test.h. */
#ifndef RELIABILITY_APP_H_INCLUDED
#define RELIABILITY_APP_H_INCLUDED

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#ifdef FA_BACKTRACE
#include <execinfo.h>
#endif

#if defined(__GNUC__)
#define RA_FN static __attribute__((unused))
#else
#define RA_FN static
#endif

/* ---- a counting allocator that fails on request ---------------------------------------------- */
/* Every block carries its size in a 16-byte header: a free or realloc given another size than
   the block's (the allocator contract says they receive the old size) is counted in bad_size.
   Allocation calls (alloc and realloc) are numbered from 1 since the last fa_arm. */
typedef struct fa_state {
    pthread_mutex_t m;
    long      calls;        /* allocation calls since fa_arm                                 */
    long      fail_at;      /* 1-based number of the call to fail; 0 = none                  */
    int       sticky;       /* fail every call from fail_at on                               */
    long      injected;     /* failures handed out                                           */
    long      live;         /* blocks outstanding                                            */
    long long live_bytes;
    long      bad_size;     /* free/realloc with a wrong old size                            */
    size_t    max_single;   /* refuse any single request above this many bytes (0 = none)   */
    long      refused_big;  /* requests refused by max_single                                */
} fa_state;

#define FA_HDR 16

RA_FN void fa_init(fa_state* s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->m, NULL);
}
RA_FN void fa_arm(fa_state* s, long fail_at, int sticky) {
    pthread_mutex_lock(&s->m);
    s->calls = 0;
    s->fail_at = fail_at;
    s->sticky = sticky;
    s->injected = 0;
    pthread_mutex_unlock(&s->m);
}
/* 1 when this call must fail; counts it */
RA_FN int fa_should_fail(fa_state* s, size_t n) {
    int f;
    s->calls++;
    f = s->fail_at > 0 && (s->calls == s->fail_at || (s->sticky && s->calls > s->fail_at));
    if (!f && s->max_single && n > s->max_single) { s->refused_big++; return 1; }
    if (f) s->injected++;
#ifdef FA_BACKTRACE
    if (f) { void* bt[32]; int nb = backtrace(bt, 32); fprintf(stderr, "== injected failure at call %ld\n", s->calls); backtrace_symbols_fd(bt, nb, 2); }
#endif
    return f;
}
RA_FN void* fa_alloc(void* u, size_t n) {
    fa_state* s = (fa_state*)u;
    unsigned char* p;
    pthread_mutex_lock(&s->m);
    if (fa_should_fail(s, n) || n > SIZE_MAX - FA_HDR || !(p = (unsigned char*)malloc(n + FA_HDR))) {
        pthread_mutex_unlock(&s->m);
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    s->live++;
    s->live_bytes += (long long)n;
    pthread_mutex_unlock(&s->m);
    return p + FA_HDR;
}
RA_FN void* fa_realloc(void* u, void* ptr, size_t old, size_t n) {
    fa_state* s = (fa_state*)u;
    unsigned char *base = (unsigned char*)ptr - FA_HDR, *q;
    size_t have;
    pthread_mutex_lock(&s->m);
    memcpy(&have, base, sizeof have);
    if (have != old) s->bad_size++;
    if (fa_should_fail(s, n) || n > SIZE_MAX - FA_HDR ||
        !(q = (unsigned char*)realloc(base, n + FA_HDR))) {
        pthread_mutex_unlock(&s->m);
        return NULL;
    }
    memcpy(q, &n, sizeof n);
    s->live_bytes += (long long)n - (long long)have;
    pthread_mutex_unlock(&s->m);
    return q + FA_HDR;
}
RA_FN void fa_free(void* u, void* ptr, size_t n) {
    fa_state* s = (fa_state*)u;
    unsigned char* base;
    size_t have;
    if (!ptr) return;
    base = (unsigned char*)ptr - FA_HDR;
    pthread_mutex_lock(&s->m);
    memcpy(&have, base, sizeof have);
    if (have != n) s->bad_size++;
    s->live--;
    s->live_bytes -= (long long)have;
    pthread_mutex_unlock(&s->m);
    free(base);
}
RA_FN coco_allocator fa_allocator(fa_state* s) {
    coco_allocator a;
    a.alloc = fa_alloc;
    a.realloc = fa_realloc;
    a.free = fa_free;
    a.user = s;
    return a;
}

/* ---- an in-memory target: string keys -> string values, any number of rows ------------------- */
typedef struct rt_row { char* key; char* val; } rt_row;
typedef struct rel_target {
    pthread_mutex_t m;
    rt_row* rows;            /* open addressing on the key's FNV hash; key NULL = empty    */
    size_t  cap, n;
    long    upserts, deletes, applies;
    int     fail;            /* 1: every apply fails                                        */
} rel_target;

RA_FN uint64_t rt_hash(const char* s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ull; }
    return h;
}
RA_FN void rt_init(rel_target* t) {
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->m, NULL);
}
RA_FN void rt_clear(rel_target* t) {
    size_t i;
    for (i = 0; i < t->cap; i++) { free(t->rows[i].key); free(t->rows[i].val); }
    free(t->rows);
    t->rows = NULL;
    t->cap = t->n = 0;
    t->upserts = t->deletes = t->applies = 0;
}
RA_FN size_t rt_slot(const rel_target* t, const char* k, size_t kl) {
    size_t i = (size_t)rt_hash(k, kl) & (t->cap - 1);
    while (t->rows[i].key && (strlen(t->rows[i].key) != kl || memcmp(t->rows[i].key, k, kl)))
        i = (i + 1) & (t->cap - 1);
    return i;
}
RA_FN int rt_grow(rel_target* t) {
    size_t oc = t->cap, i;
    rt_row* old = t->rows;
    t->cap = oc ? oc * 2 : 64;
    if (!(t->rows = (rt_row*)calloc(t->cap, sizeof *t->rows))) { t->rows = old; t->cap = oc; return -1; }
    for (i = 0; i < oc; i++)
        if (old[i].key) t->rows[rt_slot(t, old[i].key, strlen(old[i].key))] = old[i];
    free(old);
    return 0;
}
RA_FN char* rt_dup(const char* p, size_t n) {
    char* r = (char*)malloc(n + 1);
    if (r) { memcpy(r, p, n); r[n] = 0; }
    return r;
}
RA_FN int rt_put(rel_target* t, const char* k, size_t kl, const char* v, size_t vl) {
    size_t i;
    if ((t->n + 1) * 2 > t->cap && rt_grow(t)) return -1;
    i = rt_slot(t, k, kl);
    if (!t->rows[i].key) { t->rows[i].key = rt_dup(k, kl); t->n++; }
    free(t->rows[i].val);
    t->rows[i].val = rt_dup(v, vl);
    return t->rows[i].key && t->rows[i].val ? 0 : -1;
}
/* backward-shift deletion keeps probe chains whole */
RA_FN void rt_del(rel_target* t, const char* k, size_t kl) {
    size_t i, j;
    if (!t->cap) return;
    i = rt_slot(t, k, kl);
    if (!t->rows[i].key) return;
    free(t->rows[i].key);
    free(t->rows[i].val);
    t->rows[i].key = t->rows[i].val = NULL;
    t->n--;
    j = i;
    for (;;) {
        size_t h;
        j = (j + 1) & (t->cap - 1);
        if (!t->rows[j].key) break;
        h = (size_t)rt_hash(t->rows[j].key, strlen(t->rows[j].key)) & (t->cap - 1);
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            t->rows[i] = t->rows[j];
            t->rows[j].key = t->rows[j].val = NULL;
            i = j;
        }
    }
}
RA_FN const char* rt_get(rel_target* t, const char* k) {
    size_t i;
    if (!t->cap) return NULL;
    i = rt_slot(t, k, strlen(k));
    return t->rows[i].val;
}
RA_FN void rt_render(const coco_value* v, char* out, size_t cap) {
    if (v->kind == COCO_STR) snprintf(out, cap, "%.*s", (int)v->u.s.len, v->u.s.ptr);
    else if (v->kind == COCO_INT) snprintf(out, cap, "%lld", (long long)v->u.i);
    else snprintf(out, cap, "<kind %d>", (int)v->kind);
}
RA_FN coco_result rt_apply(void* user, const coco_action* acts, size_t n, char* err, size_t cap) {
    rel_target* t = (rel_target*)user;
    size_t i;
    coco_result rc = COCO_OK;
    pthread_mutex_lock(&t->m);
    t->applies++;
    if (t->fail) {
        snprintf(err, cap, "test target refuses every write");
        pthread_mutex_unlock(&t->m);
        return COCO_ERR_CONNECTOR;
    }
    for (i = 0; i < n && rc == COCO_OK; i++) {
        char k[512], v[4096];
        rt_render(&acts[i].key, k, sizeof k);
        if (acts[i].kind == COCO_ACTION_UPSERT) {
            rt_render(&acts[i].value, v, sizeof v);
            if (rt_put(t, k, strlen(k), v, strlen(v))) {
                snprintf(err, cap, "test target out of memory");
                rc = COCO_ERR_NOMEM;
            }
            t->upserts++;
        } else if (acts[i].kind == COCO_ACTION_DELETE) {
            rt_del(t, k, strlen(k));
            t->deletes++;
        }
    }
    pthread_mutex_unlock(&t->m);
    return rc;
}
static const coco_target_vtable rt_vt = { NULL, rt_apply };

RA_FN int rt_cmp(const void* a, const void* b) {
    return strcmp(*(char* const*)a, *(char* const*)b);
}
/* 1 when no two rows hold the same value (ids are never reused) */
RA_FN int rt_values_distinct(rel_target* t) {
    size_t i, k = 0;
    int ok = 1;
    char** vals = (char**)malloc((t->n + 1) * sizeof *vals);
    for (i = 0; i < t->cap; i++) if (t->rows[i].key) vals[k++] = t->rows[i].val;
    qsort(vals, k, sizeof *vals, rt_cmp);
    for (i = 1; i < k; i++) if (strcmp(vals[i - 1], vals[i]) == 0) ok = 0;
    free(vals);
    return ok;
}

/* "k=v\n" for every row, sorted by key, malloc'ed (the caller frees) */
RA_FN char* rt_snapshot(rel_target* t) {
    size_t i, k = 0, len = 1;
    char **keys, *out, *p;
    pthread_mutex_lock(&t->m);
    keys = (char**)malloc((t->n + 1) * sizeof *keys);
    for (i = 0; i < t->cap; i++)
        if (t->rows[i].key) {
            keys[k++] = t->rows[i].key;
            len += strlen(t->rows[i].key) + strlen(t->rows[i].val) + 2;
        }
    qsort(keys, k, sizeof *keys, rt_cmp);
    p = out = (char*)malloc(len);
    for (i = 0; i < k; i++) p += sprintf(p, "%s=%s\n", keys[i], rt_get(t, keys[i]));
    *p = 0;
    free(keys);
    pthread_mutex_unlock(&t->m);
    return out;
}
/* copies every row of `from` into an emptied `to` */
RA_FN void rt_copy(rel_target* to, rel_target* from) {
    size_t i;
    rt_clear(to);
    for (i = 0; i < from->cap; i++)
        if (from->rows[i].key)
            rt_put(to, from->rows[i].key, strlen(from->rows[i].key), from->rows[i].val,
                   strlen(from->rows[i].val));
}

/* ---- files ----------------------------------------------------------------------------------- */
RA_FN void ra_mkdirs(const char* path) {
    char tmp[1024];
    size_t i, n = strlen(path);
    snprintf(tmp, sizeof tmp, "%s", path);
    for (i = 1; i <= n; i++) {
        if (i < n && tmp[i] != '/') continue;
        tmp[i] = 0;
        mkdir(tmp, 0777);
        if (i < n) tmp[i] = '/';
    }
}
/* writes dir/rel (parents made) and sets its mtime to `sec` (0 = leave it) */
RA_FN int ra_put(const char* dir, const char* rel, const char* text, time_t sec) {
    char p[1024], parent[1024];
    char* slash;
    FILE* f;
    size_t n = strlen(text);
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    snprintf(parent, sizeof parent, "%s", p);
    if ((slash = strrchr(parent, '/')) != NULL) { *slash = 0; ra_mkdirs(parent); }
    if (!(f = fopen(p, "wb"))) return -1;
    if (n && fwrite(text, 1, n, f) != n) { fclose(f); return -1; }
    if (fclose(f) != 0) return -1;
    if (sec) {
        struct timespec ts[2];
        ts[0].tv_sec = ts[1].tv_sec = sec;
        ts[0].tv_nsec = ts[1].tv_nsec = 500000000;
        if (utimensat(AT_FDCWD, p, ts, 0) != 0) return -1;
    }
    return 0;
}
RA_FN void ra_rm_rf(const char* p) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", p, p);
    if (system(cmd) != 0) printf("# cannot remove %s\n", p);
}
/* the whole file, malloc'ed, or NULL */
RA_FN unsigned char* ra_slurp(const char* path, size_t* len) {
    FILE* f = fopen(path, "rb");
    unsigned char* b;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    b = (unsigned char*)malloc((size_t)n + 1);
    if (b && (size_t)n != fread(b, 1, (size_t)n, f)) { free(b); b = NULL; }
    fclose(f);
    if (b) *len = (size_t)n;
    return b;
}
RA_FN int ra_spit(const char* path, const void* p, size_t n) {
    FILE* f = fopen(path, "wb");
    if (!f) return -1;
    if (n && fwrite(p, 1, n, f) != n) { fclose(f); return -1; }
    return fclose(f);
}
/* open file descriptors of this process */
RA_FN int ra_nfds(void) {
    DIR* d = opendir("/proc/self/fd");
    struct dirent* e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;    /* the directory's own descriptor */
}
RA_FN double ra_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the reference app ----------------------------------------------------------------------- */
/* Every **.md file under the context key "src" is one memoized component (per_file) that reads
   the text, calls the memoized "chunks" function (coco_split_text, chunks of <= 24 bytes) and
   declares  "PATH#i" -> the upper-cased chunk  for each chunk and  "PATH" -> "n=CHUNKS".  The
   root also mounts a plain child "extra" declaring "extra" -> "x", and declares "root" -> "r".
   The expected target for a source directory: ra_expected(). */
static rel_target   RA_T;          /* the target the app writes to */
static coco_target* ra_tgt;
static rel_target   RA_IDS;        /* path -> its stable id (coco_generate_id)            */
static coco_target* ra_ids_tgt;
static int          ra_errors;     /* on_error calls */
static char         ra_last_err[512];
static int          ra_version = 1;   /* per_file's version: a logic change when bumped */
static int          ra_register_late; /* 1: functions register on their first call        */

RA_FN void ra_on_error(void* user, const coco_error_info* e) {
    (void)user;
    __atomic_fetch_add(&ra_errors, 1, __ATOMIC_SEQ_CST);
    snprintf(ra_last_err, sizeof ra_last_err, "%s %s: %s: %s", e->path ? e->path : "?",
             e->fn ? e->fn : "?", coco_result_str(e->code), e->msg ? e->msg : "");
}

RA_FN coco_result ra_chunks_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* ret) {
    coco_split_desc d;
    coco_chunk* ch = NULL;
    size_t nc = 0, i;
    coco_value* items;
    coco_result rc;
    (void)n;
    memset(&d, 0, sizeof d);
    d.chunk_size = 24;
    d.language = COCO_LANG_MARKDOWN;
    if (a[0].kind != COCO_STR) return COCO_ERR_INVALID_ARG;
    rc = coco_split_text(coco_ctx_arena(ctx), a[0].u.s.ptr, a[0].u.s.len, &d, &ch, &nc);
    if (rc != COCO_OK) return rc;
    if (!(items = (coco_value*)coco_arena_alloc(coco_ctx_arena(ctx), (nc + 1) * sizeof *items)))
        return COCO_ERR_NOMEM;
    for (i = 0; i < nc; i++) items[i] = coco_strn(ch[i].text, ch[i].len);
    *ret = coco_list(items, nc);
    return COCO_OK;
}
static const coco_fn ra_chunks_fn = { "chunks", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, ra_chunks_body };

RA_FN coco_result ra_per_file_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* ret) {
    const coco_localfs_file* f = coco_localfs_file_of(&a[0]);
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_bytes text;
    coco_value arg, list;
    coco_result rc;
    int64_t id;
    size_t i;
    char k[600], v[32];
    (void)n;
    if (!f) return COCO_ERR_INVALID_ARG;
    if ((rc = coco_localfs_file_read_text(f, ctx, COCO_LOCALFS_TEXT_REPLACE, &text)) != COCO_OK)
        return rc;
    arg = coco_strn((const char*)text.ptr, text.len);
    if ((rc = coco_call(ctx, &ra_chunks_fn, &arg, 1, &list)) != COCO_OK) return rc;
    if (list.kind != COCO_LIST) return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "chunks: not a list");
    for (i = 0; i < list.u.list.count; i++) {
        const coco_value* c = &list.u.list.items[i];
        char* up = (char*)coco_arena_alloc(ar, c->u.s.len + 1);
        size_t j;
        if (!up) return COCO_ERR_NOMEM;
        for (j = 0; j < c->u.s.len; j++) up[j] = (char)toupper((unsigned char)c->u.s.ptr[j]);
        snprintf(k, sizeof k, "%s#%u", coco_localfs_file_path(f), (unsigned)i);
        if ((rc = coco_declare(ctx, ra_tgt, coco_str(k), coco_strn(up, c->u.s.len))) != COCO_OK)
            return rc;
    }
    if ((rc = coco_generate_id(ctx, coco_str(coco_localfs_file_path(f)), &id)) != COCO_OK) return rc;
    if ((rc = coco_declare(ctx, ra_ids_tgt, coco_str(coco_localfs_file_path(f)), coco_int(id))) != COCO_OK)
        return rc;
    snprintf(v, sizeof v, "n=%u", (unsigned)list.u.list.count);
    *ret = coco_int((int64_t)list.u.list.count);
    return coco_declare(ctx, ra_tgt, coco_str(coco_localfs_file_path(f)), coco_str(v));
}
static coco_fn ra_per_file_fn = { "per_file", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, ra_per_file_body };

RA_FN coco_result ra_extra_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* ret) {
    (void)a; (void)n; (void)ret;
    return coco_declare(ctx, ra_tgt, coco_str("extra"), coco_str("x"));
}
static const coco_fn ra_extra_fn = { "extra", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, ra_extra_body };

RA_FN coco_result ra_main_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* ret) {
    static const char* const md[] = { "**/*.md" };
    coco_localfs_walk_desc w;
    coco_result rc;
    (void)a; (void)n; (void)ret;
    memset(&w, 0, sizeof w);
    w.context_key = "src";
    w.recursive = 1;
    w.include = md;
    w.ninclude = 1;
    if ((rc = coco_localfs_mount_walk(ctx, coco_str("files"), &w, &ra_per_file_fn)) != COCO_OK)
        return rc;
    if ((rc = coco_mount(ctx, coco_str("extra"), &ra_extra_fn, NULL, 0)) != COCO_OK) return rc;
    return coco_declare(ctx, ra_tgt, coco_str("root"), coco_str("r"));
}
static const coco_fn ra_main_fn = { "ra_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, ra_main_body };

/* One env + app over `db` and `src` with allocator `a` (NULL = default) and `threads`. */
typedef struct ra_world {
    coco_env* env;
    coco_app* app;
} ra_world;

typedef struct ra_outcome {
    coco_result open_rc, setup_rc, update_rc;
    int         errors;        /* on_error calls during the update */
    coco_stats  st;
} ra_outcome;

RA_FN coco_result ra_open(ra_world* w, const char* db, const char* src, const coco_allocator* a,
                           uint32_t threads, coco_result* setup_rc) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_result rc;
    memset(w, 0, sizeof *w);
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.sync = COCO_SYNC_NONE;
    ed.threads = threads;
    ed.on_error = ra_on_error;
    if (a) ed.allocator = *a;
    *setup_rc = COCO_OK;
    if ((rc = coco_env_open(&ed, &w->env)) != COCO_OK) return rc;
    ra_per_file_fn.version = (uint32_t)ra_version;
    /* Functions are registered up front (as cocoindex.h recommends) unless ra_register_late:
       a failed first registration inside an update is a known bug (see test_exhaust.c,
       known_bug_fn_register_nomem_reported_as_ok) */
    if ((rc = coco_target_register(w->env, "mem", &rt_vt, &RA_T, &ra_tgt)) != COCO_OK ||
        (rc = coco_target_register(w->env, "ids", &rt_vt, &RA_IDS, &ra_ids_tgt)) != COCO_OK ||
        (rc = coco_env_provide(w->env, "src", (void*)src, NULL, 0)) != COCO_OK ||
        (!ra_register_late &&
         ((rc = coco_fn_register(w->env, &ra_main_fn)) != COCO_OK ||
          (rc = coco_fn_register(w->env, &ra_per_file_fn)) != COCO_OK ||
          (rc = coco_fn_register(w->env, &ra_chunks_fn)) != COCO_OK ||
          (rc = coco_fn_register(w->env, &ra_extra_fn)) != COCO_OK))) {
        *setup_rc = rc;
        return COCO_OK;
    }
    memset(&ad, 0, sizeof ad);
    ad.name = "app";
    ad.main = &ra_main_fn;
    ad.arg = coco_null();
    if ((rc = coco_app_create(w->env, &ad, &w->app)) != COCO_OK) *setup_rc = rc;
    return COCO_OK;
}
RA_FN void ra_close(ra_world* w) {
    coco_app_destroy(w->app);
    coco_env_close(w->env);
    w->app = NULL;
    w->env = NULL;
}
/* open, update once, close */
RA_FN ra_outcome ra_run(const char* db, const char* src, const coco_allocator* a, uint32_t threads) {
    ra_outcome o;
    ra_world w;
    memset(&o, 0, sizeof o);
    o.update_rc = COCO_ERR_CANCELLED;
    ra_errors = 0;
    ra_last_err[0] = 0;
    o.open_rc = ra_open(&w, db, src, a, threads, &o.setup_rc);
    if (o.open_rc != COCO_OK) return o;
    if (o.setup_rc == COCO_OK) o.update_rc = coco_app_update(w.app, NULL, &o.st);
    o.errors = ra_errors;
    if (o.setup_rc == COCO_OK) {
        /* the counters point into the app: keep only the totals */
        o.st.fns = NULL;
        o.st.nfns = 0;
    }
    ra_close(&w);
    return o;
}
RA_FN int ra_ok(const ra_outcome* o) {
    return o->open_rc == COCO_OK && o->setup_rc == COCO_OK && o->update_rc == COCO_OK &&
           o->errors == 0;
}

/* The target the app must converge to for the *.md files of `src` (recursive), as
   rt_snapshot renders it: computed with coco_split_text directly, no engine. */
RA_FN void ra_expect_dir(rel_target* t, const char* dir, const char* rel) {
    DIR* d;
    struct dirent* e;
    char p[1024];
    snprintf(p, sizeof p, "%s%s%s", dir, *rel ? "/" : "", rel);
    if (!(d = opendir(p))) return;
    while ((e = readdir(d)) != NULL) {
        char r[1024], full[1200];
        struct stat st;
        size_t nl = strlen(e->d_name);
        if (e->d_name[0] == '.') continue;
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", dir, r);
        if (stat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) { ra_expect_dir(t, dir, r); continue; }
        if (nl < 3 || strcmp(e->d_name + nl - 3, ".md") != 0) continue;
        {
            size_t len = 0, nc = 0, i, j;
            unsigned char* text = ra_slurp(full, &len);
            coco_arena* ar = NULL;
            coco_chunk* ch = NULL;
            coco_split_desc sd;
            char k[1100], v[4096];
            if (!text || coco_arena_create(NULL, &ar) != COCO_OK) { free(text); continue; }
            memset(&sd, 0, sizeof sd);
            sd.chunk_size = 24;
            sd.language = COCO_LANG_MARKDOWN;
            if (coco_split_text(ar, (const char*)text, len, &sd, &ch, &nc) == COCO_OK) {
                for (i = 0; i < nc; i++) {
                    for (j = 0; j < ch[i].len && j < sizeof v - 1; j++)
                        v[j] = (char)toupper((unsigned char)ch[i].text[j]);
                    v[j] = 0;
                    snprintf(k, sizeof k, "%s#%u", r, (unsigned)i);
                    rt_put(t, k, strlen(k), v, strlen(v));
                }
                snprintf(v, sizeof v, "n=%u", (unsigned)nc);
                rt_put(t, r, strlen(r), v, strlen(v));
            }
            coco_arena_destroy(ar);
            free(text);
        }
    }
    closedir(d);
}
RA_FN char* ra_expected(const char* src) {
    rel_target t;
    char* s;
    rt_init(&t);
    ra_expect_dir(&t, src, "");
    rt_put(&t, "extra", 5, "x", 1);
    rt_put(&t, "root", 4, "r", 1);
    s = rt_snapshot(&t);
    rt_clear(&t);
    return s;
}

/* The two source trees: v1, and v2 = v1 with a.md changed (other size), sub/c.md deleted,
   e.md added; b.md and sub/d.md are the same bytes with the same mtime in both. */
RA_FN void ra_make_sources(const char* v1, const char* v2) {
    const time_t T0 = 1700000000;
    ra_mkdirs(v1);
    ra_mkdirs(v2);
    ra_put(v1, "a.md", "# Alpha\n\nThe first file. It has two sentences.\n", T0);
    ra_put(v1, "b.md", "# Beta\n\nUnchanged text here.\n", T0 + 1);
    ra_put(v1, "sub/c.md", "# Gamma\n\nThis one goes away in v2.\n", T0 + 2);
    ra_put(v1, "sub/d.md", "# Delta\n\nStays as it is, in a subdirectory.\n", T0 + 3);
    ra_put(v1, "notes.txt", "not markdown: never read\n", T0 + 4);
    ra_put(v2, "a.md", "# Alpha\n\nThe first file, edited: now it has other words and more of them.\n", T0 + 10);
    ra_put(v2, "b.md", "# Beta\n\nUnchanged text here.\n", T0 + 1);
    ra_put(v2, "sub/d.md", "# Delta\n\nStays as it is, in a subdirectory.\n", T0 + 3);
    ra_put(v2, "e.md", "# Epsilon\n\nA new file in v2.\n", T0 + 11);
    ra_put(v2, "notes.txt", "not markdown: never read\n", T0 + 4);
}

/* removes DB and the files beside it (.lock, .idx, ...) */
RA_FN void ra_rm_db(const char* db) {
    static const char* const sfx[] = { "", ".lock", ".idx", ".idx.tmp", ".compact" };
    char p[1100];
    size_t i;
    for (i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", db, sfx[i]);
        unlink(p);
    }
}

RA_FN int ra_long(void) {
    const char* s = getenv("COCO_RELIABILITY");
    return s && *s && strcmp(s, "0") != 0;
}

#endif
