#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L
/* tests/soak.c -- live mode under continuous churn: memory, descriptors and correctness.

   Runs build/examples/files_transform (every **.md file of --src becomes an upper-cased copy
   under --out) as a child process with `--db S update --live --src SRC --out OUT`, then for
   SOAK_SECONDS changes the source tree at a steady rate: files created, rewritten, appended
   to, saved the editor way (temp file renamed over), touched, deleted, renamed (across
   directories, .md <-> .txt, over an existing file); directories created with files in them,
   deleted, renamed or moved; now and then a burst of a hundred or more changes at once.
   Names come from bounded pools (f0000-f1499, d00-d39), so the set of keys the app has seen
   stops growing early: memory that keeps growing after that is a leak, not a bigger index.

   Every SOAK_CHECK_EVERY seconds the churn pauses and the check waits (up to SOAK_SETTLE
   seconds) until the output directory is exactly the upper-cased .md files of the source,
   computed here from the source itself: no file missing, extra or stale, no temporary file,
   no directory without a file under it.  Then it samples the child: VmRSS, RssAnon and
   RssFile (/proc/PID/status), threads, open descriptors (/proc/PID/fd), the state db's size.

   At the end: SIGTERM (the child must exit 0 within 60 s), one plain `update` (must print
   "nothing to do"), the outputs checked once more.  Judged on the samples after the warm-up
   (the first 10% of the run, at least the first sample): the largest RssAnon of the second
   half at most 1.1 x the largest of the first half + 2 MiB, and the same for VmRSS in runs of
   600 s or more (VmRSS includes the mapped state log, RssFile, which grows until the next
   compaction: a short run sees part of one cycle); descriptors and threads the same in every
   sample; zero failed checks; no error reported by the live update, and exit code 0; in runs
   of 1800 s or more, the last quarter's largest RssAnon after the warm-up at most 384 KiB
   above the second quarter's (a slow leak, such as one per full pass of the live update,
   shows there).  A source file deleted or renamed between its event and its read counts as
   an error like any other ("cannot open ...: No such file or directory" is told apart in the
   output).  Prints one summary line (with the RssAnon trend after the warm-up) and
   "soak: ok", or "soak: FAILED (...)" and exits 1.

   Knobs (environment): SOAK_SECONDS (20), SOAK_RATE (changes a second, 40), SOAK_FILES
   (files at the start, 300), SOAK_CHECK_EVERY (seconds of churn between checks, 3),
   SOAK_SETTLE (seconds a check waits, 10), SOAK_SEED (from the clock), SOAK_BIN
   (build/examples/files_transform; build/crash_pipeline works too: same transformation, its
   SQLite file goes to the scratch directory), SOAK_DIR (scratch directory, kept on failure
   or with SOAK_KEEP=1), SOAK_CSV (a file for every sample), SOAK_VERBOSE=1 (a line a check).
   `make soak` runs the long form (SOAK_SECONDS=1800); tests/test_soak.c a short slice. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATHCAP 1024
#define MAXDEPTH 4              /* directory levels below the source root  */
#define NFILENAMES 1500         /* f0000.md .. f1499.md (or .txt)          */
#define NDIRNAMES 40            /* d00 .. d39                              */

/* ---- small utilities -------------------------------------------------------------------- */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fmt(char* buf, size_t cap, const char* f, ...) {
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, cap, f, ap);
    va_end(ap);
}

static void* xmalloc(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "soak: out of memory\n"); exit(3); }
    return p;
}
static void* xrealloc(void* p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) { fprintf(stderr, "soak: out of memory\n"); exit(3); }
    return p;
}
static char* xstrdup(const char* s) {
    size_t n = strlen(s) + 1;
    return (char*)memcpy(xmalloc(n), s, n);
}

static uint64_t g_rng = 1;
static uint64_t rnd(void) {                       /* xorshift64* */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}
static unsigned rndn(unsigned n) { return n ? (unsigned)(rnd() % n) : 0; }
static int chance(unsigned percent) { return rndn(100) < percent; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static void sleep_ms(unsigned ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static double env_num(const char* name, double def) {
    const char* v = getenv(name);
    char* end;
    double d;
    if (!v || !*v) return def;
    d = strtod(v, &end);
    return end != v ? d : def;
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
static int append_file(const char* path, const void* data, size_t len) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    ssize_t w;
    if (fd < 0) return -1;
    w = write(fd, data, len);
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

/* the whole file, NUL-terminated (not counted in *len); NULL if it cannot be read.  Reads to
   the end rather than trusting st_size, which is 0 for /proc files. */
static char* read_file(const char* path, size_t* len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char* p;
    size_t off = 0, cap;
    if (fd < 0) return NULL;
    if (fstat(fd, &st) != 0) { close(fd); return NULL; }
    cap = (size_t)st.st_size + 4096;
    p = (char*)xmalloc(cap);
    for (;;) {
        ssize_t r;
        if (off + 1 >= cap) p = (char*)xrealloc(p, cap *= 2);
        r = read(fd, p + off, cap - off - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        off += (size_t)r;
    }
    close(fd);
    p[off] = 0;
    *len = off;
    return p;
}

static int rm_tree(const char* abs) {
    struct stat st;
    DIR* d;
    struct dirent* e;
    int rc = 0;
    if (lstat(abs, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(abs);
    if ((d = opendir(abs)) == NULL) return -1;
    while ((e = readdir(d)) != NULL) {
        char sub[PATHCAP];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        fmt(sub, sizeof sub, "%s/%s", abs, e->d_name);
        if (rm_tree(sub) != 0) rc = -1;
    }
    closedir(d);
    return rmdir(abs) != 0 ? -1 : rc;
}

/* ---- a growable list of strings ------------------------------------------------------------ */
typedef struct strvec { char** v; size_t n, cap; } strvec;

static void sv_push(strvec* s, char* str) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = (char**)xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = str;
}
static long sv_find(const strvec* s, const char* str) {
    size_t i;
    for (i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], str)) return (long)i;
    return -1;
}
static void sv_del(strvec* s, size_t i) {
    free(s->v[i]);
    s->v[i] = s->v[--s->n];
}
static void sv_free(strvec* s) {
    size_t i;
    for (i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* ---- the scratch directory and the child ----------------------------------------------- */
static char g_dir[PATHCAP], g_src[PATHCAP], g_out[PATHCAP], g_db[PATHCAP], g_bin[PATHCAP];
static char g_log[PATHCAP];
static pid_t g_child = -1;
static int g_verbose;

static void kill_child_at_exit(void) {
    if (g_child > 0) { kill(g_child, SIGKILL); waitpid(g_child, NULL, 0); g_child = -1; }
}

/* runs BIN with argv (NULL-terminated, without argv[0]) in the scratch directory, its stdout
   and stderr appended to `log`; returns the pid */
static pid_t spawn(const char* const* args, const char* log) {
    const char* argv[16];
    size_t i, n = 0;
    pid_t pid;
    argv[n++] = g_bin;
    for (i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || chdir(g_dir) != 0) _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) { dup2(fd, 0); close(fd); }
        execv(g_bin, (char* const*)(void*)argv);
        _exit(127);
    }
    return pid;
}

/* waits up to `secs` for `pid`; returns its exit code, 128+signal, or -1 on a timeout */
static int wait_exit(pid_t pid, double secs) {
    double end = now_s() + secs;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0) return -2;
        if (now_s() > end) return -1;
        sleep_ms(20);
    }
}

/* ---- the source tree: a model of what is there, and the churn ---------------------------- */
static strvec g_files;      /* relative paths of every regular file of the source (any name) */
static strvec g_dirs;       /* relative paths of every directory of the source but its root */
static unsigned long g_gen; /* a counter written into every content: each write differs     */

enum { OP_CREATE, OP_REWRITE, OP_APPEND, OP_SAME, OP_EDITOR, OP_TOUCH, OP_DELETE, OP_RENAME,
       OP_MKDIR, OP_RMDIR, OP_MVDIR, OP_BURST, OP_COUNT };
static const char* const op_names[OP_COUNT] = {
    "create", "rewrite", "append", "same", "editor", "touch", "delete", "rename",
    "mkdir", "rmdir", "mvdir", "burst"
};
static unsigned long g_ops[OP_COUNT];
static unsigned long g_changes;   /* every file system change made to the source */

static int depth_of(const char* rel) {     /* "" -> 0, "d01" -> 1, "d01/d02" -> 2 */
    int d = *rel ? 1 : 0;
    for (; *rel; rel++) d += *rel == '/';
    return d;
}

static void src_path(char* buf, size_t cap, const char* rel) {
    if (*rel) fmt(buf, cap, "%s/%s", g_src, rel);
    else fmt(buf, cap, "%s", g_src);
}

static void join(char* buf, size_t cap, const char* dir, const char* name) {
    if (*dir) fmt(buf, cap, "%s/%s", dir, name);
    else fmt(buf, cap, "%s", name);
}

/* ASCII text: words in mixed case, digits, punctuation; sometimes empty, sometimes 10+ KB */
static char* make_content(const char* rel, size_t* len) {
    static const char* const words[] = {
        "alpha", "Beta", "gamma", "DELTA", "incremental", "index", "live", "watch", "churn",
        "soak", "The", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "x", "42",
        "-", "*", "#", "`code`", "[link](a.md)", "mIxEd", "z_9", "end."
    };
    size_t cap, target, n = 0;
    char* p;
    unsigned r = rndn(100);
    target = r < 3 ? 0 : r < 5 ? 8000 + rndn(12000) : 20 + rndn(1500);
    cap = target + 256;
    p = (char*)xmalloc(cap);
    if (target) {
        n = (size_t)snprintf(p, cap, "# %s gen %lu\n\n", rel, ++g_gen);
        while (n < target) {
            const char* w = words[rndn(sizeof words / sizeof *words)];
            size_t wl = strlen(w);
            if (n + wl + 2 >= cap) break;
            memcpy(p + n, w, wl);
            n += wl;
            p[n++] = rndn(12) ? ' ' : '\n';
        }
        p[n++] = '\n';
    }
    *len = n;
    return p;
}

static int write_new_content(const char* rel) {
    char abs[PATHCAP];
    size_t len;
    char* c = make_content(rel, &len);
    int rc;
    src_path(abs, sizeof abs, rel);
    rc = write_file(abs, c, len);
    free(c);
    g_changes++;
    return rc;
}

/* a random directory ("" = the root) whose children may be at depth `maxd` or less */
static const char* pick_parent(int maxd) {
    size_t tries;
    if (!g_dirs.n || chance(20)) return "";
    for (tries = 0; tries < 8; tries++) {
        const char* d = g_dirs.v[rndn((unsigned)g_dirs.n)];
        if (depth_of(d) < maxd) return d;
    }
    return "";
}

static void file_name(char* buf, size_t cap) {
    fmt(buf, cap, "f%04u.%s", rndn(NFILENAMES), chance(12) ? "txt" : "md");
}

/* a directory name not taken under `parent` (or NULL after a few tries) */
static int free_dir_name(const char* parent, char* rel, size_t cap) {
    int tries;
    for (tries = 0; tries < 10; tries++) {
        char name[16];
        fmt(name, sizeof name, "d%02u", rndn(NDIRNAMES));
        join(rel, cap, parent, name);
        if (sv_find(&g_dirs, rel) < 0) return 1;
    }
    return 0;
}

static void op_create(void) {
    char name[32], rel[PATHCAP];
    join(rel, sizeof rel, pick_parent(MAXDEPTH), (file_name(name, sizeof name), name));
    if (write_new_content(rel) == 0 && sv_find(&g_files, rel) < 0) sv_push(&g_files, xstrdup(rel));
    g_ops[OP_CREATE]++;
}

static void op_modify(int kind) {
    char abs[PATHCAP];
    const char* rel;
    if (!g_files.n) { op_create(); return; }
    rel = g_files.v[rndn((unsigned)g_files.n)];
    src_path(abs, sizeof abs, rel);
    g_ops[kind]++;
    if (kind == OP_REWRITE) {
        write_new_content(rel);
    } else if (kind == OP_APPEND) {
        char line[64];
        int n = snprintf(line, sizeof line, "appended line %lu, More Text\n", ++g_gen);
        if (append_file(abs, line, (size_t)n) == 0) g_changes++;
    } else if (kind == OP_SAME) {            /* the same bytes written again */
        size_t len;
        char* c = read_file(abs, &len);
        if (c && write_file(abs, c, len) == 0) g_changes++;
        free(c);
    } else if (kind == OP_TOUCH) {          /* mtime only */
        struct timespec ts[2];
        clock_gettime(CLOCK_REALTIME, &ts[0]);
        ts[0].tv_sec -= (time_t)rndn(100000);
        ts[1] = ts[0];
        if (utimensat(AT_FDCWD, abs, ts, 0) == 0) g_changes++;
    } else if (kind == OP_EDITOR) {         /* write "name~", rename it over the file */
        char tmp[PATHCAP];
        size_t len;
        char* c = make_content(rel, &len);
        fmt(tmp, sizeof tmp, "%s~", abs);
        if (write_file(tmp, c, len) == 0 && rename(tmp, abs) == 0) g_changes += 2;
        free(c);
    }
}

static void op_delete(void) {
    char abs[PATHCAP];
    size_t i;
    if (!g_files.n) return;
    i = rndn((unsigned)g_files.n);
    src_path(abs, sizeof abs, g_files.v[i]);
    if (unlink(abs) == 0) g_changes++;
    sv_del(&g_files, i);
    g_ops[OP_DELETE]++;
}

static void op_rename(void) {
    char name[32], to[PATHCAP], a[PATHCAP], b[PATHCAP];
    size_t i;
    long j;
    if (!g_files.n) return;
    i = rndn((unsigned)g_files.n);
    if (chance(50)) {                    /* same directory, new name (maybe .md <-> .txt) */
        const char* slash = strrchr(g_files.v[i], '/');
        char dir[PATHCAP];
        fmt(dir, sizeof dir, "%.*s", slash ? (int)(slash - g_files.v[i]) : 0, g_files.v[i]);
        file_name(name, sizeof name);
        join(to, sizeof to, dir, name);
    } else {
        file_name(name, sizeof name);
        join(to, sizeof to, pick_parent(MAXDEPTH), name);
    }
    if (!strcmp(to, g_files.v[i])) return;
    src_path(a, sizeof a, g_files.v[i]);
    src_path(b, sizeof b, to);
    if (rename(a, b) != 0) return;
    g_changes++;
    g_ops[OP_RENAME]++;
    if ((j = sv_find(&g_files, to)) >= 0) {     /* renamed over an existing file */
        sv_del(&g_files, (size_t)j);
        if (i == g_files.n) i = (size_t)j;      /* sv_del moved the last entry into j */
    }
    free(g_files.v[i]);
    g_files.v[i] = xstrdup(to);
}

static void op_mkdir(unsigned nfiles) {
    char rel[PATHCAP], abs[PATHCAP];
    unsigned k;
    if (!free_dir_name(pick_parent(MAXDEPTH), rel, sizeof rel)) return;
    src_path(abs, sizeof abs, rel);
    if (mkdir(abs, 0755) != 0) return;
    g_changes++;
    g_ops[OP_MKDIR]++;
    sv_push(&g_dirs, xstrdup(rel));
    for (k = 0; k < nfiles; k++) {
        char name[32], f[PATHCAP];
        file_name(name, sizeof name);
        join(f, sizeof f, rel, name);
        if (write_new_content(f) == 0 && sv_find(&g_files, f) < 0) sv_push(&g_files, xstrdup(f));
    }
}

static int under(const char* path, const char* dir) {
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

static void drop_under(strvec* s, const char* dir) {
    size_t i = 0;
    while (i < s->n) {
        if (under(s->v[i], dir)) sv_del(s, i);
        else i++;
    }
}

static void op_rmdir(const char* rel_in) {
    char rel[PATHCAP], abs[PATHCAP];
    if (!g_dirs.n) return;
    fmt(rel, sizeof rel, "%s", rel_in ? rel_in : g_dirs.v[rndn((unsigned)g_dirs.n)]);
    src_path(abs, sizeof abs, rel);
    if (rm_tree(abs) == 0) g_changes++;
    drop_under(&g_files, rel);
    drop_under(&g_dirs, rel);
    g_ops[OP_RMDIR]++;
}

static void re_prefix(strvec* s, const char* from, const char* to) {
    size_t i, fl = strlen(from);
    for (i = 0; i < s->n; i++)
        if (under(s->v[i], from)) {
            char p[PATHCAP];
            fmt(p, sizeof p, "%s%s", to, s->v[i] + fl);
            free(s->v[i]);
            s->v[i] = xstrdup(p);
        }
}

/* renames or moves a directory; never into itself, never deeper than MAXDEPTH */
static void op_mvdir(const char* rel_in) {
    char from[PATHCAP], to[PATHCAP], a[PATHCAP], b[PATHCAP];
    const char* parent;
    int sub = 0, base;
    size_t i;
    if (!g_dirs.n) return;
    fmt(from, sizeof from, "%s", rel_in ? rel_in : g_dirs.v[rndn((unsigned)g_dirs.n)]);
    base = depth_of(from);
    for (i = 0; i < g_dirs.n; i++)           /* levels below `from` */
        if (under(g_dirs.v[i], from) && depth_of(g_dirs.v[i]) - base > sub)
            sub = depth_of(g_dirs.v[i]) - base;
    parent = pick_parent(MAXDEPTH - sub);
    if (under(parent, from)) parent = "";
    if (!free_dir_name(parent, to, sizeof to)) return;
    src_path(a, sizeof a, from);
    src_path(b, sizeof b, to);
    if (rename(a, b) != 0) return;
    g_changes++;
    g_ops[OP_MVDIR]++;
    re_prefix(&g_files, from, to);
    re_prefix(&g_dirs, from, to);
}

/* many changes at once: a new directory full of files, a wave of rewrites, a big directory
   deleted or moved */
static void op_burst(void) {
    unsigned k, n;
    g_ops[OP_BURST]++;
    switch (rndn(4)) {
    case 0: op_mkdir(60 + rndn(140)); break;
    case 1:
        n = 50 + rndn(150);
        for (k = 0; k < n; k++) op_modify(chance(50) ? OP_REWRITE : OP_EDITOR);
        break;
    default: {
        /* the directory with the most files under it */
        size_t i, j, best = 0, bestn = 0;
        for (i = 0; i < g_dirs.n; i++) {
            size_t c = 0;
            for (j = 0; j < g_files.n; j++) c += under(g_files.v[j], g_dirs.v[i]);
            if (c > bestn) { bestn = c; best = i; }
        }
        if (!g_dirs.n) break;
        {
            char rel[PATHCAP];
            fmt(rel, sizeof rel, "%s", g_dirs.v[best]);
            if (chance(50)) op_rmdir(rel);
            else op_mvdir(rel);
        }
        break;
    }
    }
}

/* one random change; the mix keeps the number of files near `target` */
static void churn_one(size_t target) {
    unsigned r = rndn(1000);
    int grow = g_files.n < target * 8 / 10, shrink = g_files.n > target * 12 / 10;
    if (grow && r < 400) { if (r < 40) op_mkdir(5 + rndn(20)); else op_create(); return; }
    if (shrink && r < 300) { op_delete(); return; }
    if (grow && r >= 940 && r < 965) r = 930;            /* no directory deletes then */
    if (r < 150) op_create();
    else if (r < 400) op_modify(OP_REWRITE);
    else if (r < 480) op_modify(OP_APPEND);
    else if (r < 520) op_modify(OP_SAME);
    else if (r < 600) op_modify(OP_EDITOR);
    else if (r < 660) op_modify(OP_TOUCH);
    else if (r < 800) op_delete();
    else if (r < 900) op_rename();
    else if (r < 940) op_mkdir(rndn(6));
    else if (r < 965) { if (g_dirs.n > 4) op_rmdir(NULL); else op_mkdir(3); }
    else if (r < 997) op_mvdir(NULL);
    else op_burst();
}

/* ---- the check: the output directory against the source -------------------------------- */
typedef struct entry { char* rel; char* data; size_t len; } entry;
typedef struct entries { entry* v; size_t n, cap; } entries;

static void en_push(entries* e, char* rel, char* data, size_t len) {
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 256;
        e->v = (entry*)xrealloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n].rel = rel;
    e->v[e->n].data = data;
    e->v[e->n].len = len;
    e->n++;
}
static void en_free(entries* e) {
    size_t i;
    for (i = 0; i < e->n; i++) { free(e->v[i].rel); free(e->v[i].data); }
    free(e->v);
    memset(e, 0, sizeof *e);
}
static int cmp_entry(const void* a, const void* b) {
    return strcmp(((const entry*)a)->rel, ((const entry*)b)->rel);
}

static int ends_with(const char* s, const char* suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !memcmp(s + a - b, suf, b);
}

/* every regular file under root/rel (with `md_upper`: only *.md, content upper-cased);
   directories go to `dirs` */
static void scan(const char* root, const char* rel, int md_upper, entries* files, strvec* dirs) {
    char abs[PATHCAP];
    DIR* d;
    struct dirent* e;
    if (*rel) fmt(abs, sizeof abs, "%s/%s", root, rel);
    else fmt(abs, sizeof abs, "%s", root);
    if ((d = opendir(abs)) == NULL) return;
    while ((e = readdir(d)) != NULL) {
        char sub[PATHCAP], full[PATHCAP];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        join(sub, sizeof sub, rel, e->d_name);
        fmt(full, sizeof full, "%s/%s", root, sub);
        if (lstat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (dirs) sv_push(dirs, xstrdup(sub));
            scan(root, sub, md_upper, files, dirs);
        } else if (S_ISREG(st.st_mode)) {
            size_t len, i;
            char* c;
            if (md_upper && !ends_with(e->d_name, ".md")) continue;
            if ((c = read_file(full, &len)) == NULL) continue;
            if (md_upper)
                for (i = 0; i < len; i++)
                    if (c[i] >= 'a' && c[i] <= 'z') c[i] = (char)(c[i] - 'a' + 'A');
            en_push(files, xstrdup(sub), c, len);
        } else if (!md_upper) {
            en_push(files, xstrdup(sub), xstrdup("(not a regular file)"), 0);
        }
    }
    closedir(d);
}

/* Compares once.  Returns the number of differences; with `report`, prints up to 10. */
static size_t compare(int report) {
    entries want = { NULL, 0, 0 }, got = { NULL, 0, 0 };
    strvec dirs = { NULL, 0, 0 };
    size_t i = 0, j = 0, k, bad = 0, shown = 0;
    scan(g_src, "", 1, &want, NULL);
    scan(g_out, "", 0, &got, &dirs);
    qsort(want.v, want.n, sizeof *want.v, cmp_entry);
    qsort(got.v, got.n, sizeof *got.v, cmp_entry);
#define SOAK_DIFF(...) do { bad++; if (report && shown++ < 10) printf("#   " __VA_ARGS__); } \
                       while (0)
    while (i < want.n || j < got.n) {
        int c = i >= want.n ? 1 : j >= got.n ? -1 : strcmp(want.v[i].rel, got.v[j].rel);
        if (c < 0) { SOAK_DIFF("missing in the output: %s\n", want.v[i].rel); i++; }
        else if (c > 0) { SOAK_DIFF("extra in the output: %s\n", got.v[j].rel); j++; }
        else {
            if (want.v[i].len != got.v[j].len || memcmp(want.v[i].data, got.v[j].data,
                                                        want.v[i].len))
                SOAK_DIFF("stale content: %s (%zu bytes, want %zu)\n", got.v[j].rel,
                          got.v[j].len, want.v[i].len);
            i++; j++;
        }
    }
    /* every directory of the output holds some file */
    for (k = 0; k < dirs.n; k++) {
        int used = 0;
        for (i = 0; i < got.n && !used; i++) used = under(got.v[i].rel, dirs.v[k]);
        if (!used) SOAK_DIFF("directory without files in the output: %s\n", dirs.v[k]);
    }
#undef SOAK_DIFF
    en_free(&want);
    en_free(&got);
    sv_free(&dirs);
    return bad;
}

/* Waits up to `secs` until the output matches; returns the milliseconds it took, or -1 (the
   differences then printed). */
static long settle(double secs) {
    double t0 = now_s();
    for (;;) {
        if (compare(0) == 0) return (long)((now_s() - t0) * 1000);
        if (now_s() - t0 > secs) {
            printf("# outputs still differ after %.1f s:\n", secs);
            compare(1);
            return -1;
        }
        sleep_ms(100);
    }
}

/* ---- samples of the child ---------------------------------------------------------------- */
typedef struct sample {
    double t;                   /* seconds since the churn began */
    unsigned long changes;
    long rss, anon, file;       /* KiB */
    long fds, threads;
    long long db;               /* bytes of the state db (all its files) */
    long settle_ms;
} sample;

static long status_kb(const char* text, const char* key) {
    const char* p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static long count_fds(pid_t pid) {
    char p[64];
    DIR* d;
    struct dirent* e;
    long n = 0;
    fmt(p, sizeof p, "/proc/%ld/fd", (long)pid);
    if ((d = opendir(p)) == NULL) return -1;
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static long long db_bytes(void) {
    char p[PATHCAP];
    struct stat st;
    DIR* d;
    struct dirent* e;
    long long n = 0;
    const char* slash = strrchr(g_db, '/');
    const char* base = slash ? slash + 1 : g_db;
    if ((d = opendir(g_dir)) == NULL) return -1;
    while ((e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, base, strlen(base))) {
            fmt(p, sizeof p, "%s/%s", g_dir, e->d_name);
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) n += (long long)st.st_size;
        }
    closedir(d);
    return n;
}

static int take_sample(pid_t pid, sample* s) {
    char p[64];
    size_t len;
    char* text;
    int k;
    fmt(p, sizeof p, "/proc/%ld/status", (long)pid);
    if ((text = read_file(p, &len)) == NULL) return -1;
    s->rss = status_kb(text, "VmRSS:");
    s->anon = status_kb(text, "RssAnon:");
    s->file = status_kb(text, "RssFile:");
    s->threads = status_kb(text, "Threads:");
    free(text);
    /* the fewest of a few reads: an apply in flight holds a directory open for a moment */
    s->fds = count_fds(pid);
    for (k = 0; k < 4; k++) {
        long f;
        sleep_ms(50);
        f = count_fds(pid);
        if (f >= 0 && f < s->fds) s->fds = f;
    }
    s->db = db_bytes();
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */
static void populate(size_t nfiles) {
    size_t k;
    for (k = 0; k < 20; k++) op_mkdir(0);
    while (g_files.n < nfiles) op_create();
    memset(g_ops, 0, sizeof g_ops);
    g_changes = 0;
}

static long max_of(const sample* s, size_t a, size_t b, int anon) {
    long m = 0;
    size_t i;
    for (i = a; i < b; i++) {
        long v = anon ? s[i].anon : s[i].rss;
        if (v > m) m = v;
    }
    return m;
}

/* least-squares slope of RssAnon over the samples [a, b), in KiB a minute */
static double anon_slope(const sample* s, size_t a, size_t b) {
    double n = (double)(b - a), st = 0, sv = 0, stt = 0, stv = 0;
    size_t i;
    if (b - a < 2) return 0;
    for (i = a; i < b; i++) {
        st += s[i].t;
        sv += (double)s[i].anon;
        stt += s[i].t * s[i].t;
        stv += s[i].t * (double)s[i].anon;
    }
    if (n * stt - st * st <= 0) return 0;
    return (n * stv - st * sv) / (n * stt - st * st) * 60.0;
}

int main(void) {
    double secs = env_num("SOAK_SECONDS", 20), rate = env_num("SOAK_RATE", 40);
    double every = env_num("SOAK_CHECK_EVERY", 3), settle_s = env_num("SOAK_SETTLE", 10);
    size_t nfiles = (size_t)env_num("SOAK_FILES", 300);
    unsigned long long seed = (unsigned long long)env_num("SOAK_SEED", 0);
    const char* bin = getenv("SOAK_BIN");
    const char* csv_path = getenv("SOAK_CSV");
    int keep = env_num("SOAK_KEEP", 0) != 0;
    FILE* csv = NULL;
    sample* samples = NULL;
    size_t nsamples = 0, cap = 0, checks = 0, failed_checks = 0, warm, half, i;
    long max_settle = 0, errors_vanished = 0, errors_other = 0;
    double t_start, next_check;
    char fails[512] = "";
    int rc_term, rc_update = -1, nothing_to_do = 0, final_ok;
    g_verbose = env_num("SOAK_VERBOSE", 0) != 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    if (!seed) seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
    g_rng = 0x9E3779B97F4A7C15ull ^ (seed * 0xD1B54A32D192ED03ull);
    if (!g_rng) g_rng = 1;
    if (!realpath(bin && *bin ? bin : "build/examples/files_transform", g_bin)) {
        fprintf(stderr, "soak: no pipeline binary at '%s' (make examples)\n",
                bin && *bin ? bin : "build/examples/files_transform");
        return 2;
    }
    if (getenv("SOAK_DIR") && *getenv("SOAK_DIR"))
        fmt(g_dir, sizeof g_dir, "%s", getenv("SOAK_DIR"));
    else fmt(g_dir, sizeof g_dir, "/tmp/coco_soak.%ld", (long)getpid());
    rm_tree(g_dir);
    if (mkdir(g_dir, 0755) != 0) { perror(g_dir); return 2; }
    fmt(g_src, sizeof g_src, "%s/src", g_dir);
    fmt(g_out, sizeof g_out, "%s/out", g_dir);
    fmt(g_db, sizeof g_db, "%s/state.db", g_dir);
    fmt(g_log, sizeof g_log, "%s/live.log", g_dir);
    if (mkdir(g_src, 0755) != 0) { perror(g_src); return 2; }
    if (csv_path && *csv_path && (csv = fopen(csv_path, "w")) != NULL)
        fprintf(csv, "t,changes,rss_kb,anon_kb,file_kb,fds,threads,db_bytes,settle_ms\n");
    atexit(kill_child_at_exit);
    printf("# soak: %s, %.0f s, %.0f changes/s, %zu files, seed %llu, dir %s\n", g_bin, secs,
           rate, nfiles, seed, g_dir);

    populate(nfiles);
    {
        const char* args[] = { "--db", g_db, "update", "--live", "--src", g_src, "--out", g_out,
                               NULL };
        g_child = spawn(args, g_log);
    }
    if (g_child < 0) { perror("fork"); return 2; }
    {   /* the catch-up pass: everything there before the churn */
        long ms = settle(60);
        if (ms < 0) { printf("soak: FAILED (the first pass did not converge)\n"); return 1; }
        printf("# first pass converged in %ld ms (%zu files)\n", ms, g_files.n);
    }

    t_start = now_s();
    next_check = t_start + every;
    for (;;) {
        double t = now_s(), churn_start = t;
        unsigned long done = 0;
        int last_round = t - t_start + every >= secs;
        /* churn at a steady rate until the next check */
        while ((t = now_s()) < next_check) {
            unsigned long want = (unsigned long)((t - churn_start) * rate);
            while (done < want) { churn_one(nfiles); done++; }
            {
                int st;
                if (waitpid(g_child, &st, WNOHANG) == g_child) {
                    printf("soak: FAILED (the live update exited during the churn: %d)\n",
                           WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
                    g_child = -1;
                    return 1;
                }
            }
            sleep_ms(10);
        }
        /* the check */
        {
            sample s;
            long ms = settle(settle_s);
            memset(&s, 0, sizeof s);
            checks++;
            if (ms < 0) failed_checks++;
            else if (ms > max_settle) max_settle = ms;
            sleep_ms(200);
            if (take_sample(g_child, &s) != 0) {
                printf("soak: FAILED (the live update is gone)\n");
                return 1;
            }
            s.t = now_s() - t_start;
            s.changes = g_changes;
            s.settle_ms = ms;
            if (nsamples == cap) {
                cap = cap ? cap * 2 : 64;
                samples = (sample*)xrealloc(samples, cap * sizeof *samples);
            }
            samples[nsamples++] = s;
            if (csv) {
                fprintf(csv, "%.1f,%lu,%ld,%ld,%ld,%ld,%ld,%lld,%ld\n", s.t, s.changes, s.rss,
                        s.anon, s.file, s.fds, s.threads, s.db, s.settle_ms);
                fflush(csv);
            }
            if (g_verbose || ms < 0)
                printf("# t=%.0fs changes=%lu files=%zu dirs=%zu settle=%ldms rss=%ldK "
                       "anon=%ldK file=%ldK fds=%ld threads=%ld db=%lldK\n", s.t, s.changes,
                       g_files.n, g_dirs.n, ms, s.rss, s.anon, s.file, s.fds, s.threads,
                       s.db / 1024);
        }
        if (last_round) break;
        next_check = now_s() + every;
    }

    /* stop the live update, then one plain update */
    kill(g_child, SIGTERM);
    rc_term = wait_exit(g_child, 60);
    if (rc_term == -1) { kill(g_child, SIGKILL); waitpid(g_child, NULL, 0); }
    g_child = -1;
    {
        char ulog[PATHCAP];
        const char* args[] = { "--db", g_db, "update", "--src", g_src, "--out", g_out, NULL };
        size_t len;
        char* text;
        pid_t pid;
        fmt(ulog, sizeof ulog, "%s/update.log", g_dir);
        pid = spawn(args, ulog);
        rc_update = pid > 0 ? wait_exit(pid, 300) : -3;
        if ((text = read_file(ulog, &len)) != NULL) {
            nothing_to_do = strstr(text, "nothing to do") != NULL;
            if (!nothing_to_do) printf("# the update after the live one printed: %s", text);
            free(text);
        }
    }
    final_ok = compare(1) == 0;
    {   /* lines the live update wrote about failed components: any fails the soak.  "cannot
           open '...': No such file or directory" is told apart: a source file deleted or
           renamed between its event and its read, which a live round must take as a deletion
           (it once counted as a failed component, and the live update then exited 1). */
        size_t len;
        char* text = read_file(g_log, &len);
        const char* p = text;
        while (p && (p = strstr(p, ": error in ")) != NULL) {
            const char* bol = p;
            size_t n;
            while (bol > text && bol[-1] != '\n') bol--;
            n = strcspn(bol, "\n");
            if (strstr(bol, "cannot open '") && strstr(bol, "No such file or directory") &&
                (size_t)(strstr(bol, "No such file or directory") - bol) < n)
                errors_vanished++;
            else if (errors_other++ < 3)
                printf("# the live update reported: %.*s\n", (int)n, bol);
            p++;
        }
        if (errors_vanished) {
            const char* e = strstr(text, "No such file or directory");
            const char* bol = e;
            while (bol > text && bol[-1] != '\n') bol--;
            printf("# %ld source file(s) vanished between their event and their read were "
                   "reported as errors, the first: %.*s\n", errors_vanished, (int)strcspn(bol, "\n"), bol);
        }
        free(text);
    }

    /* judge */
    warm = 1;
    while (warm < nsamples && samples[warm].t < secs * 0.1) warm++;
    half = warm + (nsamples - warm) / 2;
#define SOAK_FAIL(...) do { size_t l_ = strlen(fails); \
        snprintf(fails + l_, sizeof fails - l_, "%s", l_ ? "; " : ""); l_ = strlen(fails); \
        snprintf(fails + l_, sizeof fails - l_, __VA_ARGS__); } while (0)
    if (failed_checks) SOAK_FAIL("%zu of %zu checks did not converge", failed_checks, checks);
    if (nsamples - warm < 2) SOAK_FAIL("too few samples after the warm-up (%zu)", nsamples - warm);
    else {
        long a1 = max_of(samples, warm, half, 0), a2 = max_of(samples, half, nsamples, 0);
        long b1 = max_of(samples, warm, half, 1), b2 = max_of(samples, half, nsamples, 1);
        /* VmRSS includes the mapped state log (RssFile), which grows until a compaction: only
           a run long enough for several compactions in each half (600 s) judges it */
        if (secs >= 600 && (double)a2 > (double)a1 * 1.1 + 2048)
            SOAK_FAIL("VmRSS grew: max %ld KiB in the second half, %ld KiB in the first", a2, a1);
        if ((double)b2 > (double)b1 * 1.1 + 2048)
            SOAK_FAIL("RssAnon grew: max %ld KiB in the second half, %ld KiB in the first", b2,
                      b1);
        for (i = warm + 1; i < nsamples; i++)
            if (samples[i].fds != samples[warm].fds) {
                SOAK_FAIL("open descriptors changed: %ld at %.0f s, %ld at %.0f s",
                          samples[warm].fds, samples[warm].t, samples[i].fds, samples[i].t);
                break;
            }
        for (i = warm + 1; i < nsamples; i++)
            if (samples[i].threads != samples[warm].threads) {
                SOAK_FAIL("threads changed: %ld at %.0f s, %ld at %.0f s", samples[warm].threads,
                          samples[warm].t, samples[i].threads, samples[i].t);
                break;
            }
        /* a slow leak (once ~800 bytes for each full pass of a live update, a directory
           deleted or moved) only shows in the long form: RssAnon still climbing at the end */
        if (secs >= 1800) {
            size_t q = (nsamples - warm) / 4;
            long m2 = max_of(samples, warm + q, warm + 2 * q, 1);
            long m4 = max_of(samples, warm + 3 * q, nsamples, 1);
            if (m4 > m2 + 384)
                SOAK_FAIL("RssAnon still growing: max %ld KiB in the last quarter, %ld KiB in "
                          "the second", m4, m2);
        }
    }
    if (errors_other) SOAK_FAIL("the live update reported %ld error(s)", errors_other);
    if (errors_vanished)
        SOAK_FAIL("%ld vanished source file(s) reported as errors", errors_vanished);
    if (rc_term != 0) SOAK_FAIL("SIGTERM: the live update %s %d", rc_term == -1 ?
                                "did not exit within 60 s," : "exited with", rc_term);
    if (rc_update != 0) SOAK_FAIL("the update after it exited with %d", rc_update);
    else if (!nothing_to_do) SOAK_FAIL("the update after it had something to do");
    if (!final_ok) SOAK_FAIL("outputs differ after the last update");

    {
        long fmin = 0, fmax = 0, tmin = 0, tmax = 0, rmax = max_of(samples, 0, nsamples, 0);
        for (i = 0; i < nsamples; i++) {
            if (!i || samples[i].fds < fmin) fmin = samples[i].fds;
            if (!i || samples[i].fds > fmax) fmax = samples[i].fds;
            if (!i || samples[i].threads < tmin) tmin = samples[i].threads;
            if (!i || samples[i].threads > tmax) tmax = samples[i].threads;
        }
        printf("# changes by kind:");
        for (i = 0; i < OP_COUNT; i++) printf(" %s %lu", op_names[i], g_ops[i]);
        printf("\n");
        if (nsamples)
            printf("soak: %.0f s, %lu changes, %zu checks (%zu failed, settle max %ld ms), "
                   "rss KiB first/last/max %ld/%ld/%ld (anon %ld/%ld, %+.1f KiB/min after the "
                   "warm-up), fds %ld..%ld, threads "
                   "%ld..%ld, db %lld..%lld KiB, errors %ld (+%ld vanished files), exit %d, next "
                   "update %s\n",
                   samples[nsamples - 1].t, g_changes, checks, failed_checks, max_settle,
                   samples[0].rss, samples[nsamples - 1].rss, rmax, samples[0].anon,
                   samples[nsamples - 1].anon, anon_slope(samples, warm, nsamples), fmin,
                   fmax, tmin, tmax, samples[0].db / 1024,
                   samples[nsamples - 1].db / 1024, errors_other, errors_vanished, rc_term,
                   nothing_to_do ? "nothing to do" : "had work");
    }
    if (csv) fclose(csv);
    free(samples);
    sv_free(&g_files);
    sv_free(&g_dirs);
    if (fails[0]) {
        printf("soak: FAILED (%s); scratch directory kept: %s\n", fails, g_dir);
        return 1;
    }
    if (!keep) rm_tree(g_dir);
    printf("soak: ok\n");
    return 0;
}
