/* bench_live.c -- live mode latency of the quickstart: a source file saved -> its output file
 * updated, with `files_transform update --live` following the tree.
 *
 *   bench_live FILES_TRANSFORM [NFILES [SAVES]]        (make bench-live: 1000 files, 50 saves)
 *
 * Makes NFILES markdown files of 1-4 KiB (100 per directory) under
 * ${TMPDIR:-/tmp}/coco_bench_live, runs the quickstart once (catch-up) and then starts
 * `FILES_TRANSFORM --db DB update --live --src SRC --out OUT`.  Once it follows the tree (a
 * probe save shows up in its output), it saves SAVES files one after another, each in two
 * ways, and times each save until the output holds the upper-cased new content:
 *   write   open(O_TRUNC) + write + close of the source file (an editor writing in place)
 *   rename  write + close of a temporary "NAME.md.tmp" then rename() over the source file
 *           (an editor's atomic save; the temporary name is not matched by **.md)
 * The clock starts before the save's first syscall and stops when a read of the output file
 * returns the expected bytes; the output is re-read on every inotify event of its directory
 * and at least every 0.2 ms.  Saves are GAP_MS (environment, default 100) ms apart: one save
 * at a time, this is latency, not throughput; with a short gap a save can wait for the
 * previous save's durability work (syncfs, commit) still running in the live process.  Prints min / median / p90 / max per way and overall, then
 * `live_latency_ms_median=X` and `live_goal=met|missed` (<= 20 ms, PERF.md) as the last lines.
 * The live process is stopped with SIGINT at the end; its exit status is checked.
 * Scratch removed at the end unless KEEP=1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PER_DIR 100
#define MAXLEN 4200

static char scratch[4096], src[4200], out[4200], db[4200], logp[4200];
static long nfiles = 1000, nsaves = 50;
static double gap_ms = 100;
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1e3);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1e3) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

static void die(const char* what) {
    perror(what);
    exit(1);
}

/* "# tag\n\n" then lowercase words; returns the length (1-4 KiB) */
static size_t make_text(char* buf, const char* tag) {
    size_t len = 1024 + (size_t)(next_rand() % 3073), k, col = 0;
    k = (size_t)snprintf(buf, MAXLEN, "# %s\n\n", tag);
    while (k < len) {
        uint64_t r = next_rand();
        size_t w = 1 + (size_t)(r % 10), j;
        for (j = 0; j < w && k < len; j++) buf[k++] = (char)('a' + (r >> (8 + 5 * j)) % 26);
        col += w + 1;
        if (k < len) buf[k++] = col > 60 ? '\n' : ' ';
        if (col > 60) col = 0;
    }
    buf[len - 1] = '\n';
    return len;
}

static void upper(const char* in, char* o, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) o[i] = (char)(in[i] >= 'a' && in[i] <= 'z' ? in[i] - 32 : in[i]);
}

static void rel_of(long i, char* rel, size_t cap) {
    snprintf(rel, cap, "d%03ld/f%05ld.md", i / PER_DIR, i);
}

static void write_file(const char* path, const char* buf, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die(path);
    if (write(fd, buf, len) != (ssize_t)len) die(path);
    if (close(fd) != 0) die(path);
}

/* 1 when the file at path holds exactly want[0..n) */
static int holds(const char* path, const char* want, size_t n) {
    char got[MAXLEN + 1];
    ssize_t r, tot = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    while (tot <= (ssize_t)n && (r = read(fd, got + tot, sizeof got - (size_t)tot)) > 0) tot += r;
    close(fd);
    return tot == (ssize_t)n && memcmp(got, want, n) == 0;
}

static int cmp_d(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static void stats(const char* what, double* v, long n, double* median) {
    double* s = (double*)malloc((size_t)n * sizeof *s);
    long p90;
    if (!s || n == 0) { printf("%-8s no samples\n", what); return; }
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_d);
    p90 = (long)((double)(n - 1) * 0.9 + 0.5);
    *median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    printf("| %-22s | %4ld | %7.2f | %7.2f | %7.2f | %7.2f |\n", what, n, s[0], *median, s[p90],
           s[n - 1]);
    free(s);
}

static pid_t spawn(char* const argv[], int wait_it) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
        execv(argv[0], argv);
        _exit(127);
    }
    if (wait_it) {
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench_live: %s failed (see %s)\n", argv[0], logp);
            exit(1);
        }
    }
    return pid;
}

/* one timed save; returns the latency in ms, or -1 after 5 s */
static double one_save(int ifd, long i, int rename_save, long seq) {
    char rel[64], path[4300], tmp[4400], opath[4300], tag[64];
    char text[MAXLEN], want[MAXLEN];
    size_t len;
    double t0, deadline;
    rel_of(i, rel, sizeof rel);
    snprintf(path, sizeof path, "%s/%s", src, rel);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(opath, sizeof opath, "%s/%s", out, rel);
    snprintf(tag, sizeof tag, "save %ld %s", seq, rename_save ? "rename" : "write");
    len = make_text(text, tag);
    upper(text, want, len);
    t0 = now_ms();
    if (rename_save) {
        write_file(tmp, text, len);
        if (rename(tmp, path) != 0) die("rename");
    } else {
        write_file(path, text, len);
    }
    deadline = t0 + 5000;
    for (;;) {
        struct pollfd p;
        struct timespec ts = { 0, 200000 };   /* 0.2 ms */
        char evbuf[4096];
        double t;
        if (holds(opath, want, len)) return now_ms() - t0;
        if ((t = now_ms()) > deadline) return -1;
        p.fd = ifd;
        p.events = POLLIN;
        p.revents = 0;
        if (ppoll(&p, 1, &ts, NULL) > 0)
            while (read(ifd, evbuf, sizeof evbuf) > 0) { }
    }
}

int main(int argc, char** argv) {
    const char* ft;
    const char* tmpdir = getenv("TMPDIR");
    char cmd[9000], rel[64], path[4300], text[MAXLEN];
    char* live_argv[12];
    char* once_argv[12];
    double *lat[2], t_start, t_ready, med_all = 0, m;
    long i, nfail = 0, k, ndirs;
    pid_t live;
    int st, ifd, r;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_live FILES_TRANSFORM [NFILES [SAVES]]\n");
        return 2;
    }
    ft = argv[1];
    if (argc > 2) nfiles = atol(argv[2]);
    if (argc > 3) nsaves = atol(argv[3]);
    if (getenv("GAP_MS")) gap_ms = atof(getenv("GAP_MS"));
    if (nfiles < 2 || nsaves < 1 || access(ft, X_OK) != 0) {
        fprintf(stderr, "bench_live: bad arguments or %s not executable (make examples)\n", ft);
        return 2;
    }
    snprintf(scratch, sizeof scratch, "%s/coco_bench_live", tmpdir && *tmpdir ? tmpdir : "/tmp");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) die("rm");
    snprintf(src, sizeof src, "%s/src", scratch);
    snprintf(out, sizeof out, "%s/out", scratch);
    snprintf(db, sizeof db, "%s/state.db", scratch);
    snprintf(logp, sizeof logp, "%s/live.log", scratch);
    if (mkdir(scratch, 0755) || mkdir(src, 0755) || mkdir(out, 0755)) die(scratch);

    /* the tree, and the output directories (watched for the outputs' renames) */
    ndirs = (nfiles + PER_DIR - 1) / PER_DIR;
    for (k = 0; k < ndirs; k++) {
        snprintf(path, sizeof path, "%s/d%03ld", src, k);
        if (mkdir(path, 0755)) die(path);
        snprintf(path, sizeof path, "%s/d%03ld", out, k);
        if (mkdir(path, 0755)) die(path);
    }
    for (i = 0; i < nfiles; i++) {
        char tag[32];
        size_t len;
        snprintf(tag, sizeof tag, "file %ld", i);
        len = make_text(text, tag);
        rel_of(i, rel, sizeof rel);
        snprintf(path, sizeof path, "%s/%s", src, rel);
        write_file(path, text, len);
    }

    /* catch-up once, then the live process */
    once_argv[0] = (char*)ft; once_argv[1] = (char*)"--db"; once_argv[2] = db;
    once_argv[3] = (char*)"update"; once_argv[4] = (char*)"--quiet";
    once_argv[5] = (char*)"--src"; once_argv[6] = src; once_argv[7] = (char*)"--out";
    once_argv[8] = out; once_argv[9] = NULL;
    spawn(once_argv, 1);
    memcpy(live_argv, once_argv, sizeof once_argv);
    live_argv[4] = (char*)"--live";
    t_start = now_ms();
    live = spawn(live_argv, 0);

    /* ready when a probe save of file 0 shows up in the output (retried: the watches are
       added after the live process's catch-up pass) */
    for (k = 0;; k++) {
        char want[MAXLEN], tag[32], opath[4300];
        size_t len;
        double t;
        snprintf(tag, sizeof tag, "probe %ld", k);
        len = make_text(text, tag);
        upper(text, want, len);
        rel_of(0, rel, sizeof rel);
        snprintf(path, sizeof path, "%s/%s", src, rel);
        snprintf(opath, sizeof opath, "%s/%s", out, rel);
        write_file(path, text, len);
        t = now_ms();
        while (!holds(opath, want, len) && now_ms() - t < 200) sleep_ms(1);
        if (holds(opath, want, len)) break;
        if (waitpid(live, &st, WNOHANG) == live || now_ms() - t_start > 30000) {
            fprintf(stderr, "bench_live: the live process did not follow the tree (see %s)\n", logp);
            return 1;
        }
    }
    t_ready = now_ms();
    sleep_ms(300);   /* let the watcher's first full pass finish */

    if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) die("inotify_init1");
    for (k = 0; k < ndirs; k++) {
        snprintf(path, sizeof path, "%s/d%03ld", out, k);
        if (inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) < 0) die(path);
    }
    lat[0] = (double*)calloc((size_t)nsaves, sizeof(double));
    lat[1] = (double*)calloc((size_t)nsaves, sizeof(double));
    if (!lat[0] || !lat[1]) die("calloc");
    /* 3 unrecorded warm-up saves, then the two ways interleaved */
    for (i = 0; i < 3; i++) {
        one_save(ifd, 1 + i, (int)(i & 1), -1 - i);
        sleep_ms(gap_ms);
    }
    for (i = 0; i < nsaves; i++) {
        int w;
        for (w = 0; w < 2; w++) {
            long f = 4 + (i * 2 + w) * 37 % (nfiles - 4);   /* a different file each save */
            double l = one_save(ifd, f, w, i);
            if (l < 0) {
                nfail++;
                fprintf(stderr, "bench_live: save %ld (%s) not seen in the output within 5 s\n",
                        i, w ? "rename" : "write");
                l = 5000;
            }
            lat[w][i] = l;
            sleep_ms(gap_ms);
        }
    }
    close(ifd);

    kill(live, SIGINT);
    r = waitpid(live, &st, 0);
    printf("live process: ready %.0f ms after start (catch-up of %ld files done before), "
           "SIGINT -> %s %d\n", t_ready - t_start, nfiles,
           r == live && WIFEXITED(st) ? "exit" : "signal",
           r == live && WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    {
        FILE* f = fopen(logp, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) printf("  live log: %s", line);
        if (f) fclose(f);
    }
    printf("\n| save (%ld files, %ld saves each, %.0f ms apart) | n | min ms | median ms | p90 ms | max ms |\n",
           nfiles, nsaves, gap_ms);
    printf("|---|---:|---:|---:|---:|---:|\n");
    stats("write + close", lat[0], nsaves, &m);
    stats("write tmp + rename", lat[1], nsaves, &m);
    {
        double* all = (double*)malloc((size_t)nsaves * 2 * sizeof *all);
        if (!all) die("malloc");
        memcpy(all, lat[0], (size_t)nsaves * sizeof *all);
        memcpy(all + nsaves, lat[1], (size_t)nsaves * sizeof *all);
        stats("all", all, nsaves * 2, &med_all);
        free(all);
    }
    if (nfail) printf("saves not seen within 5 s: %ld\n", nfail);
    if (!getenv("KEEP") || strcmp(getenv("KEEP"), "1") != 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
        if (system(cmd) != 0) fprintf(stderr, "bench_live: could not remove %s\n", scratch);
    }
    printf("live_latency_ms_median=%.2f\n", med_all);
    printf("live_goal=%s (<= 20 ms)\n", med_all <= 20 && !nfail ? "met" : "missed");
    return r == live && WIFEXITED(st) && WEXITSTATUS(st) == 0 && !nfail ? 0 : 1;
}
