/* fuzz/fuzz_glob.c -- the localfs glob compiler and matcher (connectors/cocoindex_localfs.h).
   Input: lines.  "i<pattern>" include, "e<pattern>" exclude, "p<path>" a path to match; a
   line with another first byte is an include pattern as a whole.  Invariants:
     - coco_glob_compile succeeds or fails with COCO_ERR_INVALID_ARG and a message; every
       block is released with the size it was allocated with;
     - the quick shapes (any-depth suffix, root suffix, everything) answer exactly as the
       automaton, for files and for directories;
     - a selected clean path (relative, no empty segment) has every ancestor directory
       reported by coco_glob_dir_may_match (else a walk would never reach it);
     - a pattern that is a path with every byte escaped (and, when the path has no
       metacharacter, the path itself) matches that path and nothing else, and as an exclude
       pattern removes exactly that path and what lies under it;
     - "{A,B}" selects exactly what the include list [A, B] selects (A and B free of braces,
       commas and a trailing '/'). */
#ifndef COCOINDEX_IMPLEMENTATION
#define COCOINDEX_IMPLEMENTATION
#endif
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#include "fuzz_common.h"

#define FG_T "fuzz_glob"
#define FG_MAXL 64

typedef struct fg_lines {
    char*  inc[FG_MAXL];
    char*  exc[FG_MAXL];
    char*  path[FG_MAXL];
    size_t ninc, nexc, npath;
} fg_lines;

static char* fg_dup(const uint8_t* p, size_t n) {
    char* s = (char*)malloc(n + 1);
    if (!s) abort();
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static void fg_split(const uint8_t* data, size_t size, fg_lines* L) {
    size_t i = 0;
    memset(L, 0, sizeof *L);
    while (i <= size) {
        size_t e = i;
        while (e < size && data[e] != '\n') e++;
        if (e > i || e < size) {
            const uint8_t* s = data + i;
            size_t n = e - i;
            if (n && s[0] == 'p') { if (L->npath < FG_MAXL) L->path[L->npath++] = fg_dup(s + 1, n - 1); }
            else if (n && s[0] == 'e') { if (L->nexc < FG_MAXL) L->exc[L->nexc++] = fg_dup(s + 1, n - 1); }
            else if (n && s[0] == 'i') { if (L->ninc < FG_MAXL) L->inc[L->ninc++] = fg_dup(s + 1, n - 1); }
            else if (L->ninc < FG_MAXL) L->inc[L->ninc++] = fg_dup(s, n);
        }
        i = e + 1;
    }
}

static void fg_free_lines(fg_lines* L) {
    size_t i;
    for (i = 0; i < L->ninc; i++) free(L->inc[i]);
    for (i = 0; i < L->nexc; i++) free(L->exc[i]);
    for (i = 0; i < L->npath; i++) free(L->path[i]);
}

static coco_glob* fg_compile(fuzz_heap* heap, const char* const* inc, size_t ninc,
                             const char* const* exc, size_t nexc, coco_result* rc_out) {
    coco_glob_desc d;
    coco_glob* g = NULL;
    char err[256];
    coco_result rc;
    memset(&d, 0, sizeof d);
    d.include = inc;
    d.ninclude = ninc;
    d.exclude = exc;
    d.nexclude = nexc;
    d.allocator.alloc = fuzz_heap_alloc;
    d.allocator.realloc = fuzz_heap_realloc;
    d.allocator.free = fuzz_heap_free;
    d.allocator.user = heap;
    err[0] = 'x';
    rc = coco_glob_compile(&d, &g, err, sizeof err);
    if (rc_out) *rc_out = rc;
    if (rc != COCO_OK) {
        FUZZ_CHECKF(FG_T, rc == COCO_ERR_INVALID_ARG, "compile returned %d", (int)rc);
        FUZZ_CHECK(FG_T, err[0] != 0 && err[0] != 'x' && memchr(err, 0, sizeof err));
        return NULL;
    }
    FUZZ_CHECK(FG_T, g != NULL);
    return g;
}

/* relative, no empty segment, no trailing '/' */
static int fg_clean(const char* p) {
    size_t n = strlen(p), i;
    if (!n || p[0] == '/' || p[n - 1] == '/') return 0;
    for (i = 1; i < n; i++)
        if (p[i] == '/' && p[i - 1] == '/') return 0;
    return 1;
}

static int fg_has_meta(const char* p) {
    return strpbrk(p, "*?[]{}\\") != NULL || p[0] == '!' ||
           (p[0] && p[strlen(p) - 1] == '/');
}

/* length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or values
   past U+10FFFF), 0 when none starts there */
static size_t fg_u8len(const unsigned char* s, size_t n) {
    unsigned c = s[0];
    size_t need, k;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; lo = c == 0xE0 ? 0xA0 : 0x80; hi = c == 0xED ? 0x9F : 0xBF; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; lo = c == 0xF0 ? 0x90 : 0x80; hi = c == 0xF4 ? 0x8F : 0xBF; }
    else return 0;
    if (n <= need) return 0;
    for (k = 1; k <= need; k++)
        if (k == 1 ? (s[k] < lo || s[k] > hi) : (s[k] < 0x80 || s[k] > 0xBF)) return 0;
    return need + 1;
}

/* every character escaped: a backslash before each UTF-8 sequence (or stray byte) */
static char* fg_escape(const char* p) {
    const unsigned char* u = (const unsigned char*)p;
    size_t n = strlen(p), i = 0, o = 0;
    char* s = (char*)malloc(2 * n + 1);
    if (!s) abort();
    while (i < n) {
        size_t k = fg_u8len(u + i, n - i);
        if (!k) k = 1;
        s[o++] = '\\';
        memcpy(s + o, p + i, k);
        o += k;
        i += k;
    }
    s[o] = 0;
    return s;
}

/* q is p or lies under p */
static int fg_under(const char* q, const char* p) {
    size_t n = strlen(p);
    return strncmp(q, p, n) == 0 && (q[n] == 0 || q[n] == '/');
}

/* the quick shapes against the automaton, for one path */
static void fg_check_quick(coco_glob* g, const char* path) {
    coco__lfs_gsim sm;
    size_t i, n = strlen(path);
    if (coco__lfs_gsim_init(&sm, g)) return;
    for (i = 0; i < g->ninc + g->nexc; i++) {
        const coco__lfs_gpat* pt = &g->pats[i];
        int q, slow, alive = 0, univ = 0;
        if (pt->quick == COCO__LFS_GQ_NONE) continue;
        q = coco__lfs_gquick(pt, path, n);
        slow = coco__lfs_grun(g, pt, path, n, 0, 0, NULL, NULL, &sm) >= 0;
        FUZZ_CHECKF(FG_T, q == slow, "quick shape %d says %d, automaton %d, path '%s'",
                    pt->quick, q, slow, path);
        if (n) {
            coco__lfs_grun(g, pt, path, n, 0, 1, &alive, &univ, &sm);
            FUZZ_CHECKF(FG_T, (pt->quick != COCO__LFS_GQ_ROOT) == (alive != 0),
                        "quick shape %d: below dir '%s' the automaton says alive=%d",
                        pt->quick, path, alive);
        }
    }
    coco__lfs_gsim_free(&sm);
}

static void fg_check_ancestors(coco_glob* g, const char* path) {
    size_t n = strlen(path), i;
    char* dir;
    if (!fg_clean(path) || !coco_glob_match(g, path)) return;
    dir = fg_dup((const uint8_t*)path, n);
    for (i = 1; i < n; i++) {
        if (path[i] != '/') continue;
        dir[i] = 0;
        FUZZ_CHECKF(FG_T, coco_glob_dir_may_match(g, dir) == 1,
                    "'%s' is selected but its directory '%s' would not be entered", path, dir);
        dir[i] = '/';
    }
    free(dir);
}

/* literal and escaped patterns for `p`, tried against every path of the input and some of
   p's neighbours */
static void fg_check_literal(fuzz_heap* heap, const char* p, const fg_lines* L) {
    char* forms[2];
    size_t nf = 0, f, j, k, n = strlen(p);
    char* near[4];
    if (2 * n > COCO_GLOB_MAX_PATTERN) return;
    forms[nf++] = fg_escape(p);
    if (!fg_has_meta(p)) forms[nf++] = fg_dup((const uint8_t*)p, n);
    near[0] = (char*)malloc(n + 2);                               /* p + "x" */
    if (!near[0]) abort();
    memcpy(near[0], p, n);
    near[0][n] = 'x';
    near[0][n + 1] = 0;
    near[1] = fg_dup((const uint8_t*)p, n ? n - 1 : 0);           /* p minus its last byte */
    near[2] = (char*)malloc(n + 3);                               /* p + "/y" */
    if (!near[2]) abort();
    memcpy(near[2], p, n);
    memcpy(near[2] + n, "/y", 3);
    near[3] = (char*)malloc(n + 3);                               /* "y/" + p */
    if (!near[3]) abort();
    memcpy(near[3], "y/", 2);
    memcpy(near[3] + 2, p, n + 1);
    for (f = 0; f < nf; f++) {
        const char* pat = forms[f];
        coco_result rc;
        coco_glob* gi = fg_compile(heap, &pat, 1, NULL, 0, &rc);
        coco_glob* ge = fg_compile(heap, NULL, 0, &pat, 1, NULL);
        FUZZ_CHECKF(FG_T, gi && ge, "literal pattern for '%s' does not compile (%d)", p, (int)rc);
        FUZZ_CHECKF(FG_T, coco_glob_match(gi, p) == 1, "pattern '%s' does not match '%s'", pat, p);
        FUZZ_CHECKF(FG_T, coco_glob_match(ge, p) == 0, "exclude '%s' keeps '%s'", pat, p);
        for (k = 0; k < 4 + L->npath; k++) {
            const char* q = k < 4 ? near[k] : L->path[k - 4];
            int want_i = strcmp(q, p) == 0;
            int want_e = !(fg_clean(p) && fg_under(q, p)) && !want_i;
            FUZZ_CHECKF(FG_T, coco_glob_match(gi, q) == want_i,
                        "pattern '%s' (for '%s') on '%s': %d", pat, p, q, !want_i);
            if (fg_clean(p) && fg_clean(q))
                FUZZ_CHECKF(FG_T, coco_glob_match(ge, q) == want_e,
                            "exclude '%s' (for '%s') on '%s': %d", pat, p, q, !want_e);
        }
        if (fg_clean(p)) {
            /* the excluded directory itself is not entered; its parent is */
            FUZZ_CHECK(FG_T, coco_glob_dir_may_match(ge, p) == 0);
            for (j = n; j > 0; j--)
                if (p[j - 1] == '/') break;
            if (j > 1) {
                char* parent = fg_dup((const uint8_t*)p, j - 1);
                FUZZ_CHECK(FG_T, coco_glob_dir_may_match(ge, parent) == 1);
                free(parent);
            }
        }
        coco_glob_destroy(gi);
        coco_glob_destroy(ge);
        free(forms[f]);
    }
    for (k = 0; k < 4; k++) free(near[k]);
}

static int fg_brace_safe(const char* s) {
    size_t n = strlen(s);
    return !strpbrk(s, ",{}") && !(n && s[n - 1] == '/') && !(n && s[n - 1] == '\\');
}

static void fg_check_braces(fuzz_heap* heap, const fg_lines* L) {
    const char *a, *b, *list[2];
    char* both;
    size_t na, nb, k;
    coco_glob *g1, *g2;
    if (L->ninc < 2) return;
    a = L->inc[0];
    b = L->inc[1];
    if (!fg_brace_safe(a) || !fg_brace_safe(b)) return;
    list[0] = a;
    list[1] = b;
    if (!(g1 = fg_compile(heap, list, 2, NULL, 0, NULL))) return;
    na = strlen(a);
    nb = strlen(b);
    both = (char*)malloc(na + nb + 4);
    if (!both) abort();
    both[0] = '{';
    memcpy(both + 1, a, na);
    both[1 + na] = ',';
    memcpy(both + 2 + na, b, nb);
    both[2 + na + nb] = '}';
    both[3 + na + nb] = 0;
    g2 = fg_compile(heap, (const char* const*)&both, 1, NULL, 0, NULL);
    FUZZ_CHECKF(FG_T, g2 != NULL, "'%s' does not compile but its parts do", both);
    for (k = 0; k < L->npath; k++)
        FUZZ_CHECKF(FG_T, coco_glob_match(g1, L->path[k]) == coco_glob_match(g2, L->path[k]),
                    "'%s' and ['%s', '%s'] disagree on '%s'", both, a, b, L->path[k]);
    coco_glob_destroy(g1);
    coco_glob_destroy(g2);
    free(both);
}

/* 1 when the pattern ends with a '/' that no backslash escapes */
static int fg_ends_dir(const char* s) {
    size_t n = strlen(s), i = 0;
    int last_plain_slash = 0;
    while (i < n) {
        if (s[i] == '\\' && i + 1 < n) {
            size_t k = fg_u8len((const unsigned char*)s + i + 1, n - i - 1);
            i += 1 + (k ? k : 1);
            last_plain_slash = 0;
        } else {
            last_plain_slash = s[i] == '/' && i + 1 == n;
            i += 1;
        }
    }
    return last_plain_slash;
}

/* "dir/" selects what "dir/" followed by two stars selects */
static void fg_check_dir_suffix(fuzz_heap* heap, const fg_lines* L) {
    size_t i, k, n;
    for (i = 0; i < L->ninc && i < 4; i++) {
        const char* a = L->inc[i];
        char* b;
        coco_glob *g1, *g2;
        if (!fg_ends_dir(a) || (n = strlen(a)) + 2 > COCO_GLOB_MAX_PATTERN) continue;
        if (!(g1 = fg_compile(heap, &a, 1, NULL, 0, NULL))) continue;
        b = (char*)malloc(n + 3);
        if (!b) abort();
        memcpy(b, a, n);
        memcpy(b + n, "**", 3);
        g2 = fg_compile(heap, (const char* const*)&b, 1, NULL, 0, NULL);
        FUZZ_CHECKF(FG_T, g2 != NULL, "'%s' compiles, '%s' does not", a, b);
        for (k = 0; k < L->npath; k++)
            FUZZ_CHECKF(FG_T, coco_glob_match(g1, L->path[k]) == coco_glob_match(g2, L->path[k]),
                        "'%s' and '%s' disagree on '%s'", a, b, L->path[k]);
        coco_glob_destroy(g1);
        coco_glob_destroy(g2);
        free(b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_heap heap;
    fg_lines L;
    coco_glob* g;
    size_t k;
    if (size > 16384) return 0;
    fuzz_heap_allocator(&heap, FG_T, (size_t)256 << 20, 0);
    fg_split(data, size, &L);
    g = fg_compile(&heap, (const char* const*)L.inc, L.ninc, (const char* const*)L.exc, L.nexc,
                   NULL);
    if (g) {
        for (k = 0; k < L.npath; k++) {
            int m = coco_glob_match(g, L.path[k]);
            FUZZ_CHECK(FG_T, m == 0 || m == 1);
            FUZZ_CHECK(FG_T, coco_glob_match(g, L.path[k]) == m);
            (void)coco_glob_dir_may_match(g, L.path[k]);
            fg_check_quick(g, L.path[k]);
            fg_check_ancestors(g, L.path[k]);
        }
        FUZZ_CHECK(FG_T, coco_glob_dir_may_match(g, "") == 1);
        coco_glob_destroy(g);
    }
    for (k = 0; k < L.npath && k < 4; k++) fg_check_literal(&heap, L.path[k], &L);
    fg_check_braces(&heap, &L);
    fg_check_dir_suffix(&heap, &L);
    FUZZ_CHECKF(FG_T, heap.live == 0, "%zu bytes not released", heap.live);
    fg_free_lines(&L);
    return 0;
}
