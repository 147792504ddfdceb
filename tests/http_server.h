/* http_server.h - a scripted local HTTP embedding server for the HTTP embedder's tests - MIT

   Header-only test fixture: every function is static.  POSIX sockets and pthreads, C99.
   Include it first in the test file, or after cocoindex.h compiled with
   COCOINDEX_IMPLEMENTATION (which defines _GNU_SOURCE), or define _POSIX_C_SOURCE=200809L
   yourself: it needs the POSIX declarations of poll, clock_gettime and friends.

   USE
       ths_server* s = ths_start(8);           127.0.0.1 on an ephemeral port, 8 dimensions
       snprintf(url, sizeof url, "http://127.0.0.1:%d", ths_port(s));
       ths_push(s, THS_429, 0);                the next embedding request gets a 429 ...
       ths_push(s, THS_OK, 0);                 ... and the one after it a normal answer
       ... run the client ...
       ths_requests(s), ths_inputs(s), ths_batch_sizes(s, sizes, cap), ths_last(...)
       ths_stop(s);

   ENDPOINTS
       POST /v1/embeddings   OpenAI-compatible.  Body {"model": M, "input": [strings] | string,
                             "dimensions": D (optional), "encoding_format": ... (ignored)}.
                             200 {"object":"list","data":[{"object":"embedding","index":i,
                             "embedding":[...]},...],"model":M,"usage":{"prompt_tokens":T,
                             "total_tokens":T}} with T = the sum of ceil(bytes/4) over inputs.
                             Errors {"error":{"message":"...","type":"...","code":null}}.
       POST /api/embed       Ollama.  Body {"model": M, "input": [strings] | string,
                             "dimensions": D (optional)}.  200 {"model":M,"embeddings":[[...],
                             ...]}.  Errors {"error":"..."}.
       GET  /health          200 "ok" (text/plain).
       anything else         404 "not found" (text/plain).
   The dimension is "dimensions" when the request has it (both endpoints), else default_dim.
   An empty "input" array is answered with no embeddings.  Vectors are ths_embed(text) of
   the decoded (UTF-8) input strings, each number printed with %.9g, so a client that parses
   them into floats gets exactly what ths_embed gives.  A body that is not JSON, or has no
   valid "input" (string or array of strings), "model" (string) or "dimensions" (integer in
   1..65536) is answered 400 with a message naming the field.

   SCRIPT
   ths_push queues misbehaviours.  Each request to one of the two embedding endpoints takes
   the next one (GET /health and 404s take none); with the queue empty it is THS_OK.  The
   action is applied after the whole request body has been read.  Error actions (429, 500,
   503, 400, 401, CLOSE) apply whatever the body says; the 200 ones (OK, SLOW, SHUFFLE,
   TRUNCATED, BAD_JSON, WRONG_COUNT, WRONG_DIM) answer 400 instead when the body is invalid.

   ON THE WIRE (what a libcurl client sees)
       THS_429 / 500 / 503 / 400 / 401   that status, the endpoint's JSON error, keep-alive
       THS_SLOW         the normal answer after param ms; a client that gives up first (its
                        timeout closes the connection) cuts the sleep short and the request is
                        not counted in ths_inputs; ths_stop cuts it short too (the client then
                        sees the connection closed with nothing: CURLE_GOT_NOTHING)
       THS_TRUNCATED    200 head with the full Content-Length, half the body, close:
                        CURLE_PARTIAL_FILE
       THS_BAD_JSON     200, complete Content-Length, a body cut after half of the first
                        vector's numbers followed by an HTML line (an empty input: right after
                        the opening of the list)
       THS_CLOSE        close with no byte sent.  Beware: when the request went over a reused
                        connection libcurl silently resends it once on a new connection, and
                        that resend takes the next action (THS_OK if none); only a request on
                        a fresh connection (or a second THS_CLOSE) fails with
                        CURLE_GOT_NOTHING.  ths_requests counts both requests.
       THS_WRONG_COUNT  200, the first n-1 vectors
       THS_WRONG_DIM    200, vector 0 has its first dim-1 numbers
       THS_SHUFFLE      200, OpenAI "data" items last to first, each with its own "index"

   HTTP
   HTTP/1.1 keep-alive with one thread per connection (HTTP/1.0: keep-alive only when asked
   for); "Connection: close" is honoured; "Expect: 100-continue" gets "100 Continue" before
   the body is read; bodies come with Content-Length or chunked (up to 512 MiB).  Malformed
   heads get 400 and the connection is closed.

   THREADS
   All functions may be called from any thread while the server runs.  ths_stop wakes every
   thread (blocked reads and writes, idle keep-alive connections, THS_SLOW sleeps), closes
   every socket and joins every thread before it returns.
*/
#ifndef THS_HTTP_SERVER_H_INCLUDED
#define THS_HTTP_SERVER_H_INCLUDED

#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
    !defined(_DEFAULT_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#if defined(__GNUC__) || defined(__clang__)
#  define THS__FN static __attribute__((unused))
#else
#  define THS__FN static
#endif

#ifdef MSG_NOSIGNAL
#  define THS__NOSIGNAL MSG_NOSIGNAL
#else
#  define THS__NOSIGNAL 0
#endif

/* ==============================================================================================
   >>ths_api -- the fixture (Public)
   ============================================================================================== */

typedef struct ths_server ths_server;

enum {
    THS_OK,            /* normal answer                                                        */
    THS_429,           /* 429, "Retry-After: <param>" (param < 0: no header), JSON error body  */
    THS_500,           /* 500, error message "internal boom"                                   */
    THS_503,           /* 503, no Retry-After, error message "service unavailable"             */
    THS_400,           /* 400, error message "bad request: model '<model>' not found"          */
    THS_401,           /* 401, error message "invalid api key"                                 */
    THS_SLOW,          /* sleep param ms (cut short by ths_stop or the client leaving), then OK */
    THS_TRUNCATED,     /* full Content-Length, half the body, then the connection is closed    */
    THS_BAD_JSON,      /* 200, a body cut in the middle of the first vector + garbage          */
    THS_WRONG_COUNT,   /* 200, valid JSON, one embedding fewer than inputs                     */
    THS_WRONG_DIM,     /* 200, valid JSON, the first embedding has dim-1 numbers               */
    THS_CLOSE,         /* the connection is closed without any response                        */
    THS_SHUFFLE        /* OpenAI: "data" in reverse order, each item with its own "index";
                          Ollama: a normal answer                                              */
};

/* Binds 127.0.0.1:0 and starts the accept thread; NULL on failure or when default_dim is not
   in 1..65536. */
THS__FN ths_server* ths_start(int default_dim);
THS__FN int         ths_port(const ths_server* s);
/* Closes the listener and every connection, joins every thread, frees.  NULL is a no-op. */
THS__FN void        ths_stop(ths_server* s);
/* Queues one action for the next embedding request (see SCRIPT). */
THS__FN void        ths_push(ths_server* s, int action, int param);
/* Actions queued and not yet taken. */
THS__FN int         ths_pending(const ths_server* s);
/* Complete request heads received (every path, health checks included). */
THS__FN int         ths_requests(const ths_server* s);
/* Input strings answered with a good 200 (THS_OK, THS_SLOW, THS_SHUFFLE). */
THS__FN int         ths_inputs(const ths_server* s);
/* The largest number of inputs in one embedding request. */
THS__FN int         ths_max_batch(const ths_server* s);
/* The number of inputs of every embedding request whose body was JSON (0 when its "input" was
   missing or invalid), in arrival order: copies up to cap of them, returns how many it
   copied. */
THS__FN int         ths_batch_sizes(const ths_server* s, int* out, int cap);
/* The last request's target (path and query), Authorization value ("" if none) and decoded
   "model" ("" if none or not an embedding request); NULL or 0-capacity buffers are skipped,
   longer values are cut. */
THS__FN void        ths_last(const ths_server* s, char* path, size_t pcap, char* auth,
                             size_t acap, char* model, size_t mcap);
/* Zeroes requests, inputs, max_batch, the batch sizes and the last-request strings (the
   script is kept). */
THS__FN void        ths_reset_counters(ths_server* s);
/* The vector the server answers for `text`: its byte trigrams (a text shorter than 3 bytes is
   one gram) counted into dim buckets by a 64-bit hash, then L2-normalised, so every number is
   in [0, 1]; the empty text, the only one with no gram, gives (1, 0, ..., 0). */
THS__FN void        ths_embed(const char* text, size_t len, int dim, float* out);

/* ==============================================================================================
   >>ths_impl_util -- growable buffers, the embedding (Private)
   ============================================================================================== */

#define THS__MAX_HEAD  65536u
#define THS__MAX_BODY  ((size_t)512u << 20)
#define THS__MAX_DIM   65536
#define THS__MAX_LINE  4096u

enum { THS__OPENAI, THS__OLLAMA };

/* A byte buffer, always 0-terminated once allocated; `oom` is sticky. */
typedef struct ths__buf {
    char*  p;
    size_t len, cap;
    int    oom;
} ths__buf;

THS__FN int ths__grow(ths__buf* b, size_t extra) {
    size_t need, cap;
    char* np;
    if (b->oom) return -1;
    if (extra > (size_t)-1 / 2 - b->len) { b->oom = 1; return -1; }
    need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    np = (char*)realloc(b->p, cap);
    if (!np) { b->oom = 1; return -1; }
    b->p = np;
    b->cap = cap;
    return 0;
}

THS__FN void ths__put(ths__buf* b, const void* p, size_t n) {
    if (ths__grow(b, n)) return;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

THS__FN void ths__puts(ths__buf* b, const char* s) { ths__put(b, s, strlen(s)); }

THS__FN void ths__printf(ths__buf* b, const char* fmt, ...) {
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) { b->oom = 1; return; }
    ths__put(b, tmp, (size_t)n);
}

THS__FN void ths__free(ths__buf* b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* A JSON string literal of s[0..n) (bytes >= 0x80 pass through). */
THS__FN void ths__put_jstr(ths__buf* b, const char* s, size_t n) {
    size_t i, run = 0;
    ths__put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        ths__put(b, s + run, i - run);
        run = i + 1;
        if (ch == '"' || ch == '\\') { esc[0] = '\\'; esc[1] = (char)ch; ths__put(b, esc, 2); }
        else { snprintf(esc, sizeof esc, "\\u%04x", ch); ths__put(b, esc, 6); }
    }
    ths__put(b, s + run, n - run);
    ths__put(b, "\"", 1);
}

THS__FN void ths__put_float(ths__buf* b, float f) {
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.9g", (double)f);
    if (n > 0 && (size_t)n < sizeof tmp) ths__put(b, tmp, (size_t)n);
    else b->oom = 1;
}

/* Square root by Newton's method, so that no libm is needed; exact enough for doubles. */
THS__FN double ths__sqrt(double v) {
    double x, prev;
    int i;
    if (!(v > 0)) return 0;
    x = v > 1 ? v : 1;
    for (i = 0; i < 200; i++) {
        prev = x;
        x = 0.5 * (x + v / x);
        if (x >= prev) break;          /* monotone from above: stops at the fixed point */
    }
    return prev < x ? prev : x;
}

THS__FN uint64_t ths__hash(const char* p, size_t n) {
    uint64_t h = 0xcbf29ce484222325u;
    size_t i;
    for (i = 0; i < n; i++) { h ^= (unsigned char)p[i]; h *= 0x100000001b3u; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdu;           /* a finaliser spreads the low bits */
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    return h;
}

THS__FN void ths_embed(const char* text, size_t len, int dim, float* out) {
    size_t i, grams, g;
    double ss = 0, inv;
    int k;
    if (dim <= 0 || !out) return;
    for (k = 0; k < dim; k++) out[k] = 0.0f;
    if (!text) len = 0;
    g = len >= 3 ? 3 : len;
    grams = len >= 3 ? len - 2 : (len ? 1 : 0);
    for (i = 0; i < grams; i++) {
        uint64_t h = ths__hash(text + i, g);
        out[h % (uint64_t)dim] += 1.0f;
    }
    for (k = 0; k < dim; k++) ss += (double)out[k] * (double)out[k];
    if (ss == 0) { out[0] = 1.0f; return; }
    inv = 1.0 / ths__sqrt(ss);
    for (k = 0; k < dim; k++) out[k] = (float)((double)out[k] * inv);
}

/* ==============================================================================================
   >>ths_impl_json -- the request body scanner (Private)
   ============================================================================================== */

typedef struct ths__span { size_t off, len; } ths__span;

/* What an embedding request body says.  Strings are decoded into `text`. */
typedef struct ths__parsed {
    int        json_ok, input_ok, model_ok, dims;   /* dims: 0 absent, -1 invalid, else D  */
    ths__buf   text;
    ths__span* in;
    size_t     n, cap;
    ths__span  model;
} ths__parsed;

typedef struct ths__json {
    const char* p;
    const char* e;
    int         depth;
    int         oom;
} ths__json;

THS__FN void ths__jws(ths__json* j) {
    while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

THS__FN int ths__hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

THS__FN int ths__hex4(const char* p, const char* e, unsigned* out) {
    unsigned v = 0;
    int i;
    if (e - p < 4) return 0;
    for (i = 0; i < 4; i++) {
        int h = ths__hexval(p[i]);
        if (h < 0) return 0;
        v = v * 16u + (unsigned)h;
    }
    *out = v;
    return 1;
}

THS__FN void ths__put_utf8(ths__buf* b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    ths__put(b, u, n);
}

/* A string at j->p (which is at '"'), decoded into `out` (NULL: only checked).  Lone
   surrogates become U+FFFD.  1 ok, 0 not JSON. */
THS__FN int ths__jstr(ths__json* j, ths__buf* out) {
    const char* run;
    j->p++;
    run = j->p;
    for (;;) {
        unsigned char ch;
        unsigned cp, lo;
        if (j->p >= j->e) return 0;
        ch = (unsigned char)*j->p;
        if (ch != '"' && ch != '\\') {
            if (ch < 0x20) return 0;
            j->p++;
            continue;
        }
        if (out) ths__put(out, run, (size_t)(j->p - run));
        if (ch == '"') { j->p++; break; }
        if (j->e - j->p < 2) return 0;
        switch (j->p[1]) {
        case '"':  cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/':  cp = '/'; break;
        case 'b':  cp = '\b'; break;
        case 'f':  cp = '\f'; break;
        case 'n':  cp = '\n'; break;
        case 'r':  cp = '\r'; break;
        case 't':  cp = '\t'; break;
        case 'u':
            if (!ths__hex4(j->p + 2, j->e, &cp)) return 0;
            j->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j->e - j->p >= 8 && j->p[2] == '\\' && j->p[3] == 'u' &&
                    ths__hex4(j->p + 4, j->e, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    j->p += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            break;
        default: return 0;
        }
        if (out) ths__put_utf8(out, cp);
        j->p += 2;
        run = j->p;
    }
    if (out && out->oom) j->oom = 1;
    return 1;
}

/* A number; *iv gets its value when it is an integer (no fraction, no exponent) that fits,
   else *iv = -1.  1 ok, 0 not JSON. */
THS__FN int ths__jnum(ths__json* j, long long* iv) {
    int neg = 0, integer = 1;
    long long v = 0;
    if (j->p < j->e && *j->p == '-') { neg = 1; j->p++; }
    if (j->p >= j->e || *j->p < '0' || *j->p > '9') return 0;
    if (*j->p == '0') j->p++;
    else
        while (j->p < j->e && *j->p >= '0' && *j->p <= '9') {
            if (v < 1000000000000LL) v = v * 10 + (*j->p - '0');
            else integer = 0;
            j->p++;
        }
    if (j->p < j->e && *j->p == '.') {
        integer = 0;
        j->p++;
        if (j->p >= j->e || *j->p < '0' || *j->p > '9') return 0;
        while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
        integer = 0;
        j->p++;
        if (j->p < j->e && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->e || *j->p < '0' || *j->p > '9') return 0;
        while (j->p < j->e && *j->p >= '0' && *j->p <= '9') j->p++;
    }
    *iv = integer ? (neg ? -v : v) : -1;
    return 1;
}

THS__FN int ths__jlit(ths__json* j, const char* lit) {
    size_t n = strlen(lit);
    if ((size_t)(j->e - j->p) < n || memcmp(j->p, lit, n)) return 0;
    j->p += n;
    return 1;
}

/* Any value (checked, not kept).  1 ok, 0 not JSON. */
THS__FN int ths__jskip(ths__json* j) {
    long long iv;
    ths__jws(j);
    if (j->p >= j->e) return 0;
    switch (*j->p) {
    case '"': return ths__jstr(j, NULL);
    case 't': return ths__jlit(j, "true");
    case 'f': return ths__jlit(j, "false");
    case 'n': return ths__jlit(j, "null");
    case '[': case '{': {
        char close = *j->p == '[' ? ']' : '}';
        int first = 1;
        if (++j->depth > 64) return 0;
        j->p++;
        for (;;) {
            ths__jws(j);
            if (j->p < j->e && *j->p == close && first) { j->p++; break; }
            if (close == '}') {
                if (j->p >= j->e || *j->p != '"' || !ths__jstr(j, NULL)) return 0;
                ths__jws(j);
                if (j->p >= j->e || *j->p != ':') return 0;
                j->p++;
            }
            if (!ths__jskip(j)) return 0;
            ths__jws(j);
            first = 0;
            if (j->p < j->e && *j->p == ',') { j->p++; continue; }
            if (j->p < j->e && *j->p == close) { j->p++; break; }
            return 0;
        }
        j->depth--;
        return 1;
    }
    default: return ths__jnum(j, &iv);
    }
}

THS__FN void ths__add_input(ths__parsed* q, size_t off, size_t len, ths__json* j) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        ths__span* np = (ths__span*)realloc(q->in, cap * sizeof *np);
        if (!np) { j->oom = 1; return; }
        q->in = np;
        q->cap = cap;
    }
    q->in[q->n].off = off;
    q->in[q->n].len = len;
    q->n++;
}

/* A string value at j->p into q->text, as input number q->n. */
THS__FN int ths__jinput(ths__json* j, ths__parsed* q) {
    size_t off = q->text.len;
    if (!ths__jstr(j, &q->text)) return 0;
    ths__add_input(q, off, q->text.len - off, j);
    return 1;
}

/* The "input" member's value: a string or an array of strings (else input_ok = 0). */
THS__FN int ths__jinputs(ths__json* j, ths__parsed* q) {
    int ok = 1, first = 1;
    q->n = 0;
    if (*j->p == '"') { q->input_ok = ths__jinput(j, q); return q->input_ok; }
    if (*j->p != '[') { q->input_ok = 0; return ths__jskip(j); }
    j->p++;
    for (;;) {
        ths__jws(j);
        if (j->p < j->e && *j->p == ']' && first) { j->p++; break; }
        if (j->p < j->e && *j->p == '"') { if (!ths__jinput(j, q)) return 0; }
        else { ok = 0; if (!ths__jskip(j)) return 0; }
        ths__jws(j);
        first = 0;
        if (j->p < j->e && *j->p == ',') { j->p++; continue; }
        if (j->p < j->e && *j->p == ']') { j->p++; break; }
        return 0;
    }
    q->input_ok = ok;
    if (!ok) q->n = 0;
    return 1;
}

/* The whole body; q->json_ok says whether it was one JSON object. */
THS__FN void ths__parse_request(const char* body, size_t len, ths__parsed* q) {
    ths__json j;
    ths__buf key;
    int first = 1;
    memset(&key, 0, sizeof key);
    j.p = body;
    j.e = body + len;
    j.depth = 0;
    j.oom = 0;
    ths__jws(&j);
    if (j.p >= j.e || *j.p != '{') return;
    j.p++;
    for (;;) {
        ths__jws(&j);
        if (j.p < j.e && *j.p == '}' && first) { j.p++; break; }
        key.len = 0;
        if (j.p >= j.e || *j.p != '"' || !ths__jstr(&j, &key)) goto bad;
        ths__jws(&j);
        if (j.p >= j.e || *j.p != ':') goto bad;
        j.p++;
        ths__jws(&j);
        if (j.p >= j.e) goto bad;
        if (key.len == 5 && !memcmp(key.p, "input", 5)) {
            if (!ths__jinputs(&j, q)) goto bad;
        } else if (key.len == 5 && !memcmp(key.p, "model", 5)) {
            size_t off = q->text.len;
            if (*j.p == '"') {
                if (!ths__jstr(&j, &q->text)) goto bad;
                q->model.off = off;
                q->model.len = q->text.len - off;
                q->model_ok = 1;
            } else {
                q->model_ok = 0;
                if (!ths__jskip(&j)) goto bad;
            }
        } else if (key.len == 10 && !memcmp(key.p, "dimensions", 10)) {
            long long iv = -1;
            if (*j.p == '-' || (*j.p >= '0' && *j.p <= '9')) {
                if (!ths__jnum(&j, &iv)) goto bad;
            } else if (!ths__jskip(&j)) {
                goto bad;
            }
            q->dims = iv >= 1 && iv <= THS__MAX_DIM ? (int)iv : -1;
        } else if (!ths__jskip(&j)) {
            goto bad;
        }
        ths__jws(&j);
        first = 0;
        if (j.p < j.e && *j.p == ',') { j.p++; continue; }
        if (j.p < j.e && *j.p == '}') { j.p++; break; }
        goto bad;
    }
    ths__jws(&j);
    if (j.p != j.e || j.oom || key.oom || q->text.oom) goto bad;
    q->json_ok = 1;
    ths__free(&key);
    return;
bad:
    ths__free(&key);
    q->json_ok = 0;
    q->input_ok = q->model_ok = 0;
    q->n = 0;
}

/* ==============================================================================================
   >>ths_impl_server -- sockets, connections, the script (Private)
   ============================================================================================== */

typedef struct ths__action { int action, param; } ths__action;

typedef struct ths__conn {
    struct ths__conn* next;
    ths_server*       srv;
    int               fd;
    int               done;         /* under srv->m: the thread has finished */
    pthread_t         th;
    ths__buf          in;           /* bytes received, from `pos` on not yet used */
    size_t            pos;
    ths__buf          body;         /* a chunked body, decoded */
} ths__conn;

struct ths_server {
    int             lfd, wake[2], port, default_dim;
    pthread_t       accept_th;
    pthread_mutex_t m;
    ths__conn*      conns;
    ths__action*    script;
    size_t          s_head, s_len, s_cap;
    int             requests, inputs, max_batch;
    int*            sizes;
    size_t          nsizes, csizes;
    char            last_path[1024], last_auth[1024], last_model[512];
};

THS__FN void ths__copy(char* dst, size_t cap, const char* src, size_t n) {
    if (!dst || !cap) return;
    if (n > cap - 1) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

THS__FN void ths__setfl(int fd, int nonblock) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    if (nonblock) {
        fl = fcntl(fd, F_GETFL);
        if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
}

/* Waits for `events` on fd (or only for the stop signal when fd < 0), at most timeout_ms
   (-1 = no bound).  1 ready, 0 timed out, -1 the server is stopping or poll failed. */
THS__FN int ths__wait(ths_server* s, int fd, short events, int timeout_ms) {
    struct pollfd pf[2];
    int r;
    pf[0].fd = s->wake[0];
    pf[0].events = POLLIN;
    pf[0].revents = 0;
    pf[1].fd = fd;
    pf[1].events = events;
    pf[1].revents = 0;
    r = poll(pf, fd >= 0 ? 2 : 1, timeout_ms);
    if (r < 0) return errno == EINTR ? 0 : -1;
    if (pf[0].revents) return -1;
    return r > 0 ? 1 : 0;
}

/* More bytes into c->in.  1 got some, 0 the peer closed, -1 error or stopping. */
THS__FN int ths__recv_more(ths__conn* c) {
    for (;;) {
        ssize_t n;
        int w = ths__wait(c->srv, c->fd, POLLIN, -1);
        if (w < 0) return -1;
        if (w == 0) continue;
        if (ths__grow(&c->in, 65536)) return -1;
        n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len - 1, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            c->in.p[c->in.len] = 0;
            return 1;
        }
        if (n == 0) return 0;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    }
}

THS__FN int ths__send_all(ths__conn* c, const char* p, size_t n) {
    while (n) {
        ssize_t k = send(c->fd, p, n, THS__NOSIGNAL);
        if (k > 0) { p += k; n -= (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (ths__wait(c->srv, c->fd, POLLOUT, -1) < 0) return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

THS__FN uint64_t ths__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* THS_SLOW: 0 slept the whole time, -1 the server is stopping or the client went away. */
THS__FN int ths__sleep(ths__conn* c, int ms) {
    uint64_t end = ths__now_ms() + (uint64_t)(ms > 0 ? ms : 0);
    int watch = 1;
    for (;;) {
        uint64_t now = ths__now_ms();
        int w;
        if (now >= end) return 0;
        w = ths__wait(c->srv, watch ? c->fd : -1, POLLIN, (int)(end - now));
        if (w < 0) return -1;
        if (w > 0 && watch) {
            char ch;
            ssize_t k = recv(c->fd, &ch, 1, MSG_PEEK);
            if (k == 0) return -1;                        /* the client closed (timeout) */
            if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
            if (k > 0) watch = 0;                         /* a pipelined request: keep it */
        }
    }
}

THS__FN const char* ths__reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

/* One response: head (Content-Length: blen) and the first `send_len` bytes of the body. */
THS__FN int ths__respond(ths__conn* c, int status, const char* ctype, const char* extra,
                         const char* body, size_t blen, size_t send_len, int close_after) {
    ths__buf out;
    int rc;
    memset(&out, 0, sizeof out);
    ths__printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                "Connection: %s\r\n\r\n", status, ths__reason(status), ctype, blen,
                extra ? extra : "", close_after ? "close" : "keep-alive");
    ths__put(&out, body, send_len);
    rc = out.oom ? -1 : ths__send_all(c, out.p, out.len);
    ths__free(&out);
    return rc;
}

THS__FN int ths__respond_text(ths__conn* c, int status, const char* text, int close_after) {
    return ths__respond(c, status, "text/plain", NULL, text, strlen(text), strlen(text),
                        close_after);
}

/* An error in the endpoint's format. */
THS__FN int ths__respond_error(ths__conn* c, int api, int status, const char* extra,
                               const char* type, const char* msg, int close_after) {
    ths__buf b;
    int rc;
    memset(&b, 0, sizeof b);
    if (api == THS__OLLAMA) {
        ths__puts(&b, "{\"error\":");
        ths__put_jstr(&b, msg, strlen(msg));
        ths__puts(&b, "}");
    } else {
        ths__puts(&b, "{\"error\":{\"message\":");
        ths__put_jstr(&b, msg, strlen(msg));
        ths__printf(&b, ",\"type\":\"%s\",\"code\":null}}", type);
    }
    rc = b.oom ? -1 : ths__respond(c, status, "application/json", extra, b.p, b.len, b.len,
                                   close_after);
    ths__free(&b);
    return rc;
}

/* The vector of input i with `d` of its `dim` numbers. */
THS__FN void ths__put_vec(ths__buf* b, const ths__parsed* q, size_t i, int dim, int d,
                          float* v) {
    int k;
    ths_embed(q->text.p + q->in[i].off, q->in[i].len, dim, v);
    ths__put(b, "[", 1);
    for (k = 0; k < d; k++) {
        if (k) ths__put(b, ",", 1);
        ths__put_float(b, v[k]);
    }
    ths__put(b, "]", 1);
}

/* A 200 answer body for the action (THS_OK/SLOW/SHUFFLE/TRUNCATED/BAD_JSON/WRONG_*). */
THS__FN void ths__answer(ths__buf* b, int api, int action, const ths__parsed* q, int dim) {
    size_t n = q->n, count = action == THS_WRONG_COUNT && n ? n - 1 : n, k, tokens = 0;
    const char* model = q->text.p + q->model.off;
    float* v = (float*)malloc((size_t)dim * sizeof *v);
    if (!v) { b->oom = 1; return; }
    if (api == THS__OPENAI) ths__puts(b, "{\"object\":\"list\",\"data\":[");
    else {
        ths__puts(b, "{\"model\":");
        ths__put_jstr(b, model, q->model.len);
        ths__puts(b, ",\"embeddings\":[");
    }
    for (k = 0; k < count; k++) {
        size_t i = action == THS_SHUFFLE && api == THS__OPENAI ? count - 1 - k : k;
        int d = action == THS_WRONG_DIM && i == 0 ? dim - 1 : dim;
        if (k) ths__put(b, ",", 1);
        if (api == THS__OPENAI)
            ths__printf(b, "{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i);
        if (action == THS_BAD_JSON) break;
        ths__put_vec(b, q, i, dim, d, v);
        if (api == THS__OPENAI) ths__put(b, "}", 1);
    }
    if (action == THS_BAD_JSON) {
        /* cut in the middle of the first vector, then bytes that can never close it */
        int half = dim / 2, i2;
        if (n) {
            ths_embed(q->text.p + q->in[0].off, q->in[0].len, dim, v);
            ths__put(b, "[", 1);
            for (i2 = 0; i2 < half; i2++) { ths__put_float(b, v[i2]); ths__put(b, ",", 1); }
        }
        ths__puts(b, "\n<html>internal proxy error: upstream reset</html>\n");
        free(v);
        return;
    }
    if (api == THS__OPENAI) {
        for (k = 0; k < n; k++) tokens += (q->in[k].len + 3) / 4;
        ths__puts(b, "],\"model\":");
        ths__put_jstr(b, model, q->model.len);
        ths__printf(b, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", tokens,
                    tokens);
    } else {
        ths__puts(b, "]}");
    }
    free(v);
}

THS__FN int ths__ieq(const char* a, size_t n, const char* lit) {
    size_t i;
    if (strlen(lit) != n) return 0;
    for (i = 0; i < n; i++) {
        char x = a[i], y = lit[i];
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return 0;
    }
    return 1;
}

/* Whether the comma-separated list a[0..n) holds `tok` (case-insensitive). */
THS__FN int ths__has_token(const char* a, size_t n, const char* tok) {
    size_t i = 0;
    while (i < n) {
        size_t s0, e0;
        while (i < n && (a[i] == ' ' || a[i] == '\t' || a[i] == ',')) i++;
        s0 = i;
        while (i < n && a[i] != ',') i++;
        e0 = i;
        while (e0 > s0 && (a[e0 - 1] == ' ' || a[e0 - 1] == '\t')) e0--;
        if (e0 > s0 && ths__ieq(a + s0, e0 - s0, tok)) return 1;
    }
    return 0;
}

typedef struct ths__req {
    char      method[16], target[1024], auth[1024];
    int       minor, chunked, close, expect100;
    size_t    clen;
} ths__req;

/* The head h[0..n) (through its blank line).  0 ok, else the status to answer with. */
THS__FN int ths__parse_head(const char* h, size_t n, ths__req* r) {
    const char *p = h, *e = h + n, *sp1, *sp2, *eol;
    int keep_alive = 0, has_clen = 0, has_te = 0;
    memset(r, 0, sizeof *r);
    eol = memchr(p, '\n', (size_t)(e - p));
    if (!eol) return 400;
    sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= sizeof r->method) return 400;
    sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1 || (size_t)(sp2 - sp1 - 1) >= sizeof r->target) return 400;
    memcpy(r->method, p, (size_t)(sp1 - p));
    memcpy(r->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    {
        size_t vl = (size_t)(eol - sp2 - 1);
        const char* v = sp2 + 1;
        if (vl && v[vl - 1] == '\r') vl--;
        if (vl == 8 && !memcmp(v, "HTTP/1.1", 8)) r->minor = 1;
        else if (vl == 8 && !memcmp(v, "HTTP/1.0", 8)) r->minor = 0;
        else return 400;
    }
    for (p = eol + 1; p < e; p = eol + 1) {
        const char *colon, *v, *ve;
        size_t ln;
        eol = memchr(p, '\n', (size_t)(e - p));
        if (!eol) break;
        ln = (size_t)(eol - p);
        if (ln && p[ln - 1] == '\r') ln--;
        if (!ln) break;
        colon = memchr(p, ':', ln);
        if (!colon || colon == p) return 400;
        v = colon + 1;
        ve = p + ln;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        if (ths__ieq(p, (size_t)(colon - p), "content-length")) {
            size_t cl = 0;
            const char* q;
            if (v == ve) return 400;
            for (q = v; q < ve; q++) {
                if (*q < '0' || *q > '9') return 400;
                if (cl > THS__MAX_BODY / 10) return 413;
                cl = cl * 10 + (size_t)(*q - '0');
            }
            if (cl > THS__MAX_BODY) return 413;
            r->clen = cl;
            has_clen = 1;
        } else if (ths__ieq(p, (size_t)(colon - p), "transfer-encoding")) {
            has_te = 1;
            if (!ths__has_token(v, (size_t)(ve - v), "chunked")) return 501;
            r->chunked = 1;
        } else if (ths__ieq(p, (size_t)(colon - p), "connection")) {
            if (ths__has_token(v, (size_t)(ve - v), "close")) r->close = 1;
            if (ths__has_token(v, (size_t)(ve - v), "keep-alive")) keep_alive = 1;
        } else if (ths__ieq(p, (size_t)(colon - p), "expect")) {
            if (ths__ieq(v, (size_t)(ve - v), "100-continue")) r->expect100 = 1;
        } else if (ths__ieq(p, (size_t)(colon - p), "authorization")) {
            ths__copy(r->auth, sizeof r->auth, v, (size_t)(ve - v));
        }
    }
    if (has_te && has_clen) r->clen = 0;                  /* chunked wins (RFC 9112 6.3) */
    if (r->minor == 0 && !keep_alive) r->close = 1;
    return 0;
}

/* Reads until the head's blank line.  1 (*end = just past it), 0 the peer closed between
   requests, -1 error/stopping/closed mid-head, -2 head too large. */
THS__FN int ths__read_head(ths__conn* c, size_t* end) {
    size_t scan = c->pos;
    for (;;) {
        size_t i;
        int r;
        while (c->pos < c->in.len && (c->in.p[c->pos] == '\r' || c->in.p[c->pos] == '\n'))
            c->pos++;
        if (scan < c->pos) scan = c->pos;
        for (i = scan; i + 3 < c->in.len; i++)
            if (!memcmp(c->in.p + i, "\r\n\r\n", 4)) { *end = i + 4; return 1; }
        scan = i;
        if (c->in.len - c->pos > THS__MAX_HEAD) return -2;
        r = ths__recv_more(c);
        if (r == 0) return c->pos == c->in.len ? 0 : -1;
        if (r < 0) return -1;
    }
}

/* One line of a chunked body from c->pos: [*ls, *ls + *ll), c->pos moves past it.
   1 ok, -1 I/O, -3 malformed. */
THS__FN int ths__read_line(ths__conn* c, size_t* ls, size_t* ll) {
    size_t scan = c->pos;
    for (;;) {
        char* nl = scan < c->in.len ? (char*)memchr(c->in.p + scan, '\n', c->in.len - scan)
                                    : NULL;
        if (nl) {
            size_t at = (size_t)(nl - c->in.p);
            *ls = c->pos;
            *ll = at - c->pos;
            if (*ll && c->in.p[at - 1] == '\r') (*ll)--;
            c->pos = at + 1;
            return 1;
        }
        scan = c->in.len;
        if (c->in.len - c->pos > THS__MAX_LINE) return -3;
        if (ths__recv_more(c) != 1) return -1;
    }
}

/* The body.  1 ok (*body valid until the next request), -1 I/O, -2 too large, -3 malformed. */
THS__FN int ths__read_body(ths__conn* c, const ths__req* r, const char** body, size_t* blen) {
    if (!r->chunked) {
        while (c->in.len - c->pos < r->clen)
            if (ths__recv_more(c) != 1) return -1;
        *body = c->in.p ? c->in.p + c->pos : "";
        *blen = r->clen;
        c->pos += r->clen;
        return 1;
    }
    c->body.len = 0;
    for (;;) {
        size_t ls, ll, sz = 0, i;
        int rc = ths__read_line(c, &ls, &ll), digits = 0;
        if (rc != 1) return rc;
        for (i = 0; i < ll; i++) {
            int h = ths__hexval(c->in.p[ls + i]);
            if (h < 0) break;
            if (sz > THS__MAX_BODY / 16) return -2;
            sz = sz * 16 + (size_t)h;
            digits++;
        }
        if (!digits || (i < ll && c->in.p[ls + i] != ';' && c->in.p[ls + i] != ' ' &&
                        c->in.p[ls + i] != '\t'))
            return -3;
        if (sz == 0) {
            do {                                          /* trailers, up to a blank line */
                if ((rc = ths__read_line(c, &ls, &ll)) != 1) return rc;
            } while (ll);
            break;
        }
        if (sz > THS__MAX_BODY || c->body.len + sz > THS__MAX_BODY) return -2;
        while (c->in.len - c->pos < sz + 2)
            if (ths__recv_more(c) != 1) return -1;
        ths__put(&c->body, c->in.p + c->pos, sz);
        if (c->body.oom) return -1;
        c->pos += sz;
        if (c->in.p[c->pos] == '\r') c->pos++;
        if (c->in.p[c->pos] != '\n') return -3;
        c->pos++;
    }
    *body = c->body.p ? c->body.p : "";
    *blen = c->body.len;
    return 1;
}

/* An embedding request.  0 keep the connection, -1 close it. */
THS__FN int ths__embed_request(ths__conn* c, int api, const char* body, size_t blen,
                               int close_after) {
    ths_server* s = c->srv;
    ths__parsed q;
    ths__action act;
    ths__buf out;
    int rc = 0, dim;
    char msg[600], extra[64];
    memset(&q, 0, sizeof q);
    memset(&out, 0, sizeof out);
    ths__parse_request(body, blen, &q);
    act.action = THS_OK;
    act.param = 0;
    pthread_mutex_lock(&s->m);
    if (q.json_ok) {
        int n = q.n > (size_t)0x7fffffff ? 0x7fffffff : (int)q.n;
        if (s->nsizes == s->csizes) {
            size_t cap = s->csizes ? s->csizes * 2 : 64;
            int* np = (int*)realloc(s->sizes, cap * sizeof *np);
            if (np) { s->sizes = np; s->csizes = cap; }
        }
        if (s->nsizes < s->csizes) s->sizes[s->nsizes++] = n;
        if (n > s->max_batch) s->max_batch = n;
    }
    if (q.model_ok)
        ths__copy(s->last_model, sizeof s->last_model, q.text.p + q.model.off, q.model.len);
    if (s->s_head < s->s_len) act = s->script[s->s_head++];
    if (s->s_head == s->s_len) s->s_head = s->s_len = 0;
    pthread_mutex_unlock(&s->m);

    switch (act.action) {
    case THS_429:
        extra[0] = 0;
        if (act.param >= 0) snprintf(extra, sizeof extra, "Retry-After: %d\r\n", act.param);
        rc = ths__respond_error(c, api, 429, extra, "rate_limit_error",
                                "rate limit exceeded, slow down", close_after);
        goto done;
    case THS_500:
        rc = ths__respond_error(c, api, 500, NULL, "server_error", "internal boom",
                                close_after);
        goto done;
    case THS_503:
        rc = ths__respond_error(c, api, 503, NULL, "server_error", "service unavailable",
                                close_after);
        goto done;
    case THS_400:
        snprintf(msg, sizeof msg, "bad request: model '%.*s' not found",
                 q.model_ok ? (int)(q.model.len < 400 ? q.model.len : 400) : 1,
                 q.model_ok ? q.text.p + q.model.off : "x");
        rc = ths__respond_error(c, api, 400, NULL, "invalid_request_error", msg, close_after);
        goto done;
    case THS_401:
        rc = ths__respond_error(c, api, 401, NULL, "invalid_request_error", "invalid api key",
                                close_after);
        goto done;
    case THS_CLOSE:
        rc = -1;
        goto done;
    case THS_SLOW:
        if (ths__sleep(c, act.param)) { rc = -1; goto done; }
        break;
    default:
        break;
    }

    if (!q.json_ok || !q.input_ok || !q.model_ok || q.dims < 0) {
        const char* m = !q.json_ok    ? "invalid JSON in the request body"
                        : !q.input_ok ? "missing or invalid 'input': expected a string or an "
                                        "array of strings"
                        : !q.model_ok ? "missing or invalid 'model': expected a string"
                                      : "invalid 'dimensions': expected an integer in 1..65536";
        rc = ths__respond_error(c, api, 400, NULL, "invalid_request_error", m, close_after);
        goto done;
    }
    dim = q.dims > 0 ? q.dims : s->default_dim;
    ths__answer(&out, api, act.action, &q, dim);
    if (out.oom) {
        (void)ths__respond_error(c, api, 500, NULL, "server_error", "out of memory", 1);
        rc = -1;
        goto done;
    }
    if (act.action == THS_OK || act.action == THS_SLOW || act.action == THS_SHUFFLE) {
        int n = q.n > (size_t)0x7fffffff ? 0x7fffffff : (int)q.n;
        pthread_mutex_lock(&s->m);
        s->inputs += n;
        pthread_mutex_unlock(&s->m);
    }
    if (act.action == THS_TRUNCATED) {
        ths__respond(c, 200, "application/json", NULL, out.p, out.len, out.len / 2, 1);
        rc = -1;
        goto done;
    }
    rc = ths__respond(c, 200, "application/json", NULL, out.p, out.len, out.len, close_after);
done:
    ths__free(&out);
    ths__free(&q.text);
    free(q.in);
    return rc;
}

THS__FN void* ths__conn_main(void* arg) {
    ths__conn* c = (ths__conn*)arg;
    ths_server* s = c->srv;
    for (;;) {
        ths__req r;
        size_t end, plen, blen = 0;
        const char* body = "";
        const char* q;
        int rc, close_after;
        rc = ths__read_head(c, &end);
        if (rc == -2) { ths__respond_text(c, 431, "request head too large", 1); break; }
        if (rc != 1) break;
        rc = ths__parse_head(c->in.p + c->pos, end - c->pos, &r);
        c->pos = end;
        if (rc) { ths__respond_text(c, rc, ths__reason(rc), 1); break; }
        pthread_mutex_lock(&s->m);
        s->requests++;
        ths__copy(s->last_path, sizeof s->last_path, r.target, strlen(r.target));
        ths__copy(s->last_auth, sizeof s->last_auth, r.auth, strlen(r.auth));
        s->last_model[0] = 0;
        pthread_mutex_unlock(&s->m);
        close_after = r.close;
        if (r.expect100 && r.minor >= 1 && (r.chunked || r.clen > 0)) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (ths__send_all(c, cont, sizeof cont - 1)) break;
        }
        rc = ths__read_body(c, &r, &body, &blen);
        if (rc == -2) { ths__respond_text(c, 413, "request body too large", 1); break; }
        if (rc == -3) { ths__respond_text(c, 400, "malformed chunked body", 1); break; }
        if (rc != 1) break;
        q = strchr(r.target, '?');
        plen = q ? (size_t)(q - r.target) : strlen(r.target);
        if (!strcmp(r.method, "GET") && plen == 7 && !memcmp(r.target, "/health", 7))
            rc = ths__respond_text(c, 200, "ok", close_after);
        else if (!strcmp(r.method, "POST") && plen == 14 &&
                 !memcmp(r.target, "/v1/embeddings", 14))
            rc = ths__embed_request(c, THS__OPENAI, body, blen, close_after);
        else if (!strcmp(r.method, "POST") && plen == 10 && !memcmp(r.target, "/api/embed", 10))
            rc = ths__embed_request(c, THS__OLLAMA, body, blen, close_after);
        else
            rc = ths__respond_text(c, 404, "not found", close_after);
        if (rc || close_after) break;
        if (c->pos) {                                     /* keep what follows the request */
            memmove(c->in.p, c->in.p + c->pos, c->in.len - c->pos);
            c->in.len -= c->pos;
            c->in.p[c->in.len] = 0;
            c->pos = 0;
        }
        if (c->in.cap > ((size_t)4 << 20) && c->in.len < 65536) {
            ths__buf small;                               /* give back a big body's memory */
            memset(&small, 0, sizeof small);
            ths__put(&small, c->in.p, c->in.len);
            if (!small.oom) { ths__free(&c->in); c->in = small; }
            else ths__free(&small);
        }
        if (c->body.cap > ((size_t)4 << 20)) ths__free(&c->body);
    }
    close(c->fd);
    ths__free(&c->in);
    ths__free(&c->body);
    pthread_mutex_lock(&s->m);
    c->done = 1;
    pthread_mutex_unlock(&s->m);
    return NULL;
}

/* Joins and frees the connections whose threads have finished. */
THS__FN void ths__reap(ths_server* s) {
    ths__conn *dead = NULL, **pp, *c;
    pthread_mutex_lock(&s->m);
    for (pp = &s->conns; *pp;) {
        c = *pp;
        if (c->done) { *pp = c->next; c->next = dead; dead = c; }
        else pp = &c->next;
    }
    pthread_mutex_unlock(&s->m);
    while ((c = dead) != NULL) {
        dead = c->next;
        pthread_join(c->th, NULL);
        free(c);
    }
}

THS__FN void* ths__accept_main(void* arg) {
    ths_server* s = (ths_server*)arg;
    for (;;) {
        ths__conn* c;
        int fd, one = 1, w = ths__wait(s, s->lfd, POLLIN, -1);
        if (w < 0) break;
        if (w == 0) continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                if (ths__wait(s, -1, 0, 10) < 0) break;   /* out of resources: breathe */
            continue;
        }
        ths__setfl(fd, 1);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        ths__reap(s);
        c = (ths__conn*)calloc(1, sizeof *c);
        if (!c) { close(fd); continue; }
        c->srv = s;
        c->fd = fd;
        if (pthread_create(&c->th, NULL, ths__conn_main, c)) { close(fd); free(c); continue; }
        pthread_mutex_lock(&s->m);
        c->next = s->conns;
        s->conns = c;
        pthread_mutex_unlock(&s->m);
    }
    return NULL;
}

/* ==============================================================================================
   >>ths_impl_api -- public functions (Private)
   ============================================================================================== */

THS__FN ths_server* ths_start(int default_dim) {
    ths_server* s;
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    if (default_dim < 1 || default_dim > THS__MAX_DIM) return NULL;
    s = (ths_server*)calloc(1, sizeof *s);
    if (!s) return NULL;
    s->default_dim = default_dim;
    s->lfd = -1;
    if (pipe(s->wake)) { free(s); return NULL; }
    ths__setfl(s->wake[0], 1);
    ths__setfl(s->wake[1], 1);
    if (pthread_mutex_init(&s->m, NULL)) goto fail_pipe;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->lfd < 0) goto fail;
    ths__setfl(s->lfd, 1);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->lfd, (struct sockaddr*)&a, sizeof a) || listen(s->lfd, 128) ||
        getsockname(s->lfd, (struct sockaddr*)&a, &al))
        goto fail;
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->accept_th, NULL, ths__accept_main, s)) goto fail;
    return s;
fail:
    if (s->lfd >= 0) close(s->lfd);
    pthread_mutex_destroy(&s->m);
fail_pipe:
    close(s->wake[0]);
    close(s->wake[1]);
    free(s);
    return NULL;
}

THS__FN int ths_port(const ths_server* s) { return s ? s->port : 0; }

THS__FN void ths_stop(ths_server* s) {
    ths__conn* c;
    ssize_t w;
    if (!s) return;
    do w = write(s->wake[1], "x", 1);        /* never drained: wakes every poll from now on */
    while (w < 0 && errno == EINTR);
    pthread_join(s->accept_th, NULL);
    close(s->lfd);
    pthread_mutex_lock(&s->m);
    c = s->conns;
    s->conns = NULL;
    pthread_mutex_unlock(&s->m);
    while (c) {
        ths__conn* next = c->next;
        pthread_join(c->th, NULL);
        free(c);
        c = next;
    }
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->m);
    free(s->script);
    free(s->sizes);
    free(s);
}

THS__FN void ths_push(ths_server* s, int action, int param) {
    if (!s) return;
    pthread_mutex_lock(&s->m);
    if (s->s_len == s->s_cap) {
        size_t cap = s->s_cap ? s->s_cap * 2 : 16;
        ths__action* np = (ths__action*)realloc(s->script, cap * sizeof *np);
        if (np) { s->script = np; s->s_cap = cap; }
    }
    if (s->s_len < s->s_cap) {
        s->script[s->s_len].action = action;
        s->script[s->s_len].param = param;
        s->s_len++;
    }
    pthread_mutex_unlock(&s->m);
}

#define THS__GET(s, expr) \
    int v; \
    if (!(s)) return 0; \
    pthread_mutex_lock((pthread_mutex_t*)&(s)->m); \
    v = (expr); \
    pthread_mutex_unlock((pthread_mutex_t*)&(s)->m); \
    return v;

THS__FN int ths_pending(const ths_server* s) { THS__GET(s, (int)(s->s_len - s->s_head)) }
THS__FN int ths_requests(const ths_server* s) { THS__GET(s, s->requests) }
THS__FN int ths_inputs(const ths_server* s) { THS__GET(s, s->inputs) }
THS__FN int ths_max_batch(const ths_server* s) { THS__GET(s, s->max_batch) }

THS__FN int ths_batch_sizes(const ths_server* s, int* out, int cap) {
    int n = 0;
    if (!s || !out || cap <= 0) return 0;
    pthread_mutex_lock((pthread_mutex_t*)&s->m);
    while ((size_t)n < s->nsizes && n < cap) { out[n] = s->sizes[n]; n++; }
    pthread_mutex_unlock((pthread_mutex_t*)&s->m);
    return n;
}

THS__FN void ths_last(const ths_server* s, char* path, size_t pcap, char* auth, size_t acap,
                      char* model, size_t mcap) {
    if (path && pcap) path[0] = 0;
    if (auth && acap) auth[0] = 0;
    if (model && mcap) model[0] = 0;
    if (!s) return;
    pthread_mutex_lock((pthread_mutex_t*)&s->m);
    ths__copy(path, pcap, s->last_path, strlen(s->last_path));
    ths__copy(auth, acap, s->last_auth, strlen(s->last_auth));
    ths__copy(model, mcap, s->last_model, strlen(s->last_model));
    pthread_mutex_unlock((pthread_mutex_t*)&s->m);
}

THS__FN void ths_reset_counters(ths_server* s) {
    if (!s) return;
    pthread_mutex_lock(&s->m);
    s->requests = s->inputs = s->max_batch = 0;
    s->nsizes = 0;
    s->last_path[0] = s->last_auth[0] = s->last_model[0] = 0;
    pthread_mutex_unlock(&s->m);
}

#undef THS__GET

#endif /* THS_HTTP_SERVER_H_INCLUDED */

/*
MIT License

Copyright (c) 2025 the cocoindex.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEPENDENCIES OF THE SOFTWARE.
*/
