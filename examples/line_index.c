/* line_index -- a target connector written from scratch (docs/connectors.md walks through it):
   every **.txt file under --src contributes one line "path<TAB>first line" to ONE index file
   (--out, default ./index.tsv), kept sorted.  The connector owns that file: states are lines,
   keyed by path.
       line_index update --src notes --out index.tsv     (also: drop, show, stats) */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"

static const char*  src_dir = "./notes";
static const char*  out_path = "./index.tsv";
static coco_target* lines;

/* ---- the connector ---------------------------------------------------------------------- */
/* Tracking record of a line: the line's value itself.  The engine keeps it, and hands back
   every record the index may hold for a key, so reconcile can decide without reading the
   file (reconcile must do no I/O). */
static coco_result li_reconcile(void* user, const coco_value* key, const coco_value* desired,
                                const coco_bytes* prev, size_t nprev, int prev_may_be_missing,
                                coco_arena* arena, coco_action* out) {
    size_t i;
    int same = !prev_may_be_missing && nprev > 0;
    (void)user; (void)key; (void)arena;
    if (!desired) {                                   /* no longer declared: delete it */
        out->kind = (nprev || prev_may_be_missing) ? COCO_ACTION_DELETE : COCO_ACTION_NONE;
        return COCO_OK;
    }
    if (desired->kind != COCO_STR) return COCO_ERR_INVALID_ARG;
    for (i = 0; i < nprev; i++)                      /* every possible old line must match */
        if (prev[i].len != desired->u.s.len || memcmp(prev[i].ptr, desired->u.s.ptr, prev[i].len))
            same = 0;
    out->kind = same ? COCO_ACTION_NONE : COCO_ACTION_UPSERT;
    out->tracking.ptr = desired->u.s.ptr;            /* lives as long as the desired value */
    out->tracking.len = desired->u.s.len;
    return COCO_OK;
}

/* The index in memory: sorted "key\tvalue" lines. */
typedef struct li_line { char* key; char* val; } li_line;
typedef struct li_index { li_line* v; size_t n, cap; } li_index;

static int li_cmp(const void* a, const void* b) {
    return strcmp(((const li_line*)a)->key, ((const li_line*)b)->key);
}
static li_line* li_find(li_index* ix, const char* key) {
    li_line probe;
    probe.key = (char*)key;
    return ix->n ? (li_line*)bsearch(&probe, ix->v, ix->n, sizeof *ix->v, li_cmp) : NULL;
}
static void li_free(li_index* ix) {
    size_t i;
    for (i = 0; i < ix->n; i++) { free(ix->v[i].key); free(ix->v[i].val); }
    free(ix->v);
}
static char* li_dup(const char* s, size_t n) {
    char* p = (char*)malloc(n + 1);
    if (p) { memcpy(p, s, n); p[n] = 0; }
    return p;
}
static int li_put(li_index* ix, char* key, char* val) {
    li_line* l = li_find(ix, key);
    if (l) { free(l->val); free(key); l->val = val; return 0; }
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        li_line* v = (li_line*)realloc(ix->v, cap * sizeof *v);
        if (!v) return -1;
        ix->v = v;
        ix->cap = cap;
    }
    ix->v[ix->n].key = key;
    ix->v[ix->n].val = val;
    ix->n++;
    qsort(ix->v, ix->n, sizeof *ix->v, li_cmp);
    return 0;
}

/* A batch: read the file, change the lines, write a temp file, fsync, rename.  Idempotent:
   after a crash the same batch may come again, and upserting or deleting twice is harmless. */
static coco_result li_apply(void* user, const coco_action* acts, size_t n, char* err, size_t cap) {
    const char* path = (const char*)user;
    li_index ix = { NULL, 0, 0 };
    char tmp[4096], line[8192];
    FILE* f;
    size_t i;
    if ((f = fopen(path, "r")) != NULL) {
        while (fgets(line, sizeof line, f)) {
            char* tab = strchr(line, '\t');
            size_t len = strcspn(line, "\n");
            if (!tab) continue;
            li_put(&ix, li_dup(line, (size_t)(tab - line)), li_dup(tab + 1, len - (size_t)(tab - line) - 1));
        }
        fclose(f);
    }
    for (i = 0; i < n; i++) {
        const coco_action* a = &acts[i];
        const char* key = a->key.u.s.ptr;
        if (a->kind == COCO_ACTION_UPSERT) {
            if (li_put(&ix, li_dup(key, a->key.u.s.len),
                       li_dup(a->value.u.s.ptr, a->value.u.s.len))) {
                snprintf(err, cap, "%s: out of memory", path);
                li_free(&ix);
                return COCO_ERR_NOMEM;
            }
        } else if (a->kind == COCO_ACTION_DELETE) {
            char* k = li_dup(key, a->key.u.s.len);    /* values are not NUL-terminated */
            li_line* l = k ? li_find(&ix, k) : NULL;
            free(k);
            if (l) {                                  /* delete if it exists */
                free(l->key); free(l->val);
                *l = ix.v[--ix.n];
                qsort(ix.v, ix.n, sizeof *ix.v, li_cmp);
            }
        }
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w"))) {
        snprintf(err, cap, "%s: cannot write: %s", tmp, strerror(errno));
        li_free(&ix);
        return COCO_ERR_IO;
    }
    for (i = 0; i < ix.n; i++) fprintf(f, "%s\t%s\n", ix.v[i].key, ix.v[i].val);
    li_free(&ix);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, cap, "%s: cannot write: %s", path, strerror(errno));
        return COCO_ERR_IO;
    }
    return COCO_OK;
}

static const coco_target_vtable li_vt = { li_reconcile, li_apply };

/* ---- the app ----------------------------------------------------------------------------- */
static coco_result first_line(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    const coco_localfs_file* f = coco_localfs_file_of(&args[0]);
    coco_bytes text;
    size_t len;
    coco_result rc = coco_localfs_file_read_text(f, ctx, COCO_LOCALFS_TEXT_REPLACE, &text);
    (void)n; (void)ret;
    if (rc != COCO_OK) return rc;
    for (len = 0; len < text.len && ((const char*)text.ptr)[len] != '\n' &&
                  ((const char*)text.ptr)[len] != '\t'; len++) {}
    return coco_declare(ctx, lines, coco_str(coco_localfs_file_path(f)),
                        coco_strn((const char*)text.ptr, len));
}
static const coco_fn first_line_fn = { "first_line", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, first_line };

static coco_result app_main(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    static const char* const include[] = { "**/*.txt" };
    coco_localfs_walk_desc walk = { 0 };
    (void)args; (void)n; (void)ret;
    walk.context_key = "src";
    walk.recursive = 1;
    walk.include = include;
    walk.ninclude = 1;
    return coco_localfs_mount_walk(ctx, coco_str("notes"), &walk, &first_line_fn);
}
static const coco_fn app_fn = { "line_index", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, app_main };

static coco_result setup(void* user, coco_env* env) {
    (void)user;
    coco_env_provide(env, "src", (void*)src_dir, NULL, 0);
    /* the name "line_index" is persisted in tracking records: drop finds it without the app */
    return coco_target_register(env, "line_index", &li_vt, (void*)out_path, &lines);
}

int main(int argc, char** argv) {
    coco_cli_option options[2] = {
        { "--src", "DIR", "the notes (**/*.txt)", &src_dir },
        { "--out", "FILE", "the index file", &out_path },
    };
    coco_main_desc app = { 0 };
    app.name = "line_index";
    app.about = "one index line per note, kept up to date incrementally";
    app.main = &app_fn;
    app.options = options;
    app.noptions = 2;
    app.setup = setup;
    return coco_main(argc, argv, &app);
}
