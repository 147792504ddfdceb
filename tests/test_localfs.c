/* tests/test_localfs.c -- connectors/cocoindex_localfs.h: globs, walks, file objects, text
   decoding, and the file target inside real apps (scenarios FS-01..FS-04, MEMO-10, CTX-02,
   DROP-01, TGT-01).  White-box: the test owns the implementation, so the walker and decoder
   are also called directly. */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#include "coco_test.h"

#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#define BUMP(x) __atomic_fetch_add(&(x), 1, __ATOMIC_SEQ_CST)
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)

/* bytes the C heap has handed out (0 where it cannot tell, e.g. under ASan) */
static size_t heap_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    return mallinfo2().uordblks;
#else
    return 0;
#endif
}

static char g_root[256];     /* this run's scratch directory */
static int  g_seq;

/* ---- file helpers --------------------------------------------------------------------------- */
static void path_of(char* out, size_t cap, const char* dir, const char* rel) {
    snprintf(out, cap, "%s/%s", dir, rel);
}
static void mkdirs(const char* path) {
    char tmp[1024];
    size_t i, n = strlen(path);
    snprintf(tmp, sizeof tmp, "%s", path);
    for (i = 1; i <= n; i++) {
        if (i < n && tmp[i] != '/') continue;
        tmp[i] = 0;
        mkdir(tmp, 0777);
        if (i < n) tmp[i] = '/';
    }
}
static void put_bytes(const char* dir, const char* rel, const void* data, size_t len) {
    char p[1024], parent[1024];
    char* slash;
    FILE* f;
    path_of(p, sizeof p, dir, rel);
    snprintf(parent, sizeof parent, "%s", p);
    if ((slash = strrchr(parent, '/')) != NULL) { *slash = 0; mkdirs(parent); }
    f = fopen(p, "wb");
    if (!f) { printf("# cannot create %s\n", p); return; }
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}
static void put(const char* dir, const char* rel, const char* text) {
    put_bytes(dir, rel, text, strlen(text));
}
/* the file's content as a string, or NULL */
static const char* get(const char* dir, const char* rel) {
    static char buf[4096];
    char p[1024];
    size_t n;
    FILE* f;
    path_of(p, sizeof p, dir, rel);
    if (!(f = fopen(p, "rb"))) return NULL;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}
static int exists(const char* dir, const char* rel) {
    char p[1024];
    struct stat st;
    path_of(p, sizeof p, dir, rel);
    return lstat(p, &st) == 0;
}
static struct stat stat_of(const char* dir, const char* rel) {
    char p[1024];
    struct stat st;
    memset(&st, 0, sizeof st);
    path_of(p, sizeof p, dir, rel);
    if (stat(p, &st) != 0) memset(&st, 0, sizeof st);
    return st;
}
static int same_inode_mtime(struct stat a, struct stat b) {
    return a.st_ino == b.st_ino && a.st_ino != 0 && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
           a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}
static void rm_rf(const char* p) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", p, p);
    if (system(cmd) != 0) printf("# cannot remove %s\n", p);
}
static void fresh_dir(char* out, size_t cap, const char* tag) {
    snprintf(out, cap, "%s/%s%d", g_root, tag, ++g_seq);
    mkdirs(out);
}
/* number of '.coco-tmp.' files under dir (recursive) */
static int count_tmp(const char* dir) {
    DIR* d = opendir(dir);
    struct dirent* e;
    int n = 0;
    if (!d) return 0;
    while ((e = readdir(d)) != NULL) {
        char p[1024];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (strstr(e->d_name, ".coco-tmp.")) n++;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) n += count_tmp(p);
    }
    closedir(d);
    return n;
}
static void set_mtime(const char* dir, const char* rel, time_t sec) {
    char p[1024];
    struct timespec ts[2];
    path_of(p, sizeof p, dir, rel);
    ts[0].tv_sec = ts[1].tv_sec = sec;
    ts[0].tv_nsec = ts[1].tv_nsec = 123456789;
    utimensat(AT_FDCWD, p, ts, 0);
}

/* ---- glob helpers --------------------------------------------------------------------------- */
static int gm(const char* pat, const char* path) {
    coco_glob* g;
    coco_glob_desc d;
    int r;
    memset(&d, 0, sizeof d);
    d.include = &pat;
    d.ninclude = 1;
    if (coco_glob_compile(&d, &g, NULL, 0) != COCO_OK) return -1;
    r = coco_glob_match(g, path);
    coco_glob_destroy(g);
    return r;
}
static coco_glob* gset(const char* const* inc, size_t ni, const char* const* exc, size_t ne) {
    coco_glob* g = NULL;
    coco_glob_desc d;
    char err[256];
    memset(&d, 0, sizeof d);
    d.include = inc; d.ninclude = ni; d.exclude = exc; d.nexclude = ne;
    if (coco_glob_compile(&d, &g, err, sizeof err) != COCO_OK) printf("# %s\n", err);
    return g;
}
static coco_result gerr(const char* pat, int exclude, char* err, size_t cap) {
    coco_glob* g = NULL;
    coco_glob_desc d;
    coco_result rc;
    memset(&d, 0, sizeof d);
    if (exclude) { d.exclude = &pat; d.nexclude = 1; }
    else { d.include = &pat; d.ninclude = 1; }
    rc = coco_glob_compile(&d, &g, err, cap);
    coco_glob_destroy(g);
    return rc;
}

/* FS-01 */
static void glob_star_stays_in_a_segment_and_double_star_crosses(void) {
    CHECK_INT_EQ(gm("*.md", "a.md"), 1);
    CHECK_INT_EQ(gm("*.md", "d/a.md"), 0);            /* documented: '*' never crosses '/' */
    CHECK_INT_EQ(gm("*.md", ".md"), 1);
    CHECK_INT_EQ(gm("**/*.md", "a.md"), 1);           /* at the root too */
    CHECK_INT_EQ(gm("**/*.md", "d/a.md"), 1);
    CHECK_INT_EQ(gm("**/*.md", "d/e/f/a.md"), 1);
    CHECK_INT_EQ(gm("**/*.md", "d/a.mdx"), 0);
    CHECK_INT_EQ(gm("a/**", "a/x"), 1);
    CHECK_INT_EQ(gm("a/**", "a/x/y"), 1);
    CHECK_INT_EQ(gm("a/**", "a"), 0);
    CHECK_INT_EQ(gm("a/**", "b/x"), 0);
    CHECK_INT_EQ(gm("a/**/b.md", "a/b.md"), 1);
    CHECK_INT_EQ(gm("a/**/b.md", "a/x/y/b.md"), 1);
    CHECK_INT_EQ(gm("a/**/b.md", "ab.md"), 0);
    CHECK_INT_EQ(gm("**", "x/y/z"), 1);
    CHECK_INT_EQ(gm("a**b", "axyb"), 1);              /* inside a segment: one '*' */
    CHECK_INT_EQ(gm("a**b", "ax/b"), 0);
    CHECK_INT_EQ(gm("build/", "build/x/y"), 1);       /* trailing '/': everything below */
    CHECK_INT_EQ(gm("build/", "build"), 0);
    CHECK_INT_EQ(gm("*.md", "\xff\xfe.md"), 1);        /* invalid UTF-8 names still match */
}

/* FS-01 */
static void glob_question_classes_braces_escapes(void) {
    CHECK_INT_EQ(gm("?.md", "a.md"), 1);
    CHECK_INT_EQ(gm("?.md", "ab.md"), 0);
    CHECK_INT_EQ(gm("?.md", "\xc3\xa9.md"), 1);        /* one character, two bytes */
    CHECK_INT_EQ(gm("a?b", "a/b"), 0);
    CHECK_INT_EQ(gm("[a-c]x", "bx"), 1);
    CHECK_INT_EQ(gm("[a-c]x", "dx"), 0);
    CHECK_INT_EQ(gm("[!a]x", "bx"), 1);
    CHECK_INT_EQ(gm("[!a]x", "ax"), 0);
    CHECK_INT_EQ(gm("[^a]x", "ax"), 0);
    CHECK_INT_EQ(gm("[]]", "]"), 1);
    CHECK_INT_EQ(gm("[!]]", "]"), 0);
    CHECK_INT_EQ(gm("a[!x]b", "a/b"), 0);             /* a class never matches '/' */
    CHECK_INT_EQ(gm("[\xce\xb1-\xcf\x89]", "\xce\xb2"), 1);   /* [alpha-omega] vs beta */
    CHECK_INT_EQ(gm("[\xce\xb1-\xcf\x89]", "b"), 0);
    CHECK_INT_EQ(gm("{a,b}.md", "a.md"), 1);
    CHECK_INT_EQ(gm("{a,b}.md", "b.md"), 1);
    CHECK_INT_EQ(gm("{a,b}.md", "c.md"), 0);
    CHECK_INT_EQ(gm("{a,{b,c}d}.md", "cd.md"), 1);
    CHECK_INT_EQ(gm("{a,{b,c}d}.md", "bd.md"), 1);
    CHECK_INT_EQ(gm("{a,{b,c}d}.md", "b.md"), 0);
    CHECK_INT_EQ(gm("a{,b}c", "ac"), 1);
    CHECK_INT_EQ(gm("a{,b}c", "abc"), 1);
    CHECK_INT_EQ(gm("{docs/**,*.txt}", "docs/a/b.md"), 1);
    CHECK_INT_EQ(gm("{docs/**,*.txt}", "x.txt"), 1);
    CHECK_INT_EQ(gm("{docs/**,*.txt}", "d/x.txt"), 0);
    CHECK_INT_EQ(gm("{**/x,y}.md", "a/b/x.md"), 1);
    CHECK_INT_EQ(gm("\\*.md", "*.md"), 1);
    CHECK_INT_EQ(gm("\\*.md", "a.md"), 0);
    CHECK_INT_EQ(gm("a,b", "a,b"), 1);                /* ',' outside braces is literal */
}

/* FS-01: only a '/' that no backslash escapes makes "dir/" mean "dir/" + "**".  An escaped
   backslash before it ("a" + two backslashes + "/") leaves the '/' plain: the pattern is
   everything under the directory named "a\" (fuzz_glob found it taken for an escaped '/'). */
static void glob_trailing_slash_after_escaped_backslash(void) {
    CHECK_INT_EQ(gm("a\\\\/", "a\\/x"), 1);
    CHECK_INT_EQ(gm("a\\\\/", "a\\/x/y"), 1);
    CHECK_INT_EQ(gm("a\\\\/", "a\\"), 0);
    CHECK_INT_EQ(gm("a\\\\\\\\/", "a\\\\/x"), 1);     /* two escaped backslashes */
    CHECK_INT_EQ(gm("a\\/", "a/"), 1);                /* an escaped '/' stays literal */
    CHECK_INT_EQ(gm("a\\/", "a/x"), 0);
    CHECK_INT_EQ(gm("a\\\\\\/", "a\\/"), 1);          /* escaped backslash, escaped '/' */
    CHECK_INT_EQ(gm("a\\\\\\/", "a\\/x"), 0);
    CHECK_INT_EQ(gm("{a,b}\\\\/", "b\\/x"), 1);
}

static void glob_bad_patterns_are_named(void) {
    char err[256];
    char deep[200];
    int i;
    CHECK_INT_EQ(gerr("src/[abc", 0, err, sizeof err), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "'src/[abc'");
    CHECK_STR_CONTAINS(err, "unclosed '['");
    CHECK_INT_EQ(gerr("{a,b", 0, err, sizeof err), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "unclosed '{'");
    CHECK_INT_EQ(gerr("a}", 0, err, sizeof err), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "unmatched '}'");
    CHECK_INT_EQ(gerr("abc\\", 1, err, sizeof err), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "dangling");
    CHECK_INT_EQ(gerr("[z-a]", 0, err, sizeof err), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "invalid range");
    CHECK_INT_EQ(gerr("!drafts/**", 0, err, sizeof err), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "only works in exclude");
    CHECK_INT_EQ(gerr("!drafts/**", 1, err, sizeof err), COCO_OK);
    for (i = 0; i < 40; i++) deep[i] = '{';
    deep[40] = 0;
    CHECK_INT_EQ(gerr(deep, 0, err, sizeof err), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(err, "nested too deep");
}

/* bounded cost: patterns that make backtracking matchers explode */
static void glob_pathological_patterns_stay_cheap(void) {
    static char path[20001], pat[200];
    struct timespec t0, t1;
    double secs;
    int i;
    memset(path, 'a', 20000);
    path[20000] = 0;
    snprintf(pat, sizeof pat, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT_EQ(gm(pat, path), 0);
    pat[0] = 0;
    for (i = 0; i < 12; i++) strcat(pat, "{a,aa}");
    strcat(pat, "b");
    CHECK_INT_EQ(gm(pat, path), 0);
    CHECK_INT_EQ(gm("**/**/**/**/**/**/**/**/x", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y"), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs < 2.0);
}

/* FS-01: negation in excludes, deepest match wins, later pattern wins at equal depth */
static void glob_excludes_with_negation(void) {
    const char* inc[] = { "**/*.md" };
    const char* exc[] = { "drafts/**", "!drafts/keep.md", "**/tmp", "*.bak.md" };
    const char* exc2[] = { "build", "!build/keep.md" };
    const char* exc3[] = { "*.log", "!important.log" };
    const char* exc4[] = { "!important.log", "*.log" };
    coco_glob* g = gset(inc, 1, exc, 4);
    REQUIRE(g != NULL);
    CHECK_INT_EQ(coco_glob_match(g, "a.md"), 1);
    CHECK_INT_EQ(coco_glob_match(g, "a.txt"), 0);
    CHECK_INT_EQ(coco_glob_match(g, "drafts/x.md"), 0);
    CHECK_INT_EQ(coco_glob_match(g, "drafts/keep.md"), 1);
    CHECK_INT_EQ(coco_glob_match(g, "x/tmp/a.md"), 0);     /* an excluded ancestor */
    CHECK_INT_EQ(coco_glob_match(g, "tmp/a.md"), 0);
    CHECK_INT_EQ(coco_glob_match(g, "notes.bak.md"), 0);
    CHECK_INT_EQ(coco_glob_match(g, "d/notes.bak.md"), 1); /* '*' stays at the root */
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc2, 2);
    REQUIRE(g != NULL);
    CHECK_INT_EQ(coco_glob_match(g, "build/keep.md"), 1);
    CHECK_INT_EQ(coco_glob_match(g, "build/x.md"), 0);
    CHECK_INT_EQ(coco_glob_match(g, "buildx/y"), 1);
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc3, 2);
    CHECK_INT_EQ(coco_glob_match(g, "important.log"), 1);
    CHECK_INT_EQ(coco_glob_match(g, "x.log"), 0);
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc4, 2);
    CHECK_INT_EQ(coco_glob_match(g, "important.log"), 0);  /* the later pattern wins */
    coco_glob_destroy(g);
}

/* The quick shapes (any-depth suffix, root suffix, everything) answer exactly as the
   automaton does, for files and for directory pruning. */
static void glob_quick_shapes_agree_with_the_automaton(void) {
    static const char* const pats[] = {
        "**/*.md", "*.md", "**", "**/*", "*", "**/*.tar.gz", "*.", "**/*a", "*x,y"
    };
    static const char* const paths[] = {
        "", "a.md", ".md", "md", "amd", "a.mdx", "d/a.md", "d/.md", "d/e/f/a.md", "a.md/x",
        "d/amd", "a/", "a/b", "x.tar.gz", "d/x.tar.gz", "x.gz", "tar.gz", "a.", "d/a.", "a",
        "d/a", "d/ba", "\xff.md", "\xe2.md", "d/\xe2\x82.md", "\xc3\xa9.md", "d/\xf0\x9f.md",
        "a.md\n", "x,y", "d/x,y", "a/b/c/d/e/f/g/h/i/j/k.md"
    };
    size_t i, j;
    for (i = 0; i < sizeof pats / sizeof *pats; i++) {
        coco_glob* g = gset(&pats[i], 1, NULL, 0);
        coco__lfs_gsim sm;
        REQUIRE(g != NULL);
        CHECK(g->pats[0].quick != COCO__LFS_GQ_NONE);      /* the quick check is what runs */
        REQUIRE(coco__lfs_gsim_init(&sm, g) == 0);
        for (j = 0; j < sizeof paths / sizeof *paths; j++) {
            size_t n = strlen(paths[j]);
            int quick = coco__lfs_gmatch(g, paths[j], n, &sm);
            int dquick = n ? coco__lfs_gdir(g, paths[j], n, &sm) : 1;
            int slow, dslow;
            g->pats[0].quick = COCO__LFS_GQ_NONE;            /* the automaton alone */
            slow = coco__lfs_gmatch(g, paths[j], n, &sm);
            dslow = n ? coco__lfs_gdir(g, paths[j], n, &sm) : 1;
            coco__lfs_gclassify(pats[i], strlen(pats[i]), &g->pats[0]);
            if (quick != slow || dquick != dslow)
                printf("# pattern '%s', path '%s': quick %d/%d, automaton %d/%d\n", pats[i],
                       paths[j], quick, dquick, slow, dslow);
            CHECK_INT_EQ(quick, slow);
            CHECK_INT_EQ(dquick, dslow);
        }
        coco__lfs_gsim_free(&sm);
        coco_glob_destroy(g);
    }
    /* shapes that must stay on the automaton */
    {
        static const char* const slow_pats[] = { "**/*.m?", "**/*[ab]", "*.{md,txt}", "d/*.md",
                                                 "**/*\\*", "**/*.\xc3\xa9", "**.md" };
        for (i = 0; i < sizeof slow_pats / sizeof *slow_pats; i++) {
            coco_glob* g = gset(&slow_pats[i], 1, NULL, 0);
            REQUIRE(g != NULL);
            CHECK_INT_EQ(g->pats[0].quick, COCO__LFS_GQ_NONE);
            coco_glob_destroy(g);
        }
    }
}

/* FS-01: directory pruning */
static void glob_dir_may_match_prunes_only_what_cannot_match(void) {
    const char* inc_docs[] = { "docs/**/*.md" };
    const char* exc_nm[] = { "node_modules" };
    const char* exc_any_nm[] = { "**/node_modules" };
    const char* exc_b[] = { "build/**", "!build/keep/**" };
    const char* exc_b2[] = { "!build/keep.md", "build/**" };
    const char* exc_b3[] = { "build", "!build/keep.md" };
    coco_glob* g = gset(inc_docs, 1, NULL, 0);
    REQUIRE(g != NULL);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, ""), 1);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "docs"), 1);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "docs/a/b"), 1);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "src"), 0);
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc_nm, 1);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "node_modules"), 0);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "a/node_modules"), 1);   /* anchored at the root */
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc_any_nm, 1);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "a/node_modules"), 0);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "a/node_modules/x"), 0);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "a/src"), 1);
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc_b, 2);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "build"), 1);            /* a negation inside */
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "build/keep"), 1);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "build/other"), 0);
    CHECK_INT_EQ(coco_glob_match(g, "build/keep/a"), 1);
    CHECK_INT_EQ(coco_glob_match(g, "build/other/a"), 0);
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc_b2, 2);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "build"), 0);            /* later plain wins */
    coco_glob_destroy(g);
    g = gset(NULL, 0, exc_b3, 2);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "build"), 1);
    CHECK_INT_EQ(coco_glob_dir_may_match(g, "build/sub"), 0);
    coco_glob_destroy(g);
}

/* ---- walking (white-box: the internal walker, with our own arena) ---------------------------- */
static coco_result walk_dir(coco_arena* ar, const char* dir, const char* key, int recursive,
                            const char* const* inc, size_t ni, const char* const* exc, size_t ne,
                            uint64_t max, coco_localfs_items* out, char* err, size_t cap) {
    coco_localfs_walk_desc d;
    memset(&d, 0, sizeof d);
    d.recursive = recursive;
    d.include = inc; d.ninclude = ni;
    d.exclude = exc; d.nexclude = ne;
    d.max_file_size = max;
    return coco__lfs_walk(ar, NULL, dir, key, &d, out, err, cap);
}
static void keys_of(const coco_localfs_items* it, char* out, size_t cap) {
    size_t i;
    out[0] = 0;
    for (i = 0; i < it->n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%.*s|", (int)it->keys[i].u.s.len, it->keys[i].u.s.ptr);
    }
}
static const coco_localfs_file* item(const coco_localfs_items* it, const char* rel) {
    size_t i;
    for (i = 0; i < it->n; i++)
        if (strcmp(coco_localfs_file_path(coco_localfs_file_of(&it->items[i])), rel) == 0)
            return coco_localfs_file_of(&it->items[i]);
    return NULL;
}

/* FS-01: excluded directories are not entered (counted) */
static void walk_prunes_excluded_directories(void) {
    char dir[512], err[512], keys[1024];
    const char* inc[] = { "**/*.md" };
    const char* exc[] = { "node_modules", "**/.git" };
    const char* exc_neg[] = { "node_modules", "!node_modules/x/keep.md" };
    coco_arena* ar;
    coco_localfs_items it;
    fresh_dir(dir, sizeof dir, "prune");
    put(dir, "src/a.md", "a");
    put(dir, "docs/b.md", "b");
    put(dir, "docs/sub/c.txt", "c");
    put(dir, "node_modules/x/y/z.md", "z");
    put(dir, "node_modules/x/keep.md", "k");
    put(dir, "src/.git/objects/o.md", "o");
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, inc, 1, exc, 2, 0, &it, err, sizeof err), COCO_OK);
    keys_of(&it, keys, sizeof keys);
    CHECK_STR_EQ(keys, "docs/b.md|src/a.md|");
    CHECK_INT_EQ(it.ndirs, 4);                  /* root, docs, docs/sub, src */
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, inc, 1, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(it.ndirs, 9);
    CHECK_INT_EQ(it.n, 5);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, inc, 1, exc_neg, 2, 0, &it, err, sizeof err),
                 COCO_OK);
    keys_of(&it, keys, sizeof keys);
    CHECK_STR_EQ(keys, "docs/b.md|node_modules/x/keep.md|src/.git/objects/o.md|src/a.md|");
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 0, inc, 1, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(it.n, 0);                      /* not recursive: the root has no .md */
    CHECK_INT_EQ(it.ndirs, 1);
    coco_arena_destroy(ar);
}

/* FS-03: spaces, unicode and newlines in names; sorted; accessors */
static void walk_odd_names_sorted_and_accessors(void) {
    char dir[512], err[512], keys[1024];
    coco_arena* ar;
    coco_localfs_items it;
    const coco_localfs_file* f;
    struct stat st;
    char full[1024];
    coco_bytes b;
    fresh_dir(dir, sizeof dir, "names");
    put(dir, "a b.md", "spaces");
    put(dir, "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb6" "d\xc3\xa9.md", "unicode");
    put(dir, "new\nline.md", "newline");
    put(dir, "\xe6\x97\xa5\xe6\x9c\xac/x.md", "nested unicode");
    put(dir, "d/e/a.tar.gz", "tgz");
    put(dir, ".bashrc", "rc");
    put(dir, "z.", "dot");
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    keys_of(&it, keys, sizeof keys);
    CHECK_STR_EQ(keys, ".bashrc|a b.md|d/e/a.tar.gz|new\nline.md|z.|"
                       "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb6" "d\xc3\xa9.md|"
                       "\xe6\x97\xa5\xe6\x9c\xac/x.md|");
    CHECK_INT_EQ(it.nerrors, 0);
    f = item(&it, "d/e/a.tar.gz");
    REQUIRE(f != NULL);
    CHECK_STR_EQ(coco_localfs_file_name(f), "a.tar.gz");
    CHECK_STR_EQ(coco_localfs_file_stem(f), "a.tar");
    CHECK_STR_EQ(coco_localfs_file_suffix(f), ".gz");
    CHECK_STR_EQ(coco_localfs_file_parent(f), "d/e");
    CHECK_INT_EQ(coco_localfs_file_size(f), 3);
    path_of(full, sizeof full, dir, "d/e/a.tar.gz");
    stat(full, &st);
    CHECK_INT_EQ(coco_localfs_file_mtime_ns(f),
                 (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    CHECK(coco_localfs_file_error(f) == NULL);
    CHECK(coco_localfs_file_dir(f)[0] == '/');
    f = item(&it, ".bashrc");
    REQUIRE(f != NULL);
    CHECK_STR_EQ(coco_localfs_file_stem(f), ".bashrc");
    CHECK_STR_EQ(coco_localfs_file_suffix(f), "");
    CHECK_STR_EQ(coco_localfs_file_parent(f), "");
    f = item(&it, "z.");
    REQUIRE(f != NULL);
    CHECK_STR_EQ(coco_localfs_file_suffix(f), "");
    f = item(&it, "new\nline.md");
    REQUIRE(f != NULL);
    CHECK_INT_EQ(coco__lfs_read(f, ar, 0, &b, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(b.len, 7);
    CHECK_MEM_EQ(b.ptr, "newline", 7);
    coco_arena_destroy(ar);
}

/* FS-03: symlink loops, a symlinked directory seen twice, symlinks to files */
static void walk_symlink_loops_no_hang_no_duplicates(void) {
    char dir[512], outside[512], err[512], keys[1024], p[1024];
    coco_arena* ar;
    coco_localfs_items it;
    fresh_dir(dir, sizeof dir, "links");
    fresh_dir(outside, sizeof outside, "outside");
    put(dir, "real/f.md", "f");
    put(outside, "g.md", "g");
    path_of(p, sizeof p, dir, "real/loop");     CHECK(symlink("..", p) == 0);
    path_of(p, sizeof p, dir, "self");          CHECK(symlink(".", p) == 0);
    path_of(p, sizeof p, dir, "alias");         CHECK(symlink("real", p) == 0);
    path_of(p, sizeof p, dir, "flink.md");      CHECK(symlink("real/f.md", p) == 0);
    path_of(p, sizeof p, dir, "dangling.md");   CHECK(symlink("nowhere.md", p) == 0);
    path_of(p, sizeof p, dir, "l1.md");         CHECK(symlink("l2.md", p) == 0);
    path_of(p, sizeof p, dir, "l2.md");         CHECK(symlink("l1.md", p) == 0);
    path_of(p, sizeof p, dir, "ext");           CHECK(symlink(outside, p) == 0);
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    keys_of(&it, keys, sizeof keys);
    CHECK_STR_EQ(keys, "ext/g.md|flink.md|real/f.md|");
    CHECK_INT_EQ(it.nerrors, 0);
    CHECK_INT_EQ(coco_localfs_file_size(item(&it, "flink.md")), 1);
    coco_arena_destroy(ar);
}

/* Items come in byte order of their whole relative paths although each directory is sorted on
   its own and the runs are merged: names that sort around "/" (' ', '-', '.', '0'), files beside
   directories of the same stem, symlinked directories, a random tree; an unreadable directory
   (an item outside any run) takes the plain sort of every path. */
static int keys_strictly_sorted(const coco_localfs_items* it) {
    size_t i;
    for (i = 1; i < it->n; i++) {
        const coco_value *a = &it->keys[i - 1], *b = &it->keys[i];
        size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        int c = memcmp(a->u.s.ptr, b->u.s.ptr, n);
        if (c > 0 || (c == 0 && a->u.s.len >= b->u.s.len)) return 0;
    }
    return 1;
}
/* Runs `fn` as nobody when we are root (root reads anything), in a child with its own g_root. */
static void as_unprivileged(int (*fn)(void)) {
    pid_t pid;
    int status = 0;
    char saved[256];
    if (geteuid() != 0) {
        fn();
        return;
    }
    snprintf(saved, sizeof saved, "%s", g_root);
    fflush(stdout);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        snprintf(g_root, sizeof g_root, "/tmp/coco_lfs_nobody.%ld", (long)getpid());
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
        mkdirs(g_root);
        coco_test__cur_failed = 0;
        fn();
        rm_rf(g_root);
        fflush(stdout);
        _exit(coco_test__cur_failed ? 1 : 0);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_INT_EQ(WEXITSTATUS(status), 0);
    snprintf(g_root, sizeof g_root, "%s", saved);
}

/* an unreadable directory: an error item among its parent's names, all still in order */
static int order_with_an_unreadable_directory(void) {
    char dir[512], err[512], keys[512], p[1024];
    coco_arena* ar;
    coco_localfs_items it;
    if (coco_arena_create(NULL, &ar) != COCO_OK) { CHECK(0); return 1; }
    fresh_dir(dir, sizeof dir, "order");
    put(dir, "m.md", "1");
    put(dir, "m/n.md", "1");
    put(dir, "m0/o.md", "1");
    put(dir, "m-/p.md", "1");
    path_of(p, sizeof p, dir, "m");
    CHECK(chmod(p, 0) == 0);
    /* the walk lists what it could and says a directory could not be read */
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err),
                 COCO_ERR_IO);
    CHECK_STR_CONTAINS(err, "/m': Permission denied");
    keys_of(&it, keys, sizeof keys);
    CHECK_STR_EQ(keys, "m|m-/p.md|m.md|m0/o.md|");
    CHECK_INT_EQ(it.nerrors, 1);
    CHECK(chmod(p, 0755) == 0);
    coco_arena_destroy(ar);
    return 0;
}
static void walk_order_merges_directory_runs(void) {
    char dir[512], err[512], keys[2048], p[1024], rel[256];
    coco_arena* ar;
    coco_localfs_items it;
    unsigned seed = 12345;
    int i, made = 0;
    static const char* const alpha[] = {"a", "b", " ", "-", ".", "0", "~", "\xc3\xa9"};
    fresh_dir(dir, sizeof dir, "order");
    put(dir, "a.md", "1");
    put(dir, "a/x.md", "1");
    put(dir, "a0.md", "1");
    put(dir, "a b/y.md", "1");
    put(dir, "a-/z.md", "1");
    put(dir, "b/c/d.md", "1");
    put(dir, "b/c.md", "1");
    put(dir, "b/c0", "1");
    put(dir, "b.x/e.md", "1");
    put(dir, "b0", "1");
    path_of(p, sizeof p, dir, "b-link"); CHECK(symlink("b", p) == 0);
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    keys_of(&it, keys, sizeof keys);
    /* b-link is b, listed once under its real path */
    CHECK_STR_EQ(keys, "a b/y.md|a-/z.md|a.md|a/x.md|a0.md|b.x/e.md|b/c.md|b/c/d.md|b/c0|b0|");
    CHECK_INT_EQ(it.nerrors, 0);
    coco_arena_reset(ar);
    /* a random tree of short names from an alphabet around '/' */
    fresh_dir(dir, sizeof dir, "order");
    for (i = 0; i < 600; i++) {
        int depth = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4, k;
        rel[0] = 0;
        for (k = 0; k < depth; k++) {
            int nl = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 3, c;
            if (k) strcat(rel, "/");
            for (c = 0; c < nl; c++)
                strcat(rel, alpha[((seed = seed * 1103515245u + 12345u) >> 16) % 8]);
        }
        if (strcmp(rel, ".") == 0 || strstr(rel, "/./") || strncmp(rel, "./", 2) == 0 ||
            strstr(rel, "..") || (strlen(rel) >= 2 && strcmp(rel + strlen(rel) - 2, "/.") == 0))
            continue;
        path_of(p, sizeof p, dir, rel);
        {   /* skip names whose prefix is a file already, or that are directories already */
            struct stat st;
            char q[1024];
            size_t j;
            int clash = stat(p, &st) == 0;
            snprintf(q, sizeof q, "%s", p);
            for (j = strlen(dir) + 1; q[j] && !clash; j++)
                if (q[j] == '/') {
                    q[j] = 0;
                    clash = stat(q, &st) == 0 && !S_ISDIR(st.st_mode);
                    q[j] = '/';
                }
            if (clash) continue;
        }
        put(dir, rel, "r");
        made++;
    }
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(it.n, (size_t)made);
    CHECK(keys_strictly_sorted(&it));
    coco_arena_reset(ar);
    coco_arena_destroy(ar);
    as_unprivileged(order_with_an_unreadable_directory);
}

/* FS-03: huge files and max_file_size (a sparse file: no disk used) */
static void walk_max_file_size_skips_huge_files(void) {
    char dir[512], err[512], keys[1024], p[1024];
    coco_arena* ar;
    coco_localfs_items it;
    int fd;
    fresh_dir(dir, sizeof dir, "huge");
    put(dir, "small.md", "small");
    path_of(p, sizeof p, dir, "huge.bin");
    fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    CHECK(ftruncate(fd, (off_t)3 << 30) == 0);
    close(fd);
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 1 << 20, &it, err, sizeof err),
                 COCO_OK);
    keys_of(&it, keys, sizeof keys);
    CHECK_STR_EQ(keys, "small.md|");
    CHECK_INT_EQ(it.nskipped, 1);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(it.n, 2);
    CHECK(coco_localfs_file_size(item(&it, "huge.bin")) == (uint64_t)3 << 30);
    coco_arena_destroy(ar);
}

static void walk_missing_dir_and_memo_keys(void) {
    char dir[512], err[512], p[600];
    coco_arena* ar;
    coco_localfs_items it;
    coco_value k1, k2, mk;
    const coco_localfs_file* f;
    fresh_dir(dir, sizeof dir, "memo");
    put(dir, "a.md", "a");
    snprintf(p, sizeof p, "%s/not-there", dir);
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(walk_dir(ar, p, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err),
                 COCO_ERR_NOT_FOUND);
    CHECK_STR_CONTAINS(err, "not-there");
    /* memo key: [base, rel]; base = key:NAME with a context key, else the absolute dir */
    CHECK_INT_EQ(walk_dir(ar, dir, "src", 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    REQUIRE(it.n == 1);
    f = coco_localfs_file_of(&it.items[0]);
    CHECK_INT_EQ(coco__lfs_memo_key(f, ar, &k1), COCO_OK);
    {
        coco_value two[2];
        two[0] = coco_str("key:src");
        two[1] = coco_str("a.md");
        mk = coco_list(two, 2);
        CHECK(coco_value_eq(ar, &k1, &mk));
    }
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(coco__lfs_memo_key(coco_localfs_file_of(&it.items[0]), ar, &k2), COCO_OK);
    CHECK(!coco_value_eq(ar, &k1, &k2));
    CHECK_STR_EQ(k2.u.list.items[0].u.s.ptr,
                 coco_localfs_file_dir(coco_localfs_file_of(&it.items[0])));
    CHECK(coco_localfs_file_of(&k1) == NULL);
    coco_arena_destroy(ar);
}

/* ---- text decoding (FS-04) ------------------------------------------------------------------ */
static int dec(const char* in, size_t n, int strict, const char* want, size_t want_len,
               size_t want_bad) {
    coco_arena* ar;
    coco_bytes out;
    size_t bad = (size_t)-1;
    coco_result rc;
    int ok;
    if (coco_arena_create(NULL, &ar) != COCO_OK) return 0;
    rc = coco_localfs_decode_text(ar, in, n, strict ? COCO_LOCALFS_TEXT_STRICT
                                                    : COCO_LOCALFS_TEXT_REPLACE, &out, &bad);
    if (want) ok = rc == COCO_OK && out.len == want_len && memcmp(out.ptr, want, want_len) == 0 &&
                   ((const char*)out.ptr)[out.len] == 0;
    else ok = rc == COCO_ERR_DECODE && bad == want_bad;
    if (!ok) printf("#     rc %d, bad %lu\n", (int)rc, (unsigned long)bad);
    coco_arena_destroy(ar);
    return ok;
}
#define FFFD "\xef\xbf\xbd"
static void text_boms_utf16_and_invalid_utf8(void) {
    CHECK(dec("\xef\xbb\xbfhello", 8, 0, "hello", 5, 0));                 /* UTF-8 BOM */
    CHECK(dec("plain", 5, 1, "plain", 5, 0));
    CHECK(dec("", 0, 1, "", 0, 0));
    /* UTF-16LE / BE: h, e-acute, U+1F600 as a surrogate pair */
    CHECK(dec("\xff\xfe" "h\0" "\xe9\0" "\x3d\xd8\x00\xde", 10, 1,
              "h\xc3\xa9\xf0\x9f\x98\x80", 7, 0));
    CHECK(dec("\xfe\xff" "\0h" "\0\xe9" "\xd8\x3d\xde\x00", 10, 1,
              "h\xc3\xa9\xf0\x9f\x98\x80", 7, 0));
    /* unpaired surrogate, odd trailing byte */
    CHECK(dec("\xff\xfe" "\x3d\xd8" "a\0", 6, 0, FFFD "a", 4, 0));
    CHECK(dec("\xff\xfe" "\x3d\xd8" "a\0", 6, 1, NULL, 0, 2));
    CHECK(dec("\xff\xfe" "a\0" "b", 5, 0, "a" FFFD, 4, 0));
    CHECK(dec("\xff\xfe" "a\0" "b", 5, 1, NULL, 0, 4));
    /* invalid UTF-8: one U+FFFD per maximal subpart */
    CHECK(dec("a\xff" "b\xe2\x82", 5, 0, "a" FFFD "b" FFFD, 8, 0));
    CHECK(dec("a\xff" "b\xe2\x82", 5, 1, NULL, 0, 1));
    CHECK(dec("\xc0\xaf", 2, 0, FFFD FFFD, 6, 0));                        /* overlong */
    CHECK(dec("\xed\xa0\x80", 3, 0, FFFD FFFD FFFD, 9, 0));               /* surrogate */
    CHECK(dec("ok\xf4\x90\x80\x80", 6, 1, NULL, 0, 2));                   /* > U+10FFFF */
    CHECK(dec("\xef\xbb\xbf" "x\xff", 5, 1, NULL, 0, 4));                 /* offset counts BOM */
    CHECK(dec("\xe6\x97\xa5\xf0\x9f\x98\x80", 7, 1, "\xe6\x97\xa5\xf0\x9f\x98\x80", 7, 0));
}

static void read_first_bytes_and_errors_name_the_path(void) {
    char dir[512], err[512];
    coco_arena* ar;
    coco_localfs_items it;
    coco_bytes b;
    const coco_localfs_file* f;
    char p[1024];
    fresh_dir(dir, sizeof dir, "read");
    put(dir, "ten.txt", "0123456789");
    put(dir, "gone.txt", "x");
    REQUIRE(coco_arena_create(NULL, &ar) == COCO_OK);
    CHECK_INT_EQ(walk_dir(ar, dir, NULL, 0, NULL, 0, NULL, 0, 0, &it, err, sizeof err), COCO_OK);
    f = item(&it, "ten.txt");
    REQUIRE(f != NULL);
    CHECK_INT_EQ(coco__lfs_read(f, ar, 4, &b, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(b.len, 4);
    CHECK_MEM_EQ(b.ptr, "0123", 4);
    CHECK_INT_EQ(coco__lfs_read(f, ar, 0, &b, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(b.len, 10);
    CHECK_INT_EQ(coco__lfs_read(f, ar, 100, &b, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(b.len, 10);
    put(dir, "ten.txt", "0123456789abcdef");        /* grew since the walk */
    CHECK_INT_EQ(coco__lfs_read(f, ar, 0, &b, err, sizeof err), COCO_OK);
    CHECK_INT_EQ(b.len, 16);
    f = item(&it, "gone.txt");
    REQUIRE(f != NULL);
    path_of(p, sizeof p, dir, "gone.txt");
    unlink(p);                                      /* gone: told apart from other errors */
    CHECK_INT_EQ(coco__lfs_read(f, ar, 0, &b, err, sizeof err), COCO_ERR_NOT_FOUND);
    CHECK_STR_CONTAINS(err, p);
    coco_arena_destroy(ar);
}

/* ---- apps: the quickstart (markdown in, upper-cased copies out) ------------------------------ */
static coco_target* g_tgt;
static int g_calls;
static char g_errors[4096];
static int g_nerrors;
static int g_strict;

static void on_error(void* user, const coco_error_info* e) {
    size_t l = strlen(g_errors);
    (void)user;
    g_nerrors++;
    snprintf(g_errors + l, sizeof g_errors - l, "%s: %s\n", e->path, e->msg);
}

static coco_result upper_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const coco_localfs_file* f = coco_localfs_file_of(&a[0]);
    coco_bytes text;
    coco_result rc;
    char* up;
    size_t i;
    (void)n; (void)r;
    BUMP(g_calls);
    if (!f) return coco_ctx_fail(ctx, COCO_ERR_INVALID_ARG, "not a file");
    rc = coco_localfs_file_read_text(f, ctx, g_strict ? COCO_LOCALFS_TEXT_STRICT
                                                      : COCO_LOCALFS_TEXT_REPLACE, &text);
    if (rc != COCO_OK) return rc;
    if (!(up = (char*)coco_arena_alloc(coco_ctx_arena(ctx), text.len + 1))) return COCO_ERR_NOMEM;
    for (i = 0; i < text.len; i++) {
        char c = ((const char*)text.ptr)[i];
        up[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    return coco_localfs_declare_file(ctx, g_tgt, coco_localfs_file_path(f), up, text.len);
}
static const coco_fn upper_fn = { "upper", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, upper_body };

static coco_result qs_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const char* inc[] = { "**/*.md" };
    coco_localfs_walk_desc d;
    coco_localfs_items it;
    coco_result rc, rc2;
    (void)a; (void)n; (void)r;
    memset(&d, 0, sizeof d);
    d.context_key = "src";
    d.recursive = 1;
    d.include = inc;
    d.ninclude = 1;
    rc = coco_localfs_walk(ctx, &d, &it);
    if (rc != COCO_OK && rc != COCO_ERR_IO) return rc;
    rc2 = coco_mount_each(ctx, &upper_fn, it.keys, it.items, it.n);   /* mount what was read */
    return rc != COCO_OK ? rc : rc2;
}
static const coco_fn qs_main_fn = { "qs_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, qs_main };

typedef struct qs_world {
    coco_env* env;
    coco_app* app;
    char      db[600];
    char      src[600];        /* provided under "src"; may move */
    char      out[600];
} qs_world;

static const coco_fn* g_qs_main = &qs_main_fn;   /* or lv_main_fn: coco_localfs_mount_walk */
static coco_result qs_open(qs_world* w, int overwrite, coco_localfs_fsync fs) {
    coco_env_desc ed;
    coco_app_desc ad;
    coco_localfs_target_desc td;
    coco_result rc;
    memset(&ed, 0, sizeof ed);
    ed.db_path = w->db;
    ed.sync = COCO_SYNC_NONE;
    ed.on_error = on_error;
    if ((rc = coco_env_open(&ed, &w->env)) != COCO_OK) return rc;
    if ((rc = coco_env_provide(w->env, "src", w->src, NULL, 0)) != COCO_OK) return rc;
    memset(&td, 0, sizeof td);
    td.root = w->out;
    td.overwrite = overwrite;
    td.fsync = fs;
    if ((rc = coco_localfs_target_create(w->env, &td, &g_tgt)) != COCO_OK) return rc;
    memset(&ad, 0, sizeof ad);
    ad.name = "quickstart";
    ad.main = g_qs_main;
    ad.arg = coco_null();
    return coco_app_create(w->env, &ad, &w->app);
}
static void qs_close(qs_world* w) {
    coco_app_destroy(w->app);
    coco_env_close(w->env);
    w->app = NULL;
    w->env = NULL;
}
static void qs_new(qs_world* w, const char* tag) {
    char base[512];
    memset(w, 0, sizeof *w);
    fresh_dir(base, sizeof base, tag);
    snprintf(w->db, sizeof w->db, "%s/state.db", base);
    snprintf(w->src, sizeof w->src, "%s/src", base);
    snprintf(w->out, sizeof w->out, "%s/out", base);
    mkdirs(w->src);
    g_calls = 0;
    g_errors[0] = 0;
    g_nerrors = 0;
    g_strict = 0;
}
static coco_result qs_update(qs_world* w, coco_stats* st) {
    return coco_app_update(w->app, NULL, st);
}

/* FS-02, MEMO-10, CTX-02, TGT-01, DROP-01 */
static void quickstart_add_change_delete_move_touch_and_moved_source(void) {
    qs_world w;
    coco_stats st;
    struct stat a0, b0;
    char moved[600];
    qs_new(&w, "qs");
    put(w.src, "a.md", "hello");
    put(w.src, "d/b.md", "world");
    put(w.src, "notes.txt", "not markdown");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(LOAD(g_calls), 2);
    CHECK_INT_EQ(st.upserts, 2);
    CHECK_STR_EQ(get(w.out, "a.md"), "HELLO");
    CHECK_STR_EQ(get(w.out, "d/b.md"), "WORLD");
    CHECK(!exists(w.out, "notes.txt"));
    a0 = stat_of(w.out, "a.md");
    b0 = stat_of(w.out, "d/b.md");
    /* unchanged: no body runs, nothing written (MEMO-01 through files) */
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(LOAD(g_calls), 2);
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    CHECK(same_inode_mtime(a0, stat_of(w.out, "a.md")));
    /* change one file: only its output is rewritten; the other keeps inode and mtime */
    put(w.src, "a.md", "hello there");
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(LOAD(g_calls), 3);
    CHECK_INT_EQ(st.upserts, 1);
    CHECK_STR_EQ(get(w.out, "a.md"), "HELLO THERE");
    CHECK(same_inode_mtime(b0, stat_of(w.out, "d/b.md")));
    /* add */
    put(w.src, "c.md", "see");
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(LOAD(g_calls), 4);
    CHECK_INT_EQ(st.upserts, 1);
    CHECK_STR_EQ(get(w.out, "c.md"), "SEE");
    /* delete: the output goes, and so does its now empty directory */
    {
        char p[700];
        path_of(p, sizeof p, w.src, "d/b.md");
        unlink(p);
    }
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(st.deletes, 1);
    CHECK(!exists(w.out, "d/b.md"));
    CHECK(!exists(w.out, "d"));
    /* move */
    {
        char p[700], q[700];
        path_of(p, sizeof p, w.src, "c.md");
        path_of(q, sizeof q, w.src, "e/c2.md");
        path_of(q, sizeof q, w.src, "e");
        mkdirs(q);
        path_of(q, sizeof q, w.src, "e/c2.md");
        CHECK(rename(p, q) == 0);
    }
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(st.upserts, 1);
    CHECK_INT_EQ(st.deletes, 1);
    CHECK(!exists(w.out, "c.md"));
    CHECK_STR_EQ(get(w.out, "e/c2.md"), "SEE");
    /* MEMO-10: touching a source re-runs nothing and rewrites nothing */
    a0 = stat_of(w.out, "a.md");
    g_calls = 0;
    set_mtime(w.src, "a.md", 1700000000);
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(LOAD(g_calls), 0);
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    CHECK(same_inode_mtime(a0, stat_of(w.out, "a.md")));
    /* CTX-02: the source directory moves; the key is provided again with the new path */
    snprintf(moved, sizeof moved, "%.590s-moved", w.src);
    CHECK(rename(w.src, moved) == 0);
    snprintf(w.src, sizeof w.src, "%s", moved);
    CHECK_INT_EQ(coco_env_provide(w.env, "src", w.src, NULL, 0), COCO_OK);
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(LOAD(g_calls), 0);
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    CHECK(same_inode_mtime(a0, stat_of(w.out, "a.md")));
    CHECK_INT_EQ(count_tmp(w.out), 0);          /* a successful run leaves no temp file */
    CHECK_INT_EQ(g_nerrors, 0);
    qs_close(&w);
}

/* guarantee 6: a source directory that disappears is an error, never a deletion */
static void quickstart_missing_source_dir_deletes_nothing(void) {
    qs_world w;
    char away[600];
    qs_new(&w, "gone");
    put(w.src, "a.md", "a");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    snprintf(away, sizeof away, "%.590s-away", w.src);
    CHECK(rename(w.src, away) == 0);
    CHECK(qs_update(&w, NULL) != COCO_OK);
    CHECK_STR_CONTAINS(coco_app_errmsg(w.app), w.src);
    CHECK_STR_EQ(get(w.out, "a.md"), "A");
    CHECK(rename(away, w.src) == 0);
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(get(w.out, "a.md"), "A");
    qs_close(&w);
}

/* FS-03 end to end: odd names as component keys and as output files; a 250-byte name (its
   temporary file gets a hashed name) */
static void quickstart_odd_names_end_to_end(void) {
    qs_world w;
    char longname[300];
    coco_stats st;
    memset(longname, 'n', 247);
    memcpy(longname + 247, ".md", 4);
    qs_new(&w, "oddnames");
    put(w.src, "sp ace/new\nline \xc3\xa9.md", "nl");
    put(w.src, longname, "long");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(st.upserts, 2);
    CHECK_STR_EQ(get(w.out, "sp ace/new\nline \xc3\xa9.md"), "NL");
    CHECK_STR_EQ(get(w.out, longname), "LONG");
    put(w.src, longname, "longer");
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(st.upserts, 1);
    CHECK_STR_EQ(get(w.out, longname), "LONGER");
    CHECK_INT_EQ(qs_update(&w, &st), COCO_OK);
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    CHECK_INT_EQ(count_tmp(w.out), 0);
    CHECK_INT_EQ(g_nerrors, 0);
    qs_close(&w);
}

/* the public walk: bad descs and an unprovided context key are errors naming the problem */
static coco_result g_walk_rc[3];
static coco_result walkerr_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_localfs_walk_desc d;
    coco_localfs_items it;
    const char* bad[] = { "[oops" };
    (void)a; (void)n; (void)r;
    memset(&d, 0, sizeof d);
    g_walk_rc[0] = coco_localfs_walk(ctx, &d, &it);            /* neither path nor key */
    d.context_key = "nope";
    g_walk_rc[1] = coco_localfs_walk(ctx, &d, &it);            /* not provided */
    d.context_key = NULL;
    d.path = "/";
    d.include = bad;
    d.ninclude = 1;
    g_walk_rc[2] = coco_localfs_walk(ctx, &d, &it);            /* bad pattern */
    return COCO_OK;
}
static const coco_fn walkerr_fn = { "walkerr", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL,
                                    walkerr_main };
/* A walk's transient buffers come from the env's allocator (coco_env_allocator): a counting
   allocator sees frees during the walk (the arena it fills frees nothing until it is reset),
   and the walk's items are still all there. */
static long g_ca_allocs, g_ca_frees;
static void* ca_alloc(void* u, size_t n) { (void)u; BUMP(g_ca_allocs); return malloc(n); }
static void* ca_realloc(void* u, void* p, size_t o, size_t n) {
    (void)u; (void)o; BUMP(g_ca_allocs); return realloc(p, n);
}
static void ca_free(void* u, void* p, size_t n) { (void)u; (void)n; if (p) BUMP(g_ca_frees); free(p); }
static long g_walk_frees, g_walk_n;
static coco_result cawalk_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_localfs_walk_desc d;
    coco_localfs_items it;
    long f0 = LOAD(g_ca_frees);
    coco_result rc;
    (void)a; (void)n; (void)r;
    memset(&d, 0, sizeof d);
    d.context_key = "src";
    d.recursive = 1;
    if ((rc = coco_localfs_walk(ctx, &d, &it)) != COCO_OK) return rc;
    g_walk_frees = LOAD(g_ca_frees) - f0;
    g_walk_n = (long)it.n;
    return COCO_OK;
}
static const coco_fn cawalk_fn = { "cawalk", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, cawalk_main };
static void walk_buffers_come_from_the_env_allocator(void) {
    char dir[512], db[600], rel[64];
    coco_env_desc ed;
    coco_env* env;
    coco_app_desc ad;
    coco_app* app;
    const coco_allocator* ea;
    void* p;
    long before;
    int i;
    fresh_dir(dir, sizeof dir, "cawalk");
    for (i = 0; i < 300; i++) {
        snprintf(rel, sizeof rel, "d%d/f%d.md", i % 7, i);
        put(dir, rel, "x");
    }
    snprintf(db, sizeof db, "%s.db", dir);
    memset(&ed, 0, sizeof ed);
    ed.db_path = db;
    ed.sync = COCO_SYNC_NONE;
    ed.allocator.alloc = ca_alloc;
    ed.allocator.realloc = ca_realloc;
    ed.allocator.free = ca_free;
    REQUIRE(coco_env_open(&ed, &env) == COCO_OK);
    ea = coco_env_allocator(env);
    REQUIRE(ea != NULL);
    before = LOAD(g_ca_allocs);
    p = ea->alloc(ea->user, 100);
    CHECK(p != NULL);
    CHECK_INT_EQ(LOAD(g_ca_allocs), before + 1);
    ea->free(ea->user, p, 100);
    CHECK(coco_env_allocator(NULL) == NULL);
    REQUIRE(coco_env_provide(env, "src", dir, NULL, 0) == COCO_OK);
    memset(&ad, 0, sizeof ad);
    ad.name = "cawalk";
    ad.main = &cawalk_fn;
    REQUIRE(coco_app_create(env, &ad, &app) == COCO_OK);
    CHECK_INT_EQ(coco_app_update(app, NULL, NULL), COCO_OK);
    CHECK_INT_EQ(g_walk_n, 300);
    CHECK(g_walk_frees >= 5);          /* files, pool, dir records, pending stats, seen set... */
    coco_app_destroy(app);
    coco_env_close(env);
}

static void walk_wrapper_errors(void) {
    qs_world w;
    coco_app* app2;
    coco_app_desc ad;
    qs_new(&w, "walkerr");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    memset(&ad, 0, sizeof ad);
    ad.name = "walkerr";
    ad.main = &walkerr_fn;
    REQUIRE(coco_app_create(w.env, &ad, &app2) == COCO_OK);
    CHECK(coco_app_update(app2, NULL, NULL) != COCO_OK);     /* the first failure is kept */
    CHECK_INT_EQ(g_walk_rc[0], COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(g_walk_rc[1], COCO_ERR_NOT_FOUND);
    CHECK_INT_EQ(g_walk_rc[2], COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_app_errmsg(app2), "either a path or a context_key");
    coco_app_destroy(app2);
    qs_close(&w);
}

/* FS-02: foreign files are errors (named) unless overwrite; equal content is accepted */
static void target_foreign_file_is_an_error_unless_overwrite(void) {
    qs_world w;
    struct stat g0;
    qs_new(&w, "foreign");
    put(w.src, "f.md", "mine now");
    put(w.src, "g.md", "same");
    mkdirs(w.out);
    put(w.out, "f.md", "somebody else's");
    put(w.out, "g.md", "SAME");                  /* what we would write: a crashed run's */
    g0 = stat_of(w.out, "g.md");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);  /* a failed apply is reported, not returned */
    CHECK(g_nerrors >= 1);
    CHECK_STR_CONTAINS(g_errors, "foreign file");
    CHECK_STR_CONTAINS(g_errors, "/out/f.md");
    CHECK_STR_EQ(get(w.out, "f.md"), "somebody else's");
    CHECK(same_inode_mtime(g0, stat_of(w.out, "g.md")));
    g_errors[0] = 0;
    g_nerrors = 0;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);  /* still refused on the retry */
    CHECK_STR_CONTAINS(g_errors, "foreign file");
    CHECK_STR_EQ(get(w.out, "f.md"), "somebody else's");
    /* the source goes away: the foreign file is not ours to delete */
    {
        char p[700];
        path_of(p, sizeof p, w.src, "f.md");
        unlink(p);
    }
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(get(w.out, "f.md"), "somebody else's");
    put(w.src, "f.md", "mine now");
    qs_close(&w);
    g_errors[0] = 0;
    g_nerrors = 0;
    REQUIRE(qs_open(&w, 1, COCO_LOCALFS_FSYNC_FILE) == COCO_OK);   /* overwrite */
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_INT_EQ(g_nerrors, 0);
    CHECK_STR_EQ(get(w.out, "f.md"), "MINE NOW");
    CHECK(same_inode_mtime(g0, stat_of(w.out, "g.md")));
    CHECK_INT_EQ(count_tmp(w.out), 0);
    qs_close(&w);
}

/* DROP-01: drop removes exactly our files (and the directories that became empty) */
static void target_drop_removes_ours_and_keeps_foreign(void) {
    qs_world w;
    qs_new(&w, "drop");
    put(w.src, "a.md", "a");
    put(w.src, "x/y/b.md", "b");
    put(w.src, "k/c.md", "c");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_BATCH) == COCO_OK);
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(get(w.out, "x/y/b.md"), "B");
    put(w.out, "keep.txt", "foreign");
    put(w.out, "k/keep2.txt", "foreign too");
    put(w.out, "a.md.bak", "foreign");
    qs_close(&w);
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_BATCH) == COCO_OK);   /* a fresh process */
    CHECK_INT_EQ(coco_app_drop(w.app), COCO_OK);
    CHECK(!exists(w.out, "a.md"));
    CHECK(!exists(w.out, "x/y/b.md"));
    CHECK(!exists(w.out, "x"));
    CHECK(!exists(w.out, "k/c.md"));
    CHECK_STR_EQ(get(w.out, "keep.txt"), "foreign");
    CHECK_STR_EQ(get(w.out, "k/keep2.txt"), "foreign too");
    CHECK_STR_EQ(get(w.out, "a.md.bak"), "foreign");
    CHECK(exists(w.out, ""));                    /* the root stays */
    CHECK_INT_EQ(g_nerrors, 0);
    qs_close(&w);
}

/* crash leftovers: a stale temp file of a dead writer goes at the next apply in its directory;
   a full reprocess re-applies everything without rewriting equal files */
static void target_stale_temp_removed_full_reprocess_keeps_inodes(void) {
    qs_world w;
    coco_update_desc ud;
    struct stat a0;
    pid_t dead;
    char tmpname[128];
    int status;
    qs_new(&w, "stale");
    put(w.src, "a.md", "a");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    a0 = stat_of(w.out, "a.md");
    dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, &status, 0);
    snprintf(tmpname, sizeof tmpname, ".a.md.coco-tmp.%ld", (long)dead);
    put(w.out, tmpname, "half written");
    CHECK_INT_EQ(count_tmp(w.out), 1);
    memset(&ud, 0, sizeof ud);
    ud.full_reprocess = 1;
    g_calls = 0;
    CHECK_INT_EQ(coco_app_update(w.app, &ud, NULL), COCO_OK);
    CHECK_INT_EQ(LOAD(g_calls), 1);
    CHECK_INT_EQ(count_tmp(w.out), 0);
    CHECK(same_inode_mtime(a0, stat_of(w.out, "a.md")));
    CHECK_INT_EQ(g_nerrors, 0);
    qs_close(&w);
}

/* bad paths are refused with a message naming them, at declare and at apply */
static coco_result badpath_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    static const char* bad[] = { "../evil.md", "/abs.md", "a//b.md", "a/./b.md", "", "dir/",
                                 ".x.coco-tmp.12" };
    size_t i;
    int refused = 0;
    (void)a; (void)n; (void)r;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused += coco_localfs_declare_file(ctx, g_tgt, bad[i], "x", 1) == COCO_ERR_INVALID_ARG;
    return refused == (int)(sizeof bad / sizeof bad[0]) ? COCO_OK : COCO_ERR_STATE;
}
static const coco_fn badpath_fn = { "badpath", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL,
                                    badpath_main };
static coco_result rawkey_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    (void)a; (void)n; (void)r;
    return coco_declare(ctx, g_tgt, coco_str("../escape.md"), coco_bytes_val("x", 1));
}
static const coco_fn rawkey_fn = { "rawkey", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, rawkey_main };

static void target_rejects_bad_relative_paths(void) {
    qs_world w;
    coco_app* app2;
    coco_app_desc ad;
    qs_new(&w, "badpath");
    CHECK(coco__lfs_relpath_problem("ok/fine.md", 10) == NULL);
    CHECK(coco__lfs_relpath_problem("a\0b", 3) != NULL);
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    memset(&ad, 0, sizeof ad);
    ad.name = "badpath";
    ad.main = &badpath_fn;
    REQUIRE(coco_app_create(w.env, &ad, &app2) == COCO_OK);
    CHECK(coco_app_update(app2, NULL, NULL) != COCO_OK);     /* the component is failed */
    CHECK_STR_CONTAINS(coco_app_errmsg(app2), "'../evil.md'");
    coco_app_destroy(app2);
    ad.name = "rawkey";
    ad.main = &rawkey_fn;
    REQUIRE(coco_app_create(w.env, &ad, &app2) == COCO_OK);
    g_errors[0] = 0;
    /* the root's own state failed to apply: on the update's critical path, so it fails */
    CHECK_INT_EQ(coco_app_update(app2, NULL, NULL), COCO_ERR_CONNECTOR);
    CHECK_STR_CONTAINS(g_errors, "'../escape.md'");
    CHECK_STR_CONTAINS(g_errors, "'..' segment");
    coco_app_destroy(app2);
    {
        char p[700];
        snprintf(p, sizeof p, "%s/../escape.md", w.out);
        CHECK(access(p, F_OK) != 0);
    }
    qs_close(&w);
}

/* FS-04 in an app: STRICT names the file and the byte offset */
static void read_text_strict_error_names_file_and_offset(void) {
    qs_world w;
    qs_new(&w, "strict");
    put_bytes(w.src, "bad.md", "ab\xff" "cd", 5);
    put(w.src, "good.md", "fine");
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    g_strict = 1;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_CONTAINS(g_errors, "/src/bad.md': invalid UTF-8 at byte 2");
    CHECK(!exists(w.out, "bad.md"));
    CHECK_STR_EQ(get(w.out, "good.md"), "FINE");
    g_strict = 0;
    g_errors[0] = 0;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);  /* the failed one runs again (no memo) */
    CHECK_STR_EQ(get(w.out, "bad.md"), "AB" FFFD "CD");
    qs_close(&w);
}

/* ---- FS-03: unreadable files and directories, as an unprivileged user ------------------------ */
static int unreadable_scenario(void) {
    qs_world w;
    char err[512], dir[600];
    coco_arena* ar;
    coco_localfs_items it;
    const coco_localfs_file* f;
    char p[700];
    int failed_before = coco_test__cur_failed;
    qs_new(&w, "perm");
    put(w.src, "ok.md", "ok");
    put(w.src, "secret.md", "secret");
    put(w.src, "sub/c.md", "c");
    if (qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) != COCO_OK) { CHECK(0); return 1; }
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(get(w.out, "secret.md"), "SECRET");
    path_of(p, sizeof p, w.src, "secret.md");
    CHECK(chmod(p, 0) == 0);
    /* the walk lists it, flagged */
    if (coco_arena_create(NULL, &ar) == COCO_OK) {
        snprintf(dir, sizeof dir, "%s", w.src);
        CHECK_INT_EQ(walk_dir(ar, dir, NULL, 1, NULL, 0, NULL, 0, 0, &it, err, sizeof err),
                     COCO_OK);
        f = item(&it, "secret.md");
        CHECK(f != NULL);
        if (f) CHECK_STR_CONTAINS(coco_localfs_file_error(f), "Permission denied");
        CHECK_INT_EQ(it.nerrors, 1);
        coco_arena_destroy(ar);
    }
    /* an update reports it and deletes nothing */
    put(w.src, "ok.md", "ok2");
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_CONTAINS(g_errors, "secret.md");
    CHECK_STR_CONTAINS(g_errors, "Permission denied");
    CHECK_STR_EQ(get(w.out, "secret.md"), "SECRET");
    CHECK_STR_EQ(get(w.out, "ok.md"), "OK2");
    /* an unreadable directory: error item, the walk fails the parent, nothing is deleted (and
       what changed under it meanwhile is taken up once it can be read) */
    put(w.src, "sub/c.md", "c, changed");
    path_of(p, sizeof p, w.src, "sub");
    CHECK(chmod(p, 0) == 0);
    g_errors[0] = 0;
    CHECK(qs_update(&w, NULL) != COCO_OK);
    CHECK_STR_CONTAINS(g_errors, "/src/sub': Permission denied");
    CHECK_STR_EQ(get(w.out, "sub/c.md"), "C");
    CHECK_STR_EQ(get(w.out, "secret.md"), "SECRET");
    CHECK(chmod(p, 0755) == 0);
    path_of(p, sizeof p, w.src, "secret.md");
    CHECK(chmod(p, 0644) == 0);
    g_errors[0] = 0;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(g_errors, "");
    CHECK_STR_EQ(get(w.out, "sub/c.md"), "C, CHANGED");
    /* an output to delete that cannot be read (to check it is ours): an error, and the delete
       is retried later (it was once taken as someone else's file and forgotten) */
    path_of(p, sizeof p, w.out, "ok.md");
    CHECK(chmod(p, 0) == 0);
    path_of(p, sizeof p, w.src, "ok.md");
    CHECK(unlink(p) == 0);
    g_errors[0] = 0;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_CONTAINS(g_errors, "/out/ok.md' to check that it is ours");
    CHECK(exists(w.out, "ok.md"));
    path_of(p, sizeof p, w.out, "ok.md");
    CHECK(chmod(p, 0644) == 0);
    g_errors[0] = 0;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(g_errors, "");
    CHECK(!exists(w.out, "ok.md"));
    qs_close(&w);
    return coco_test__cur_failed && !failed_before;
}

static void unreadable_items_are_errors_not_deletions_in(const coco_fn* main_fn) {
    g_qs_main = main_fn;
    as_unprivileged(unreadable_scenario);
    g_qs_main = &qs_main_fn;
}
static void unreadable_items_are_errors_not_deletions(void) {
    unreadable_items_are_errors_not_deletions_in(&qs_main_fn);
}


/* directory targets: nested, created before their files, removed when empty */
static int g_dirs_mode;   /* 0: reports/2026/a.txt + reports/top.txt; 1: nothing under reports */
static coco_result dirs_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    coco_target *reports, *year;
    coco_result rc;
    (void)a; (void)n; (void)r;
    if ((rc = coco_localfs_declare_file(ctx, g_tgt, "root.txt", "R", 1)) != COCO_OK) return rc;
    if (g_dirs_mode == 1) return COCO_OK;
    if ((rc = coco_localfs_dir_target(ctx, g_tgt, "reports", &reports)) != COCO_OK) return rc;
    if ((rc = coco_localfs_dir_target(ctx, reports, "2026", &year)) != COCO_OK) return rc;
    if ((rc = coco_localfs_declare_file(ctx, reports, "top.txt", "T", 1)) != COCO_OK) return rc;
    return coco_localfs_declare_file(ctx, year, "a.txt", "A", 1);
}
static const coco_fn dirs_fn = { "dirs_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, dirs_main };
static void target_nested_directory_targets(void) {
    qs_world w;
    coco_app_desc ad;
    qs_new(&w, "dirs");
    g_dirs_mode = 0;
    REQUIRE(qs_open(&w, 0, COCO_LOCALFS_FSYNC_NONE) == COCO_OK);
    coco_app_destroy(w.app);
    memset(&ad, 0, sizeof ad);
    ad.name = "dirs";
    ad.main = &dirs_fn;
    REQUIRE(coco_app_create(w.env, &ad, &w.app) == COCO_OK);
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(get(w.out, "reports/2026/a.txt"), "A");
    CHECK_STR_EQ(get(w.out, "reports/top.txt"), "T");
    CHECK_STR_EQ(get(w.out, "root.txt"), "R");
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);          /* nothing to do */
    put(w.out, "reports/mine.txt", "the user's");          /* keeps reports/ alive */
    g_dirs_mode = 1;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK(!exists(w.out, "reports/2026/a.txt"));
    CHECK(!exists(w.out, "reports/2026"));                 /* ours and empty: removed */
    CHECK(!exists(w.out, "reports/top.txt"));
    CHECK_STR_EQ(get(w.out, "reports/mine.txt"), "the user's");
    CHECK_STR_EQ(get(w.out, "root.txt"), "R");
    g_dirs_mode = 0;
    CHECK_INT_EQ(qs_update(&w, NULL), COCO_OK);
    CHECK_STR_EQ(get(w.out, "reports/2026/a.txt"), "A");
    CHECK_INT_EQ(coco_app_drop(w.app), COCO_OK);           /* drop: files, then directories */
    CHECK(!exists(w.out, "reports/2026"));
    CHECK(!exists(w.out, "root.txt"));
    CHECK_STR_EQ(get(w.out, "reports/mine.txt"), "the user's");
    qs_close(&w);
}


/* ---- live mode: the quickstart over a real inotify, in-process ------------------------------- */
static int g_vanish;          /* 1: the body deletes a "vanish*" file before reading it */
static coco_result lv_body(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const coco_localfs_file* f = coco_localfs_file_of(&a[0]);
    if (f && LOAD(g_vanish) && strncmp(coco_localfs_file_name(f), "vanish", 6) == 0) {
        char p[900];
        snprintf(p, sizeof p, "%s/%s", coco_localfs_file_dir(f), coco_localfs_file_path(f));
        unlink(p);                        /* gone between its event and its read */
    }
    return upper_body(ctx, a, n, r);
}
static const coco_fn lv_fn = { "lv", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, lv_body };
static coco_result lv_main(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* r) {
    const char* inc[] = { "**/*.md" };
    coco_localfs_walk_desc d;
    (void)a; (void)n; (void)r;
    memset(&d, 0, sizeof d);
    d.context_key = "src";
    d.recursive = 1;
    d.include = inc;
    d.ninclude = 1;
    return coco_localfs_mount_walk(ctx, coco_str("files"), &d, &lv_fn);
}
static const coco_fn lv_main_fn = { "lv_main", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, lv_main };

typedef struct lv_run { coco_app* app; coco_result rc; int ready; coco_stats st; } lv_run;
static void lv_ready(void* u) { __atomic_store_n(&((lv_run*)u)->ready, 1, __ATOMIC_SEQ_CST); }
static void* lv_thread(void* arg) {
    lv_run* lr = (lv_run*)arg;
    coco_update_desc ud;
    memset(&ud, 0, sizeof ud);
    ud.live = 1;
    ud.on_ready = lv_ready;
    ud.on_ready_user = lr;
    lr->rc = coco_app_update(lr->app, &ud, &lr->st);
    return NULL;
}
/* the quickstart world, with coco_localfs_mount_walk and lv_fn */
static int lv_open(qs_world* w) {
    coco_result rc;
    g_qs_main = &lv_main_fn;
    rc = qs_open(w, 0, COCO_LOCALFS_FSYNC_BATCH);
    g_qs_main = &qs_main_fn;
    return rc == COCO_OK;
}
static int lv_start(qs_world* w, lv_run* lr, pthread_t* th) {
    int i;
    if (!lv_open(w)) return 0;
    memset(lr, 0, sizeof *lr);
    lr->app = w->app;
    lr->rc = COCO_ERR_STATE;
    if (pthread_create(th, NULL, lv_thread, lr) != 0) return 0;
    for (i = 0; i < 1000 && !LOAD(lr->ready); i++) usleep(5000);
    return LOAD(lr->ready);
}
static void lv_stop(qs_world* w, lv_run* lr, pthread_t th) {
    coco_app_stop(w->app);
    pthread_join(th, NULL);
    (void)lr;
    qs_close(w);
}
/* waits up to 5 s until out/rel holds `want` (NULL: is absent) */
static int lv_wait(const char* dir, const char* rel, const char* want) {
    int i;
    for (i = 0; i < 500; i++) {
        if (want ? (exists(dir, rel) && strcmp(get(dir, rel), want) == 0) : !exists(dir, rel))
            return 1;
        usleep(10000);
    }
    return 0;
}

/* LIVE-01: a file deleted after its event was queued but before its component read it is a
   deletion, not a failed component (the live update reports no error and exits cleanly) */
static void live_file_gone_before_its_read_is_a_delete(void) {
    qs_world w;
    lv_run lr;
    pthread_t th;
    qs_new(&w, "lvgone");
    put(w.src, "keep.md", "keep");
    REQUIRE(lv_start(&w, &lr, &th));
    CHECK(lv_wait(w.out, "keep.md", "KEEP"));
    __atomic_store_n(&g_vanish, 1, __ATOMIC_SEQ_CST);
    put(w.src, "vanish1.md", "soon gone");
    put(w.src, "after.md", "after");
    CHECK(lv_wait(w.out, "after.md", "AFTER"));
    usleep(100000);                       /* the delete event of vanish1.md is applied too */
    CHECK(!exists(w.src, "vanish1.md"));
    CHECK(!exists(w.out, "vanish1.md"));
    /* a file with an output that vanishes at its next read: its output goes */
    __atomic_store_n(&g_vanish, 0, __ATOMIC_SEQ_CST);
    put(w.src, "vanish2.md", "two");
    CHECK(lv_wait(w.out, "vanish2.md", "TWO"));
    __atomic_store_n(&g_vanish, 1, __ATOMIC_SEQ_CST);
    put(w.src, "vanish2.md", "two changed");
    CHECK(lv_wait(w.out, "vanish2.md", NULL));
    __atomic_store_n(&g_vanish, 0, __ATOMIC_SEQ_CST);
    lv_stop(&w, &lr, th);
    CHECK_INT_EQ(lr.rc, COCO_OK);
    CHECK_INT_EQ(g_nerrors, 0);
    if (g_nerrors) printf("# %s", g_errors);
    CHECK(exists(w.out, "keep.md"));
}


/* FS-01: in a plain update too, a file deleted between the walk and its read is not a failure:
   its output goes; when the file comes back with the same bytes it is processed again (no
   memo was kept of the pass that found it gone) */
static void file_gone_before_its_read_in_a_plain_update(void) {
    qs_world w;
    coco_stats st;
    qs_new(&w, "gone");
    put(w.src, "a.md", "a");
    put(w.src, "vanish3.md", "three");
    REQUIRE(lv_open(&w));
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_STR_EQ(get(w.out, "vanish3.md"), "THREE");
    put(w.src, "vanish3.md", "three, longer now");           /* changed: it runs again ... */
    __atomic_store_n(&g_vanish, 1, __ATOMIC_SEQ_CST);           /* ... and finds it gone */
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    __atomic_store_n(&g_vanish, 0, __ATOMIC_SEQ_CST);
    CHECK_INT_EQ(g_nerrors, 0);
    if (g_nerrors) printf("# %s", g_errors);
    CHECK(!exists(w.out, "vanish3.md"));
    CHECK_STR_EQ(get(w.out, "a.md"), "A");
    CHECK_INT_EQ(st.deletes, 1);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);   /* still gone: nothing to do */
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    put(w.src, "vanish3.md", "three, longer now");           /* back, same bytes */
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_STR_EQ(get(w.out, "vanish3.md"), "THREE, LONGER NOW");
    CHECK_INT_EQ(g_nerrors, 0);
    qs_close(&w);
}

/* FS-04 through coco_localfs_mount_walk: a directory that cannot be read fails the walking
   component, and the files under it, not listed, are kept (they once passed for deleted: the
   live component between the walk and the files mounted the partial list) */
static void mount_walk_unreadable_directory_deletes_nothing(void) {
    unreadable_items_are_errors_not_deletions_in(&lv_main_fn);
}


/* MEMO-01 with many files (the group memo of coco_mount_each): a file deleted during a live
   update and put back, same bytes and mtime, while nothing watched, is processed again by the
   next plain update (the live round that deleted its child changed the parent's children: the
   group memo must not keep the child as it was); a no-op after that writes nothing. */
static void many_files_live_delete_then_restored_same_mtime(void) {
    qs_world w;
    lv_run lr;
    pthread_t th;
    coco_stats st;
    char rel[32], p[700];
    struct stat st0;
    struct timespec ts[2];
    int i;
    qs_new(&w, "lvmany");
    for (i = 0; i < 600; i++) {
        snprintf(rel, sizeof rel, "d%d/f%03d.md", i % 3, i);
        snprintf(p, sizeof p, "text %d", i);
        put(w.src, rel, p);
    }
    REQUIRE(lv_open(&w));
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);     /* records the group memo */
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ((int)st.commits, 0);
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    qs_close(&w);
    path_of(p, sizeof p, w.src, "d1/f100.md");
    REQUIRE(stat(p, &st0) == 0);
    REQUIRE(lv_start(&w, &lr, &th));
    usleep(300000);                     /* the watcher's first full pass is over: a live round */
    CHECK(unlink(p) == 0);
    CHECK(lv_wait(w.out, "d1/f100.md", NULL));
    lv_stop(&w, &lr, th);
    CHECK_INT_EQ(lr.rc, COCO_OK);
    put(w.src, "d1/f100.md", "text 100");                         /* back as it was */
    ts[0] = st0.st_atim;
    ts[1] = st0.st_mtim;
    CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
    REQUIRE(lv_open(&w));
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK(exists(w.out, "d1/f100.md"));
    if (exists(w.out, "d1/f100.md")) CHECK_STR_EQ(get(w.out, "d1/f100.md"), "TEXT 100");
    CHECK_INT_EQ(st.upserts, 1);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ(st.upserts + st.deletes, 0);
    CHECK_INT_EQ(coco_app_update(w.app, NULL, &st), COCO_OK);
    CHECK_INT_EQ((int)st.commits, 0);
    CHECK_INT_EQ(g_nerrors, 0);
    qs_close(&w);
}

/* LIVE-01: a directory moved back and forth makes the watcher ask for full passes; each pass
   mounts the walk again, and what it allocates for the watcher must not pile up */
#define MIN_SAMPLE(m, x) ((m) == 0 || (x) < (m) ? (x) : (m))
static void live_full_passes_do_not_grow_memory(void) {
    qs_world w;
    lv_run lr;
    pthread_t th;
    char a[700], b[700];
    size_t before = 0, after = 0;
    int i, ok = 1;
    qs_new(&w, "lvfull");
    put(w.src, "d/x.md", "x");
    put(w.src, "top.md", "top");
    snprintf(a, sizeof a, "%s/d", w.src);
    snprintf(b, sizeof b, "%s/e", w.src);
    REQUIRE(lv_start(&w, &lr, &th));
    CHECK(lv_wait(w.out, "d/x.md", "X"));
    for (i = 0; i < 160 && ok; i++) {
        int even = (i % 2) == 0;
        ok = rename(even ? a : b, even ? b : a) == 0 &&
             lv_wait(w.out, even ? "e/x.md" : "d/x.md", "X");
        /* the least of ten samples: a sample may catch a pass in flight, a leak shows in all */
        if (i >= 40 && i < 50) before = MIN_SAMPLE(before, heap_in_use());
        if (i >= 150) after = MIN_SAMPLE(after, heap_in_use());
    }
    CHECK(ok);
    lv_stop(&w, &lr, th);
    CHECK_INT_EQ(lr.rc, COCO_OK);
    CHECK_INT_EQ(g_nerrors, 0);
    if (g_nerrors) printf("# %s", g_errors);
    /* 120 full passes: a leak of even 200 bytes a pass would show */
    if (before) {
        if (after > before + 24000) printf("# heap in use %zu -> %zu\n", before, after);
        CHECK(after <= before + 24000);
    }
}

int main(int argc, char** argv) {
    coco_test_begin("localfs", argc, argv);
    snprintf(g_root, sizeof g_root, "/tmp/coco_lfs_test.XXXXXX");
    if (!mkdtemp(g_root)) { printf("cannot create a temp dir\n"); return 1; }
    RUN(glob_star_stays_in_a_segment_and_double_star_crosses);
    RUN(glob_question_classes_braces_escapes);
    RUN(glob_trailing_slash_after_escaped_backslash);
    RUN(glob_bad_patterns_are_named);
    RUN(glob_pathological_patterns_stay_cheap);
    RUN(glob_excludes_with_negation);
    RUN(glob_dir_may_match_prunes_only_what_cannot_match);
    RUN(glob_quick_shapes_agree_with_the_automaton);
    RUN(walk_prunes_excluded_directories);
    RUN(walk_odd_names_sorted_and_accessors);
    RUN(walk_symlink_loops_no_hang_no_duplicates);
    RUN(walk_order_merges_directory_runs);
    RUN(walk_max_file_size_skips_huge_files);
    RUN(walk_missing_dir_and_memo_keys);
    RUN(text_boms_utf16_and_invalid_utf8);
    RUN(read_first_bytes_and_errors_name_the_path);
    RUN(quickstart_add_change_delete_move_touch_and_moved_source);
    RUN(quickstart_missing_source_dir_deletes_nothing);
    RUN(quickstart_odd_names_end_to_end);
    RUN(walk_wrapper_errors);
    RUN(walk_buffers_come_from_the_env_allocator);
    RUN(target_foreign_file_is_an_error_unless_overwrite);
    RUN(target_drop_removes_ours_and_keeps_foreign);
    RUN(target_stale_temp_removed_full_reprocess_keeps_inodes);
    RUN(target_rejects_bad_relative_paths);
    RUN(read_text_strict_error_names_file_and_offset);
    RUN(unreadable_items_are_errors_not_deletions);
    RUN(target_nested_directory_targets);
    RUN(file_gone_before_its_read_in_a_plain_update);
    RUN(mount_walk_unreadable_directory_deletes_nothing);
    RUN(many_files_live_delete_then_restored_same_mtime);
    RUN(live_file_gone_before_its_read_is_a_delete);
    RUN(live_full_passes_do_not_grow_memory);
    rm_rf(g_root);
    return coco_test_end();
}
