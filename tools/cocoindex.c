/* tools/cocoindex.c -- the state-db inspector: looks into any cocoindex state db without the
   app's code.

       cocoindex [--db PATH] <verb> [args]      (--db, else $COCOINDEX_DB, else ./cocoindex.db)
         ls                  apps in the db with their record counts and sizes
         tree APP [PATH]     the component tree with functions and target states
         stats APP           per-function counts as far as the store records them
         why APP PATH        why the component at PATH would run again or be skipped
         verify              checksums, the index snapshot, references; exit 1 on a problem
         compact             rewrite the log with only the live records
         dump [APP]          every record as one JSON object per line
         drop APP --yes      delete the app's target states (built-in connectors) and state

   Exit codes: 0 ok, 1 a problem found or an operation failed, 2 bad usage.

   It compiles the library into this translation unit, so the engine's private record helpers
   (coco__field, coco__render_key, coco__tk_fp ...) and the store's log parsers are used as
   they are: the tool reads records exactly the way the engine writes them.  Built with
   COCO_TOOL_SQLITE (and -lsqlite3) `drop` also handles SQLite table targets. */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#ifdef COCO_TOOL_SQLITE
#include "../connectors/cocoindex_sqlite.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ==============================================================================================
   Basics: output, errors, allocation
   ============================================================================================== */
#define TOOL "cocoindex"

static coco_allocator tool_alloc;   /* malloc/realloc/free, resolved in main */

static void* xmalloc(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, TOOL ": out of memory\n");
        exit(1);
    }
    return p;
}
static void* xrealloc(void* p, size_t n) {
    void* q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, TOOL ": out of memory\n");
        exit(1);
    }
    return q;
}

/* A growable text buffer on top of the library's coco__buf; aborts when out of memory. */
typedef struct sbuf { coco__buf b; } sbuf;
static void sb_init(sbuf* s) { coco__buf_init(&s->b, &tool_alloc); }
static void sb_free(sbuf* s) { coco__buf_free(&s->b); }
static void sb_put(sbuf* s, const void* p, size_t n) {
    if (coco__buf_put(&s->b, p, n)) {
        fprintf(stderr, TOOL ": out of memory\n");
        exit(1);
    }
}
static void sb_str(sbuf* s, const char* z) { sb_put(s, z, strlen(z)); }
static void sb_ch(sbuf* s, char c) { sb_put(s, &c, 1); }
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sb_fmt(sbuf* s, const char* fmt, ...) {
    char tmp[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) { sb_put(s, tmp, (size_t)n); return; }
    {
        char* big = (char*)xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        sb_put(s, big, (size_t)n);
        free(big);
    }
}
/* NUL-terminated contents (the buffer keeps them) */
static const char* sb_cstr(sbuf* s) {
    sb_ch(s, 0);
    s->b.len--;
    return (const char*)s->b.ptr;
}
static char* sb_dup(sbuf* s, coco_arena* ar) {
    char* r = coco_arena_strndup(ar, s->b.ptr ? (const char*)s->b.ptr : "", s->b.len);
    if (!r) {
        fprintf(stderr, TOOL ": out of memory\n");
        exit(1);
    }
    return r;
}

static void hex_put(sbuf* s, const void* p, size_t n) {
    static const char hx[] = "0123456789abcdef";
    const unsigned char* b = (const unsigned char*)p;
    size_t i;
    for (i = 0; i < n; i++) {
        sb_ch(s, hx[b[i] >> 4]);
        sb_ch(s, hx[b[i] & 15]);
    }
}
static const char* fp_str(const unsigned char* p, char out[33]) {
    coco_fp f;
    memcpy(f.bytes, p, 16);
    return coco_fp_hex(f, out);
}

/* ==============================================================================================
   The db: path, store, every live record in key order
   ============================================================================================== */
typedef struct dbrec { coco_bytes k, v; } dbrec;

typedef struct db {
    const char*  path;
    coco_store*  st;
    coco_arena*  ar;            /* everything loaded or rendered lives here */
    dbrec*         recs;
    size_t       n, cap;
} db;

static const char* g_db_path;

static int db_collect(void* user, coco_bytes k, coco_bytes v) {
    db* d = (db*)user;
    dbrec* r;
    void *kp, *vp;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->recs = (dbrec*)xrealloc(d->recs, d->cap * sizeof *d->recs);
    }
    kp = coco_arena_alloc(d->ar, k.len + 1);
    vp = coco_arena_alloc(d->ar, v.len + 1);
    if (!kp || !vp) {
        fprintf(stderr, TOOL ": out of memory\n");
        exit(1);
    }
    if (k.len) memcpy(kp, k.ptr, k.len);
    if (v.len) memcpy(vp, v.ptr, v.len);
    r = &d->recs[d->n++];
    r->k.ptr = kp; r->k.len = k.len;
    r->v.ptr = vp; r->v.len = v.len;
    return 0;
}

/* Opens the db read-only (no lock; a writer may keep running) and loads every live record.
   0, or 1 with the error printed. */
static int db_open(db* d) {
    coco_store_desc sd;
    coco_result rc;
    memset(d, 0, sizeof *d);
    d->path = g_db_path;
    if (coco_arena_create(NULL, &d->ar) != COCO_OK) {
        fprintf(stderr, TOOL ": out of memory\n");
        return 1;
    }
    memset(&sd, 0, sizeof sd);
    sd.path = d->path;
    sd.read_only = 1;
    if ((rc = coco_store_open(&sd, &d->st)) != COCO_OK) {
        fprintf(stderr, TOOL ": %s\n", coco_store_open_errmsg()[0] ? coco_store_open_errmsg()
                                                                   : coco_result_str(rc));
        coco_arena_destroy(d->ar);
        d->ar = NULL;
        return 1;
    }
    if ((rc = coco_store_scan(d->st, NULL, db_collect, d)) != COCO_OK) {
        fprintf(stderr, TOOL ": state store '%s': %s\n", d->path,
                coco_store_errmsg(d->st)[0] ? coco_store_errmsg(d->st) : coco_result_str(rc));
        return 1;
    }
    return 0;
}

static void db_close(db* d) {
    coco_store_close(d->st);
    coco_arena_destroy(d->ar);
    free(d->recs);
    memset(d, 0, sizeof *d);
}

/* ==============================================================================================
   Engine keys: "A" app NUL tag [16-byte fingerprint]
   ============================================================================================== */
typedef struct keyinfo {
    const char*          app;      /* not NUL-terminated: app_len bytes */
    size_t               app_len;
    char                 tag;      /* 'c' component, 'z' tombstone, 'g' generation, 'n' next id,
                                      'o' link journal entry, 'l' link journal state,
                                      'y' tombstone state, 'm' group memo */
    const unsigned char* fp;       /* NULL when the key has no 16-byte part */
    size_t               rest;     /* bytes after the tag */
} keyinfo;

/* 0 for an engine key, -1 for anything else */
static int key_parse(coco_bytes k, keyinfo* ki) {
    const char* p = (const char*)k.ptr;
    const char* nul;
    memset(ki, 0, sizeof *ki);
    if (k.len < 3 || p[0] != 'A') return -1;
    nul = (const char*)memchr(p + 1, 0, k.len - 1);
    if (!nul || nul == p + 1 || (size_t)(nul - p) + 2 > k.len) return -1;
    ki->app = p + 1;
    ki->app_len = (size_t)(nul - p - 1);
    ki->tag = nul[1];
    ki->rest = k.len - (size_t)(nul - p) - 2;
    if (ki->rest == 16) ki->fp = (const unsigned char*)nul + 2;
    return 0;
}

static int key_is_app(coco_bytes k, const char* app) {
    keyinfo ki;
    return key_parse(k, &ki) == 0 && ki.app_len == strlen(app) &&
           memcmp(ki.app, app, ki.app_len) == 0;
}

static const char* tag_kind(char tag) {
    switch (tag) {
    case 'c': return "component";
    case 'z': return "tombstone";
    case 'g': return "generation";
    case 'n': return "next_id";
    case 'o': return "link";
    case 'l': return "link_state";
    case 'y': return "tombstone_state";
    case 'm': return "group_memo";
    default:  return "unknown";
    }
}

/* ==============================================================================================
   Rendering keys, paths and target names
   ============================================================================================== */
static void render_key(sbuf* s, const coco_value* k) { coco__render_key(&s->b, k, 0); }

/* A path key without quotes or Symbol(...): "files/transform/sub/b.md" is easy to type. */
static void render_key_loose(sbuf* s, const coco_value* k) {
    if (k->kind == COCO_STR || k->kind == COCO_SYMBOL) sb_put(s, k->u.s.ptr, k->u.s.len);
    else render_key(s, k);
}

static char* path_text(coco_arena* ar, const coco_value* path, int loose) {
    sbuf s;
    char* r;
    size_t i, n = coco__list_len(path);
    sb_init(&s);
    if (n == 0) sb_ch(&s, '/');
    for (i = 0; i < n; i++) {
        sb_ch(&s, '/');
        if (loose) render_key_loose(&s, coco__list_at(path, i));
        else render_key(&s, coco__list_at(path, i));
    }
    r = sb_dup(&s, ar);
    sb_free(&s);
    return r;
}

/* "localfs" stays; "sqlite/<hex of the key's encoding>" becomes  sqlite/"docs" */
static void render_target_name(sbuf* s, coco_arena* ar, const char* name, size_t len) {
    size_t i;
    for (i = len; i > 0; i--)
        if (name[i - 1] == '/') break;
    if (i > 0 && (len - i) % 2 == 0) {
        size_t n = (len - i) / 2, j;
        unsigned char* raw = (unsigned char*)coco_arena_alloc(ar, n + 1);
        coco_value key;
        int ok = raw != NULL;
        for (j = 0; ok && j < n; j++) {
            int hi = name[i + 2 * j], lo = name[i + 2 * j + 1];
            hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
            lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
            if (hi < 0 || lo < 0) ok = 0;
            else raw[j] = (unsigned char)(hi << 4 | lo);
        }
        if (ok && coco_value_decode(ar, raw, n, &key) == COCO_OK) {
            render_target_name(s, ar, name, i - 1);
            sb_ch(s, '/');
            render_key(s, &key);
            return;
        }
    }
    sb_put(s, name, len);
}

/* The container a target name belongs to: "sqlite/6364..." -> "sqlite" */
static size_t target_root_len(const char* name, size_t len) {
    const char* slash = (const char*)memchr(name, '/', len);
    return slash ? (size_t)(slash - name) : len;
}

static void fmt_time_ns(sbuf* s, int64_t ns) {
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tmv;
    char tb[64];
    if (frac < 0) { frac += 1000000000; secs -= 1; }
    if (!gmtime_r(&secs, &tmv) || !strftime(tb, sizeof tb, "%Y-%m-%dT%H:%M:%S", &tmv)) {
        sb_fmt(s, "%lld ns", (long long)ns);
        return;
    }
    sb_fmt(s, "%s.%09ldZ", tb, frac);
}

/* ==============================================================================================
   Components of an app
   ============================================================================================== */
typedef struct comp {
    const dbrec*        r;
    const unsigned char* fp;      /* the key's 16 bytes */
    coco_value        v;          /* the decoded record (a map) when ok */
    int               ok;
    const coco_value* path;       /* list of keys, or NULL */
    char*             text;       /* /"files"/Symbol(transform)/"a.md" */
    char*             loose;      /* /files/transform/a.md */
    char**            segs;       /* each key rendered */
    size_t            nsegs;
    const char*       fn;         /* NUL-terminated copy, "?" when absent */
    int               memo;
    size_t            ntargets, npending, ncalls;
} comp;

typedef struct appview {
    const char* name;
    comp*       comps;
    size_t      ncomps;
    size_t      ntombs, ngens, nlinks, nother;
    int64_t     next_id;          /* 0 when not recorded */
    size_t      bytes, records;
} appview;

static int comp_seg_cmp(const comp* a, const comp* b) {
    size_t i;
    for (i = 0; i < a->nsegs && i < b->nsegs; i++) {
        int c = strcmp(a->segs[i], b->segs[i]);
        if (c) return c;
    }
    return a->nsegs < b->nsegs ? -1 : a->nsegs > b->nsegs;
}
static int comp_qsort_cmp(const void* x, const void* y) {
    return comp_seg_cmp((const comp*)x, (const comp*)y);
}

static char* cstr_of(coco_arena* ar, const coco_value* v) {
    char* r;
    if (!v || v->kind != COCO_STR) return (char*)"?";
    r = coco_arena_strndup(ar, v->u.s.ptr, v->u.s.len);
    return r ? r : (char*)"?";
}

static void comp_load(coco_arena* ar, const dbrec* r, const keyinfo* ki, comp* c) {
    const coco_value* t;
    size_t i;
    memset(c, 0, sizeof *c);
    c->r = r;
    c->fp = ki->fp;
    c->fn = "?";
    if (coco_value_decode(ar, r->v.ptr, r->v.len, &c->v) == COCO_OK && c->v.kind == COCO_MAP)
        c->ok = 1;
    if (c->ok) {
        c->path = coco__field(&c->v, "p");
        if (c->path && c->path->kind != COCO_LIST) c->path = NULL;
        c->fn = cstr_of(ar, coco__field(&c->v, "f"));
        c->memo = coco__field(&c->v, "k") != NULL;
        t = coco__field(&c->v, "t");
        c->ntargets = coco__list_len(t);
        for (i = 0; i < c->ntargets; i++) {
            const coco_value* e = coco__list_at(t, i);
            if (coco__tstate_ok(e) && e->u.list.items[3].kind == COCO_BOOL &&
                e->u.list.items[3].u.b)
                c->npending++;
        }
        c->ncalls = coco__list_len(coco__field(&c->v, "x"));
    }
    if (c->path) {
        sbuf s;
        c->nsegs = coco__list_len(c->path);
        c->segs = (char**)coco_arena_alloc(ar, (c->nsegs ? c->nsegs : 1) * sizeof *c->segs);
        if (!c->segs) { fprintf(stderr, TOOL ": out of memory\n"); exit(1); }
        for (i = 0; i < c->nsegs; i++) {
            sb_init(&s);
            render_key(&s, coco__list_at(c->path, i));
            c->segs[i] = sb_dup(&s, ar);
            sb_free(&s);
        }
        c->text = path_text(ar, c->path, 0);
        c->loose = path_text(ar, c->path, 1);
    } else {
        char hx[33];
        sbuf s;
        sb_init(&s);
        sb_fmt(&s, "(unreadable record %s)", ki->fp ? fp_str(ki->fp, hx) : "?");
        c->text = c->loose = sb_dup(&s, ar);
        sb_free(&s);
        /* sorts last */
        c->nsegs = 1;
        c->segs = (char**)coco_arena_alloc(ar, sizeof *c->segs);
        if (!c->segs) { fprintf(stderr, TOOL ": out of memory\n"); exit(1); }
        c->segs[0] = (char*)"\x7f";
    }
}

/* The records of `app`; returns 0, or 1 when the db holds no such app (message printed). */
static int app_load(db* d, const char* app, appview* av) {
    size_t i, n = 0;
    memset(av, 0, sizeof *av);
    av->name = app;
    for (i = 0; i < d->n; i++)
        if (key_is_app(d->recs[i].k, app)) n++;
    if (!n) {
        fprintf(stderr, TOOL ": state store '%s' holds no app '%s' (see '" TOOL " ls')\n",
                d->path, app);
        return 1;
    }
    av->comps = (comp*)coco_arena_alloc(d->ar, n * sizeof *av->comps);
    if (!av->comps) { fprintf(stderr, TOOL ": out of memory\n"); exit(1); }
    for (i = 0; i < d->n; i++) {
        keyinfo ki;
        const dbrec* r = &d->recs[i];
        if (!key_is_app(r->k, app)) continue;
        key_parse(r->k, &ki);
        av->records++;
        av->bytes += r->k.len + r->v.len;
        if (ki.tag == 'c' && ki.fp) comp_load(d->ar, r, &ki, &av->comps[av->ncomps++]);
        else if (ki.tag == 'z') av->ntombs++;
        else if (ki.tag == 'g') av->ngens++;
        else if (ki.tag == 'o') av->nlinks++;
        else if (((ki.tag == 'l' || ki.tag == 'y') && ki.rest == 0) || ki.tag == 'm')
            continue;                                                    /* bookkeeping */
        else if (ki.tag == 'n' && ki.rest == 0) {
            coco_value v;
            if (coco_value_decode(d->ar, r->v.ptr, r->v.len, &v) == COCO_OK && v.kind == COCO_INT)
                av->next_id = v.u.i;
        } else av->nother++;
    }
    qsort(av->comps, av->ncomps, sizeof *av->comps, comp_qsort_cmp);
    return 0;
}

/* The name of the function a call memo entry [key, deps, ret, decls, states] belongs to: its
   deps start with the function's own logic (unless it tracks no logic). */
static const coco_value* memo_entry_fn(const coco_value* e) {
    const coco_value* deps;
    const coco_value* d0;
    if (coco__list_len(e) != 5) return NULL;
    deps = coco__list_at(e, 1);
    if (coco__list_len(deps) == 0) return NULL;
    d0 = coco__list_at(deps, 0);
    if (coco__list_len(d0) != 3 || d0->u.list.items[0].kind != COCO_INT ||
        d0->u.list.items[0].u.i != 0 || d0->u.list.items[1].kind != COCO_STR)
        return NULL;
    return &d0->u.list.items[1];
}

/* Does component `c` match the user's PATH (exactly, or as an ancestor when `prefix`)?
   PATH may be written as the engine renders it (/"files"/Symbol(transform)/"a.md") or
   loosely (files/transform/a.md), with or without the leading '/'. */
static int path_match(const comp* c, const char* want, int prefix) {
    const char* texts[2];
    size_t wl = strlen(want), i;
    int lead = want[0] == '/';
    texts[0] = c->text;
    texts[1] = c->loose;
    if (!c->path) return 0;
    if (wl == 0 || (wl == 1 && lead)) return prefix || c->nsegs == 0;
    for (i = 0; i < 2; i++) {
        const char* t = texts[i] + (lead ? 0 : 1);
        size_t tl = strlen(t);
        if (tl == wl && memcmp(t, want, wl) == 0) return 1;
        if (prefix && tl > wl && memcmp(t, want, wl) == 0 && t[wl] == '/') return 1;
    }
    return 0;
}

/* Finds the component for `want`: an exact match, else the only one whose loose path ends
   with "/want".  NULL with a message when there is none or several. */
static const comp* app_find(const db* d, const appview* av, const char* want) {
    size_t i, hits = 0, wl = strlen(want);
    const comp* found = NULL;
    for (i = 0; i < av->ncomps; i++)
        if (path_match(&av->comps[i], want, 0)) {
            found = &av->comps[i];
            hits++;
        }
    if (hits == 0 && wl) {
        for (i = 0; i < av->ncomps; i++) {
            const comp* c = &av->comps[i];
            size_t tl = strlen(c->loose);
            if (c->path && tl > wl && c->loose[tl - wl - 1] == '/' &&
                memcmp(c->loose + tl - wl, want, wl) == 0) {
                found = c;
                hits++;
            }
        }
    }
    if (hits == 1) return found;
    if (hits == 0)
        fprintf(stderr, TOOL ": state store '%s': app '%s' has no component at '%s' (see '"
                TOOL " tree %s')\n", d->path, av->name, want, av->name);
    else {
        fprintf(stderr, TOOL ": state store '%s': app '%s': '%s' matches %zu components; give "
                "the whole path:\n", d->path, av->name, want, hits);
        for (i = 0; i < av->ncomps; i++) {
            const comp* c = &av->comps[i];
            size_t tl = strlen(c->loose);
            if (path_match(c, want, 0) ||
                (c->path && tl > wl && c->loose[tl - wl - 1] == '/' &&
                 memcmp(c->loose + tl - wl, want, wl) == 0))
                fprintf(stderr, "  %s\n", c->text);
        }
    }
    return NULL;
}

/* ==============================================================================================
   ls
   ============================================================================================== */
typedef struct lsrow {
    char*  name;
    size_t comps, states, memos, tombs, records, bytes;
} lsrow;

static int cmd_ls(void) {
    db d;
    lsrow* rows = NULL;
    size_t nrows = 0, i, other = 0, other_bytes = 0;
    coco_store_stats ss;
    if (db_open(&d)) return 1;
    for (i = 0; i < d.n; i++) {
        keyinfo ki;
        const dbrec* r = &d.recs[i];
        lsrow* row;
        if (key_parse(r->k, &ki) != 0) {
            other++;
            other_bytes += r->k.len + r->v.len;
            continue;
        }
        /* keys are sorted, so one app's keys are adjacent */
        if (!nrows || strlen(rows[nrows - 1].name) != ki.app_len ||
            memcmp(rows[nrows - 1].name, ki.app, ki.app_len) != 0) {
            rows = (lsrow*)xrealloc(rows, (nrows + 1) * sizeof *rows);
            memset(&rows[nrows], 0, sizeof *rows);
            rows[nrows].name = coco_arena_strndup(d.ar, ki.app, ki.app_len);
            if (!rows[nrows].name) { fprintf(stderr, TOOL ": out of memory\n"); exit(1); }
            nrows++;
        }
        row = &rows[nrows - 1];
        row->records++;
        row->bytes += r->k.len + r->v.len;
        if (ki.tag == 'c' && ki.fp) {
            comp c;
            comp_load(d.ar, r, &ki, &c);
            row->comps++;
            row->states += c.ntargets;
            row->memos += c.ncalls + (c.memo ? 1u : 0u);
        } else if (ki.tag == 'z') {
            row->tombs++;
        }
    }
    coco_store_stats_get(d.st, &ss);
    printf("db %s: %zu app%s, %llu keys, %llu bytes in the log\n", d.path, nrows,
           nrows == 1 ? "" : "s", (unsigned long long)ss.keys, (unsigned long long)ss.file_bytes);
    if (nrows) {
        size_t w = 3;
        for (i = 0; i < nrows; i++) if (strlen(rows[i].name) > w) w = strlen(rows[i].name);
        printf("%-*s  %10s  %13s  %12s  %10s  %7s  %9s\n", (int)w, "APP", "COMPONENTS",
               "TARGET STATES", "MEMO ENTRIES", "TOMBSTONES", "RECORDS", "BYTES");
        for (i = 0; i < nrows; i++)
            printf("%-*s  %10zu  %13zu  %12zu  %10zu  %7zu  %9zu\n", (int)w, rows[i].name,
                   rows[i].comps, rows[i].states, rows[i].memos, rows[i].tombs, rows[i].records,
                   rows[i].bytes);
    }
    if (other) printf("%zu record%s outside any app (%zu bytes)\n", other, other == 1 ? "" : "s",
                      other_bytes);
    free(rows);
    db_close(&d);
    return 0;
}

/* ==============================================================================================
   tree
   ============================================================================================== */
static void print_target_state(db* d, const coco_value* e, const char* indent) {
    sbuf s;
    sb_init(&s);
    if (!coco__tstate_ok(e)) {
        printf("%s-> (unreadable target state)\n", indent);
        sb_free(&s);
        return;
    }
    render_target_name(&s, d->ar, e->u.list.items[0].u.s.ptr, e->u.list.items[0].u.s.len);
    sb_ch(&s, ' ');
    render_key(&s, &e->u.list.items[1]);
    if (e->u.list.items[3].kind == COCO_BOOL && e->u.list.items[3].u.b) sb_str(&s, " (pending)");
    printf("%s-> %s\n", indent, sb_cstr(&s));
    sb_free(&s);
}

static void print_indent(sbuf* s, size_t depth) {
    size_t i;
    s->b.len = 0;
    for (i = 0; i < depth; i++) sb_str(s, "  ");
}

static void print_comp_details(db* d, const comp* c, size_t depth) {
    sbuf ind;
    const coco_value *t, *x;
    size_t i;
    sb_init(&ind);
    print_indent(&ind, depth + 1);
    t = coco__field(&c->v, "t");
    x = coco__field(&c->v, "x");
    for (i = 0; i < coco__list_len(x); i++) {
        const coco_value* e = coco__list_at(x, i);
        const coco_value* fnv = memo_entry_fn(e);
        char hx[33];
        printf("%scall %.*s (memo %s)\n", sb_cstr(&ind), fnv ? (int)fnv->u.s.len : 1,
               fnv ? fnv->u.s.ptr : "?",
               coco__list_len(e) == 5 && coco__list_at(e, 0)->kind == COCO_BYTES &&
               coco__list_at(e, 0)->u.s.len == 16
                   ? fp_str((const unsigned char*)coco__list_at(e, 0)->u.s.ptr, hx) : "?");
    }
    for (i = 0; i < coco__list_len(t); i++) print_target_state(d, coco__list_at(t, i),
                                                               sb_cstr(&ind));
    sb_free(&ind);
}

static int cmd_tree(const char* app, const char* want) {
    db d;
    appview av;
    size_t i, j, shown = 0, states = 0;
    const comp* prev = NULL;
    sbuf ind;
    if (db_open(&d)) return 1;
    if (app_load(&d, app, &av)) { db_close(&d); return 1; }
    for (i = 0; i < av.ncomps; i++)
        if (!want || path_match(&av.comps[i], want, 1)) {
            shown++;
            states += av.comps[i].ntargets;
        }
    if (want && !shown) {
        fprintf(stderr, TOOL ": state store '%s': app '%s' has no component at or under '%s'\n",
                d.path, app, want);
        db_close(&d);
        return 1;
    }
    if (want) {
        /* the subtree's root as the engine renders it, when PATH names a component */
        for (i = 0; i < av.ncomps; i++)
            if (path_match(&av.comps[i], want, 0)) { want = av.comps[i].text; break; }
    }
    printf("app %s: %zu component%s, %zu target state%s%s%s\n", app, shown,
           shown == 1 ? "" : "s", states, states == 1 ? "" : "s", want ? " at and under " : "",
           want ? want : "");
    sb_init(&ind);
    for (i = 0; i < av.ncomps; i++) {
        const comp* c = &av.comps[i];
        size_t common = 0;
        if (want && !path_match(c, want, 1)) continue;
        if (!c->path) {
            printf("%s\n", c->text);
            continue;
        }
        if (prev)
            while (common < prev->nsegs && common < c->nsegs &&
                   strcmp(prev->segs[common], c->segs[common]) == 0)
                common++;
        /* segments with no component of their own: Symbol(transform) between "files" and
           the files */
        for (j = common; j + 1 < c->nsegs; j++) {
            print_indent(&ind, j + 1);
            printf("%s%s\n", sb_cstr(&ind), c->segs[j]);
        }
        print_indent(&ind, c->nsegs);
        printf("%s%s  %s%s%s%s\n", sb_cstr(&ind), c->nsegs ? c->segs[c->nsegs - 1] : "/", c->fn,
               c->memo ? " (memo)" : "", c->ok ? "" : " (unreadable)",
               c->npending ? " (interrupted: pending target states)" : "");
        if (c->ok) print_comp_details(&d, c, c->nsegs);
        prev = c;
    }
    if (!want && av.ntombs)
        printf("%zu tombstone%s: target states to delete at the next update\n", av.ntombs,
               av.ntombs == 1 ? "" : "s");
    sb_free(&ind);
    db_close(&d);
    return 0;
}

/* ==============================================================================================
   stats
   ============================================================================================== */
typedef struct fnrow {
    const char* name;
    size_t      comps, memo, calls, states, pending, bytes;
} fnrow;

static fnrow* fnrow_get(fnrow** rows, size_t* n, const char* name, size_t len) {
    size_t i;
    for (i = 0; i < *n; i++)
        if (strlen((*rows)[i].name) == len && memcmp((*rows)[i].name, name, len) == 0)
            return &(*rows)[i];
    *rows = (fnrow*)xrealloc(*rows, (*n + 1) * sizeof **rows);
    memset(&(*rows)[*n], 0, sizeof **rows);
    (*rows)[*n].name = name;
    return &(*rows)[(*n)++];
}
static int fnrow_cmp(const void* a, const void* b) {
    return strcmp(((const fnrow*)a)->name, ((const fnrow*)b)->name);
}

static int cmd_stats(const char* app) {
    db d;
    appview av;
    fnrow* rows = NULL;
    fnrow tot;
    size_t nrows = 0, i, j, w = 8;
    if (db_open(&d)) return 1;
    if (app_load(&d, app, &av)) { db_close(&d); return 1; }
    memset(&tot, 0, sizeof tot);
    for (i = 0; i < av.ncomps; i++) {
        const comp* c = &av.comps[i];
        fnrow* r = fnrow_get(&rows, &nrows, c->fn, strlen(c->fn));
        const coco_value* x = c->ok ? coco__field(&c->v, "x") : NULL;
        r->comps++;
        r->memo += c->memo;
        r->states += c->ntargets;
        r->pending += c->npending;
        r->bytes += c->r->k.len + c->r->v.len;
        for (j = 0; j < coco__list_len(x); j++) {
            const coco_value* fnv = memo_entry_fn(coco__list_at(x, j));
            char* nm = fnv ? coco_arena_strndup(d.ar, fnv->u.s.ptr, fnv->u.s.len) : NULL;
            fnrow_get(&rows, &nrows, nm ? nm : "?", nm ? strlen(nm) : 1)->calls++;
        }
    }
    qsort(rows, nrows, sizeof *rows, fnrow_cmp);
    for (i = 0; i < nrows; i++) {
        if (strlen(rows[i].name) > w) w = strlen(rows[i].name);
        tot.comps += rows[i].comps;
        tot.memo += rows[i].memo;
        tot.calls += rows[i].calls;
        tot.states += rows[i].states;
        tot.pending += rows[i].pending;
        tot.bytes += rows[i].bytes;
    }
    printf("app %s\n", app);
    printf("%-*s  %10s  %8s  %10s  %13s  %7s  %9s\n", (int)w, "FUNCTION", "COMPONENTS",
           "MEMOIZED", "CALL MEMOS", "TARGET STATES", "PENDING", "BYTES");
    for (i = 0; i <= nrows; i++) {
        const fnrow* r = i < nrows ? &rows[i] : &tot;
        printf("%-*s  %10zu  %8zu  %10zu  %13zu  %7zu  %9zu\n", (int)w, i < nrows ? r->name
               : "total", r->comps, r->memo, r->calls, r->states, r->pending, r->bytes);
    }
    printf("other records: %zu tombstone%s, %zu container generation%s", av.ntombs,
           av.ntombs == 1 ? "" : "s", av.ngens, av.ngens == 1 ? "" : "s");
    if (av.next_id) printf(", next stable id %lld", (long long)av.next_id);
    if (av.nlinks) printf(", %zu link journal entr%s", av.nlinks, av.nlinks == 1 ? "y" : "ies");
    if (av.nother) printf(", %zu unknown", av.nother);
    printf("; %zu records, %zu bytes in all\n", av.records, av.bytes);
    printf("not in the store: run counters (bodies run, memo hits, errors, time) exist only in "
           "the process that ran the update\n");
    free(rows);
    db_close(&d);
    return 0;
}

/* ==============================================================================================
   why
   ============================================================================================== */
typedef struct dirarg { const char* key; const char* dir; } dirarg;

/* A stand-in for a localfs file object: only its memo key matters, to recompute the memo key
   fingerprint of a component and so confirm which file it was run for. */
typedef struct fakefile { const char* base; const char* rel; size_t rel_len; } fakefile;
static coco_result fake_memo_key(const void* obj, coco_arena* ar, coco_value* out) {
    const fakefile* f = (const fakefile*)obj;
    coco_value* two = (coco_value*)coco_arena_alloc(ar, 2 * sizeof *two);
    if (!two) return COCO_ERR_NOMEM;
    two[0] = coco_str(f->base);
    two[1] = coco_strn(f->rel, f->rel_len);
    *out = coco_list(two, 2);
    return COCO_OK;
}
static const coco_object_vtable fake_file_vt = { COCO_LOCALFS_FILE_TYPE, fake_memo_key, NULL };

/* [size, mtime] + content fingerprint: the two-level memo state of a localfs file */
static int lfs_state_shape(const coco_value* st) {
    const coco_value* cheap;
    if (coco__list_len(st) != 2) return 0;
    cheap = coco__list_at(st, 0);
    return coco__list_len(cheap) == 2 && cheap->u.list.items[0].kind == COCO_INT &&
           cheap->u.list.items[1].kind == COCO_INT;
}

static int file_fp(const char* path, coco_fp* out) {
    FILE* f = fopen(path, "rb");
    unsigned char buf[65536];
    coco_hasher h;
    size_t n;
    if (!f) return -1;
    coco_hasher_init(&h);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) coco_hasher_update(&h, buf, n);
    if (ferror(f)) { fclose(f); return -1; }
    fclose(f);
    *out = coco_hasher_fp(&h);
    return 0;
}

static const comp* comp_at_prefix(const appview* av, const comp* c, size_t nsegs) {
    size_t i, j;
    for (i = 0; i < av->ncomps; i++) {
        const comp* p = &av->comps[i];
        if (!p->path || p->nsegs != nsegs) continue;
        for (j = 0; j < nsegs; j++)
            if (strcmp(p->segs[j], c->segs[j]) != 0) break;
        if (j == nsegs) return p;
    }
    return NULL;
}

/* The container whose (name, key) fingerprint is `ck`, rendered, from the target states of
   every component ("?" when none declares it any more). */
static void container_name(db* d, const appview* av, coco_fp ck, sbuf* out) {
    size_t i, j;
    for (i = 0; i < av->ncomps; i++) {
        const coco_value* t;
        if (!av->comps[i].ok) continue;
        t = coco__field(&av->comps[i].v, "t");
        for (j = 0; j < coco__list_len(t); j++) {
            const coco_value* e = coco__list_at(t, j);
            char* nm;
            coco_fp f;
            if (!coco__tstate_ok(e)) continue;
            nm = cstr_of(d->ar, &e->u.list.items[0]);
            if (coco__tk_fp(d->ar, nm, &e->u.list.items[1], &f) == COCO_OK && coco_fp_eq(f, ck)) {
                render_target_name(out, d->ar, nm, strlen(nm));
                sb_ch(out, ' ');
                render_key(out, &e->u.list.items[1]);
                return;
            }
        }
    }
    sb_str(out, "(a container no longer declared)");
}

static int64_t gen_now(db* d, const char* app, coco_fp ck) {
    size_t i;
    for (i = 0; i < d->n; i++) {
        keyinfo ki;
        coco_value v;
        if (!key_is_app(d->recs[i].k, app)) continue;
        key_parse(d->recs[i].k, &ki);
        if (ki.tag != 'g' || !ki.fp || memcmp(ki.fp, ck.bytes, 16) != 0) continue;
        if (coco_value_decode(d->ar, d->recs[i].v.ptr, d->recs[i].v.len, &v) == COCO_OK &&
            v.kind == COCO_INT)
            return v.u.i;
    }
    return 0;
}

typedef struct verdict {
    sbuf rerun;       /* reasons it runs again */
    sbuf touched;     /* states refreshed without a run */
    sbuf unknown;     /* what the store cannot tell */
    int  gone;        /* its source is gone: deleted, not re-run */
    sbuf gone_why;
} verdict;

static void add_reason(sbuf* s, const char* z) {
    if (s->b.len) sb_str(s, "; ");
    sb_str(s, z);
}

/* Prints the stored dependencies and checks what can be checked (container generations). */
static void why_deps(db* d, const appview* av, const coco_value* deps, const char* indent,
                     verdict* vd, sbuf* logic_names, sbuf* ctx_names) {
    size_t i;
    for (i = 0; i < coco__list_len(deps); i++) {
        const coco_value* e = coco__list_at(deps, i);
        const coco_value *kind, *name, *fpv;
        char hx[33];
        if (coco__list_len(e) != 3) { printf("%s(unreadable dependency)\n", indent); continue; }
        kind = &e->u.list.items[0]; name = &e->u.list.items[1]; fpv = &e->u.list.items[2];
        if (kind->kind != COCO_INT || name->kind != COCO_STR || fpv->kind != COCO_BYTES ||
            fpv->u.s.len != 16) {
            printf("%s(unreadable dependency)\n", indent);
            continue;
        }
        fp_str((const unsigned char*)fpv->u.s.ptr, hx);
        if (kind->u.i == 0) {
            printf("%slogic of %.*s: fp %s\n", indent, (int)name->u.s.len, name->u.s.ptr, hx);
            if (logic_names->b.len) sb_str(logic_names, ", ");
            sb_put(logic_names, name->u.s.ptr, name->u.s.len);
        } else if (kind->u.i == 1) {
            printf("%scontext '%.*s': fp %s\n", indent, (int)name->u.s.len, name->u.s.ptr, hx);
            if (ctx_names->b.len) sb_str(ctx_names, ", ");
            sb_ch(ctx_names, '\'');
            sb_put(ctx_names, name->u.s.ptr, name->u.s.len);
            sb_ch(ctx_names, '\'');
        } else if (kind->u.i == 2) {
            coco_fp ck, stored;
            int64_t now, g, was = -1;
            sbuf cn;
            sb_init(&cn);
            memcpy(stored.bytes, fpv->u.s.ptr, 16);
            if (coco__hex16(name->u.s.ptr, name->u.s.len, &ck) != 0) {
                printf("%s(unreadable container dependency)\n", indent);
                sb_free(&cn);
                continue;
            }
            container_name(d, av, ck, &cn);
            now = gen_now(d, av->name, ck);
            for (g = 0; g <= now + 1 && g < 100000; g++)
                if (coco_fp_eq(coco__gen_fp(g), stored)) { was = g; break; }
            if (coco_fp_eq(coco__gen_fp(now), stored)) {
                printf("%scontainer %s: generation %lld, unchanged\n", indent, sb_cstr(&cn),
                       (long long)now);
            } else {
                sbuf r;
                sb_init(&r);
                printf("%scontainer %s: written under generation %s%lld, now %lld: changed\n",
                       indent, sb_cstr(&cn), was < 0 ? "?" : "", (long long)(was < 0 ? 0 : was),
                       (long long)now);
                sb_fmt(&r, "container %s was altered or recreated since (generation %lld): its "
                       "states are written again", sb_cstr(&cn), (long long)now);
                add_reason(&vd->rerun, sb_cstr(&r));
                sb_free(&r);
            }
            sb_free(&cn);
        } else {
            printf("%sdependency of kind %lld '%.*s': fp %s\n", indent, (long long)kind->u.i,
                   (int)name->u.s.len, name->u.s.ptr, hx);
        }
    }
}

typedef struct fileid {
    const char* dir;      /* NULL: not located */
    const char* rel;
    size_t      rel_len;
    int         confirmed;
    const char* base;
} fileid;

/* Which file the component at `c` was run for: its last path key is the file's relative path
   (coco_localfs_mount_walk, coco_mount_each over a walk); the memo key confirms it when the
   walked directory (or its context key) is given. */
static void locate_file(db* d, const comp* c, const dirarg* dirs, size_t ndirs, fileid* out) {
    const coco_value *last, *k;
    size_t i;
    memset(out, 0, sizeof *out);
    if (!c->path || c->nsegs == 0) return;
    last = coco__list_at(c->path, c->nsegs - 1);
    if (last->kind != COCO_STR) return;
    out->rel = last->u.s.ptr;
    out->rel_len = last->u.s.len;
    k = coco__field(&c->v, "k");
    for (i = 0; i < ndirs; i++) {
        char absdir[4096];
        sbuf base;
        fakefile ff;
        coco_value arg;
        coco_fp f;
        sb_init(&base);
        if (dirs[i].key) {
            sb_str(&base, "key:");
            sb_str(&base, dirs[i].key);
        } else if (realpath(dirs[i].dir, absdir)) {
            sb_str(&base, absdir);
        } else {
            sb_str(&base, dirs[i].dir);
        }
        ff.base = sb_dup(&base, d->ar);
        sb_free(&base);
        ff.rel = out->rel;
        ff.rel_len = out->rel_len;
        arg = coco_object(&fake_file_vt, &ff);
        if (k && k->kind == COCO_BYTES && k->u.s.len == 16 &&
            coco__args_fp(d->ar, c->fn, &arg, 1, &f) == COCO_OK &&
            memcmp(f.bytes, k->u.s.ptr, 16) == 0) {
            out->dir = dirs[i].dir;
            out->base = ff.base;
            out->confirmed = 1;
            return;
        }
    }
    if (ndirs == 1) out->dir = dirs[0].dir;
}

/* Prints the stored object states of a memo and compares a localfs file's with the disk. */
static void why_states(db* d, const coco_value* states, const fileid* fid, const char* indent,
                       verdict* vd) {
    size_t i, n = coco__list_len(states);
    if (n == 0) printf("%sobject states: none (no object arguments)\n", indent);
    for (i = 0; i < n; i++) {
        const coco_value* st = coco__list_at(states, i);
        sbuf s;
        sb_init(&s);
        if (lfs_state_shape(st)) {
            const coco_value* cheap = coco__list_at(st, 0);
            const coco_value* dear = coco__list_at(st, 1);
            int64_t size = cheap->u.list.items[0].u.i, mt = cheap->u.list.items[1].u.i;
            char hx[33];
            sb_fmt(&s, "size %lld, mtime ", (long long)size);
            fmt_time_ns(&s, mt);
            if (dear->kind == COCO_BYTES && dear->u.s.len == 16)
                sb_fmt(&s, ", content fp %s", fp_str((const unsigned char*)dear->u.s.ptr, hx));
            else if (dear->kind == COCO_STR)
                sb_fmt(&s, ", content state \"%.*s\"", (int)dear->u.s.len, dear->u.s.ptr);
            printf("%sobject %zu: a file: %s\n", indent, i + 1, sb_cstr(&s));
            if (n == 1 && fid->dir) {
                sbuf p;
                struct stat fst;
                sb_init(&p);
                sb_str(&p, fid->dir);
                sb_ch(&p, '/');
                sb_put(&p, fid->rel, fid->rel_len);
                printf("%s  the file: %s%s\n", indent, sb_cstr(&p), fid->confirmed ? ""
                       : " (not confirmed by the memo key: give --dir KEY=DIR with the walk's "
                         "context key, or the walked directory itself)");
                if (stat(sb_cstr(&p), &fst) != 0) {
                    sbuf r;
                    sb_init(&r);
                    printf("%s  on disk: missing (%s)\n", indent, strerror(errno));
                    sb_fmt(&r, "the file %s is gone: the walk no longer lists it, so the "
                           "component is deleted along with its target states", sb_cstr(&p));
                    vd->gone = 1;
                    add_reason(&vd->gone_why, sb_cstr(&r));
                    sb_free(&r);
                } else {
                    int64_t dmt = (int64_t)COCO__ST_MTIME_NS(&fst);
                    sbuf r;
                    sb_init(&r);
                    s.b.len = 0;
                    sb_fmt(&s, "size %lld, mtime ", (long long)fst.st_size);
                    fmt_time_ns(&s, dmt);
                    if ((int64_t)fst.st_size == size && dmt == mt) {
                        printf("%s  on disk: %s: unchanged\n", indent, sb_cstr(&s));
                    } else {
                        coco_fp now;
                        int have = file_fp(sb_cstr(&p), &now) == 0;
                        char hx2[33];
                        if (have) sb_fmt(&s, ", content fp %s", coco_fp_hex(now, hx2));
                        if ((int64_t)fst.st_size != size)
                            sb_fmt(&r, "size %lld -> %lld", (long long)size,
                                   (long long)fst.st_size);
                        else
                            sb_str(&r, "mtime changed");
                        if (have && dear->kind == COCO_BYTES && dear->u.s.len == 16 &&
                            memcmp(now.bytes, dear->u.s.ptr, 16) == 0) {
                            printf("%s  on disk: %s: touched (%s), same content\n", indent,
                                   sb_cstr(&s), sb_cstr(&r));
                            s.b.len = 0;
                            sb_fmt(&s, "%.*s was touched but its content is the same: only "
                                   "the stored size and mtime are refreshed",
                                   (int)fid->rel_len, fid->rel);
                            add_reason(&vd->touched, sb_cstr(&s));
                        } else {
                            printf("%s  on disk: %s: changed (%s)\n", indent, sb_cstr(&s),
                                   sb_cstr(&r));
                            s.b.len = 0;
                            sb_fmt(&s, "the source file %s changed (%s)%s", sb_cstr(&p),
                                   sb_cstr(&r), have ? ", new content" : "");
                            add_reason(&vd->rerun, sb_cstr(&s));
                        }
                    }
                    sb_free(&r);
                }
                sb_free(&p);
            } else if (n == 1 && fid->rel) {
                s.b.len = 0;
                sb_fmt(&s, "whether the file %.*s changed (give --dir DIR, the directory it "
                       "was walked from, to compare with the disk)", (int)fid->rel_len,
                       fid->rel);
                add_reason(&vd->unknown, sb_cstr(&s));
            } else {
                add_reason(&vd->unknown, "whether the objects changed (the store keeps their "
                           "states, not where they are)");
            }
        } else {
            coco_bytes enc;
            s.b.len = 0;
            if (coco_value_encode(d->ar, st, &enc) == COCO_OK) {
                sb_fmt(&s, "%zu-byte state", enc.len);
            } else {
                sb_str(&s, "unreadable state");
            }
            printf("%sobject %zu: %s of an object the tool does not know\n", indent, i + 1,
                   sb_cstr(&s));
            add_reason(&vd->unknown, "whether an object argument changed (its kind of state "
                       "is not one the tool can check)");
        }
        sb_free(&s);
    }
}

static void why_target_states(db* d, const coco_value* t, const char* indent) {
    size_t i;
    if (coco__list_len(t) == 0) printf("%starget states: none\n", indent);
    for (i = 0; i < coco__list_len(t); i++) {
        const coco_value* e = coco__list_at(t, i);
        const coco_value* tr;
        sbuf s;
        char hx[33];
        if (!coco__tstate_ok(e)) { printf("%s-> (unreadable target state)\n", indent); continue; }
        sb_init(&s);
        render_target_name(&s, d->ar, e->u.list.items[0].u.s.ptr, e->u.list.items[0].u.s.len);
        sb_ch(&s, ' ');
        render_key(&s, &e->u.list.items[1]);
        tr = &e->u.list.items[2];
        if (tr->kind == COCO_BYTES && tr->u.s.len == 24)
            sb_fmt(&s, ": content fp %s, %llu bytes", fp_str((const unsigned char*)tr->u.s.ptr,
                   hx), (unsigned long long)coco__get_u64le((const unsigned char*)tr->u.s.ptr +
                                                            16));
        else if (tr->kind == COCO_BYTES && tr->u.s.len == 16)
            sb_fmt(&s, ": value fp %s", fp_str((const unsigned char*)tr->u.s.ptr, hx));
        else if (tr->kind == COCO_BYTES && tr->u.s.len == 3 && memcmp(tr->u.s.ptr, "dir", 3) == 0)
            sb_str(&s, ": a directory");
        else if (tr->kind == COCO_BYTES)
            sb_fmt(&s, ": %zu-byte tracking record", tr->u.s.len);
        if (e->u.list.items[3].kind == COCO_BOOL && e->u.list.items[3].u.b)
            sb_fmt(&s, " (pending: an update was interrupted after writing it; %zu other "
                   "possible state%s, reconciled next time)", coco__list_len(&e->u.list.items[4]),
                   coco__list_len(&e->u.list.items[4]) == 1 ? "" : "s");
        printf("%s-> %s\n", indent, sb_cstr(&s));
        sb_free(&s);
    }
}

static int cmd_why(const char* app, const char* want, const dirarg* dirs, size_t ndirs) {
    db d;
    appview av;
    const comp* c;
    size_t i;
    verdict vd;
    sbuf logic, ctxn;
    fileid fid;
    const coco_value *x, *t;
    if (db_open(&d)) return 1;
    if (app_load(&d, app, &av)) { db_close(&d); return 1; }
    if (!(c = app_find(&d, &av, want))) { db_close(&d); return 1; }
    sb_init(&vd.rerun); sb_init(&vd.touched); sb_init(&vd.unknown); sb_init(&vd.gone_why);
    vd.gone = 0;
    sb_init(&logic);
    sb_init(&ctxn);
    printf("component %s of app %s\n", c->text, app);
    for (i = 0; i < c->nsegs; i++) {
        const comp* p = comp_at_prefix(&av, c, i);
        if (!p) continue;
        printf("  inside %s  %s%s\n", p->text, p->fn, p->memo ? " (memo: when it is a memo hit "
               "its whole subtree, this component included, is skipped)" : i == 0 ? " (runs at "
               "every update)" : " (runs whenever its parent does)");
    }
    if (!c->ok) {
        printf("  the record does not decode: the component runs as new at the next update\n"
               "verdict: runs (no usable state)\n");
        db_close(&d);
        return 0;
    }
    printf("  function %s, %s\n", c->fn, c->memo ? "memoized" : "not memoized");
    t = coco__field(&c->v, "t");
    x = coco__field(&c->v, "x");
    locate_file(&d, c, dirs, ndirs, &fid);
    if (c->memo) {
        const coco_value* k = coco__field(&c->v, "k");
        char hx[33];
        printf("  memo key %s (function name and arguments)%s%s%s%.*s%s\n",
               k && k->kind == COCO_BYTES && k->u.s.len == 16
                   ? fp_str((const unsigned char*)k->u.s.ptr, hx) : "?",
               fid.confirmed ? ": the file [\"" : "", fid.confirmed ? fid.base : "",
               fid.confirmed ? "\", \"" : "", fid.confirmed ? (int)fid.rel_len : 0,
               fid.confirmed ? fid.rel : "", fid.confirmed ? "\"]" : "");
        printf("  valid while:\n");
        why_deps(&d, &av, coco__field(&c->v, "d"), "    ", &vd, &logic, &ctxn);
        why_states(&d, coco__field(&c->v, "s"), &fid, "    ", &vd);
    }
    for (i = 0; i < coco__list_len(x); i++) {
        const coco_value* e = coco__list_at(x, i);
        const coco_value* fnv = memo_entry_fn(e);
        char hx[33];
        fileid none;
        memset(&none, 0, sizeof none);
        if (coco__list_len(e) != 5) { printf("  call memo %zu: unreadable\n", i + 1); continue; }
        printf("  call memo %zu: %.*s, key %s, %zu declared state%s, valid while:\n", i + 1,
               fnv ? (int)fnv->u.s.len : 1, fnv ? fnv->u.s.ptr : "?",
               coco__list_at(e, 0)->kind == COCO_BYTES && coco__list_at(e, 0)->u.s.len == 16
                   ? fp_str((const unsigned char*)coco__list_at(e, 0)->u.s.ptr, hx) : "?",
               coco__list_len(coco__list_at(e, 3)), coco__list_len(coco__list_at(e, 3)) == 1
                   ? "" : "s");
        why_deps(&d, &av, coco__list_at(e, 1), "    ", &vd, &logic, &ctxn);
        if (coco__list_len(coco__list_at(e, 4)))
            why_states(&d, coco__list_at(e, 4), &none, "    ", &vd);
    }
    why_target_states(&d, t, "  ");
    if (c->npending)
        add_reason(&vd.rerun, "an update was interrupted after writing its target states: "
                   "they are reconciled against every possible previous state");
    if (vd.gone) {
        printf("verdict: deleted at the next update: %s\n", sb_cstr(&vd.gone_why));
    } else if (!c->memo) {
        printf("verdict: runs %s (not memoized); only target states that differ from the "
               "stored ones are written\n", c->nsegs ? "whenever its parent runs" : "at every "
               "update");
    } else if (vd.rerun.b.len) {
        printf("verdict: re-runs: %s\n", sb_cstr(&vd.rerun));
    } else if (vd.unknown.b.len) {
        printf("verdict: cannot tell from the store: %s\n", sb_cstr(&vd.unknown));
    } else {
        printf("verdict: skipped (memo hit) as far as the store can tell; it still re-runs if "
               "the code of %s%s%s changed (not visible in the store)%s%s\n",
               logic.b.len ? sb_cstr(&logic) : c->fn, ctxn.b.len ? " or the context " : "",
               ctxn.b.len ? sb_cstr(&ctxn) : "", vd.touched.b.len ? "; " : "",
               vd.touched.b.len ? sb_cstr(&vd.touched) : "");
    }
    sb_free(&vd.rerun); sb_free(&vd.touched); sb_free(&vd.unknown); sb_free(&vd.gone_why);
    sb_free(&logic);
    sb_free(&ctxn);
    db_close(&d);
    return 0;
}

/* ==============================================================================================
   dump: JSON lines
   Values as JSON: null, booleans, integers, floats (shortest round trip), strings (invalid
   UTF-8 as U+FFFD), lists, maps; the kinds JSON lacks are tagged objects: {"$bytes": hex},
   {"$symbol": name}, {"$uuid": text}, {"$float": "nan"/"inf"/"-inf"}.
   ============================================================================================== */
static void json_str(sbuf* s, const char* p, size_t n) {
    size_t i = 0;
    sb_ch(s, '"');
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') { sb_ch(s, '\\'); sb_ch(s, (char)c); i++; }
        else if (c == '\n') { sb_str(s, "\\n"); i++; }
        else if (c == '\t') { sb_str(s, "\\t"); i++; }
        else if (c == '\r') { sb_str(s, "\\r"); i++; }
        else if (c < 0x20 || c == 0x7f) { sb_fmt(s, "\\u%04x", c); i++; }
        else if (c < 0x80) { sb_ch(s, (char)c); i++; }
        else {
            /* one well-formed UTF-8 sequence, or U+FFFD for the byte */
            size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0, j;
            int ok = len > 0 && len <= 4 && c <= 0xf4 && i + len <= n;
            uint32_t cp = len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
            for (j = 1; ok && j < len; j++) {
                unsigned char cc = (unsigned char)p[i + j];
                if ((cc & 0xc0) != 0x80) ok = 0;
                cp = (cp << 6) | (cc & 0x3fu);
            }
            if (ok && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                       (len == 4 && (cp < 0x10000 || cp > 0x10ffff))))
                ok = 0;
            if (ok) { sb_put(s, p + i, len); i += len; }
            else { sb_str(s, "\\ufffd"); i++; }
        }
    }
    sb_ch(s, '"');
}

static void json_value(sbuf* s, coco_arena* ar, const coco_value* v, int depth) {
    size_t i;
    if (depth > 200) { sb_str(s, "null"); return; }
    switch (v->kind) {
    case COCO_NULL: sb_str(s, "null"); break;
    case COCO_BOOL: sb_str(s, v->u.b ? "true" : "false"); break;
    case COCO_INT: sb_fmt(s, "%lld", (long long)v->u.i); break;
    case COCO_FLOAT: {
        coco_bytes out;
        if (v->u.f != v->u.f) sb_str(s, "{\"$float\":\"nan\"}");
        else if (coco_json_write(ar, v, &out) == COCO_OK) sb_put(s, out.ptr, out.len);
        else sb_str(s, v->u.f > 0 ? "{\"$float\":\"inf\"}" : "{\"$float\":\"-inf\"}");
        break;
    }
    case COCO_STR: json_str(s, v->u.s.ptr, v->u.s.len); break;
    case COCO_BYTES:
        sb_str(s, "{\"$bytes\":\"");
        hex_put(s, v->u.s.ptr, v->u.s.len);
        sb_str(s, "\"}");
        break;
    case COCO_SYMBOL:
        sb_str(s, "{\"$symbol\":");
        json_str(s, v->u.s.ptr, v->u.s.len);
        sb_ch(s, '}');
        break;
    case COCO_UUID: {
        const unsigned char* u = (const unsigned char*)v->u.s.ptr;
        sb_str(s, "{\"$uuid\":\"");
        for (i = 0; i < 16 && i < v->u.s.len; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) sb_ch(s, '-');
            hex_put(s, u + i, 1);
        }
        sb_str(s, "\"}");
        break;
    }
    case COCO_VEC_F32:
        sb_ch(s, '[');
        for (i = 0; i < v->u.vec.dim; i++) {
            coco_value f = coco_float((double)v->u.vec.ptr[i]);
            if (i) sb_ch(s, ',');
            json_value(s, ar, &f, depth + 1);
        }
        sb_ch(s, ']');
        break;
    case COCO_LIST:
        sb_ch(s, '[');
        for (i = 0; i < v->u.list.count; i++) {
            if (i) sb_ch(s, ',');
            json_value(s, ar, &v->u.list.items[i], depth + 1);
        }
        sb_ch(s, ']');
        break;
    case COCO_MAP:
        sb_ch(s, '{');
        for (i = 0; i < v->u.map.count; i++) {
            if (i) sb_ch(s, ',');
            json_str(s, v->u.map.entries[i].key, v->u.map.entries[i].key_len);
            sb_ch(s, ':');
            json_value(s, ar, &v->u.map.entries[i].val, depth + 1);
        }
        sb_ch(s, '}');
        break;
    default: sb_str(s, "null"); break;
    }
}

static void b64_put(sbuf* s, const void* p, size_t n) {
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char* b = (const unsigned char*)p;
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        sb_ch(s, al[v >> 18]); sb_ch(s, al[(v >> 12) & 63]);
        sb_ch(s, al[(v >> 6) & 63]); sb_ch(s, al[v & 63]);
    }
    if (i < n) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0u);
        sb_ch(s, al[v >> 18]); sb_ch(s, al[(v >> 12) & 63]);
        sb_ch(s, i + 1 < n ? al[(v >> 6) & 63] : '=');
        sb_ch(s, '=');
    }
}

/* One record as a JSON object (without the closing brace); `extra` fields come first. */
static void dump_record(sbuf* s, coco_arena* ar, coco_bytes k, const coco_bytes* v, int raw) {
    keyinfo ki;
    coco_value val;
    if (key_parse(k, &ki) == 0) {
        sb_str(s, "\"app\":");
        json_str(s, ki.app, ki.app_len);
        sb_str(s, ",\"kind\":\"");
        sb_str(s, tag_kind(ki.tag));
        sb_ch(s, '"');
        if (ki.fp) {
            char hx[33];
            sb_fmt(s, ",\"fp\":\"%s\"", fp_str(ki.fp, hx));
        }
    } else {
        sb_str(s, "\"kind\":\"other\"");
    }
    sb_str(s, ",\"key_hex\":\"");
    hex_put(s, k.ptr, k.len);
    sb_ch(s, '"');
    if (!v) return;
    sb_fmt(s, ",\"value_len\":%zu", v->len);
    if (coco_value_decode(ar, v->ptr, v->len, &val) == COCO_OK) {
        if (ki.tag == 'c' && val.kind == COCO_MAP) {
            const coco_value* p = coco__field(&val, "p");
            if (p && p->kind == COCO_LIST) {
                char* txt = path_text(ar, p, 0);
                sb_str(s, ",\"path\":");
                json_str(s, txt, strlen(txt));
            }
        }
        sb_str(s, ",\"value\":");
        json_value(s, ar, &val, 0);
    } else {
        const char* why = coco_arena_errmsg(ar);
        sb_str(s, ",\"value\":null,\"value_error\":");
        json_str(s, why, strlen(why));
        raw = 1;
    }
    if (raw) {
        sb_str(s, ",\"value_b64\":\"");
        b64_put(s, v->ptr, v->len);
        sb_ch(s, '"');
    }
}

static int load_file(const char* path, unsigned char** out, size_t* len);

static int cmd_dump(const char* app, int log, int raw) {
    sbuf s;
    size_t i;
    if (!log) {
        db d;
        coco_arena* ar;
        if (db_open(&d)) return 1;
        if (coco_arena_create(NULL, &ar) != COCO_OK) { db_close(&d); return 1; }
        sb_init(&s);
        for (i = 0; i < d.n; i++) {
            if (app && !key_is_app(d.recs[i].k, app)) continue;
            s.b.len = 0;
            sb_ch(&s, '{');
            dump_record(&s, ar, d.recs[i].k, &d.recs[i].v, raw);
            sb_str(&s, "}\n");
            fwrite(s.b.ptr, 1, s.b.len, stdout);
            coco_arena_reset(ar);
        }
        sb_free(&s);
        coco_arena_destroy(ar);
        db_close(&d);
        return 0;
    } else {
        /* every record in the log, superseded ones and deletes included, in log order */
        unsigned char* buf;
        size_t len;
        uint64_t off = COCO__FILE_HDR, seq;
        coco_arena* ar;
        char err[512];
        if (load_file(g_db_path, &buf, &len)) return 1;
        if (coco__header_check(buf, len, g_db_path, err, sizeof err) != COCO_OK) {
            fprintf(stderr, TOOL ": %s\n", err);
            free(buf);
            return 1;
        }
        if (coco_arena_create(NULL, &ar) != COCO_OK) { free(buf); return 1; }
        sb_init(&s);
        while (off < len) {
            uint64_t pl, p, stop;
            uint32_t count, nrec = 0;
            const char* why = "";
            if (coco__group_head(buf, off, len, &pl, &count, &why) != 0) {
                fprintf(stderr, TOOL ": state store '%s': stopped at offset %llu: %s (see '"
                        TOOL " verify')\n", g_db_path, (unsigned long long)off, why);
                break;
            }
            seq = coco__get_u64le(buf + off + 16);
            p = off + COCO__GROUP_HDR;
            stop = p + pl;
            while (p < stop) {
                coco__rec r;
                coco_bytes k, v;
                if (coco__rec_parse(buf + p, buf + stop, &r) != 0) {
                    fprintf(stderr, TOOL ": state store '%s': malformed record at offset %llu\n",
                            g_db_path, (unsigned long long)p);
                    break;
                }
                k.ptr = r.key; k.len = r.klen;
                v.ptr = r.val; v.len = r.vlen;
                s.b.len = 0;
                sb_fmt(&s, "{\"offset\":%llu,\"commit\":%llu,\"record\":%u,\"op\":\"%s\",%s",
                       (unsigned long long)p, (unsigned long long)seq, nrec,
                       r.op == COCO_OP_PUT ? "put" : "del",
                       coco__rec_crc_ok(buf + p, &r) ? "" : "\"checksum_ok\":false,");
                if (!app || key_is_app(k, app)) {
                    dump_record(&s, ar, k, r.op == COCO_OP_PUT ? &v : NULL, raw);
                    sb_str(&s, "}\n");
                    fwrite(s.b.ptr, 1, s.b.len, stdout);
                }
                coco_arena_reset(ar);
                p += r.size;
                nrec++;
            }
            off = stop;
        }
        sb_free(&s);
        coco_arena_destroy(ar);
        free(buf);
        return 0;
    }
}

/* ==============================================================================================
   verify
   Reads the log itself (not through the store, which refuses a damaged log at open): every
   commit header and every record's checksum; replays the whole commits into an index of its
   own and compares the index snapshot (<db>.idx) with it where the store would trust it;
   then checks what the engine's records refer to.
   ============================================================================================== */
static int load_file(const char* path, unsigned char** out, size_t* len) {
    FILE* f = fopen(path, "rb");
    unsigned char* buf = NULL;
    size_t cap = 0, n = 0, got;
    if (!f) {
        fprintf(stderr, TOOL ": state store '%s': cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = (unsigned char*)xrealloc(buf, cap);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        fprintf(stderr, TOOL ": state store '%s': read error: %s\n", path, strerror(errno));
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

typedef struct vproblem {
    uint64_t             off;
    const unsigned char* key;       /* the record's key as read (may be damaged), or NULL */
    size_t               klen;
    char*                msg;
} vproblem;

typedef struct vname { unsigned char fp[16]; char* path; const char* app; size_t app_len; } vname;

typedef struct vstate {
    const char*    path;
    unsigned char* buf;
    size_t         len;
    coco__map      idx;          /* 48-bit key hash -> record offset + 1 (the latest put) */
    uint64_t       live_bytes;
    coco_arena*    ar;
    vproblem*      probs;
    size_t         nprobs, problems, warnings;
    uint64_t       groups, records, last_group, last_seq;
    vname*         names;
    size_t         nnames;
    /* index snapshot */
    unsigned char* snap;
    size_t         slen;
    int            snap_used;    /* the store would trust it: compare it */
    uint64_t       covered;
    int            snap_checked;
    const char*    snap_note;
} vstate;

typedef struct vkeyeq { const vstate* v; const unsigned char* key; size_t klen; } vkeyeq;
static int vkey_eq(void* ctx, uint64_t val) {
    const vkeyeq* e = (const vkeyeq*)ctx;
    coco__rec r;
    if (coco__rec_parse(e->v->buf + val - 1, e->v->buf + e->v->len, &r) != 0) return 0;
    return r.klen == e->klen && (e->klen == 0 || memcmp(r.key, e->key, e->klen) == 0);
}
static coco__map_slot* vidx_find(vstate* v, const unsigned char* key, size_t klen) {
    vkeyeq e;
    e.v = v; e.key = key; e.klen = klen;
    return coco__map_find(&v->idx, coco__log_hash(key, klen), vkey_eq, &e);
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void vprob(vstate* v, uint64_t off, const unsigned char* key, size_t klen,
                  const char* fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    v->probs = (vproblem*)xrealloc(v->probs, (v->nprobs + 1) * sizeof *v->probs);
    v->probs[v->nprobs].off = off;
    v->probs[v->nprobs].key = key;
    v->probs[v->nprobs].klen = klen;
    v->probs[v->nprobs].msg = coco_arena_strndup(v->ar, tmp, strlen(tmp));
    v->nprobs++;
    v->problems++;
}

/* "app 'files_transform' component /"files"/... (c 3fa2...)" for a key as read */
static void describe_key(const vstate* v, sbuf* s, const unsigned char* key, size_t klen) {
    coco_bytes k;
    keyinfo ki;
    size_t i;
    k.ptr = key;
    k.len = klen;
    if (key_parse(k, &ki) != 0) {
        sb_str(s, "key ");
        json_str(s, (const char*)key, klen);
        return;
    }
    sb_str(s, "app '");
    sb_put(s, ki.app, ki.app_len);
    sb_fmt(s, "' %s", tag_kind(ki.tag));
    if (ki.fp) {
        char hx[33];
        for (i = 0; i < v->nnames; i++)
            if (memcmp(v->names[i].fp, ki.fp, 16) == 0 && v->names[i].app_len == ki.app_len &&
                memcmp(v->names[i].app, ki.app, ki.app_len) == 0) {
                sb_ch(s, ' ');
                sb_str(s, v->names[i].path);
                break;
            }
        sb_fmt(s, " (%c %s)", ki.tag, fp_str(ki.fp, hx));
    }
}

/* The snapshot against the index replayed up to its covered end. */
static void verify_snapshot_entries(vstate* v) {
    const unsigned char* h = v->snap;
    unsigned w = h[21];
    uint64_t keys = coco__get_u64le(h + 96), k, matched = 0;
    uint64_t* offs;
    size_t i, bad = 0;
    char ip[4200];
    snprintf(ip, sizeof ip, "%s.idx", v->path);
    v->snap_checked = 1;
    if (w < 1 || w > 8 || v->slen != COCO__IDX_HDR + keys * (6 + w)) {
        vprob(v, 0, NULL, 0, "index snapshot '%s': its size does not fit its %llu entries",
              ip, (unsigned long long)keys);
        return;
    }
    if (coco__crc32c(0, h + COCO__IDX_HDR, (size_t)(keys * (6 + w))) != coco__get_u32le(h + 84))
        vprob(v, 0, NULL, 0, "index snapshot '%s': entries checksum mismatch (the store would "
              "ignore it and replay the log)", ip);
    if (coco__get_u64le(h + 72) != v->last_group ||
        coco__get_u64le(h + 88) != v->last_seq)
        vprob(v, 0, NULL, 0, "index snapshot '%s': its last commit (offset %llu, seq %llu) is "
              "not the log's last commit before offset %llu (offset %llu, seq %llu)", ip,
              (unsigned long long)coco__get_u64le(h + 72),
              (unsigned long long)coco__get_u64le(h + 88), (unsigned long long)v->covered,
              (unsigned long long)v->last_group, (unsigned long long)v->last_seq);
    offs = (uint64_t*)xmalloc((size_t)(keys ? keys : 1) * sizeof *offs);
    for (k = 0; k < keys; k++) {
        const unsigned char* e = h + COCO__IDX_HDR + k * (6 + w);
        uint64_t hash = coco__get_uNle(e, 6), off = coco__get_uNle(e + 6, w);
        coco__rec r;
        coco__map_slot* s;
        offs[k] = off;
        if (off < COCO__FILE_HDR + COCO__GROUP_HDR || off >= v->covered ||
            coco__rec_parse(v->buf + off, v->buf + v->covered, &r) != 0 || r.op != COCO_OP_PUT) {
            if (bad++ < 20)
                vprob(v, off, NULL, 0, "index snapshot '%s': entry %llu points at offset %llu, "
                      "where no record starts", ip, (unsigned long long)k,
                      (unsigned long long)off);
            continue;
        }
        if (coco__log_hash(r.key, r.klen) != hash) {
            if (bad++ < 20)
                vprob(v, off, r.key, r.klen, "index snapshot '%s': entry %llu has the hash of "
                      "another key than the record at offset %llu", ip, (unsigned long long)k,
                      (unsigned long long)off);
            continue;
        }
        s = vidx_find(v, r.key, r.klen);
        if (!s->val) {
            if (bad++ < 20)
                vprob(v, off, r.key, r.klen, "index snapshot '%s': entry %llu points at offset "
                      "%llu, a key the log deleted later", ip, (unsigned long long)k,
                      (unsigned long long)off);
        } else if (s->val - 1 != off) {
            if (bad++ < 20)
                vprob(v, off, r.key, r.klen, "index snapshot '%s': entry %llu points at offset "
                      "%llu, an older record of its key; the latest is at offset %llu", ip,
                      (unsigned long long)k, (unsigned long long)off,
                      (unsigned long long)(s->val - 1));
        } else {
            matched++;
        }
    }
    /* duplicates and live keys the snapshot lacks */
    {
        size_t a, b;
        for (a = 1; a < (size_t)keys; a++) {          /* insertion sort is fine: rare, small */
            uint64_t x = offs[a];
            for (b = a; b > 0 && offs[b - 1] > x; b--) offs[b] = offs[b - 1];
            offs[b] = x;
        }
        for (a = 1; a < (size_t)keys; a++)
            if (offs[a] == offs[a - 1]) {
                vprob(v, offs[a], NULL, 0, "index snapshot '%s': offset %llu is listed twice",
                      ip, (unsigned long long)offs[a]);
                if (matched) matched--;
            }
        if (matched != v->idx.count) {
            size_t shown = 0;
            for (i = 0; i <= v->idx.mask; i++) {
                uint64_t off;
                size_t lo = 0, hi = (size_t)keys;
                coco__rec r;
                if (!v->idx.slots[i].val) continue;
                off = v->idx.slots[i].val - 1;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (offs[mid] < off) lo = mid + 1; else hi = mid;
                }
                if (lo < (size_t)keys && offs[lo] == off) continue;
                if (coco__rec_parse(v->buf + off, v->buf + v->len, &r) == 0 && shown++ < 20)
                    vprob(v, off, r.key, r.klen, "index snapshot '%s' lacks the live record at "
                          "offset %llu", ip, (unsigned long long)off);
            }
            if (!shown)
                vprob(v, 0, NULL, 0, "index snapshot '%s': %llu entries, the log has %llu "
                      "live keys", ip, (unsigned long long)keys,
                      (unsigned long long)v->idx.count);
        }
    }
    if (coco__get_u64le(h + 104) != v->live_bytes)
        vprob(v, 0, NULL, 0, "index snapshot '%s': live bytes %llu, the log's are %llu", ip,
              (unsigned long long)coco__get_u64le(h + 104), (unsigned long long)v->live_bytes);
    free(offs);
}

/* Reads <db>.idx and decides whether the store would trust it (then it is compared). */
static void verify_snapshot_open(vstate* v) {
    char ip[4200];
    struct stat lst;
    FILE* f;
    const unsigned char* h;
    snprintf(ip, sizeof ip, "%s.idx", v->path);
    if (!(f = fopen(ip, "rb"))) { v->snap_note = "no index snapshot"; return; }
    fclose(f);
    if (load_file(ip, &v->snap, &v->slen)) { v->snap_note = "index snapshot unreadable"; return; }
    h = v->snap;
    if (v->slen < COCO__IDX_HDR || !coco__idx_header_ok(h)) {
        vprob(v, 0, NULL, 0, "index snapshot '%s': bad header or header checksum (the store "
              "ignores it; delete it)", ip);
        v->snap_note = "index snapshot damaged";
        return;
    }
    if (stat(v->path, &lst) != 0 || memcmp(h + 24, v->buf + COCO__LOG_ID_AT,
                                           COCO__LOG_ID_LEN) != 0 ||
        coco__get_u64le(h + 40) != (uint64_t)lst.st_ino) {
        v->snap_note = "index snapshot of another log (ignored by the store; the next writer "
                       "removes it)";
        return;
    }
    v->covered = coco__get_u64le(h + 64);
    if (!(coco__get_u32le(h + 16) & COCO__IDX_APPENDED) &&
        (v->covered != v->len || coco__get_u64le(h + 48) != COCO__ST_MTIME_NS(&lst) ||
         coco__get_u64le(h + 56) != COCO__ST_CTIME_NS(&lst))) {
        v->snap_note = "index snapshot stale: the log changed since it was written (ignored by "
                       "the store, which replays the log)";
        return;
    }
    if (v->covered < COCO__FILE_HDR || v->covered > v->len) {
        vprob(v, 0, NULL, 0, "index snapshot '%s' covers up to offset %llu, beyond the log's "
              "%llu bytes", ip, (unsigned long long)v->covered, (unsigned long long)v->len);
        v->snap_note = "index snapshot damaged";
        return;
    }
    v->snap_used = 1;
    v->snap_note = "index snapshot matches the log";
}

/* The records of one whole commit into the index. */
static void verify_apply(vstate* v, uint64_t from, uint64_t stop) {
    uint64_t p = from;
    while (p < stop) {
        coco__rec r;
        coco__map_slot* s;
        if (coco__rec_parse(v->buf + p, v->buf + stop, &r) != 0) return;
        s = vidx_find(v, r.key, r.klen);
        if (s->val) {
            coco__rec old;
            if (coco__rec_parse(v->buf + s->val - 1, v->buf + v->len, &old) == 0)
                v->live_bytes -= old.size;
        }
        if (r.op == COCO_OP_PUT) {
            if (!s->val) {
                if (coco__map_reserve1(&v->idx)) { fprintf(stderr, TOOL ": out of memory\n"); exit(1); }
                s = vidx_find(v, r.key, r.klen);
                v->idx.count++;
                s->hash = coco__log_hash(r.key, r.klen);
            }
            s->val = p + 1;
            v->live_bytes += r.size;
        } else if (s->val) {
            coco__map_remove(&v->idx, s);
        }
        p += r.size;
    }
}

static void verify_log(vstate* v) {
    uint64_t off = COCO__FILE_HDR;
    if (v->snap_used && v->covered == off) verify_snapshot_entries(v);
    while (off < v->len) {
        uint64_t pl = 0, p, stop, later, seq;
        uint32_t count = 0, n = 0;
        const char* why = "";
        int bad = 0, malformed = 0;
        if (coco__group_head(v->buf, off, v->len, &pl, &count, &why) != 0) {
            later = coco__find_later_group(v->buf, off, v->len);
            if (later) {
                vprob(v, off, NULL, 0, "offset %llu: damaged commit (%s); whole commits follow "
                      "at offset %llu, so the store refuses to open the db", (unsigned long long)off,
                      why, (unsigned long long)later);
                off = later;
                continue;
            }
            printf("%s: note: a torn tail of %llu bytes at offset %llu (%s): an interrupted "
                   "commit, never visible; the next writer cuts it\n", v->path,
                   (unsigned long long)(v->len - off), (unsigned long long)off, why);
            break;
        }
        seq = coco__get_u64le(v->buf + off + 16);
        p = off + COCO__GROUP_HDR;
        stop = p + pl;
        while (p < stop) {
            coco__rec r;
            if (coco__rec_parse(v->buf + p, v->buf + stop, &r) != 0) {
                vprob(v, p, NULL, 0, "offset %llu (commit seq %llu, record %u): malformed record "
                      "(lengths run past its commit)", (unsigned long long)p,
                      (unsigned long long)seq, n);
                bad = malformed = 1;
                break;
            }
            if (!coco__rec_crc_ok(v->buf + p, &r)) {
                vprob(v, p, r.key, r.klen, "offset %llu (commit seq %llu, record %u): record "
                      "checksum mismatch", (unsigned long long)p, (unsigned long long)seq, n);
                bad = 1;
            }
            p += r.size;
            n++;
        }
        if (!malformed && n != count) {
            vprob(v, off, NULL, 0, "offset %llu (commit seq %llu): %u records, its header says "
                  "%u", (unsigned long long)off, (unsigned long long)seq, n, count);
            bad = 1;
        }
        v->groups++;
        v->records += n;
        if (bad) {
            later = coco__find_later_group(v->buf, off, v->len);
            vprob(v, off, NULL, 0, "commit seq %llu at offset %llu is damaged: %s",
                  (unsigned long long)seq, (unsigned long long)off, later
                  ? "whole commits follow, so the store refuses to open the db"
                  : "it is the last one, so the next writer cuts it off (its records are lost)");
        } else {
            verify_apply(v, off + COCO__GROUP_HDR, stop);
            v->last_group = off;
            v->last_seq = seq;
        }
        off = stop;
        if (v->snap_used && !v->snap_checked && off == v->covered) verify_snapshot_entries(v);
    }
    if (v->snap_used && !v->snap_checked) {
        char ip[4200];
        snprintf(ip, sizeof ip, "%s.idx", v->path);
        vprob(v, v->covered, NULL, 0, "index snapshot '%s' covers up to offset %llu, which is "
              "not the end of a whole commit", ip, (unsigned long long)v->covered);
    }
}

/* ---- what the engine's records refer to -------------------------------------------------- */
typedef struct vlive { coco_bytes k, v; uint64_t off; } vlive;
static int vlive_cmp(const void* a, const void* b) {
    const vlive* x = (const vlive*)a;
    const vlive* y = (const vlive*)b;
    size_t n = x->k.len < y->k.len ? x->k.len : y->k.len;
    int c = n ? memcmp(x->k.ptr, y->k.ptr, n) : 0;
    return c ? c : (x->k.len < y->k.len ? -1 : x->k.len > y->k.len);
}

static const vlive* vlive_find(const vlive* l, size_t n, const void* key, size_t klen) {
    size_t lo = 0, hi = n;
    vlive want;
    want.k.ptr = key;
    want.k.len = klen;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = vlive_cmp(&l[mid], &want);
        if (c == 0) return &l[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

static int is_fp_val(const coco_value* v) {
    return v && v->kind == COCO_BYTES && v->u.s.len == 16;
}

/* [[kind, name, fp16], ...] */
static const char* deps_problem(const coco_value* d) {
    size_t i;
    if (!d || d->kind != COCO_LIST) return "dependencies are not a list";
    for (i = 0; i < d->u.list.count; i++) {
        const coco_value* e = &d->u.list.items[i];
        coco_fp ck;
        if (coco__list_len(e) != 3 || e->u.list.items[0].kind != COCO_INT ||
            e->u.list.items[1].kind != COCO_STR || !is_fp_val(&e->u.list.items[2]))
            return "a dependency is not [kind, name, fingerprint]";
        if (e->u.list.items[0].u.i == 2 &&
            coco__hex16(e->u.list.items[1].u.s.ptr, e->u.list.items[1].u.s.len, &ck) != 0)
            return "a container dependency does not name a container";
    }
    return NULL;
}

static const char* tstate_problem(const coco_value* e) {
    size_t i;
    if (!coco__tstate_ok(e)) return "a target state is not [target, key, tracking, pending, "
                                    "previous]";
    if (e->u.list.items[2].kind != COCO_BYTES) return "a tracking record is not bytes";
    if (e->u.list.items[3].kind != COCO_BOOL) return "a pending flag is not a bool";
    if (e->u.list.items[4].kind != COCO_LIST) return "previous tracking records are not a list";
    for (i = 0; i < e->u.list.items[4].u.list.count; i++)
        if (e->u.list.items[4].u.list.items[i].kind != COCO_BYTES)
            return "a previous tracking record is not bytes";
    if (!coco__is_key_kind(&e->u.list.items[1], 0)) return "a target state key has a kind keys "
                                                           "cannot have";
    return NULL;
}

static const char* memo_entry_problem(const coco_value* e) {
    size_t i;
    const char* why;
    if (coco__list_len(e) != 5) return "a call memo entry is not [key, deps, value, "
                                       "declarations, states]";
    if (!is_fp_val(coco__list_at(e, 0))) return "a call memo key is not a fingerprint";
    if ((why = deps_problem(coco__list_at(e, 1))) != NULL) return why;
    if (coco__list_at(e, 3)->kind != COCO_LIST) return "call memo declarations are not a list";
    for (i = 0; i < coco__list_len(coco__list_at(e, 3)); i++) {
        const coco_value* d = coco__list_at(coco__list_at(e, 3), i);
        if (coco__list_len(d) != 3 || d->u.list.items[0].kind != COCO_STR)
            return "a call memo declaration is not [target, key, value]";
    }
    if (coco__list_at(e, 4)->kind != COCO_LIST) return "call memo object states are not a list";
    return NULL;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void vrecprob(vstate* v, const vlive* r, int warning, const char* fmt, ...) {
    char tmp[1024];
    sbuf s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_init(&s);
    describe_key(v, &s, (const unsigned char*)r->k.ptr, r->k.len);
    printf("%s: %s%s (record at offset %llu): %s\n", v->path, warning ? "warning: " : "",
           sb_cstr(&s), (unsigned long long)r->off, tmp);
    sb_free(&s);
    if (warning) v->warnings++; else v->problems++;
}

static void verify_names(vstate* v, const vlive* l, size_t n) {
    size_t i;
    coco_arena* tmp;
    if (coco_arena_create(NULL, &tmp) != COCO_OK) return;
    for (i = 0; i < n; i++) {
        keyinfo ki;
        coco_value rec;
        const coco_value* pv;
        if (key_parse(l[i].k, &ki) != 0 || ki.tag != 'c' || !ki.fp) continue;
        coco_arena_reset(tmp);
        if (coco_value_decode(tmp, l[i].v.ptr, l[i].v.len, &rec) != COCO_OK) continue;
        pv = coco__field(&rec, "p");
        if (!pv || pv->kind != COCO_LIST) continue;
        v->names = (vname*)xrealloc(v->names, (v->nnames + 1) * sizeof *v->names);
        memcpy(v->names[v->nnames].fp, ki.fp, 16);
        v->names[v->nnames].path = path_text(v->ar, pv, 0);
        v->names[v->nnames].app = ki.app;
        v->names[v->nnames].app_len = ki.app_len;
        v->nnames++;
    }
    coco_arena_destroy(tmp);
}

static void verify_refs(vstate* v, vlive* l, size_t n, size_t* napps) {
    size_t i, j;
    char* reached = (char*)xmalloc(n ? n : 1);
    coco_arena* ar;
    const char* prev_app = NULL;
    size_t prev_len = 0;
    memset(reached, 0, n ? n : 1);
    *napps = 0;
    if (coco_arena_create(NULL, &ar) != COCO_OK) { fprintf(stderr, TOOL ": out of memory\n"); exit(1); }
    for (i = 0; i < n; i++) {
        keyinfo ki;
        coco_value val;
        const vlive* r = &l[i];
        coco_arena_reset(ar);
        if (key_parse(r->k, &ki) != 0) {
            vrecprob(v, r, 1, "not a key of the engine (another user of this store?)");
            continue;
        }
        if (!prev_app || prev_len != ki.app_len || memcmp(prev_app, ki.app, ki.app_len) != 0) {
            (*napps)++;
            prev_app = ki.app;
            prev_len = ki.app_len;
        }
        if (coco_value_decode(ar, r->v.ptr, r->v.len, &val) != COCO_OK) {
            vrecprob(v, r, 0, "the value does not decode: %s", coco_arena_errmsg(ar));
            continue;
        }
        switch (ki.tag) {
        case 'c': {
            const coco_value *p, *f, *t, *c, *x;
            const char* why;
            coco_fp pf;
            if (!ki.fp) { vrecprob(v, r, 0, "a component key without a fingerprint"); break; }
            if (val.kind != COCO_MAP) { vrecprob(v, r, 0, "a component record is not a map"); break; }
            p = coco__field(&val, "p");
            f = coco__field(&val, "f");
            if (!p || p->kind != COCO_LIST) vrecprob(v, r, 0, "no path (p)");
            else if (coco_value_fp(ar, p, &pf) != COCO_OK || memcmp(pf.bytes, ki.fp, 16) != 0)
                vrecprob(v, r, 0, "its path does not have the fingerprint of its key");
            if (!f || f->kind != COCO_STR) vrecprob(v, r, 0, "no function name (f)");
            t = coco__field(&val, "t");
            if (t && t->kind != COCO_LIST) vrecprob(v, r, 0, "target states (t) are not a list");
            for (j = 0; j < coco__list_len(t); j++)
                if ((why = tstate_problem(coco__list_at(t, j))) != NULL) {
                    vrecprob(v, r, 0, "target state %zu: %s", j + 1, why);
                    break;
                }
            x = coco__field(&val, "x");
            if (x && x->kind != COCO_LIST) vrecprob(v, r, 0, "call memos (x) are not a list");
            for (j = 0; j < coco__list_len(x); j++)
                if ((why = memo_entry_problem(coco__list_at(x, j))) != NULL) {
                    vrecprob(v, r, 0, "call memo %zu: %s", j + 1, why);
                    break;
                }
            if (coco__field(&val, "k")) {
                if (!is_fp_val(coco__field(&val, "k")))
                    vrecprob(v, r, 0, "its memo key (k) is not a fingerprint");
                if ((why = deps_problem(coco__field(&val, "d"))) != NULL)
                    vrecprob(v, r, 0, "memo dependencies (d): %s", why);
                if (!coco__field(&val, "s") || coco__field(&val, "s")->kind != COCO_LIST)
                    vrecprob(v, r, 0, "memo object states (s) are not a list");
            }
            c = coco__field(&val, "c");
            if (c && c->kind != COCO_LIST) vrecprob(v, r, 0, "children (c) are not a list");
            for (j = 0; j < coco__list_len(c); j++) {
                const coco_value* cf = coco__list_at(c, j);
                unsigned char* ck;
                const vlive* hit;
                if (!is_fp_val(cf)) { vrecprob(v, r, 0, "child %zu is not a fingerprint", j + 1); continue; }
                ck = (unsigned char*)coco_arena_alloc(ar, r->k.len);
                if (!ck) { fprintf(stderr, TOOL ": out of memory\n"); exit(1); }
                memcpy(ck, r->k.ptr, r->k.len - 16);
                memcpy(ck + r->k.len - 16, cf->u.s.ptr, 16);
                hit = vlive_find(l, n, ck, r->k.len);
                if (hit) reached[hit - l] = 1;
                else {
                    char hx[33];
                    vrecprob(v, r, 1, "its child %s has no record (left by a child that failed "
                             "on its first run; otherwise a lost record)",
                             fp_str((const unsigned char*)cf->u.s.ptr, hx));
                }
            }
            break;
        }
        case 'z': {
            coco_fp tk;
            char* nm;
            if (!ki.fp || coco__list_len(&val) != 3 || val.u.list.items[0].kind != COCO_STR ||
                val.u.list.items[2].kind != COCO_LIST) {
                vrecprob(v, r, 0, "a tombstone is not [target, key, tracking records]");
                break;
            }
            nm = cstr_of(ar, &val.u.list.items[0]);
            if (coco__tk_fp(ar, nm, &val.u.list.items[1], &tk) != COCO_OK ||
                memcmp(tk.bytes, ki.fp, 16) != 0)
                vrecprob(v, r, 0, "the tombstone's target and key do not have the fingerprint of "
                         "its key");
            for (j = 0; j < coco__list_len(&val.u.list.items[2]); j++)
                if (val.u.list.items[2].u.list.items[j].kind != COCO_BYTES) {
                    vrecprob(v, r, 0, "a tracking record of the tombstone is not bytes");
                    break;
                }
            break;
        }
        case 'g':
            if (!ki.fp || val.kind != COCO_INT || val.u.i < 0)
                vrecprob(v, r, 0, "a container generation is not a number");
            break;
        case 'n':
            if (ki.rest != 0 || val.kind != COCO_INT || val.u.i < 1)
                vrecprob(v, r, 0, "the next stable id is not a positive number");
            break;
        case 'o':
            if (!ki.fp || val.kind != COCO_BYTES || val.u.s.len == 0 || val.u.s.len % 32)
                vrecprob(v, r, 0, "a link journal entry is not (component, parent) fingerprint "
                         "pairs");
            break;
        case 'm':
            if (!ki.fp || val.kind != COCO_LIST)
                vrecprob(v, r, 0, "a group memo is not a list of entries");
            break;
        case 'l':
        case 'y':
            if (ki.rest != 0 || val.kind != COCO_INT || (val.u.i != 0 && val.u.i != 1))
                vrecprob(v, r, 0, "the %s state is not 0 or 1",
                         ki.tag == 'l' ? "link journal" : "tombstone");
            break;
        default:
            vrecprob(v, r, 0, "unknown record kind '%c'", ki.tag);
            break;
        }
    }
    /* components no parent lists (the root excepted) */
    for (i = 0; i < n; i++) {
        keyinfo ki;
        if (key_parse(l[i].k, &ki) != 0 || ki.tag != 'c' || !ki.fp || reached[i]) continue;
        {
            coco_value root = coco_list(NULL, 0);
            coco_fp rf;
            if (coco_value_fp(ar, &root, &rf) == COCO_OK && memcmp(rf.bytes, ki.fp, 16) == 0)
                continue;
        }
        vrecprob(v, &l[i], 1, "no parent lists this component (left by an update that stopped "
                 "before its parent's commit: the next clean update removes it when a link "
                 "entry names it; otherwise it is never visited or cleaned up)");
    }
    coco_arena_destroy(ar);
    free(reached);
}

static int cmd_verify(void) {
    vstate v;
    vlive* l;
    size_t n = 0, i, napps = 0;
    char err[600];
    int rc;
    memset(&v, 0, sizeof v);
    v.path = g_db_path;
    if (load_file(v.path, &v.buf, &v.len)) return 1;
    if (coco_arena_create(NULL, &v.ar) != COCO_OK || coco__map_init(&v.idx, &tool_alloc, 1024)) {
        fprintf(stderr, TOOL ": out of memory\n");
        return 1;
    }
    if (coco__header_check(v.buf, v.len, v.path, err, sizeof err) != COCO_OK) {
        printf("%s: %s\n", v.path, err);
        printf("%s: 1 problem\n", v.path);
        free(v.buf);
        coco__map_free(&v.idx);
        coco_arena_destroy(v.ar);
        return 1;
    }
    verify_snapshot_open(&v);
    verify_log(&v);
    /* the live records, in key order */
    l = (vlive*)xmalloc((v.idx.count ? v.idx.count : 1) * sizeof *l);
    for (i = 0; i <= v.idx.mask; i++) {
        coco__rec r;
        uint64_t off;
        if (!v.idx.slots[i].val) continue;
        off = v.idx.slots[i].val - 1;
        if (coco__rec_parse(v.buf + off, v.buf + v.len, &r) != 0) continue;
        l[n].k.ptr = r.key; l[n].k.len = r.klen;
        l[n].v.ptr = r.val; l[n].v.len = r.vlen;
        l[n].off = off;
        n++;
    }
    qsort(l, n, sizeof *l, vlive_cmp);
    verify_names(&v, l, n);
    for (i = 0; i < v.nprobs; i++) {
        sbuf s;
        sb_init(&s);
        if (v.probs[i].key) {
            sb_str(&s, "; the record: ");
            describe_key(&v, &s, v.probs[i].key, v.probs[i].klen);
        }
        printf("%s: %s%s\n", v.path, v.probs[i].msg, sb_cstr(&s));
        sb_free(&s);
    }
    verify_refs(&v, l, n, &napps);
    if (v.problems) {
        printf("%s: %zu problem%s, %zu warning%s\n", v.path, v.problems,
               v.problems == 1 ? "" : "s", v.warnings, v.warnings == 1 ? "" : "s");
        rc = 1;
    } else {
        printf("%s: ok: %llu commits, %llu records, %zu live keys in %zu app%s; %s%s%s\n",
               v.path, (unsigned long long)v.groups, (unsigned long long)v.records, n, napps,
               napps == 1 ? "" : "s", v.snap_note, v.warnings ? "; warnings: " : "",
               v.warnings ? (v.warnings == 1 ? "1" : "several") : "");
        rc = 0;
    }
    free(l);
    free(v.probs);
    free(v.names);
    free(v.buf);
    free(v.snap);
    coco__map_free(&v.idx);
    coco_arena_destroy(v.ar);
    return rc;
}

/* ==============================================================================================
   compact
   ============================================================================================== */
static int cmd_compact(void) {
    coco_store_desc sd;
    coco_store* st;
    coco_store_stats a, b;
    coco_result rc;
    struct stat fst;
    if (stat(g_db_path, &fst) != 0) {
        fprintf(stderr, TOOL ": state store '%s': cannot open: %s\n", g_db_path, strerror(errno));
        return 1;
    }
    memset(&sd, 0, sizeof sd);
    sd.path = g_db_path;
    if ((rc = coco_store_open(&sd, &st)) != COCO_OK) {
        fprintf(stderr, TOOL ": %s\n", coco_store_open_errmsg()[0] ? coco_store_open_errmsg()
                                                                   : coco_result_str(rc));
        return 1;
    }
    coco_store_stats_get(st, &a);
    if ((rc = coco_store_compact(st)) != COCO_OK) {
        fprintf(stderr, TOOL ": state store '%s': compaction failed: %s\n", g_db_path,
                coco_store_errmsg(st)[0] ? coco_store_errmsg(st) : coco_result_str(rc));
        coco_store_close(st);
        return 1;
    }
    coco_store_stats_get(st, &b);
    printf("compacted %s: %llu -> %llu bytes, %llu keys\n", g_db_path,
           (unsigned long long)a.file_bytes, (unsigned long long)b.file_bytes,
           (unsigned long long)b.keys);
    coco_store_close(st);
    return 0;
}

/* ==============================================================================================
   drop
   The targets of an app are found by the names in its records.  The built-in connectors keep
   where they write outside the state db (a localfs target's root directory, a SQLite target's
   database file), so those come from the command line; the kind of each target is read from
   its tracking records (a file: content fingerprint + size; a directory: "dir"; a table: its
   schema).
   ============================================================================================== */
typedef struct locarg { const char* name; const char* loc; } locarg;

enum { TK_UNKNOWN = 0, TK_LOCALFS = 1, TK_SQLITE = 2 };

typedef struct troot {
    char*       name;
    int         kind;
    size_t      states;
    const char* loc;
} troot;

static troot* troot_get(troot** ts, size_t* n, const char* name, size_t len) {
    size_t i;
    len = target_root_len(name, len);
    for (i = 0; i < *n; i++)
        if (strlen((*ts)[i].name) == len && memcmp((*ts)[i].name, name, len) == 0)
            return &(*ts)[i];
    *ts = (troot*)xrealloc(*ts, (*n + 1) * sizeof **ts);
    memset(&(*ts)[*n], 0, sizeof **ts);
    (*ts)[*n].name = (char*)xmalloc(len + 1);   /* outlives the db's arena (closed before the drop) */
    memcpy((*ts)[*n].name, name, len);
    (*ts)[*n].name[len] = 0;
    return &(*ts)[(*n)++];
}

static void troots_free(troot* ts, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) free(ts[i].name);
    free(ts);
}

/* What a state declared directly on a root target says about its connector. */
static int tracking_kind(coco_arena* ar, const coco_value* key, const coco_value* tr) {
    coco_value v;
    if (tr->kind != COCO_BYTES) return TK_UNKNOWN;
    if (tr->u.s.len == 24 && key->kind == COCO_STR) return TK_LOCALFS;
    if (tr->u.s.len == 3 && memcmp(tr->u.s.ptr, "dir", 3) == 0) return TK_LOCALFS;
    if (key->kind == COCO_STR && coco_value_decode(ar, tr->u.s.ptr, tr->u.s.len, &v) == COCO_OK &&
        v.kind == COCO_MAP)
        return TK_SQLITE;
    return TK_UNKNOWN;
}

static void note_state(troot** ts, size_t* n, coco_arena* ar, const coco_value* name,
                       const coco_value* key, const coco_value* tr) {
    troot* t;
    if (name->kind != COCO_STR) return;
    t = troot_get(ts, n, name->u.s.ptr, name->u.s.len);
    t->states++;
    if (tr && !memchr(name->u.s.ptr, '/', name->u.s.len) && t->kind == TK_UNKNOWN)
        t->kind = tracking_kind(ar, key, tr);
}

static const char* kind_name(int k) {
    return k == TK_LOCALFS ? "localfs" : k == TK_SQLITE ? "sqlite" : "unknown";
}

static coco_result drop_main_body(coco_ctx* ctx, const coco_value* args, size_t nargs,
                                  coco_value* ret) {
    (void)args; (void)nargs; (void)ret;
    return coco_ctx_fail(ctx, COCO_ERR_UNSUPPORTED, "the inspector only drops apps");
}
static const coco_fn drop_main_fn = { "cocoindex.drop", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL,
                                      drop_main_body };

static int count_left(void* user, coco_bytes k, coco_bytes v) {
    (void)k; (void)v;
    (*(size_t*)user)++;
    return 0;
}

static int cmd_drop(const char* app, int yes, const locarg* roots, size_t nroots,
                    const locarg* sqls, size_t nsqls) {
    db d;
    appview av;
    troot* ts = NULL;
    size_t nts = 0, i, j, total = 0;
    coco_env* env = NULL;
    coco_env_desc ed;
    coco_app* ap = NULL;
    coco_app_desc ad;
    coco_result rc;
    int code = 0;
#ifdef COCO_TOOL_SQLITE
    coco_target* sql_targets[16];
    size_t nsql_targets = 0;
#endif
    if (db_open(&d)) return 1;
    if (app_load(&d, app, &av)) { db_close(&d); return 1; }
    for (i = 0; i < av.ncomps; i++) {
        const coco_value* t;
        if (!av.comps[i].ok) continue;
        t = coco__field(&av.comps[i].v, "t");
        for (j = 0; j < coco__list_len(t); j++) {
            const coco_value* e = coco__list_at(t, j);
            if (coco__tstate_ok(e))
                note_state(&ts, &nts, d.ar, &e->u.list.items[0], &e->u.list.items[1],
                           &e->u.list.items[2]);
        }
    }
    for (i = 0; i < d.n; i++) {
        keyinfo ki;
        coco_value tv;
        if (!key_is_app(d.recs[i].k, app)) continue;
        key_parse(d.recs[i].k, &ki);
        if (ki.tag != 'z') continue;
        if (coco_value_decode(d.ar, d.recs[i].v.ptr, d.recs[i].v.len, &tv) == COCO_OK &&
            coco__list_len(&tv) == 3) {
            const coco_value* trs = &tv.u.list.items[2];
            note_state(&ts, &nts, d.ar, &tv.u.list.items[0], &tv.u.list.items[1],
                       coco__list_len(trs) ? coco__list_at(trs, 0) : NULL);
        }
    }
    /* where each target lives */
    for (i = 0; i < nroots + nsqls; i++) {
        const locarg* la = i < nroots ? &roots[i] : &sqls[i - nroots];
        int want = i < nroots ? TK_LOCALFS : TK_SQLITE;
        troot* hit = NULL;
        size_t cands = 0;
        for (j = 0; j < nts; j++) {
            if (la->name ? strcmp(ts[j].name, la->name) == 0 : ts[j].kind == want) {
                hit = &ts[j];
                cands++;
            }
        }
        if (!hit || cands > 1) {
            if (la->name)
                fprintf(stderr, TOOL ": drop: app '%s' in '%s' has no target named '%s'\n", app,
                        d.path, la->name);
            else
                fprintf(stderr, TOOL ": drop: app '%s' in '%s' has %s %s target; name it: %s "
                        "NAME=%s\n", app, d.path, cands ? "more than one" : "no",
                        kind_name(want), i < nroots ? "--root" : "--sqlite",
                        i < nroots ? "DIR" : "PATH");
            troots_free(ts, nts);
            db_close(&d);
            return 2;
        }
        if (hit->kind != TK_UNKNOWN && hit->kind != want) {
            fprintf(stderr, TOOL ": drop: target '%s' of app '%s' is a %s target, not %s\n",
                    hit->name, app, kind_name(hit->kind), kind_name(want));
            troots_free(ts, nts);
            db_close(&d);
            return 2;
        }
        hit->kind = want;
        hit->loc = la->loc;
    }
    for (j = 0; j < nts; j++) {
        struct stat lst;
        total += ts[j].states;
        if (ts[j].kind == TK_UNKNOWN) {
            fprintf(stderr, TOOL ": drop: target '%s' of app '%s' (in '%s') is not one of the "
                    "built-in connectors this tool knows (localfs, sqlite); drop the app with its "
                    "own binary ('%s drop --yes'); nothing was changed\n", ts[j].name, app,
                    d.path, app);
            code = 1;
        } else if (!ts[j].loc) {
            fprintf(stderr, TOOL ": drop: the state db '%s' does not record where %s target '%s' "
                    "of app '%s' writes; give %s %s=%s; nothing was changed\n", d.path,
                    kind_name(ts[j].kind), ts[j].name, app,
                    ts[j].kind == TK_LOCALFS ? "--root" : "--sqlite", ts[j].name,
                    ts[j].kind == TK_LOCALFS ? "DIR (the directory it writes files under)"
                                             : "PATH (the SQLite database file)");
            code = 1;
        } else if (stat(ts[j].loc, &lst) != 0 ||
                   (ts[j].kind == TK_LOCALFS ? !S_ISDIR(lst.st_mode) : !S_ISREG(lst.st_mode))) {
            fprintf(stderr, TOOL ": drop: %s target '%s': '%s' is not an existing %s; nothing "
                    "was changed\n", kind_name(ts[j].kind), ts[j].name, ts[j].loc,
                    ts[j].kind == TK_LOCALFS ? "directory" : "database file");
            code = 1;
        }
#ifndef COCO_TOOL_SQLITE
        else if (ts[j].kind == TK_SQLITE) {
            fprintf(stderr, TOOL ": drop: target '%s' of app '%s' is a SQLite table target and "
                    "this " TOOL " was built without SQLite (build it with -DCOCO_TOOL_SQLITE "
                    "-lsqlite3); nothing was changed\n", ts[j].name, app);
            code = 1;
        }
#endif
    }
    db_close(&d);
    if (code) { troots_free(ts, nts); return code; }
    if (!yes) {
        char line[16];
        if (!isatty(0)) {
            fprintf(stderr, TOOL ": drop deletes every target state of app '%s' (%zu) and its "
                    "state in '%s'; add --yes\n", app, total, g_db_path);
            troots_free(ts, nts);
            return 2;
        }
        fprintf(stderr, "delete every target state of app '%s' (%zu) and its state in '%s'? "
                "[y/N] ", app, total, g_db_path);
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            fprintf(stderr, "nothing dropped\n");
            troots_free(ts, nts);
            return 1;
        }
    }
    memset(&ed, 0, sizeof ed);
    ed.db_path = g_db_path;
    ed.threads = 1;
    if ((rc = coco_env_open(&ed, &env)) != COCO_OK) {
        fprintf(stderr, TOOL ": %s\n", coco_store_open_errmsg()[0] ? coco_store_open_errmsg()
                                                                   : coco_result_str(rc));
        troots_free(ts, nts);
        return 1;
    }
    for (j = 0; j < nts && code == 0; j++) {
        coco_target* t = NULL;
        if (ts[j].kind == TK_LOCALFS) {
            coco_localfs_target_desc ld;
            memset(&ld, 0, sizeof ld);
            ld.name = ts[j].name;
            ld.root = ts[j].loc;
            rc = coco_localfs_target_create(env, &ld, &t);
        } else {
#ifdef COCO_TOOL_SQLITE
            coco_sqlite_desc sq;
            memset(&sq, 0, sizeof sq);
            sq.name = ts[j].name;
            sq.db_path = ts[j].loc;
            rc = nsql_targets < 16 ? coco_sqlite_target_create(env, &sq, &t) : COCO_ERR_LIMIT;
            if (rc == COCO_OK) sql_targets[nsql_targets++] = t;
#else
            rc = COCO_ERR_UNSUPPORTED;
#endif
        }
        if (rc != COCO_OK) {
            fprintf(stderr, TOOL ": drop: cannot set up %s target '%s' at '%s': %s\n",
                    kind_name(ts[j].kind), ts[j].name, ts[j].loc, coco_env_errmsg(env)[0]
                    ? coco_env_errmsg(env) : coco_result_str(rc));
            code = 1;
        }
    }
    if (code == 0) {
        memset(&ad, 0, sizeof ad);
        ad.name = app;
        ad.main = &drop_main_fn;
        if ((rc = coco_app_create(env, &ad, &ap)) != COCO_OK) {
            fprintf(stderr, TOOL ": drop: %s\n", coco_env_errmsg(env));
            code = 1;
        }
    }
    if (code == 0) {
        if ((rc = coco_app_drop(ap)) != COCO_OK) {
            fprintf(stderr, TOOL ": drop of app '%s' in '%s' failed: %s\n", app, g_db_path,
                    coco_app_errmsg(ap)[0] ? coco_app_errmsg(ap) : coco_result_str(rc));
            code = 1;
        } else {
            coco_scan_desc sd;
            size_t left = 0;
            unsigned char* prefix = (unsigned char*)xmalloc(strlen(app) + 2);
            prefix[0] = 'A';
            memcpy(prefix + 1, app, strlen(app) + 1);
            memset(&sd, 0, sizeof sd);
            sd.prefix.ptr = prefix;
            sd.prefix.len = strlen(app) + 2;
            coco_store_scan(coco_env_store(env), &sd, count_left, &left);
            free(prefix);
            printf("dropped app '%s' from %s: %zu target state%s", app, g_db_path, total,
                   total == 1 ? "" : "s");
            for (j = 0; j < nts; j++)
                printf("%s%s '%s' at %s", j ? ", " : " (", kind_name(ts[j].kind), ts[j].name,
                       ts[j].loc);
            printf("%s\n", nts ? ")" : "");
            if (left)
                printf("%zu record%s of the app remain (container generations)\n", left,
                       left == 1 ? "" : "s");
        }
    }
    coco_app_destroy(ap);
#ifdef COCO_TOOL_SQLITE
    for (j = 0; j < nsql_targets; j++) coco_sqlite_target_close(sql_targets[j]);
#endif
    coco_env_close(env);
    troots_free(ts, nts);
    return code;
}

/* ==============================================================================================
   Command line
   ============================================================================================== */
typedef struct verbdef {
    const char* name;
    const char* synopsis;
    const char* help;
} verbdef;

static const verbdef verbs[] = {
    { "ls", "ls",
      "The apps in the db, each with its numbers of components, target states, memo entries\n"
      "(memoized components and call memos), tombstones (target states waiting to be deleted),\n"
      "records and bytes of keys and values.\n" },
    { "tree", "tree APP [PATH]",
      "The component tree of APP: each component's last path key, its function (\"(memo)\" when\n"
      "memoized), the memoized calls stored with it (\"call FN (memo KEY)\") and its target\n"
      "states (\"-> TARGET KEY\").  PATH limits the tree to one subtree; write it as the engine\n"
      "renders paths (/\"files\"/Symbol(transform)/\"a.md\") or loosely (files/transform/a.md).\n" },
    { "stats", "stats APP",
      "Per function of APP: components, memoized ones, call memos, target states, pending\n"
      "(interrupted) target states and record bytes, with totals.  Run counters (bodies run, memo\n"
      "hits, errors) are not kept in the store.\n" },
    { "why", "why APP PATH [--dir [KEY=]DIR]...",
      "Why the component at PATH would run again at the next update, or be skipped: its memo key,\n"
      "the logic and context fingerprints its memo depends on, container generations (checked),\n"
      "the stored object states (a file's size, mtime and content fingerprint) and, with --dir,\n"
      "the file on disk compared with them.  PATH may also be just the last key (a file's\n"
      "relative path) when that names one component.\n"
      "  --dir DIR        the directory the app walked (its --src); KEY=DIR when the walk used a\n"
      "                   context key (the memo key then confirms the file); repeatable\n" },
    { "verify", "verify",
      "Checks the whole log without trusting it: every commit header and record checksum, the\n"
      "index snapshot (<db>.idx) against the log where the store would use it, and what the\n"
      "engine's records refer to (paths match their keys, children exist, target states,\n"
      "tombstones and memo entries decode).  Prints each problem naming the record and its\n"
      "offset; exit 1 on any problem, else 0 and a one-line summary.\n" },
    { "compact", "compact",
      "Rewrites the log with only the live records (the store's own compaction) and writes a\n"
      "fresh index snapshot.  Takes the writer's lock: fails while an app updates the db.\n" },
    { "dump", "dump [APP] [--log] [--raw]",
      "Every live record (of APP only, when given) as one JSON object per line: app, kind\n"
      "(component, tombstone, generation, next_id), the key's fingerprint and hex, the component\n"
      "path and the value decoded.  Kinds JSON lacks are tagged: {\"$bytes\": hex},\n"
      "{\"$symbol\": name}, {\"$uuid\": text}.\n"
      "  --log            every record in the log instead, superseded ones and deletes included,\n"
      "                   with its offset and commit\n"
      "  --raw            add the value's bytes (value_b64) to each line\n" },
    { "drop", "drop APP [--yes] [--root [NAME=]DIR]... [--sqlite [NAME=]PATH]...",
      "Deletes every target state APP created and then its state, as the app's own 'drop' does,\n"
      "without the app: the built-in connectors are registered under the names its records use.\n"
      "Where they write is not in the state db, so give it:\n"
      "  --root [NAME=]DIR     the directory of a localfs target (the app's output directory)\n"
      "  --sqlite [NAME=]PATH  the database file of a SQLite target"
#ifndef COCO_TOOL_SQLITE
      " (not in this build)"
#endif
      "\n"
      "  --yes                 do not ask (needed when stdin is not a terminal)\n"
      "Files the app did not write (or that changed since) are left alone.\n" },
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE* f) {
    size_t i;
    fprintf(f, TOOL " - inspect a cocoindex state db (v%s)\n\n", coco_version());
    fprintf(f, "usage: " TOOL " [--db PATH] <verb> [args]\n\nverbs:\n");
    for (i = 0; i < NVERBS; i++) fprintf(f, "  %s\n", verbs[i].synopsis);
    fprintf(f, "\noptions:\n"
               "  --db PATH    the state db (default: $COCOINDEX_DB, else ./cocoindex.db)\n"
               "  --help       this text; '" TOOL " VERB --help' for a verb\n\n"
               "exit codes: 0 ok, 1 a problem found or an operation failed, 2 bad usage\n");
}

static int verb_usage(const verbdef* v, FILE* f) {
    fprintf(f, "usage: " TOOL " [--db PATH] %s\n\n%s", v->synopsis, v->help);
    return 0;
}

static int bad_usage(const verbdef* v, const char* msg, const char* arg) {
    fprintf(stderr, TOOL " %s: %s%s%s%s (usage: " TOOL " %s)\n", v->name, msg, arg ? " '" : "",
            arg ? arg : "", arg ? "'" : "", v->synopsis);
    return 2;
}

static locarg parse_loc(const char* s) {
    locarg la;
    const char* eq = strchr(s, '=');
    la.name = NULL;
    la.loc = s;
    if (eq && eq != s && !memchr(s, '/', (size_t)(eq - s))) {
        char* nm = (char*)xmalloc((size_t)(eq - s) + 1);
        memcpy(nm, s, (size_t)(eq - s));
        nm[eq - s] = 0;
        la.name = nm;
        la.loc = eq + 1;
    }
    return la;
}

typedef struct cli {
    const char** rest;
    dirarg*      dirs;
    locarg*      roots;
    locarg*      sqls;
    size_t       ndirs, nroots, nsqls;
} cli;

static int tool_main(int argc, char** argv, cli* c) {
    const char** rest = c->rest;
    const char* pos[4];
    const verbdef* v = NULL;
    int nrest = 0, npos = 0, help = 0, i, rc;
    int yes = 0, log = 0, raw = 0;
    dirarg* dirs = c->dirs;
    locarg* roots = c->roots;
    locarg* sqls = c->sqls;
    size_t k;
    const char* verb = NULL;
    {
        coco_allocator none;
        memset(&none, 0, sizeof none);
        tool_alloc = coco__allocator_resolve(&none);
    }
    for (i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (strcmp(a, "--db") == 0) {
            if (++i >= argc) {
                fprintf(stderr, TOOL ": --db needs a PATH\n");
                return 2;
            }
            g_db_path = argv[i];
        } else if (strncmp(a, "--db=", 5) == 0) {
            g_db_path = a + 5;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = 1;
        } else if (!verb && a[0] != '-') {
            verb = a;
        } else {
            rest[nrest++] = a;
        }
    }
    if (verb) {
        for (k = 0; k < NVERBS; k++)
            if (strcmp(verbs[k].name, verb) == 0) v = &verbs[k];
        if (!v) {
            fprintf(stderr, TOOL ": unknown verb '%s' (ls, tree, stats, why, verify, compact, "
                    "dump, drop; see --help)\n", verb);
            return 2;
        }
    }
    if (help) {
        if (v) return verb_usage(v, stdout);
        usage(stdout);
        return 0;
    }
    if (!v) {
        usage(stderr);
        return 2;
    }
    if (!g_db_path) g_db_path = getenv("COCOINDEX_DB");
    if (!g_db_path || !*g_db_path) g_db_path = "./cocoindex.db";
    for (i = 0; i < nrest; i++) {
        const char* a = rest[i];
        int takes = strcmp(v->name, "why") == 0 ? strcmp(a, "--dir") == 0
                  : strcmp(v->name, "drop") == 0 ? (strcmp(a, "--root") == 0 ||
                                                    strcmp(a, "--sqlite") == 0)
                  : 0;
        if (takes) {
            if (i + 1 >= nrest) return bad_usage(v, "missing the value of", a);
            if (strcmp(a, "--dir") == 0) {
                locarg la = parse_loc(rest[++i]);
                dirs[c->ndirs].key = la.name;
                dirs[c->ndirs++].dir = la.loc;
            } else if (strcmp(a, "--root") == 0) {
                roots[c->nroots++] = parse_loc(rest[++i]);
            } else {
                sqls[c->nsqls++] = parse_loc(rest[++i]);
            }
        } else if (strcmp(v->name, "drop") == 0 && (strcmp(a, "--yes") == 0 ||
                                                    strcmp(a, "-y") == 0)) {
            yes = 1;
        } else if (strcmp(v->name, "dump") == 0 && strcmp(a, "--log") == 0) {
            log = 1;
        } else if (strcmp(v->name, "dump") == 0 && strcmp(a, "--raw") == 0) {
            raw = 1;
        } else if (a[0] == '-' && a[1]) {
            return bad_usage(v, "unknown option", a);
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            return bad_usage(v, "unexpected argument", a);
        }
    }
    if (strcmp(v->name, "ls") == 0 || strcmp(v->name, "verify") == 0 ||
        strcmp(v->name, "compact") == 0) {
        if (npos) return bad_usage(v, "unexpected argument", pos[0]);
        rc = v->name[0] == 'l' ? cmd_ls() : v->name[0] == 'v' ? cmd_verify() : cmd_compact();
    } else if (strcmp(v->name, "tree") == 0) {
        if (npos < 1) return bad_usage(v, "missing APP", NULL);
        if (npos > 2) return bad_usage(v, "unexpected argument", pos[2]);
        rc = cmd_tree(pos[0], npos > 1 ? pos[1] : NULL);
    } else if (strcmp(v->name, "stats") == 0) {
        if (npos != 1) return npos ? bad_usage(v, "unexpected argument", pos[1])
                                   : bad_usage(v, "missing APP", NULL);
        rc = cmd_stats(pos[0]);
    } else if (strcmp(v->name, "why") == 0) {
        if (npos != 2) return npos > 2 ? bad_usage(v, "unexpected argument", pos[2])
                                       : bad_usage(v, "missing APP or PATH", NULL);
        rc = cmd_why(pos[0], pos[1], dirs, c->ndirs);
    } else if (strcmp(v->name, "dump") == 0) {
        if (npos > 1) return bad_usage(v, "unexpected argument", pos[1]);
        rc = cmd_dump(npos ? pos[0] : NULL, log, raw);
    } else {
        if (npos != 1) return npos ? bad_usage(v, "unexpected argument", pos[1])
                                   : bad_usage(v, "missing APP", NULL);
        rc = cmd_drop(pos[0], yes, roots, c->nroots, sqls, c->nsqls);
    }
    return rc;
}

int main(int argc, char** argv) {
    cli c;
    size_t k;
    int rc;
    memset(&c, 0, sizeof c);
    c.rest = (const char**)xmalloc((size_t)argc * sizeof *c.rest);
    c.dirs = (dirarg*)xmalloc((size_t)argc * sizeof *c.dirs);
    c.roots = (locarg*)xmalloc((size_t)argc * sizeof *c.roots);
    c.sqls = (locarg*)xmalloc((size_t)argc * sizeof *c.sqls);
    rc = tool_main(argc, argv, &c);
    for (k = 0; k < c.nroots; k++) free((void*)c.roots[k].name);
    for (k = 0; k < c.nsqls; k++) free((void*)c.sqls[k].name);
    for (k = 0; k < c.ndirs; k++) free((void*)c.dirs[k].key);
    free(c.rest);
    free(c.dirs);
    free(c.roots);
    free(c.sqls);
    return rc;
}
