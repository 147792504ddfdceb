/* tests/test_crash.c -- kill -9 convergence and fault injection, on real processes.
   The pipeline is build/crash_pipeline (tests/crash_pipeline.c): every **.md file of a source
   tree becomes an upper-cased file under an output directory and a row of a SQLite table.
   The faults come from build/fault_shim.so (tests/fault_shim.c), an LD_PRELOAD library that
   fails or kills at the Nth write / fsync / rename of the process.

   1. Kill -9 convergence (crash_kill9_converges): random mutations of the source tree (files
      and directories added, changed, touched, deleted, renamed; user files planted in the
      output directory), runs of the pipeline killed with SIGKILL after a random delay or at a
      random write/fsync/rename (before or after it), with more changes to the source between
      the kills, then one clean update; then: the output directory and the table are exactly
      what the source says and what a from-scratch run in a fresh state db and fresh output
      makes, the next update has nothing to do, the user files are untouched (content, inode,
      mtime), no temporary file is left, `cocoindex verify` finds nothing wrong.  Between two
      kills the source changes in every way, removals too (crash_orphan_after_kill_is_removed
      pins the smallest such case).
   2. Fault injection (crash_fault_*): ENOSPC and EIO on the Nth write, fsync and rename of
      one update: the update fails with exit code 1 and a message naming the file or store,
      or (only for a fault after everything was committed) succeeds with complete outputs;
      what was there before is intact (every file and row is its old or its new version,
      unchanged ones are untouched); the next update converges to the from-scratch result
      and the one after has nothing to do.
   Short forms here; COCO_RELIABILITY=1 (make reliability) runs the long forms: 1000 kills
   across 200 updates, every N of every class.  Knobs: COCO_CRASH_SEED, COCO_CRASH_UPDATES,
   COCO_CRASH_KILLS (per update), COCO_CRASH_FILES (files of the kill -9 tree, 30; 512 and more
   exercise the group memo), COCO_FAULT_EVERY=1 (every N in the short form too).
   The tests after those are the smallest cases of the bugs they found (tests/RELIABILITY.md).
   Scenario ids: TGT-03, TGT-04, STORE-01, FS-02, guarantees 3, 4 and 8 of DESIGN.md. */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "coco_test.h"

#include <sqlite3.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIM 8
#define PATHCAP 1024

static char g_root[256];            /* the scratch directory of this run                   */
static char g_bin[PATHCAP];         /* build/crash_pipeline                                */
static char g_shim[PATHCAP];        /* build/fault_shim.so                                 */
static char g_tool[PATHCAP];        /* build/cocoindex (the inspector), when built         */
static int  g_long;                 /* COCO_RELIABILITY=1                                  */

/* ---- small utilities -------------------------------------------------------------------- */
/* snprintf for paths and messages: a result cut at `cap` is fine for a test's messages, and
   paths here are far shorter than PATHCAP */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fmt(char* buf, size_t cap, const char* f, ...) {
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, cap, f, ap);
    va_end(ap);
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {                       /* xorshift64* */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}
static unsigned rndn(unsigned n) { return n ? (unsigned)(rnd() % n) : 0; }
static unsigned long long g_seed = 1;
/* each test starts from its own seed: its trees do not depend on the timing of the others */
static void seed_rng(unsigned salt) {
    g_rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)g_seed * 0xD1B54A32D192ED03ull) ^
            ((uint64_t)salt << 32);
    if (!g_rng) g_rng = 1;
    (void)rnd();
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void* xmalloc(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(3); }
    return p;
}
static char* xstrdup(const char* s) {
    size_t n = strlen(s) + 1;
    return (char*)memcpy(xmalloc(n), s, n);
}

static int write_file(const char* path, const void* data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t off = 0;
    if (fd < 0) return -1;
    while (off < len) {
        ssize_t w = write(fd, (const char*)data + off, len - off);
        if (w <= 0) { close(fd); return -1; }
        off += (size_t)w;
    }
    return close(fd);
}

/* the whole file, NUL-terminated (not counted in *len); NULL if it cannot be read */
static unsigned char* read_file(const char* path, size_t* len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char* p;
    size_t off = 0;
    if (fd < 0) return NULL;
    if (fstat(fd, &st) != 0) { close(fd); return NULL; }
    p = (unsigned char*)xmalloc((size_t)st.st_size + 1);
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, p + off, (size_t)st.st_size - off);
        if (r <= 0) break;
        off += (size_t)r;
    }
    close(fd);
    p[off] = 0;
    *len = off;
    return p;
}

static int mkdirs(const char* path) {
    char tmp[PATHCAP];
    size_t i, n = strlen(path);
    if (n >= sizeof tmp) return -1;
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0) continue;
        tmp[i] = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        if (i < n) tmp[i] = '/';
    }
    return 0;
}

static int rm_one(const char* p, const struct stat* st, int flag, struct FTW* f) {
    (void)st; (void)f;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}
static void rm_rf(const char* path) {
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* runs argv (no shell); returns the exit status or -1 */
static int spawn_wait(char* const argv[]) {
    int st;
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
static int copy_tree(const char* from, const char* to) {
    char* argv[5];
    argv[0] = (char*)"cp";
    argv[1] = (char*)"-a";
    argv[2] = (char*)from;
    argv[3] = (char*)to;
    argv[4] = NULL;
    rm_rf(to);
    return spawn_wait(argv);
}

/* ---- trees ---------------------------------------------------------------------------------- */
typedef struct ent {
    char*          path;              /* relative, '/'-separated */
    unsigned char* data;
    size_t         len;
    ino_t          ino;
    struct timespec mtime;
} ent;

typedef struct list {
    ent*   v;
    size_t n, cap;
} list;

static ent* list_add(list* l, const char* path) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = (ent*)realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) { fprintf(stderr, "out of memory\n"); exit(3); }
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    l->v[l->n].path = xstrdup(path);
    return &l->v[l->n++];
}
static void list_free(list* l) {
    size_t i;
    for (i = 0; i < l->n; i++) { free(l->v[i].path); free(l->v[i].data); }
    free(l->v);
    memset(l, 0, sizeof *l);
}
static int ent_cmp(const void* a, const void* b) {
    return strcmp(((const ent*)a)->path, ((const ent*)b)->path);
}
static void list_sort(list* l) {
    if (l->n) qsort(l->v, l->n, sizeof *l->v, ent_cmp);
}
static const ent* list_find(const list* l, const char* path) {
    ent key;
    key.path = (char*)path;
    return l->n ? (const ent*)bsearch(&key, l->v, l->n, sizeof *l->v, ent_cmp) : NULL;
}

/* Lists root/rel recursively: regular files (with content when `content`), directories, and
   anything else (symlinks, fifos) into `other`. */
static void walk_rec(const char* root, const char* rel, list* files, list* dirs, list* other,
                     int content) {
    char dpath[PATHCAP];
    DIR* d;
    struct dirent* e;
    fmt(dpath, sizeof dpath, "%s%s%s", root, *rel ? "/" : "", rel);
    if (!(d = opendir(dpath))) return;
    while ((e = readdir(d)) != NULL) {
        char r[PATHCAP], full[PATHCAP];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        fmt(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        fmt(full, sizeof full, "%s/%s", root, r);
        if (lstat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (dirs) list_add(dirs, r);
            walk_rec(root, r, files, dirs, other, content);
        } else if (S_ISREG(st.st_mode)) {
            ent* x = list_add(files, r);
            x->ino = st.st_ino;
            x->mtime = st.st_mtim;
            x->len = (size_t)st.st_size;
            if (content) x->data = read_file(full, &x->len);
        } else if (other) {
            list_add(other, r);
        }
    }
    closedir(d);
}
static void list_tree(const char* root, list* files, list* dirs, list* other, int content) {
    walk_rec(root, "", files, dirs, other, content);
    list_sort(files);
    if (dirs) list_sort(dirs);
    if (other) list_sort(other);
}

/* ---- what the pipeline should produce ------------------------------------------------------- */
typedef struct row {
    char*     path;
    long long size;
    char      hash[33];
    float     vec[DIM];
} row;

typedef struct rows {
    row*   v;
    size_t n;
} rows;

static void rows_free(rows* r) {
    size_t i;
    for (i = 0; i < r->n; i++) free(r->v[i].path);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int is_md(const char* path) {
    size_t n = strlen(path);
    const char* base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return n > 3 && strcmp(path + n - 3, ".md") == 0 && base[0] != '.';
}

/* expected output files (path -> upper-cased content) and rows of a source tree */
static void expect_from_src(const char* src, list* files, rows* rw) {
    list all;
    size_t i, j;
    memset(&all, 0, sizeof all);
    memset(files, 0, sizeof *files);
    list_tree(src, &all, NULL, NULL, 1);
    rw->v = (row*)xmalloc((all.n + 1) * sizeof *rw->v);
    rw->n = 0;
    for (i = 0; i < all.n; i++) {
        const ent* s = &all.v[i];
        ent* o;
        row* r;
        if (!is_md(s->path)) continue;
        o = list_add(files, s->path);
        o->len = s->len;
        o->data = (unsigned char*)xmalloc(s->len + 1);
        for (j = 0; j < s->len; j++) {
            unsigned char c = s->data[j];
            o->data[j] = (unsigned char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        r = &rw->v[rw->n++];
        r->path = xstrdup(s->path);
        r->size = (long long)s->len;
        coco_fp_hex(coco_fp_of(s->data, s->len), r->hash);
        coco_hash_embed((const char*)s->data, s->len, r->vec, DIM);
    }
    list_free(&all);
    list_sort(files);
}

/* the rows of table "files", by path; -1 when the database or table cannot be read */
static int read_rows(const char* dbpath, rows* rw, char* schema, size_t cap) {
    sqlite3* db = NULL;
    sqlite3_stmt* st = NULL;
    size_t capn = 64;
    int rc = -1;
    rw->v = (row*)xmalloc(capn * sizeof *rw->v);
    rw->n = 0;
    if (schema) schema[0] = 0;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) goto out;
    if (schema && sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name='files'", -1,
                                     &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            fmt(schema, cap, "%s", (const char*)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        st = NULL;
    }
    if (sqlite3_prepare_v2(db, "SELECT path, size, hash, vec FROM files ORDER BY path", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    for (;;) {
        int s = sqlite3_step(st);
        row* r;
        const void* b;
        if (s == SQLITE_DONE) break;
        if (s != SQLITE_ROW) goto out;
        if (rw->n == capn) {
            capn *= 2;
            rw->v = (row*)realloc(rw->v, capn * sizeof *rw->v);
            if (!rw->v) exit(3);
        }
        r = &rw->v[rw->n++];
        memset(r, 0, sizeof *r);
        r->path = xstrdup(sqlite3_column_text(st, 0) ? (const char*)sqlite3_column_text(st, 0)
                                                     : "(null)");
        r->size = sqlite3_column_int64(st, 1);
        fmt(r->hash, sizeof r->hash, "%s",
                 sqlite3_column_text(st, 2) ? (const char*)sqlite3_column_text(st, 2) : "");
        b = sqlite3_column_blob(st, 3);
        if (b && sqlite3_column_bytes(st, 3) == (int)sizeof r->vec)
            memcpy(r->vec, b, sizeof r->vec);
        else
            r->size = -12345;                      /* a wrong vector never compares equal */
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static int row_eq(const row* a, const row* b) {
    return strcmp(a->path, b->path) == 0 && a->size == b->size &&
           strcmp(a->hash, b->hash) == 0 && memcmp(a->vec, b->vec, sizeof a->vec) == 0;
}
static const row* rows_find(const rows* r, const char* path) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->v[mid].path, path);
        if (c == 0) return &r->v[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

/* ---- a world: state db + output directory + SQLite file -------------------------------------- */
typedef struct world {
    char dir[PATHCAP], state[PATHCAP], out[PATHCAP], sql[PATHCAP];
    char src[PATHCAP];
    char outlog[PATHCAP], errlog[PATHCAP], rep[PATHCAP];
} world;

static void world_init(world* w, const char* name, const char* src) {
    fmt(w->dir, sizeof w->dir, "%s/%s", g_root, name);
    fmt(w->state, sizeof w->state, "%s/state.db", w->dir);
    fmt(w->out, sizeof w->out, "%s/out", w->dir);
    fmt(w->sql, sizeof w->sql, "%s/rows.sqlite", w->dir);
    fmt(w->src, sizeof w->src, "%s", src);
    fmt(w->outlog, sizeof w->outlog, "%s/%s.stdout", g_root, name);
    fmt(w->errlog, sizeof w->errlog, "%s/%s.stderr", g_root, name);
    fmt(w->rep, sizeof w->rep, "%s/%s.report", g_root, name);
}
static void world_reset(const world* w) {
    rm_rf(w->dir);
    mkdirs(w->dir);
}

typedef struct run_spec {
    int           threads;          /* CRASH_THREADS; -1 = the default                    */
    const char*   fclass;           /* shim: write/fsync/rename/any; NULL = no shim       */
    unsigned long n;                /* shim: the call to act on; 0 = count only           */
    const char*   action;           /* shim: ENOSPC, EIO, kill, killafter                 */
    long          kill_after_us;    /* > 0: SIGKILL from the parent after this delay      */
    int           nofile;           /* > 0: the soft RLIMIT_NOFILE of the update          */
} run_spec;

typedef struct run_result {
    int           status;           /* waitpid status                                     */
    int           killed;           /* died of SIGKILL                                    */
    int           code;             /* exit code, -1 when killed                          */
    double        seconds;
    char          out[4096], err[8192];
    char          injected[PATHCAP + 64];   /* the shim's "injected ..." line, or ""      */
    unsigned long counts[3];        /* write, fsync, rename (when the process exited)     */
    int           have_counts;
} run_result;

static void slurp(const char* path, char* buf, size_t cap) {
    size_t n = 0;
    unsigned char* p = read_file(path, &n);
    buf[0] = 0;
    if (!p) return;
    fmt(buf, cap, "%s", (const char*)p);
    free(p);
}

static void run_pipeline(const world* w, const run_spec* rs, run_result* rr) {
    pid_t pid;
    double t0 = now_s();
    memset(rr, 0, sizeof *rr);
    unlink(w->rep);
    pid = fork();
    if (pid == 0) {
        int fo = open(w->outlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(w->errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char th[16];
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(120);
        close(fo);
        close(fe);
        unsetenv("COCOINDEX_DB");
        if (rs->threads >= 0) {
            fmt(th, sizeof th, "%d", rs->threads);
            setenv("CRASH_THREADS", th, 1);
        } else {
            unsetenv("CRASH_THREADS");
        }
        if (rs->fclass) {
            char nb[32];
            fmt(nb, sizeof nb, "%lu", rs->n);
            setenv("LD_PRELOAD", g_shim, 1);
            setenv("COCO_FAULT_CLASS", rs->fclass, 1);
            setenv("COCO_FAULT_N", nb, 1);
            setenv("COCO_FAULT_ACTION", rs->action ? rs->action : "", 1);
            setenv("COCO_FAULT_REPORT", w->rep, 1);
        } else {
            unsetenv("LD_PRELOAD");
        }
        if (rs->nofile > 0) {
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(121);
            rl.rlim_cur = (rlim_t)rs->nofile;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(122);
        }
        execl(g_bin, g_bin, "--db", w->state, "update", "--src", w->src, "--out", w->out,
              "--sqlite", w->sql, (char*)NULL);
        _exit(127);
    }
    if (rs->kill_after_us > 0) {
        usleep((useconds_t)rs->kill_after_us);
        kill(pid, SIGKILL);
    }
    waitpid(pid, &rr->status, 0);
    rr->seconds = now_s() - t0;
    rr->killed = WIFSIGNALED(rr->status) && WTERMSIG(rr->status) == SIGKILL;
    rr->code = WIFEXITED(rr->status) ? WEXITSTATUS(rr->status) : -1;
    slurp(w->outlog, rr->out, sizeof rr->out);
    slurp(w->errlog, rr->err, sizeof rr->err);
    if (rs->fclass) {
        char rep[4096], *p;
        slurp(w->rep, rep, sizeof rep);
        if ((p = strstr(rep, "injected ")) != NULL) {
            size_t k = strcspn(p, "\n");
            if (k >= sizeof rr->injected) k = sizeof rr->injected - 1;
            memcpy(rr->injected, p, k);
            rr->injected[k] = 0;
        }
        if ((p = strstr(rep, "counts write ")) != NULL &&
            sscanf(p, "counts write %lu fsync %lu rename %lu", &rr->counts[0], &rr->counts[1],
                   &rr->counts[2]) == 3)
            rr->have_counts = 1;
    }
}

/* `cocoindex verify` on the state db: every record's checksum, the snapshot, what the records
   refer to.  0 when it finds no problem (or the inspector is not built).  A record kind the
   inspector does not know yet (the engine is ahead of it) is noted, not counted: that is not
   about crashes. */
static int verify_state(const world* w) {
    char* argv[6];
    char* out = NULL;
    int st, fd[2], code;
    pid_t pid;
    if (access(g_tool, X_OK) != 0) return 0;
    argv[0] = g_tool;
    argv[1] = (char*)"--db";
    argv[2] = (char*)w->state;
    argv[3] = (char*)"verify";
    argv[4] = NULL;
    if (pipe(fd) != 0) return 1;
    pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        execv(g_tool, argv);
        _exit(127);
    }
    close(fd[1]);
    {
        size_t cap = 8192, n = 0;
        ssize_t r;
        out = (char*)xmalloc(cap);
        while ((r = read(fd[0], out + n, cap - 1 - n)) > 0) n += (size_t)r;
        out[n] = 0;
    }
    close(fd[0]);
    waitpid(pid, &st, 0);
    code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == 1 && strstr(out, ": 1 problem,") && strstr(out, "unknown record kind")) {
        static int noted;
        char* nl;
        for (nl = out; *nl; nl++) if (*nl == '\n') *nl = ' ';
        if (!noted++) printf("# note: the inspector does not know a record kind: %.300s\n", out);
        code = 0;
    }
    if (code != 0) printf("#   cocoindex verify %s: exit %d: %.600s\n", w->state, code, out);
    free(out);
    return code != 0;
}

static void run_clean(const world* w, run_result* rr) {
    run_spec rs;
    memset(&rs, 0, sizeof rs);
    rs.threads = -1;
    run_pipeline(w, &rs, rr);
}

static void show_run(const char* what, const run_result* rr) {
    printf("#   %s: exit %d%s, stdout: %.300s\n#   stderr: %.600s\n", what, rr->code,
           rr->killed ? " (killed)" : "", rr->out, rr->err);
}

/* ---- user files planted in the output directory -------------------------------------------- */
typedef struct planted {
    list files;                      /* path under out, content, inode, mtime */
    int  seq;
} planted;

static void plant(const world* w, planted* pl) {
    list dirs, files;
    char rel[PATHCAP], full[PATHCAP], body[200];
    const char* dir = "";
    ent* e;
    struct stat st;
    memset(&dirs, 0, sizeof dirs);
    memset(&files, 0, sizeof files);
    mkdirs(w->out);
    list_tree(w->out, &files, &dirs, NULL, 0);
    if (dirs.n && rndn(3)) dir = dirs.v[rndn((unsigned)dirs.n)].path;
    fmt(rel, sizeof rel, "%s%su%d.user", dir, *dir ? "/" : "", pl->seq++);
    fmt(full, sizeof full, "%s/%s", w->out, rel);
    fmt(body, sizeof body, "user notes %d: never touch %llx\n", pl->seq,
             (unsigned long long)rnd());
    if (write_file(full, body, strlen(body)) == 0 && stat(full, &st) == 0) {
        e = list_add(&pl->files, rel);
        e->data = (unsigned char*)xstrdup(body);
        e->len = strlen(body);
        e->ino = st.st_ino;
        e->mtime = st.st_mtim;
        list_sort(&pl->files);
    }
    list_free(&dirs);
    list_free(&files);
}

static int planted_intact(const world* w, const planted* pl) {
    size_t i;
    int bad = 0;
    for (i = 0; i < pl->files.n; i++) {
        const ent* e = &pl->files.v[i];
        char full[PATHCAP];
        struct stat st;
        size_t len = 0;
        unsigned char* p;
        fmt(full, sizeof full, "%s/%s", w->out, e->path);
        p = read_file(full, &len);
        if (!p || stat(full, &st) != 0) {
            printf("#   user file %s is gone\n", e->path);
            bad++;
        } else if (len != e->len || memcmp(p, e->data, len) != 0 || st.st_ino != e->ino ||
                   st.st_mtim.tv_sec != e->mtime.tv_sec ||
                   st.st_mtim.tv_nsec != e->mtime.tv_nsec) {
            printf("#   user file %s was touched\n", e->path);
            bad++;
        }
        free(p);
    }
    return bad;
}

/* after a restore by copy (cp -a keeps content and mtime, not the inode): the new inodes */
static void planted_refresh(const world* w, planted* pl) {
    size_t i;
    for (i = 0; i < pl->files.n; i++) {
        char full[PATHCAP];
        struct stat st;
        fmt(full, sizeof full, "%s/%s", w->out, pl->files.v[i].path);
        if (stat(full, &st) == 0) pl->files.v[i].ino = st.st_ino;
    }
}

static int is_user(const planted* pl, const char* path) {
    return pl && list_find(&pl->files, path) != NULL;
}
/* 1 if `dir` is an ancestor of some path in `l` */
static int holds(const list* l, const char* dir) {
    size_t i, n = strlen(dir);
    for (i = 0; i < l->n; i++)
        if (strncmp(l->v[i].path, dir, n) == 0 && l->v[i].path[n] == '/') return 1;
    return 0;
}

/* The output directory holds exactly `want` (plus the planted files and their directories):
   no other file, no temporary file, no directory that nothing needs. */
static int out_matches(const world* w, const list* want, const planted* pl) {
    list files, dirs, other;
    size_t i;
    int bad = 0;
    memset(&files, 0, sizeof files);
    memset(&dirs, 0, sizeof dirs);
    memset(&other, 0, sizeof other);
    list_tree(w->out, &files, &dirs, &other, 1);
    for (i = 0; i < files.n; i++) {
        const ent* f = &files.v[i];
        const ent* x;
        if (is_user(pl, f->path)) continue;
        x = list_find(want, f->path);
        if (!x) {
            printf("#   %s: unexpected file %s%s\n", w->dir, f->path,
                   strstr(f->path, ".coco-tmp.") ? " (a temporary file)" : "");
            bad++;
        } else if (x->len != f->len || memcmp(x->data, f->data, f->len) != 0) {
            printf("#   %s: %s differs (%zu bytes, want %zu)\n", w->dir, f->path, f->len, x->len);
            bad++;
        }
    }
    for (i = 0; i < want->n; i++)
        if (!list_find(&files, want->v[i].path)) {
            printf("#   %s: missing file %s\n", w->dir, want->v[i].path);
            bad++;
        }
    for (i = 0; i < dirs.n; i++)
        if (!holds(want, dirs.v[i].path) && !(pl && holds(&pl->files, dirs.v[i].path))) {
            printf("#   %s: stray directory %s\n", w->dir, dirs.v[i].path);
            bad++;
        }
    for (i = 0; i < other.n; i++) {
        printf("#   %s: not a regular file: %s\n", w->dir, other.v[i].path);
        bad++;
    }
    list_free(&files);
    list_free(&dirs);
    list_free(&other);
    return bad;
}

static int rows_match(const world* w, const rows* want, char* schema, size_t cap) {
    rows got;
    size_t i;
    int bad = 0;
    if (read_rows(w->sql, &got, schema, cap) != 0) {
        printf("#   %s: cannot read table 'files'\n", w->sql);
        rows_free(&got);
        return 1;
    }
    for (i = 0; i < got.n; i++) {
        const row* x = rows_find(want, got.v[i].path);
        if (!x) { printf("#   %s: unexpected row %s\n", w->sql, got.v[i].path); bad++; }
        else if (!row_eq(x, &got.v[i])) {
            printf("#   %s: row %s differs\n", w->sql, got.v[i].path);
            bad++;
        }
    }
    for (i = 0; i < want->n; i++)
        if (!rows_find(&got, want->v[i].path)) {
            printf("#   %s: missing row %s\n", w->sql, want->v[i].path);
            bad++;
        }
    rows_free(&got);
    return bad;
}

/* ---- the source tree: random content and mutations ------------------------------------------ */
static char* rand_content(size_t* len) {
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz      ABC0123456789.,#\n";
    unsigned pick = rndn(100);
    size_t n = pick < 25 ? rndn(100) : pick < 85 ? 100 + rndn(3000) :
               pick < 96 ? 3000 + rndn(30000) : 100000 + rndn(200000);
    size_t i;
    char* p = (char*)xmalloc(n + 1);
    for (i = 0; i < n; i++) p[i] = alpha[rndn(sizeof alpha - 1)];
    if (n > 10 && rndn(4) == 0) { p[n / 2] = (char)0xC3; p[n / 2 + 1] = (char)0xA9; }  /* e-acute */
    p[n] = 0;
    *len = n;
    return p;
}

/* Every version of a source file gets an mtime of its own (seconds from 2001 on, counting up):
   the pipeline checks size + mtime before content, and two writes of the same size within one
   tick of the file system clock would otherwise look alike (a limit of any mtime check, not
   what this test is about).  A touch sets the real time, which never meets these. */
static long g_mtime_seq;
static void unique_mtime(const char* path) {
    struct timespec ts[2];
    g_mtime_seq++;
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = (time_t)(1000000000L + g_mtime_seq);
    ts[1].tv_nsec = g_mtime_seq % 1000000000L;
    utimensat(AT_FDCWD, path, ts, 0);
}

static void new_file(const char* full) {
    size_t len;
    char* c = rand_content(&len);
    if (write_file(full, c, len) == 0) unique_mtime(full);
    free(c);
}

/* a random file name: mostly markdown, some other files the pipeline must ignore */
static void rand_name(char* buf, size_t cap) {
    fmt(buf, cap, "f%u.%s", rndn(40), rndn(7) ? "md" : "txt");
}

/* One random change to the source tree; returns a word saying what it did.  Without
   `removals` only additions and changes (no delete, no rename): see crash_kill9_converges. */
static const char* mutate(const char* src, int removals) {
    list files, dirs;
    char a[PATHCAP] = "", b[PATHCAP] = "", name[64];
    const char* what = "nothing";
    unsigned op = rndn(100);
    memset(&files, 0, sizeof files);
    memset(&dirs, 0, sizeof dirs);
    list_tree(src, &files, &dirs, NULL, 0);
    if (files.n > 70) op = 57 + rndn(10);                    /* too many: delete some */
    if (files.n < 4) op = 0;
    if (!removals && op >= 57) op = op < 94 ? rndn(57) : op;
    if (op < 25) {                                           /* add a file */
        const char* d = dirs.n && rndn(3) ? dirs.v[rndn((unsigned)dirs.n)].path : "";
        rand_name(name, sizeof name);
        if (rndn(5) == 0 && strlen(d) < 20) {                /* in a new directory */
            fmt(a, sizeof a, "%s/%s%sd%u", src, d, *d ? "/" : "", rndn(8));
            mkdirs(a);
            fmt(b, sizeof b, "%s/%s", a, name);
        } else {
            fmt(b, sizeof b, "%s/%s%s%s", src, d, *d ? "/" : "", name);
        }
        new_file(b);
        what = "add";
    } else if (op < 45 && files.n) {                         /* rewrite a file */
        fmt(a, sizeof a, "%s/%s", src, files.v[rndn((unsigned)files.n)].path);
        new_file(a);
        what = "modify";
    } else if (op < 52 && files.n) {                         /* same size, one byte changed */
        size_t len = 0;
        unsigned char* p;
        fmt(a, sizeof a, "%s/%s", src, files.v[rndn((unsigned)files.n)].path);
        if ((p = read_file(a, &len)) != NULL && len > 0) {
            size_t at = rndn((unsigned)len);
            p[at] = (unsigned char)(p[at] == 'q' ? 'z' : 'q');
            if (write_file(a, p, len) == 0) unique_mtime(a);
        }
        free(p);
        what = "same-size";
    } else if (op < 57 && files.n) {                         /* touch: mtime only */
        fmt(a, sizeof a, "%s/%s", src, files.v[rndn((unsigned)files.n)].path);
        utimensat(AT_FDCWD, a, NULL, 0);
        what = "touch";
    } else if (op < 70 && files.n) {                         /* delete a file */
        fmt(a, sizeof a, "%s/%s", src, files.v[rndn((unsigned)files.n)].path);
        unlink(a);
        what = "delete";
    } else if (op < 82 && files.n) {                         /* rename a file */
        const char* d = dirs.n && rndn(2) ? dirs.v[rndn((unsigned)dirs.n)].path : "";
        fmt(a, sizeof a, "%s/%s", src, files.v[rndn((unsigned)files.n)].path);
        rand_name(name, sizeof name);
        fmt(b, sizeof b, "%s/%s%s%s", src, d, *d ? "/" : "", name);
        rename(a, b);
        what = "rename";
    } else if (op < 89 && dirs.n) {                          /* rename a directory */
        const char* from = dirs.v[rndn((unsigned)dirs.n)].path;
        const char* to = dirs.n > 1 && rndn(2) ? dirs.v[rndn((unsigned)dirs.n)].path : "";
        size_t fl = strlen(from);
        if (strncmp(to, from, fl) == 0 && (to[fl] == '/' || to[fl] == 0)) to = "";
        fmt(a, sizeof a, "%s/%s", src, from);
        fmt(b, sizeof b, "%s/%s%sd%u", src, to, *to ? "/" : "", rndn(8));
        if (strlen(b) < 200) rename(a, b);
        what = "rename-dir";
    } else if (op < 94 && dirs.n) {                          /* delete a directory */
        fmt(a, sizeof a, "%s/%s", src, dirs.v[rndn((unsigned)dirs.n)].path);
        rm_rf(a);
        what = "delete-dir";
    } else {                                                 /* a new directory of files */
        unsigned k, nf = 1 + rndn(4);
        fmt(a, sizeof a, "%s/n%u", src, rndn(1000));
        mkdirs(a);
        for (k = 0; k < nf; k++) {
            rand_name(name, sizeof name);
            fmt(b, sizeof b, "%s/%s", a, name);
            new_file(b);
        }
        what = "add-dir";
    }
    if (getenv("COCO_CRASH_VERBOSE"))
        printf("#     mutate: %s %s%s%s\n", what, a, *b ? " -> " : "", b);
    list_free(&files);
    list_free(&dirs);
    return what;
}

static void make_tree(const char* src, int nfiles) {
    int i;
    rm_rf(src);
    mkdirs(src);
    for (i = 0; i < nfiles; i++) {
        char d[PATHCAP], f[PATHCAP + 64], name[64];
        unsigned depth = rndn(3), k;
        fmt(d, sizeof d, "%s", src);
        for (k = 0; k < depth; k++) {
            size_t l = strlen(d);
            fmt(d + l, sizeof d - l, "/d%u", rndn(4));
        }
        mkdirs(d);
        rand_name(name, sizeof name);
        fmt(f, sizeof f, "%s/%s", d, name);
        new_file(f);
    }
}

/* After a clean update: outputs, rows and user files as the source says, and the next update
   has nothing to do.  Returns the number of problems. */
static int check_converged(const world* w, const planted* pl, char* schema, size_t cap) {
    list want;
    rows wrows;
    run_result rr;
    int bad = 0;
    expect_from_src(w->src, &want, &wrows);
    bad += verify_state(w);
    bad += out_matches(w, &want, pl);
    bad += rows_match(w, &wrows, schema, cap);
    if (pl) bad += planted_intact(w, pl);
    run_clean(w, &rr);
    if (rr.code != 0 || strncmp(rr.out, "nothing to do:", 14) != 0) {
        show_run("the update after it should have nothing to do", &rr);
        bad++;
    }
    list_free(&want);
    rows_free(&wrows);
    return bad;
}

/* A from-scratch run in a fresh state db and a fresh output: same files, rows and schema. */
static int check_from_scratch(const world* w, const char* main_schema) {
    world ref;
    run_result rr;
    char schema[1024];
    int bad = 0;
    world_init(&ref, "ref", w->src);
    world_reset(&ref);
    run_clean(&ref, &rr);
    if (rr.code != 0) { show_run("from-scratch run", &rr); return 1; }
    bad += check_converged(&ref, NULL, schema, sizeof schema);
    if (strcmp(schema, main_schema) != 0) {
        printf("#   schema differs:\n#     %s\n#     %s (from scratch)\n", main_schema, schema);
        bad++;
    }
    return bad;
}

/* ---- 1. kill -9 convergence --------------------------------------------------------------- */
static int env_int(const char* name, int dflt) {
    const char* v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

static void crash_kill9_converges(void) {
    int updates = env_int("COCO_CRASH_UPDATES", g_long ? 200 : 12);
    int per = env_int("COCO_CRASH_KILLS", g_long ? 5 : 3);
    int u, kills = 0, kills_delay = 0, kills_call = 0, finished = 0, runs = 0, bad = 0;
    int mutations = 0, planted_n = 0;
    unsigned long est = 40;
    double last = 0.02, t0 = now_s();
    char src[PATHCAP], schema[1024];
    world w;
    planted pl;
    seed_rng(1);
    memset(&pl, 0, sizeof pl);
    fmt(src, sizeof src, "%s/src", g_root);
    make_tree(src, env_int("COCO_CRASH_FILES", 30));
    world_init(&w, "main", src);
    world_reset(&w);
    for (u = 0; u < updates && !bad; u++) {
        int k = 0, attempts = 0;
        run_result rr;
        if (u > 0) {
            int m, nm = 1 + (int)rndn(5);
            for (m = 0; m < nm; m++, mutations++) mutate(src, 1);
        }
        if (u > 0 && rndn(3) == 0) { plant(&w, &pl); planted_n++; }
        while (k < per && attempts++ < per * 20) {
            run_spec rs;
            memset(&rs, 0, sizeof rs);
            rs.threads = (int)rndn(3) == 0 ? 1 : -1;
            if (rndn(2)) {                       /* SIGKILL after a random delay */
                rs.kill_after_us = 1 + (long)rndn((unsigned)(last * 1.3e6) + 1);
            } else {                             /* SIGKILL at the Nth write/fsync/rename */
                rs.fclass = "any";
                rs.n = 1 + rndn((unsigned)est);
                rs.action = rndn(2) ? "kill" : "killafter";
            }
            run_pipeline(&w, &rs, &rr);
            runs++;
            if (getenv("COCO_CRASH_VERBOSE"))
                printf("#     run: %s %s %lu delay %ld us: %s exit %d after %.3f s\n",
                       rs.fclass ? "at" : "", rs.action ? rs.action : "", rs.n, rs.kill_after_us,
                       rr.killed ? "killed" : "finished", rr.code, rr.seconds);
            if (rr.killed) {
                k++;
                kills++;
                if (rs.fclass) kills_call++; else kills_delay++;
            } else {
                finished++;
                last = rr.seconds;
                if (rr.have_counts) {
                    unsigned long tot = rr.counts[0] + rr.counts[1] + rr.counts[2];
                    est = tot > 10 ? tot : 10;
                }
                if (rr.code != 0) {
                    show_run("a run that finished before its kill failed", &rr);
                    bad++;
                }
            }
            if (rndn(2) == 0) {                   /* the source moves on between kills */
                mutate(src, 1);
                mutations++;
            }
        }
        run_clean(&w, &rr);
        runs++;
        if (rr.code != 0) {
            printf("# update %d: the clean update after %d kills failed\n", u, k);
            show_run("clean update", &rr);
            bad++;
            break;
        }
        last = rr.seconds > last ? rr.seconds : last;
        if (check_converged(&w, &pl, schema, sizeof schema)) {
            printf("# update %d: not converged after %d kills (seed %llu)\n", u, k, g_seed);
            bad++;
        }
        if (check_from_scratch(&w, schema)) {
            printf("# update %d: differs from a from-scratch run\n", u);
            bad++;
        }
    }
    printf("# kill -9: %d kills (%d after a delay, %d at a write/fsync/rename) across %d "
           "updates, %d runs (%d finished before their kill), %d source mutations, %d user "
           "files planted, %.1f s\n", kills, kills_delay, kills_call, u, runs, finished,
           mutations, planted_n, now_s() - t0);
    CHECK_INT_EQ(bad, 0);
    CHECK(kills >= updates * per * 9 / 10);
    list_free(&pl.files);
}

/* ---- 2. fault injection ------------------------------------------------------------------- */
static const char* const g_classes[3] = { "write", "fsync", "rename" };
static const char* const g_errnos[2] = { "ENOSPC", "EIO" };

typedef struct fault_tally {
    int injected, failed_cleanly, tolerated, not_reached, bad;
} fault_tally;

/* the message names the file or the store the fault hit */
static int names_it(const world* w, const char* path, const char* err) {
    const char* base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(path, w->out, strlen(w->out)) == 0) return strstr(err, w->out) != NULL;
    if (strncmp(base, "rows.sqlite", 11) == 0)
        return strstr(err, "rows.sqlite") != NULL || strstr(err, "table 'files'") != NULL;
    if (strncmp(base, "state.db", 8) == 0)
        return strstr(err, "state.db") != NULL;
    if (strcmp(path, w->dir) == 0)          /* a directory fsync: of the store or of SQLite */
        return strstr(err, "state.db") != NULL || strstr(err, "rows.sqlite") != NULL;
    return 0;
}

/* After a failed update: every output file and row is its old (o0) or new (o1) version, the
   ones equal in both are there, no temporary file, the user files untouched. */
static int intact(const world* w, const list* o0, const rows* r0, const list* o1,
                  const rows* r1, const planted* pl) {
    list files, dirs, other;
    rows got;
    size_t i;
    int bad = 0;
    memset(&files, 0, sizeof files);
    memset(&dirs, 0, sizeof dirs);
    memset(&other, 0, sizeof other);
    list_tree(w->out, &files, &dirs, &other, 1);
    for (i = 0; i < files.n; i++) {
        const ent* f = &files.v[i];
        const ent* a = list_find(o0, f->path);
        const ent* b = list_find(o1, f->path);
        if (is_user(pl, f->path)) continue;
        if ((!a || a->len != f->len || memcmp(a->data, f->data, f->len)) &&
            (!b || b->len != f->len || memcmp(b->data, f->data, f->len))) {
            printf("#   %s is neither its old nor its new version%s\n", f->path,
                   strstr(f->path, ".coco-tmp.") ? " (a temporary file)" : "");
            bad++;
        }
    }
    for (i = 0; i < o0->n; i++) {
        const ent* b = list_find(o1, o0->v[i].path);
        if (b && b->len == o0->v[i].len && !memcmp(b->data, o0->v[i].data, b->len) &&
            !list_find(&files, o0->v[i].path)) {
            printf("#   unchanged output %s was lost\n", o0->v[i].path);
            bad++;
        }
    }
    for (i = 0; i < other.n; i++) {
        printf("#   not a regular file: %s\n", other.v[i].path);
        bad++;
    }
    if (read_rows(w->sql, &got, NULL, 0) != 0) {
        if (r0->n) { printf("#   table 'files' cannot be read\n"); bad++; }
    } else {
        for (i = 0; i < got.n; i++) {
            const row* a = rows_find(r0, got.v[i].path);
            const row* b = rows_find(r1, got.v[i].path);
            if (!(a && row_eq(a, &got.v[i])) && !(b && row_eq(b, &got.v[i]))) {
                printf("#   row %s is neither its old nor its new version\n", got.v[i].path);
                bad++;
            }
        }
        for (i = 0; i < r0->n; i++) {
            const row* b = rows_find(r1, r0->v[i].path);
            if (b && row_eq(b, &r0->v[i]) && !rows_find(&got, r0->v[i].path)) {
                printf("#   unchanged row %s was lost\n", r0->v[i].path);
                bad++;
            }
        }
    }
    bad += planted_intact(w, pl);
    rows_free(&got);
    list_free(&files);
    list_free(&dirs);
    list_free(&other);
    return bad;
}

/* What a world holds now: its outputs but the user's files (into `o0`, sorted) and its rows. */
static void snapshot_outputs(const world* w, const planted* pl, list* o0, rows* r0) {
    list all;
    size_t i;
    memset(&all, 0, sizeof all);
    list_tree(w->out, &all, NULL, NULL, 1);
    for (i = 0; i < all.n; i++) {
        ent* x;
        if (is_user(pl, all.v[i].path)) continue;
        x = list_add(o0, all.v[i].path);
        x->len = all.v[i].len;
        x->data = all.v[i].data;
        all.v[i].data = NULL;
    }
    list_free(&all);
    list_sort(o0);
    if (read_rows(w->sql, r0, NULL, 0) != 0) r0->n = 0;
}

/* One scenario: `base` is a world directory (state db, outputs, rows) made by updates of an
   earlier source; the source now holds a later one.  Each N of each class and errno: restore
   base, run the update with the fault, judge it, run it again without, check convergence. */
static void fault_scenario(const char* label, const world* w, const char* base,
                           planted* pl, int every, fault_tally tally[3][2]) {
    list o0, o1;
    rows r0, r1;
    run_result rr;
    run_spec rs;
    unsigned long k[3];
    int c, e;
    memset(&o0, 0, sizeof o0);
    expect_from_src(w->src, &o1, &r1);
    /* what the base holds: its outputs (minus user files) and rows */
    copy_tree(base, w->dir);
    snapshot_outputs(w, pl, &o0, &r0);
    /* how many calls of each class one update makes (one thread: the same order each time) */
    memset(&rs, 0, sizeof rs);
    rs.threads = 1;
    rs.fclass = "write";
    rs.action = "count";
    run_pipeline(w, &rs, &rr);
    if (rr.code != 0 || !rr.have_counts) {
        show_run("counting run", &rr);
        CHECK(0);
        goto out;
    }
    memcpy(k, rr.counts, sizeof k);
    printf("# %s: one update makes %lu writes, %lu fsyncs, %lu renames\n", label, k[0], k[1],
           k[2]);
    /* the result every faulted update must converge to is the from-scratch one */
    {
        world ref;
        world_init(&ref, "fref", w->src);
        world_reset(&ref);
        run_clean(&ref, &rr);
        CHECK_INT_EQ(rr.code, 0);
        CHECK_INT_EQ(check_converged(&ref, NULL, NULL, 0), 0);
    }
    for (c = 0; c < 3; c++)
        for (e = 0; e < 2; e++) {
            unsigned long n, step = every ? 1 : (k[c] > 4 ? k[c] / 4 : 1);
            unsigned long first = every ? 1 : 1 + rndn((unsigned)step);
            for (n = first; n <= k[c] + (every ? 1 : 0); n += step) {
                fault_tally* t = &tally[c][e];
                int bad = 0, failed_apply;
                struct stat sst;                 /* an empty state db: its header failed */
                char what[PATHCAP + 64];
                const char* path;
                copy_tree(base, w->dir);
                planted_refresh(w, pl);
                memset(&rs, 0, sizeof rs);
                rs.threads = 1;
                rs.fclass = g_classes[c];
                rs.n = n;
                rs.action = g_errnos[e];
                run_pipeline(w, &rs, &rr);
                fmt(what, sizeof what, "%s %s at %s %lu", label, g_errnos[e], g_classes[c], n);
                if (!rr.injected[0]) {
                    t->not_reached++;
                    if (n <= k[c]) { printf("# %s: the fault was not reached\n", what); bad++; }
                    if (rr.code != 0) { show_run(what, &rr); bad++; }
                } else {
                    /* "injected CLASS N ACTION PATH" */
                    path = rr.injected;
                    {
                        int sp = 0;
                        while (*path && sp < 4) if (*path++ == ' ') sp++;
                    }
                    t->injected++;
                    failed_apply = strstr(rr.err, ": error in ") != NULL &&
                                   strstr(rr.err, "failed to apply") != NULL;
                    if (rr.code == 1) {
                        if (!names_it(w, path, rr.err)) {
                            printf("# %s (%s): the message does not name it\n", what, path);
                            show_run(what, &rr);
                            bad++;
                        } else {
                            t->failed_cleanly++;
                        }
                        bad += intact(w, &o0, &r0, &o1, &r1, pl);
                    } else if (rr.code == 0 && failed_apply) {
                        /* a target's apply failed: the update must exit 1 */
                        printf("# %s (%s): exit code 0 after a failed apply\n", what, path);
                        show_run(what, &rr);
                        bad++;
                        bad += intact(w, &o0, &r0, &o1, &r1, pl);
                    } else if (rr.code == 0) {
                        /* a fault the pipeline may ride out (after its last commit): then
                           everything must be there already */
                        int miss = out_matches(w, &o1, pl) + rows_match(w, &r1, NULL, 0);
                        if (miss) {
                            printf("# %s (%s): exit 0 but the outputs are incomplete\n", what,
                                   path);
                            show_run(what, &rr);
                            bad++;
                        } else {
                            t->tolerated++;
                            if (g_long || getenv("COCO_FAULT_VERBOSE"))
                                printf("# %s (%s): ridden out, outputs complete\n", what, path);
                        }
                    } else {
                        printf("# %s (%s): exit %d\n", what, path, rr.code);
                        show_run(what, &rr);
                        bad++;
                    }
                }
                if (stat(w->state, &sst) == 0 && sst.st_size > 0 && verify_state(w)) {
                    printf("# %s: the state db does not verify after the fault\n", what);
                    bad++;
                }
                /* the next update, without the fault, converges */
                run_clean(w, &rr);
                if (rr.code != 0) {
                    printf("# %s: the next update failed\n", what);
                    show_run("next update", &rr);
                    bad++;
                } else if (check_converged(w, pl, NULL, 0)) {
                    printf("# %s: the next update did not converge\n", what);
                    bad++;
                }
                if (bad) t->bad++;
            }
        }
out:
    list_free(&o0);
    list_free(&o1);
    rows_free(&r0);
    rows_free(&r1);
}

static void print_tally(const char* label, fault_tally t[3][2]) {
    int c, e;
    for (c = 0; c < 3; c++)
        for (e = 0; e < 2; e++)
            printf("# %s %-6s %-6s: %3d injected: %3d exit 1 naming the file/store, %2d ridden "
                   "out after the last commit; %d bad\n", label, g_classes[c], g_errnos[e],
                   t[c][e].injected, t[c][e].failed_cleanly, t[c][e].tolerated, t[c][e].bad);
}

static int tally_bad(fault_tally t[3][2]) {
    int c, e, bad = 0;
    for (c = 0; c < 3; c++)
        for (e = 0; e < 2; e++) bad += t[c][e].bad;
    return bad;
}

/* A mixed update: files changed, touched, deleted, renamed, added, directories renamed and
   deleted, over a tree with user files planted in the output (three different ones in the
   long form). */
static void crash_fault_mixed_update(void) {
    char src[PATHCAP], base[PATHCAP], label[32];
    int every = g_long || getenv("COCO_FAULT_EVERY");
    int i, r, rounds = g_long ? 3 : 1;
    fault_tally t[3][2];
    double t0 = now_s();
    seed_rng(2);
    memset(t, 0, sizeof t);
    for (r = 0; r < rounds; r++) {
        world w;
        planted pl;
        run_result rr;
        memset(&pl, 0, sizeof pl);
        fmt(src, sizeof src, "%s/fsrc", g_root);
        fmt(base, sizeof base, "%s/fbase", g_root);
        fmt(label, sizeof label, "mixed%d", r + 1);
        make_tree(src, 24);
        world_init(&w, "fault", src);
        world_reset(&w);
        run_clean(&w, &rr);
        REQUIRE(rr.code == 0);
        plant(&w, &pl);
        plant(&w, &pl);
        REQUIRE(check_converged(&w, &pl, NULL, 0) == 0);
        REQUIRE(copy_tree(w.dir, base) == 0);
        for (i = 0; i < 12; i++) mutate(src, 1);
        fault_scenario(label, &w, base, &pl, every, t);
        list_free(&pl.files);
    }
    print_tally("mixed", t);
    printf("# mixed: %.1f s\n", now_s() - t0);
    CHECK_INT_EQ(tally_bad(t), 0);
}

/* The first update of all: no state, no output, no table yet. */
static void crash_fault_first_update(void) {
    char src[PATHCAP], base[PATHCAP];
    int every = g_long || getenv("COCO_FAULT_EVERY");
    world w;
    planted pl;
    fault_tally t[3][2];
    double t0 = now_s();
    seed_rng(3);
    memset(t, 0, sizeof t);
    memset(&pl, 0, sizeof pl);
    fmt(src, sizeof src, "%s/fsrc0", g_root);
    fmt(base, sizeof base, "%s/fbase0", g_root);
    make_tree(src, 16);
    world_init(&w, "fault0", src);
    world_reset(&w);
    plant(&w, &pl);                         /* a user file before the first update */
    REQUIRE(copy_tree(w.dir, base) == 0);
    fault_scenario("first", &w, base, &pl, every, t);
    print_tally("first", t);
    printf("# first: %.1f s\n", now_s() - t0);
    CHECK_INT_EQ(tally_bad(t), 0);
    list_free(&pl.files);
}


/* Out of file descriptors (EMFILE): the same mixed update under a soft RLIMIT_NOFILE of every
   count from 4 (stdin, stdout, stderr and one for the dynamic loader) up to a few past the
   first that suffices, on one
   thread and on the default pool.  Each run exits 0 with everything in place, or exits 1
   saying "Too many open files" with every output and row its old or new version; the next
   update without the limit converges. */
static void crash_emfile_every_limit(void) {
    char src[PATHCAP], base[PATHCAP];
    world w;
    planted pl;
    run_result rr;
    list o0, o1;
    rows r0, r1;
    int pass, bad = 0;
    double t0 = now_s();
    seed_rng(7);
    memset(&pl, 0, sizeof pl);
    memset(&o0, 0, sizeof o0);
    fmt(src, sizeof src, "%s/esrc", g_root);
    fmt(base, sizeof base, "%s/ebase", g_root);
    make_tree(src, 24);
    world_init(&w, "emfile", src);
    world_reset(&w);
    run_clean(&w, &rr);
    REQUIRE(rr.code == 0);
    plant(&w, &pl);
    REQUIRE(check_converged(&w, &pl, NULL, 0) == 0);
    REQUIRE(copy_tree(w.dir, base) == 0);
    snapshot_outputs(&w, &pl, &o0, &r0);
    for (pass = 0; pass < 12; pass++) mutate(src, 1);
    expect_from_src(src, &o1, &r1);
    for (pass = 0; pass < 2; pass++) {
        int lim, first_ok = 0, failed = 0, ok = 0;
        /* from 4: with 3 the dynamic loader itself cannot open libsqlite3 */
        for (lim = 4; lim <= 64 && (!first_ok || lim <= first_ok + 4) && bad < 4; lim++) {
            run_spec rs;
            char what[64];
            int b = 0;
            copy_tree(base, w.dir);
            planted_refresh(&w, &pl);
            memset(&rs, 0, sizeof rs);
            rs.threads = pass == 0 ? 1 : -1;
            rs.nofile = lim;
            run_pipeline(&w, &rs, &rr);
            fmt(what, sizeof what, "EMFILE, %s, limit %d", pass ? "pool" : "1 thread", lim);
            if (rr.code == 0) {
                if (out_matches(&w, &o1, &pl) + rows_match(&w, &r1, NULL, 0)) {
                    printf("# %s: exit 0 but the outputs are incomplete\n", what);
                    show_run(what, &rr);
                    b++;
                }
                ok++;
                if (!first_ok) first_ok = lim;
            } else if (rr.code == 1) {
                failed++;
                if (!strstr(rr.err, "Too many open files")) {
                    printf("# %s: the error does not say what ran out\n", what);
                    show_run(what, &rr);
                    b++;
                }
                b += intact(&w, &o0, &r0, &o1, &r1, &pl);
            } else {
                printf("# %s: exit %d\n", what, rr.code);
                show_run(what, &rr);
                b++;
            }
            run_clean(&w, &rr);
            if (rr.code != 0 || check_converged(&w, &pl, NULL, 0)) {
                printf("# %s: the next update did not converge\n", what);
                show_run("next update", &rr);
                b++;
            }
            if (b) bad++;
        }
        printf("# EMFILE, %s: limits 4..%d: %d exited 1 saying so, %d exited 0 complete (from "
               "%d)\n", pass ? "default pool" : "1 thread", lim - 1, failed, ok, first_ok);
        CHECK(failed > 0);
        CHECK(ok > 0);
    }
    printf("# EMFILE: %.1f s\n", now_s() - t0);
    CHECK_INT_EQ(bad, 0);
    list_free(&pl.files);
    list_free(&o0);
    list_free(&o1);
    rows_free(&r0);
    rows_free(&r1);
}

/* When a target's apply fails (here the rename of the output file fails with ENOSPC),
   coco_main prints the error, the summary line says "with errors" and the update exits 1
   (it once exited 0: an apply failure reached neither the functions' error counters nor the
   update's result; now coco_stats.apply_errors counts it).  The row of the same file is kept,
   and the next update retries the file. */
static void crash_apply_error_exit_code(void) {
    char src[PATHCAP], f[PATHCAP + 16];
    world w;
    run_spec rs;
    run_result rr;
    fmt(src, sizeof src, "%s/bugsrc", g_root);
    rm_rf(src);
    mkdirs(src);
    fmt(f, sizeof f, "%s/a.md", src);
    REQUIRE(write_file(f, "hello\n", 6) == 0);
    world_init(&w, "bug", src);
    world_reset(&w);
    memset(&rs, 0, sizeof rs);
    rs.threads = 1;
    rs.fclass = "rename";
    rs.n = 1;                              /* the first rename: out/.a.md.coco-tmp.PID -> a.md */
    rs.action = "ENOSPC";
    run_pipeline(&w, &rs, &rr);
    CHECK_STR_CONTAINS(rr.injected, "/out/a.md");
    CHECK_STR_CONTAINS(rr.err, "cannot rename into");
    CHECK_INT_EQ(rr.code, 1);
    CHECK_STR_CONTAINS(rr.out, "(with errors, see above)");
    if (rr.code != 1) show_run("update with a failed rename", &rr);
    {
        rows got;                          /* the other target's work is kept */
        REQUIRE(read_rows(w.sql, &got, NULL, 0) == 0);
        CHECK(rows_find(&got, "a.md") != NULL);
        rows_free(&got);
    }
    run_clean(&w, &rr);                    /* the pending file is retried */
    CHECK_INT_EQ(rr.code, 0);
    CHECK_INT_EQ(check_converged(&w, NULL, NULL, 0), 0);
}

/* Finds the `nth` call of `cls` in the first update of a fresh world (one thread) whose path
   ends with `want`, and runs the update with `action` there.  0 when found. */
static int fault_call_on(world* w, const char* cls, const char* want, int nth,
                         const char* action, run_result* rr) {
    unsigned long n;
    int seen = 0;
    for (n = 1; n < 200; n++) {
        run_spec rs;
        world_reset(w);
        memset(&rs, 0, sizeof rs);
        rs.threads = 1;
        rs.fclass = cls;
        rs.n = n;
        rs.action = action;
        run_pipeline(w, &rs, rr);
        if (!rr->injected[0]) return -1;
        {
            size_t li = strlen(rr->injected), lw = strlen(want);
            if (li >= lw && strcmp(rr->injected + li - lw, want) == 0 && ++seen == nth)
                return 0;
        }
    }
    return -1;
}

/* The first update, ENOSPC on the first commit to the state store's log (after its header;
   the commit of the table's mount): the update fails (exit 1) with the store's own message,
   "use_mount of ... failed: state store '.../state.db': commit of N bytes failed: No space
   left on device" (it once said only "COCO_ERR_IO: i/o error": coco__flush did not leave the
   store's message where coco_use_mount words its failure). */
static void crash_store_error_in_use_mount_message(void) {
    char src[PATHCAP], f[PATHCAP + 16];
    world w;
    run_result rr;
    fmt(src, sizeof src, "%s/bugsrc3", g_root);
    rm_rf(src);
    mkdirs(src);
    fmt(f, sizeof f, "%s/a.md", src);
    REQUIRE(write_file(f, "hello\n", 6) == 0);
    world_init(&w, "bug3", src);
    REQUIRE(fault_call_on(&w, "write", "/state.db", 2, "ENOSPC", &rr) == 0);
    CHECK_INT_EQ(rr.code, 1);
    CHECK_STR_CONTAINS(rr.err, "use_mount of ");
    CHECK_STR_CONTAINS(rr.err, "state.db': commit of ");
    CHECK_STR_CONTAINS(rr.err, "No space left on device");
    CHECK(strstr(rr.err, "i/o error") == NULL);
    if (!strstr(rr.err, "state.db")) show_run("update with a failed store commit", &rr);
}

/* The first update, ENOSPC on the first write of rows.sqlite's WAL (the CREATE TABLE of the
   table target): the update fails (exit 1) with "target 'sqlite' failed to apply 1
   action(s): table 'files' in '.../rows.sqlite': COMMIT: database or disk is full", naming
   the table and the database file as a row batch's error does (it once said only "commit:
   database or disk is full"). */
static void crash_sqlite_table_apply_message(void) {
    char src[PATHCAP], f[PATHCAP + 16];
    world w;
    run_result rr;
    fmt(src, sizeof src, "%s/bugsrc4", g_root);
    rm_rf(src);
    mkdirs(src);
    fmt(f, sizeof f, "%s/a.md", src);
    REQUIRE(write_file(f, "hello\n", 6) == 0);
    world_init(&w, "bug4", src);
    REQUIRE(fault_call_on(&w, "write", "/rows.sqlite-wal", 1, "ENOSPC", &rr) == 0);
    CHECK_INT_EQ(rr.code, 1);
    {
        char want[PATHCAP + 64];
        fmt(want, sizeof want, "table 'files' in '%s': COMMIT: ", w.sql);
        CHECK_STR_CONTAINS(rr.err, want);
    }
    if (!strstr(rr.err, "rows.sqlite") && !strstr(rr.err, "table 'files'"))
        show_run("update with a failed CREATE TABLE", &rr);
}

/* Guarantee 3 (convergence after a crash): a new source file's component writes its output,
   the process is killed before the update's last commit, the source file is deleted; the next
   update must delete the output and the row, as a from-scratch run has neither.  The child's
   record commits before its parent's record lists it; the link journal (coco__links_settle)
   is what finds it again. */
static void crash_orphan_after_kill_is_removed(void) {
    char src[PATHCAP], a[PATHCAP + 16], c[PATHCAP + 16], outc[PATHCAP + 16];
    world w;
    run_spec rs;
    run_result rr;
    rows got;
    struct stat st;
    fmt(src, sizeof src, "%s/bugsrc2", g_root);
    rm_rf(src);
    mkdirs(src);
    fmt(a, sizeof a, "%s/a.md", src);
    fmt(c, sizeof c, "%s/c.md", src);
    REQUIRE(write_file(a, "alpha\n", 6) == 0);
    world_init(&w, "bug2", src);
    world_reset(&w);
    run_clean(&w, &rr);
    REQUIRE(rr.code == 0);
    REQUIRE(write_file(c, "gamma\n", 6) == 0);
    memset(&rs, 0, sizeof rs);
    rs.threads = 1;
    rs.fclass = "rename";
    rs.n = 1;                              /* out/.c.md.coco-tmp.PID -> out/c.md, then SIGKILL */
    rs.action = "killafter";
    run_pipeline(&w, &rs, &rr);
    REQUIRE(rr.killed);
    CHECK_STR_CONTAINS(rr.injected, "/out/c.md");
    REQUIRE(unlink(c) == 0);
    run_clean(&w, &rr);
    CHECK_INT_EQ(rr.code, 0);
    fmt(outc, sizeof outc, "%s/c.md", w.out);
    CHECK(stat(outc, &st) != 0);
    if (read_rows(w.sql, &got, NULL, 0) == 0) {
        CHECK(rows_find(&got, "c.md") == NULL);
        rows_free(&got);
    }
    run_clean(&w, &rr);
    CHECK(stat(outc, &st) != 0);           /* and after one more update too */
}

static void crash_binaries_built(void) {
    CHECK(access(g_bin, X_OK) == 0);
    CHECK(access(g_shim, R_OK) == 0);
    if (access(g_bin, X_OK) != 0 || access(g_shim, R_OK) != 0)
        printf("# needs %s and %s (make builds them)\n", g_bin, g_shim);
}

int main(int argc, char** argv) {
    char cwd[512];
    const char* seed = getenv("COCO_CRASH_SEED");
    coco_test_begin("crash", argc, argv);
    g_long = getenv("COCO_RELIABILITY") != NULL && *getenv("COCO_RELIABILITY") == '1';
    g_seed = strtoull(seed ? seed : "1", NULL, 10);
    if (!getcwd(cwd, sizeof cwd)) return 1;
    fmt(g_bin, sizeof g_bin, "%s/build/crash_pipeline", cwd);
    fmt(g_shim, sizeof g_shim, "%s/build/fault_shim.so", cwd);
    fmt(g_tool, sizeof g_tool, "%s/build/cocoindex", cwd);
    RUN(crash_binaries_built);
    if (coco_test__failed) return coco_test_end();
    fmt(g_root, sizeof g_root, "/tmp/coco_crash_XXXXXX");
    if (!mkdtemp(g_root)) return 1;
    printf("# seed %s, %s form, scratch %s\n", seed ? seed : "1", g_long ? "long" : "short",
           g_root);
    RUN(crash_kill9_converges);
    RUN(crash_fault_mixed_update);
    RUN(crash_fault_first_update);
    RUN(crash_emfile_every_limit);
    RUN(crash_orphan_after_kill_is_removed);
    RUN(crash_apply_error_exit_code);
    RUN(crash_store_error_in_use_mount_message);
    RUN(crash_sqlite_table_apply_message);
    if (!getenv("COCO_CRASH_KEEP")) rm_rf(g_root);
    return coco_test_end();
}
