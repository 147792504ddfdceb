/* tests/test_exhaust.c -- resource exhaustion: an allocation failure at every allocation of an
   update (cold and incremental; once, and from then on; one thread and two workers), of JSON,
   value decoding, the text splitter and the store.  After every failure: an error (or a
   result already right), nothing leaked, every free given the block's size, and the next
   update with a working allocator converges to the from-scratch result.  Then the bugs such
   failures once hid, each as its own test.
   COCO_RELIABILITY=1: the long forms (every k, with threads too). */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#include "coco_test.h"
#include "reliability_app.h"

#include <sys/resource.h>
#include <sys/wait.h>

static char g_root[256];
static int  g_seq;
static char g_v1[300], g_v2[300];
static char* g_exp1;
static char* g_exp2;

static void fresh(char* out, size_t cap, const char* tag) {
    snprintf(out, cap, "%s/%s%d", g_root, tag, ++g_seq);
}

/* ---- helpers for the allocation sweeps -------------------------------------------------------- */
typedef struct sweep_counts {
    long ks;             /* failure points tried                                       */
    long open_failed, setup_failed, update_failed, reported, absorbed, not_reached;
    long codes[20];      /* the update's result when it failed, by -code                */
} sweep_counts;

static void print_counts(const char* what, const sweep_counts* c) {
    printf("# %s: %ld failure points: env_open failed %ld, setup failed %ld, update failed %ld, "
           "component error reported %ld, absorbed with the right result %ld, not reached %ld\n",
           what, c->ks, c->open_failed, c->setup_failed, c->update_failed, c->reported,
           c->absorbed, c->not_reached);
    {
        int i;
        printf("#   failed updates returned:");
        for (i = 0; i < 20; i++)
            if (c->codes[i]) printf(" %s x%ld", coco_result_str((coco_result)-i), c->codes[i]);
        printf("\n");
    }
}

/* prints the lines only one of two snapshots has */
static void print_diff(const char* got, const char* want) {
    const char* p;
    int shown = 0;
    for (p = got; *p && shown < 12; ) {
        const char* e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        char line[4200];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        if (!strstr(want, line)) { printf("#     + %s", line); shown++; }
        p += n;
    }
    for (p = want; *p && shown < 24; ) {
        const char* e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p + 1) : strlen(p);
        char line[4200];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        if (!strstr(got, line)) { printf("#     - %s", line); shown++; }
        p += n;
    }
}


/* the allocation calls of one run (open, setup, update, close) of db `db` over `src` */
static long count_allocs(fa_state* fa, const char* db, const char* src, const void* template_db,
                         size_t template_len, rel_target* template_t, rel_target* template_ids) {
    coco_allocator a = fa_allocator(fa);
    ra_outcome o;
    ra_rm_db(db);
    if (template_db) ra_spit(db, template_db, template_len);
    if (template_t) rt_copy(&RA_T, template_t);
    else rt_clear(&RA_T);
    if (template_ids) rt_copy(&RA_IDS, template_ids);
    else rt_clear(&RA_IDS);
    fa_arm(fa, 0, 0);
    o = ra_run(db, src, &a, 1);
    if (!ra_ok(&o)) printf("# counting run failed: %s\n", ra_last_err);
    return fa->calls;
}

/* For every k in [1, n] (step `step`): restore the db (template or none) and the target, run
   one update over `src` with the k-th allocation failing (`sticky`: and every one after it),
   then check: nothing leaked, sizes right, an error surfaced or the target is already
   `expect`; then a good update converges to `expect` and the one after writes nothing. */
static void sweep(const char* what, const char* src, const char* expect, const void* template_db,
                  size_t template_len, rel_target* template_t, rel_target* template_ids,
                  int sticky, long step, uint32_t threads) {
    fa_state fa;
    coco_allocator a;
    char db[300];
    long n, k;
    sweep_counts c;
    int bad = 0;
    double t0 = ra_now();
    fa_init(&fa);
    a = fa_allocator(&fa);
    fresh(db, sizeof db, "sweep");
    strcat(db, ".db");
    memset(&c, 0, sizeof c);
    n = count_allocs(&fa, db, src, template_db, template_len, template_t, template_ids);
    CHECK(n > 100);
    for (k = 1; k <= n && bad < 5; k += step) {
        ra_outcome o;
        char* got;
        ra_rm_db(db);
        if (template_db) ra_spit(db, template_db, template_len);
        if (template_t) rt_copy(&RA_T, template_t);
        else rt_clear(&RA_T);
        if (template_ids) rt_copy(&RA_IDS, template_ids);
        else rt_clear(&RA_IDS);
        fa_arm(&fa, k, sticky);
        o = ra_run(db, src, &a, threads);
        c.ks++;
        if (fa.live != 0 || fa.live_bytes != 0 || fa.bad_size != 0) {
            CHECK(!"a block leaked or was freed with a wrong size");
            printf("#   %s k=%ld: live %ld blocks / %lld bytes, bad sizes %ld\n", what, k, fa.live,
                   fa.live_bytes, fa.bad_size);
            bad++;
        }
        got = rt_snapshot(&RA_T);
        if (fa.injected == 0) c.not_reached++;
        else if (o.open_rc != COCO_OK) c.open_failed++;
        else if (o.setup_rc != COCO_OK) c.setup_failed++;
        else if (o.update_rc != COCO_OK) {
            c.update_failed++;
            if (o.update_rc < 0 && o.update_rc > -20) c.codes[-o.update_rc]++;
            else CHECK(!"an unknown result code");
            if (o.update_rc != COCO_ERR_NOMEM) {
                CHECK(!"an allocation failure reported as another error");
                printf("#   %s k=%ld: %s: %s\n", what, k, coco_result_str(o.update_rc), ra_last_err);
            }
        }
        else if (o.errors) c.reported++;
        else if (strcmp(got, expect) == 0) c.absorbed++;
        else {
            CHECK(!"an allocation failure went unreported and the target is wrong");
            printf("#   %s k=%ld: update returned OK, no error reported; target (+ extra, - missing):\n",
                   what, k);
            print_diff(got, expect);
            bad++;
        }
        if (o.open_rc != COCO_OK && o.open_rc != COCO_ERR_NOMEM) {
            printf("#   %s k=%ld: env_open gave %s (%s)\n", what, k, coco_result_str(o.open_rc),
                   coco_store_open_errmsg());
        }
        free(got);
        if (!rt_values_distinct(&RA_IDS)) {
            CHECK(!"two files got the same stable id");
            printf("#   %s k=%ld: ids after the failed update:\n", what, k);
            got = rt_snapshot(&RA_IDS);
            printf("%s", got);
            free(got);
            bad++;
        }
        /* recovery with a working allocator */
        fa_arm(&fa, 0, 0);
        o = ra_run(db, src, &a, threads);
        got = rt_snapshot(&RA_T);
        if (!ra_ok(&o) || strcmp(got, expect) != 0) {
            CHECK(!"the update after the failure did not converge");
            printf("#   %s k=%ld: open %s setup %s update %s errors %d (%s)\n#   target (+ extra, - missing):\n",
                   what, k, coco_result_str(o.open_rc), coco_result_str(o.setup_rc),
                   coco_result_str(o.update_rc), o.errors, ra_last_err);
            print_diff(got, expect);
            bad++;
        }
        free(got);
        if (!rt_values_distinct(&RA_IDS)) {
            CHECK(!"two files have the same stable id after the recovery");
            bad++;
        }
        RA_T.upserts = RA_T.deletes = 0;
        o = ra_run(db, src, &a, threads);
        if (!ra_ok(&o) || RA_T.upserts + RA_T.deletes != 0) {
            CHECK(!"the second update after the failure was not a no-op");
            printf("#   %s k=%ld: upserts %ld deletes %ld, update %s errors %d (%s)\n", what, k,
                   RA_T.upserts, RA_T.deletes, coco_result_str(o.update_rc), o.errors, ra_last_err);
            bad++;
        }
        if (fa.live != 0 || fa.bad_size != 0) {
            CHECK(!"a good run leaked");
            bad++;
        }
    }
    print_counts(what, &c);
    printf("# %s: %ld allocation calls in the run, %.2f s\n", what, n, ra_now() - t0);
    ra_rm_db(db);
}

/* ---- the update: cold (empty db) and incremental (v1 db, v2 sources) -------------------------- */
static void alloc_fail_once_cold_update(void) {
    sweep("cold, once", g_v2, g_exp2, NULL, 0, NULL, NULL, 0, 1, 1);
}

/* A template: the db after `runs` updates over `src`, with the target and ids it left; the
   last update's outcome. */
static ra_outcome make_template_db(const char* tag, const char* src, int runs, unsigned char** db_out,
                             size_t* len_out, rel_target* t_out, rel_target* ids_out) {
    char db[300];
    ra_outcome o;
    int i;
    memset(&o, 0, sizeof o);
    fresh(db, sizeof db, tag);
    strcat(db, ".db");
    rt_clear(&RA_T);
    rt_clear(&RA_IDS);
    for (i = 0; i < runs; i++) {
        o = ra_run(db, src, NULL, 1);
        CHECK(ra_ok(&o));
    }
    rt_init(t_out);
    rt_copy(t_out, &RA_T);
    rt_init(ids_out);
    rt_copy(ids_out, &RA_IDS);
    *db_out = ra_slurp(db, len_out);
    CHECK(*db_out != NULL);
    ra_rm_db(db);
    return o;
}

static unsigned char* g_db1;      /* the db after an update over v1 */
static size_t g_db1_len;
static rel_target g_t1;           /* the target then */
static rel_target g_ids1;         /* and the ids */

static void make_template(void) {
    if (g_db1) return;
    (void)make_template_db("tmpl", g_v1, 1, &g_db1, &g_db1_len, &g_t1, &g_ids1);
    {
        char* snap = rt_snapshot(&g_t1);
        CHECK_STR_EQ(snap, g_exp1);
        free(snap);
    }
}

static void alloc_fail_once_incremental_update(void) {
    make_template();
    REQUIRE(g_db1);
    sweep("incremental, once", g_v2, g_exp2, g_db1, g_db1_len, &g_t1, &g_ids1, 0, 1, 1);
}

static void alloc_fail_sticky_incremental_update(void) {
    make_template();
    REQUIRE(g_db1);
    sweep("incremental, sticky", g_v2, g_exp2, g_db1, g_db1_len, &g_t1, &g_ids1, 1, ra_long() ? 1 : 7, 1);
}

static void alloc_fail_once_with_worker_threads(void) {
    /* the order of allocations varies between runs: no k is certain to hit the same call, but
       none may crash, leak or go unreported */
    make_template();
    REQUIRE(g_db1);
    sweep("incremental, 2 workers", g_v2, g_exp2, g_db1, g_db1_len, &g_t1, &g_ids1, 0, ra_long() ? 1 : 13, 2);
}

/* ---- a bigger tree: more components, more buffer growth ----------------------------------------- */
static char g_m1[300], g_m2[300];
static char* g_expm2;
static unsigned char* g_dbm1;
static size_t g_dbm1_len;
static rel_target g_tm1;
static rel_target g_idsm1;

static void make_many(void) {
    const time_t T0 = 1710000000;
    int i;
    char rel[64], text[1200];
    if (g_dbm1) return;
    snprintf(g_m1, sizeof g_m1, "%s/m1", g_root);
    snprintf(g_m2, sizeof g_m2, "%s/m2", g_root);
    for (i = 0; i < 48; i++) {
        int j, len = 0;
        snprintf(rel, sizeof rel, "d%d/f%02d.md", i % 6, i);
        len += snprintf(text + len, sizeof text - (size_t)len, "# File %d\n\n", i);
        for (j = 0; j < 8 + i % 9; j++)
            len += snprintf(text + len, sizeof text - (size_t)len, "Sentence %d of file %d, words. ", j, i);
        ra_put(g_m1, rel, text, T0 + i);
        if (i % 8 == 3) continue;                              /* deleted in m2 */
        if (i % 8 == 5) {                                      /* changed in m2 */
            len += snprintf(text + len, sizeof text - (size_t)len, "\n\nAn added paragraph.\n");
            ra_put(g_m2, rel, text, T0 + 1000 + i);
        } else {
            ra_put(g_m2, rel, text, T0 + i);
        }
    }
    for (i = 0; i < 5; i++) {                                  /* new in m2 */
        snprintf(rel, sizeof rel, "new/n%d.md", i);
        snprintf(text, sizeof text, "# New %d\n\nFresh content number %d here.\n", i, i);
        ra_put(g_m2, rel, text, T0 + 2000 + i);
    }
    g_expm2 = ra_expected(g_m2);
    (void)make_template_db("tmplm", g_m1, 1, &g_dbm1, &g_dbm1_len, &g_tm1, &g_idsm1);
}

static void alloc_fail_once_bigger_tree_cold_and_incremental(void) {
    make_many();
    REQUIRE(g_dbm1);
    sweep("53 files cold, once", g_m2, g_expm2, NULL, 0, NULL, NULL, 0, ra_long() ? 1 : 4, 1);
    sweep("48 -> 53 files incremental, once", g_m2, g_expm2, g_dbm1, g_dbm1_len, &g_tm1, &g_idsm1, 0, 1, 1);
}

/* ---- JSON, values, the splitter, the store ------------------------------------------------------ */
static const char g_json[] =
    "{\"name\":\"caf\\u00e9 \\ud83d\\ude00\",\"n\":-12345678901234,\"f\":3.25e-7,\"t\":true,"
    "\"z\":null,\"list\":[1,2,[3,[4,[5,{\"deep\":\"x\"}]]],\"a\\\"b\\\\c\\n\"],"
    "\"obj\":{\"k1\":\"v1\",\"k2\":[],\"k3\":{},\"k4\":[0.5,1e300,-0.0]},"
    "\"long\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    "\"many\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
    "29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,"
    "59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88]}";

/* Runs op(arena, ...) with the k-th allocation failing for every k until one run has no
   failure; each result must be OK and equal to the baseline rendering, or COCO_ERR_NOMEM;
   nothing may stay allocated.  Returns the number of failure points. */
typedef coco_result (*arena_op)(coco_arena* ar, char** rendered);
static long sweep_arena_op(const char* what, arena_op op) {
    fa_state fa;
    coco_allocator a;
    char* base = NULL;
    long k, nomem = 0, ok = 0;
    coco_arena* ar;
    fa_init(&fa);
    a = fa_allocator(&fa);
    if (coco_arena_create(&a, &ar) != COCO_OK) { CHECK(!"arena"); return 0; }
    CHECK_INT_EQ(op(ar, &base), COCO_OK);
    coco_arena_destroy(ar);
    CHECK_INT_EQ(fa.live, 0);
    if (!base) return 0;
    for (k = 1;; k++) {
        char* got = NULL;
        coco_result rc;
        long injected;
        fa_arm(&fa, k, 0);
        if (coco_arena_create(&a, &ar) != COCO_OK) { nomem++; continue; }
        rc = op(ar, &got);
        coco_arena_destroy(ar);
        injected = fa.injected;
        if (fa.live != 0 || fa.bad_size != 0) {
            CHECK(!"leak or wrong size after a failed allocation");
            printf("#   %s k=%ld: live %ld, bad sizes %ld\n", what, k, fa.live, fa.bad_size);
        }
        if (rc == COCO_OK) {
            ok++;
            if (!got || strcmp(got, base) != 0) {
                CHECK(!"a result after an absorbed allocation failure differs");
                printf("#   %s k=%ld\n", what, k);
            }
        } else {
            nomem++;
            if (rc != COCO_ERR_NOMEM) {
                CHECK(!"a failed allocation gave another error than COCO_ERR_NOMEM");
                printf("#   %s k=%ld: %s\n", what, k, coco_result_str(rc));
            }
        }
        free(got);
        if (!injected) break;
    }
    printf("# %s: %ld failure points (COCO_ERR_NOMEM %ld, absorbed %ld)\n", what, k - 1, nomem,
           ok - 1);
    free(base);
    return k - 1;
}

/* a rendering that does not allocate from the arena under test */
static char* render_json(const coco_value* v) {
    coco_arena* ar;
    coco_bytes out;
    char* s = NULL;
    if (coco_arena_create(NULL, &ar) != COCO_OK) return NULL;
    if (coco_json_write(ar, v, &out) == COCO_OK) s = rt_dup((const char*)out.ptr, out.len);
    coco_arena_destroy(ar);
    return s;
}

static coco_result op_json_parse(coco_arena* ar, char** r) {
    coco_value v;
    coco_result rc = coco_json_parse(ar, g_json, sizeof g_json - 1, &v);
    if (rc == COCO_OK) *r = render_json(&v);
    return rc;
}
static coco_value g_big;          /* the parsed g_json, in a good arena */
static coco_arena* g_big_ar;
static coco_result op_json_write(coco_arena* ar, char** r) {
    coco_bytes out;
    coco_result rc = coco_json_write(ar, &g_big, &out);
    if (rc == COCO_OK) *r = rt_dup((const char*)out.ptr, out.len);
    return rc;
}
static coco_bytes g_enc;          /* canonical encoding of g_big plus extra kinds */
static coco_value g_rich;
static coco_result op_value_decode(coco_arena* ar, char** r) {
    coco_value v;
    coco_result rc = coco_value_decode(ar, g_enc.ptr, g_enc.len, &v);
    if (rc == COCO_OK) {
        coco_fp f;
        char hex[33];
        coco_arena* good;
        if (coco_arena_create(NULL, &good) != COCO_OK) return COCO_ERR_NOMEM;
        rc = coco_value_fp(good, &v, &f);
        coco_arena_destroy(good);
        if (rc == COCO_OK) *r = rt_dup(coco_fp_hex(f, hex), 32);
    }
    return rc;
}
static coco_result op_value_encode(coco_arena* ar, char** r) {
    coco_bytes out;
    coco_result rc = coco_value_encode(ar, &g_rich, &out);
    if (rc == COCO_OK) {
        char hex[33];
        *r = rt_dup(coco_fp_hex(coco_fp_of(out.ptr, out.len), hex), 32);
    }
    return rc;
}
static coco_result op_value_copy(coco_arena* ar, char** r) {
    coco_value v;
    coco_result rc = coco_value_copy(ar, &g_big, &v);
    if (rc == COCO_OK) *r = render_json(&v);
    return rc;
}
static char* g_text;
static size_t g_text_len;
static coco_result op_split(coco_arena* ar, char** r) {
    coco_split_desc d;
    coco_chunk* ch = NULL;
    size_t n = 0, i, len = 0;
    coco_result rc;
    memset(&d, 0, sizeof d);
    d.chunk_size = 300;
    d.chunk_overlap = 60;
    d.language = COCO_LANG_MARKDOWN;
    rc = coco_split_text(ar, g_text, g_text_len, &d, &ch, &n);
    if (rc != COCO_OK) return rc;
    *r = (char*)malloc(n * 64 + 1);
    for (i = 0; i < n; i++)
        len += (size_t)sprintf(*r + len, "%zu-%zu:%zu,%zu;", ch[i].start.offset, ch[i].end.offset,
                               ch[i].start.line, ch[i].start.column);
    (*r)[len] = 0;
    return COCO_OK;
}

static void alloc_fail_json_values_split(void) {
    coco_value items[6], lst;
    coco_map_entry me[2];
    static const float vec[4] = { 1.5f, -2.0f, 0.0f, 3.25f };
    static const uint8_t uu[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    size_t i;
    long total = 0;
    REQUIRE(coco_arena_create(NULL, &g_big_ar) == COCO_OK);
    REQUIRE(coco_json_parse(g_big_ar, g_json, sizeof g_json - 1, &g_big) == COCO_OK);
    items[0] = g_big;
    items[1] = coco_symbol("sym");
    items[2] = coco_vec_f32(vec, 4);
    items[3] = coco_uuid(uu);
    items[4] = coco_bytes_val("\0\1\2bytes", 8);
    me[0].key = "b"; me[0].key_len = 1; me[0].val = coco_int(INT64_MIN);
    me[1].key = "a"; me[1].key_len = 1; me[1].val = coco_float(-0.5);
    items[5] = coco_map(me, 2);
    lst = coco_list(items, 6);
    g_rich = lst;
    REQUIRE(coco_value_encode(g_big_ar, &lst, &g_enc) == COCO_OK);
    /* 40 KiB of markdown for the splitter */
    g_text = (char*)malloc(48 * 1024);
    REQUIRE(g_text);
    g_text_len = 0;
    for (i = 0; g_text_len < 40 * 1024; i++)
        g_text_len += (size_t)sprintf(g_text + g_text_len, "%s## Section %zu\n\nSome text, with a "
                                      "sentence. Another one! And \xc3\xa9t\xc3\xa9 words;\nline "
                                      "two of it.\n\n", i % 7 == 0 ? "# Part\n\n" : "", i);
    total += sweep_arena_op("coco_json_parse", op_json_parse);
    total += sweep_arena_op("coco_json_write", op_json_write);
    total += sweep_arena_op("coco_value_decode", op_value_decode);
    total += sweep_arena_op("coco_value_encode", op_value_encode);
    total += sweep_arena_op("coco_value_copy", op_value_copy);
    total += sweep_arena_op("coco_split_text (40 KiB markdown)", op_split);
    CHECK(total > 20);
    free(g_text);
    coco_arena_destroy(g_big_ar);
}

/* The store: a scripted run of commits (puts, overwrites, deletes, a compaction) with the k-th
   allocation failing; a model holds what every commit that returned COCO_OK wrote.  After the
   run, a reopen with a working allocator holds exactly the model. */
#define SM_KEYS 64
typedef struct store_model { int present[SM_KEYS]; int ver[SM_KEYS]; } store_model;

static void sm_key(int i, char* k) { snprintf(k, 32, "key-%03d", i); }
static int sm_val(int i, int ver, char* v) {
    int n = 20 + (i * 37 + ver * 11) % 300, j;
    for (j = 0; j < n; j++) v[j] = (char)('a' + (i + ver + j) % 26);
    return n;
}
typedef struct sm_scan { store_model* m; int bad, n; } sm_scan;
static int sm_check(void* user, coco_bytes k, coco_bytes v) {
    sm_scan* sc = (sm_scan*)user;
    int i;
    char want[400];
    sc->n++;
    if (k.len != 7 || sscanf((const char*)k.ptr, "key-%3d", &i) != 1 || i < 0 || i >= SM_KEYS ||
        !sc->m->present[i]) { sc->bad++; return 0; }
    if ((size_t)sm_val(i, sc->m->ver[i], want) != v.len || memcmp(want, v.ptr, v.len)) sc->bad++;
    return 0;
}
/* returns the allocation calls of the script */
static long store_script(const char* path, const coco_allocator* a, store_model* m, int* failures) {
    coco_store_desc d;
    coco_store* st;
    int t, i;
    memset(&d, 0, sizeof d);
    d.path = path;
    d.sync = COCO_SYNC_NONE;
    d.compact_min = 1;            /* let garbage trigger compactions on its own too */
    d.compact_garbage = 0.6;
    if (a) d.allocator = *a;
    *failures = 0;
    if (coco_store_open(&d, &st) != COCO_OK) { (*failures)++; return 0; }
    for (t = 0; t < 24; t++) {
        coco_txn* tx;
        coco_result rc;
        store_model next = *m;
        if (t == 12 && coco_store_compact(st) != COCO_OK) (*failures)++;
        if (coco_store_txn_begin(st, &tx) != COCO_OK) { (*failures)++; continue; }
        rc = COCO_OK;
        for (i = 0; i < 20 && rc == COCO_OK; i++) {
            int key = (t * 7 + i * 5) % SM_KEYS;
            char k[32], v[400];
            sm_key(key, k);
            if ((t + i) % 6 == 5) {
                rc = coco_txn_del(tx, k, strlen(k));
                next.present[key] = 0;
            } else {
                int n = sm_val(key, t, v);
                rc = coco_txn_put(tx, k, strlen(k), v, (size_t)n);
                next.present[key] = 1;
                next.ver[key] = t;
            }
        }
        if (rc != COCO_OK) { coco_txn_abort(tx); (*failures)++; continue; }
        if (coco_txn_commit(tx) != COCO_OK) { (*failures)++; continue; }
        *m = next;
    }
    coco_store_close(st);
    return 0;
}

static void alloc_fail_store_commits_and_compaction(void) {
    fa_state fa;
    coco_allocator a;
    char db[300];
    long k, n, runs = 0, failed_runs = 0;
    store_model m;
    int failures;
    fa_init(&fa);
    a = fa_allocator(&fa);
    fresh(db, sizeof db, "store");
    strcat(db, ".db");
    ra_rm_db(db);
    memset(&m, 0, sizeof m);
    fa_arm(&fa, 0, 0);
    store_script(db, &a, &m, &failures);
    n = fa.calls;
    CHECK_INT_EQ(failures, 0);
    CHECK(n > 20);
    for (k = 1; k <= n; k++) {
        coco_store_desc d;
        coco_store* st;
        sm_scan sc;
        ra_rm_db(db);
        memset(&m, 0, sizeof m);
        fa_arm(&fa, k, 0);
        store_script(db, &a, &m, &failures);
        runs++;
        if (failures) failed_runs++;
        if (fa.live != 0 || fa.bad_size != 0) {
            CHECK(!"the store leaked or freed with a wrong size");
            printf("#   k=%ld: live %ld, bad sizes %ld\n", k, fa.live, fa.bad_size);
        }
        memset(&d, 0, sizeof d);
        d.path = db;
        d.sync = COCO_SYNC_NONE;
        if (coco_store_open(&d, &st) != COCO_OK) {
            CHECK(!"the store does not reopen after an allocation failure");
            printf("#   k=%ld: %s\n", k, coco_store_open_errmsg());
            continue;
        }
        memset(&sc, 0, sizeof sc);
        sc.m = &m;
        CHECK_INT_EQ(coco_store_scan(st, NULL, sm_check, &sc), COCO_OK);
        {
            int want = 0, i;
            for (i = 0; i < SM_KEYS; i++) want += m.present[i];
            if (sc.bad || sc.n != want) {
                CHECK(!"the reopened store differs from the commits that returned COCO_OK");
                printf("#   k=%ld: %d keys (want %d), %d wrong\n", k, sc.n, want, sc.bad);
            }
        }
        coco_store_close(st);
    }
    printf("# store script: %ld allocation calls, %ld failure points, %ld runs saw an error\n", n,
           runs, failed_runs);
    ra_rm_db(db);
}

/* ---- fixed: a failed registration reported as success ---------------------------------------
   coco__fn_reg_locked overwrote *rc with COCO_OK (the coco_value_fp of the logic) before its
   last step, coco__vpush of the new registration; when that push cannot grow the function
   list it returns NULL with *rc == COCO_OK.  coco_fn_register then reports success for a
   function it did not register, and coco__run_component ("if (!(reg = coco__fn_reg(...)))
   return rc;") returns COCO_OK without running the component: an update whose root is
   registered on first use returns COCO_OK having run and written nothing, no error reported. */
static coco_result kb_root(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    return coco_declare(ctx, ra_tgt, coco_str("k"), coco_str("v"));
}
static const coco_fn kb_root_fn = { "kb_root", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, kb_root };

static void fn_register_nomem_is_reported(void) {
    fa_state fa;
    coco_allocator a;
    coco_env_desc ed;
    coco_app_desc ad;
    coco_env* env;
    coco_app* app;
    coco_result rc;
    long k;
    int silent = 0;
    fa_init(&fa);
    a = fa_allocator(&fa);
    memset(&ed, 0, sizeof ed);
    ed.in_memory = 1;
    ed.threads = 1;
    ed.allocator = a;
    /* 1. the API: coco_fn_register says COCO_OK, but a twin with the same name is accepted
          afterwards, so the function was never registered */
    for (k = 1; k < 50; k++) {
        static const coco_fn twin = { "kb_root", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, kb_root };
        coco_result rc2;
        long injected;
        fa_arm(&fa, 0, 0);
        REQUIRE(coco_env_open(&ed, &env) == COCO_OK);
        fa_arm(&fa, k, 0);
        rc = coco_fn_register(env, &kb_root_fn);
        injected = fa.injected;
        fa_arm(&fa, 0, 0);
        rc2 = coco_fn_register(env, &twin);      /* must be refused: the name is taken */
        coco_env_close(env);
        if (!injected) break;
        if (rc == COCO_OK && rc2 == COCO_OK) {
            printf("#   failing allocation %ld of coco_fn_register: COCO_OK, not registered\n", k);
            silent++;
        }
    }
    /* 2. through an update: some k makes it return COCO_OK with the root never run */
    for (k = 1; k < 200; k++) {
        rt_clear(&RA_T);
        fa_arm(&fa, 0, 0);
        REQUIRE(coco_env_open(&ed, &env) == COCO_OK);
        REQUIRE(coco_target_register(env, "mem", &rt_vt, &RA_T, &ra_tgt) == COCO_OK);
        memset(&ad, 0, sizeof ad);
        ad.name = "kb";
        ad.main = &kb_root_fn;
        ad.arg = coco_null();
        REQUIRE(coco_app_create(env, &ad, &app) == COCO_OK);
        fa_arm(&fa, k, 0);
        rc = coco_app_update(app, NULL, NULL);
        coco_app_destroy(app);
        coco_env_close(env);
        if (!fa.injected) break;
        if (rc == COCO_OK && !rt_get(&RA_T, "k")) {
            printf("#   failing allocation %ld of the update: COCO_OK, the root never ran\n", k);
            silent++;
        }
    }
    CHECK_INT_EQ(silent, 0);
    rt_clear(&RA_T);
}

/* ---- fixed: stale target states after an allocation failure
   in the cleanup of removed components --------------------------------------------------------
   Update 1 mounts children "a" and b00..b59 (each declares 40 states); update 2 mounts only
   "a", so the 2400 states of the b's go through tombstones and must be deleted.  For every k,
   update 2 runs with its k-th allocation failing, then a good update: only a's states remain.  Two causes, seen
   with backtraces:
   - coco__possible (tombstones' possible tracking records) returns the count copied so far
     when an allocation fails, as if the list were complete: with 0 records the default
     reconcile decides COCO_ACTION_NONE and coco__process_tombstones deletes the tombstone;
   - coco__process_tombstones ignores the result of coco__apply_acts: when apply_acts fails its
     own allocations (done/batch) before applying anything, no tombstone is marked failed and
     all are deleted from the store.
   Either way the update returns COCO_OK and the state is never deleted by any later update. */
#define KB_STATES 40
static int kb_keep_b;              /* 1: the 60 children b00..b59 are mounted too */
static coco_result kb_child(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    char k[32];
    int i;
    coco_result rc = COCO_OK;
    (void)n; (void)r;
    for (i = 0; i < KB_STATES && rc == COCO_OK; i++) {
        snprintf(k, sizeof k, "state-%.*s-%d", (int)a[0].u.s.len, a[0].u.s.ptr, i);
        rc = coco_declare(ctx, ra_tgt, coco_str(k), coco_str("v"));
    }
    return rc;
}
static const coco_fn kb_child_fn = { "kb_child", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, kb_child };
static coco_result kb_parent(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_value arg = coco_str("a");
    coco_result rc;
    int i;
    (void)a; (void)n; (void)r;
    if ((rc = coco_mount(ctx, coco_str("a"), &kb_child_fn, &arg, 1)) != COCO_OK) return rc;
    for (i = 0; kb_keep_b && i < 60 && rc == COCO_OK; i++) {
        char* k = (char*)coco_arena_alloc(coco_ctx_arena(ctx), 8);
        if (!k) return COCO_ERR_NOMEM;
        snprintf(k, 8, "b%02d", i);
        arg = coco_str(k);
        rc = coco_mount(ctx, coco_str(k), &kb_child_fn, &arg, 1);
    }
    return rc;
}
static const coco_fn kb_parent_fn = { "kb_parent", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, kb_parent };

static long kb_injected;
static coco_result kb_update(const char* db, const coco_allocator* a, fa_state* fa, long k) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_env* env;
    coco_app* app;
    coco_result rc;
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.sync = COCO_SYNC_NONE;
    ed.threads = 1;
    ed.allocator = *a;
    fa_arm(fa, 0, 0);
    if ((rc = coco_env_open(&ed, &env)) != COCO_OK) return rc;
    if ((rc = coco_target_register(env, "mem", &rt_vt, &RA_T, &ra_tgt)) != COCO_OK ||
        (rc = coco_fn_register(env, &kb_parent_fn)) != COCO_OK ||
        (rc = coco_fn_register(env, &kb_child_fn)) != COCO_OK) {
        coco_env_close(env);
        return rc;
    }
    memset(&ad, 0, sizeof ad);
    ad.name = "kb";
    ad.main = &kb_parent_fn;
    ad.arg = coco_null();
    if ((rc = coco_app_create(env, &ad, &app)) != COCO_OK) { coco_env_close(env); return rc; }
    fa_arm(fa, k, 0);
    rc = coco_app_update(app, NULL, NULL);
    kb_injected = fa->injected;
    fa_arm(fa, 0, 0);
    coco_app_destroy(app);
    coco_env_close(env);
    return rc;
}

static void cleanup_alloc_failure_leaves_no_stale_states(void) {
    fa_state fa;
    coco_allocator a;
    char db[300];
    long k;
    int stale = 0, corrupt = 0;
    fa_init(&fa);
    a = fa_allocator(&fa);
    fresh(db, sizeof db, "kbt");
    strcat(db, ".db");
    for (k = 1; k < 400; k++) {
        coco_result rc;
        long injected;
        ra_rm_db(db);
        rt_clear(&RA_T);
        kb_keep_b = 1;
        REQUIRE(kb_update(db, &a, &fa, 0) == COCO_OK);
        REQUIRE(rt_get(&RA_T, "state-b17-2") != NULL);
        kb_keep_b = 0;
        rc = kb_update(db, &a, &fa, k);           /* b removed; allocation k fails */
        injected = kb_injected;
        REQUIRE(kb_update(db, &a, &fa, 0) == COCO_OK);   /* then a good update */
        if (rc == COCO_ERR_CORRUPT) {
            printf("#   failing allocation %ld of the update: COCO_ERR_CORRUPT (%s) for an "
                   "allocation failure\n", k, "the store is not damaged");
            corrupt++;
        }
        if (RA_T.n != KB_STATES) {
            printf("#   failing allocation %ld of the update (which returned %s): %zu states of "
                   "removed children are never deleted\n", k, coco_result_str(rc), RA_T.n - KB_STATES);
            stale++;
        }
        if (!injected) break;
    }
    printf("# %ld failure points\n", k - 1);
    CHECK_INT_EQ(stale, 0);
    CHECK_INT_EQ(corrupt, 0);
    ra_rm_db(db);
    rt_clear(&RA_T);
}

/* ---- fixed: a stable id handed out twice -----------------------
   coco__app_key returns an empty key (ptr NULL, len 0) when its arena allocation fails, and no
   caller checks: coco__run_init then reads the app's next-id record under the empty key, gets
   COCO_ERR_NOT_FOUND and starts the run's id counter at 1 again, so a new dep gets an id that
   an existing one holds (ID-01: never reused within an app); the run's commit stores the low
   counter, so it stays wrong.  (The same unchecked key makes coco__load_record,
   coco__collect_removed and coco__declare_hits see "no record": see the test above.) */
static int kb_ndeps;
static coco_result kb_ids(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    static const char* const deps[] = { "x", "y", "z" };
    int i;
    (void)a; (void)n; (void)r;
    for (i = 0; i < kb_ndeps; i++) {
        int64_t id;
        coco_result rc = coco_generate_id(ctx, coco_str(deps[i]), &id);
        if (rc == COCO_OK) rc = coco_declare(ctx, ra_tgt, coco_str(deps[i]), coco_int(id));
        if (rc != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn kb_ids_fn = { "kb_ids", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, kb_ids };

static void app_key_nomem_reuses_no_id(void) {
    fa_state fa;
    coco_allocator a;
    coco_env_desc ed;
    coco_app_desc ad;
    char db[300];
    long k;
    int dup = 0;
    fa_init(&fa);
    a = fa_allocator(&fa);
    fresh(db, sizeof db, "kbi");
    strcat(db, ".db");
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.sync = COCO_SYNC_NONE;
    ed.threads = 1;
    ed.allocator = a;
    memset(&ad, 0, sizeof ad);
    ad.name = "ids";
    ad.main = &kb_ids_fn;
    ad.arg = coco_null();
    for (k = 1; k < 200; k++) {
        int run;
        long injected = 0;
        ra_rm_db(db);
        rt_clear(&RA_T);
        for (run = 0; run < 3; run++) {       /* x, y; then x, y, z failing at k; then good */
            coco_env* env;
            coco_app* app;
            fa_arm(&fa, 0, 0);
            REQUIRE(coco_env_open(&ed, &env) == COCO_OK);
            REQUIRE(coco_target_register(env, "mem", &rt_vt, &RA_T, &ra_tgt) == COCO_OK);
            REQUIRE(coco_fn_register(env, &kb_ids_fn) == COCO_OK);
            REQUIRE(coco_app_create(env, &ad, &app) == COCO_OK);
            kb_ndeps = run == 0 ? 2 : 3;
            fa_arm(&fa, run == 1 ? k : 0, 0);
            coco_app_update(app, NULL, NULL);
            if (run == 1) injected = fa.injected;
            fa_arm(&fa, 0, 0);
            coco_app_destroy(app);
            coco_env_close(env);
        }
        if (!rt_values_distinct(&RA_T)) {
            printf("#   failing allocation %ld: x=%s y=%s z=%s\n", k, rt_get(&RA_T, "x"),
                   rt_get(&RA_T, "y"), rt_get(&RA_T, "z"));
            dup++;
        }
        if (!injected) break;
    }
    CHECK_INT_EQ(dup, 0);
    ra_rm_db(db);
    rt_clear(&RA_T);
}



/* ---- 600 files: the group memo of coco_mount_each (512 children and more) ---------------------- */
static char g_b1[300], g_b2[300];
static char* g_expb2;
static unsigned char* g_dbb1;
static size_t g_dbb1_len;
static rel_target g_tb1, g_idsb1;

static void make_big(void) {
    const time_t T0 = 1720000000;
    int i;
    char rel[64], text[96];
    if (g_dbb1) return;
    snprintf(g_b1, sizeof g_b1, "%s/b1", g_root);
    snprintf(g_b2, sizeof g_b2, "%s/b2", g_root);
    for (i = 0; i < 600; i++) {
        snprintf(rel, sizeof rel, "d%d/f%03d.md", i % 4, i);
        snprintf(text, sizeof text, "# F%d\n\nOne line of file %d.\n", i, i);
        ra_put(g_b1, rel, text, T0 + i);
        if (i == 7) continue;                                  /* deleted in b2 */
        if (i == 300) {                                        /* changed in b2 */
            snprintf(text, sizeof text, "# F%d\n\nChanged, and longer than before.\n", i);
            ra_put(g_b2, rel, text, T0 + 5000);
        } else {
            ra_put(g_b2, rel, text, T0 + i);
        }
    }
    ra_put(g_b2, "new/n.md", "# New\n\nAdded in b2.\n", T0 + 6000);
    g_expb2 = ra_expected(g_b2);
    /* updated twice: the second run records the group memo */
    CHECK_INT_EQ((int)make_template_db("tmplb", g_b1, 2, &g_dbb1, &g_dbb1_len, &g_tb1,
                                       &g_idsb1).st.commits, 1);          /* the group memo */
}

/* An allocation failure anywhere in an incremental update over 600 files, whose parent has a
   group memo (kept groups, one probed group with a changed file, one with a deleted file, a
   new file): an error or the right result, no leak, and the next update converges. */
static void alloc_fail_group_memo_600_files(void) {
    make_big();
    REQUIRE(g_dbb1);
    sweep("600 files with a group memo, incremental", g_b2, g_expb2, g_dbb1, g_dbb1_len, &g_tb1,
          &g_idsb1, 0, 1, 1);
    sweep("600 files with a group memo, incremental, 2 workers", g_b2, g_expb2, g_dbb1,
          g_dbb1_len, &g_tb1, &g_idsb1, 0, 1, 2);
}

/* ---- running out of file descriptors ---------------------------------------------------------- */
static int open_fds(void) {
    DIR* d = opendir("/proc/self/fd");
    struct dirent* e;
    int n = -1;                          /* the DIR's own descriptor */
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* EMFILE: the soft RLIMIT_NOFILE at every count from what is open now up to what an update
   needs (the store, the walk's directories on up to 4 threads, each file read).  Each update
   either converges or fails with an error that says so; nothing stored is lost (the next
   update with the limit lifted converges, the one after it does nothing); no descriptor is
   left open. */
static void emfile_at_every_limit_errors_or_converges(uint32_t threads) {
    struct rlimit orig, lim;
    char db[300];
    int extra, base, converged = 0, failed = 0, bad = 0, first_ok = -1;
    make_many();
    REQUIRE(g_dbm1);
    REQUIRE(getrlimit(RLIMIT_NOFILE, &orig) == 0);
    fresh(db, sizeof db, "emfile");
    strcat(db, ".db");
    base = open_fds();
    REQUIRE(base > 0);
    for (extra = 0; extra <= 40 && bad < 3; extra++) {
        ra_outcome o;
        char* got;
        int fds;
        ra_rm_db(db);
        ra_spit(db, g_dbm1, g_dbm1_len);
        rt_copy(&RA_T, &g_tm1);
        rt_copy(&RA_IDS, &g_idsm1);
        lim = orig;
        lim.rlim_cur = (rlim_t)(base + extra);
        REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
        o = ra_run(db, g_m2, NULL, threads);
        REQUIRE(setrlimit(RLIMIT_NOFILE, &orig) == 0);
        fds = open_fds();
        if (fds != base) {
            CHECK(!"a descriptor was left open");
            printf("#   limit +%d: %d descriptors open, %d before\n", extra, fds, base);
            bad++;
        }
        got = rt_snapshot(&RA_T);
        if (ra_ok(&o)) {
            if (strcmp(got, g_expm2) != 0) {
                CHECK(!"out of descriptors: the update said OK and the target is wrong");
                printf("#   limit +%d: target (+ extra, - missing):\n", extra);
                print_diff(got, g_expm2);
                bad++;
            }
            converged++;
            if (first_ok < 0) first_ok = extra;
        } else {
            const char* msg = o.open_rc != COCO_OK ? coco_store_open_errmsg() : ra_last_err;
            failed++;
            if (!strstr(msg, "open files") && !strstr(msg, "EMFILE")) {
                CHECK(!"out of descriptors: the error does not say so");
                printf("#   limit +%d: open %s setup %s update %s errors %d: %s\n", extra,
                       coco_result_str(o.open_rc), coco_result_str(o.setup_rc),
                       coco_result_str(o.update_rc), o.errors, msg);
                bad++;
            }
        }
        free(got);
        /* the limit lifted: converges, then nothing to do */
        o = ra_run(db, g_m2, NULL, threads);
        got = rt_snapshot(&RA_T);
        if (!ra_ok(&o) || strcmp(got, g_expm2) != 0) {
            CHECK(!"the update after running out of descriptors did not converge");
            printf("#   limit +%d: update %s errors %d (%s)\n", extra,
                   coco_result_str(o.update_rc), o.errors, ra_last_err);
            print_diff(got, g_expm2);
            bad++;
        }
        free(got);
        RA_T.upserts = RA_T.deletes = 0;
        o = ra_run(db, g_m2, NULL, threads);
        if (!ra_ok(&o) || RA_T.upserts + RA_T.deletes != 0) {
            CHECK(!"the second update after running out of descriptors was not a no-op");
            bad++;
        }
    }
    CHECK(failed > 0);                    /* the low limits were felt */
    CHECK(converged > 0);                 /* and enough descriptors suffice */
    printf("# EMFILE, %u thread(s): limits +0..+%d over %d open: %d failed with the error named, "
           "%d converged (from +%d)\n", (unsigned)threads, extra - 1, base, failed, converged,
           first_ok);
    ra_rm_db(db);
}
static void emfile_one_thread(void) { emfile_at_every_limit_errors_or_converges(1); }
static void emfile_four_threads(void) { emfile_at_every_limit_errors_or_converges(4); }


/* ---- huge files and big directories: a small app over a walked directory --------------------- */
static rel_target   HF_T;              /* path -> "size:first bytes in hex" */
static coco_target* hf_tgt;
static int          hf_whole;          /* 1: the body reads the whole file */
static uint64_t     hf_max_size;       /* the walk's max_file_size */
static long         hf_calls;
static size_t       hf_spare_as;       /* > 0: RLIMIT_AS = what is mapped + this, set after the
                                          env is open (its store maps its address space) */
static coco_result hf_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const coco_localfs_file* f = coco_localfs_file_of(&a[0]);
    coco_bytes b;
    coco_result rc;
    char v[80];
    size_t i, k;
    (void)n; (void)r;
    __atomic_fetch_add(&hf_calls, 1, __ATOMIC_SEQ_CST);
    if (!f) return COCO_ERR_INVALID_ARG;
    if ((rc = coco_localfs_file_read(f, ctx, hf_whole ? 0 : 8, &b)) != COCO_OK) return rc;
    k = (size_t)snprintf(v, sizeof v, "%llu:", (unsigned long long)coco_localfs_file_size(f));
    for (i = 0; i < b.len && i < 8; i++)
        k += (size_t)snprintf(v + k, sizeof v - k, "%02x", ((const unsigned char*)b.ptr)[i]);
    return coco_declare(ctx, hf_tgt, coco_str(coco_localfs_file_path(f)), coco_str(v));
}
static const coco_fn hf_fn = { "hf", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, hf_body };
static coco_result hf_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_localfs_walk_desc w;
    (void)a; (void)n; (void)r;
    memset(&w, 0, sizeof w);
    w.context_key = "src";
    w.recursive = 1;
    w.max_file_size = hf_max_size;
    return coco_localfs_mount_walk(ctx, coco_str("files"), &w, &hf_fn);
}
static const coco_fn hf_main_fn = { "hf_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, hf_main };

/* one update of hf_main over `src` with the state in `db` */
static coco_result hf_update(const char* db, const char* src, coco_stats* st) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_env* env = NULL;
    coco_app* app = NULL;
    coco_result rc;
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.sync = COCO_SYNC_NONE;
    ed.on_error = ra_on_error;
    ra_errors = 0;
    ra_last_err[0] = 0;
    if ((rc = coco_env_open(&ed, &env)) != COCO_OK) return rc;
    memset(&ad, 0, sizeof ad);
    ad.name = "hf";
    ad.main = &hf_main_fn;
    ad.arg = coco_null();
    if ((rc = coco_target_register(env, "mem", &rt_vt, &HF_T, &hf_tgt)) == COCO_OK &&
        (rc = coco_env_provide(env, "src", (void*)src, NULL, 0)) == COCO_OK &&
        (rc = coco_app_create(env, &ad, &app)) == COCO_OK) {
        if (hf_spare_as) {
            struct rlimit rl;
            FILE* m = fopen("/proc/self/statm", "r");
            unsigned long pages = 0;
            if (!m || fscanf(m, "%lu", &pages) != 1) pages = 0;
            if (m) fclose(m);
            rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
                                        (rlim_t)hf_spare_as;
            if (!pages || setrlimit(RLIMIT_AS, &rl) != 0) rc = COCO_ERR_STATE;
        }
        if (rc == COCO_OK) rc = coco_app_update(app, NULL, st);
        if (st) { st->fns = NULL; st->nfns = 0; }
    }
    coco_app_destroy(app);
    coco_env_close(env);
    return rc;
}

#if defined(__SANITIZE_ADDRESS__)
#define HF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HF_ASAN 1
#endif
#endif

/* A huge file (sparse: no disk; 6 GiB in the long form, 256 MiB here) among small ones: its
   size is right, a no-op does not read it, a touch re-hashes it and runs nothing,
   max_file_size skips it (its output goes), and reading it whole with too little address
   space fails with an error naming it while the other files are done. */
static void huge_file_sizes_limits_and_out_of_memory(void) {
    char src[300], db[300], db2[320], big[400], want[64];
    const unsigned long long SIZE = ra_long() ? 6ull << 30 : 256ull << 20;
    coco_stats st;
    int fd;
    fresh(src, sizeof src, "huge");
    fresh(db, sizeof db, "huge");
    strcat(db, ".db");
    ra_put(src, "small.md", "hello", 1700000000);
    snprintf(big, sizeof big, "%s/huge.bin", src);
    fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    CHECK(write(fd, "HUGEFILE", 8) == 8);
    if (ftruncate(fd, (off_t)SIZE) != 0) {
        printf("# huge file: this file system cannot hold a sparse %llu-byte file; skipped\n",
               SIZE);
        close(fd);
        return;
    }
    close(fd);
    rt_clear(&HF_T);
    hf_whole = 0;
    hf_max_size = 0;
    hf_calls = 0;
    CHECK_INT_EQ(hf_update(db, src, &st), COCO_OK);
    snprintf(want, sizeof want, "%llu:4855474546494c45", SIZE);
    CHECK_STR_EQ(rt_get(&HF_T, "huge.bin"), want);
    CHECK_STR_EQ(rt_get(&HF_T, "small.md"), "5:68656c6c6f");
    CHECK_INT_EQ(hf_calls, 2);
    {   /* the no-op: no body runs, nothing is written, the file is not read (fast) */
        double t0 = ra_now();
        CHECK_INT_EQ(hf_update(db, src, &st), COCO_OK);
        CHECK_INT_EQ(hf_calls, 2);
        CHECK_INT_EQ(st.upserts + st.deletes, 0);
        CHECK(ra_now() - t0 < 1.0);
    }
    {   /* touched: level 0 changed, the content fingerprint did not */
        struct timeval tv[2];
        double t0;
        gettimeofday(&tv[0], NULL);
        tv[1] = tv[0];
        tv[1].tv_sec += 10;
        CHECK(utimes(big, tv) == 0);
        t0 = ra_now();
        CHECK_INT_EQ(hf_update(db, src, &st), COCO_OK);
        CHECK_INT_EQ(hf_calls, 2);
        CHECK_INT_EQ(st.upserts + st.deletes, 0);
        printf("# huge file: touched, re-hashed %llu MiB in %.1f s, nothing ran\n", SIZE >> 20,
               ra_now() - t0);
    }
    hf_max_size = 1u << 20;                     /* over the limit: not listed, output gone */
    CHECK_INT_EQ(hf_update(db, src, &st), COCO_OK);
    CHECK(rt_get(&HF_T, "huge.bin") == NULL);
    CHECK(rt_get(&HF_T, "small.md") != NULL);
    CHECK_INT_EQ(st.deletes, 1);
    hf_max_size = 0;
#if !defined(HF_ASAN)
    {   /* whole, with less address space to spare than its size (a fresh db, so that it runs):
           out of memory, named; no crash */
        pid_t pid;
        int status = 0;
        fflush(stdout);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            hf_spare_as = (size_t)(SIZE / 4);
            hf_whole = 1;
            rt_clear(&HF_T);
            snprintf(db2, sizeof db2, "%s.whole", db);
            /* the component fails (reported), the update goes on with the others */
            if (hf_update(db2, src, NULL) != COCO_OK) _exit(5);
            if (ra_errors != 1 || !strstr(ra_last_err, "huge.bin") ||
                !strstr(ra_last_err, "out of memory")) {
                printf("# %d error(s), the last: %s\n", ra_errors, ra_last_err);
                _exit(6);
            }
            _exit(rt_get(&HF_T, "huge.bin") == NULL && rt_get(&HF_T, "small.md") ? 0 : 7);
        }
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK_INT_EQ(WEXITSTATUS(status), 0);
    }
#endif
    unlink(big);
    ra_rm_db(db);
    snprintf(db2, sizeof db2, "%s.whole", db);
    ra_rm_db(db2);
}

/* One directory of N entries (20k here, 100k in the long form): every file listed once, the
   update converges, a no-op runs nothing, one deleted file is one delete. */
static void directory_of_many_entries(void) {
    char src[300], db[300], rel[32];
    long n = ra_long() ? 100000 : 20000, i;
    coco_stats st;
    double t0;
    fresh(src, sizeof src, "many");
    fresh(db, sizeof db, "many");
    strcat(db, ".db");
    ra_mkdirs(src);
    for (i = 0; i < n; i++) {
        char p[400];
        int fd;
        snprintf(p, sizeof p, "%s/e%06ld.md", src, i);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, rel, (size_t)snprintf(rel, sizeof rel, "%ld", i)) < 0) {
            CHECK(!"cannot create the files");
            if (fd >= 0) close(fd);
            return;
        }
        close(fd);
    }
    rt_clear(&HF_T);
    hf_whole = 0;
    hf_max_size = 0;
    hf_calls = 0;
    t0 = ra_now();
    CHECK_INT_EQ(hf_update(db, src, &st), COCO_OK);
    printf("# %ld entries in one directory: cold update %.2f s", n, ra_now() - t0);
    CHECK_INT_EQ((long)HF_T.n, n);
    CHECK_INT_EQ(hf_calls, n);
    CHECK_INT_EQ(ra_errors, 0);
    snprintf(rel, sizeof rel, "e%06ld.md", n - 1);
    CHECK(rt_get(&HF_T, rel) != NULL);
    t0 = ra_now();
    CHECK_INT_EQ(hf_update(db, src, &st), COCO_OK);
    printf(", no-op %.2f s\n", ra_now() - t0);
    CHECK_INT_EQ(hf_calls, n);
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    {
        char p[400];
        snprintf(p, sizeof p, "%s/e%06ld.md", src, n / 2);
        CHECK(unlink(p) == 0);
    }
    CHECK_INT_EQ(hf_update(db, src, &st), COCO_OK);
    CHECK_INT_EQ(st.deletes, 1);
    CHECK_INT_EQ(st.upserts, 0);
    CHECK_INT_EQ((long)HF_T.n, n - 1);
    rt_clear(&HF_T);
    ra_rm_rf(src);
    ra_rm_db(db);
}

int main(int argc, char** argv) {
    coco_test_begin("exhaust", argc, argv);
    snprintf(g_root, sizeof g_root, "/tmp/coco_exhaust.XXXXXX");
    if (!mkdtemp(g_root)) { printf("cannot create a temp dir\n"); return 1; }
    rt_init(&RA_T);
    rt_init(&RA_IDS);
    rt_init(&HF_T);
    snprintf(g_v1, sizeof g_v1, "%s/v1", g_root);
    snprintf(g_v2, sizeof g_v2, "%s/v2", g_root);
    ra_make_sources(g_v1, g_v2);
    g_exp1 = ra_expected(g_v1);
    g_exp2 = ra_expected(g_v2);
    RUN(alloc_fail_once_cold_update);
    RUN(alloc_fail_once_incremental_update);
    RUN(alloc_fail_sticky_incremental_update);
    RUN(alloc_fail_once_bigger_tree_cold_and_incremental);
    RUN(alloc_fail_json_values_split);
    RUN(alloc_fail_store_commits_and_compaction);
    RUN(alloc_fail_once_with_worker_threads);
    RUN(fn_register_nomem_is_reported);
    RUN(cleanup_alloc_failure_leaves_no_stale_states);
    RUN(app_key_nomem_reuses_no_id);
    RUN(alloc_fail_group_memo_600_files);
    RUN(emfile_one_thread);
    RUN(emfile_four_threads);
    RUN(huge_file_sizes_limits_and_out_of_memory);
    RUN(directory_of_many_entries);
    ra_register_late = 1;            /* the functions registered on first use, in the update */
    RUN(alloc_fail_once_cold_update);
    ra_register_late = 0;
    free(g_exp1);
    free(g_exp2);
    free(g_db1);
    free(g_dbm1);
    free(g_expm2);
    free(g_expb2);
    free(g_dbb1);
    rt_clear(&g_tb1);
    rt_clear(&g_idsb1);
    rt_clear(&g_tm1);
    rt_clear(&g_idsm1);
    rt_clear(&g_ids1);
    rt_clear(&RA_IDS);
    rt_clear(&RA_T);
    rt_clear(&HF_T);
    rt_clear(&g_t1);
    ra_rm_rf(g_root);
    return coco_test_end();
}
