#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L
/* tests/test_demo.c -- the text_embedding demo driven as a user would: index a directory,
   edit, delete and add documents, and check with SQLite triggers that exactly the affected
   rows changed; query; drop.  Needs build/examples/text_embedding (make builds it). */
#include "coco_test.h"
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256], g_bin[512], g_li[512], g_out[16384];

static int run_bin(const char* bin, const char* args);
static int run(const char* args) { return run_bin(g_bin, args); }
static int run_bin(const char* bin, const char* args) {
    char cmd[2048];
    FILE* p;
    size_t n;
    int st;
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", g_dir, bin, args);
    if (!(p = popen(cmd, "r"))) return -1;
    n = fread(g_out, 1, sizeof g_out - 1, p);
    g_out[n] = 0;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put(const char* rel, const char* text) {
    char p[600];
    FILE* f;
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    if ((f = fopen(p, "w")) != NULL) { fputs(text, f); fclose(f); }
}

/* A markdown document of `n` sections of about 500 bytes each, section k about `topic[k]`. */
static void put_doc(const char* rel, int n, const char* const* topic) {
    static char text[65536];
    size_t len = 0;
    int k, w;
    for (k = 0; k < n; k++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "## Section %d\n\n", k + 1);
        for (w = 0; w < 8; w++)
            len += (size_t)snprintf(text + len, sizeof text - len,
                                    "This part talks about %s in some detail, sentence %d. ",
                                    topic[k], w);
        len += (size_t)snprintf(text + len, sizeof text - len, "\n\n");
    }
    put(rel, text);
}

static sqlite3* g_db;

static int q_int(const char* sql) {
    sqlite3_stmt* st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(g_db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int open_db(void) {
    char p[600];
    snprintf(p, sizeof p, "%s/chunks.sqlite", g_dir);
    return sqlite3_open(p, &g_db) == SQLITE_OK;
}

/* Triggers log every row operation the demo does from now on. */
static void watch_rows(void) {
    const char* sql =
        "CREATE TABLE IF NOT EXISTS oplog(op TEXT, filename TEXT, start INTEGER);"
        "DELETE FROM oplog;"
        "CREATE TRIGGER IF NOT EXISTS t_i AFTER INSERT ON doc_chunks BEGIN "
        "  INSERT INTO oplog VALUES('i', new.filename, new.start); END;"
        "CREATE TRIGGER IF NOT EXISTS t_u AFTER UPDATE ON doc_chunks BEGIN "
        "  INSERT INTO oplog VALUES('u', new.filename, new.start); END;"
        "CREATE TRIGGER IF NOT EXISTS t_d AFTER DELETE ON doc_chunks BEGIN "
        "  INSERT INTO oplog VALUES('d', old.filename, old.start); END;";
    char* err = NULL;
    if (sqlite3_exec(g_db, sql, NULL, NULL, &err) != SQLITE_OK) printf("# triggers: %s\n", err);
    sqlite3_free(err);
}

static const char* const A_TOPICS[] = { "apples", "bridges", "clouds", "deserts", "engines",
                                        "forests" };
static const char* const B_TOPICS[] = { "glaciers", "harbours" };

static void demo_index_edit_delete_add_query_drop(void) {
    const char* const a2[] = { "apples", "bridges", "clouds", "deserts", "engines", "zebras!" };
    const char* const d_topics[] = { "volcanoes" };
    int rows_a, rows_b, n;
    put_doc("src/a.md", 6, A_TOPICS);
    put_doc("src/b.md", 2, B_TOPICS);
    put("src/notes.txt", "A short plain text note about lighthouses.\n");
    put("src/skip.c", "int not_indexed;\n");
    CHECK_INT_EQ(run("--db state.db update --src src --out chunks.sqlite"), 0);
    CHECK_STR_CONTAINS(g_out, "processed");
    REQUIRE(open_db());
    rows_a = q_int("SELECT count(*) FROM doc_chunks WHERE filename = 'a.md'");
    rows_b = q_int("SELECT count(*) FROM doc_chunks WHERE filename = 'b.md'");
    CHECK(rows_a >= 3);                          /* 6 sections of ~500 bytes, chunks of 1000 */
    CHECK(rows_b >= 1);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM doc_chunks WHERE filename = 'notes.txt'"), 1);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM doc_chunks WHERE filename = 'skip.c'"), 0);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM doc_chunks WHERE length(embedding) != 1024"), 0);
    CHECK_INT_EQ(q_int("SELECT location = '1:1-1:43' FROM doc_chunks WHERE filename = 'notes.txt'"), 1);
    watch_rows();

    /* nothing changed: nothing written */
    CHECK_INT_EQ(run("--db state.db update --src src --out chunks.sqlite"), 0);
    CHECK_STR_CONTAINS(g_out, "nothing to do");
    CHECK_INT_EQ(q_int("SELECT count(*) FROM oplog"), 0);

    /* the last section of a.md changes (same length): exactly its chunks are written */
    put_doc("src/a.md", 6, a2);
    CHECK_INT_EQ(run("--db state.db update --src src --out chunks.sqlite"), 0);
    n = q_int("SELECT count(*) FROM oplog");
    CHECK(n >= 1 && n <= 2);                     /* the chunk(s) holding section 6 */
    CHECK_INT_EQ(q_int("SELECT count(*) FROM oplog WHERE filename != 'a.md' OR op != 'u'"), 0);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM oplog o JOIN doc_chunks c ON c.filename = o.filename"
                       " AND c.start = o.start WHERE c.text NOT LIKE '%zebras!%'"), 0);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM doc_chunks WHERE filename = 'a.md'"), rows_a);

    /* query: the zebra chunk comes first */
    CHECK_INT_EQ(run("query \"zebras\" --out chunks.sqlite --top 3"), 0);
    {
        char want[128];
        sqlite3_stmt* st = NULL;
        const char* first = strstr(g_out, "  ");
        want[0] = 0;
        if (sqlite3_prepare_v2(g_db, "SELECT location FROM doc_chunks WHERE text LIKE "
                               "'%zebras!%' ORDER BY start DESC", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            snprintf(want, sizeof want, "a.md:%s\n", (const char*)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        CHECK(want[0] && first && strncmp(first + 2, want, strlen(want)) == 0);
    }

    /* b.md deleted: exactly its rows deleted */
    sqlite3_exec(g_db, "DELETE FROM oplog", NULL, NULL, NULL);
    {
        char p[600];
        snprintf(p, sizeof p, "%s/src/b.md", g_dir);
        unlink(p);
    }
    CHECK_INT_EQ(run("--db state.db update --src src --out chunks.sqlite"), 0);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM oplog WHERE op = 'd' AND filename = 'b.md'"), rows_b);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM oplog"), rows_b);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM doc_chunks WHERE filename = 'b.md'"), 0);

    /* a new document in a new directory: only inserts, for it */
    sqlite3_exec(g_db, "DELETE FROM oplog", NULL, NULL, NULL);
    {
        char p[600];
        snprintf(p, sizeof p, "%s/src/sub", g_dir);
        mkdir(p, 0755);
    }
    put_doc("src/sub/d.md", 1, d_topics);
    CHECK_INT_EQ(run("--db state.db update --src src --out chunks.sqlite"), 0);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM oplog WHERE op = 'i' AND filename = 'sub/d.md'"), 1);
    CHECK_INT_EQ(q_int("SELECT count(*) FROM oplog"), 1);

    /* bad usage and a missing database are clear errors */
    CHECK_INT_EQ(run("query"), 2);
    CHECK_STR_CONTAINS(g_out, "usage");
    CHECK_INT_EQ(run("query \"x\" --out missing.sqlite"), 1);
    CHECK_STR_CONTAINS(g_out, "missing.sqlite");

    /* drop: the table goes */
    sqlite3_close(g_db);
    g_db = NULL;
    CHECK_INT_EQ(run("--db state.db drop --yes --src src --out chunks.sqlite"), 0);
    REQUIRE(open_db());
    CHECK_INT_EQ(q_int("SELECT count(*) FROM sqlite_master WHERE name = 'doc_chunks'"), 0);
    sqlite3_close(g_db);
    g_db = NULL;
}

/* The connector of docs/connectors.md (examples/line_index.c): one index file, a line per note. */
static int slurp(const char* rel, char* buf, size_t cap) {
    char p[600];
    FILE* f;
    size_t n;
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    if (!(f = fopen(p, "r"))) return -1;
    n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return 0;
}
static void guide_line_index_connector(void) {
    char buf[512], p[600];
    snprintf(p, sizeof p, "%s/notes/sub", g_dir);
    {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
        REQUIRE(system(cmd) == 0);
    }
    put("notes/a.txt", "buy milk\n");
    put("notes/sub/b.txt", "call bob\nlater\n");
    put("notes/skip.md", "not a note\n");
    CHECK_INT_EQ(run_bin(g_li, "--db li.db update --src notes --out index.tsv"), 0);
    REQUIRE(slurp("index.tsv", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "a.txt\tbuy milk\nsub/b.txt\tcall bob\n");
    put("notes/a.txt", "buy bread\n");
    snprintf(p, sizeof p, "%s/notes/sub/b.txt", g_dir);
    unlink(p);
    put("notes/c.txt", "new one\n");
    CHECK_INT_EQ(run_bin(g_li, "--db li.db update --src notes --out index.tsv"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 2");
    CHECK_STR_CONTAINS(g_out, "deleted 1");
    REQUIRE(slurp("index.tsv", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "a.txt\tbuy bread\nc.txt\tnew one\n");
    CHECK_INT_EQ(run_bin(g_li, "--db li.db update --src notes --out index.tsv"), 0);
    CHECK_STR_CONTAINS(g_out, "nothing to do");
    CHECK_INT_EQ(run_bin(g_li, "--db li.db drop --yes --src notes --out index.tsv"), 0);
    REQUIRE(slurp("index.tsv", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "");
}

int main(int argc, char** argv) {
    char cwd[256], cmd[600];
    coco_test_begin("demo", argc, argv);
    if (!getcwd(cwd, sizeof cwd)) return 1;
    snprintf(g_bin, sizeof g_bin, "%s/build/examples/text_embedding", cwd);
    snprintf(g_li, sizeof g_li, "%s/build/examples/line_index", cwd);
    if (access(g_bin, X_OK) != 0) {
        printf("# %s is missing (make builds it)\n0 passed, 1 failed\n", g_bin);
        return 1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/coco_demo_XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/src'", g_dir);
    if (system(cmd) != 0) return 1;
    RUN(demo_index_edit_delete_add_query_drop);
    RUN(guide_line_index_connector);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) printf("# cleanup failed\n");
    return coco_test_end();
}
