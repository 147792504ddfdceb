/* bench/bench_engine.c -- engine overhead per component (PERF.md): N components with a trivial
   body and one in-memory target state each; first run (every component executes), then a
   no-change run (every component is a memo hit), then a run where every body runs but declares
   the same state (executed, no target write).  Prints microseconds per component.
   Usage: bench_engine [N] [db path]   (default 100000, a file under /tmp) */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include <stdio.h>

static long g_applied;
static coco_result null_apply(void* u, const coco_action* a, size_t n, char* e, size_t c) {
    (void)u; (void)a; (void)e; (void)c;
    g_applied += (long)n;
    return COCO_OK;
}
static const coco_target_vtable null_vt = { NULL, null_apply };
static coco_target* g_t;
static int g_salt;

static coco_result leaf(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)n; (void)r;
    return coco_declare(ctx, g_t, a[0], coco_int(a[0].u.i * 2));
}
static coco_fn leaf_fn = { "leaf", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, leaf };

static long g_n;
static coco_result root(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    long i;
    coco_value key, item;
    coco_result rc;
    (void)a; (void)n; (void)r;
    for (i = 0; i < g_n; i++) {
        key = coco_int(i);
        item = coco_int(i);
        if ((rc = coco_mount_each(ctx, &leaf_fn, &key, &item, 1)) != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn root_fn = { "root", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, root };

static double run_once(coco_app* app, int full) {
    coco_update_desc ud;
    coco_stats st;
    memset(&ud, 0, sizeof ud);
    ud.full_reprocess = full;
    if (coco_app_update(app, &ud, &st) != COCO_OK) {
        fprintf(stderr, "update failed: %s\n", coco_app_errmsg(app));
        exit(1);
    }
    return st.seconds;
}

int main(int argc, char** argv) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_env* env;
    coco_app* app;
    char db[256];
    double cold, hit, full, best_hit = 1e9, best_full = 1e9;
    int i;
    g_n = argc > 1 ? atol(argv[1]) : 100000;
    snprintf(db, sizeof db, "%s", argc > 2 ? argv[2] : "/tmp/coco_bench_engine.db");
    unlink(db);
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.threads = getenv("THREADS") ? (uint32_t)atoi(getenv("THREADS")) : 0;
    if (coco_env_open(&ed, &env) != COCO_OK) { fprintf(stderr, "%s\n", coco_store_open_errmsg()); return 1; }
    coco_target_register(env, "null", &null_vt, NULL, &g_t);
    memset(&ad, 0, sizeof ad);
    ad.name = "bench";
    ad.main = &root_fn;
    coco_app_create(env, &ad, &app);
    cold = run_once(app, 0);
    {
        /* BENCH_HITS / BENCH_FULLS change the number of repetitions (callgrind differences) */
        int hits = getenv("BENCH_HITS") ? atoi(getenv("BENCH_HITS")) : 5;
        int fulls = getenv("BENCH_FULLS") ? atoi(getenv("BENCH_FULLS")) : 3;
        for (i = 0; i < hits; i++) { hit = run_once(app, 0); if (hit < best_hit) best_hit = hit; }
        for (i = 0; i < fulls; i++) { full = run_once(app, 1); if (full < best_full) best_full = full; }
    }
    printf("engine n=%ld phase=first_run us_per_component=%.2f\n", g_n, cold * 1e6 / (double)g_n);
    printf("engine n=%ld phase=memo_hit us_per_component=%.2f goal=1.0\n", g_n, best_hit * 1e6 / (double)g_n);
    printf("engine n=%ld phase=executed_full_reprocess us_per_component=%.2f goal=5.0 (includes one upsert per component to a no-op target)\n",
           g_n, best_full * 1e6 / (double)g_n);
    coco_app_destroy(app);
    coco_env_close(env);
    unlink(db);
    return 0;
}
