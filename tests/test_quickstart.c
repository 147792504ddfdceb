#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L
/* tests/test_quickstart.c -- the quickstart binary (examples/files_transform) driven as a user
   would: add, change, delete, move source files; CLI options before or after the verb; exit
   codes; an unchanged output keeps its inode and mtime; drop removes only what we created.
   Needs build/examples/files_transform (make builds it before the tests). */
#include "coco_test.h"
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256], g_bin[512], g_out[8192];

static int run(const char* args) {
    char cmd[2048];
    FILE* p;
    size_t n;
    int st;
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", g_dir, g_bin, args);
    p = popen(cmd, "r");
    if (!p) return -1;
    n = fread(g_out, 1, sizeof g_out - 1, p);
    g_out[n] = 0;
    {   /* drain the rest: a reader that stops early would kill the writer with SIGPIPE */
        char rest[4096];
        while (fread(rest, 1, sizeof rest, p) > 0) {}
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void put(const char* rel, const char* text) {
    char p[600];
    FILE* f;
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    f = fopen(p, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static int read_file(const char* rel, char* buf, size_t cap) {
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

static int file_stat(const char* rel, struct stat* st) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", g_dir, rel);
    return stat(p, st);
}

static void sh(const char* fmt, const char* a) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, fmt, g_dir, a);
    if (system(cmd) != 0) printf("# command failed: %s\n", cmd);
}

static void quickstart_add_change_delete_move(void) {
    char buf[256];
    struct stat s1, s2;
    sh("mkdir -p '%s/docs/sub'%s", "");
    put("docs/a.md", "# hello\n");
    put("docs/sub/b.md", "bee\n");
    put("docs/notes.txt", "not markdown\n");
    /* options before and after the verb */
    CHECK_INT_EQ(run("--db s.db update --src docs --out out"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 2");
    REQUIRE(read_file("out/a.md", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "# HELLO\n");
    REQUIRE(read_file("out/sub/b.md", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "BEE\n");
    CHECK(read_file("out/notes.txt", buf, sizeof buf) != 0);
    REQUIRE(file_stat("out/a.md", &s1) == 0);
    sleep(1);   /* mtimes have a resolution: make a rewrite visible */
    CHECK_INT_EQ(run("update --src docs --out out --db s.db"), 0);   /* nothing to do */
    CHECK_STR_CONTAINS(g_out, "wrote 0");
    CHECK_STR_CONTAINS(g_out, "deleted 0");
    /* change one file: only its output is rewritten */
    put("docs/sub/b.md", "bee two\n");
    CHECK_INT_EQ(run("--db s.db --src docs --out out update"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 1");
    REQUIRE(read_file("out/sub/b.md", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "BEE TWO\n");
    REQUIRE(file_stat("out/a.md", &s2) == 0);
    CHECK(s1.st_ino == s2.st_ino);                             /* untouched output */
    CHECK(s1.st_mtime == s2.st_mtime);
    /* add one, delete one */
    put("docs/c.md", "sea\n");
    sh("rm '%s/docs/a.md'%s", "");
    CHECK_INT_EQ(run("--db s.db update --src docs --out out"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 1");
    CHECK_STR_CONTAINS(g_out, "deleted 1");
    CHECK(read_file("out/a.md", buf, sizeof buf) != 0);
    REQUIRE(read_file("out/c.md", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "SEA\n");
    /* move: the output moves */
    {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "mv '%s/docs/c.md' '%s/docs/sub/c2.md'", g_dir, g_dir);
        if (system(cmd) != 0) printf("# mv failed\n");
    }
    CHECK_INT_EQ(run("--db s.db update --src docs --out out"), 0);
    CHECK(read_file("out/c.md", buf, sizeof buf) != 0);
    REQUIRE(read_file("out/sub/c2.md", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "SEA\n");
    /* show and stats */
    CHECK_INT_EQ(run("--db s.db show"), 0);
    CHECK_STR_CONTAINS(g_out, "/\"files\"/Symbol(transform)/\"sub/b.md\"");
    CHECK_INT_EQ(run("--db s.db stats"), 0);
    CHECK_STR_CONTAINS(g_out, "2 target states");
    /* drop removes exactly what we created */
    put("out/mine.txt", "planted by the user\n");
    CHECK_INT_EQ(run("--db s.db drop --src docs --out out"), 2);   /* no --yes, no tty */
    CHECK_STR_CONTAINS(g_out, "--yes");
    CHECK_INT_EQ(run("--db s.db drop --yes --src docs --out out"), 0);
    CHECK(read_file("out/sub/b.md", buf, sizeof buf) != 0);
    CHECK(read_file("out/sub/c2.md", buf, sizeof buf) != 0);
    REQUIRE(read_file("out/mine.txt", buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "planted by the user\n");
}

static void quickstart_cli_usage_and_errors(void) {
    CHECK_INT_EQ(run("--help"), 0);
    CHECK_STR_CONTAINS(g_out, "usage:");
    CHECK_STR_CONTAINS(g_out, "--src DIR");
    CHECK_INT_EQ(run(""), 2);
    CHECK_INT_EQ(run("frobnicate"), 2);
    CHECK_STR_CONTAINS(g_out, "unknown verb 'frobnicate'");
    CHECK_INT_EQ(run("update --bogus"), 2);
    CHECK_STR_CONTAINS(g_out, "unknown option '--bogus'");
    CHECK_INT_EQ(run("update --src"), 2);
    CHECK_STR_CONTAINS(g_out, "--src needs a DIR");
    CHECK_INT_EQ(run("show --live"), 2);
    /* a db path that is a directory: a runtime error naming it */
    CHECK_INT_EQ(run("--db docs update --src docs --out out"), 1);
    CHECK_STR_CONTAINS(g_out, "is a directory");
    /* a missing source directory: the update fails and names it */
    CHECK_INT_EQ(run("--db e.db update --src no-such-dir --out out2"), 1);
    CHECK_STR_CONTAINS(g_out, "no-such-dir");
}

static void quickstart_second_writer_is_refused(void) {
    /* hold the lock with a live update in the background, then try a second writer */
    char cmd[1200];
    int rc;
    snprintf(cmd, sizeof cmd, "cd '%s' && ('%s' --db l.db update --live --src docs --out out3 "
             ">live.log 2>&1 & echo $! > live.pid) && sleep 1", g_dir, g_bin);
    if (system(cmd) != 0) { CHECK(!"could not start a live update"); return; }
    rc = run("--db l.db update --src docs --out out3");
    CHECK_INT_EQ(rc, 1);
    CHECK_STR_CONTAINS(g_out, "locked by pid");
    /* SIGINT stops a live update cleanly: it prints its summary and exits (gone or a zombie
       waiting for a parent that already left) */
    snprintf(cmd, sizeof cmd, "cd '%s' && kill -INT $(cat live.pid) && for i in 1 2 3 4 5 6 7 8 9 "
             "10 11 12 13 14 15 16 17 18 19 20; do st=$(ps -o stat= -p $(cat live.pid)); "
             "case \"$st\" in ''|Z*) grep -q processed live.log && exit 0;; esac; sleep 0.1; "
             "done; exit 1", g_dir);
    CHECK(system(cmd) == 0);
    CHECK_INT_EQ(run("--db l.db update --src docs --out out3"), 0);
}


/* waits up to 5 s until `rel` holds `want` (NULL: is absent) */
static int wait_file(const char* rel, const char* want) {
    char buf[256];
    int i;
    for (i = 0; i < 500; i++) {
        int r = read_file(rel, buf, sizeof buf);
        if (want ? (r == 0 && strcmp(buf, want) == 0) : r != 0) return 1;
        usleep(10000);
    }
    return 0;
}

/* LIVE-01 with a real inotify: add, change, delete, rename, new subdirectory */
static void quickstart_live_follows_the_directory(void) {
    char cmd[1200];
    {
        snprintf(cmd, sizeof cmd, "rm -rf '%s/lsrc' '%s/lout' && mkdir -p '%s/lsrc'", g_dir, g_dir,
                 g_dir);
        if (system(cmd) != 0) { CHECK(!"setup"); return; }
    }
    put("lsrc/one.md", "one\n");
    snprintf(cmd, sizeof cmd, "cd '%s' && ('%s' --db live.db update --live --src lsrc --out lout "
             ">lv.log 2>&1 & echo $! > lv.pid)", g_dir, g_bin);
    REQUIRE(system(cmd) == 0);
    CHECK(wait_file("lout/one.md", "ONE\n"));
    put("lsrc/two.md", "two\n");                        /* add */
    CHECK(wait_file("lout/two.md", "TWO\n"));
    put("lsrc/one.md", "one changed\n");                /* change */
    CHECK(wait_file("lout/one.md", "ONE CHANGED\n"));
    put("lsrc/skip.txt", "not markdown\n");             /* not selected */
    snprintf(cmd, sizeof cmd, "cd '%s' && rm lsrc/two.md && mv lsrc/one.md lsrc/uno.md && "
             "mkdir -p lsrc/new/deeper", g_dir);
    REQUIRE(system(cmd) == 0);
    CHECK(wait_file("lout/two.md", NULL));              /* delete */
    CHECK(wait_file("lout/one.md", NULL));              /* rename: old gone ... */
    CHECK(wait_file("lout/uno.md", "ONE CHANGED\n"));   /* ... new there */
    usleep(100000);
    put("lsrc/new/deeper/d.md", "deep\n");              /* a new subdirectory is watched */
    CHECK(wait_file("lout/new/deeper/d.md", "DEEP\n"));
    CHECK(wait_file("lout/skip.txt", NULL));
    snprintf(cmd, sizeof cmd, "cd '%s' && kill -INT $(cat lv.pid) && for i in 1 2 3 4 5 6 7 8 9 "
             "10 11 12 13 14 15 16 17 18 19 20; do st=$(ps -o stat= -p $(cat lv.pid)); "
             "case \"$st\" in ''|Z*) exit 0;; esac; sleep 0.1; done; exit 1", g_dir);
    CHECK(system(cmd) == 0);
    /* everything applied live was committed: a catch-up has nothing to do */
    CHECK_INT_EQ(run("--db live.db update --src lsrc --out lout"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 0");
    CHECK_STR_CONTAINS(g_out, "deleted 0");
}

/* Progress: periodic plain lines when asked for and stderr is not a terminal, redrawn in
   place (ANSI) under a pty by default, none by default otherwise. */
static int count(const char* hay, const char* needle) {
    int n = 0;
    const char* p = hay;
    while ((p = strstr(p, needle)) != NULL) { n++; p += strlen(needle); }
    return n;
}
static void quickstart_progress_display(void) {
    char cmd[1200];
    int i;
    sh("mkdir -p '%s/many'%s", "");
    for (i = 0; i < 1500; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/f%04d.md", i);
        put(rel, "# a document\n\nwith a line\n");
    }
    /* not a terminal: nothing but the summary by default */
    CHECK_INT_EQ(run("--db p.db update --src many --out pout"), 0);
    CHECK_INT_EQ(count(g_out, "in flight"), 0);
    CHECK_STR_CONTAINS(g_out, "wrote 1500");
    /* --progress: plain lines, a final one at least */
    CHECK_INT_EQ(run("--db p.db update --progress --full-reprocess --src many --out pout"), 0);
    CHECK_STR_CONTAINS(g_out, "transform");
    CHECK_STR_CONTAINS(g_out, "1500 total");
    CHECK_STR_CONTAINS(g_out, "1500 reprocessed");
    CHECK(strstr(g_out, "\033[") == NULL);               /* no escape codes in a pipe */
    setenv("COCO_PROGRESS_MS", "1", 1);
    CHECK_INT_EQ(run("--db p.db update --progress --full-reprocess --src many --out pout"), 0);
    unsetenv("COCO_PROGRESS_MS");
    CHECK(count(g_out, "in flight") >= 2 * 3);            /* several rounds of 3 functions */
    /* a terminal (a pty from script(1)): on by default, redrawn in place */
    snprintf(cmd, sizeof cmd, "script -qec \"'%s' --db p.db update --full-reprocess --src many "
             "--out pout\" /dev/null", g_bin);
    {
        char full[2600];
        FILE* p;
        size_t n;
        snprintf(full, sizeof full, "cd '%s' && %s 2>&1", g_dir, cmd);
        if ((p = popen(full, "r")) != NULL) {
            n = fread(g_out, 1, sizeof g_out - 1, p);
            g_out[n] = 0;
            pclose(p);
            CHECK_STR_CONTAINS(g_out, "\r\033[K");           /* each line cleared, then drawn */
            CHECK_STR_CONTAINS(g_out, "1500 reprocessed");
            CHECK_STR_CONTAINS(g_out, "processed 1502");
        } else {
            CHECK(!"popen of script(1)");
        }
    }
}

int main(int argc, char** argv) {
    char cwd[256];
    coco_test_begin("quickstart", argc, argv);
    if (!getcwd(cwd, sizeof cwd)) return 1;
    snprintf(g_bin, sizeof g_bin, "%s/build/examples/files_transform", cwd);
    snprintf(g_dir, sizeof g_dir, "/tmp/coco_test_quickstart.%ld", (long)getpid());
    mkdir(g_dir, 0755);
    RUN(quickstart_add_change_delete_move);
    RUN(quickstart_cli_usage_and_errors);
    RUN(quickstart_second_writer_is_refused);
    RUN(quickstart_live_follows_the_directory);
    RUN(quickstart_progress_display);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0) printf("# could not remove %s\n", g_dir);
    }
    return coco_test_end();
}
