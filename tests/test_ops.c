/* tests/test_ops.c -- text splitter, hashing embedder, cosine / L2 (>>api_ops). */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "coco_test.h"

static coco_arena* A;

/* ---- helpers --------------------------------------------------------------------------------- */

static coco_split_desc sdesc(size_t size, size_t overlap, coco_lang lang) {
    coco_split_desc d;
    memset(&d, 0, sizeof d);
    d.chunk_size = size;
    d.chunk_overlap = overlap;
    d.language = lang;
    return d;
}

/* Splits NUL-terminated text; returns the chunk count (or (size_t)-1 on failure). */
static size_t split(const char* text, const coco_split_desc* d, coco_chunk** out) {
    size_t n = 0;
    coco_result rc = coco_split_text(A, text, strlen(text), d, out, &n);
    if (rc != COCO_OK) {
        printf("#     split failed: %s (%s)\n", coco_result_str(rc), coco_arena_errmsg(A));
        return (size_t)-1;
    }
    return n;
}

static int chunk_is(const coco_chunk* c, const char* s) {
    return c->len == strlen(s) && memcmp(c->text, s, c->len) == 0;
}
#define CHECK_CHUNK(c, s) \
    do { if (!chunk_is((c), (s))) { coco_test__fail(__FILE__, __LINE__, #c " is " #s); \
             printf("#     got  \"%.*s\"\n#     want \"%s\"\n", (int)(c)->len, (c)->text, (s)); \
         } } while (0)

static void dump(const coco_chunk* ch, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        printf("#     [%zu] %zu..%zu \"%.*s\"\n", i, ch[i].start.offset, ch[i].end.offset,
               (int)ch[i].len, ch[i].text);
}

static int is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

static double dabs(double x) { return x < 0 ? -x : x; }

/* bm[i] = 1 where a code point starts (and at len): a lead byte takes the continuation bytes
   that follow it, up to the length it announces; any other byte stands alone.  Walked from
   the start, independently of the library's backward check. */
static unsigned char* cp_starts(const char* s, size_t len) {
    const unsigned char* t = (const unsigned char*)s;
    unsigned char* bm = (unsigned char*)calloc(len + 1, 1);
    size_t i = 0;
    while (i < len) {
        size_t want = t[i] >= 0xC2 && t[i] <= 0xDF ? 2 : t[i] >= 0xE0 && t[i] <= 0xEF ? 3 :
                      t[i] >= 0xF0 && t[i] <= 0xF4 ? 4 : 1, k = 1;
        bm[i] = 1;
        while (k < want && i + k < len && is_cont(t[i + k])) k++;
        i += k;
    }
    bm[len] = 1;
    return bm;
}

/* The position of byte offset `off`, computed the slow, obvious way. */
static coco_text_pos ref_pos(const char* t, const unsigned char* bm, size_t off) {
    coco_text_pos p;
    size_t i;
    p.offset = off; p.char_offset = 0; p.line = 1; p.column = 1;
    for (i = 0; i < off; i++) {
        if (!bm[i]) continue;
        p.char_offset++;
        if (t[i] == '\n') { p.line++; p.column = 1; }
        else p.column++;
    }
    return p;
}
static int pos_eq(coco_text_pos a, coco_text_pos b) {
    return a.offset == b.offset && a.char_offset == b.char_offset && a.line == b.line &&
           a.column == b.column;
}

/* Properties every split must have; returns the number of violations. */
static int check_split_props(const char* t, size_t len, const coco_split_desc* d,
                             const coco_chunk* ch, size_t n) {
    size_t i, k, size = d->chunk_size ? d->chunk_size : 1000;
    int bad = 0;
    unsigned char* covered = (unsigned char*)calloc(len + 1, 1);
    unsigned char* bm = cp_starts(t, len);
    for (i = 0; i < n; i++) {
        size_t s = ch[i].start.offset, e = ch[i].end.offset;
        if (ch[i].text != t + s || ch[i].len != e - s || e > len || s >= e) { bad++; continue; }
        if (is_ws((unsigned char)t[s]) || is_ws((unsigned char)t[e - 1])) bad++;
        if (!bm[s] || !bm[e]) bad++;                     /* never inside a code point */
        if (ch[i].len > size) {
            /* only a single code point longer than chunk_size */
            size_t cps = 0;
            for (k = s; k < e; k++) cps += bm[k];
            if (cps != 1) bad++;
        }
        if (!pos_eq(ch[i].start, ref_pos(t, bm, s)) || !pos_eq(ch[i].end, ref_pos(t, bm, e)))
            bad++;
        if (i > 0) {
            if (s <= ch[i - 1].start.offset || e <= ch[i - 1].end.offset) bad++;
            if (d->chunk_overlap == 0 && s < ch[i - 1].end.offset) bad++;
            if (s < ch[i - 1].end.offset && ch[i - 1].end.offset - s > d->chunk_overlap) bad++;
            /* only whitespace between the end of the previous chunk and this one */
            for (k = ch[i - 1].end.offset; k < s; k++) if (!is_ws((unsigned char)t[k])) bad++;
        }
        for (k = s; k < e; k++) covered[k] = 1;
    }
    for (k = 0; k < len; k++) if (!covered[k] && !is_ws((unsigned char)t[k])) { bad++; break; }
    free(covered);
    free(bm);
    return bad;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

/* ---- splitter: exact positions --------------------------------------------------------------- */

static void split_sentences_exact_positions(void) {
    coco_split_desc d = sdesc(20, 0, COCO_LANG_TEXT);
    coco_chunk* ch;
    size_t n = split("Hello world. This is a test! Is it? Yes, it is; done.", &d, &ch);
    REQUIRE(n == 4);
    CHECK_CHUNK(&ch[0], "Hello world.");
    CHECK_CHUNK(&ch[1], "This is a test!");
    CHECK_CHUNK(&ch[2], "Is it?");
    CHECK_CHUNK(&ch[3], "Yes, it is; done.");
    CHECK_INT_EQ(ch[1].start.offset, 13);
    CHECK_INT_EQ(ch[1].end.offset, 28);
    CHECK_INT_EQ(ch[1].start.char_offset, 13);
    CHECK_INT_EQ(ch[1].start.line, 1);
    CHECK_INT_EQ(ch[1].start.column, 14);
    CHECK_INT_EQ(ch[1].end.column, 29);
    CHECK_INT_EQ(ch[3].end.offset, 53);
}

static void split_utf8_and_crlf_positions(void) {
    /* "h\u00e9llo w\u00f6rld\r\nsecond \u20ac line\r\nthird" */
    const char* t = "h\xc3\xa9llo w\xc3\xb6rld\r\nsecond \xe2\x82\xac line\r\nthird";
    coco_split_desc d = sdesc(15, 0, COCO_LANG_TEXT);
    coco_chunk* ch;
    size_t n = split(t, &d, &ch);
    REQUIRE(n == 3);
    CHECK_CHUNK(&ch[0], "h\xc3\xa9llo w\xc3\xb6rld");
    CHECK_INT_EQ(ch[0].start.offset, 0);       CHECK_INT_EQ(ch[0].end.offset, 13);
    CHECK_INT_EQ(ch[0].start.char_offset, 0);  CHECK_INT_EQ(ch[0].end.char_offset, 11);
    CHECK_INT_EQ(ch[0].start.line, 1);         CHECK_INT_EQ(ch[0].start.column, 1);
    CHECK_INT_EQ(ch[0].end.line, 1);           CHECK_INT_EQ(ch[0].end.column, 12);
    CHECK_CHUNK(&ch[1], "second \xe2\x82\xac line");
    CHECK_INT_EQ(ch[1].start.offset, 15);      CHECK_INT_EQ(ch[1].end.offset, 30);
    CHECK_INT_EQ(ch[1].start.char_offset, 13); CHECK_INT_EQ(ch[1].end.char_offset, 26);
    CHECK_INT_EQ(ch[1].start.line, 2);         CHECK_INT_EQ(ch[1].start.column, 1);
    CHECK_INT_EQ(ch[1].end.line, 2);           CHECK_INT_EQ(ch[1].end.column, 14);
    CHECK_CHUNK(&ch[2], "third");
    CHECK_INT_EQ(ch[2].start.offset, 32);      CHECK_INT_EQ(ch[2].end.offset, 37);
    CHECK_INT_EQ(ch[2].start.char_offset, 28); CHECK_INT_EQ(ch[2].end.char_offset, 33);
    CHECK_INT_EQ(ch[2].start.line, 3);         CHECK_INT_EQ(ch[2].start.column, 1);
    CHECK_INT_EQ(ch[2].end.line, 3);           CHECK_INT_EQ(ch[2].end.column, 6);
}

static void split_crlf_blank_lines_are_paragraphs(void) {
    /* the same paragraphs with \n, \r\n and blank lines holding spaces split the same way */
    const char* lf   = "alpha beta gamma\n\ndelta epsilon\nzeta eta\n\ntheta iota kappa";
    const char* crlf =
        "alpha beta gamma\r\n\r\ndelta epsilon\r\nzeta eta\r\n  \r\ntheta iota kappa";
    coco_split_desc d = sdesc(24, 0, COCO_LANG_TEXT);
    coco_chunk *a, *b;
    size_t na = split(lf, &d, &a), nb = split(crlf, &d, &b), i;
    REQUIRE(na == 3);
    REQUIRE(nb == na);
    CHECK_CHUNK(&a[0], "alpha beta gamma");
    CHECK_CHUNK(&a[1], "delta epsilon\nzeta eta");
    CHECK_CHUNK(&a[2], "theta iota kappa");
    CHECK_CHUNK(&b[1], "delta epsilon\r\nzeta eta");
    for (i = 0; i < nb; i++) CHECK_INT_EQ(b[i].start.line, a[i].start.line);
    CHECK_INT_EQ(b[2].start.line, 6);
    CHECK_INT_EQ(b[1].end.line, 4);
    CHECK_INT_EQ(b[1].end.column, 9);
}

static void split_long_word_is_cut_at_code_points(void) {
    coco_split_desc d = sdesc(8, 0, COCO_LANG_TEXT);
    coco_chunk* ch;
    size_t n = split("aaaaaaaaaaaaaaaaaaaa bb", &d, &ch);
    REQUIRE(n == 3);
    CHECK_CHUNK(&ch[0], "aaaaaaaa");
    CHECK_CHUNK(&ch[1], "aaaaaaaa");
    CHECK_CHUNK(&ch[2], "aaaa bb");
    /* 3-byte code points, 8-byte chunks: 2 code points (6 bytes) each, never a partial one */
    n = split("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", &d, &ch);
    REQUIRE(n == 3);
    CHECK_INT_EQ(ch[0].len, 6);
    CHECK_INT_EQ(ch[1].len, 6);
    CHECK_INT_EQ(ch[2].len, 3);
    CHECK_INT_EQ(ch[1].start.char_offset, 2);
    CHECK_INT_EQ(ch[2].start.column, 5);
}

static void split_chunk_size_below_a_code_point(void) {
    /* documented exception: a chunk holds one whole code point even when it is longer */
    coco_split_desc d = sdesc(2, 0, COCO_LANG_TEXT);
    coco_chunk* ch;
    size_t n = split("\xe2\x82\xac\xf0\x9f\x98\x80 x", &d, &ch);
    REQUIRE(n == 3);
    CHECK_CHUNK(&ch[0], "\xe2\x82\xac");
    CHECK_CHUNK(&ch[1], "\xf0\x9f\x98\x80");
    CHECK_CHUNK(&ch[2], "x");
    CHECK_INT_EQ(ch[2].start.char_offset, 3);
}

static void split_empty_and_whitespace_only(void) {
    coco_chunk* ch = (coco_chunk*)&ch;
    size_t n = 99;
    CHECK_INT_EQ(coco_split_text(A, NULL, 0, NULL, &ch, &n), COCO_OK);
    CHECK_INT_EQ(n, 0);
    CHECK(ch == NULL);
    n = 99;
    CHECK_INT_EQ(coco_split_text(A, " \r\n\t \n\n ", 8, NULL, &ch, &n), COCO_OK);
    CHECK_INT_EQ(n, 0);
    /* the largest chunk_size takes everything in one chunk */
    {
        coco_split_desc d = sdesc((size_t)-1, 0, COCO_LANG_TEXT);
        CHECK_INT_EQ(coco_split_text(A, "a b\n\nc", 6, &d, &ch, &n), COCO_OK);
        CHECK_INT_EQ(n, 1);
        d.chunk_overlap = (size_t)-2;
        CHECK_INT_EQ(coco_split_text(A, "a b\n\nc", 6, &d, &ch, &n), COCO_OK);
        CHECK_INT_EQ(n, 1);
    }
    /* one word, default desc */
    CHECK_INT_EQ(coco_split_text(A, "  word \n", 8, NULL, &ch, &n), COCO_OK);
    REQUIRE(n == 1);
    CHECK_CHUNK(&ch[0], "word");
    CHECK_INT_EQ(ch[0].start.column, 3);
}

static void split_bad_desc_is_a_clear_error(void) {
    coco_chunk* ch = (coco_chunk*)&ch;
    coco_chunk* const sentinel = ch;
    size_t n = 77;
    coco_split_desc d = sdesc(100, 100, COCO_LANG_TEXT);
    const char* seps[2] = {"\n", ""};
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ch, &n), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "chunk_overlap (100) must be smaller than "
                                             "chunk_size (100)");
    CHECK(ch == sentinel);
    CHECK_INT_EQ(n, 77);
    d = sdesc(0, 1000, COCO_LANG_TEXT);                  /* default chunk_size is 1000 */
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ch, &n), COCO_ERR_INVALID_ARG);
    d = sdesc(0, 999, COCO_LANG_TEXT);
    {
        coco_chunk* ok_ch;
        size_t ok_n;
        CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ok_ch, &ok_n), COCO_OK);
        CHECK_INT_EQ(ok_n, 1);
    }
    d = sdesc(10, 0, COCO_LANG_TEXT);
    d.min_chunk_size = 11;
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ch, &n), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "min_chunk_size");
    d = sdesc(10, 0, (coco_lang)99);
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ch, &n), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "language");
    d = sdesc(10, 0, COCO_LANG_TEXT);
    d.separators = seps;
    d.nseparators = 2;
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ch, &n), COCO_ERR_INVALID_ARG);
    CHECK_STR_CONTAINS(coco_arena_errmsg(A), "separator 1");
    d.nseparators = 0;
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ch, &n), COCO_ERR_INVALID_ARG);
    d.separators = NULL;
    d.nseparators = 1;
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, &d, &ch, &n), COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(coco_split_text(A, NULL, 3, NULL, &ch, &n), COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(coco_split_text(NULL, "abc", 3, NULL, &ch, &n), COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, NULL, NULL, &n), COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(coco_split_text(A, "abc", 3, NULL, &ch, NULL), COCO_ERR_INVALID_ARG);
    CHECK(ch == sentinel);
    CHECK_INT_EQ(n, 77);
}

/* ---- splitter: structure --------------------------------------------------------------------- */

static void split_chunks_cover_text_in_order(void) {
    const char* t =
        "Incremental pipelines recompute only what changed. The engine fingerprints every "
        "input, compares it with the state of the last run, and applies the difference.\n\n"
        "Chunks feed embeddings. An embedding maps text to a vector; similar texts map to "
        "nearby vectors, so a query can find related passages quickly.\n"
        "Lines inside a paragraph break here.\n\nLast paragraph, short.";
    size_t sizes[] = {1, 5, 17, 40, 64, 100, 150, 400, 1000};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        coco_split_desc d = sdesc(sizes[i], 0, COCO_LANG_TEXT);
        coco_chunk* ch;
        size_t n = split(t, &d, &ch);
        REQUIRE(n != (size_t)-1);
        CHECK_INT_EQ(check_split_props(t, strlen(t), &d, ch, n), 0);
        if (sizes[i] >= 100) {
            /* paragraphs that fit are never cut */
            size_t k;
            for (k = 0; k < n; k++)
                if (ch[k].start.offset == 0) CHECK(ch[k].text[ch[k].len - 1] == '.');
        }
    }
}

static void split_overlap_repeats_the_previous_end(void) {
    const char* t = "one two three four five six seven eight nine ten eleven twelve";
    coco_split_desc d = sdesc(20, 8, COCO_LANG_TEXT);
    coco_chunk* ch;
    size_t n = split(t, &d, &ch), i, with = 0;
    REQUIRE(n == 6);
    CHECK_CHUNK(&ch[0], "one two three four");
    CHECK_CHUNK(&ch[1], "four five six");
    CHECK_CHUNK(&ch[2], "five six seven eight");
    CHECK_CHUNK(&ch[5], "eleven twelve");
    CHECK_INT_EQ(check_split_props(t, strlen(t), &d, ch, n), 0);
    for (i = 1; i < n; i++) {
        if (ch[i].start.offset < ch[i - 1].end.offset) with++;
        CHECK(ch[i].end.offset - ch[i - 1].end.offset <= 20 - 8 + 1);   /* new text budget */
        /* the overlap starts at a word */
        CHECK(ch[i].start.offset == 0 || ch[i].text[-1] == ' ');
    }
    CHECK_INT_EQ(with, n - 1);
    /* no separator in the window: no overlap (and the rest fits in chunk_size whole) */
    n = split("abcdefghijklmnopqrstuvwxyz0123456789", &d, &ch);
    if (n != 2) dump(ch, n);
    REQUIRE(n == 2);
    CHECK_CHUNK(&ch[1], "uvwxyz0123456789");
    /* overlap near chunk_size: words are still not cut */
    d = sdesc(12, 11, COCO_LANG_TEXT);
    t = "alpha beta gamma delta epsilon";
    n = split(t, &d, &ch);
    CHECK_INT_EQ(check_split_props(t, strlen(t), &d, ch, n), 0);
    for (i = 0; i < n; i++) {
        CHECK(ch[i].start.offset == 0 || ch[i].text[-1] == ' ');
        CHECK(ch[i].end.offset == 30 || ch[i].text[ch[i].len] == ' ');
    }
}

static void split_markdown_prefers_headings(void) {
    static char doc[4096];
    const char* secs[] = {
        "# Alpha\n\nAlpha is the first section. It introduces the topic in a few short "
        "sentences so that it is about one hundred and fifty bytes long.\n\n",
        "## Beta\n\nBeta follows. It is a little shorter than alpha but still a real "
        "paragraph of text.\n\n",
        "## Gamma\n\nGamma is longer. It has two paragraphs of text.\n\nThis is the second "
        "paragraph of gamma, written to reach a length of about two hundred and fifty "
        "bytes in total for the section.\n\n",
        "### Delta\n\nDelta is tiny.\n\n",
        "## Epsilon\n\nEpsilon is too big for one chunk. Its first paragraph talks about "
        "one thing for a while, long enough to matter, and then goes on a bit.\n\n"
        "Its second paragraph talks about another thing, also for a while, long enough to "
        "matter, and then it goes on for a bit as well.\n\nIts third paragraph closes the "
        "section with a few more words than needed here. It rambles. It goes on and on "
        "until it is long enough.\n",
        "# Zeta\n\nThe end.\n",
    };
    size_t i, k, n;
    coco_split_desc d = sdesc(300, 0, COCO_LANG_MARKDOWN);
    coco_chunk* ch;
    doc[0] = 0;
    for (i = 0; i < sizeof secs / sizeof secs[0]; i++) strcat(doc, secs[i]);
    n = split(doc, &d, &ch);
    REQUIRE(n != (size_t)-1);
    CHECK_INT_EQ(check_split_props(doc, strlen(doc), &d, ch, n), 0);
    /* a chunk that holds a heading after its start holds whole sections: it starts with one */
    for (k = 0; k < n; k++) {
        int inner = 0;
        for (i = 1; i < ch[k].len; i++)
            if (ch[k].text[i - 1] == '\n' && ch[k].text[i] == '#') inner = 1;
        if (inner && ch[k].text[0] != '#') CHECK(!"chunk crosses into a section");
    }
    if (n != 5) dump(ch, n);
    REQUIRE(n == 5);
    CHECK(memcmp(ch[0].text, "# Alpha", 7) == 0);                   /* alpha + beta   */
    CHECK(memcmp(ch[0].text + ch[0].len - 5, "text.", 5) == 0);
    CHECK(memcmp(ch[1].text, "## Gamma", 8) == 0);                  /* gamma + delta  */
    CHECK(memcmp(ch[1].text + ch[1].len - 5, "tiny.", 5) == 0);
    CHECK(memcmp(ch[2].text, "## Epsilon", 10) == 0);               /* too big: split */
    CHECK(memcmp(ch[2].text + ch[2].len - 8, "as well.", 8) == 0);  /* at a paragraph */
    CHECK(memcmp(ch[3].text, "Its third", 9) == 0);
    CHECK(memcmp(ch[4].text, "# Zeta", 6) == 0);                    /* not merged in  */
}

static void split_markdown_code_fence_is_not_a_heading(void) {
    const char* doc =
        "# Build\n\nRun these commands in a shell to build the project from source.\n\n"
        "```sh\n# step one\n./configure\n# step two\nmake && make install\n```\n\n"
        "Then check that the binary runs and prints its version number.\n";
    coco_split_desc d = sdesc(110, 0, COCO_LANG_MARKDOWN);
    coco_chunk* ch;
    size_t n = split(doc, &d, &ch), k;
    REQUIRE(n != (size_t)-1);
    CHECK_INT_EQ(check_split_props(doc, strlen(doc), &d, ch, n), 0);
    for (k = 0; k < n; k++) {
        CHECK(memcmp(ch[k].text, "# step", 6) != 0);
        /* the code block stays in one chunk */
        if (memchr(ch[k].text, '`', ch[k].len)) CHECK(memcmp(ch[k].text, "```sh", 5) == 0);
    }
    CHECK(n == 3);
    if (n != 3) dump(ch, n);
}

/* Splits source code and checks each chunk's beginning. */
static void check_code_chunks(const char* src, coco_lang lang, size_t size, const char** starts,
                              size_t want_n) {
    coco_split_desc d = sdesc(size, 0, lang);
    coco_chunk* ch;
    size_t n = split(src, &d, &ch), k;
    REQUIRE(n != (size_t)-1);
    CHECK_INT_EQ(check_split_props(src, strlen(src), &d, ch, n), 0);
    CHECK_INT_EQ(n, want_n);
    for (k = 0; k < n && k < want_n; k++)
        if (strncmp(ch[k].text, starts[k], strlen(starts[k])) != 0) {
            CHECK(!"chunk starts at a definition");
            printf("#     chunk %zu should start with \"%s\"\n", k, starts[k]);
        }
    if (n != want_n) dump(ch, n);
}

static void split_c_at_definitions(void) {
    const char* src =
        "#include <stdio.h>\n\n"
        "/* adds two numbers */\n"
        "static int add(int a, int b) {\n    return a + b;\n}\n\n"
        "// multiplies\n"
        "int mul(int a, int b) {\n    int r = a * b;\n    return r;\n}\n\n"
        "struct point {\n    int x, y;\n};\n\n"
        "int main(void) {\n    printf(\"%d\\n\", add(1, mul(2, 3)));\n    return 0;\n}\n";
    coco_split_desc d = sdesc(100, 0, COCO_LANG_C);
    coco_chunk* ch;
    size_t n = split(src, &d, &ch);
    REQUIRE(n == 4);
    CHECK(memcmp(ch[0].text, "#include", 8) == 0);
    CHECK(memcmp(ch[1].text, "// multiplies\nint mul", 21) == 0);     /* comment kept */
    CHECK_CHUNK(&ch[2], "struct point {\n    int x, y;\n};");
    CHECK(memcmp(ch[3].text, "int main", 8) == 0);
    CHECK_INT_EQ(ch[1].start.line, 8);
    CHECK_INT_EQ(ch[1].end.line, 12);
    CHECK_INT_EQ(ch[1].end.column, 2);
}

static void split_python_keeps_decorators_and_comments(void) {
    const char* src =
        "import os\n\n\n"
        "@decorator\n"
        "def f(x):\n    return x + 1\n\n\n"
        "# helper\n"
        "class A:\n    def m(self):\n        return 1\n\n    @property\n    def p(self):\n"
        "        return 2\n\n\n"
        "def g():\n    pass\n";
    coco_split_desc d = sdesc(80, 0, COCO_LANG_PYTHON);
    coco_chunk* ch;
    size_t n = split(src, &d, &ch);
    REQUIRE(n == 4);
    CHECK_CHUNK(&ch[0], "import os\n\n\n@decorator\ndef f(x):\n    return x + 1");
    CHECK_CHUNK(&ch[1], "# helper\nclass A:\n    def m(self):\n        return 1");
    CHECK_CHUNK(&ch[2], "@property\n    def p(self):\n        return 2");
    CHECK_CHUNK(&ch[3], "def g():\n    pass");
    CHECK_INT_EQ(ch[2].start.line, 14);
    CHECK_INT_EQ(ch[2].start.column, 5);
}

static void split_other_languages_at_definitions(void) {
    static const char* rs[] = {"use std::io;", "struct P {", "pub fn get"};
    static const char* go[] = {"package main", "// Add adds.\nfunc Add", "func main"};
    static const char* js[] = {"import x", "/** Multiplies. */\nconst mul", "class K"};
    static const char* java[] = {"package a;", "@Override\n    public String", "private int"};
    check_code_chunks(
        "use std::io;\n\n"
        "/// Adds.\n#[inline]\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n"
        "struct P {\n    x: i32,\n}\n\n"
        "impl P {\n    fn new() -> P {\n        P { x: 0 }\n    }\n\n"
        "    pub fn get(&self) -> i32 {\n        self.x\n    }\n}\n",
        COCO_LANG_RUST, 100, rs, 3);
    check_code_chunks(
        "package main\n\nimport \"fmt\"\n\n"
        "// Add adds.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\n"
        "func main() {\n\tfmt.Println(Add(1, 2))\n}\n",
        COCO_LANG_GO, 60, go, 3);
    check_code_chunks(
        "import x from 'x';\n\n"
        "export function add(a, b) {\n  return a + b;\n}\n\n"
        "/** Multiplies. */\nconst mul = (a, b) => {\n  return a * b;\n};\n\n"
        "class K {\n  m() {\n    return 1;\n  }\n}\n",
        COCO_LANG_JS, 70, js, 3);
    check_code_chunks(
        "package a;\n\npublic class A {\n    @Override\n    public String toString() {\n"
        "        return \"A\";\n    }\n\n    private int x() {\n        return 1;\n    }\n}\n",
        COCO_LANG_JAVA, 80, java, 3);
}

static void split_custom_separators(void) {
    const char* seps[] = {"|", ","};
    coco_split_desc d = sdesc(6, 0, COCO_LANG_MARKDOWN);   /* language ignored */
    coco_chunk* ch;
    size_t n;
    d.separators = seps;
    d.nseparators = 2;
    d.min_chunk_size = 1;
    n = split("a,b,c|d,e,f|g,h", &d, &ch);
    REQUIRE(n == 3);
    CHECK_CHUNK(&ch[0], "a,b,c|");
    CHECK_CHUNK(&ch[1], "d,e,f|");
    CHECK_CHUNK(&ch[2], "g,h");
    /* a chunk that starts inside a "|" unit ends with that unit */
    n = split("aaaa,bb|c", &d, &ch);
    REQUIRE(n == 3);
    CHECK_CHUNK(&ch[0], "aaaa,");
    CHECK_CHUNK(&ch[1], "bb|");
    CHECK_CHUNK(&ch[2], "c");
}

static void split_is_deterministic(void) {
    static char text[20000];
    coco_arena* b;
    size_t i, na, nb;
    coco_chunk *ca, *cb;
    coco_split_desc d = sdesc(300, 60, COCO_LANG_MARKDOWN);
    for (i = 0; i + 1 < sizeof text; i++) {
        static const char alpha[] = "abc de\nf. #\xc3\xa9";
        text[i] = alpha[(i * 7919u + i / 13u) % (sizeof alpha - 1)];
    }
    for (i = 1; i < sizeof text - 1; i++)      /* mend split 2-byte sequences */
        if ((unsigned char)text[i] == 0xA9 && (unsigned char)text[i - 1] != 0xC3) text[i] = 'x';
    for (i = 0; i + 2 < sizeof text; i++)
        if ((unsigned char)text[i] == 0xC3 && (unsigned char)text[i + 1] != 0xA9) text[i] = 'y';
    text[sizeof text - 1] = 0;
    REQUIRE(coco_arena_create(NULL, &b) == COCO_OK);
    REQUIRE(coco_split_text(A, text, strlen(text), &d, &ca, &na) == COCO_OK);
    REQUIRE(coco_split_text(b, text, strlen(text), &d, &cb, &nb) == COCO_OK);
    REQUIRE(na == nb);
    CHECK(na > 60);
    for (i = 0; i < na; i++) {
        CHECK(pos_eq(ca[i].start, cb[i].start));
        CHECK(pos_eq(ca[i].end, cb[i].end));
    }
    CHECK_INT_EQ(check_split_props(text, strlen(text), &d, ca, na), 0);
    coco_arena_destroy(b);
}

/* Random UTF-8 from pieces that matter to the splitter, every language and size. */
static void split_fuzz_random_utf8(void) {
    static const char* pieces[] = {
        "a", "word", "Zebra", "x1", " ", " ", " ", "  ", "\n", "\r\n", "\n\n", "\r\n\r\n",
        ". ", "! ", "? ", ", ", "; ", "\t", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\xe4\xb8\xad\xe6\x96\x87", "\xe3\x80\x82", "\n# ", "\n## ", "\n```\n", "\n}\n",
        "\nfn ", "\ndef ", "\n    def ", "\n// c\n", "\n@d\n", "\nclass ", "\n    }\n", "{",
    };
    static char text[3000];
    int iter, bad = 0;
    for (iter = 0; iter < 3000; iter++) {
        size_t len = 0, target = rnd(iter % 10 == 0 ? 2900 : 300), n;
        coco_split_desc d;
        coco_chunk* ch;
        coco_result rc;
        while (len < target) {
            const char* p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
            size_t pl = strlen(p);
            if (len + pl >= sizeof text) break;
            memcpy(text + len, p, pl);
            len += pl;
        }
        text[len] = 0;
        d = sdesc(1 + rnd(iter % 3 ? 40 : 400), 0, (coco_lang)rnd(9));
        if (rnd(2)) d.chunk_overlap = rnd((uint32_t)d.chunk_size);
        if (rnd(4) == 0) d.min_chunk_size = rnd((uint32_t)d.chunk_size + 1);
        coco_arena_reset(A);
        rc = coco_split_text(A, text, len, &d, &ch, &n);
        if (rc != COCO_OK) { bad++; continue; }
        if (check_split_props(text, len, &d, ch, n)) {
            if (bad++ < 3) {
                printf("#     iter %d size %zu overlap %zu min %zu lang %d len %zu\n", iter,
                       d.chunk_size, d.chunk_overlap, d.min_chunk_size, (int)d.language, len);
                dump(ch, n < 8 ? n : 8);
            }
        }
    }
    CHECK_INT_EQ(bad, 0);
}

/* Random bytes (mostly malformed UTF-8): no crash, no cut inside a well-formed sequence. */
static void split_fuzz_random_bytes(void) {
    static unsigned char text[600];
    int iter, bad = 0;
    for (iter = 0; iter < 2000; iter++) {
        size_t len = rnd(sizeof text), i, n;
        coco_split_desc d = sdesc(1 + rnd(50), 0, (coco_lang)rnd(9));
        coco_chunk* ch;
        for (i = 0; i < len; i++) {
            uint32_t r = rnd(10);
            text[i] = (unsigned char)(r < 3 ? (uint32_t)" \n."[r]
                                      : r < 6 ? 'a' + rnd(26) : 0x80 + rnd(128));
        }
        if (rnd(2)) d.chunk_overlap = rnd((uint32_t)d.chunk_size);
        coco_arena_reset(A);
        if (coco_split_text(A, (const char*)text, len, &d, &ch, &n) != COCO_OK) { bad++; continue; }
        bad += check_split_props((const char*)text, len, &d, ch, n);
        for (i = 0; i < n; i++) {
            /* positions agree with the text walk: char offsets and columns grow with bytes */
            if (ch[i].end.char_offset <= ch[i].start.char_offset) bad++;
            if (ch[i].end.char_offset - ch[i].start.char_offset > ch[i].len) bad++;
        }
    }
    CHECK_INT_EQ(bad, 0);
}

/* An allocator that fails the k-th allocation: every failure path returns NOMEM, no leaks. */
static int alloc_budget;
static void* fail_alloc(void* u, size_t n) {
    (void)u;
    return alloc_budget-- > 0 ? malloc(n) : NULL;
}
static void fail_free(void* u, void* p, size_t n) { (void)u; (void)n; free(p); }

static void split_out_of_memory_is_clean(void) {
    coco_allocator al;
    const char* t = "Some text. More text here.\n\nAnother paragraph of text, words, words.";
    int k, ok = 0, nomem = 0;
    al.alloc = fail_alloc; al.realloc = NULL; al.free = fail_free; al.user = NULL;
    for (k = 0; k < 12; k++) {
        coco_arena* ar;
        coco_chunk* ch;
        size_t n;
        coco_split_desc d = sdesc(12, 4, COCO_LANG_TEXT);
        coco_result rc;
        alloc_budget = 1000;
        REQUIRE(coco_arena_create(&al, &ar) == COCO_OK);
        alloc_budget = k;
        rc = coco_split_text(ar, t, strlen(t), &d, &ch, &n);
        if (rc == COCO_OK) ok++;
        else if (rc == COCO_ERR_NOMEM) nomem++;
        else CHECK(!"unexpected result");
        coco_arena_destroy(ar);
    }
    CHECK(nomem > 0);
    CHECK(ok > 0);
}

static void lang_from_name_and_extension(void) {
    CHECK_INT_EQ(coco_lang_from_name("markdown"), COCO_LANG_MARKDOWN);
    CHECK_INT_EQ(coco_lang_from_name("docs/intro.MD"), COCO_LANG_MARKDOWN);
    CHECK_INT_EQ(coco_lang_from_name("Python"), COCO_LANG_PYTHON);
    CHECK_INT_EQ(coco_lang_from_name("src/a.b/main.rs"), COCO_LANG_RUST);
    CHECK_INT_EQ(coco_lang_from_name("x.tsx"), COCO_LANG_JS);
    CHECK_INT_EQ(coco_lang_from_name("cocoindex.h"), COCO_LANG_C);
    CHECK_INT_EQ(coco_lang_from_name("c++"), COCO_LANG_C);
    CHECK_INT_EQ(coco_lang_from_name("main.go"), COCO_LANG_GO);
    CHECK_INT_EQ(coco_lang_from_name("App.kt"), COCO_LANG_JAVA);
    CHECK_INT_EQ(coco_lang_from_name("dir.md/README"), COCO_LANG_TEXT);
    CHECK_INT_EQ(coco_lang_from_name("notes.xyz"), COCO_LANG_TEXT);
    CHECK_INT_EQ(coco_lang_from_name(""), COCO_LANG_TEXT);
    CHECK_INT_EQ(coco_lang_from_name(NULL), COCO_LANG_TEXT);
}

/* ---- embedder -------------------------------------------------------------------------------- */

#define DIM 256

static void embed(const char* s, float* v) {
    coco_result rc = coco_hash_embed(s, strlen(s), v, DIM);
    if (rc != COCO_OK) printf("#     embed failed: %s\n", coco_result_str(rc));
}

static double norm(const float* v, size_t dim) {
    double s = 0;
    size_t i;
    for (i = 0; i < dim; i++) s += (double)v[i] * v[i];
    return s;   /* squared */
}

static void embed_is_deterministic_and_pinned(void) {
    const char* t = "Hashing trick embeddings: the same text gives the same vector, "
                    "on every platform. \xc3\x89t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac";
    float a[DIM], b[DIM];
    unsigned char le[DIM * 4];
    char hex[33];
    size_t i;
    embed(t, a);
    embed(t, b);
    CHECK_MEM_EQ(a, b, sizeof a);
    /* little-endian bytes of the floats, fingerprinted: changes only with
       COCO_HASH_EMBED_VERSION */
    for (i = 0; i < DIM; i++) {
        uint32_t u;
        memcpy(&u, &a[i], 4);
        le[4 * i] = (unsigned char)u;         le[4 * i + 1] = (unsigned char)(u >> 8);
        le[4 * i + 2] = (unsigned char)(u >> 16); le[4 * i + 3] = (unsigned char)(u >> 24);
    }
    CHECK_INT_EQ(COCO_HASH_EMBED_VERSION, 1);
    CHECK_STR_EQ(coco_fp_hex(coco_fp_of(le, sizeof le), hex), "e79cd053579d78a02becb638e4830813");
}

static void embed_is_normalised(void) {
    const char* texts[] = {"a", "hello world", "x x x x x x x x x x x x",
                           "\xe4\xb8\xad\xe6\x96\x87\xe6\x96\x87\xe6\x9c\xac",
                           "The quick brown fox jumps over the lazy dog."};
    size_t i, dims[] = {7, 64, 300, 1024}, k;   /* tiny dims may cancel to zero */
    static float v[1024];
    for (k = 0; k < sizeof dims / sizeof dims[0]; k++)
        for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            double s;
            CHECK_INT_EQ(coco_hash_embed(texts[i], strlen(texts[i]), v, dims[k]), COCO_OK);
            s = norm(v, dims[k]);
            if (!(s > 1 - 1e-5 && s < 1 + 1e-5)) {
                CHECK(!"norm is 1");
                printf("#     dim %zu text %zu: norm^2 %.9f\n", dims[k], i, s);
            }
        }
}

static void embed_zero_text_gives_zero_vector(void) {
    float v[DIM];
    size_t i;
    int nonzero = 0;
    v[0] = 5.0f;
    CHECK_INT_EQ(coco_hash_embed(NULL, 0, v, DIM), COCO_OK);
    for (i = 0; i < DIM; i++) nonzero += v[i] != 0.0f;
    CHECK_INT_EQ(nonzero, 0);
    embed("  ,.;!? \n\t -- \xe2\x80\x94 \xe3\x80\x82 ", v);    /* spaces and punctuation only */
    for (i = 0; i < DIM; i++) nonzero += v[i] != 0.0f || v[i] != v[i];
    CHECK_INT_EQ(nonzero, 0);
    CHECK(coco_cosine(v, v, DIM) == 0.0f);
}

static void embed_similar_texts_score_higher(void) {
    float q[DIM], near1[DIM], near2[DIM], far1[DIM], far2[DIM];
    embed("How do I configure the database connection pool?", q);
    embed("Configuring the database connection pool size", near1);
    embed("database connections: pool configuration", near2);
    embed("The cat sat quietly on the warm windowsill.", far1);
    embed("Quarterly revenue grew by eight percent.", far2);
    CHECK(coco_cosine(q, near1, DIM) > coco_cosine(q, far1, DIM) + 0.2f);
    CHECK(coco_cosine(q, near1, DIM) > coco_cosine(q, far2, DIM) + 0.2f);
    CHECK(coco_cosine(q, near2, DIM) > coco_cosine(q, far1, DIM) + 0.1f);
    CHECK(coco_cosine(q, near2, DIM) > coco_cosine(q, far2, DIM) + 0.1f);
    /* character 3-grams: an inflection still scores well above unrelated words */
    embed("embeddings", near1);
    embed("embedding", near2);
    embed("rainfall", far1);
    CHECK(coco_cosine(near1, near2, DIM) > 0.35f);
    CHECK(coco_cosine(near1, far1, DIM) < 0.2f);
}

static void embed_folds_case_and_splits_on_punctuation(void) {
    float a[DIM], b[DIM];
    embed("Hello, WORLD! \xc3\x89" "COLE \xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1 "
          "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2 \xc5\x81\xc3\x93" "D\xc5\xb9", a);
    embed("hello world \xc3\xa9" "cole \xcf\x89\xce\xbc\xce\xad\xce\xb3\xce\xb1 "
          "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xc5\x82\xc3\xb3" "d\xc5\xba", b);
    CHECK_MEM_EQ(a, b, sizeof a);
    embed("snake_case-and.dots", a);
    embed("snake case and dots", b);
    CHECK_MEM_EQ(a, b, sizeof a);
    /* non-ASCII letters are kept, not dropped */
    embed("\xe6\x97\xa5\xe6\x9c\xac", a);
    CHECK(norm(a, DIM) > 0.5);
}

static void embed_features_seed_and_errors(void) {
    float a[DIM], b[DIM], keep[4] = {7, 7, 7, 7};
    coco_hash_embed_desc d;
    const char* t = "alpha beta gamma";
    memset(&d, 0, sizeof d);
    CHECK_INT_EQ(coco_hash_embed_ex(t, strlen(t), &d, a, DIM), COCO_OK);
    embed(t, b);
    CHECK_MEM_EQ(a, b, sizeof a);                 /* zero desc = defaults */
    d.seed = 1;
    CHECK_INT_EQ(coco_hash_embed_ex(t, strlen(t), &d, b, DIM), COCO_OK);
    CHECK(coco_cosine(a, b, DIM) < 0.5f);         /* another space */
    d.seed = 0;
    d.features = COCO_EMBED_WORDS;
    CHECK_INT_EQ(coco_hash_embed_ex("beta alpha gamma", 16, &d, b, DIM), COCO_OK);
    CHECK_INT_EQ(coco_hash_embed_ex(t, strlen(t), &d, a, DIM), COCO_OK);
    CHECK(coco_cosine(a, b, DIM) > 0.9999f);      /* bag of words: order does not matter */
    d.features = COCO_EMBED_WORDS | COCO_EMBED_BIGRAMS;
    CHECK_INT_EQ(coco_hash_embed_ex("beta alpha gamma", 16, &d, b, DIM), COCO_OK);
    CHECK_INT_EQ(coco_hash_embed_ex(t, strlen(t), &d, a, DIM), COCO_OK);
    CHECK(coco_cosine(a, b, DIM) < 0.99f);        /* bigrams see order */
    d.features = 8;
    CHECK_INT_EQ(coco_hash_embed_ex(t, 3, &d, keep, 4), COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(coco_hash_embed(t, 3, NULL, 4), COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(coco_hash_embed(t, 3, keep, 0), COCO_ERR_INVALID_ARG);
    CHECK_INT_EQ(coco_hash_embed(NULL, 3, keep, 4), COCO_ERR_INVALID_ARG);
    CHECK(keep[0] == 7 && keep[3] == 7);
}

/* ---- distances ------------------------------------------------------------------------------- */

static void cosine_and_l2_on_known_vectors(void) {
    float x[2] = {1, 0}, y[2] = {0, 1}, z[2] = {0, 0}, p[2] = {3, 4};
    float u[3] = {1, 2, 3}, v[3] = {2, 4, 6}, w[3] = {-1, -2, -3};
    float ones[100], zeros[100];
    size_t i;
    for (i = 0; i < 100; i++) { ones[i] = 1; zeros[i] = 0; }
    CHECK(coco_cosine(x, y, 2) == 0.0f);
    CHECK(coco_cosine(x, x, 2) == 1.0f);
    CHECK(coco_cosine(u, v, 3) > 0.99999f && coco_cosine(u, v, 3) <= 1.0f);
    CHECK(coco_cosine(u, w, 3) < -0.99999f && coco_cosine(u, w, 3) >= -1.0f);
    CHECK(coco_cosine(p, z, 2) == 0.0f);            /* zero vector: 0, not NaN */
    CHECK(coco_cosine(x, y, 0) == 0.0f);
    CHECK(coco_l2(p, z, 2) == 5.0f);
    CHECK(dabs(coco_l2(x, y, 2) - 1.41421356) < 1e-6);
    CHECK(coco_l2(u, u, 3) == 0.0f);
    CHECK(coco_l2(ones, zeros, 100) == 10.0f);
    CHECK(dabs(coco_l2(u, w, 3) - 7.48331477) < 1e-5);                      /* sqrt(56) */
    CHECK(coco_dot(u, v, 3) == 28.0f);
    CHECK(coco_dot(p, p, 2) == 25.0f);
    CHECK(coco_cosine(NULL, x, 2) == 0.0f);
    {   /* huge and tiny magnitudes: no overflow to inf, no underflow to 0 */
        float big[2] = {3e30f, 4e30f}, tiny[2] = {3e-30f, 4e-30f};
        CHECK(coco_l2(big, z, 2) > 4.9999e30f && coco_l2(big, z, 2) < 5.0001e30f);
        CHECK(coco_l2(tiny, z, 2) > 4.9999e-30f && coco_l2(tiny, z, 2) < 5.0001e-30f);
        CHECK(coco_cosine(big, tiny, 2) > 0.99999f);
    }
}

int main(int argc, char** argv) {
    coco_test_begin("ops", argc, argv);
    if (coco_arena_create(NULL, &A) != COCO_OK) return 1;
    RUN(split_sentences_exact_positions);
    RUN(split_utf8_and_crlf_positions);
    RUN(split_crlf_blank_lines_are_paragraphs);
    RUN(split_long_word_is_cut_at_code_points);
    RUN(split_chunk_size_below_a_code_point);
    RUN(split_empty_and_whitespace_only);
    RUN(split_bad_desc_is_a_clear_error);
    RUN(split_chunks_cover_text_in_order);
    RUN(split_overlap_repeats_the_previous_end);
    RUN(split_markdown_prefers_headings);
    RUN(split_markdown_code_fence_is_not_a_heading);
    RUN(split_c_at_definitions);
    RUN(split_python_keeps_decorators_and_comments);
    RUN(split_other_languages_at_definitions);
    RUN(split_custom_separators);
    RUN(split_is_deterministic);
    RUN(split_fuzz_random_utf8);
    RUN(split_fuzz_random_bytes);
    RUN(split_out_of_memory_is_clean);
    RUN(lang_from_name_and_extension);
    RUN(embed_is_deterministic_and_pinned);
    RUN(embed_is_normalised);
    RUN(embed_zero_text_gives_zero_vector);
    RUN(embed_similar_texts_score_higher);
    RUN(embed_folds_case_and_splits_on_punctuation);
    RUN(embed_features_seed_and_errors);
    RUN(cosine_and_l2_on_known_vectors);
    coco_arena_destroy(A);
    return coco_test_end();
}
