/* tests/test_fp.c -- BLAKE3 hasher and 16-byte fingerprints (FP-01).
   The official BLAKE3 vectors are read from $COCO_TEST_DATA (the JSON file, or a folder that
   holds blake3_test_vectors.json), else tests/data/blake3_test_vectors.json (tests run
   from the repository root). */
#ifdef COCO_TEST_HARNESS
#include COCO_TEST_HARNESS
#else
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#endif
#include "coco_test.h"

#define VEC_FILE "blake3_test_vectors.json"
#define MAX_CASES 64

typedef struct vec_case {
    size_t input_len;
    const char* hex[3];        /* hash, keyed_hash, derive_key (point into the JSON text) */
    size_t hex_len[3];
} vec_case;

static char*    g_json;
static char     g_key[33];
static char     g_context[128];
static vec_case g_cases[MAX_CASES];
static int      g_ncases;
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) {
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return g_rng;
}

static void fill_random(uint8_t* p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) p[i] = (uint8_t)(rnd() >> 24);
}

static char* read_file(const char* path) {
    FILE* f = fopen(path, "rb");
    char* buf = NULL;
    size_t cap = 0, len = 0, got;
    if (!f) return NULL;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char* nb;
            cap = cap ? cap * 2 : 65536;
            nb = (char*)realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    if (len == 0) { free(buf); return NULL; }
    buf[len] = '\0';
    return buf;
}

/* Finds `"name"` followed by ':' after p; returns the first non-blank after the colon. */
static const char* json_field(const char* p, const char* name) {
    char pat[64];
    size_t n = strlen(name);
    const char* q;
    pat[0] = '"';
    memcpy(pat + 1, name, n);
    pat[n + 1] = '"';
    pat[n + 2] = '\0';
    while ((q = strstr(p, pat)) != NULL) {
        q += n + 2;
        while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') q++;
        if (*q == ':') {
            q++;
            while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') q++;
            return q;
        }
        p = q;
    }
    return NULL;
}

/* A JSON string value with no escapes: returns its start, sets *len. */
static const char* json_str(const char* p, size_t* len) {
    const char* e;
    if (!p || *p != '"') return NULL;
    e = strchr(p + 1, '"');
    if (!e) return NULL;
    *len = (size_t)(e - p - 1);
    return p + 1;
}

static int load_vectors(void) {
    static const char* modes[3] = { "hash", "keyed_hash", "derive_key" };
    const char* env = getenv("COCO_TEST_DATA");
    const char* p;
    const char* s;
    size_t n;
    if (g_json) return 1;
    if (env && *env) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", env, VEC_FILE);
        g_json = read_file(path);
        if (!g_json) g_json = read_file(env);
    } else {
        g_json = read_file("tests/data/" VEC_FILE);   /* the official vectors, in the repo */
    }
    if (!g_json) {
        printf("# cannot read the BLAKE3 test vectors (set COCO_TEST_DATA)\n");
        return 0;
    }
    s = json_str(json_field(g_json, "key"), &n);
    if (!s || n != 32) return 0;
    memcpy(g_key, s, 32);
    s = json_str(json_field(g_json, "context_string"), &n);
    if (!s || n >= sizeof g_context) return 0;
    memcpy(g_context, s, n);
    g_context[n] = '\0';
    p = json_field(g_json, "cases");
    while (p && (p = json_field(p, "input_len")) != NULL) {
        vec_case* c;
        int m;
        if (g_ncases == MAX_CASES) return 0;
        c = &g_cases[g_ncases];
        c->input_len = (size_t)strtoul(p, NULL, 10);
        for (m = 0; m < 3; m++) {
            c->hex[m] = json_str(json_field(p, modes[m]), &c->hex_len[m]);
            if (!c->hex[m] || c->hex_len[m] % 2 != 0 || c->hex_len[m] < 64) return 0;
        }
        p = c->hex[2] + c->hex_len[2];
        g_ncases++;
    }
    return g_ncases > 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t unhex(const char* s, size_t n, uint8_t* out) {
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        out[i / 2] = (uint8_t)(hexval(s[i]) * 16 + hexval(s[i + 1]));
    return n / 2;
}

static void vec_input(uint8_t* p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) p[i] = (uint8_t)(i % 251);
}

static void init_mode(coco_hasher* h, int mode) {
    if (mode == 0) coco_hasher_init(h);
    else if (mode == 1) coco_hasher_init_keyed(h, (const uint8_t*)g_key);
    else coco_hasher_init_derive_key(h, g_context);
}

/* Feeds p[0..n) in random pieces (sizes 0..max_piece). */
static void feed_pieces(coco_hasher* h, const uint8_t* p, size_t n, size_t max_piece) {
    while (n > 0) {
        size_t k = (size_t)(rnd() % (max_piece + 1));
        if (k > n) k = n;
        coco_hasher_update(h, p, k);
        p += k;
        n -= k;
    }
}

static const char* level_name(int lvl) {
    static const char* names[4] = { "portable", "sse41", "avx2", "avx512" };
    return names[lvl];
}

/* Every official case in every mode: the full extended output, its first 32 bytes,
   finalize_seek at several offsets, the fingerprint, and the same input fed in pieces. */
static void check_vectors_current_path(void) {
    static const uint64_t seeks[] = { 0, 1, 16, 31, 32, 63, 64, 65, 100, 127 };
    uint8_t* in;
    size_t maxlen = 0;
    int i, mode;
    for (i = 0; i < g_ncases; i++)
        if (g_cases[i].input_len > maxlen) maxlen = g_cases[i].input_len;
    in = (uint8_t*)malloc(maxlen + 1);
    REQUIRE(in != NULL);
    vec_input(in, maxlen);
    for (i = 0; i < g_ncases; i++) {
        const vec_case* c = &g_cases[i];
        for (mode = 0; mode < 3; mode++) {
            uint8_t want[512], got[512], part[512];
            size_t olen = unhex(c->hex[mode], c->hex_len[mode], want), k;
            coco_hasher h, h2;
            coco_fp fp;
            if (olen > sizeof want) olen = sizeof want;
            init_mode(&h, mode);
            coco_hasher_update(&h, in, c->input_len);
            memset(got, 0, sizeof got);
            coco_hasher_finalize(&h, got, olen);
            CHECK_MEM_EQ(got, want, olen);
            if (memcmp(got, want, olen) != 0)
                printf("#     input_len=%u mode=%d path=%s\n", (unsigned)c->input_len, mode,
                       coco_fp_simd());
            coco_hasher_finalize(&h, got, 32);
            CHECK_MEM_EQ(got, want, 32);
            for (k = 0; k < sizeof seeks / sizeof seeks[0]; k++) {
                size_t sk = (size_t)seeks[k], n = olen - sk;
                if (sk >= olen) continue;
                memset(part, 0, sizeof part);
                coco_hasher_finalize_seek(&h, seeks[k], part, n);
                CHECK_MEM_EQ(part, want + sk, n);
                if (n > 3) {             /* a short read in the middle */
                    coco_hasher_finalize_seek(&h, seeks[k] + 1, part, 2);
                    CHECK_MEM_EQ(part, want + sk + 1, 2);
                }
            }
            if (mode == 0) {
                fp = coco_hasher_fp(&h);
                CHECK_MEM_EQ(fp.bytes, want, 16);
                fp = coco_fp_of(in, c->input_len);
                CHECK_MEM_EQ(fp.bytes, want, 16);
            }
            init_mode(&h2, mode);
            feed_pieces(&h2, in, c->input_len, 1 + (size_t)(rnd() % 3000));
            coco_hasher_finalize(&h2, got, olen);
            CHECK_MEM_EQ(got, want, olen);
        }
    }
    free(in);
}

/* FP-01: the official BLAKE3 test vectors on the automatically chosen path. */
static void fp01_official_vectors(void) {
    REQUIRE(load_vectors());
    CHECK(g_ncases >= 30);
    check_vectors_current_path();
}

/* FP-01: the official vectors again with each SIMD path forced. */
static void fp01_official_vectors_every_path(void) {
    int lvl;
    REQUIRE(load_vectors());
    for (lvl = COCO__SIMD_PORTABLE; lvl <= COCO__SIMD_AVX512; lvl++) {
        if (!coco__blake3_force(lvl)) {
            printf("# skipping %s: not supported by this CPU\n", level_name(lvl));
            continue;
        }
        CHECK_STR_EQ(coco_fp_simd(), level_name(lvl));
        check_vectors_current_path();
    }
    CHECK(coco__blake3_force(-1));
}

/* FP-01: the same input fed in random-sized pieces (including empty ones and single bytes)
   gives the same result as one update, also across big subtree-sized pieces. */
static void fp01_streaming_pieces(void) {
    static const size_t lens[] = { 0, 1, 64, 1023, 1024, 1025, 3000, 65537, 300000,
                                   (size_t)2 * 1024 * 1024 + 777 };
    static const size_t pieces[] = { 1, 7, 64, 1000, 1024, 5000, 70000 };
    size_t maxlen = lens[sizeof lens / sizeof lens[0] - 1], i, j;
    uint8_t* in = (uint8_t*)malloc(maxlen);
    REQUIRE(in != NULL);
    fill_random(in, maxlen);
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t want[80], got[80];
        coco_hasher h;
        coco_hasher_init(&h);
        coco_hasher_update(&h, in, lens[i]);
        coco_hasher_finalize(&h, want, sizeof want);
        for (j = 0; j < sizeof pieces / sizeof pieces[0]; j++) {
            if (pieces[j] == 1 && lens[i] > 70000) continue;     /* slow, covered below */
            coco_hasher_init(&h);
            feed_pieces(&h, in, lens[i], pieces[j]);
            coco_hasher_finalize(&h, got, sizeof got);
            CHECK_MEM_EQ(got, want, sizeof want);
        }
        /* finalize in the middle does not disturb the hasher */
        coco_hasher_init(&h);
        coco_hasher_update(&h, in, lens[i] / 3);
        coco_hasher_finalize(&h, got, 32);
        coco_hasher_update(&h, in + lens[i] / 3, lens[i] - lens[i] / 3);
        coco_hasher_finalize(&h, got, sizeof got);
        CHECK_MEM_EQ(got, want, sizeof want);
    }
    {   /* one byte at a time across several chunks and a 16-chunk boundary */
        uint8_t want[32], got[32];
        coco_hasher h;
        size_t n = 17 * 1024 + 3;
        coco_hasher_init(&h);
        coco_hasher_update(&h, in, n);
        coco_hasher_finalize(&h, want, 32);
        coco_hasher_init(&h);
        for (i = 0; i < n; i++) coco_hasher_update(&h, in + i, 1);
        coco_hasher_finalize(&h, got, 32);
        CHECK_MEM_EQ(got, want, 32);
    }
    free(in);
}

/* Output of one mode for `in`, one-shot or in pieces, on the path in force. */
static void hash_with(int mode, const uint8_t* in, size_t n, int pieces, uint8_t out[96]) {
    coco_hasher h;
    init_mode(&h, mode);
    if (pieces) feed_pieces(&h, in, n, 1 + (size_t)(rnd() % 20000));
    else coco_hasher_update(&h, in, n);
    coco_hasher_finalize(&h, out, 96);
}

/* FP-01: every SIMD path (forced in turn; skipped with a note where the CPU lacks it) equals
   the portable path on random inputs of every boundary class and of random lengths. */
static void fp01_simd_paths_match_portable(void) {
    static const size_t fixed[] = {
        0, 1, 2, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2047, 2048, 2049, 3072, 3073,
        4095, 4096, 4097, 5120, 7168, 8191, 8192, 8193, 15 * 1024, 16383, 16384, 16385,
        17 * 1024, 31 * 1024 + 5, 32768, 32769, 65535, 65536, 65537, 99999, 100000,
        131072, 131073, 262144 + 1024, 1048576 + 1
    };
    const size_t maxlen = 1048576 + 1;
    uint8_t* in = (uint8_t*)malloc(maxlen);
    size_t lens[sizeof fixed / sizeof fixed[0] + 60];
    size_t nlens = 0, i;
    int lvl, mode, pieces;
    REQUIRE(in != NULL);
    fill_random(in, maxlen);
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) lens[nlens++] = fixed[i];
    for (i = 0; i < 60; i++) lens[nlens++] = (size_t)(rnd() % 100001);
    for (lvl = COCO__SIMD_SSE41; lvl <= COCO__SIMD_AVX512; lvl++) {
        int tested = 0;
        if (!coco__blake3_force(lvl)) {
            printf("# skipping %s: not supported by this CPU\n", level_name(lvl));
            continue;
        }
        for (i = 0; i < nlens; i++) {
            for (mode = 0; mode < 3; mode++) {
                for (pieces = 0; pieces < 2; pieces++) {
                    uint8_t want[96], got[96];
                    uint64_t seed = g_rng;
                    if (mode != 0 && i % 4 != 0) continue;     /* keep it quick */
                    REQUIRE(coco__blake3_force(COCO__SIMD_PORTABLE));
                    hash_with(mode, in, lens[i], pieces, want);
                    REQUIRE(coco__blake3_force(lvl));
                    g_rng = seed;                             /* same pieces */
                    hash_with(mode, in, lens[i], pieces, got);
                    CHECK_MEM_EQ(got, want, sizeof want);
                    if (memcmp(got, want, sizeof want) != 0)
                        printf("#     path=%s len=%u mode=%d pieces=%d\n", level_name(lvl),
                               (unsigned)lens[i], mode, pieces);
                    tested++;
                }
            }
        }
        CHECK(tested > 0);
    }
    CHECK(coco__blake3_force(-1));
    free(in);
}

/* coco_fp_of is the first 16 bytes of the plain hash; coco_fp_eq compares all 16. */
static void fp01_fp_of_is_hash_prefix(void) {
    uint8_t buf[5000], full[32];
    size_t lens[] = { 0, 3, 1024, 1025, 5000 }, i;
    fill_random(buf, sizeof buf);
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        coco_hasher h;
        coco_fp a, b;
        coco_hasher_init(&h);
        coco_hasher_update(&h, buf, lens[i]);
        coco_hasher_finalize(&h, full, 32);
        a = coco_fp_of(buf, lens[i]);
        b = coco_hasher_fp(&h);
        CHECK_MEM_EQ(a.bytes, full, 16);
        CHECK(coco_fp_eq(a, b));
    }
    {
        coco_fp a = coco_fp_of("abc", 3), b = a;
        CHECK(coco_fp_eq(a, b));
        b.bytes[15] ^= 1;
        CHECK(!coco_fp_eq(a, b));
        b = a;
        b.bytes[0] ^= 0x80;
        CHECK(!coco_fp_eq(a, b));
        CHECK(!coco_fp_eq(coco_fp_of("abc", 3), coco_fp_of("abd", 3)));
        CHECK(coco_fp_eq(coco_fp_of(NULL, 0), coco_fp_of("", 0)));
    }
}

/* coco_fp_hex: 32 lowercase hex digits, NUL-terminated, returns its argument. */
static void fp01_fp_hex_format(void) {
    char out[40];
    coco_fp fp;
    int i;
    memset(out, 'x', sizeof out);
    CHECK(coco_fp_hex(coco_fp_of("", 0), out) == out);
    CHECK_STR_EQ(out, "af1349b9f5f9a1a6a0404dea36dcc949");
    CHECK(out[33] == 'x');
    CHECK_STR_EQ(coco_fp_hex(coco_fp_of("abc", 3), out), "6437b3ac38465133ffb63b75273a8db5");
    for (i = 0; i < 16; i++) fp.bytes[i] = (uint8_t)(i * 17);
    CHECK_STR_EQ(coco_fp_hex(fp, out), "00112233445566778899aabbccddeeff");
    for (i = 0; i < 16; i++) fp.bytes[i] = (uint8_t)(0xF0 | i);
    CHECK_STR_EQ(coco_fp_hex(fp, out), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    CHECK_INT_EQ(strlen(out), 32);
}

/* coco_fp_simd names the path; the test hook forces and restores it. */
static void fp01_simd_dispatch(void) {
    const char* name = coco_fp_simd();
    int lvl, usable = 0;
    CHECK(strcmp(name, "avx512") == 0 || strcmp(name, "avx2") == 0 ||
          strcmp(name, "sse41") == 0 || strcmp(name, "portable") == 0);
    printf("# path in use: %s\n", name);
    CHECK(coco__blake3_force(COCO__SIMD_PORTABLE));
    CHECK_STR_EQ(coco_fp_simd(), "portable");
    for (lvl = COCO__SIMD_SSE41; lvl <= COCO__SIMD_AVX512; lvl++) {
        if (coco__blake3_force(lvl)) {
            usable = lvl;
            CHECK_STR_EQ(coco_fp_simd(), level_name(lvl));
        } else {
            CHECK_STR_EQ(coco_fp_simd(), level_name(usable));   /* unchanged */
        }
    }
    CHECK(!coco__blake3_force(COCO__SIMD_AVX512 + 1));
    CHECK(coco__blake3_force(-1));
    CHECK_STR_EQ(coco_fp_simd(), name);
    CHECK_STR_EQ(name, level_name(usable));          /* auto picks the best usable path */
}

int main(int argc, char** argv) {
    coco_test_begin("fp", argc, argv);
    RUN(fp01_official_vectors);
    RUN(fp01_official_vectors_every_path);
    RUN(fp01_streaming_pieces);
    RUN(fp01_simd_paths_match_portable);
    RUN(fp01_fp_of_is_hash_prefix);
    RUN(fp01_fp_hex_format);
    RUN(fp01_simd_dispatch);
    free(g_json);
    return coco_test_end();
}
