/* tests/test_http_embed.c -- the HTTP embedder against a real local HTTP server (both wire
   formats, batching, retries, errors, memo through the engine). */
#define _GNU_SOURCE
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_http_embed.h"
#include "coco_test.h"
#include "http_server.h"
#include <math.h>

#define DIM 16

static ths_server* S;
static char base[64];

static double now_s(void) { return (double)coco__now_ns() / 1e9; }

static coco_http_embed* make(coco_http_embed_api api, const char* model, uint32_t batch) {
    coco_http_embed_desc d;
    coco_http_embed* e = NULL;
    char err[256];
    memset(&d, 0, sizeof d);
    d.api = api;
    d.base_url = base;
    d.model = model;
    d.max_batch_size = batch;
    d.backoff_ms = 10;
    d.backoff_max_ms = 40;
    d.timeout_ms = 5000;
    d.total_timeout_ms = 20000;
    if (coco_http_embed_create(&d, &e, err, sizeof err) != COCO_OK) printf("# create: %s\n", err);
    return e;
}

/* The vectors equal the server's own embedding of each text. */
static int same_as_server(const coco_value* texts, size_t n, const float* v, size_t dim) {
    size_t i, k;
    float want[DIM];
    for (i = 0; i < n; i++) {
        ths_embed(texts[i].u.s.ptr, texts[i].u.s.len, (int)dim, want);
        for (k = 0; k < dim; k++)
            if (fabsf(want[k] - v[i * dim + k]) > 1e-6f) {
                printf("#   text %zu dim %zu: got %g want %g\n", i, k, v[i * dim + k], want[k]);
                return 0;
            }
    }
    return 1;
}

static coco_result embed(coco_http_embed* e, const coco_value* t, size_t n, float** v,
                         size_t* dim, char* err) {
    static coco_arena* ar;
    if (!ar) coco_arena_create(NULL, &ar);
    coco_arena_reset(ar);
    return coco_http_embed_texts(e, t, n, ar, v, dim, err, 512);
}

static void he_openai_wire_format(void) {
    coco_value t[3];
    float* v = NULL;
    size_t dim = 0;
    char err[512], path[64], auth[128], model[64];
    coco_http_embed_desc d;
    coco_http_embed* e = NULL;
    t[0] = coco_str("the cat sat on the mat");
    t[1] = coco_str("na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \"quoted\"\n\ttabbed");
    t[2] = coco_str("");
    setenv("COCO_TEST_EMBED_KEY", "sk-test-123", 1);
    memset(&d, 0, sizeof d);
    d.base_url = base;
    d.model = "text-embedding-test";
    d.api_key_env = "COCO_TEST_EMBED_KEY";
    REQUIRE(coco_http_embed_create(&d, &e, err, sizeof err) == COCO_OK);
    ths_reset_counters(S);
    CHECK_INT_EQ(embed(e, t, 3, &v, &dim, err), COCO_OK);
    CHECK_INT_EQ(dim, DIM);
    CHECK(same_as_server(t, 3, v, dim));
    ths_last(S, path, sizeof path, auth, sizeof auth, model, sizeof model);
    CHECK_STR_EQ(path, "/v1/embeddings");
    CHECK_STR_EQ(auth, "Bearer sk-test-123");
    CHECK_STR_EQ(model, "text-embedding-test");
    CHECK_INT_EQ(ths_requests(S), 1);
    CHECK_INT_EQ(coco_http_embed_dim(e), DIM);
    coco_http_embed_destroy(e);
    unsetenv("COCO_TEST_EMBED_KEY");
}

static void he_openai_dimensions_and_v1_base(void) {
    coco_value t[2];
    float* v = NULL;
    size_t dim = 0;
    char err[512], b1[80], path[64], auth[128], model[64];
    coco_http_embed_desc d;
    coco_http_embed* e = NULL;
    t[0] = coco_str("alpha");
    t[1] = coco_str("beta");
    snprintf(b1, sizeof b1, "%s/v1/", base);          /* "/v1" given: not doubled */
    memset(&d, 0, sizeof d);
    d.base_url = b1;
    d.model = "m";
    d.dimensions = 8;
    REQUIRE(coco_http_embed_create(&d, &e, err, sizeof err) == COCO_OK);
    CHECK_INT_EQ(embed(e, t, 2, &v, &dim, err), COCO_OK);
    CHECK_INT_EQ(dim, 8);
    CHECK(same_as_server(t, 2, v, 8));
    ths_last(S, path, sizeof path, auth, sizeof auth, model, sizeof model);
    CHECK_STR_EQ(path, "/v1/embeddings");
    CHECK_STR_EQ(auth, "");                           /* no key variable: no header */
    coco_http_embed_destroy(e);
}

static void he_ollama_wire_format(void) {
    coco_value t[2];
    float* v = NULL;
    size_t dim = 0;
    char err[512], path[64], auth[128], model[64];
    coco_http_embed* e = make(COCO_HTTP_EMBED_OLLAMA, "nomic-embed-text", 0);
    REQUIRE(e);
    t[0] = coco_str("llamas are fluffy");
    t[1] = coco_str("so are alpacas");
    CHECK_INT_EQ(embed(e, t, 2, &v, &dim, err), COCO_OK);
    CHECK_INT_EQ(dim, DIM);
    CHECK(same_as_server(t, 2, v, dim));
    ths_last(S, path, sizeof path, auth, sizeof auth, model, sizeof model);
    CHECK_STR_EQ(path, "/api/embed");
    CHECK_STR_EQ(model, "nomic-embed-text");
    coco_http_embed_destroy(e);
}

static void he_batches_are_bounded(void) {
    static char buf[150][16];
    coco_value t[150];
    float* v = NULL;
    size_t dim = 0, i;
    int sizes[8], n;
    char err[512];
    coco_http_embed* e = make(COCO_HTTP_EMBED_OPENAI, "m", 64);
    REQUIRE(e);
    for (i = 0; i < 150; i++) {
        snprintf(buf[i], sizeof buf[i], "text %zu", i);
        t[i] = coco_str(buf[i]);
    }
    ths_reset_counters(S);
    CHECK_INT_EQ(embed(e, t, 150, &v, &dim, err), COCO_OK);
    CHECK(same_as_server(t, 150, v, dim));
    n = ths_batch_sizes(S, sizes, 8);
    CHECK_INT_EQ(n, 3);
    CHECK_INT_EQ(sizes[0], 64);
    CHECK_INT_EQ(sizes[1], 64);
    CHECK_INT_EQ(sizes[2], 22);
    coco_http_embed_destroy(e);
}

static void he_answers_placed_by_index(void) {
    coco_value t[4];
    float* v = NULL;
    size_t dim = 0;
    char err[512];
    coco_http_embed* e = make(COCO_HTTP_EMBED_OPENAI, "m", 0);
    REQUIRE(e);
    t[0] = coco_str("one"); t[1] = coco_str("two"); t[2] = coco_str("three"); t[3] = coco_str("four");
    ths_push(S, THS_SHUFFLE, 0);
    CHECK_INT_EQ(embed(e, t, 4, &v, &dim, err), COCO_OK);
    CHECK(same_as_server(t, 4, v, dim));
    coco_http_embed_destroy(e);
}

static void he_retries_transient_failures(void) {
    coco_value t[2];
    float* v = NULL;
    size_t dim = 0;
    char err[512];
    coco_http_embed_stats st;
    coco_http_embed* e = make(COCO_HTTP_EMBED_OPENAI, "m", 0);
    REQUIRE(e);
    t[0] = coco_str("retry me");
    t[1] = coco_str("and me");
    ths_reset_counters(S);
    ths_push(S, THS_500, 0);
    ths_push(S, THS_503, 0);
    ths_push(S, THS_TRUNCATED, 0);
    ths_push(S, THS_CLOSE, 0);
    CHECK_INT_EQ(embed(e, t, 2, &v, &dim, err), COCO_OK);
    CHECK(same_as_server(t, 2, v, dim));
    CHECK_INT_EQ(ths_requests(S), 5);
    coco_http_embed_stats_get(e, &st);
    CHECK_INT_EQ(st.retries, 4);
    CHECK_INT_EQ(st.requests, 5);
    CHECK_INT_EQ(st.texts, 2);
    CHECK_INT_EQ(st.failures, 0);
    coco_http_embed_destroy(e);
}

static void he_retry_after_is_honoured(void) {
    coco_value t[1];
    float* v = NULL;
    size_t dim = 0;
    char err[512];
    double t0;
    coco_http_embed* e = make(COCO_HTTP_EMBED_OLLAMA, "m", 0);
    REQUIRE(e);
    t[0] = coco_str("rate limited");
    ths_reset_counters(S);
    ths_push(S, THS_429, 1);
    t0 = now_s();
    CHECK_INT_EQ(embed(e, t, 1, &v, &dim, err), COCO_OK);
    CHECK(now_s() - t0 >= 0.95);                  /* waited the second it was told to */
    CHECK(now_s() - t0 < 5.0);
    CHECK_INT_EQ(ths_requests(S), 2);
    coco_http_embed_destroy(e);
}

static void he_slow_answer_times_out_and_is_retried(void) {
    coco_http_embed_desc d;
    coco_http_embed* e = NULL;
    coco_value t[1];
    float* v = NULL;
    size_t dim = 0;
    char err[512];
    double t0;
    memset(&d, 0, sizeof d);
    d.base_url = base;
    d.model = "m";
    d.timeout_ms = 300;
    d.backoff_ms = 10;
    REQUIRE(coco_http_embed_create(&d, &e, err, sizeof err) == COCO_OK);
    t[0] = coco_str("slow");
    ths_reset_counters(S);
    ths_push(S, THS_SLOW, 2000);
    t0 = now_s();
    CHECK_INT_EQ(embed(e, t, 1, &v, &dim, err), COCO_OK);
    CHECK(now_s() - t0 < 1.5);                    /* did not wait for the slow answer */
    CHECK_INT_EQ(ths_requests(S), 2);
    coco_http_embed_destroy(e);
}

static void he_client_errors_are_not_retried(void) {
    coco_value t[3];
    float* v = NULL;
    size_t dim = 0;
    char err[512];
    coco_http_embed* e = make(COCO_HTTP_EMBED_OPENAI, "x", 0);
    coco_http_embed* o = make(COCO_HTTP_EMBED_OLLAMA, "x", 0);
    REQUIRE(e && o);
    t[0] = coco_str("a"); t[1] = coco_str("b"); t[2] = coco_str("c");
    ths_reset_counters(S);
    ths_push(S, THS_400, 0);
    CHECK_INT_EQ(embed(e, t, 3, &v, &dim, err), COCO_ERR_IO);
    CHECK_STR_CONTAINS(err, "HTTP 400");
    CHECK_STR_CONTAINS(err, "model 'x' not found");          /* the server's own message */
    CHECK_STR_CONTAINS(err, "/v1/embeddings");
    CHECK_STR_CONTAINS(err, "3 texts");
    CHECK_INT_EQ(ths_requests(S), 1);
    ths_push(S, THS_400, 0);                                  /* Ollama's error form */
    CHECK_INT_EQ(embed(o, t, 3, &v, &dim, err), COCO_ERR_IO);
    CHECK_STR_CONTAINS(err, "model 'x' not found");
    ths_push(S, THS_401, 0);
    CHECK_INT_EQ(embed(e, t, 3, &v, &dim, err), COCO_ERR_IO);
    CHECK_STR_CONTAINS(err, "HTTP 401");
    ths_reset_counters(S);
    ths_push(S, THS_BAD_JSON, 0);
    CHECK_INT_EQ(embed(e, t, 3, &v, &dim, err), COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(err, "not JSON");
    ths_push(S, THS_WRONG_COUNT, 0);
    CHECK_INT_EQ(embed(e, t, 3, &v, &dim, err), COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(err, "returned 2 embeddings for 3 texts");
    ths_push(S, THS_WRONG_DIM, 0);                            /* nothing known yet */
    CHECK_INT_EQ(embed(o, t, 3, &v, &dim, err), COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(err, "different dimensions in one answer: 15 and 16");
    CHECK_INT_EQ(ths_requests(S), 3);                         /* none of them retried */
    CHECK_INT_EQ(embed(o, t, 3, &v, &dim, err), COCO_OK);     /* learns 16 */
    ths_push(S, THS_WRONG_DIM, 0);
    CHECK_INT_EQ(embed(o, t, 3, &v, &dim, err), COCO_ERR_DECODE);
    CHECK_STR_CONTAINS(err, "embedding 0 has 15 dimensions, expected 16");
    coco_http_embed_destroy(e);
    coco_http_embed_destroy(o);
}

static void he_gives_up_and_bounds_total_time(void) {
    coco_http_embed_desc d;
    coco_http_embed* e = NULL;
    coco_value t[1];
    float* v = NULL;
    size_t dim = 0;
    char err[512];
    double t0;
    int i;
    memset(&d, 0, sizeof d);
    d.base_url = base;
    d.model = "m";
    d.max_retries = 2;
    d.backoff_ms = 5;
    d.total_timeout_ms = 1500;
    REQUIRE(coco_http_embed_create(&d, &e, err, sizeof err) == COCO_OK);
    t[0] = coco_str("doomed");
    ths_reset_counters(S);
    for (i = 0; i < 3; i++) ths_push(S, THS_500, 0);
    CHECK_INT_EQ(embed(e, t, 1, &v, &dim, err), COCO_ERR_IO);
    CHECK_STR_CONTAINS(err, "HTTP 500");
    CHECK_STR_CONTAINS(err, "internal boom");
    CHECK_STR_CONTAINS(err, "gave up after 2 retries");
    CHECK_INT_EQ(ths_requests(S), 3);
    /* a Retry-After beyond the total bound: fail now, do not sleep */
    ths_reset_counters(S);
    ths_push(S, THS_429, 5);
    t0 = now_s();
    CHECK_INT_EQ(embed(e, t, 1, &v, &dim, err), COCO_ERR_TIMEOUT);
    CHECK(now_s() - t0 < 1.0);
    CHECK_STR_CONTAINS(err, "HTTP 429");
    CHECK_STR_CONTAINS(err, "total time bound of 1500 ms");
    CHECK_INT_EQ(ths_requests(S), 1);
    coco_http_embed_destroy(e);
}

static void he_connection_refused(void) {
    coco_http_embed_desc d;
    coco_http_embed* e = NULL;
    coco_value t[1];
    float* v = NULL;
    size_t dim = 0;
    char err[512];
    memset(&d, 0, sizeof d);
    d.base_url = "http://127.0.0.1:1";                     /* nothing listens there */
    d.model = "m";
    d.max_retries = 1;
    d.backoff_ms = 5;
    REQUIRE(coco_http_embed_create(&d, &e, err, sizeof err) == COCO_OK);
    t[0] = coco_str("nobody home");
    CHECK(embed(e, t, 1, &v, &dim, err) != COCO_OK);
    CHECK_STR_CONTAINS(err, "http://127.0.0.1:1/v1/embeddings");
    CHECK_STR_CONTAINS(err, "gave up after 1 retries");
    coco_http_embed_destroy(e);
}

static void he_bad_config_is_refused(void) {
    coco_http_embed_desc d;
    coco_http_embed* e = NULL;
    char err[256];
    coco_value t[1];
    float* v;
    size_t dim;
    memset(&d, 0, sizeof d);
    d.base_url = "ftp://example";
    d.model = "m";
    CHECK(coco_http_embed_create(&d, &e, err, sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "ftp://example");
    d.base_url = base;
    d.model = "";
    CHECK(coco_http_embed_create(&d, &e, err, sizeof err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "no model");
    e = make(COCO_HTTP_EMBED_OPENAI, "m", 0);
    REQUIRE(e);
    t[0] = coco_int(3);
    CHECK(embed(e, t, 1, &v, &dim, err) == COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "item 0 is not a string");
    coco_http_embed_destroy(e);
}

/* ---- through the engine: per-chunk memo, coalescing, model switch -------------------------- */
#define NDOCS 6
#define NCHUNKS 5
static int g_doc_version[NDOCS];
static float g_first[NDOCS][DIM];
static const coco_fn* g_embed_fn;

static coco_result doc_fn(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value texts[NCHUNKS], vecs[NCHUNKS];
    char* buf;
    int d = (int)a[0].u.i, i;
    coco_result rc;
    (void)n; (void)r;
    for (i = 0; i < NCHUNKS; i++) {
        buf = (char*)coco_arena_alloc(coco_ctx_arena(ctx), 48);
        /* chunk 0 of a document changes with its version; the others never do */
        snprintf(buf, 48, "doc %d chunk %d v%d", d, i, i == 0 ? g_doc_version[d] : 0);
        texts[i] = coco_str(buf);
    }
    if ((rc = coco_map_call(ctx, g_embed_fn, texts, NCHUNKS, vecs)) != COCO_OK) return rc;
    for (i = 0; i < NCHUNKS; i++)
        if (vecs[i].kind != COCO_VEC_F32 || vecs[i].u.vec.dim != DIM)
            return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "chunk %d: not a vector", i);
    memcpy(g_first[d], vecs[0].u.vec.ptr, sizeof g_first[d]);
    return COCO_OK;
}
static const coco_fn doc_fn_def = { "doc", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, doc_fn };
static coco_result docs_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value keys[NDOCS], items[NDOCS];
    int i;
    (void)a; (void)n; (void)r;
    for (i = 0; i < NDOCS; i++) { keys[i] = coco_int(i); items[i] = coco_int(i); }
    return coco_mount_each(ctx, &doc_fn_def, keys, items, NDOCS);
}
static const coco_fn docs_main_fn = { "docs", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, docs_main };

static coco_result run_docs(const char* db, const char* model, uint32_t threads) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_env* env = NULL;
    coco_app* app = NULL;
    coco_http_embed* e = make(COCO_HTTP_EMBED_OPENAI, model, 8);
    coco_result rc;
    if (!e) return COCO_ERR_INVALID_ARG;
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.sync = COCO_SYNC_NONE;
    ed.threads = threads;
    if ((rc = coco_env_open(&ed, &env)) != COCO_OK) return rc;
    if ((rc = coco_http_embed_attach(e, env, &g_embed_fn)) != COCO_OK) return rc;
    memset(&ad, 0, sizeof ad);
    ad.name = "docs";
    ad.main = &docs_main_fn;
    if ((rc = coco_app_create(env, &ad, &app)) != COCO_OK) return rc;
    rc = coco_app_update(app, NULL, NULL);
    if (rc != COCO_OK) printf("# update: %s\n", coco_app_errmsg(app));
    coco_app_destroy(app);
    coco_env_close(env);
    coco_http_embed_destroy(e);
    return rc;
}

static void he_engine_memo_per_chunk_and_model_switch(void) {
    char db[] = "/tmp/coco_he_XXXXXX";
    char path[300];
    int fd = mkstemp(db);
    float want[DIM];
    REQUIRE(fd >= 0);
    close(fd);
    unlink(db);
    snprintf(path, sizeof path, "%s.db", db);
    memset(g_doc_version, 0, sizeof g_doc_version);
    ths_reset_counters(S);
    CHECK_INT_EQ(run_docs(path, "m1", 4), COCO_OK);
    CHECK_INT_EQ(ths_inputs(S), NDOCS * NCHUNKS);
    CHECK(ths_max_batch(S) <= 8);
    CHECK(ths_requests(S) < NDOCS * NCHUNKS);          /* chunks travelled together */
    ths_embed("doc 3 chunk 0 v0", 16, DIM, want);
    CHECK(fabsf(want[0] - g_first[3][0]) < 1e-6f && fabsf(want[7] - g_first[3][7]) < 1e-6f);
    ths_reset_counters(S);
    CHECK_INT_EQ(run_docs(path, "m1", 4), COCO_OK);    /* nothing changed: nothing sent */
    CHECK_INT_EQ(ths_requests(S), 0);
    g_doc_version[2] = 1;                              /* one chunk of one document changes */
    ths_reset_counters(S);
    CHECK_INT_EQ(run_docs(path, "m1", 1), COCO_OK);
    CHECK_INT_EQ(ths_requests(S), 1);
    CHECK_INT_EQ(ths_inputs(S), 1);
    ths_reset_counters(S);                             /* another model: everything again */
    CHECK_INT_EQ(run_docs(path, "m2", 1), COCO_OK);
    CHECK_INT_EQ(ths_inputs(S), NDOCS * NCHUNKS);
    {
        char m[64], p[64], au[64];
        ths_last(S, p, sizeof p, au, sizeof au, m, sizeof m);
        CHECK_STR_EQ(m, "m2");
    }
    ths_push(S, THS_400, 0);                           /* a failing service fails the doc */
    g_doc_version[4] = 1;
    CHECK_INT_EQ(run_docs(path, "m2", 1), COCO_OK);   /* a failed component: not the update */
    ths_reset_counters(S);
    CHECK_INT_EQ(run_docs(path, "m2", 1), COCO_OK);    /* ... and it is retried next time */
    CHECK_INT_EQ(ths_inputs(S), 1);
    unlink(path);
    snprintf(path + strlen(path), sizeof path - strlen(path), ".idx");
    unlink(path);
}

int main(int argc, char** argv) {
    coco_test_begin("http_embed", argc, argv);
    S = ths_start(DIM);
    if (!S) { printf("# could not start the local server\n0 passed, 1 failed\n"); return 1; }
    snprintf(base, sizeof base, "http://127.0.0.1:%d", ths_port(S));
    RUN(he_openai_wire_format);
    RUN(he_openai_dimensions_and_v1_base);
    RUN(he_ollama_wire_format);
    RUN(he_batches_are_bounded);
    RUN(he_answers_placed_by_index);
    RUN(he_retries_transient_failures);
    RUN(he_retry_after_is_honoured);
    RUN(he_slow_answer_times_out_and_is_retried);
    RUN(he_client_errors_are_not_retried);
    RUN(he_gives_up_and_bounds_total_time);
    RUN(he_connection_refused);
    RUN(he_bad_config_is_refused);
    RUN(he_engine_memo_per_chunk_and_model_switch);
    ths_stop(S);
    return coco_test_end();
}
