/* tests/test_engine.c -- apps, components, memoization, context, target states, cleanup, ids.
   Scenario ids from SCENARIOS.md are cited per test.  "Counts" come from the in-memory test
   target below, which records inserts, updates and deletes per key. */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "coco_test.h"

#include <signal.h>
#include <sys/wait.h>

/* bodies run on worker threads: counters are bumped atomically */
#define BUMP(x) __atomic_fetch_add(&(x), 1, __ATOMIC_SEQ_CST)

/* ---- an in-memory target that counts what it is asked to do ----------------------------------- */
#define MT_ROWS 4096
typedef struct mem_target {
    int  inserts, updates, deletes, applies;
    int  fail;                      /* 1: every apply fails */
    int  n;
    int  max_nprev;                 /* largest prev list reconcile saw */
    char keys[MT_ROWS][96];
    char vals[MT_ROWS][256];
    char log[4096];                 /* "+key ~key -key " in apply order */
} mem_target;

static void render(const coco_value* v, char* out, size_t cap) {
    if (v->kind == COCO_STR) snprintf(out, cap, "%.*s", (int)v->u.s.len, v->u.s.ptr);
    else if (v->kind == COCO_INT) snprintf(out, cap, "%lld", (long long)v->u.i);
    else snprintf(out, cap, "<kind %d>", (int)v->kind);
}

static int mt_find(mem_target* t, const char* k) {
    int i;
    for (i = 0; i < t->n; i++) if (strcmp(t->keys[i], k) == 0) return i;
    return -1;
}

static const char* mt_get(mem_target* t, const char* k) {
    int i = mt_find(t, k);
    return i < 0 ? NULL : t->vals[i];
}

static coco__mutex g_tmutex;   /* the test thread reads the target while a live update writes */
static coco_result mt_apply_locked(void* user, const coco_action* acts, size_t n, char* err,
                                   size_t cap);
static coco_result mt_apply(void* user, const coco_action* acts, size_t n, char* err, size_t cap) {
    coco_result rc;
    coco__mutex_lock(&g_tmutex);
    rc = mt_apply_locked(user, acts, n, err, cap);
    coco__mutex_unlock(&g_tmutex);
    return rc;
}
static volatile unsigned g_prev_sink;
static coco_result mt_apply_locked(void* user, const coco_action* acts, size_t n, char* err,
                                   size_t cap) {
    mem_target* t = (mem_target*)user;
    size_t i, j, b;
    t->applies++;
    /* apply may look at the previous tracking records: they must still be valid here */
    for (i = 0; i < n; i++)
        for (j = 0; j < acts[i].nprev; j++)
            for (b = 0; b < acts[i].prev[j].len; b++)
                g_prev_sink += ((const unsigned char*)acts[i].prev[j].ptr)[b];
    if (t->fail) {
        snprintf(err, cap, "test target refuses (fail=%d)", t->fail);
        return COCO_ERR_CONNECTOR;
    }
    for (i = 0; i < n; i++) {
        char k[96], v[256];
        int at;
        render(&acts[i].key, k, sizeof k);
        at = mt_find(t, k);
        if (acts[i].kind == COCO_ACTION_UPSERT) {
            render(&acts[i].value, v, sizeof v);
            if (at < 0) {
                if (t->n == MT_ROWS) {
                    snprintf(err, cap, "test target full (%d rows)", MT_ROWS);
                    return COCO_ERR_LIMIT;
                }
                at = t->n++;
                snprintf(t->keys[at], sizeof t->keys[at], "%s", k);
                t->inserts++;
                strncat(t->log, "+", sizeof t->log - strlen(t->log) - 1);
            } else {
                t->updates++;
                strncat(t->log, "~", sizeof t->log - strlen(t->log) - 1);
            }
            snprintf(t->vals[at], sizeof t->vals[at], "%s", v);
        } else if (acts[i].kind == COCO_ACTION_DELETE) {
            if (at >= 0) {
                t->n--;
                memmove(t->keys[at], t->keys[t->n], sizeof t->keys[at]);
                memmove(t->vals[at], t->vals[t->n], sizeof t->vals[at]);
                t->deletes++;
                strncat(t->log, "-", sizeof t->log - strlen(t->log) - 1);
            } else continue;
        }
        strncat(t->log, k, sizeof t->log - strlen(t->log) - 1);
        strncat(t->log, " ", sizeof t->log - strlen(t->log) - 1);
    }
    return COCO_OK;
}

/* wraps the default reconcile logic to observe prev lists */
static coco_result mt_reconcile(void* user, const coco_value* key, const coco_value* desired,
                                const coco_bytes* prev, size_t nprev, int may_missing,
                                coco_arena* arena, coco_action* out) {
    mem_target* t = (mem_target*)user;
    coco_fp f;
    size_t i;
    int same;
    if ((int)nprev > t->max_nprev) t->max_nprev = (int)nprev;
    out->key = *key;
    out->value = desired ? *desired : coco_null();
    if (!desired) { out->kind = COCO_ACTION_DELETE; return COCO_OK; }
    if (coco_value_fp(arena, desired, &f) != COCO_OK) return COCO_ERR_INVALID_ARG;
    {
        unsigned char* p = (unsigned char*)coco_arena_alloc(arena, 16);
        memcpy(p, f.bytes, 16);
        out->tracking.ptr = p;
        out->tracking.len = 16;
    }
    same = nprev > 0 && !may_missing;
    for (i = 0; i < nprev; i++) same = same && prev[i].len == 16 && !memcmp(prev[i].ptr, f.bytes, 16);
    out->kind = same ? COCO_ACTION_NONE : COCO_ACTION_UPSERT;
    return COCO_OK;
}

static const coco_target_vtable mt_vt = { NULL, mt_apply };


static void mt_reset_counts(mem_target* t) {
    t->inserts = t->updates = t->deletes = t->applies = 0;
    t->log[0] = 0;
}
static int mt_writes(const mem_target* t) { return t->inserts + t->updates + t->deletes; }

/* ---- a tiny source: named documents ------------------------------------------------------------ */
#define MAX_DOCS 16
static struct { char name[32]; char text[128]; } g_docs[MAX_DOCS];
static int g_ndocs;
static void docs_set(const char* name, const char* text) {
    int i;
    for (i = 0; i < g_ndocs; i++)
        if (strcmp(g_docs[i].name, name) == 0) break;
    if (i == g_ndocs) g_ndocs++;
    snprintf(g_docs[i].name, sizeof g_docs[i].name, "%s", name);
    snprintf(g_docs[i].text, sizeof g_docs[i].text, "%s", text);
}
static void docs_del(const char* name) {
    int i;
    for (i = 0; i < g_ndocs; i++)
        if (strcmp(g_docs[i].name, name) == 0) { g_docs[i] = g_docs[--g_ndocs]; return; }
}

/* ---- the test world: one env + one app + targets --------------------------------------------- */
static char g_dir[256];
static int g_dbn;
static mem_target T;                 /* the main target */
static coco_target* g_tgt;
static int calls_main, calls_child, calls_inner, calls_outer;
static char g_last_child_path[256];

typedef struct world { coco_env* env; coco_app* app; char db[300]; } world;

static coco_result world_open(world* w, const coco_fn* main_fn, const char* app_name) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_result rc;
    memset(&ed, 0, sizeof ed);
    ed.db_path = w->db;
    ed.sync = COCO_SYNC_NONE;
    if ((rc = coco_env_open(&ed, &w->env)) != COCO_OK) return rc;
    if ((rc = coco_target_register(w->env, "mem", &mt_vt, &T, &g_tgt)) != COCO_OK) return rc;
    memset(&ad, 0, sizeof ad);
    ad.name = app_name;
    ad.main = main_fn;
    ad.arg = coco_null();
    return coco_app_create(w->env, &ad, &w->app);
}
static void world_close(world* w) {
    coco_app_destroy(w->app);
    coco_env_close(w->env);
    w->app = NULL;
    w->env = NULL;
}
static void world_new(world* w) {
    memset(w, 0, sizeof *w);
    snprintf(w->db, sizeof w->db, "%s/w%d.db", g_dir, ++g_dbn);
    memset(&T, 0, sizeof T);
    g_ndocs = 0;
    calls_main = calls_child = calls_inner = calls_outer = 0;
    g_last_child_path[0] = 0;
}
static coco_result update(world* w) { return coco_app_update(w->app, NULL, NULL); }

static const coco_fn_stats* stat_of(const coco_stats* s, const char* name) {
    size_t i;
    for (i = 0; i < s->nfns; i++) if (strcmp(s->fns[i].name, name) == 0) return &s->fns[i];
    return NULL;
}

/* ---- APP-01: trivial app ------------------------------------------------------------------------ */
static coco_result trivial_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    BUMP(calls_main);
    return coco_declare(ctx, g_tgt, coco_str("only"), coco_str("value"));
}
static const coco_fn trivial_fn = { "trivial_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, trivial_main };

static void app01_trivial_app_second_update_writes_nothing(void) {
    world w;
    coco_stats st;
    world_new(&w);
    REQUIRE(world_open(&w, &trivial_fn, "app") == COCO_OK);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(T.inserts, 1);
    CHECK_STR_EQ(mt_get(&T, "only"), "value");
    CHECK_INT_EQ(st.upserts, 1);
    mt_reset_counts(&T);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(calls_main, 2);          /* only the root's body runs */
    CHECK_INT_EQ(mt_writes(&T), 0);
    CHECK_INT_EQ(T.applies, 0);
    CHECK_INT_EQ(st.commits, 0);          /* nothing changed: no state write either */
    world_close(&w);
}

/* ---- documents -> one child per document ------------------------------------------------------- */
static coco_fn child_fn;   /* defined below; memo toggled per test */
static coco_result child_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    char k[64];
    const coco_value* doc = &a[0];
    (void)n;
    BUMP(calls_child);
    coco__mutex_lock(&g_tmutex);
    if (strcmp(coco_ctx_path(ctx), g_last_child_path) > 0)   /* the greatest path seen */
        snprintf(g_last_child_path, sizeof g_last_child_path, "%s", coco_ctx_path(ctx));
    coco__mutex_unlock(&g_tmutex);
    /* doc = [name, text]; declares name -> text, and name#2 -> text when text has a '2' */
    snprintf(k, sizeof k, "%.*s", (int)doc->u.list.items[0].u.s.len, doc->u.list.items[0].u.s.ptr);
    *r = coco_int((int64_t)doc->u.list.items[1].u.s.len);
    if (coco_declare(ctx, g_tgt, coco_str(k), doc->u.list.items[1]) != COCO_OK) return COCO_ERR_INVALID_ARG;
    if (memchr(doc->u.list.items[1].u.s.ptr, '2', doc->u.list.items[1].u.s.len)) {
        char k2[80];
        snprintf(k2, sizeof k2, "%s#2", k);
        return coco_declare(ctx, g_tgt, coco_str(k2), coco_str("extra"));
    }
    return COCO_OK;
}

static coco_result docs_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value keys[MAX_DOCS], items[MAX_DOCS], pairs[MAX_DOCS][2];
    int i;
    (void)a; (void)n; (void)r;
    BUMP(calls_main);
    for (i = 0; i < g_ndocs; i++) {
        keys[i] = coco_str(g_docs[i].name);
        pairs[i][0] = coco_str(g_docs[i].name);
        pairs[i][1] = coco_str(g_docs[i].text);
        items[i] = coco_list(pairs[i], 2);
    }
    return coco_mount_each(ctx, &child_fn, keys, items, (size_t)g_ndocs);
}
static const coco_fn docs_fn = { "docs_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, docs_main };

static void child_fn_set(int memo, uint32_t version) {
    memset(&child_fn, 0, sizeof child_fn);
    child_fn.name = "child";
    child_fn.version = version;
    child_fn.memo = memo;
    child_fn.body = child_body;
}

/* COMP-01 */
static void comp01_mount_each_children_and_removal(void) {
    world w;
    world_new(&w);
    child_fn_set(0, 1);
    docs_set("a", "alpha");
    docs_set("b", "beta");
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.inserts, 2);
    CHECK_STR_EQ(g_last_child_path, "/Symbol(child)/\"b\"");
    docs_del("b");
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.deletes, 1);
    CHECK_INT_EQ(T.inserts + T.updates, 0);
    CHECK(mt_get(&T, "b") == NULL);
    CHECK_STR_EQ(mt_get(&T, "a"), "alpha");
    world_close(&w);
}

/* MEMO-01, MEMO-02 */
static void memo01_02_unchanged_input_skips_changed_input_reruns(void) {
    world w;
    coco_stats st;
    const coco_fn_stats* cs;
    world_new(&w);
    child_fn_set(1, 1);
    docs_set("a", "alpha");
    docs_set("b", "beta");
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_child, 2);
    mt_reset_counts(&T);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(calls_child, 2);                 /* MEMO-01: no child body ran */
    CHECK_INT_EQ(mt_writes(&T), 0);
    cs = stat_of(&st, "child");
    REQUIRE(cs != NULL);
    CHECK_INT_EQ(cs->unchanged, 2);
    CHECK_INT_EQ(cs->started, 0);
    /* MEMO-02: change a (now declares a#2 too), the other stays */
    docs_set("a", "alpha2");
    mt_reset_counts(&T);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(calls_child, 3);
    CHECK_INT_EQ(T.updates, 1);
    CHECK_INT_EQ(T.inserts, 1);
    CHECK_STR_EQ(mt_get(&T, "a"), "alpha2");
    CHECK_STR_EQ(mt_get(&T, "a#2"), "extra");
    docs_set("a", "alpha");                       /* a#2 no longer declared */
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.deletes, 1);
    CHECK_INT_EQ(T.updates, 1);
    CHECK(mt_get(&T, "a#2") == NULL);
    world_close(&w);
}

/* MEMO-03 (own version), via a reopen as a new process would */
static void memo03_version_bump_reruns(void) {
    world w;
    world_new(&w);
    child_fn_set(1, 1);
    docs_set("a", "alpha");
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    world_close(&w);
    child_fn_set(1, 2);
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_child, 2);
    CHECK_INT_EQ(mt_writes(&T), 0);               /* same output: no target write */
    world_close(&w);
}

/* ---- outer/inner functions for call-level memo --------------------------------------------------- */
static coco_fn inner_fn, outer_fn, helper_fn;
static coco_result inner_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)ctx; (void)n;
    BUMP(calls_inner);
    *r = coco_int(a[0].u.i * 10);
    return COCO_OK;
}
static coco_result helper_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)ctx; (void)n;
    *r = coco_int(a[0].u.i + 1);
    return COCO_OK;
}
static int g_outer_fail;
static coco_result outer_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value x, y;
    coco_result rc;
    (void)n;
    BUMP(calls_outer);
    if (g_outer_fail) return coco_ctx_fail(ctx, COCO_ERR_CONNECTOR, "outer fails on purpose");
    if ((rc = coco_call(ctx, &helper_fn, a, 1, &x)) != COCO_OK) return rc;
    if ((rc = coco_call(ctx, &inner_fn, &x, 1, &y)) != COCO_OK) return rc;
    *r = y;
    return coco_declare(ctx, g_tgt, coco_str("out"), y);
}
static coco_result call_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value arg = coco_int(4), got;
    coco_result rc;
    (void)a; (void)n;
    BUMP(calls_main);
    if ((rc = coco_call(ctx, &outer_fn, &arg, 1, &got)) != COCO_OK) return rc;
    *r = got;
    return coco_declare(ctx, g_tgt, coco_str("main"), got);
}
static const coco_fn call_main_fn = { "call_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, call_main };

static void fns_set(uint32_t outer_v, coco_logic_tracking outer_tr, uint32_t helper_v,
                    uint32_t inner_v, const coco_value* outer_deps) {
    memset(&outer_fn, 0, sizeof outer_fn);
    outer_fn.name = "outer"; outer_fn.version = outer_v; outer_fn.memo = 1;
    outer_fn.logic_tracking = outer_tr; outer_fn.deps = outer_deps; outer_fn.body = outer_body;
    memset(&helper_fn, 0, sizeof helper_fn);
    helper_fn.name = "helper"; helper_fn.version = helper_v; helper_fn.body = helper_body;
    memset(&inner_fn, 0, sizeof inner_fn);
    inner_fn.name = "inner"; inner_fn.version = inner_v; inner_fn.memo = 1; inner_fn.body = inner_body;
}
static coco_result open_calls(world* w) {
    coco_result rc = world_open(w, &call_main_fn, "app");
    if (rc == COCO_OK) rc = coco_fn_register(w->env, &outer_fn);
    if (rc == COCO_OK) rc = coco_fn_register(w->env, &helper_fn);
    if (rc == COCO_OK) rc = coco_fn_register(w->env, &inner_fn);
    return rc;
}

/* MEMO-06, MEMO-03 (callee), MEMO-07 */
static void memo06_07_outer_hit_skips_inner_and_keeps_deps(void) {
    world w;
    world_new(&w);
    fns_set(1, COCO_TRACK_FULL, 1, 1, NULL);
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 1);
    CHECK_INT_EQ(calls_inner, 1);
    CHECK_STR_EQ(mt_get(&T, "main"), "50");
    CHECK_STR_EQ(mt_get(&T, "out"), "50");
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);            /* MEMO-06: outer hit, inner not invoked */
    CHECK_INT_EQ(calls_outer, 1);
    CHECK_INT_EQ(calls_inner, 1);
    CHECK_INT_EQ(mt_writes(&T), 0);               /* outer's target state carried over */
    CHECK_STR_EQ(mt_get(&T, "out"), "50");
    world_close(&w);
    /* MEMO-07: after that hit, the callee's logic change still invalidates the caller */
    fns_set(1, COCO_TRACK_FULL, 2, 1, NULL);
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 2);
    world_close(&w);
}

/* MEMO-04 */
static void memo04_tracking_self_and_none(void) {
    world w;
    world_new(&w);
    fns_set(1, COCO_TRACK_SELF, 1, 1, NULL);
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    world_close(&w);
    fns_set(1, COCO_TRACK_SELF, 2, 1, NULL);          /* callee change: no re-run */
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 1);
    world_close(&w);
    fns_set(2, COCO_TRACK_SELF, 2, 1, NULL);          /* own change: re-run */
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 2);
    world_close(&w);
    /* none: the entry written under "self" still names v2; v3 re-runs once and records no
       logic at all, after which version changes no longer invalidate */
    fns_set(3, COCO_TRACK_NONE, 2, 1, NULL);
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 3);
    world_close(&w);
    fns_set(4, COCO_TRACK_NONE, 3, 1, NULL);
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 3);
    world_close(&w);
}

/* MEMO-05 */
static void memo05_deps_value_change_invalidates(void) {
    world w;
    coco_value p1 = coco_str("prompt v1"), p2 = coco_str("prompt v2");
    world_new(&w);
    fns_set(1, COCO_TRACK_FULL, 1, 1, &p1);
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 1);
    world_close(&w);
    fns_set(1, COCO_TRACK_FULL, 1, 1, &p2);
    REQUIRE(open_calls(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 2);
    world_close(&w);
}

/* MEMO-08 */
static void memo08_failed_call_writes_no_memo(void) {
    world w;
    world_new(&w);
    fns_set(1, COCO_TRACK_FULL, 1, 1, NULL);
    REQUIRE(open_calls(&w) == COCO_OK);
    g_outer_fail = 1;
    CHECK_INT_EQ(update(&w), COCO_ERR_CONNECTOR);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "outer fails on purpose");
    g_outer_fail = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 2);                     /* re-executed */
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_outer, 2);                     /* and now memoized */
    world_close(&w);
}

/* MEMO-09 */
static coco_result mounting_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    return coco_mount(ctx, coco_str("kid"), &trivial_fn, NULL, 0);
}
static const coco_fn mounting_memo_fn = { "mounting", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, mounting_body };
static coco_result memo09_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n;
    return coco_call(ctx, &mounting_memo_fn, NULL, 0, r);
}
static const coco_fn memo09_fn = { "memo09_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, memo09_main };
static void memo09_memoized_function_that_mounts_is_an_error(void) {
    world w;
    world_new(&w);
    REQUIRE(world_open(&w, &memo09_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "memoized function mounts");
    CHECK_INT_EQ(mt_writes(&T), 0);
    world_close(&w);
}

/* ---- context --------------------------------------------------------------------------------- */
static int ctx_child_calls;
static coco_result ctx_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const char* model = (const char*)coco_use(ctx, "model");
    const char* loose = (const char*)coco_use(ctx, "loose");
    (void)a; (void)n; (void)r;
    BUMP(ctx_child_calls);
    if (!model || !loose) return COCO_ERR_NOT_FOUND;
    return coco_declare(ctx, g_tgt, coco_str("ctx"), coco_str(model));
}
static const coco_fn ctx_child_fn = { "ctx_child", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, ctx_child };
static coco_result ctx_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    return coco_use_mount(ctx, coco_str("c"), &ctx_child_fn, NULL, 0, NULL);
}
static const coco_fn ctx_main_fn = { "ctx_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, ctx_main };

/* CTX-01 */
static void ctx01_detect_change_invalidates_only_detecting_keys(void) {
    world w;
    coco_value m1 = coco_str("model-1"), m2 = coco_str("model-2"), l1 = coco_str("x"), l2 = coco_str("y");
    world_new(&w);
    ctx_child_calls = 0;
    REQUIRE(world_open(&w, &ctx_main_fn, "app") == COCO_OK);
    REQUIRE(coco_env_provide(w.env, "model", (void*)"model-1", &m1, 1) == COCO_OK);
    REQUIRE(coco_env_provide(w.env, "loose", (void*)"x", &l1, 0) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(ctx_child_calls, 1);
    REQUIRE(coco_env_provide(w.env, "loose", (void*)"y", &l2, 0) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(ctx_child_calls, 1);             /* a non-detecting key does not invalidate */
    REQUIRE(coco_env_provide(w.env, "model", (void*)"model-2", &m2, 1) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(ctx_child_calls, 2);
    CHECK_STR_EQ(mt_get(&T, "ctx"), "model-2");
    world_close(&w);
}

/* CTX-03 */
static void ctx03_unprovided_key_names_the_key(void) {
    world w;
    world_new(&w);
    REQUIRE(world_open(&w, &ctx_main_fn, "app") == COCO_OK);
    CHECK(update(&w) != COCO_OK);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "context key 'model' was not provided");
    world_close(&w);
}

/* ---- targets --------------------------------------------------------------------------------- */
static int g_tgt_mode;
static coco_result tgt_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    switch (g_tgt_mode) {
    case 0: return coco_declare(ctx, g_tgt, coco_str("k"), coco_str("v1"));
    case 1: return coco_declare(ctx, g_tgt, coco_str("k"), coco_str("v2"));
    case 2: return COCO_OK;
    default: {
        coco_result rc = coco_declare(ctx, g_tgt, coco_str("k"), coco_str("v1"));
        if (rc == COCO_OK) rc = coco_declare(ctx, g_tgt, coco_str("k"), coco_str("v1"));
        return rc;
    }
    }
}
static const coco_fn tgt_fn = { "tgt_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, tgt_main };

/* TGT-01, TGT-09 */
static void tgt01_insert_update_delete_nothing(void) {
    world w;
    world_new(&w);
    REQUIRE(world_open(&w, &tgt_fn, "app") == COCO_OK);
    g_tgt_mode = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.inserts, 1);
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(mt_writes(&T), 0);
    g_tgt_mode = 1;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.updates, 1);
    CHECK_STR_EQ(mt_get(&T, "k"), "v2");
    g_tgt_mode = 2;
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.deletes, 1);
    CHECK_INT_EQ(T.n, 0);
    world_close(&w);
}

/* TGT-02 */
static void tgt02_same_key_twice_is_an_error(void) {
    world w;
    world_new(&w);
    REQUIRE(world_open(&w, &tgt_fn, "app") == COCO_OK);
    g_tgt_mode = 3;
    CHECK_INT_EQ(update(&w), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "declared twice");
    CHECK_INT_EQ(mt_writes(&T), 0);
    world_close(&w);
}

/* TGT-05: the key moves from child a to child b in one run */
static int g_owner;   /* which doc declares the shared key */
static coco_result own_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)n; (void)r;
    if (a[0].u.i == g_owner) return coco_declare(ctx, g_tgt, coco_str("shared"), coco_str("S"));
    return COCO_OK;
}
static const coco_fn own_child_fn = { "own_child", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, own_child };
static coco_result own_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value keys[2], items[2];
    (void)a; (void)n; (void)r;
    keys[0] = coco_str("a"); keys[1] = coco_str("b");
    items[0] = coco_int(0); items[1] = coco_int(1);
    return coco_mount_each(ctx, &own_child_fn, keys, items, 2);
}
static const coco_fn own_main_fn = { "own_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, own_main };
static void tgt05_ownership_transfer_is_not_delete_insert(void) {
    world w;
    int order;
    for (order = 0; order < 2; order++) {
        world_new(&w);
        REQUIRE(world_open(&w, &own_main_fn, "app") == COCO_OK);
        g_owner = order;                     /* moves a->b, then (second loop) b->a */
        CHECK_INT_EQ(update(&w), COCO_OK);
        CHECK_INT_EQ(T.inserts, 1);
        mt_reset_counts(&T);
        g_owner = 1 - order;
        CHECK_INT_EQ(update(&w), COCO_OK);
        CHECK_INT_EQ(T.deletes, 0);
        CHECK(T.inserts + T.updates <= 1);
        CHECK_STR_EQ(mt_get(&T, "shared"), "S");
        mt_reset_counts(&T);
        CHECK_INT_EQ(update(&w), COCO_OK);
        CHECK_INT_EQ(T.deletes, 0);
        CHECK_STR_EQ(mt_get(&T, "shared"), "S");
        world_close(&w);
    }
}

/* ---- trees: recursive cleanup, use_mount, order, duplicates ------------------------------------ */
static int g_tree_kids;     /* how many mid components the root mounts */
static int g_dup;
static coco_result leaf_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    char k[64];
    (void)n;
    snprintf(k, sizeof k, "leaf-%lld", (long long)a[0].u.i);
    *r = coco_str("leafval");
    return coco_declare(ctx, g_tgt, coco_str(k), coco_str("L"));
}
static const coco_fn leaf_fn = { "leaf", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, leaf_body };
static coco_result mid_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value arg2[1];
    coco_result rc;
    char k[64];
    (void)n; (void)r;
    arg2[0] = coco_int(a[0].u.i * 100 + 1);
    if ((rc = coco_mount(ctx, coco_int(1), &leaf_fn, arg2, 1)) != COCO_OK) return rc;
    arg2[0] = coco_int(a[0].u.i * 100 + 2);
    if ((rc = coco_mount(ctx, coco_int(2), &leaf_fn, arg2, 1)) != COCO_OK) return rc;
    snprintf(k, sizeof k, "mid-%lld", (long long)a[0].u.i);
    return coco_declare(ctx, g_tgt, coco_str(k), coco_str("M"));
}
static const coco_fn mid_fn = { "mid", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, mid_body };
static coco_result tree_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    int i;
    coco_result rc;
    (void)a; (void)n; (void)r;
    for (i = 0; i < g_tree_kids; i++) {
        coco_value arg = coco_int(i);
        if ((rc = coco_mount(ctx, coco_int(i), &mid_fn, &arg, 1)) != COCO_OK) return rc;
    }
    if (g_dup) {
        coco_value arg = coco_int(0);
        if ((rc = coco_mount(ctx, coco_int(0), &mid_fn, &arg, 1)) != COCO_OK) return rc;
    }
    return coco_declare(ctx, g_tgt, coco_str("root"), coco_str("R"));
}
static const coco_fn tree_fn = { "tree_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, tree_main };

/* 1 if `a` occurs in `log` before `b` */
static int before(const char* log, const char* a, const char* b) {
    const char *pa = strstr(log, a), *pb = strstr(log, b);
    return pa && pb && pa < pb;
}

/* COMP-02 and COMP-06 */
static void comp02_06_recursive_cleanup_retried_and_children_first(void) {
    world w;
    world_new(&w);
    g_tree_kids = 2;
    g_dup = 0;
    REQUIRE(world_open(&w, &tree_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.inserts, 7);
    /* COMP-06: children before their parent, root last */
    CHECK(before(T.log, "+leaf-1 ", "+mid-0 ") && before(T.log, "+leaf-2 ", "+mid-0 "));
    CHECK(before(T.log, "+leaf-101 ", "+mid-1 ") && before(T.log, "+leaf-102 ", "+mid-1 "));
    CHECK(before(T.log, "+mid-0 ", "+root ") && before(T.log, "+mid-1 ", "+root "));
    g_tree_kids = 1;                       /* mid-1 and its two leaves go */
    T.fail = 1;                            /* ... but the delete fails this time */
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.deletes, 0);
    CHECK(mt_get(&T, "leaf-101") != NULL);
    T.fail = 0;
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);     /* retried */
    CHECK_INT_EQ(T.deletes, 3);
    CHECK(mt_get(&T, "leaf-101") == NULL);
    CHECK(mt_get(&T, "leaf-102") == NULL);
    CHECK(mt_get(&T, "mid-1") == NULL);
    CHECK(mt_get(&T, "leaf-1") != NULL);
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(mt_writes(&T), 0);
    world_close(&w);
}


/* COMP-08: the same tree gives the same result on one thread and on several */
static void comp08_same_result_with_and_without_threads(void) {
    char logs[2][4096];
    int k;
    for (k = 0; k < 2; k++) {
        world w;
        coco_env_desc ed;
        coco_app_desc ad;
        world_new(&w);
        g_tree_kids = 6;
        g_dup = 0;
        memset(&ed, 0, sizeof ed);
        ed.db_path = w.db;
        ed.sync = COCO_SYNC_NONE;
        ed.threads = k == 0 ? 1 : 4;
        REQUIRE(coco_env_open(&ed, &w.env) == COCO_OK);
        REQUIRE(coco_target_register(w.env, "mem", &mt_vt, &T, &g_tgt) == COCO_OK);
        memset(&ad, 0, sizeof ad);
        ad.name = "app";
        ad.main = &tree_fn;
        REQUIRE(coco_app_create(w.env, &ad, &w.app) == COCO_OK);
        CHECK_INT_EQ(update(&w), COCO_OK);
        g_tree_kids = 3;
        CHECK_INT_EQ(update(&w), COCO_OK);
        {
            /* the target's final content, sorted */
            int i, j;
            char tmp[96];
            for (i = 0; i < T.n; i++)
                for (j = i + 1; j < T.n; j++)
                    if (strcmp(T.keys[i], T.keys[j]) > 0) {
                        memcpy(tmp, T.keys[i], sizeof tmp);
                        memcpy(T.keys[i], T.keys[j], sizeof tmp);
                        memcpy(T.keys[j], tmp, sizeof tmp);
                    }
            logs[k][0] = 0;
            for (i = 0; i < T.n; i++) {
                strncat(logs[k], T.keys[i], sizeof logs[k] - strlen(logs[k]) - 2);
                strncat(logs[k], " ", sizeof logs[k] - strlen(logs[k]) - 1);
            }
        }
        CHECK_INT_EQ(T.n, 3 * 3 + 1);
        world_close(&w);
    }
    CHECK_STR_EQ(logs[0], logs[1]);
}

/* COMP-04 */
static void comp04_duplicate_sibling_path_is_an_error(void) {
    world w;
    world_new(&w);
    g_tree_kids = 1;
    g_dup = 1;
    REQUIRE(world_open(&w, &tree_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "duplicate child path /0");
    CHECK(mt_get(&T, "root") == NULL);    /* nothing of that parent was submitted */
    g_dup = 0;
    world_close(&w);
}

/* COMP-03 */
static int g_seen_in_target;
static coco_result usemount_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value arg = coco_int(7), got;
    coco_result rc;
    (void)a; (void)n; (void)r;
    if ((rc = coco_use_mount(ctx, coco_str("leaf"), &leaf_fn, &arg, 1, &got)) != COCO_OK) return rc;
    g_seen_in_target = mt_get(&T, "leaf-7") != NULL && got.kind == COCO_STR &&
                       got.u.s.len == 7 && memcmp(got.u.s.ptr, "leafval", 7) == 0;
    return COCO_OK;
}
static const coco_fn usemount_fn = { "usemount_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, usemount_main };
static void comp03_use_mount_returns_after_targets_applied(void) {
    world w;
    world_new(&w);
    g_seen_in_target = 0;
    REQUIRE(world_open(&w, &usemount_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK(g_seen_in_target);
    world_close(&w);
}

/* APP-02 */
static void app02_two_apps_share_a_db_without_interfering(void) {
    world w1, w2;
    mem_target t2;
    coco_target* tg2;
    coco_app_desc ad;
    world_new(&w1);
    g_tree_kids = 1;
    g_dup = 0;
    REQUIRE(world_open(&w1, &tree_fn, "first") == COCO_OK);
    memset(&t2, 0, sizeof t2);
    REQUIRE(coco_target_register(w1.env, "mem2", &mt_vt, &t2, &tg2) == COCO_OK);
    memset(&ad, 0, sizeof ad);
    ad.name = "second";
    ad.main = &tree_fn;                        /* same component paths */
    w2 = w1;
    REQUIRE(coco_app_create(w1.env, &ad, &w2.app) == COCO_OK);
    CHECK_INT_EQ(update(&w1), COCO_OK);
    CHECK_INT_EQ(T.inserts, 4);
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w2), COCO_OK);        /* its own state: runs everything afresh */
    CHECK_INT_EQ(T.updates, 4);                /* same keys in the same test target */
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w1), COCO_OK);
    CHECK_INT_EQ(mt_writes(&T), 0);
    CHECK_INT_EQ(coco_app_drop(w2.app), COCO_OK);
    CHECK_INT_EQ(T.deletes, 4);
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w1), COCO_OK);        /* first still has its state */
    CHECK_INT_EQ(T.inserts, 0);
    CHECK_INT_EQ(T.updates, 0);
    coco_app_destroy(w2.app);
    world_close(&w1);
}

/* APP-03 */
static void app03_no_db_path_is_a_clear_error(void) {
    coco_env_desc ed;
    coco_env* env = NULL;
    char* saved = getenv("COCOINDEX_DB");
    memset(&ed, 0, sizeof ed);
    unsetenv("COCOINDEX_DB");
    CHECK_INT_EQ(coco_env_open(&ed, &env), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_store_open_errmsg(), "COCOINDEX_DB");
    CHECK(env == NULL);
    if (saved) setenv("COCOINDEX_DB", saved, 1);
}

/* APP-04 */
static void app04_full_reprocess_reruns_and_reapplies(void) {
    world w;
    coco_update_desc ud;
    world_new(&w);
    child_fn_set(1, 1);
    docs_set("a", "alpha");
    docs_set("b", "beta");
    REQUIRE(world_open(&w, &docs_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    mt_reset_counts(&T);
    memset(&ud, 0, sizeof ud);
    ud.full_reprocess = 1;
    CHECK_INT_EQ(coco_app_update(w.app, &ud, NULL), COCO_OK);
    CHECK_INT_EQ(calls_child, 4);
    CHECK_INT_EQ(T.updates, 2);                /* re-applied as upserts */
    CHECK_STR_EQ(mt_get(&T, "a"), "alpha");
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);         /* memo entries were rewritten */
    CHECK_INT_EQ(calls_child, 4);
    CHECK_INT_EQ(mt_writes(&T), 0);
    world_close(&w);
}

/* ---- stable ids ------------------------------------------------------------------------------ */
static int64_t g_ids[6];
static int g_id_variant;
static coco_result ids_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_result rc = COCO_OK;
    (void)a; (void)n; (void)r;
    if (!rc) rc = coco_generate_id(ctx, coco_str("x"), &g_ids[0]);
    if (!rc) rc = coco_generate_id(ctx, coco_str(g_id_variant ? "z" : "y"), &g_ids[1]);
    if (!rc) rc = coco_generate_id(ctx, coco_str("x"), &g_ids[2]);
    if (!rc) rc = coco_id_next(ctx, coco_str("chunk"), &g_ids[3]);
    if (!rc) rc = coco_id_next(ctx, coco_str("chunk"), &g_ids[4]);
    if (!rc) rc = coco_id_next(ctx, coco_str("chunk"), &g_ids[5]);
    return rc;
}
static const coco_fn ids_fn = { "ids_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, ids_main };

/* ID-01, ID-02 */
static void id01_02_stable_ids_across_runs(void) {
    world w;
    int64_t first[6];
    world_new(&w);
    g_id_variant = 0;
    REQUIRE(world_open(&w, &ids_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    memcpy(first, g_ids, sizeof first);
    CHECK_INT_EQ(first[0], 1);                  /* ids start at 1 */
    CHECK(first[1] != first[0]);
    CHECK_INT_EQ(first[2], first[0]);           /* same dep, same id */
    CHECK(first[3] != first[4] && first[4] != first[5] && first[3] != first[5]);
    world_close(&w);
    REQUIRE(world_open(&w, &ids_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_MEM_EQ(g_ids, first, sizeof first);   /* same sequence next run */
    g_id_variant = 1;                           /* y no longer asked: z gets a new id */
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK(g_ids[1] > first[5]);
    CHECK_INT_EQ(g_ids[0], first[0]);
    world_close(&w);
}

/* ---- DROP-01 --------------------------------------------------------------------------------- */
static void drop01_drop_reverts_everything_and_clears_state(void) {
    world w;
    world_new(&w);
    g_tree_kids = 2;
    g_dup = 0;
    REQUIRE(world_open(&w, &tree_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.n, 7);
    T.fail = 1;                                  /* a failing drop keeps what it needs */
    CHECK(coco_app_drop(w.app) != COCO_OK);
    CHECK_INT_EQ(T.n, 7);
    T.fail = 0;
    world_close(&w);
    REQUIRE(world_open(&w, &tree_fn, "app") == COCO_OK);
    CHECK_INT_EQ(coco_app_drop(w.app), COCO_OK); /* with no app code run: tracking records only */
    CHECK_INT_EQ(T.n, 0);
    {
        coco_store_stats s;
        coco_store_stats_get(coco_env_store(w.env), &s);
        CHECK_INT_EQ(s.keys, 0);
    }
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);           /* afterwards the app starts from scratch */
    CHECK_INT_EQ(T.inserts, 7);
    world_close(&w);
}

/* ---- TGT-03 / TGT-04: SIGKILL inside the submit path ------------------------------------------
   A child process runs the update with a file-backed target that kills the process at a chosen
   point; then the parent runs one more update and compares the files with a fresh run. */
static const char* g_fdir;
static int g_kill_point;     /* 1: before writing (after the pending commit); 2: after writing */
static int g_fprev_max;
static coco_result ft_reconcile(void* user, const coco_value* key, const coco_value* desired,
                                const coco_bytes* prev, size_t nprev, int may_missing,
                                coco_arena* arena, coco_action* out) {
    (void)user;
    if ((int)nprev > g_fprev_max) g_fprev_max = (int)nprev;
    return mt_reconcile(&T, key, desired, prev, nprev, may_missing, arena, out);
}
static coco_result ft_apply(void* user, const coco_action* acts, size_t n, char* err, size_t cap) {
    size_t i;
    (void)user; (void)err; (void)cap;
    if (g_kill_point == 1) raise(SIGKILL);
    for (i = 0; i < n; i++) {
        char k[96], v[256], p[512];
        render(&acts[i].key, k, sizeof k);
        snprintf(p, sizeof p, "%s/%s", g_fdir, k);
        if (acts[i].kind == COCO_ACTION_UPSERT) {
            FILE* f = fopen(p, "w");
            if (!f) return COCO_ERR_IO;
            render(&acts[i].value, v, sizeof v);
            fputs(v, f);
            fclose(f);
        } else if (acts[i].kind == COCO_ACTION_DELETE) unlink(p);
    }
    if (g_kill_point == 2) raise(SIGKILL);
    return COCO_OK;
}
static const coco_target_vtable ft_vt = { ft_reconcile, ft_apply };
static coco_target* g_ft;
static coco_result files_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)n; (void)r;
    return coco_declare(ctx, g_ft, a[0].u.list.items[0], a[0].u.list.items[1]);
}
static const coco_fn files_child_fn = { "files_child", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, files_child };
static coco_result files_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value keys[MAX_DOCS], items[MAX_DOCS], pairs[MAX_DOCS][2];
    int i;
    (void)a; (void)n; (void)r;
    for (i = 0; i < g_ndocs; i++) {
        keys[i] = coco_str(g_docs[i].name);
        pairs[i][0] = coco_str(g_docs[i].name);
        pairs[i][1] = coco_str(g_docs[i].text);
        items[i] = coco_list(pairs[i], 2);
    }
    return coco_mount_each(ctx, &files_child_fn, keys, items, (size_t)g_ndocs);
}
static const coco_fn files_fn = { "files_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, files_main };

static coco_result files_update(const char* db) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_env* env;
    coco_app* app;
    coco_result rc;
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    if ((rc = coco_env_open(&ed, &env)) != COCO_OK) return rc;
    rc = coco_target_register(env, "files", &ft_vt, NULL, &g_ft);
    memset(&ad, 0, sizeof ad);
    ad.name = "files";
    ad.main = &files_fn;
    if (rc == COCO_OK) rc = coco_app_create(env, &ad, &app);
    if (rc == COCO_OK) {
        rc = coco_app_update(app, NULL, NULL);
        coco_app_destroy(app);
    }
    coco_env_close(env);
    return rc;
}

static int dir_listing(const char* dir, char* out, size_t cap) {
    char cmd[600];
    FILE* p;
    size_t n;
    snprintf(cmd, sizeof cmd, "cd '%s' && for f in $(ls | sort); do printf '%%s=' \"$f\"; cat \"$f\"; "
             "printf ';'; done", dir);
    p = popen(cmd, "r");
    if (!p) return -1;
    n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    pclose(p);
    return 0;
}

/* Runs files_update(db) in a child process that the target kills at `point`; 1 when the
   child died of SIGKILL. */
static int update_killed_at(const char* db, int point) {
    int status;
    pid_t pid = fork();
    if (pid == 0) {
        g_kill_point = point;
        files_update(db);
        _exit(0);
    }
    if (pid < 0) return 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void tgt03_04_kill_in_submit_converges(void) {
    int point, bad = 0;
    for (point = 1; point <= 2; point++) {
        char db[300], dir[300], fresh_db[300], fresh_dir[300], cmd[700];
        char got[2048], want[2048];
        snprintf(db, sizeof db, "%s/kill%d.db", g_dir, point);
        snprintf(dir, sizeof dir, "%s/kill%d", g_dir, point);
        snprintf(fresh_db, sizeof fresh_db, "%s/fresh%d.db", g_dir, point);
        snprintf(fresh_dir, sizeof fresh_dir, "%s/fresh%d", g_dir, point);
        mkdir(dir, 0755);
        mkdir(fresh_dir, 0755);
        g_ndocs = 0;
        docs_set("a", "one");
        docs_set("b", "two");
        g_fdir = dir;
        g_kill_point = 0;
        REQUIRE(files_update(db) == COCO_OK);
        /* the change that the killed run was applying */
        docs_set("a", "one-changed");
        docs_del("b");
        docs_set("c", "three");
        CHECK(update_killed_at(db, point));
        g_fprev_max = 0;
        CHECK_INT_EQ(files_update(db), COCO_OK);
        if (point == 2) CHECK(g_fprev_max >= 2);   /* reconcile saw both possible records */
        g_fdir = fresh_dir;
        CHECK_INT_EQ(files_update(fresh_db), COCO_OK);
        dir_listing(dir, got, sizeof got);
        dir_listing(fresh_dir, want, sizeof want);
        if (strcmp(got, want) != 0) {
            bad++;
            printf("# kill point %d: got {%s} want {%s}\n", point, got, want);
        }
        CHECK_STR_EQ(got, "a=one-changed;c=three;");
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, fresh_dir);
        if (system(cmd) != 0) bad++;
    }
    CHECK_INT_EQ(bad, 0);
}


/* The same kill, then the new document goes away before the next update: the outputs its
   killed run wrote (its record committed, its parent's not) must go (guarantee 3). */
static void tgt03_04_kill_then_new_child_removed_converges(void) {
    int point, bad = 0;
    for (point = 1; point <= 2; point++) {
        char db[300], dir[300], cmd[700], got[2048];
        snprintf(db, sizeof db, "%s/killrm%d.db", g_dir, point);
        snprintf(dir, sizeof dir, "%s/killrm%d", g_dir, point);
        mkdir(dir, 0755);
        g_ndocs = 0;
        docs_set("a", "one");
        g_fdir = dir;
        g_kill_point = 0;
        REQUIRE(files_update(db) == COCO_OK);
        docs_set("c", "three");
        CHECK(update_killed_at(db, point));
        docs_del("c");
        CHECK_INT_EQ(files_update(db), COCO_OK);
        dir_listing(dir, got, sizeof got);
        CHECK_STR_EQ(got, "a=one;");
        CHECK_INT_EQ(files_update(db), COCO_OK);      /* and it stays so */
        dir_listing(dir, got, sizeof got);
        CHECK_STR_EQ(got, "a=one;");
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) bad++;
    }
    CHECK_INT_EQ(bad, 0);
}

/* ---- MEMO-10: two-level memo state of an object argument --------------------------------------- */
typedef struct fake_file { const char* rel; long mtime; char content[64]; int cheap, expensive; } fake_file;
static coco_result ff_key(const void* o, coco_arena* ar, coco_value* out) {
    (void)ar;
    *out = coco_str(((const fake_file*)o)->rel);
    return COCO_OK;
}
static coco_result ff_state(const void* o, int level, coco_arena* ar, coco_value* out) {
    fake_file* f = (fake_file*)(void*)(uintptr_t)o;
    coco_fp fp;
    if (level == 0) {
        f->cheap++;
        *out = coco_int(f->mtime * 1000 + (long)strlen(f->content));
        return COCO_OK;
    }
    f->expensive++;
    fp = coco_fp_of(f->content, strlen(f->content));
    {
        unsigned char* p = (unsigned char*)coco_arena_alloc(ar, 16);
        memcpy(p, fp.bytes, 16);
        *out = coco_bytes_val(p, 16);
    }
    return COCO_OK;
}
static const coco_object_vtable ff_vt = { "fake_file", ff_key, ff_state };
static fake_file g_ff;
static int ff_calls;
static coco_result ff_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const fake_file* f = (const fake_file*)a[0].u.obj.obj;
    (void)n; (void)r;
    BUMP(ff_calls);
    return coco_declare(ctx, g_tgt, coco_str(f->rel), coco_str(f->content));
}
static const coco_fn ff_child_fn = { "ff_child", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, ff_child };
static coco_result ff_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value obj = coco_object(&ff_vt, &g_ff);
    (void)a; (void)n; (void)r;
    return coco_mount(ctx, coco_str(g_ff.rel), &ff_child_fn, &obj, 1);
}
static const coco_fn ff_main_fn = { "ff_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, ff_main };

static void memo10_touch_refreshes_state_content_change_reruns(void) {
    world w;
    coco_stats st;
    world_new(&w);
    memset(&g_ff, 0, sizeof g_ff);
    g_ff.rel = "f.md";
    g_ff.mtime = 100;
    snprintf(g_ff.content, sizeof g_ff.content, "hello");
    ff_calls = 0;
    REQUIRE(world_open(&w, &ff_main_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(ff_calls, 1);
    g_ff.expensive = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);              /* unchanged: cheap check only */
    CHECK_INT_EQ(ff_calls, 1);
    CHECK_INT_EQ(g_ff.expensive, 0);
    g_ff.mtime = 200;                                /* touched, same content */
    mt_reset_counts(&T);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(ff_calls, 1);
    CHECK_INT_EQ(g_ff.expensive, 1);
    CHECK_INT_EQ(mt_writes(&T), 0);
    CHECK_INT_EQ(st.commits, 1);                     /* the refreshed state is stored */
    g_ff.expensive = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);               /* ... so the next run is cheap again */
    CHECK_INT_EQ(g_ff.expensive, 0);
    CHECK_INT_EQ(ff_calls, 1);
    snprintf(g_ff.content, sizeof g_ff.content, "HELLO");   /* same size, new content */
    g_ff.mtime = 300;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(ff_calls, 2);
    CHECK_STR_EQ(mt_get(&T, "f.md"), "HELLO");
    world_close(&w);
}


/* ---- mount-time memo checks: unchanged children are kept without running ------------------- */
/* Files with a two-level memo state ([size, mtime], then the content's fingerprint), mounted
   with coco_mount_each under a memoized child.  Sizes: a few children (checked one by one as
   they are mounted) and many (checked in chunks on the pool before they are mounted). */
#define MC_MAX 800
typedef struct mc_file { char rel[24]; char content[32]; long mtime; int runs, expensive; } mc_file;
static mc_file g_mc[MC_MAX];
static int g_nmc;
static int g_mc_runs;
static int g_mc_use_ctx;                 /* 1: the child reads the context key "model" */
static const size_t mc_sizes[] = { 6, 700 };

static coco_result mc_key(const void* o, coco_arena* ar, coco_value* out) {
    (void)ar;
    *out = coco_str(((const mc_file*)o)->rel);
    return COCO_OK;
}
static coco_result mc_state(const void* o, int level, coco_arena* ar, coco_value* out) {
    mc_file* f = (mc_file*)(void*)(uintptr_t)o;
    if (level == 0) {
        coco_value* two = (coco_value*)coco_arena_alloc(ar, 2 * sizeof *two);
        if (!two) return COCO_ERR_NOMEM;
        two[0] = coco_int((int64_t)strlen(f->content));
        two[1] = coco_int(f->mtime);
        *out = coco_list(two, 2);
    } else {
        coco_fp fp = coco_fp_of(f->content, strlen(f->content));
        unsigned char* b = (unsigned char*)coco_arena_alloc(ar, 16);
        if (!b) return COCO_ERR_NOMEM;
        BUMP(f->expensive);
        memcpy(b, fp.bytes, 16);
        *out = coco_bytes_val(b, 16);
    }
    return COCO_OK;
}
static const coco_object_vtable mc_vt = { "mc_file", mc_key, mc_state };
static coco_fn mc_child_fn;
static coco_result mc_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    mc_file* f = (mc_file*)(void*)(uintptr_t)a[0].u.obj.obj;
    coco_result rc;
    (void)n; (void)r;
    BUMP(g_mc_runs);
    BUMP(f->runs);
    if (g_mc_use_ctx && !coco_use(ctx, "model")) return COCO_ERR_NOT_FOUND;
    rc = coco_declare(ctx, g_tgt, coco_str(f->rel), coco_str(f->content));
    if (rc == COCO_OK && f->rel[0] == 's')   /* "s..." files also declare one shared key */
        rc = coco_declare(ctx, g_tgt, coco_str("shared"), coco_str("S"));
    return rc;
}
static coco_result mc_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value* keys = (coco_value*)coco_arena_alloc(coco_ctx_arena(ctx), MC_MAX * sizeof *keys);
    coco_value* items = (coco_value*)coco_arena_alloc(coco_ctx_arena(ctx), MC_MAX * sizeof *items);
    int i;
    (void)a; (void)n; (void)r;
    if (!keys || !items) return COCO_ERR_NOMEM;
    for (i = 0; i < g_nmc; i++) {
        keys[i] = coco_str(g_mc[i].rel);
        items[i] = coco_object(&mc_vt, &g_mc[i]);
    }
    return coco_mount_each(ctx, &mc_child_fn, keys, items, (size_t)g_nmc);
}
static const coco_fn mc_main_fn = { "mc_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, mc_main };

static void mc_files(size_t n) {
    size_t i;
    memset(g_mc, 0, sizeof g_mc);
    for (i = 0; i < n; i++) {
        snprintf(g_mc[i].rel, sizeof g_mc[i].rel, "f%04d.md", (int)i);
        snprintf(g_mc[i].content, sizeof g_mc[i].content, "c%d", (int)i);
        g_mc[i].mtime = 1000 + (long)i;
    }
    g_nmc = (int)n;
    g_mc_runs = 0;
    g_mc_use_ctx = 0;
    memset(&mc_child_fn, 0, sizeof mc_child_fn);
    mc_child_fn.name = "mc_child";
    mc_child_fn.version = 1;
    mc_child_fn.memo = 1;
    mc_child_fn.body = mc_child;
}
/* a world with several workers, so the chunked checks run on the pool even on one CPU */
static coco_result mc_open(world* w) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_result rc;
    memset(&ed, 0, sizeof ed);
    ed.db_path = w->db;
    ed.sync = COCO_SYNC_NONE;
    ed.threads = 3;
    if ((rc = coco_env_open(&ed, &w->env)) != COCO_OK) return rc;
    if ((rc = coco_target_register(w->env, "mem", &mt_vt, &T, &g_tgt)) != COCO_OK) return rc;
    memset(&ad, 0, sizeof ad);
    ad.name = "app";
    ad.main = &mc_main_fn;
    ad.arg = coco_null();
    return coco_app_create(w->env, &ad, &w->app);
}
static int mc_expensive(void) {
    int i, e = 0;
    for (i = 0; i < g_nmc; i++) e += g_mc[i].expensive;
    return e;
}
static void mc_update_expect(world* w, int runs, uint64_t unchanged, int line) {
    coco_stats st;
    const coco_fn_stats* cs;
    int before = g_mc_runs;
    CHECK_INT_EQ(coco_app_update(w->app, NULL, &st), COCO_OK);
    cs = stat_of(&st, "mc_child");
    if (g_mc_runs - before != runs || !cs || cs->unchanged != unchanged)
        printf("# line %d: %d runs (want %d), %llu unchanged (want %llu)\n", line,
               g_mc_runs - before, runs, cs ? (unsigned long long)cs->unchanged : 0ull,
               (unsigned long long)unchanged);
    CHECK_INT_EQ(g_mc_runs - before, runs);
    CHECK(cs != NULL && cs->unchanged == unchanged);
    CHECK(cs != NULL && cs->started == (uint64_t)runs);
}

/* An unchanged child is kept without running and without reading content; a change of size
   or of mtime is never skipped; a touch (mtime only) re-runs nothing and refreshes the state. */
static void mc_unchanged_kept_changed_size_or_mtime_reruns(void) {
    size_t z, i;
    for (z = 0; z < sizeof mc_sizes / sizeof *mc_sizes; z++) {
        size_t n = mc_sizes[z];
        world w;
        coco_stats st;
        world_new(&w);
        mc_files(n);
        REQUIRE(mc_open(&w) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        CHECK_INT_EQ(T.inserts, (int)n);
        mt_reset_counts(&T);
        for (i = 0; i < n; i++) g_mc[i].expensive = 0;
        CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);   /* the no-op */
        CHECK_INT_EQ(g_mc_runs, (int)n);
        CHECK_INT_EQ(mc_expensive(), 0);                           /* no content read */
        CHECK_INT_EQ(mt_writes(&T), 0);
        /* from 512 children the first no-op after runs writes the parent's group memo */
        CHECK_INT_EQ((int)st.commits, n >= 512 ? 1 : 0);
        CHECK(stat_of(&st, "mc_child") && stat_of(&st, "mc_child")->unchanged == n);
        CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);   /* and the next nothing */
        CHECK_INT_EQ(g_mc_runs, (int)n);
        CHECK_INT_EQ((int)st.commits, 0);
        CHECK(stat_of(&st, "mc_child") && stat_of(&st, "mc_child")->unchanged == n);
        /* size changes, mtime does not */
        snprintf(g_mc[3].content, sizeof g_mc[3].content, "c3+");
        mc_update_expect(&w, 1, n - 1, __LINE__);
        CHECK_INT_EQ(g_mc[3].runs, 2);
        CHECK_STR_EQ(mt_get(&T, "f0003.md"), "c3+");
        /* mtime changes, size does not */
        snprintf(g_mc[5].content, sizeof g_mc[5].content, "X5");
        g_mc[5].mtime++;
        mc_update_expect(&w, 1, n - 1, __LINE__);
        CHECK_INT_EQ(g_mc[5].runs, 2);
        CHECK_STR_EQ(mt_get(&T, "f0005.md"), "X5");
        /* touched: same content, new mtime */
        g_mc[1].mtime += 7;
        g_mc[1].expensive = 0;
        mt_reset_counts(&T);
        CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
        CHECK_INT_EQ(g_mc[1].runs, 1);
        CHECK_INT_EQ(g_mc[1].expensive, 1);
        CHECK_INT_EQ(mt_writes(&T), 0);
        CHECK_INT_EQ((int)st.commits, 1);                          /* the refreshed state */
        mc_update_expect(&w, 0, n, __LINE__);
        CHECK_INT_EQ(g_mc[1].expensive, 1);                        /* cheap again */
        CHECK_INT_EQ(mt_writes(&T), 0);
        world_close(&w);
    }
}

/* A logic change (version), a deps change and a change of a context value the children read
   re-run every child. */
static void mc_logic_deps_and_context_changes_rerun_all(void) {
    size_t z;
    for (z = 0; z < sizeof mc_sizes / sizeof *mc_sizes; z++) {
        size_t n = mc_sizes[z];
        world w;
        coco_value d1 = coco_str("prompt 1"), d2 = coco_str("prompt 2");
        coco_value m1 = coco_str("model-1"), m2 = coco_str("model-2");
        world_new(&w);
        mc_files(n);
        REQUIRE(mc_open(&w) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        mc_update_expect(&w, 0, n, __LINE__);
        world_close(&w);
        /* a new env sees the function's new version or deps (registered once per env) */
        mc_child_fn.version = 2;
        REQUIRE(mc_open(&w) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        mc_update_expect(&w, 0, n, __LINE__);
        world_close(&w);
        mc_child_fn.deps = &d1;
        REQUIRE(mc_open(&w) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        mc_update_expect(&w, 0, n, __LINE__);
        world_close(&w);
        mc_child_fn.deps = &d2;
        REQUIRE(mc_open(&w) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        world_close(&w);
        mc_child_fn.deps = NULL;
        /* context: the children read "model" (change detection on) */
        g_mc_use_ctx = 1;
        REQUIRE(mc_open(&w) == COCO_OK);
        REQUIRE(coco_env_provide(w.env, "model", (void*)"m", &m1, 1) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        mc_update_expect(&w, 0, n, __LINE__);
        world_close(&w);
        REQUIRE(mc_open(&w) == COCO_OK);
        REQUIRE(coco_env_provide(w.env, "model", (void*)"m", &m2, 1) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        mc_update_expect(&w, 0, n, __LINE__);
        world_close(&w);
    }
}

/* A deleted file's states go; the kept siblings' states stay, also a state that the deleted
   file's child and a kept child both declared (the kept child still holds it). */
static void mc_deleted_file_outputs_removed_kept_siblings_stay(void) {
    size_t z;
    for (z = 0; z < sizeof mc_sizes / sizeof *mc_sizes; z++) {
        size_t n = mc_sizes[z];
        world w;
        coco_stats st;
        world_new(&w);
        mc_files(n);
        snprintf(g_mc[0].rel, sizeof g_mc[0].rel, "s0000.md");
        snprintf(g_mc[1].rel, sizeof g_mc[1].rel, "s0001.md");
        REQUIRE(mc_open(&w) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        CHECK_STR_EQ(mt_get(&T, "shared"), "S");
        memmove(&g_mc[0], &g_mc[1], (size_t)(g_nmc - 1) * sizeof g_mc[0]);   /* s0000 goes */
        g_nmc--;
        mt_reset_counts(&T);
        mc_update_expect(&w, 0, n - 1, __LINE__);
        CHECK_INT_EQ(T.deletes, 1);
        CHECK(mt_get(&T, "s0000.md") == NULL);
        CHECK_STR_EQ(mt_get(&T, "shared"), "S");
        CHECK_STR_EQ(mt_get(&T, "s0001.md"), "c1");
        CHECK_STR_EQ(mt_get(&T, "f0005.md"), "c5");
        mt_reset_counts(&T);
        CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
        CHECK_INT_EQ(mt_writes(&T), 0);
        CHECK_INT_EQ((int)st.commits, 0);
        g_nmc = 2;                                                  /* most files go */
        mt_reset_counts(&T);
        mc_update_expect(&w, 0, 2, __LINE__);
        CHECK_INT_EQ(T.deletes, (int)n - 3);
        CHECK_STR_EQ(mt_get(&T, "shared"), "S");
        CHECK(mt_get(&T, "f0005.md") == NULL);
        world_close(&w);
    }
}


/* The group memo (P 'm', 512 children and more): written by the first run whose children
   were all memo hits, deleted by a run below 512 children and by a full reprocess, and never
   trusted for children that ran in between (a child changed and changed back runs again). */
static int app_keys_tagged(world* w, const char* name, char tag);
static void mc_group_memo_record_follows_the_children(void) {
    world w;
    coco_stats st;
    coco_update_desc ud;
    world_new(&w);
    mc_files(700);
    REQUIRE(mc_open(&w) == COCO_OK);
    mc_update_expect(&w, 700, 0, __LINE__);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'm'), 0);      /* every child ran: none yet */
    mc_update_expect(&w, 0, 700, __LINE__);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'm'), 1);
    /* a child changed: it runs, its group's entry goes (the other groups' stay) */
    snprintf(g_mc[10].content, sizeof g_mc[10].content, "changed");
    g_mc[10].mtime += 100;
    mc_update_expect(&w, 1, 699, __LINE__);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'm'), 1);
    /* and back as it was (same size and mtime): it must run again, not be kept */
    snprintf(g_mc[10].content, sizeof g_mc[10].content, "c10");
    g_mc[10].mtime -= 100;
    mc_update_expect(&w, 1, 699, __LINE__);
    CHECK_STR_EQ(mt_get(&T, "f0010.md"), "c10");
    mc_update_expect(&w, 0, 700, __LINE__);
    /* fewer than 512 children: no group memo */
    g_nmc = 400;
    mc_update_expect(&w, 0, 400, __LINE__);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'm'), 0);
    g_nmc = 700;                                           /* 300 come back: they run */
    mc_update_expect(&w, 300, 400, __LINE__);
    mc_update_expect(&w, 0, 700, __LINE__);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'm'), 1);
    /* a full reprocess runs everything and drops it; the next no-op writes it again */
    memset(&ud, 0, sizeof ud);
    ud.full_reprocess = 1;
    CHECK_INT_EQ(coco_app_update(w.app, &ud, &st), COCO_OK);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'm'), 0);
    mc_update_expect(&w, 0, 700, __LINE__);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'm'), 1);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ((int)st.commits, 0);
    world_close(&w);
}

/* A full reprocess runs every child again and re-applies every state. */
static void mc_full_reprocess_reruns_everything(void) {
    size_t z;
    for (z = 0; z < sizeof mc_sizes / sizeof *mc_sizes; z++) {
        size_t n = mc_sizes[z];
        world w;
        coco_update_desc ud;
        world_new(&w);
        mc_files(n);
        REQUIRE(mc_open(&w) == COCO_OK);
        mc_update_expect(&w, (int)n, 0, __LINE__);
        mt_reset_counts(&T);
        memset(&ud, 0, sizeof ud);
        ud.full_reprocess = 1;
        CHECK_INT_EQ(coco_app_update(w.app, &ud, NULL), COCO_OK);
        CHECK_INT_EQ(g_mc_runs, 2 * (int)n);
        CHECK_INT_EQ(T.updates, (int)n);
        mt_reset_counts(&T);
        mc_update_expect(&w, 0, n, __LINE__);
        CHECK_INT_EQ(mt_writes(&T), 0);
        world_close(&w);
    }
}

/* Two children at the same path among many: the error names it, as with a few. */
static void mc_duplicate_key_among_many_is_an_error(void) {
    world w;
    world_new(&w);
    mc_files(700);
    REQUIRE(mc_open(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    snprintf(g_mc[600].rel, sizeof g_mc[600].rel, "f0007.md");
    CHECK(update(&w) != COCO_OK);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "duplicate child path");
    CHECK_INT_EQ(T.deletes, 0);                  /* the failed parent deletes nothing */
    world_close(&w);
}

/* A parent's record lists its children as written by the value encoder, byte for byte (an
   unchanged parent is recognised by comparing bytes). */
static void mc_children_list_encodes_like_values(void) {
    static const size_t counts[] = { 0, 1, 15, 16, 300, 65535, 65536, 70000 };
    coco_arena* ar;
    coco_fp* fps;
    size_t c, i;
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    fps = (coco_fp*)malloc(70000 * sizeof *fps);
    REQUIRE(fps != NULL);
    for (i = 0; i < 70000; i++) fps[i] = coco_fp_of(&i, sizeof i);
    for (c = 0; c < sizeof counts / sizeof *counts; c++) {
        int memo;
        for (memo = 0; memo < 2; memo++) {
            coco__recparts rp;
            coco_value path = coco_list(NULL, 0), none = coco_list(NULL, 0);
            coco_bytes a, b;
            memset(&rp, 0, sizeof rp);
            rp.path = path; rp.fn = coco_str("f"); rp.memo = memo;
            rp.memo_key = coco_bytes_val(fps[0].bytes, 16); rp.deps = none; rp.ret = coco_int(7);
            rp.states = none; rp.targets = none; rp.xents = none; rp.ids = none; rp.uuids = none;
            REQUIRE(coco__rec_encode_kids(ar, &rp, fps, counts[c], &a) == COCO_OK);
            rp.kids = coco__fp_list(ar, fps, counts[c]);
            REQUIRE(coco__rec_encode(ar, &rp, &b) == COCO_OK);
            CHECK_INT_EQ((int)a.len, (int)b.len);
            CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
        }
        coco_arena_reset(ar);
    }
    free(fps);
    coco_arena_destroy(ar);
}

/* ---- live mode --------------------------------------------------------------------------------- */
#if !defined(COCO_NO_THREADS)
#include <pthread.h>
static coco_live* g_live;       /* set by the watcher thread (atomics) */
static int g_ready;
static int live_child_calls;
static coco_result live_watch(void* user, coco_live* live) {
    (void)user;
    __atomic_store_n(&g_live, live, __ATOMIC_SEQ_CST);
    while (!coco_live_wait(live, 10)) { }
    __atomic_store_n(&g_live, (coco_live*)NULL, __ATOMIC_SEQ_CST);
    return COCO_OK;
}
static coco_result live_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    char k[64];
    (void)n; (void)r;
    BUMP(live_child_calls);
    snprintf(k, sizeof k, "%.*s", (int)a[0].u.list.items[0].u.s.len, a[0].u.list.items[0].u.s.ptr);
    return coco_declare(ctx, g_tgt, coco_str(k), a[0].u.list.items[1]);
}
static const coco_fn live_child_fn = { "live_child", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, live_child };
static coco_result live_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value keys[MAX_DOCS], items[MAX_DOCS], pairs[MAX_DOCS][2];
    int i;
    (void)a; (void)n; (void)r;
    for (i = 0; i < g_ndocs; i++) {
        keys[i] = coco_str(g_docs[i].name);
        pairs[i][0] = coco_str(g_docs[i].name);
        pairs[i][1] = coco_str(g_docs[i].text);
        items[i] = coco_list(pairs[i], 2);
    }
    return coco_mount_live(ctx, coco_str("docs"), &live_child_fn, keys, items, (size_t)g_ndocs,
                           live_watch, NULL);
}
static const coco_fn live_main_fn = { "live_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, live_main };

typedef struct live_run { coco_app* app; coco_result rc; } live_run;
static void on_ready(void* u) { (void)u; __atomic_store_n(&g_ready, 1, __ATOMIC_SEQ_CST); }
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
static void* live_thread(void* arg) {
    live_run* lr = (live_run*)arg;
    coco_update_desc ud;
    memset(&ud, 0, sizeof ud);
    ud.live = 1;
    ud.on_ready = on_ready;
    lr->rc = coco_app_update(lr->app, &ud, NULL);
    return NULL;
}
/* waits up to 5 s for `key` to hold `want` (NULL: absent) in the test target */
static int wait_for(const char* key, const char* want) {
    int i;
    for (i = 0; i < 500; i++) {
        const char* got;
        int ok;
        coco__mutex_lock(&g_tmutex);
        got = mt_get(&T, key);
        ok = want ? (got && strcmp(got, want) == 0) : got == NULL;
        coco__mutex_unlock(&g_tmutex);
        if (ok) return 1;
        usleep(10000);
    }
    return 0;
}

/* LIVE-01, LIVE-04 */
static void live01_04_live_changes_rerun_only_their_component(void) {
    world w;
    pthread_t th;
    live_run lr;
    world_new(&w);
    docs_set("a", "alpha");
    docs_set("b", "beta");
    live_child_calls = 0;
    g_ready = 0;
    REQUIRE(world_open(&w, &live_main_fn, "app") == COCO_OK);
    lr.app = w.app;
    lr.rc = COCO_ERR_STATE;
    REQUIRE(pthread_create(&th, NULL, live_thread, &lr) == 0);
    while (!LOAD(g_ready) || !LOAD(g_live)) usleep(1000);
    CHECK_INT_EQ(LOAD(live_child_calls), 2);
    coco_live_update(LOAD(g_live), coco_str("c"), coco_list((coco_value[]){ coco_str("c"), coco_str("gamma") }, 2));
    CHECK(wait_for("c", "gamma"));
    coco_live_update(LOAD(g_live), coco_str("a"), coco_list((coco_value[]){ coco_str("a"), coco_str("alpha!") }, 2));
    CHECK(wait_for("a", "alpha!"));
    coco_live_delete(LOAD(g_live), coco_str("b"));
    CHECK(wait_for("b", NULL));
    CHECK_INT_EQ(LOAD(live_child_calls), 4);             /* c and a re-ran; nothing else */
    CHECK(wait_for("c", "gamma"));
    coco_app_stop(w.app);
    pthread_join(th, NULL);
    CHECK_INT_EQ(lr.rc, COCO_OK);
    world_close(&w);
    /* LIVE-04: everything applied was committed: a catch-up over the same items is a no-op */
    docs_set("a", "alpha!");
    docs_del("b");
    docs_set("c", "gamma");
    REQUIRE(world_open(&w, &live_main_fn, "app") == COCO_OK);
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(mt_writes(&T), 0);
    CHECK_INT_EQ(live_child_calls, 4);
    world_close(&w);
}

/* LIVE-02 */
static int g_rows;   /* the refreshed function declares rows 0..g_rows-1 */
static int refresh_calls;
static coco_result refresh_fn_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    int i, rows = __atomic_load_n(&g_rows, __ATOMIC_SEQ_CST);
    coco_result rc = COCO_OK;
    (void)a; (void)n; (void)r;
    BUMP(refresh_calls);
    for (i = 0; i < rows && rc == COCO_OK; i++) {
        char k[32];
        snprintf(k, sizeof k, "row%d", i);
        rc = coco_declare(ctx, g_tgt, coco_str(k), coco_str("r"));
    }
    return rc;
}
static const coco_fn refresh_fn = { "refresh_fn", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, refresh_fn_body };
static coco_result refresh_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    return coco_mount_refresh(ctx, coco_str("rows"), &refresh_fn, NULL, 0, 20);
}
static const coco_fn refresh_main_fn = { "refresh_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, refresh_main };
static void live02_refresh_reruns_on_interval(void) {
    world w;
    pthread_t th;
    live_run lr;
    world_new(&w);
    g_rows = 3;
    refresh_calls = 0;
    g_ready = 0;
    REQUIRE(world_open(&w, &refresh_main_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);             /* catch-up: runs once */
    CHECK_INT_EQ(refresh_calls, 1);
    CHECK_INT_EQ(T.n, 3);
    lr.app = w.app;
    REQUIRE(pthread_create(&th, NULL, live_thread, &lr) == 0);
    while (!LOAD(g_ready)) usleep(1000);
    __atomic_store_n(&g_rows, 1, __ATOMIC_SEQ_CST);
    CHECK(wait_for("row2", NULL));
    CHECK(wait_for("row1", NULL));
    CHECK(wait_for("row0", "r"));
    coco_app_stop(w.app);
    pthread_join(th, NULL);
    CHECK_INT_EQ(lr.rc, COCO_OK);
    CHECK(LOAD(refresh_calls) >= 3);
    world_close(&w);
}

/* LIVE-03: LiveMap between a refreshed producer and a live consumer */
static coco_livemap* g_lm;
static int lm_consumer_calls;
static coco_result lm_producer(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    int i;
    coco_result rc = COCO_OK;
    (void)a; (void)n; (void)r;
    coco__mutex_lock(&g_tmutex);
    for (i = 0; i < g_ndocs && rc == COCO_OK; i++)
        rc = coco_declare(ctx, coco_livemap_target(g_lm), coco_str(g_docs[i].name),
                          coco_str(g_docs[i].text));
    coco__mutex_unlock(&g_tmutex);
    return rc;
}
static const coco_fn lm_producer_fn = { "lm_producer", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, lm_producer };
static coco_result lm_consumer(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    char up[128];
    size_t i;
    (void)n; (void)r;
    BUMP(lm_consumer_calls);
    for (i = 0; i < a[0].u.s.len && i < sizeof up - 1; i++)
        up[i] = (char)(a[0].u.s.ptr[i] >= 'a' && a[0].u.s.ptr[i] <= 'z' ? a[0].u.s.ptr[i] - 32 : a[0].u.s.ptr[i]);
    up[i] = 0;
    return coco_declare(ctx, g_tgt, coco_strn(up, i), coco_str("seen"));
}
static const coco_fn lm_consumer_fn = { "lm_consumer", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, lm_consumer };
static coco_result lm_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_result rc;
    (void)a; (void)n; (void)r;
    if ((rc = coco_mount_refresh(ctx, coco_str("producer"), &lm_producer_fn, NULL, 0, 20))) return rc;
    return coco_mount_livemap(ctx, coco_str("consumer"), g_lm, &lm_consumer_fn);
}
static const coco_fn lm_main_fn = { "lm_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, lm_main };
static void live03_livemap_propagates_only_changes(void) {
    world w;
    pthread_t th;
    live_run lr;
    int settled;
    world_new(&w);
    docs_set("a", "alpha");
    docs_set("b", "beta");
    lm_consumer_calls = 0;
    g_ready = 0;
    REQUIRE(world_open(&w, &lm_main_fn, "app") == COCO_OK);
    REQUIRE(coco_livemap_create(w.env, "lm", &g_lm) == COCO_OK);
    lr.app = w.app;
    REQUIRE(pthread_create(&th, NULL, live_thread, &lr) == 0);
    while (!LOAD(g_ready)) usleep(1000);
    CHECK(wait_for("ALPHA", "seen"));
    CHECK(wait_for("BETA", "seen"));
    usleep(100000);                                  /* several refreshes, nothing changed */
    settled = LOAD(lm_consumer_calls);
    CHECK_INT_EQ(settled, 2);
    coco__mutex_lock(&g_tmutex);
    docs_set("a", "alpha two");
    docs_del("b");
    coco__mutex_unlock(&g_tmutex);
    CHECK(wait_for("ALPHA TWO", "seen"));
    CHECK(wait_for("BETA", NULL));
    CHECK(wait_for("ALPHA", NULL));
    CHECK_INT_EQ(LOAD(lm_consumer_calls), 3);        /* only the changed entry re-ran */
    coco_app_stop(w.app);
    pthread_join(th, NULL);
    CHECK_INT_EQ(lr.rc, COCO_OK);
    world_close(&w);
}
#endif


/* ---- batching and serial functions ----------------------------------------------------------- */
static int g_batches, g_batch_items, g_batch_max_seen, g_in_serial, g_serial_overlap;
static coco_result embed_batch(void* user, const coco_value* items, size_t n, coco_value* rets,
                               coco_arena* ar, char* err, size_t cap) {
    size_t i;
    (void)user; (void)ar; (void)err; (void)cap;
    BUMP(g_batches);
    __atomic_fetch_add(&g_batch_items, (int)n, __ATOMIC_SEQ_CST);
    if ((int)n > __atomic_load_n(&g_batch_max_seen, __ATOMIC_SEQ_CST))
        __atomic_store_n(&g_batch_max_seen, (int)n, __ATOMIC_SEQ_CST);
    usleep(5000);                                   /* a slow service: callers pile up */
    for (i = 0; i < n; i++) rets[i] = coco_int(items[i].u.i * 2);
    return COCO_OK;
}
static const coco_fn embed_fn = { "embed", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, NULL };
static coco_result serial_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)ctx; (void)n;
    if (__atomic_add_fetch(&g_in_serial, 1, __ATOMIC_SEQ_CST) > 1) BUMP(g_serial_overlap);
    usleep(1000);
    __atomic_sub_fetch(&g_in_serial, 1, __ATOMIC_SEQ_CST);
    *r = a[0];
    return COCO_OK;
}
static const coco_fn serial_fn = { "gpu", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, serial_body };
static coco_result batch_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value e, g;
    coco_result rc;
    char k[32];
    (void)n; (void)r;
    if ((rc = coco_call(ctx, &embed_fn, a, 1, &e)) != COCO_OK) return rc;
    if ((rc = coco_call(ctx, &serial_fn, &e, 1, &g)) != COCO_OK) return rc;
    snprintf(k, sizeof k, "e%lld", (long long)a[0].u.i);
    return coco_declare(ctx, g_tgt, coco_str(k), g);
}
static const coco_fn batch_child_fn = { "batch_child", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, batch_child };
static coco_result batch_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value keys[40], items[40];
    int i;
    (void)a; (void)n; (void)r;
    for (i = 0; i < 40; i++) { keys[i] = coco_int(i); items[i] = coco_int(i); }
    return coco_mount_each(ctx, &batch_child_fn, keys, items, 40);
}
static const coco_fn batch_main_fn = { "batch_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, batch_main };

static void batch_calls_coalesce_and_serial_runs_alone(void) {
    world w;
    coco_env_desc ed;
    coco_app_desc ad;
    world_new(&w);
    memset(&ed, 0, sizeof ed);
    ed.db_path = w.db;
    ed.sync = COCO_SYNC_NONE;
    ed.threads = 4;
    REQUIRE(coco_env_open(&ed, &w.env) == COCO_OK);
    REQUIRE(coco_target_register(w.env, "mem", &mt_vt, &T, &g_tgt) == COCO_OK);
    REQUIRE(coco_fn_batch(w.env, &embed_fn, embed_batch, NULL, 8) == COCO_OK);
    REQUIRE(coco_fn_serial(w.env, &serial_fn) == COCO_OK);
    memset(&ad, 0, sizeof ad);
    ad.name = "app";
    ad.main = &batch_main_fn;
    REQUIRE(coco_app_create(w.env, &ad, &w.app) == COCO_OK);
    g_batches = g_batch_items = g_batch_max_seen = g_serial_overlap = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_batch_items, 40);
    CHECK(g_batch_max_seen <= 8);
#if !defined(COCO_NO_THREADS)
    CHECK(g_batch_max_seen > 1);                    /* concurrent calls were coalesced */
    CHECK(g_batches < 40);
#endif
    CHECK_INT_EQ(g_serial_overlap, 0);
    CHECK_INT_EQ(T.n, 40);
    CHECK_STR_EQ(mt_get(&T, "e7"), "14");
    g_batch_items = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);              /* memoized per call: nothing re-sent */
    CHECK_INT_EQ(g_batch_items, 0);
    world_close(&w);
}


/* coco_map_call of a batched function sends a component's memo misses together. */
static int g_mb_batches, g_mb_items, g_mb_fail, g_mb_sizes[16], g_mb_tweak;
static coco_result map_batch(void* user, const coco_value* items, size_t n, coco_value* rets,
                             coco_arena* ar, char* err, size_t cap) {
    size_t i;
    (void)user; (void)ar;
    if (g_mb_batches < 16) g_mb_sizes[g_mb_batches] = (int)n;
    g_mb_batches++;
    g_mb_items += (int)n;
    if (g_mb_fail) { snprintf(err, cap, "service said no"); return COCO_ERR_IO; }
    for (i = 0; i < n; i++) rets[i] = coco_int(items[i].u.i * 3);
    return COCO_OK;
}
static const coco_fn map_embed_fn = { "map_embed", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, NULL };
static coco_result mb_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value items[20], rets[20];
    coco_result rc;
    int i;
    char k[16];
    (void)a; (void)n; (void)r;
    for (i = 0; i < 20; i++) items[i] = coco_int(i == 5 ? 100 + g_mb_tweak : i);
    if ((rc = coco_map_call(ctx, &map_embed_fn, items, 20, rets)) != COCO_OK) return rc;
    for (i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "m%d", i);
        if ((rc = coco_declare(ctx, g_tgt, coco_str(k), rets[i])) != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn mb_main_fn = { "mb_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, mb_main };

static void batch_map_call_sends_misses_together(void) {
    world w;
    coco_env_desc ed;
    coco_app_desc ad;
    world_new(&w);
    memset(&ed, 0, sizeof ed);
    ed.db_path = w.db;
    ed.sync = COCO_SYNC_NONE;
    ed.threads = 1;                                 /* no concurrency: map_call alone batches */
    REQUIRE(coco_env_open(&ed, &w.env) == COCO_OK);
    REQUIRE(coco_target_register(w.env, "mem", &mt_vt, &T, &g_tgt) == COCO_OK);
    REQUIRE(coco_fn_batch(w.env, &map_embed_fn, map_batch, NULL, 8) == COCO_OK);
    memset(&ad, 0, sizeof ad);
    ad.name = "app";
    ad.main = &mb_main_fn;
    REQUIRE(coco_app_create(w.env, &ad, &w.app) == COCO_OK);
    g_mb_batches = g_mb_items = g_mb_fail = g_mb_tweak = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_mb_batches, 3);                  /* 8 + 8 + 4, not 20 single calls */
    CHECK_INT_EQ(g_mb_sizes[0], 8);
    CHECK_INT_EQ(g_mb_sizes[2], 4);
    CHECK_INT_EQ(T.n, 20);
    CHECK_STR_EQ(mt_get(&T, "m7"), "21");
    CHECK_STR_EQ(mt_get(&T, "m5"), "300");
    g_mb_batches = g_mb_items = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);              /* every call memoized */
    CHECK_INT_EQ(g_mb_batches, 0);
    g_mb_tweak = 1;                                 /* one argument changes: one item sent */
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_mb_batches, 1);
    CHECK_INT_EQ(g_mb_items, 1);
    CHECK_STR_EQ(mt_get(&T, "m5"), "303");
    CHECK_STR_EQ(mt_get(&T, "m6"), "18");
    {
        coco_fn_stats st[8];
        size_t i, n = coco_app_stats_snapshot(w.app, st, 8);
        for (i = 0; i < n && strcmp(st[i].name, "map_embed"); i++) {}
        REQUIRE(i < n);
        CHECK_INT_EQ(st[i].unchanged, 19);
        CHECK_INT_EQ(st[i].started, 1);
    }
    g_mb_tweak = 2;                                 /* the service fails: so does the update */
    g_mb_fail = 1;
    CHECK(update(&w) != COCO_OK);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "service said no");
    CHECK_STR_EQ(mt_get(&T, "m5"), "303");          /* nothing half-written */
    g_mb_fail = 0;
    g_mb_batches = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(g_mb_batches, 1);
    CHECK_STR_EQ(mt_get(&T, "m5"), "306");
    world_close(&w);
}

/* ---- containers: a tiny "database" of tables with rows ------------------------------------- */
#define DB_TABLES 8
typedef struct tdb_table { char name[32]; char pk[16]; int exists, user_owned; mem_target rows; } tdb_table;
static struct { tdb_table t[DB_TABLES]; int creates, drops, alters; char log[1024]; } DB;
static tdb_table* tdb_find(const char* name) {
    int i;
    for (i = 0; i < DB_TABLES; i++) if (DB.t[i].exists && strcmp(DB.t[i].name, name) == 0) return &DB.t[i];
    return NULL;
}
static tdb_table* tdb_create(const char* name, const char* pk) {
    int i;
    for (i = 0; i < DB_TABLES; i++)
        if (!DB.t[i].exists) {
            memset(&DB.t[i], 0, sizeof DB.t[i]);
            snprintf(DB.t[i].name, sizeof DB.t[i].name, "%s", name);
            snprintf(DB.t[i].pk, sizeof DB.t[i].pk, "%s", pk);
            DB.t[i].exists = 1;
            return &DB.t[i];
        }
    return NULL;
}
static const char* spec_field(const coco_value* spec, const char* k, char* buf, size_t cap) {
    size_t i;
    buf[0] = 0;
    for (i = 0; spec->kind == COCO_MAP && i < spec->u.map.count; i++)
        if (spec->u.map.entries[i].key_len == strlen(k) && !memcmp(spec->u.map.entries[i].key, k, strlen(k)))
            render(&spec->u.map.entries[i].val, buf, cap);
    return buf;
}
/* tracking = fp(spec) (16 bytes) + the primary key's name */
static coco_result tdb_reconcile(void* user, const coco_value* key, const coco_value* desired,
                                 const coco_bytes* prev, size_t nprev, int may_missing,
                                 coco_arena* ar, coco_action* out) {
    char pk[16], managed[16];
    coco_fp f;
    unsigned char* tr;
    size_t i;
    int same = nprev > 0 && !may_missing;
    (void)user; (void)key;
    if (!desired) { out->kind = nprev ? COCO_ACTION_DELETE : COCO_ACTION_NONE; return COCO_OK; }
    spec_field(desired, "pk", pk, sizeof pk);
    spec_field(desired, "managed", managed, sizeof managed);
    coco_value_fp(ar, desired, &f);
    tr = (unsigned char*)coco_arena_alloc(ar, 16 + strlen(pk));
    memcpy(tr, f.bytes, 16);
    memcpy(tr + 16, pk, strlen(pk));
    out->tracking.ptr = tr;
    out->tracking.len = 16 + strlen(pk);
    for (i = 0; i < nprev && same; i++)
        same = prev[i].len == out->tracking.len && !memcmp(prev[i].ptr, tr, prev[i].len);
    out->kind = same ? COCO_ACTION_NONE : COCO_ACTION_UPSERT;
    out->child_invalidation = COCO_INVALIDATE_NONE;
    for (i = 0; i < nprev && out->kind == COCO_ACTION_UPSERT; i++) {
        int pk_same = prev[i].len == out->tracking.len && !memcmp((const char*)prev[i].ptr + 16, pk, strlen(pk));
        out->child_invalidation = pk_same ? COCO_INVALIDATE_LOSSY : COCO_INVALIDATE_DESTRUCTIVE;
        if (!pk_same) break;
    }
    return COCO_OK;
}
static coco_result tdb_apply(void* user, const coco_action* acts, size_t n, char* err, size_t cap) {
    size_t i;
    (void)user; (void)err; (void)cap;
    for (i = 0; i < n; i++) {
        char name[32], pk[16], managed[16];
        tdb_table* t;
        render(&acts[i].key, name, sizeof name);
        t = tdb_find(name);
        if (acts[i].kind == COCO_ACTION_DELETE) {
            if (t && !t->user_owned) { t->exists = 0; DB.drops++; strcat(DB.log, "drop "); }
            continue;
        }
        spec_field(&acts[i].value, "pk", pk, sizeof pk);
        spec_field(&acts[i].value, "managed", managed, sizeof managed);
        if (strcmp(managed, "user") == 0) continue;       /* TGT-07: never created by us */
        if (t && acts[i].child_invalidation == COCO_INVALIDATE_DESTRUCTIVE) {
            t->exists = 0; DB.drops++; t = NULL; strcat(DB.log, "drop ");
        }
        if (!t) { tdb_create(name, pk); DB.creates++; strcat(DB.log, "create "); }
        else { DB.alters++; strcat(DB.log, "alter "); }
    }
    return COCO_OK;
}
static coco_result rows_apply(void* user, const coco_action* acts, size_t n, char* err, size_t cap) {
    tdb_table* t = tdb_find((const char*)user);
    if (!t) { snprintf(err, cap, "no table %s", (const char*)user); return COCO_ERR_CONNECTOR; }
    if (acts[0].kind == COCO_ACTION_UPSERT) strcat(DB.log, "rows ");
    return mt_apply(&t->rows, acts, n, err, cap);
}
static const coco_target_vtable tdb_vt = { tdb_reconcile, tdb_apply };
static const coco_target_vtable rows_vt = { NULL, rows_apply };
static coco_result tdb_child_open(void* user, const coco_value* key, const coco_target_vtable** vt,
                                  void** cu) {
    static char names[DB_TABLES][32];
    static int n;
    (void)user;
    render(key, names[n % DB_TABLES], sizeof names[0]);
    *cu = names[n++ % DB_TABLES];
    *vt = &rows_vt;
    return COCO_OK;
}
static coco_target* g_tables;
static const char* g_pk = "id";
static const char* g_extra_col = "";
static const char* g_managed = "us";
static int g_with_index = 1;
static int row_calls;
static coco_result row_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_target* rows = (coco_target*)a[0].u.obj.obj;
    char k[32];
    (void)n; (void)r;
    BUMP(row_calls);
    snprintf(k, sizeof k, "row%lld", (long long)a[1].u.i);
    return coco_declare(ctx, rows, coco_str(k), coco_str("v"));
}
static coco_result tgt_obj_key(const void* o, coco_arena* ar, coco_value* out) {
    (void)o; (void)ar;
    *out = coco_str("rows-target");
    return COCO_OK;
}
static const coco_object_vtable tgt_obj_vt = { "target", tgt_obj_key, NULL };
static const coco_fn row_child_fn = { "row_child", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, row_child };
static coco_result tables_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_map_entry spec[3];
    coco_target* rows;
    coco_result rc;
    int i;
    (void)a; (void)n; (void)r;
    spec[0].key = "pk"; spec[0].key_len = 2; spec[0].val = coco_str(g_pk);
    spec[1].key = "cols"; spec[1].key_len = 4; spec[1].val = coco_str(g_extra_col);
    spec[2].key = "managed"; spec[2].key_len = 7; spec[2].val = coco_str(g_managed);
    if ((rc = coco_mount_target(ctx, g_tables, coco_str("docs"), coco_map(spec, 3), &rows))) return rc;
    for (i = 0; i < 3; i++) {
        coco_value args[2];
        args[0] = coco_object(&tgt_obj_vt, rows);
        args[1] = coco_int(i);
        if ((rc = coco_mount(ctx, coco_int(i), &row_child_fn, args, 2)) != COCO_OK) return rc;
    }
    if (g_with_index)   /* TGT-08: an attachment of the table */
        return coco_declare(ctx, rows, coco_str("__index_vec"), coco_str("hnsw"));
    return COCO_OK;
}
static const coco_fn tables_fn = { "tables_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, tables_main };
static coco_result tables_open(world* w) {
    coco_result rc = world_open(w, &tables_fn, "app");
    if (rc == COCO_OK)
        rc = coco_target_register_container(w->env, "tables", &tdb_vt, NULL, tdb_child_open, &g_tables);
    return rc;
}

/* TGT-06, TGT-08, COMP-06 (container before its children) */
/* Keys of the state db that belong to app `name` (prefix "A" name NUL). */
static int count_key(void* user, coco_bytes k, coco_bytes v) {
    (void)k; (void)v;
    ++*(int*)user;
    return 0;
}
static int app_keys_left(world* w, const char* name) {
    coco_scan_desc sd;
    char prefix[64];
    int n = 0;
    size_t len = (size_t)snprintf(prefix, sizeof prefix, "A%s", name) + 1;
    memset(&sd, 0, sizeof sd);
    sd.prefix.ptr = prefix;
    sd.prefix.len = len;
    if (coco_store_scan(coco_env_store(w->env), &sd, count_key, &n) != COCO_OK) return -1;
    return n;
}
/* Keys of app `name` with the tag `tag` ('c' component records, 'z' tombstones, ...). */
static int app_keys_tagged(world* w, const char* name, char tag) {
    coco_scan_desc sd;
    char prefix[64];
    int n = 0;
    size_t len = (size_t)snprintf(prefix, sizeof prefix, "A%s", name) + 1;
    prefix[len++] = tag;
    memset(&sd, 0, sizeof sd);
    sd.prefix.ptr = prefix;
    sd.prefix.len = len;
    if (coco_store_scan(coco_env_store(w->env), &sd, count_key, &n) != COCO_OK) return -1;
    return n;
}

static void tgt06_08_container_schema_changes_backfill(void) {
    world w;
    tdb_table* t;
    world_new(&w);
    memset(&DB, 0, sizeof DB);
    g_pk = "id"; g_extra_col = ""; g_managed = "us"; g_with_index = 1;
    row_calls = 0;
    REQUIRE(tables_open(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    REQUIRE((t = tdb_find("docs")) != NULL);
    CHECK_INT_EQ(t->rows.n, 4);                     /* 3 rows + the index attachment */
    CHECK(strncmp(DB.log, "create rows", 11) == 0); /* the table before anything in it */
    CHECK_INT_EQ(row_calls, 3);
    CHECK_INT_EQ(update(&w), COCO_OK);              /* nothing changed */
    CHECK_INT_EQ(row_calls, 3);
    CHECK_INT_EQ(DB.creates + DB.alters + DB.drops, 1);
    g_extra_col = "title";                          /* lossy: altered, rows written again */
    t->rows.inserts = t->rows.updates = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(DB.alters, 1);
    CHECK_INT_EQ(row_calls, 6);                     /* the producers re-ran */
    CHECK_INT_EQ(t->rows.updates, 4);
    g_pk = "uuid";                                  /* destructive: recreated, backfilled */
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(DB.drops, 1);
    CHECK_INT_EQ(DB.creates, 2);
    REQUIRE((t = tdb_find("docs")) != NULL);
    CHECK_STR_EQ(t->pk, "uuid");
    CHECK_INT_EQ(t->rows.n, 4);
    CHECK_INT_EQ(t->rows.inserts, 4);
    CHECK_INT_EQ(row_calls, 9);
    g_with_index = 0;                               /* TGT-08: attachment no longer declared */
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(t->rows.n, 3);
    CHECK(mt_get(&t->rows, "__index_vec") == NULL);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(row_calls, 9);
    world_close(&w);
    /* drop from tracking records alone: rows first, then the table */
    REQUIRE(tables_open(&w) == COCO_OK);
    CHECK_INT_EQ(coco_app_drop(w.app), COCO_OK);
    CHECK(tdb_find("docs") == NULL);
    CHECK_INT_EQ(app_keys_left(&w, "app"), 0);      /* nothing of the app stays in the db */
    world_close(&w);
}

/* TGT-07 */
static void tgt07_user_managed_container_is_never_created_or_dropped(void) {
    world w;
    tdb_table* t;
    world_new(&w);
    memset(&DB, 0, sizeof DB);
    g_pk = "id"; g_extra_col = ""; g_managed = "user"; g_with_index = 0;
    t = tdb_create("docs", "id");
    t->user_owned = 1;
    REQUIRE(tables_open(&w) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(DB.creates, 0);
    CHECK_INT_EQ(t->rows.n, 3);                     /* rows are still ours */
    CHECK_INT_EQ(coco_app_drop(w.app), COCO_OK);
    CHECK(tdb_find("docs") != NULL);                /* the table stays */
    CHECK_INT_EQ(t->rows.n, 0);
    g_managed = "us";
    world_close(&w);
}


/* ---- error handlers, keys, map, memo details, uuids ------------------------------------------ */
static int g_scoped_seen, g_env_seen;
static char g_scoped_path[128];
static int scoped_handler(void* user, const coco_error_info* e) {
    (void)user;
    BUMP(g_scoped_seen);
    coco__mutex_lock(&g_tmutex);
    snprintf(g_scoped_path, sizeof g_scoped_path, "%s", e->path);
    coco__mutex_unlock(&g_tmutex);
    return strstr(e->path, "handled") != NULL;   /* deals with one child, passes the other on */
}
static void env_handler(void* user, const coco_error_info* e) { (void)user; (void)e; BUMP(g_env_seen); }
static coco_result failing_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    return coco_ctx_fail(ctx, COCO_ERR_CONNECTOR, "child fails");
}
static const coco_fn failing_fn = { "failing", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, failing_body };
static coco_result handlers_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_result rc;
    (void)a; (void)n; (void)r;
    coco_ctx_on_error(ctx, scoped_handler, NULL);
    if ((rc = coco_mount(ctx, coco_str("handled"), &failing_fn, NULL, 0)) != COCO_OK) return rc;
    if ((rc = coco_mount(ctx, coco_str("passed-on"), &failing_fn, NULL, 0)) != COCO_OK) return rc;
    return coco_declare(ctx, g_tgt, coco_str("root"), coco_str("fine"));
}
static const coco_fn handlers_fn = { "handlers_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, handlers_main };

/* a background child's failure is isolated; handlers see it, nearest first */
static void errors_scoped_handlers_and_isolated_failures(void) {
    world w;
    coco_env_desc ed;
    coco_app_desc ad;
    coco_stats st;
    world_new(&w);
    memset(&ed, 0, sizeof ed);
    ed.db_path = w.db;
    ed.on_error = env_handler;
    g_scoped_seen = g_env_seen = 0;
    REQUIRE(coco_env_open(&ed, &w.env) == COCO_OK);
    REQUIRE(coco_target_register(w.env, "mem", &mt_vt, &T, &g_tgt) == COCO_OK);
    memset(&ad, 0, sizeof ad);
    ad.name = "app";
    ad.main = &handlers_fn;
    REQUIRE(coco_app_create(w.env, &ad, &w.app) == COCO_OK);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);   /* not on the critical path */
    CHECK_STR_EQ(mt_get(&T, "root"), "fine");
    CHECK_INT_EQ(g_scoped_seen, 2);
    CHECK_INT_EQ(g_env_seen, 1);                    /* only the one passed on */
    CHECK(stat_of(&st, "failing") && stat_of(&st, "failing")->errors == 2);
    {
        coco_fn_stats snap[8];
        size_t n = coco_app_stats_snapshot(w.app, snap, 8);
        CHECK(n >= 2);
    }
    world_close(&w);
}

/* COMP-05: symbol vs string, int vs string, tuples */
static coco_result keys_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value tup[2];
    coco_result rc = COCO_OK;
    (void)a; (void)n; (void)r;
    tup[0] = coco_str("a"); tup[1] = coco_int(1);
    if (!rc) rc = coco_mount(ctx, coco_symbol("x"), &trivial_fn, NULL, 0);
    if (!rc) rc = coco_mount(ctx, coco_str("x"), &trivial_fn, NULL, 0);
    if (!rc) rc = coco_mount(ctx, coco_int(1), &trivial_fn, NULL, 0);
    if (!rc) rc = coco_mount(ctx, coco_str("1"), &trivial_fn, NULL, 0);
    if (!rc) rc = coco_mount(ctx, coco_list(tup, 2), &trivial_fn, NULL, 0);
    if (!rc) rc = coco_mount(ctx, coco_float(1.5), &trivial_fn, NULL, 0);  /* not a key kind */
    return rc;
}
static const coco_fn keys_fn = { "keys_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, keys_main };
static void comp05_key_kinds_are_distinct(void) {
    world w;
    world_new(&w);
    REQUIRE(world_open(&w, &keys_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_ERR_INVALID_ARG);   /* the float key, after five distinct */
    CHECK_INT_EQ(calls_main, 5);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "child key of kind");
    world_close(&w);
}

/* COMP-07: map_call returns results in input order, no child components */
static coco_result map_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value items[5], rets[5];
    coco_result rc;
    int i;
    (void)a; (void)n; (void)r;
    for (i = 0; i < 5; i++) items[i] = coco_int(i);
    if ((rc = coco_map_call(ctx, &helper_fn, items, 5, rets)) != COCO_OK) return rc;
    for (i = 0; i < 5; i++) if (rets[i].u.i != i + 1) return COCO_ERR_STATE;
    return COCO_OK;
}
static const coco_fn map_fn = { "map_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, map_main };
static void comp07_map_call_in_order_without_children(void) {
    world w;
    coco_store_stats ss;
    world_new(&w);
    fns_set(1, COCO_TRACK_FULL, 1, 1, NULL);
    REQUIRE(world_open(&w, &map_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    coco_store_stats_get(coco_env_store(w.env), &ss);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'c'), 1);   /* the root's record only */
    /* and the two markers that spare later runs a scan: no link entry, no tombstone */
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'l'), 1);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'y'), 1);
    CHECK_INT_EQ(ss.keys, 3);
    world_close(&w);
}
/* A new child's record commits before its parent's record lists it.  When the parent never
   commits (it fails after mounting, or the process dies in between), a later run that no
   longer mounts the child must still delete the child's target states (guarantee 3). */
static int g_docs_fail;
static coco_result docs_failing_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_result rc = docs_main(ctx, a, n, r);
    if (rc == COCO_OK && g_docs_fail) return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "asked to fail");
    return rc;
}
static const coco_fn docs_failing_fn = { "docs_failing_main", 1, NULL, 0, COCO_TRACK_DEFAULT,
                                         NULL, docs_failing_main };

/* the children list of the root's record: count, and 1 when all are distinct fingerprints */
static int root_kids(world* w, int* distinct) {
    coco_arena* ar;
    coco_value root = coco_list(NULL, 0), rec;
    coco_fp rf;
    coco_bytes k, raw;
    const coco_value* c;
    int n = -1;
    size_t i, j;
    *distinct = 0;
    if (coco_arena_create(NULL, &ar) != COCO_OK) return -1;
    if (coco_value_fp(ar, &root, &rf) == COCO_OK) {
        k = coco__app_key(ar, w->app, 'c', &rf);
        if (coco_store_get(coco_env_store(w->env), k.ptr, k.len, ar, &raw) == COCO_OK &&
            coco_value_decode(ar, raw.ptr, raw.len, &rec) == COCO_OK &&
            (c = coco__field(&rec, "c")) != NULL && c->kind == COCO_LIST) {
            n = (int)c->u.list.count;
            *distinct = 1;
            for (i = 0; i < c->u.list.count; i++) {
                const coco_value* a = &c->u.list.items[i];
                if (a->kind != COCO_BYTES || a->u.s.len != 16) *distinct = 0;
                for (j = 0; j < i && *distinct; j++)
                    if (memcmp(c->u.list.items[j].u.s.ptr, a->u.s.ptr, 16) == 0) *distinct = 0;
            }
        }
    }
    coco_arena_destroy(ar);
    return n;
}

static void comp09_child_of_a_failed_parent_is_cleaned_up_later(void) {
    world w;
    int threads;
    for (threads = 1; threads <= 4; threads += 3) {
        coco_env_desc ed;
        coco_app_desc ad;
        world_new(&w);
        child_fn_set(1, 1);
        g_docs_fail = 0;
        docs_set("a", "alpha");
        memset(&ed, 0, sizeof ed);
        ed.db_path = w.db;
        ed.sync = COCO_SYNC_NONE;
        ed.threads = (uint32_t)threads;
        REQUIRE(coco_env_open(&ed, &w.env) == COCO_OK);
        REQUIRE(coco_target_register(w.env, "mem", &mt_vt, &T, &g_tgt) == COCO_OK);
        memset(&ad, 0, sizeof ad);
        ad.name = "app";
        ad.main = &docs_failing_fn;
        REQUIRE(coco_app_create(w.env, &ad, &w.app) == COCO_OK);
        CHECK_INT_EQ(update(&w), COCO_OK);
        /* c is new: its state is written, then the parent fails and keeps its old record */
        docs_set("c", "gamma");
        docs_set("d", "delta");
        g_docs_fail = 1;
        CHECK(update(&w) != COCO_OK);
        CHECK_STR_EQ(mt_get(&T, "c"), "gamma");
        {
            /* the kept record lists a, c and d: each once */
            int distinct;
            CHECK_INT_EQ(root_kids(&w, &distinct), 3);
            CHECK(distinct);
        }
        /* a second failing run changes nothing about that */
        CHECK(update(&w) != COCO_OK);
        /* c goes away; d stays; the parent succeeds: c's state must go, d's must stay */
        docs_del("c");
        g_docs_fail = 0;
        mt_reset_counts(&T);
        CHECK_INT_EQ(update(&w), COCO_OK);
        CHECK(mt_get(&T, "c") == NULL);
        CHECK_STR_EQ(mt_get(&T, "d"), "delta");
        CHECK_STR_EQ(mt_get(&T, "a"), "alpha");
        CHECK_INT_EQ(T.deletes, 1);
        CHECK_INT_EQ(T.inserts + T.updates, 0);
        /* and the run after that has nothing to do */
        mt_reset_counts(&T);
        CHECK_INT_EQ(update(&w), COCO_OK);
        CHECK_INT_EQ(mt_writes(&T), 0);
        world_close(&w);
    }
}


/* A tombstone kept for a later run (its target is not registered, or its delete failed) is
   retried by runs that change nothing (so no run may skip the tombstone pass just because
   nothing disappeared in it). */
static mem_target T2;
static coco_target* g_other;
static int g_tm_mode;                  /* 0: "a" and "o"; 1: "a" only; 2: neither */
static coco_result tm_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_result rc = COCO_OK;
    (void)a; (void)n; (void)r;
    if (g_tm_mode < 2) rc = coco_declare(ctx, g_tgt, coco_str("a"), coco_str("A"));
    if (rc == COCO_OK && g_tm_mode == 0) rc = coco_declare(ctx, g_other, coco_str("o"), coco_str("O"));
    return rc;
}
static const coco_fn tm_fn = { "tm_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, tm_main };
static coco_result tm_open(world* w, int with_other) {
    coco_result rc = world_open(w, &tm_fn, "app");
    if (rc == COCO_OK && with_other) rc = coco_target_register(w->env, "other", &mt_vt, &T2, &g_other);
    return rc;
}
static void tomb_kept_ones_are_retried_by_runs_that_change_nothing(void) {
    world w;
    coco_stats st;
    world_new(&w);
    memset(&T2, 0, sizeof T2);
    g_tm_mode = 0;
    REQUIRE(tm_open(&w, 1) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_STR_EQ(mt_get(&T2, "o"), "O");
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'z'), 0);
    world_close(&w);
    /* "o" is no longer declared and its target is not registered: the tombstone stays */
    g_tm_mode = 1;
    REQUIRE(tm_open(&w, 0) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'z'), 1);
    CHECK_INT_EQ(update(&w), COCO_OK);               /* nothing changed: still kept */
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'z'), 1);
    world_close(&w);
    /* the target is back: a run that changes nothing deletes it */
    REQUIRE(tm_open(&w, 1) == COCO_OK);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(T2.deletes, 1);
    CHECK(mt_get(&T2, "o") == NULL);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'z'), 0);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ((int)st.commits, 0);
    /* a failed delete: kept, then retried by a run that changes nothing */
    g_tm_mode = 2;
    T.fail = 1;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_STR_EQ(mt_get(&T, "a"), "A");
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'z'), 1);
    T.fail = 0;
    mt_reset_counts(&T);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.deletes, 1);
    CHECK(mt_get(&T, "a") == NULL);
    CHECK_INT_EQ(app_keys_tagged(&w, "app", 'z'), 0);
    CHECK_INT_EQ(coco_app_drop(w.app), COCO_OK);
    CHECK_INT_EQ(app_keys_left(&w, "app"), 0);
    world_close(&w);
}

/* MEMO-11, MEMO-12, MEMO-13: call memo inside a re-run component */
static int g_chunks[4], g_nchunks;
static coco_result chunk_embed(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)ctx; (void)n;
    BUMP(calls_inner);
    *r = coco_int(a[0].u.i * 100);
    return COCO_OK;
}
static const coco_fn chunk_embed_fn = { "chunk_embed", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, chunk_embed };
static coco_result chunk_doc(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    int i;
    coco_result rc;
    (void)a; (void)n; (void)r;
    BUMP(calls_child);
    for (i = 0; i < g_nchunks; i++) {
        coco_value c = coco_int(g_chunks[i]), e;
        char k[32];
        if ((rc = coco_call(ctx, &chunk_embed_fn, &c, 1, &e)) != COCO_OK) return rc;
        snprintf(k, sizeof k, "chunk%d", i);
        if ((rc = coco_declare(ctx, g_tgt, coco_str(k), e)) != COCO_OK) return rc;
    }
    return COCO_OK;
}
static coco_fn chunk_doc_fn = { "chunk_doc", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, chunk_doc };
static coco_result chunk_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value arg = coco_int(g_chunks[0] * 1000 + g_nchunks * 10 + g_chunks[g_nchunks - 1]);
    (void)a; (void)n; (void)r;
    return coco_mount(ctx, coco_str("doc"), &chunk_doc_fn, &arg, 1);
}
static const coco_fn chunk_main_fn = { "chunk_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, chunk_main };
static void memo11_12_13_call_memo_inside_rerun_component(void) {
    world w;
    coco_store_stats s1, s2;
    world_new(&w);
    g_chunks[0] = 1; g_chunks[1] = 2; g_chunks[2] = 3; g_nchunks = 3;
    REQUIRE(world_open(&w, &chunk_main_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_inner, 3);
    g_chunks[2] = 4;                                  /* MEMO-11: one new chunk */
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_child, 2);
    CHECK_INT_EQ(calls_inner, 4);                     /* only the new chunk was embedded */
    world_close(&w);
    chunk_doc_fn.version = 2;                         /* MEMO-12: split logic changed, same chunks */
    REQUIRE(world_open(&w, &chunk_main_fn, "app") == COCO_OK);
    REQUIRE(coco_fn_register(w.env, &chunk_embed_fn) == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_child, 3);
    CHECK_INT_EQ(calls_inner, 4);                     /* every embed call was a hit */
    coco_store_stats_get(coco_env_store(w.env), &s1);
    g_nchunks = 1;                                    /* MEMO-13: entries not touched are dropped */
    CHECK_INT_EQ(update(&w), COCO_OK);
    coco_store_stats_get(coco_env_store(w.env), &s2);
    CHECK(s2.live_bytes < s1.live_bytes);
    g_nchunks = 3;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(calls_inner, 6);                     /* chunks 2 and 4 were forgotten */
    chunk_doc_fn.version = 1;
    world_close(&w);
}

/* ID-03 */
static uint8_t g_uuids[3][16];
static coco_result uuid_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_result rc = COCO_OK;
    (void)a; (void)n; (void)r;
    if (!rc) rc = coco_generate_uuid(ctx, coco_str("x"), g_uuids[0]);
    if (!rc) rc = coco_uuid_next(ctx, coco_str("c"), g_uuids[1]);
    if (!rc) rc = coco_uuid_next(ctx, coco_str("c"), g_uuids[2]);
    return rc;
}
static const coco_fn uuid_fn = { "uuid_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, uuid_main };
static void id03_uuids_are_stable_and_distinct(void) {
    world w;
    uint8_t first[3][16];
    world_new(&w);
    REQUIRE(world_open(&w, &uuid_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    memcpy(first, g_uuids, sizeof first);
    CHECK(memcmp(first[1], first[2], 16) != 0);
    CHECK_INT_EQ(first[0][6] >> 4, 4);               /* version 4 */
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_MEM_EQ(g_uuids, first, sizeof first);
    world_close(&w);
}


/* many states in one component: declaring stays linear (it once rebuilt an array per call) */
static size_t g_used_1k, g_used_4k;
static coco_result many_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    int i;
    coco_result rc = COCO_OK;
    (void)a; (void)n; (void)r;
    for (i = 0; i < 4000 && rc == COCO_OK; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%d", i);
        rc = coco_declare(ctx, g_tgt, coco_str(k), coco_int(i));
        if (i == 999) g_used_1k = coco_arena_used(coco_ctx_arena(ctx));
    }
    g_used_4k = coco_arena_used(coco_ctx_arena(ctx));
    return rc;
}
static const coco_fn many_fn = { "many", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, many_body };
static void tgt_many_declarations_cost_linear_memory(void) {
    world w;
    world_new(&w);
    REQUIRE(world_open(&w, &many_fn, "app") == COCO_OK);
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_INT_EQ(T.n, 4000);
    CHECK(g_used_4k < 6 * g_used_1k);              /* 4x the states: about 4x the memory */
    world_close(&w);
}

/* the root's own target states are on the update's critical path */
static void tgt_root_apply_failure_fails_the_update(void) {
    world w;
    world_new(&w);
    REQUIRE(world_open(&w, &trivial_fn, "app") == COCO_OK);
    T.fail = 1;
    CHECK_INT_EQ(update(&w), COCO_ERR_CONNECTOR);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "test target refuses");
    T.fail = 0;
    CHECK_INT_EQ(update(&w), COCO_OK);
    CHECK_STR_EQ(mt_get(&T, "only"), "value");
    world_close(&w);
}

/* A background child's target fails to apply: the update goes on and returns the root's
   result, the failure is reported and counted in coco_stats.apply_errors (coco_main exits 1
   on it), another target keeps what it applied, and the next update applies the child's
   pending states.  A failed delete of a removed child's state counts the same way. */
static mem_target U;                 /* a second target, which does not fail */
static coco_target* g_tgt2;
static coco_result split_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_result rc = docs_main(ctx, a, n, r);
    return rc != COCO_OK ? rc : coco_declare(ctx, g_tgt2, coco_str("root"), coco_str("R"));
}
static const coco_fn split_fn = { "split_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL,
                                  split_main };
static void tgt_child_apply_failure_is_counted_and_retried(void) {
    world w;
    coco_stats st;
    const coco_fn_stats* cs;
    world_new(&w);
    memset(&U, 0, sizeof U);
    child_fn_set(1, 1);
    docs_set("a", "alpha");
    docs_set("b", "beta");
    REQUIRE(world_open(&w, &split_fn, "app") == COCO_OK);
    REQUIRE(coco_target_register(w.env, "mem2", &mt_vt, &U, &g_tgt2) == COCO_OK);
    T.fail = 1;
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(st.apply_errors, 2);              /* one per child whose states failed */
    cs = stat_of(&st, "child");
    CHECK(cs && cs->errors == 0);                  /* the bodies did not fail */
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), "test target refuses");
    CHECK_INT_EQ(T.n, 0);
    CHECK_STR_EQ(mt_get(&U, "root"), "R");         /* the other target's work is kept */
    T.fail = 0;                                    /* retried: the states stayed pending */
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(st.apply_errors, 0);
    CHECK_STR_EQ(mt_get(&T, "a"), "alpha");
    CHECK_STR_EQ(mt_get(&T, "b"), "beta");
    mt_reset_counts(&T);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(mt_writes(&T), 0);
    CHECK_INT_EQ(st.apply_errors, 0);
    docs_del("b");                                 /* a failed delete counts too */
    T.fail = 1;
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(st.apply_errors, 1);
    CHECK_STR_EQ(mt_get(&T, "b"), "beta");
    T.fail = 0;
    mt_reset_counts(&T);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(st.apply_errors, 0);
    CHECK_INT_EQ(T.deletes, 1);
    CHECK(mt_get(&T, "b") == NULL);
    world_close(&w);
}

/* COCO_FN_SOURCE: the body's text is part of the logic fingerprint */
COCO_FN_SOURCE(sourced_body, {
    (void)ctx; (void)args; (void)nargs;
    *ret = coco_int(1);
    return COCO_OK;
})
static void fn_source_text_is_hashed_into_logic(void) {
    coco_fn a, b;
    world w;
    coco__fnreg *ra, *rb;
    coco_result rc = COCO_OK;
    world_new(&w);
    REQUIRE(world_open(&w, &trivial_fn, "app") == COCO_OK);
    memset(&a, 0, sizeof a);
    a.name = "sa"; a.body = sourced_body; a.source = sourced_body_source;
    b = a;
    b.name = "sb"; b.source = "{ different }";
    ra = coco__fn_reg(w.env, &a, &rc);
    rb = coco__fn_reg(w.env, &b, &rc);
    REQUIRE(ra && rb);
    CHECK(!coco_fp_eq(ra->logic, rb->logic));
    CHECK_STR_CONTAINS(sourced_body_source, "coco_int(1)");
    world_close(&w);
}

int main(int argc, char** argv) {
    snprintf(g_dir, sizeof g_dir, "/tmp/coco_test_engine.%ld", (long)getpid());
    mkdir(g_dir, 0755);
    coco__mutex_init(&g_tmutex);
    coco_test_begin("engine", argc, argv);
    RUN(app01_trivial_app_second_update_writes_nothing);
    RUN(comp01_mount_each_children_and_removal);
    RUN(memo01_02_unchanged_input_skips_changed_input_reruns);
    RUN(memo03_version_bump_reruns);
    RUN(memo06_07_outer_hit_skips_inner_and_keeps_deps);
    RUN(memo04_tracking_self_and_none);
    RUN(memo05_deps_value_change_invalidates);
    RUN(memo08_failed_call_writes_no_memo);
    RUN(memo09_memoized_function_that_mounts_is_an_error);
    RUN(ctx01_detect_change_invalidates_only_detecting_keys);
    RUN(ctx03_unprovided_key_names_the_key);
    RUN(tgt01_insert_update_delete_nothing);
    RUN(tgt02_same_key_twice_is_an_error);
    RUN(tgt05_ownership_transfer_is_not_delete_insert);
    RUN(comp02_06_recursive_cleanup_retried_and_children_first);
    RUN(comp04_duplicate_sibling_path_is_an_error);
    RUN(comp08_same_result_with_and_without_threads);
    RUN(comp03_use_mount_returns_after_targets_applied);
    RUN(app02_two_apps_share_a_db_without_interfering);
    RUN(app03_no_db_path_is_a_clear_error);
    RUN(app04_full_reprocess_reruns_and_reapplies);
    RUN(id01_02_stable_ids_across_runs);
    RUN(drop01_drop_reverts_everything_and_clears_state);
    RUN(tgt03_04_kill_in_submit_converges);
    RUN(tgt03_04_kill_then_new_child_removed_converges);
    RUN(fn_source_text_is_hashed_into_logic);
    RUN(memo10_touch_refreshes_state_content_change_reruns);
    RUN(batch_calls_coalesce_and_serial_runs_alone);
    RUN(batch_map_call_sends_misses_together);
    RUN(tgt06_08_container_schema_changes_backfill);
    RUN(tgt07_user_managed_container_is_never_created_or_dropped);
    RUN(errors_scoped_handlers_and_isolated_failures);
    RUN(comp05_key_kinds_are_distinct);
    RUN(comp07_map_call_in_order_without_children);
    RUN(memo11_12_13_call_memo_inside_rerun_component);
    RUN(id03_uuids_are_stable_and_distinct);
    RUN(tgt_many_declarations_cost_linear_memory);
    RUN(tgt_root_apply_failure_fails_the_update);
    RUN(tgt_child_apply_failure_is_counted_and_retried);
    RUN(mc_unchanged_kept_changed_size_or_mtime_reruns);
    RUN(mc_logic_deps_and_context_changes_rerun_all);
    RUN(mc_deleted_file_outputs_removed_kept_siblings_stay);
    RUN(mc_full_reprocess_reruns_everything);
    RUN(mc_group_memo_record_follows_the_children);
    RUN(mc_duplicate_key_among_many_is_an_error);
    RUN(mc_children_list_encodes_like_values);
    RUN(tomb_kept_ones_are_retried_by_runs_that_change_nothing);
    RUN(comp09_child_of_a_failed_parent_is_cleaned_up_later);
#if !defined(COCO_NO_THREADS)
    RUN(live01_04_live_changes_rerun_only_their_component);
    RUN(live02_refresh_reruns_on_interval);
    RUN(live03_livemap_propagates_only_changes);
#endif
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0) printf("# could not remove %s\n", g_dir);
    }
    return coco_test_end();
}
