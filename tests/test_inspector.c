#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L
/* tests/test_inspector.c -- the state-db inspector (build/cocoindex) on real dbs made by the
   example apps: ls / tree / stats / why against golden outputs (tests/golden/inspector, with
   the temp directory, times and byte counts masked), verify on a good db, a flipped byte and a
   lying index snapshot, dump parsed as JSON, drop removing exactly the app's outputs, compact,
   usage.  Needs build/cocoindex, build/examples/files_transform and text_embedding (make
   builds them before the tests).  COCO_UPDATE_GOLDEN=1 rewrites the golden files. */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "coco_test.h"
#include <ctype.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static char g_root[512], g_dir[512], g_tool[600], g_ft[600], g_te[600];
static char g_out[1 << 17], g_err[1 << 14];

/* Runs `bin args` in directory `sub` of the test dir, stdin from /dev/null; stdout into
   g_out, stderr into g_err; returns the exit status. */
static int run_in(const char* sub, const char* bin, const char* args) {
    char cmd[4096], ep[700];
    FILE* p;
    size_t n;
    int st;
    snprintf(ep, sizeof ep, "%s/stderr.txt", g_dir);
    snprintf(cmd, sizeof cmd, "cd '%s/%s' && '%s' %s 2>'%s' </dev/null", g_dir, sub, bin, args,
             ep);
    p = popen(cmd, "r");
    if (!p) return -1;
    n = fread(g_out, 1, sizeof g_out - 1, p);
    g_out[n] = 0;
    st = pclose(p);
    g_err[0] = 0;
    if ((p = fopen(ep, "r")) != NULL) {
        n = fread(g_err, 1, sizeof g_err - 1, p);
        g_err[n] = 0;
        fclose(p);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
static int tool(const char* sub, const char* args) { return run_in(sub, g_tool, args); }

static void sh(const char* fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) printf("# command failed: %s\n", cmd);
}

static void put(const char* sub, const char* rel, const char* text) {
    char p[1200];
    FILE* f;
    snprintf(p, sizeof p, "%s/%s/%s", g_dir, sub, rel);
    if ((f = fopen(p, "w")) != NULL) { fputs(text, f); fclose(f); }
}

static int exists(const char* sub, const char* rel) {
    char p[1200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s/%s", g_dir, sub, rel);
    return stat(p, &st) == 0;
}

static long file_size(const char* sub, const char* rel) {
    char p[1200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s/%s", g_dir, sub, rel);
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static unsigned char* slurp(const char* sub, const char* rel, size_t* len) {
    char p[1200];
    FILE* f;
    unsigned char* b;
    long n;
    snprintf(p, sizeof p, "%s/%s/%s", g_dir, sub, rel);
    if (!(f = fopen(p, "rb"))) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (unsigned char*)malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    *len = (size_t)n;
    return b;
}
static int spit(const char* sub, const char* rel, const unsigned char* b, size_t len) {
    char p[1200];
    FILE* f;
    int ok;
    snprintf(p, sizeof p, "%s/%s/%s", g_dir, sub, rel);
    if (!(f = fopen(p, "r+b"))) return -1;   /* in place: same inode, as a disk error would */
    ok = fwrite(b, 1, len, f) == len;
    fclose(f);
    return ok ? 0 : -1;
}

/* A fresh directory `sub` with a source tree and a db made by the quickstart app. */
static int make_db(const char* sub) {
    char args[1200];
    sh("rm -rf '%s/%s' && mkdir -p '%s/%s/src/sub/deeper'", g_dir, sub, g_dir, sub);
    put(sub, "src/a.md", "# alpha\n");
    put(sub, "src/sub/b.md", "bee\n");
    put(sub, "src/sub/deeper/c.md", "sea and more\n");
    put(sub, "src/notes.txt", "not markdown\n");
    snprintf(args, sizeof args, "--db s.db update --src src --out out");
    return run_in(sub, g_ft, args);
}

/* ---- golden outputs ------------------------------------------------------------------------ */
/* Masks what changes from run to run: the test directory, times, byte counts ("N bytes" and
   the column under a "BYTES" header). */
static void mask(const char* in, char* out, size_t cap) {
    size_t i = 0, o = 0, dl = strlen(g_dir), col = 0;
    int in_table = 0;
    while (in[i] && o + 16 < cap) {
        const char* p = in + i;
        size_t line_start = o, j;
        /* one line at a time */
        while (in[i] && in[i] != '\n' && o + 16 < cap) {
            p = in + i;
            if (dl && strncmp(p, g_dir, dl) == 0) {
                memcpy(out + o, "<DIR>", 5); o += 5; i += dl;
                continue;
            }
            if (isdigit((unsigned char)p[0]) && strlen(p) >= 30 && p[4] == '-' && p[7] == '-' &&
                p[10] == 'T' && p[13] == ':' && p[16] == ':' && p[19] == '.') {
                j = 20;
                while (isdigit((unsigned char)p[j])) j++;
                if (p[j] == 'Z') {
                    memcpy(out + o, "<TIME>", 6); o += 6; i += j + 1;
                    continue;
                }
            }
            if (isdigit((unsigned char)p[0]) && (i == 0 || !isalnum((unsigned char)in[i - 1]))) {
                j = 0;
                while (isdigit((unsigned char)p[j])) j++;
                if (strncmp(p + j, " bytes", 6) == 0) {
                    out[o++] = 'N'; i += j;
                    continue;
                }
                memcpy(out + o, p, j); o += j; i += j;
                continue;
            }
            out[o++] = in[i++];
        }
        out[o] = 0;
        if (strstr(out + line_start, "BYTES")) {
            in_table = 1;
            col = (size_t)(strstr(out + line_start, "BYTES") - (out + line_start)) + 5;
        } else if (in_table && o - line_start == col && isdigit((unsigned char)out[o - 1])) {
            size_t k = o;
            while (k > line_start && isdigit((unsigned char)out[k - 1])) out[--k] = ' ';
            out[o - 1] = '#';
        } else {
            in_table = 0;
        }
        if (in[i] == '\n') out[o++] = in[i++];
    }
    out[o] = 0;
}

static void check_golden(const char* name, const char* got_raw) {
    static char masked[1 << 17];
    char path[1200];
    size_t len = 0;
    unsigned char* want;
    FILE* f;
    mask(got_raw, masked, sizeof masked);
    snprintf(path, sizeof path, "%s/tests/golden/inspector/%s.txt", g_root, name);
    if (getenv("COCO_UPDATE_GOLDEN")) {
        if ((f = fopen(path, "w")) != NULL) { fputs(masked, f); fclose(f); }
        printf("# wrote %s\n", path);
    }
    if (!(f = fopen(path, "rb"))) {
        printf("#     missing golden file %s\n", path);
        CHECK(!"golden file present");
        return;
    }
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    want = (unsigned char*)malloc(len + 1);
    if (!want || fread(want, 1, len, f) != len) len = 0;
    fclose(f);
    if (want) want[len] = 0;
    if (!want || strcmp((const char*)want, masked) != 0) {
        printf("#     golden %s differs; got:\n%s", name, masked);
        CHECK(!"output equals the golden file");
    }
    free(want);
}

/* ---- the tests ------------------------------------------------------------------------------ */
static void inspector_ls_tree_stats_golden(void) {
    REQUIRE(make_db("g") == 0);
    CHECK_INT_EQ(tool("g", "--db s.db ls"), 0);
    CHECK_STR_CONTAINS(g_out, "files_transform");
    check_golden("ls", g_out);
    CHECK_INT_EQ(tool("g", "--db s.db tree files_transform"), 0);
    CHECK_STR_CONTAINS(g_out, "\"sub/deeper/c.md\"  transform (memo)");
    CHECK_STR_CONTAINS(g_out, "-> localfs \"sub/deeper/c.md\"");
    CHECK(strstr(g_out, "notes.txt") == NULL);
    check_golden("tree", g_out);
    /* a subtree, in the engine's rendering and loosely */
    CHECK_INT_EQ(tool("g", "--db s.db tree files_transform '/\"files\"/Symbol(transform)/\"sub/b.md\"'"), 0);
    check_golden("tree_subtree", g_out);
    CHECK_INT_EQ(tool("g", "--db s.db tree files_transform files/transform/sub/b.md"), 0);
    check_golden("tree_subtree", g_out);
    CHECK_INT_EQ(tool("g", "--db s.db tree files_transform files/nothing"), 1);
    CHECK_STR_CONTAINS(g_err, "s.db");
    CHECK_STR_CONTAINS(g_err, "files/nothing");
    CHECK_INT_EQ(tool("g", "--db s.db stats files_transform"), 0);
    CHECK_STR_CONTAINS(g_out, "transform");
    check_golden("stats", g_out);
    /* an app that is not there: exit 1 naming the db and the app */
    CHECK_INT_EQ(tool("g", "--db s.db tree nope"), 1);
    CHECK_STR_CONTAINS(g_err, "'s.db' holds no app 'nope'");
    /* $COCOINDEX_DB, then ./cocoindex.db */
    {
        char args[1200];
        snprintf(args, sizeof args, "ls");
        setenv("COCOINDEX_DB", "s.db", 1);
        CHECK_INT_EQ(tool("g", args), 0);
        CHECK_STR_CONTAINS(g_out, "db s.db: 1 app");
        unsetenv("COCOINDEX_DB");
        CHECK_INT_EQ(tool("g", args), 1);
        CHECK_STR_CONTAINS(g_err, "./cocoindex.db");
    }
}

static void inspector_why_reports_the_changed_file(void) {
    char args[1200];
    struct timespec ts[2];
    char p[1200];
    REQUIRE(make_db("w") == 0);
    snprintf(args, sizeof args, "--db s.db why files_transform sub/b.md --dir 'src=%s/w/src'",
             g_dir);
    CHECK_INT_EQ(tool("w", args), 0);
    CHECK_STR_CONTAINS(g_out, "the file [\"key:src\", \"sub/b.md\"]");   /* memo key confirmed */
    CHECK_STR_CONTAINS(g_out, "unchanged");
    CHECK_STR_CONTAINS(g_out, "verdict: skipped (memo hit)");
    check_golden("why_unchanged", g_out);
    /* the source changes: why names the file and the change */
    put("w", "src/sub/b.md", "bee, now longer\n");
    CHECK_INT_EQ(tool("w", args), 0);
    CHECK_STR_CONTAINS(g_out, "changed (size 4 -> 16)");
    CHECK_STR_CONTAINS(g_out, "verdict: re-runs: the source file ");
    CHECK_STR_CONTAINS(g_out, "/w/src/sub/b.md changed");
    check_golden("why_changed", g_out);
    /* without --dir the store alone cannot tell, and says so */
    CHECK_INT_EQ(tool("w", "--db s.db why files_transform sub/b.md"), 0);
    CHECK_STR_CONTAINS(g_out, "verdict: cannot tell from the store");
    CHECK_STR_CONTAINS(g_out, "--dir");
    /* after the update the stored state is the new one */
    CHECK_INT_EQ(run_in("w", g_ft, "--db s.db update --src src --out out"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 1");
    CHECK_INT_EQ(tool("w", args), 0);
    CHECK_STR_CONTAINS(g_out, "size 16");
    CHECK_STR_CONTAINS(g_out, "verdict: skipped (memo hit)");
    /* touched, same content: no re-run, only the stored mtime is refreshed */
    snprintf(p, sizeof p, "%s/w/src/a.md", g_dir);
    ts[0].tv_sec = ts[1].tv_sec = 1000000000;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
    snprintf(args, sizeof args, "--db s.db why files_transform '/\"files\"/Symbol(transform)/"
             "\"a.md\"' --dir 'src=%s/w/src'", g_dir);
    CHECK_INT_EQ(tool("w", args), 0);
    CHECK_STR_CONTAINS(g_out, "touched (mtime changed), same content");
    CHECK_STR_CONTAINS(g_out, "verdict: skipped (memo hit)");
    /* a deleted source: the component goes */
    sh("rm '%s/w/src/sub/deeper/c.md'", g_dir);
    snprintf(args, sizeof args, "--db s.db why files_transform c.md --dir 'src=%s/w/src'", g_dir);
    CHECK_INT_EQ(tool("w", args), 0);
    CHECK_STR_CONTAINS(g_out, "verdict: deleted at the next update");
    /* the root is not memoized */
    CHECK_INT_EQ(tool("w", "--db s.db why files_transform /"), 0);
    CHECK_STR_CONTAINS(g_out, "verdict: runs at every update (not memoized)");
    /* an unknown path: exit 1 naming the db, the app and the path */
    CHECK_INT_EQ(tool("w", "--db s.db why files_transform nothing.md"), 1);
    CHECK_STR_CONTAINS(g_err, "'s.db'");
    CHECK_STR_CONTAINS(g_err, "no component at 'nothing.md'");
}

/* The offset of the first record of the first commit and its size. */
static int first_record(const unsigned char* b, size_t len, size_t* off, size_t* size) {
    coco__rec r;
    if (len < COCO__FILE_HDR + COCO__GROUP_HDR + 6) return -1;
    if (coco__rec_parse(b + COCO__FILE_HDR + COCO__GROUP_HDR, b + len, &r) != 0) return -1;
    *off = COCO__FILE_HDR + COCO__GROUP_HDR;
    *size = r.size;
    return 0;
}

static void inspector_verify_good_and_flipped_byte(void) {
    unsigned char* b;
    size_t len, off, size;
    char want[64];
    REQUIRE(make_db("v") == 0);
    CHECK_INT_EQ(tool("v", "--db s.db verify"), 0);
    CHECK_STR_CONTAINS(g_out, "s.db: ok:");
    CHECK_STR_CONTAINS(g_out, "index snapshot matches the log");
    CHECK(strchr(g_out, '\n') == g_out + strlen(g_out) - 1);      /* one line */
    /* a flipped bit in the last byte of the first record (its value) */
    REQUIRE((b = slurp("v", "s.db", &len)) != NULL);
    REQUIRE(first_record(b, len, &off, &size) == 0);
    b[off + size - 1] ^= 0x10;
    REQUIRE(spit("v", "s.db", b, len) == 0);
    CHECK_INT_EQ(tool("v", "--db s.db verify"), 1);
    snprintf(want, sizeof want, "offset %zu (commit seq 1, record 0): record checksum mismatch",
             off);
    CHECK_STR_CONTAINS(g_out, want);
    CHECK_STR_CONTAINS(g_out, "the record: app 'files_transform' ");   /* named by its app */
    CHECK_STR_CONTAINS(g_out, "the store refuses to open the db");
    CHECK_STR_CONTAINS(g_out, "problem");
    /* the store itself refuses it too; the error names the db */
    CHECK_INT_EQ(tool("v", "--db s.db ls"), 1);
    CHECK_STR_CONTAINS(g_err, "'s.db'");
    /* flipped back: clean again (the snapshot no longer matches the rewritten log's times) */
    b[off + size - 1] ^= 0x10;
    REQUIRE(spit("v", "s.db", b, len) == 0);
    CHECK_INT_EQ(tool("v", "--db s.db verify"), 0);
    CHECK_STR_CONTAINS(g_out, "s.db: ok:");
    free(b);
}

static void inspector_verify_lying_index_snapshot(void) {
    unsigned char* x;
    size_t len;
    unsigned w;
    uint64_t keys, a, c;
    REQUIRE(make_db("x") == 0);
    /* a second update so that the log holds superseded records */
    put("x", "src/a.md", "# alpha two\n");
    REQUIRE(run_in("x", g_ft, "--db s.db update --src src --out out") == 0);
    CHECK_INT_EQ(tool("x", "--db s.db verify"), 0);
    CHECK_STR_CONTAINS(g_out, "index snapshot matches the log");
    /* swap the record offsets of two entries and fix up both checksums: a snapshot the store
       would trust, mapping keys to the wrong records */
    REQUIRE((x = slurp("x", "s.db.idx", &len)) != NULL);
    REQUIRE(len >= COCO__IDX_HDR);
    w = x[21];
    keys = coco__get_u64le(x + 96);
    REQUIRE(keys >= 2 && w >= 1 && w <= 8);
    a = coco__get_uNle(x + COCO__IDX_HDR + 6, w);
    c = coco__get_uNle(x + COCO__IDX_HDR + (6 + w) + 6, w);
    coco__put_uNle(x + COCO__IDX_HDR + 6, c, w);
    coco__put_uNle(x + COCO__IDX_HDR + (6 + w) + 6, a, w);
    coco__put_u32le(x + 84, coco__crc32c(0, x + COCO__IDX_HDR, (size_t)(keys * (6 + w))));
    coco__put_u32le(x + 124, coco__crc32c(0, x, 124));
    REQUIRE(spit("x", "s.db.idx", x, len) == 0);
    CHECK_INT_EQ(tool("x", "--db s.db verify"), 1);
    CHECK_STR_CONTAINS(g_out, "index snapshot 's.db.idx': entry 0 has the hash of another key");
    CHECK_STR_CONTAINS(g_out, "index snapshot 's.db.idx': entry 1 has the hash of another key");
    /* a damaged snapshot header is reported too */
    x[0] ^= 1;
    REQUIRE(spit("x", "s.db.idx", x, len) == 0);
    CHECK_INT_EQ(tool("x", "--db s.db verify"), 1);
    CHECK_STR_CONTAINS(g_out, "index snapshot 's.db.idx': bad header");
    free(x);
}

/* Each line one JSON object with the fields the dump promises. */
static size_t check_json_lines(const char* text, const char* must_field, size_t* components) {
    coco_arena* ar;
    const char* p = text;
    size_t lines = 0;
    *components = 0;
    if (coco_arena_create(NULL, &ar) != COCO_OK) return 0;
    while (*p) {
        const char* nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        coco_value v;
        coco_result rc = coco_json_parse(ar, p, n, &v);
        lines++;
        if (rc != COCO_OK) printf("#     line %zu: %s\n", lines, coco_arena_errmsg(ar));
        CHECK(rc == COCO_OK);
        if (rc == COCO_OK) {
            const coco_value* kind = coco__field(&v, "kind");
            CHECK(v.kind == COCO_MAP);
            CHECK(coco__field(&v, must_field) != NULL);
            CHECK(coco__field(&v, "key_hex") != NULL);
            CHECK(kind && kind->kind == COCO_STR);
            if (kind && kind->kind == COCO_STR && kind->u.s.len == 9 &&
                memcmp(kind->u.s.ptr, "component", 9) == 0) {
                const coco_value* val = coco__field(&v, "value");
                (*components)++;
                CHECK(coco__field(&v, "fp") != NULL);
                CHECK(val && val->kind == COCO_MAP && coco__field(val, "f") &&
                      coco__field(val, "t") && coco__field(val, "c"));
            }
        }
        coco_arena_reset(ar);
        p += n + (nl ? 1 : 0);
    }
    coco_arena_destroy(ar);
    return lines;
}

static void inspector_dump_is_json_lines(void) {
    size_t lines, comps;
    REQUIRE(make_db("d") == 0);
    CHECK_INT_EQ(tool("d", "--db s.db dump"), 0);
    lines = check_json_lines(g_out, "app", &comps);
    CHECK_INT_EQ(comps, 5);                       /* root, "files", three files */
    CHECK(lines >= comps);
    CHECK_STR_CONTAINS(g_out, "\"path\":\"/\\\"files\\\"/Symbol(transform)/\\\"sub/b.md\\\"\"");
    CHECK_STR_CONTAINS(g_out, "{\"$symbol\":\"transform\"}");
    /* only one app's records, and the raw bytes */
    CHECK_INT_EQ(tool("d", "--db s.db dump files_transform --raw"), 0);
    CHECK_INT_EQ(check_json_lines(g_out, "value_b64", &comps), lines);
    CHECK_INT_EQ(tool("d", "--db s.db dump nope"), 0);
    CHECK_STR_EQ(g_out, "");
    /* every record of the log, in log order, with offsets */
    CHECK_INT_EQ(tool("d", "--db s.db dump --log"), 0);
    CHECK(check_json_lines(g_out, "offset", &comps) >= lines);
    CHECK_STR_CONTAINS(g_out, "{\"offset\":96,\"commit\":1,\"record\":0,\"op\":\"put\"");
}

static void inspector_drop_removes_exactly_the_outputs(void) {
    REQUIRE(make_db("p") == 0);
    REQUIRE(exists("p", "out/a.md") && exists("p", "out/sub/b.md") &&
            exists("p", "out/sub/deeper/c.md"));
    put("p", "out/mine.txt", "planted by the user\n");
    put("p", "out/sub/mine.md", "also the user's\n");
    /* not without --yes when nobody can be asked */
    CHECK_INT_EQ(tool("p", "--db s.db drop files_transform --root out"), 2);
    CHECK_STR_CONTAINS(g_err, "--yes");
    /* the root directory is not in the state db: refused, naming what to give */
    CHECK_INT_EQ(tool("p", "--db s.db drop files_transform --yes"), 1);
    CHECK_STR_CONTAINS(g_err, "give --root localfs=DIR");
    CHECK_STR_CONTAINS(g_err, "nothing was changed");
    CHECK_INT_EQ(tool("p", "--db s.db drop files_transform --yes --root missing_dir"), 1);
    CHECK_STR_CONTAINS(g_err, "'missing_dir' is not an existing directory");
    CHECK_INT_EQ(tool("p", "--db s.db drop files_transform --yes --root other=out"), 2);
    CHECK_STR_CONTAINS(g_err, "has no target named 'other'");
    CHECK(exists("p", "out/a.md"));
    /* the drop */
    CHECK_INT_EQ(tool("p", "--db s.db drop files_transform --yes --root localfs=out"), 0);
    CHECK_STR_CONTAINS(g_out, "dropped app 'files_transform' from s.db: 3 target states");
    CHECK(!exists("p", "out/a.md"));
    CHECK(!exists("p", "out/sub/b.md"));
    CHECK(!exists("p", "out/sub/deeper/c.md"));
    CHECK(!exists("p", "out/sub/deeper"));          /* emptied directories go too */
    CHECK(exists("p", "out/mine.txt"));
    CHECK(exists("p", "out/sub/mine.md"));
    CHECK(exists("p", "src/a.md"));
    /* and its state */
    CHECK_INT_EQ(tool("p", "--db s.db ls"), 0);
    CHECK_STR_CONTAINS(g_out, "0 apps");
    CHECK_INT_EQ(tool("p", "--db s.db tree files_transform"), 1);
    CHECK_INT_EQ(tool("p", "--db s.db verify"), 0);
    /* the app starts from scratch afterwards */
    CHECK_INT_EQ(run_in("p", g_ft, "--db s.db update --src src --out out"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 3");
}

static void inspector_compact_keeps_the_state(void) {
    static char before[1 << 16];
    long size0, size1;
    int i;
    REQUIRE(make_db("c") == 0);
    for (i = 0; i < 5; i++) {
        char text[64];
        snprintf(text, sizeof text, "bee %d\n", i);
        put("c", "src/sub/b.md", text);
        REQUIRE(run_in("c", g_ft, "--db s.db update --src src --out out") == 0);
    }
    REQUIRE(tool("c", "--db s.db tree files_transform") == 0);
    snprintf(before, sizeof before, "%s", g_out);
    size0 = file_size("c", "s.db");
    CHECK_INT_EQ(tool("c", "--db s.db compact"), 0);
    CHECK_STR_CONTAINS(g_out, "compacted s.db: ");
    size1 = file_size("c", "s.db");
    CHECK(size1 > 0 && size1 < size0);
    CHECK_INT_EQ(tool("c", "--db s.db tree files_transform"), 0);
    CHECK_STR_EQ(g_out, before);
    CHECK_INT_EQ(tool("c", "--db s.db verify"), 0);
    CHECK_STR_CONTAINS(g_out, "index snapshot matches the log");
    /* nothing to do for the app afterwards */
    CHECK_INT_EQ(run_in("c", g_ft, "--db s.db update --src src --out out"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 0");
    CHECK_INT_EQ(tool("c", "--db missing.db compact"), 1);
    CHECK_STR_CONTAINS(g_err, "missing.db");
    CHECK(!exists("c", "missing.db"));
}

static void inspector_help_and_usage(void) {
    static const char* const verbs[] = { "ls", "tree", "stats", "why", "verify", "compact",
                                         "dump", "drop" };
    size_t i;
    sh("mkdir -p '%s/h'", g_dir);
    CHECK_INT_EQ(tool("h", "--help"), 0);
    CHECK_STR_CONTAINS(g_out, "usage: cocoindex [--db PATH] <verb> [args]");
    for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "\n  %s", verbs[i]);
        CHECK_STR_CONTAINS(g_out, want);
    }
    for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        char args[64], want[64];
        snprintf(args, sizeof args, "%s --help", verbs[i]);
        CHECK_INT_EQ(tool("h", args), 0);
        snprintf(want, sizeof want, "usage: cocoindex [--db PATH] %s", verbs[i]);
        CHECK_STR_CONTAINS(g_out, want);
        CHECK(strlen(g_out) > strlen(want) + 40);   /* says what it does */
    }
    CHECK_INT_EQ(tool("h", ""), 2);
    CHECK_STR_CONTAINS(g_err, "usage:");
    CHECK_INT_EQ(tool("h", "frob"), 2);
    CHECK_STR_CONTAINS(g_err, "unknown verb 'frob'");
    CHECK_INT_EQ(tool("h", "tree"), 2);
    CHECK_STR_CONTAINS(g_err, "missing APP");
    CHECK_INT_EQ(tool("h", "ls extra"), 2);
    CHECK_INT_EQ(tool("h", "why app"), 2);
    CHECK_INT_EQ(tool("h", "dump --bogus"), 2);
    CHECK_STR_CONTAINS(g_err, "unknown option '--bogus'");
    CHECK_INT_EQ(tool("h", "--db"), 2);
    /* a db that is not there: exit 1 naming it, and nothing created */
    CHECK_INT_EQ(tool("h", "--db none.db ls"), 1);
    CHECK_STR_CONTAINS(g_err, "'none.db'");
    CHECK_INT_EQ(tool("h", "--db none.db verify"), 1);
    CHECK_STR_CONTAINS(g_err, "'none.db'");
    CHECK(!exists("h", "none.db"));
    /* a file that is no state db */
    put("h", "junk.db", "this is not a state store at all, just text, long enough for a header"
                        " to be read from it without running out of bytes\n");
    CHECK_INT_EQ(tool("h", "--db junk.db ls"), 1);
    CHECK_STR_CONTAINS(g_err, "not a cocoindex state store");
    CHECK_INT_EQ(tool("h", "--db junk.db verify"), 1);
    CHECK_STR_CONTAINS(g_out, "not a cocoindex state store");
}

static void inspector_text_embedding_golden(void) {
    struct stat st;
    int with_sqlite;
    REQUIRE(stat(g_te, &st) == 0);
    sh("rm -rf '%s/t' && mkdir -p '%s/t/docs/guide'", g_dir, g_dir);
    put("t", "docs/intro.md", "# Intro\n\nApples grow on trees. Pears too.\n\n## More\n\nThe "
                              "second section talks about oranges.\n");
    put("t", "docs/guide/setup.txt", "Install the library, then run the update.\n");
    put("t", "docs/guide/.hidden.md", "excluded\n");
    REQUIRE(run_in("t", g_te, "--db te.db update --src docs --out te.sqlite") == 0);
    CHECK_INT_EQ(tool("t", "--db te.db ls"), 0);
    check_golden("text_embedding_ls", g_out);
    CHECK_INT_EQ(tool("t", "--db te.db tree text_embedding"), 0);
    CHECK_STR_CONTAINS(g_out, "-> sqlite \"doc_chunks\"");
    CHECK_STR_CONTAINS(g_out, "-> sqlite/\"doc_chunks\" (\"intro.md\", 0)");
    check_golden("text_embedding_tree", g_out);
    CHECK_INT_EQ(tool("t", "--db te.db verify"), 0);
    /* drop needs the SQLite file; with SQLite in the tool the table goes */
    CHECK_INT_EQ(tool("t", "drop --help"), 0);
    with_sqlite = strstr(g_out, "(not in this build)") == NULL;
    CHECK_INT_EQ(tool("t", "--db te.db drop text_embedding --yes"), 1);
    CHECK_STR_CONTAINS(g_err, with_sqlite ? "give --sqlite sqlite=PATH" : "built without SQLite");
    CHECK_INT_EQ(run_in("t", g_te, "query apples --out te.sqlite"), 0);
    CHECK_STR_CONTAINS(g_out, "intro.md");
    if (with_sqlite) {
        CHECK_INT_EQ(tool("t", "--db te.db drop text_embedding --yes --sqlite te.sqlite"), 0);
        CHECK_STR_CONTAINS(g_out, "dropped app 'text_embedding'");
        CHECK(run_in("t", g_te, "query apples --out te.sqlite") != 0);   /* no table left */
        CHECK_INT_EQ(tool("t", "--db te.db ls"), 0);
        CHECK_STR_CONTAINS(g_out, "0 apps");
    }
}

int main(int argc, char** argv) {
    coco_test_begin("inspector", argc, argv);
    if (!getcwd(g_root, sizeof g_root)) return 1;
    snprintf(g_tool, sizeof g_tool, "%s/build/cocoindex", g_root);
    snprintf(g_ft, sizeof g_ft, "%s/build/examples/files_transform", g_root);
    snprintf(g_te, sizeof g_te, "%s/build/examples/text_embedding", g_root);
    snprintf(g_dir, sizeof g_dir, "/tmp/coco_test_inspector.%ld", (long)getpid());
    mkdir(g_dir, 0755);
    unsetenv("COCOINDEX_DB");
    RUN(inspector_ls_tree_stats_golden);
    RUN(inspector_why_reports_the_changed_file);
    RUN(inspector_verify_good_and_flipped_byte);
    RUN(inspector_verify_lying_index_snapshot);
    RUN(inspector_dump_is_json_lines);
    RUN(inspector_drop_removes_exactly_the_outputs);
    RUN(inspector_compact_keeps_the_state);
    RUN(inspector_help_and_usage);
    RUN(inspector_text_embedding_golden);
    sh("rm -rf '%s'", g_dir);
    return coco_test_end();
}
