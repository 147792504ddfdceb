/* gen_tree.c -- a synthetic source tree for bench/bench_noop.sh and bench/bench_live.c.
 *
 *   gen_tree ROOT N [PER_DIR]
 *
 * writes
 *   ROOT/src/gGG/dDDDD/fNNNNNNN.md   N markdown files of 1-4 KiB (PER_DIR files per directory,
 *                                    default 100; 50 directories per group: 100k files =
 *                                    1000 directories in 20 groups)
 *   ROOT/files.list                  the N paths, relative to ROOT, one per line
 *   ROOT/build.ninja                 one `cp` edge per file: nout/... <- src/...
 *
 * Content is deterministic (xorshift PRNG, fixed seed): lowercase words, lines of about 60
 * characters, a markdown heading first.  Build: cc -O2 -o gen_tree bench/gen_tree.c */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int mkd(const char* p) {
    if (mkdir(p, 0755) == 0 || errno == EEXIST) return 0;
    perror(p);
    return -1;
}

/* len bytes of text: "# title NNN\n\n" then words */
static size_t fill(char* buf, size_t len, long i) {
    size_t k = (size_t)snprintf(buf, len, "# file %ld\n\n", i), col = 0;
    while (k < len) {
        uint64_t r = next();
        size_t w = 1 + (size_t)(r % 10), j;
        for (j = 0; j < w && k < len; j++) buf[k++] = (char)('a' + (r >> (8 + 5 * j)) % 26);
        col += w + 1;
        if (k < len) buf[k++] = col > 60 ? '\n' : ' ';
        if (col > 60) col = 0;
    }
    if (len) buf[len - 1] = '\n';
    return len;
}

int main(int argc, char** argv) {
    const char* root;
    long n, per, i;
    char path[4096], rel[128], buf[4200];
    FILE *fl, *nj;
    if (argc < 3) {
        fprintf(stderr, "usage: gen_tree ROOT N [PER_DIR]\n");
        return 2;
    }
    root = argv[1];
    n = atol(argv[2]);
    per = argc > 3 ? atol(argv[3]) : 100;
    if (n < 0 || per <= 0) return 2;
    if (mkd(root) || chdir(root) || mkd("src")) { perror(root); return 1; }
    if (!(fl = fopen("files.list", "w")) || !(nj = fopen("build.ninja", "w"))) {
        perror("files.list/build.ninja");
        return 1;
    }
    fprintf(nj, "rule cp\n  command = cp $in $out\n\n");
    for (i = 0; i < n; i++) {
        long d = i / per, g = d / 50;
        size_t len;
        int fd;
        if (i % per == 0) {
            snprintf(path, sizeof path, "src/g%02ld", g);
            if (mkd(path)) return 1;
            snprintf(path, sizeof path, "src/g%02ld/d%05ld", g, d);
            if (mkd(path)) return 1;
        }
        snprintf(rel, sizeof rel, "g%02ld/d%05ld/f%07ld.md", g, d, i);
        len = fill(buf, 1024 + (size_t)(next() % 3073), i);
        snprintf(path, sizeof path, "src/%s", rel);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd)) {
            perror(path);
            return 1;
        }
        fprintf(fl, "src/%s\n", rel);
        fprintf(nj, "build nout/%s: cp src/%s\n", rel, rel);
    }
    if (fclose(fl) || fclose(nj)) { perror("fclose"); return 1; }
    return 0;
}
