/* fuzz/fuzz_split.c -- coco_split_text with its parameters taken from the first bytes.
   Input: flags (language, custom separators, overlap), chunk size, overlap, minimum size,
   [separators], then the text.  Invariants of every successful split:
     - each chunk lies inside the text, its text pointer is text + start.offset and its
       length end.offset - start.offset > 0;
     - start and end positions (code points, lines, columns) equal a recomputation from the
       text, code points walked as the header documents (a lead byte and the continuation
       bytes it announces, any other byte alone);
     - no chunk starts or ends inside a code point; chunks are trimmed of ASCII whitespace;
     - starts and ends strictly increase; without overlap chunks do not overlap; with it a
       chunk starts no earlier than chunk_overlap bytes before the previous chunk's end;
     - every chunk is at most chunk_size bytes, or is a single code point longer than a
       chunk_size below 4;
     - every byte that is not ASCII whitespace lies in some chunk, and only whitespace lies
       outside the chunks; all-whitespace text gives no chunk;
     - the result is deterministic, and invalid parameters give COCO_ERR_INVALID_ARG. */
#ifndef COCOINDEX_IMPLEMENTATION
#define COCOINDEX_IMPLEMENTATION
#endif
#include "../cocoindex.h"
#include "fuzz_common.h"

#define FS_T "fuzz_split"

static int fsp_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static size_t fsp_seqlen(unsigned char b) {
    return b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 1;
}

/* Per byte offset 0..n: 1 when it is a code point boundary of the documented walk.  Also the
   position at each boundary.  `bound` and `pos` have n + 1 entries. */
static void fsp_walk(const unsigned char* t, size_t n, unsigned char* bound, coco_text_pos* pos) {
    size_t i = 0, cp = 0, line = 1, col = 1;
    memset(bound, 0, n + 1);
    while (1) {
        size_t k, want;
        bound[i] = 1;
        pos[i].offset = i;
        pos[i].char_offset = cp;
        pos[i].line = line;
        pos[i].column = col;
        if (i >= n) break;
        want = fsp_seqlen(t[i]);
        for (k = 1; k < want && i + k < n && (t[i + k] & 0xC0) == 0x80; k++) {}
        if (t[i] == '\n') { line++; col = 1; }
        else col++;
        cp++;
        i += k;
    }
}

static int fsp_pos_eq(coco_text_pos a, coco_text_pos b) {
    return a.offset == b.offset && a.char_offset == b.char_offset && a.line == b.line &&
           a.column == b.column;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_in in;
    unsigned flags, lang, nsep = 0, i;
    char sepbuf[8][6];
    const char* seps[8];
    coco_split_desc d;
    fuzz_heap heap;
    coco_allocator a;
    coco_arena *ar = NULL, *ar2 = NULL;
    coco_chunk *ch = NULL, *ch2 = NULL;
    size_t n = 0, n2 = 0, size_eff, ovl, k, len;
    const unsigned char* text;
    unsigned char *bound, *covered;
    coco_text_pos* pos;
    coco_result rc;
    int invalid;
    if (size > 65536) return 0;
    in.p = data;
    in.n = size;
    flags = fuzz_u8(&in);
    memset(&d, 0, sizeof d);
    lang = flags & 15u;
    d.language = (coco_lang)lang;
    d.chunk_size = fuzz_u16(&in) & 0x3ffu;
    size_eff = d.chunk_size ? d.chunk_size : 1000;
    ovl = fuzz_u16(&in) & 0x3ffu;
    if (flags & 0x40) d.chunk_overlap = ovl;                     /* any value: maybe invalid */
    else if (flags & 0x20) d.chunk_overlap = ovl % size_eff;
    d.min_chunk_size = fuzz_u16(&in) & 0x7ffu;
    if (!(flags & 0x40) && d.min_chunk_size > size_eff) d.min_chunk_size %= size_eff + 1;
    if (flags & 0x10) {
        nsep = 1 + fuzz_u8(&in) % 8u;
        for (i = 0; i < nsep; i++) {
            size_t l = 1 + fuzz_u8(&in) % 5u, got, j;
            const uint8_t* s = fuzz_take(&in, l, &got);
            for (j = 0; j < got; j++) sepbuf[i][j] = s[j] ? (char)s[j] : '\n';
            if (!got) sepbuf[i][got++] = ' ';
            sepbuf[i][got] = 0;
            seps[i] = sepbuf[i];
        }
        d.separators = seps;
        d.nseparators = nsep;
    }
    text = in.p;
    len = in.n;
    invalid = d.chunk_overlap >= size_eff ||
              (d.min_chunk_size ? d.min_chunk_size : (size_eff - d.chunk_overlap) / 4) >
                  size_eff ||
              (!nsep && lang > COCO_LANG_JAVA);

    a = fuzz_heap_allocator(&heap, FS_T, (size_t)256 << 20, 0);
    FUZZ_CHECK(FS_T, coco_arena_create(&a, &ar) == COCO_OK);
    rc = coco_split_text(ar, (const char*)text, len, &d, &ch, &n);
    if (invalid) {
        FUZZ_CHECKF(FS_T, rc == COCO_ERR_INVALID_ARG, "invalid parameters accepted (rc %d)",
                    (int)rc);
        FUZZ_CHECK(FS_T, coco_arena_errmsg(ar)[0] != 0);
        coco_arena_destroy(ar);
        FUZZ_CHECK(FS_T, heap.live == 0);
        return 0;
    }
    FUZZ_CHECKF(FS_T, rc == COCO_OK, "split failed: %d (%s)", (int)rc, coco_arena_errmsg(ar));

    bound = (unsigned char*)malloc(len + 1);
    covered = (unsigned char*)calloc(len + 1, 1);
    pos = (coco_text_pos*)malloc((len + 1) * sizeof *pos);
    if (!bound || !covered || !pos) abort();
    fsp_walk(text, len, bound, pos);
    FUZZ_CHECK(FS_T, (n == 0) == (ch == NULL));
    for (k = 0; k < n; k++) {
        const coco_chunk* c = &ch[k];
        size_t s = c->start.offset, e = c->end.offset, j;
        FUZZ_CHECKF(FS_T, s < e && e <= len, "chunk %zu: [%zu, %zu) of %zu bytes", k, s, e, len);
        FUZZ_CHECK(FS_T, c->text == (const char*)text + s);
        FUZZ_CHECK(FS_T, c->len == e - s);
        FUZZ_CHECKF(FS_T, bound[s] && bound[e], "chunk %zu [%zu, %zu) cuts a code point", k, s, e);
        FUZZ_CHECKF(FS_T, fsp_pos_eq(c->start, pos[s]),
                    "chunk %zu start: got cp %zu line %zu col %zu, want %zu %zu %zu", k,
                    c->start.char_offset, c->start.line, c->start.column, pos[s].char_offset,
                    pos[s].line, pos[s].column);
        FUZZ_CHECKF(FS_T, fsp_pos_eq(c->end, pos[e]),
                    "chunk %zu end: got cp %zu line %zu col %zu, want %zu %zu %zu", k,
                    c->end.char_offset, c->end.line, c->end.column, pos[e].char_offset,
                    pos[e].line, pos[e].column);
        FUZZ_CHECKF(FS_T, !fsp_ws(text[s]) && !fsp_ws(text[e - 1]),
                    "chunk %zu [%zu, %zu) is not trimmed", k, s, e);
        if (c->len > size_eff) {
            /* only one code point that does not fit a tiny chunk size */
            size_t j2 = s + 1;
            while (j2 < e && !bound[j2]) j2++;
            FUZZ_CHECKF(FS_T, size_eff < 4 && j2 == e,
                        "chunk %zu has %zu bytes, chunk_size %zu", k, c->len, size_eff);
        }
        if (k) {
            const coco_chunk* p = &ch[k - 1];
            FUZZ_CHECKF(FS_T, s > p->start.offset && e > p->end.offset,
                        "chunk %zu [%zu, %zu) after [%zu, %zu)", k, s, e, p->start.offset,
                        p->end.offset);
            if (!d.chunk_overlap)
                FUZZ_CHECKF(FS_T, s >= p->end.offset, "chunk %zu overlaps without overlap", k);
            else
                FUZZ_CHECKF(FS_T, s + d.chunk_overlap >= p->end.offset,
                            "chunk %zu starts %zu bytes before the previous end (overlap %zu)",
                            k, p->end.offset - s, (size_t)d.chunk_overlap);
        }
        for (j = s; j < e; j++) covered[j] = 1;
    }
    for (k = 0; k < len; k++)
        FUZZ_CHECKF(FS_T, covered[k] || fsp_ws(text[k]),
                    "byte %zu (0x%02x) is in no chunk", k, text[k]);

    /* the same call again: the same chunks */
    FUZZ_CHECK(FS_T, coco_arena_create(&a, &ar2) == COCO_OK);
    FUZZ_CHECK(FS_T, coco_split_text(ar2, (const char*)text, len, &d, &ch2, &n2) == COCO_OK);
    FUZZ_CHECK(FS_T, n2 == n);
    for (k = 0; k < n; k++)
        FUZZ_CHECK(FS_T, ch2[k].text == ch[k].text && ch2[k].len == ch[k].len &&
                             fsp_pos_eq(ch2[k].start, ch[k].start) &&
                             fsp_pos_eq(ch2[k].end, ch[k].end));
    coco_arena_destroy(ar2);
    coco_arena_destroy(ar);
    FUZZ_CHECKF(FS_T, heap.live == 0, "%zu bytes not released", heap.live);
    free(bound);
    free(covered);
    free(pos);
    return 0;
}
