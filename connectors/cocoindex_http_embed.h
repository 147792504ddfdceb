/* cocoindex_http_embed.h - v0.1.0 - text embeddings from an HTTP service for cocoindex.h - MIT
   licence, see end of file

   Include cocoindex.h first.  In the one C or C++ file that defines COCOINDEX_IMPLEMENTATION,
   include this header after cocoindex.h: the implementation comes with it.  Link -lcurl
   (libcurl 7.66 or newer).  <curl/curl.h> is included only by the implementation.  POSIX;
   C99 or C++11.

   QUICK START
       coco_http_embed_desc d = {0};
       d.api = COCO_HTTP_EMBED_OPENAI;              or COCO_HTTP_EMBED_OLLAMA
       d.base_url = "http://127.0.0.1:8089";        {base}/v1/embeddings, {base}/api/embed
       d.model = "text-embedding-3-small";
       d.api_key_env = "OPENAI_API_KEY";            the key is read from this variable
       coco_http_embed_create(&d, &emb, err, sizeof err);
       coco_http_embed_attach(emb, env, &embed_fn);     before the first update
       in a component:
           coco_value text = coco_strn(chunk, len), vec;
           coco_call(ctx, embed_fn, &text, 1, &vec);        vec: COCO_VEC_F32
           coco_map_call(ctx, embed_fn, texts, n, vecs);    a document's chunks at once
       after coco_env_close: coco_http_embed_destroy(emb);
       without the engine: coco_http_embed_texts(emb, texts, n, arena, &floats, &dim, ...).

   CONTENTS (grep for the >>tag)
       >>he_api  >>he_impl_base  >>he_impl_http  >>he_impl_parse  >>he_impl_public

   WIRE FORMATS
       OpenAI-compatible: POST {base_url}/v1/embeddings with
           {"model": M, "input": [texts], "encoding_format": "float", "dimensions": D}
       ("dimensions" only when desc.dimensions is set); the answer's data[i].index says which
       input each data[i].embedding belongs to.  Ollama: POST {base_url}/api/embed with
       {"model": M, "input": [texts]} ("dimensions" too when set), answer {"embeddings":
       [[...], ...]} in input order.  Headers: Content-Type: application/json, and
       Authorization: Bearer <key> when desc.api_key_env names a set variable.  A base_url
       that already ends in "/v1" (OpenAI) is not given a second one.

   BATCHING AND MEMO
       coco_http_embed_attach registers a memoized batched function (coco_fn_batch): calls
       from concurrent components, and the items of one coco_map_call, travel together in
       requests of up to max_batch_size texts.  Each text is its own memo entry, so an
       unchanged chunk is never sent again.  The embedder's identity (api, model, dimensions)
       is the function's deps and is provided as change-detected context under
       desc.context_key: switching the model re-embeds everything, and components that
       coco_use() the key run again.

   RETRIES AND ERRORS
       429, 5xx, timeouts, refused or dropped connections and truncated answers are retried
       up to max_retries times with exponential backoff (backoff_ms doubling to
       backoff_max_ms, with jitter: a random delay in [d/2, d]); a Retry-After header (seconds
       or an HTTP date) replaces the backoff.  One batch never takes longer than
       total_timeout_ms: a retry that would end past it is not started and the batch fails
       with the last error.  Not retried (the batch fails at once, the message names the URL,
       the status and the server's own message): other 4xx, an answer that is not JSON, the
       wrong number of embeddings, an embedding of the wrong dimension (desc.dimensions, or
       the dimension of the first answer when it is 0), a non-number in a vector.

   LIMITS (v0.1)
       Inputs are strings (COCO_STR); nothing is truncated or tokenised here: the service's
       own input limits apply.  No streaming, no base64 encoding_format, no TLS options
       beyond libcurl's defaults (system CA store).

   THREADING
       coco_http_embed_create calls curl_global_init: create embedders before starting
       threads.  One embedder serves any number of threads (a small pool of connections
       is kept per embedder).
*/
#if defined(COCOINDEX_IMPLEMENTATION) && !defined(COCOINDEX_HTTP_EMBED_IMPLEMENTATION)
#define COCOINDEX_HTTP_EMBED_IMPLEMENTATION
#endif

#ifndef COCOINDEX_HTTP_EMBED_H_INCLUDED
#define COCOINDEX_HTTP_EMBED_H_INCLUDED
#ifndef COCOINDEX_H_INCLUDED
#error "include cocoindex.h before cocoindex_http_embed.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ==============================================================================================
   >>he_api -- embedders (Public)
   ============================================================================================== */

typedef enum coco_http_embed_api {
    COCO_HTTP_EMBED_OPENAI = 0,          /* POST {base}/v1/embeddings (OpenAI, vLLM, TEI, ...) */
    COCO_HTTP_EMBED_OLLAMA,              /* POST {base}/api/embed                              */
    COCO__HTTP_EMBED_FORCE_U32 = 0x7FFFFFFF
} coco_http_embed_api;

typedef struct coco_http_embed_desc {
    coco_http_embed_api api;
    const char* base_url;          /* "http://host:port" (https too); required               */
    const char* model;             /* required                                               */
    uint32_t    dimensions;        /* 0 = the model's own (not sent); else sent and checked  */
    const char* api_key_env;       /* name of the variable holding the bearer key; NULL none */
    uint32_t    max_batch_size;    /* texts per request; 0 = 64                              */
    uint32_t    timeout_ms;        /* one request; 0 = 60000                                 */
    uint32_t    total_timeout_ms;  /* one batch, retries included; 0 = 300000                */
    uint32_t    max_retries;       /* 0 = 8                                                  */
    uint32_t    backoff_ms;        /* first retry delay; 0 = 500                             */
    uint32_t    backoff_max_ms;    /* 0 = 30000                                              */
    const char* fn_name;           /* name of the memoized function; NULL = "http_embed"     */
    const char* context_key;       /* context key of the identity; NULL = "embedder"         */
} coco_http_embed_desc;

typedef struct coco_http_embed coco_http_embed;

typedef struct coco_http_embed_stats {
    uint64_t requests;             /* HTTP requests sent (retries included)                 */
    uint64_t texts;                /* texts embedded                                        */
    uint64_t retries;              /* requests repeated after a retryable failure           */
    uint64_t failures;             /* batches that failed                                   */
} coco_http_embed_stats;

/* coco_http_embed_create
   Checks the desc and makes an embedder (no request is sent).  Errors: COCO_ERR_INVALID_ARG
   (no base_url or model, a base_url that is not http:// or https://), COCO_ERR_NOMEM, COCO_ERR_IO
   (libcurl could not start); the detail in err.  Thread-safety: before threads start. */
COCO_API coco_result coco_http_embed_create(const coco_http_embed_desc* desc,
                                            coco_http_embed** out, char* err, size_t cap);
/* After the env that uses it is closed. */
COCO_API void        coco_http_embed_destroy(coco_http_embed* e);

/* coco_http_embed_attach
   Registers the embedder's memoized batched function with `env` (see BATCHING AND MEMO) and
   provides its identity as context; *fn is the function to coco_call / coco_map_call with
   one COCO_STR argument, giving a COCO_VEC_F32.  Call before the first update. */
COCO_API coco_result coco_http_embed_attach(coco_http_embed* e, coco_env* env,
                                            const coco_fn** fn);

/* coco_http_embed_texts
   Embeds `n` strings without the engine (in requests of up to max_batch_size): *out gets
   n * *dim floats (text i at *out + i * *dim) allocated in `arena`.
   Errors: COCO_ERR_INVALID_ARG (a non-string item), COCO_ERR_IO (the service; see RETRIES
   AND ERRORS), COCO_ERR_TIMEOUT (the total time bound), COCO_ERR_DECODE (a bad answer),
   COCO_ERR_NOMEM; the detail in err.  Thread-safety: any thread. */
COCO_API coco_result coco_http_embed_texts(coco_http_embed* e, const coco_value* texts,
                                           size_t n, coco_arena* arena, float** out,
                                           size_t* dim, char* err, size_t cap);

/* The dimension seen so far (desc.dimensions, or that of the first answer; 0 before it). */
COCO_API size_t      coco_http_embed_dim(const coco_http_embed* e);
COCO_API void        coco_http_embed_stats_get(coco_http_embed* e, coco_http_embed_stats* out);

#ifdef __cplusplus
} /* extern "C" */
#endif
#endif /* COCOINDEX_HTTP_EMBED_H_INCLUDED */

#if defined(COCOINDEX_HTTP_EMBED_IMPLEMENTATION) && !defined(COCOINDEX_HTTP_EMBED_IMPL_INCLUDED)
#define COCOINDEX_HTTP_EMBED_IMPL_INCLUDED 1
#ifndef COCOINDEX_IMPL_INCLUDED
#error "cocoindex_http_embed.h: include it after cocoindex.h in the implementation file"
#endif
#include <curl/curl.h>

/* ==============================================================================================
   >>he_impl_base -- the embedder object, its identity, a connection pool (Private)
   ============================================================================================== */

#define COCO__HE_POOL 8
#define COCO__HE_MAX_ANSWER ((size_t)1 << 30)   /* a bigger answer is refused as an error  */

struct coco_http_embed {
    coco_allocator        a;
    coco_http_embed_api   api;
    char*                 url;          /* the full endpoint                                  */
    char*                 model;
    char*                 key_env;
    char*                 fn_name;
    char*                 context_key;
    uint32_t              dimensions, max_batch, timeout_ms, total_ms, max_retries;
    uint32_t              backoff_ms, backoff_max_ms;
    coco_arena*           arena;        /* the identity value lives here                      */
    coco_value            identity;     /* {"api", "model", "dimensions"}                    */
    coco_fn               fn;
    coco__mutex           m;            /* pool, dim, stats                                   */
    CURL*                 pool[COCO__HE_POOL];
    size_t                npool;
    size_t                dim;
    coco_http_embed_stats stats;
    uint64_t              rng;
};

COCO__PRIVATE char* coco__he_strdup(const coco_allocator* a, const char* s) {
    size_t n = strlen(s);
    char* p = (char*)coco__alloc(a, n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

COCO__PRIVATE void coco__he_free_str(const coco_allocator* a, char* s) {
    if (s) coco__free(a, s, strlen(s) + 1);
}

COCO__PRIVATE CURL* coco__he_take(coco_http_embed* e) {
    CURL* c = NULL;
    coco__mutex_lock(&e->m);
    if (e->npool) c = e->pool[--e->npool];
    coco__mutex_unlock(&e->m);
    return c ? c : curl_easy_init();
}

COCO__PRIVATE void coco__he_give(coco_http_embed* e, CURL* c) {
    coco__mutex_lock(&e->m);
    if (e->npool < COCO__HE_POOL) { e->pool[e->npool++] = c; c = NULL; }
    coco__mutex_unlock(&e->m);
    if (c) curl_easy_cleanup(c);
}

/* A delay in [d/2, d] (xorshift; the state is shared, under the lock). */
COCO__PRIVATE uint32_t coco__he_jitter(coco_http_embed* e, uint32_t d) {
    uint64_t x;
    coco__mutex_lock(&e->m);
    x = e->rng;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    e->rng = x;
    coco__mutex_unlock(&e->m);
    return d / 2 + (uint32_t)(x % (uint64_t)(d / 2 + 1));
}

COCO__PRIVATE void coco__he_sleep_ms(uint64_t ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ==============================================================================================
   >>he_impl_http -- one request, and the retry loop around it (Private)
   ============================================================================================== */

typedef struct coco__he_answer {
    coco__buf   body;
    long        status;
    long        retry_after_s;     /* -1 = no Retry-After                                     */
    CURLcode    cc;
    int         too_big;
    char        curl_err[CURL_ERROR_SIZE];
} coco__he_answer;

COCO__PRIVATE size_t coco__he_write(char* p, size_t size, size_t nmemb, void* user) {
    coco__he_answer* ans = (coco__he_answer*)user;
    size_t n = size * nmemb;
    if (ans->body.len + n > COCO__HE_MAX_ANSWER) { ans->too_big = 1; return 0; }
    if (coco__buf_put(&ans->body, p, n)) return 0;
    return n;
}

COCO__PRIVATE void coco__he_perform(coco_http_embed* e, CURL* c, const coco_bytes* req,
                                    struct curl_slist* headers, uint32_t timeout_ms,
                                    coco__he_answer* ans) {
    curl_off_t ra = -1;
    ans->body.len = 0;
    ans->status = 0;
    ans->retry_after_s = -1;
    ans->too_big = 0;
    ans->curl_err[0] = 0;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, e->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char*)req->ptr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, coco__he_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, (void*)ans);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ans->curl_err);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)COCO__MIN(timeout_ms, 10000u));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);          /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");   /* whatever libcurl can decode      */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cocoindex.h/" COCO_VERSION_STRING);
    ans->cc = curl_easy_perform(c);
    if (ans->cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ans->status);
        if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra >= 0 &&
            (ans->status == 429 || ans->status >= 500))
            ans->retry_after_s = (long)COCO__MIN(ra, (curl_off_t)86400);
    }
}

/* What the server said, for an error message: the JSON error's message when there is one,
   else the start of the body. */
COCO__PRIVATE void coco__he_server_msg(coco_arena* ar, const coco__he_answer* ans, char* out,
                                       size_t cap) {
    coco_value v;
    size_t i, n = COCO__MIN(ans->body.len, 200);
    out[0] = 0;
    if (ans->body.len &&
        coco_json_parse(ar, (const char*)ans->body.ptr, ans->body.len, &v) == COCO_OK &&
        v.kind == COCO_MAP) {
        for (i = 0; i < v.u.map.count; i++) {
            const coco_map_entry* me = &v.u.map.entries[i];
            const coco_value* m = &me->val;
            size_t k;
            if (me->key_len != 5 || memcmp(me->key, "error", 5)) continue;
            if (m->kind == COCO_STR) {
                coco__fmt(out, cap, "%.*s", (int)COCO__MIN(m->u.s.len, 300), m->u.s.ptr);
                return;
            }
            for (k = 0; m->kind == COCO_MAP && k < m->u.map.count; k++) {
                const coco_map_entry* f = &m->u.map.entries[k];
                if (f->key_len == 7 && !memcmp(f->key, "message", 7) && f->val.kind == COCO_STR) {
                    coco__fmt(out, cap, "%.*s", (int)COCO__MIN(f->val.u.s.len, 300),
                              f->val.u.s.ptr);
                    return;
                }
            }
        }
    }
    for (i = 0; i < n && i + 1 < cap; i++) {
        unsigned char ch = ans->body.ptr[i];
        out[i] = (char)(ch >= 0x20 && ch < 0x7F ? ch : ' ');
    }
    out[i] = 0;
}

COCO__PRIVATE int coco__he_retryable_curl(CURLcode cc) {
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT: case CURLE_COULDNT_CONNECT: case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR: case CURLE_PARTIAL_FILE: case CURLE_GOT_NOTHING:
    case CURLE_COULDNT_RESOLVE_HOST: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return 1;
    default: return 0;
    }
}

COCO__PRIVATE coco_result coco__he_parse(coco_http_embed* e, const coco__he_answer* ans,
                                         size_t n, coco_arena* ar, float** out, size_t* dim,
                                         char* err, size_t cap);

/* One batch of n texts (already encoded as the request `req`): the retry loop.  On success
   *out holds n * *dim floats in `ar`. */
COCO__PRIVATE coco_result coco__he_batch_request(coco_http_embed* e, const coco_bytes* req,
                                                 size_t n, coco_arena* ar, float** out,
                                                 size_t* dim, char* err, size_t cap) {
    struct curl_slist* headers = NULL;
    char auth[1024];
    const char* key = e->key_env ? getenv(e->key_env) : NULL;
    uint64_t t0 = coco__now_ns(), deadline = t0 + (uint64_t)e->total_ms * 1000000u;
    uint32_t attempt, backoff = e->backoff_ms;
    coco__he_answer ans;
    coco_result rc = COCO_ERR_IO;
    char last[600];
    CURL* c = coco__he_take(e);
    memset(&ans, 0, sizeof ans);
    coco__buf_init(&ans.body, &e->a);
    last[0] = 0;
    if (!c) { coco__fmt(err, cap, "embedding: libcurl could not make a handle"); return COCO_ERR_NOMEM; }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");     /* no 100-continue round trip */
    if (key && *key) {
        coco__fmt(auth, sizeof auth, "Authorization: Bearer %s", key);
        headers = curl_slist_append(headers, auth);
    }
    for (attempt = 0;; attempt++) {
        uint64_t now = coco__now_ns(), left_ms, wait_ms;
        char smsg[400];
        int retry = 0;
        if (now >= deadline) { rc = COCO_ERR_TIMEOUT; break; }
        left_ms = (deadline - now) / 1000000u;
        if (left_ms == 0) { rc = COCO_ERR_TIMEOUT; break; }
        coco__mutex_lock(&e->m);
        e->stats.requests++;
        if (attempt) e->stats.retries++;
        coco__mutex_unlock(&e->m);
        coco__he_perform(e, c, req, headers, (uint32_t)COCO__MIN((uint64_t)e->timeout_ms, left_ms),
                         &ans);
        if (ans.cc != CURLE_OK) {
            coco__fmt(last, sizeof last, "%s: %s", e->url,
                      ans.too_big ? "the answer is larger than 1 GiB"
                                  : ans.curl_err[0] ? ans.curl_err : curl_easy_strerror(ans.cc));
            retry = !ans.too_big && coco__he_retryable_curl(ans.cc);
            rc = ans.cc == CURLE_OPERATION_TIMEDOUT ? COCO_ERR_TIMEOUT : COCO_ERR_IO;
        } else if (ans.status >= 200 && ans.status < 300) {
            rc = coco__he_parse(e, &ans, n, ar, out, dim, last, sizeof last);
            break;                                         /* a bad answer is not retried */
        } else {
            coco__he_server_msg(ar, &ans, smsg, sizeof smsg);
            coco__fmt(last, sizeof last, "%s: HTTP %ld%s%s", e->url, ans.status,
                      smsg[0] ? ": " : "", smsg);
            retry = ans.status == 429 || ans.status == 408 || ans.status >= 500;
            rc = COCO_ERR_IO;
        }
        if (!retry) break;
        if (attempt >= e->max_retries) {
            size_t l = strlen(last);
            coco__fmt(last + l, sizeof last - l, " (gave up after %u retries)", attempt);
            break;
        }
        if (ans.retry_after_s >= 0) wait_ms = (uint64_t)ans.retry_after_s * 1000u;
        else wait_ms = coco__he_jitter(e, backoff);
        backoff = backoff > e->backoff_max_ms / 2 ? e->backoff_max_ms : backoff * 2;
        now = coco__now_ns();
        if (now + wait_ms * 1000000u >= deadline) {
            size_t l = strlen(last);
            coco__fmt(last + l, sizeof last - l, " (the next try, in %llu ms, would pass the "
                      "total time bound of %u ms)", (unsigned long long)wait_ms, e->total_ms);
            rc = COCO_ERR_TIMEOUT;
            break;
        }
        coco__he_sleep_ms(wait_ms);
    }
    if (rc == COCO_ERR_TIMEOUT && !last[0])
        coco__fmt(last, sizeof last, "%s: no answer within the total time bound of %u ms",
                  e->url, e->total_ms);
    if (rc != COCO_OK) {
        coco__fmt(err, cap, "embedding %zu text%s with model '%s': %s", n, n == 1 ? "" : "s",
                  e->model, last);
        coco__mutex_lock(&e->m);
        e->stats.failures++;
        coco__mutex_unlock(&e->m);
    } else {
        coco__mutex_lock(&e->m);
        e->stats.texts += n;
        coco__mutex_unlock(&e->m);
    }
    curl_slist_free_all(headers);
    coco__buf_free(&ans.body);
    coco__he_give(e, c);
    return rc;
}

/* ==============================================================================================
   >>he_impl_parse -- request bodies and answers (Private)
   ============================================================================================== */

COCO__PRIVATE coco_result coco__he_request(coco_http_embed* e, const coco_value* texts, size_t n,
                                           coco_arena* ar, coco_bytes* out, char* err,
                                           size_t cap) {
    coco_map_entry m[4];
    size_t nm = 0, i;
    coco_value body;
    coco_result rc;
    for (i = 0; i < n; i++)
        if (texts[i].kind != COCO_STR) {
            coco__fmt(err, cap, "embedding: item %zu is not a string", i);
            return COCO_ERR_INVALID_ARG;
        }
    m[nm].key = "model"; m[nm].key_len = 5; m[nm++].val = coco_str(e->model);
    m[nm].key = "input"; m[nm].key_len = 5; m[nm++].val = coco_list(texts, n);
    if (e->api == COCO_HTTP_EMBED_OPENAI) {
        m[nm].key = "encoding_format"; m[nm].key_len = 15; m[nm++].val = coco_str("float");
    }
    if (e->dimensions) {
        m[nm].key = "dimensions"; m[nm].key_len = 10; m[nm++].val = coco_int(e->dimensions);
    }
    body = coco_map(m, nm);
    if ((rc = coco_json_write(ar, &body, out)) != COCO_OK)
        coco__fmt(err, cap, "embedding: request not encodable: %s", coco_arena_errmsg(ar));
    return rc;
}

COCO__PRIVATE const coco_value* coco__he_member(const coco_value* m, const char* key) {
    size_t i, kl = strlen(key);
    if (!m || m->kind != COCO_MAP) return NULL;
    for (i = 0; i < m->u.map.count; i++)
        if (m->u.map.entries[i].key_len == kl && !memcmp(m->u.map.entries[i].key, key, kl))
            return &m->u.map.entries[i].val;
    return NULL;
}

/* One embedding (a JSON array of numbers) into out[0..dim); checks its dimension. */
COCO__PRIVATE int coco__he_vector(coco_http_embed* e, const coco_value* v, size_t which,
                                  float* out, size_t dim, char* err, size_t cap) {
    size_t i;
    if (!v || v->kind != COCO_LIST) {
        coco__fmt(err, cap, "%s: embedding %zu is not an array of numbers", e->url, which);
        return 0;
    }
    if (v->u.list.count != dim) {
        coco__fmt(err, cap, "%s: embedding %zu has %zu dimensions, expected %zu", e->url, which,
                  v->u.list.count, dim);
        return 0;
    }
    for (i = 0; i < dim; i++) {
        const coco_value* x = &v->u.list.items[i];
        double d = x->kind == COCO_FLOAT ? x->u.f : x->kind == COCO_INT ? (double)x->u.i : 0.0;
        float f = (float)d;
        if ((x->kind != COCO_FLOAT && x->kind != COCO_INT) || !(f <= FLT_MAX && f >= -FLT_MAX)) {
            coco__fmt(err, cap, "%s: embedding %zu, element %zu is not a finite float32", e->url,
                      which, i);
            return 0;
        }
        out[i] = f;
    }
    return 1;
}

/* The vector of answer item i (OpenAI: data[i].embedding, placed at data[i].index). */
COCO__PRIVATE const coco_value* coco__he_item(coco_http_embed* e, const coco_value* item,
                                              size_t i, size_t n, char* seen, size_t* at,
                                              char* err, size_t cap) {
    const coco_value* ix;
    *at = i;
    if (e->api != COCO_HTTP_EMBED_OPENAI) return item;
    ix = coco__he_member(item, "index");
    if (!ix || ix->kind != COCO_INT || ix->u.i < 0 || (uint64_t)ix->u.i >= n || seen[ix->u.i]) {
        coco__fmt(err, cap, "%s: data[%zu] has a missing, repeated or out-of-range \"index\"",
                  e->url, i);
        return NULL;
    }
    *at = (size_t)ix->u.i;
    seen[*at] = 1;
    return coco__he_member(item, "embedding");
}

/* The answer of a 2xx: n vectors into *out (n * *dim floats in `ar`). */
COCO__PRIVATE coco_result coco__he_parse(coco_http_embed* e, const coco__he_answer* ans,
                                         size_t n, coco_arena* ar, float** out, size_t* dim,
                                         char* err, size_t cap) {
    coco_value root;
    const coco_value* list;
    size_t i, d;
    char* seen;
    float* vecs;
    int learned = 0;
    const char* field = e->api == COCO_HTTP_EMBED_OPENAI ? "data" : "embeddings";
    if (coco_json_parse(ar, ans->body.len ? (const char*)ans->body.ptr : "", ans->body.len,
                        &root) != COCO_OK) {
        coco__fmt(err, cap, "%s: the answer is not JSON (%s)", e->url, coco_arena_errmsg(ar));
        return COCO_ERR_DECODE;
    }
    list = coco__he_member(&root, field);
    if (!list || list->kind != COCO_LIST) {
        coco__fmt(err, cap, "%s: the answer has no \"%s\" array", e->url, field);
        return COCO_ERR_DECODE;
    }
    if (list->u.list.count != n) {
        coco__fmt(err, cap, "%s: the server returned %zu embeddings for %zu texts", e->url,
                  list->u.list.count, n);
        return COCO_ERR_DECODE;
    }
    if (!(seen = (char*)coco_arena_alloc(ar, n ? n : 1))) return COCO_ERR_NOMEM;
    memset(seen, 0, n ? n : 1);
    coco__mutex_lock(&e->m);
    d = e->dim;
    coco__mutex_unlock(&e->m);
    if (d == 0 && n) {
        /* no dimension configured or seen yet: the first vector's decides */
        size_t at;
        const coco_value* v = coco__he_item(e, &list->u.list.items[0], 0, n, seen, &at, err, cap);
        if (!v) return COCO_ERR_DECODE;
        seen[at] = 0;
        d = v->kind == COCO_LIST ? v->u.list.count : 0;
        learned = 1;
        if (d == 0) {
            coco__fmt(err, cap, "%s: embedding %zu is not a non-empty array of numbers", e->url,
                      at);
            return COCO_ERR_DECODE;
        }
    }
    if (learned) {
        /* nothing to compare with but the answer itself: all its vectors alike */
        for (i = 1; i < n; i++) {
            size_t at;
            const coco_value* v = coco__he_item(e, &list->u.list.items[i], i, n, seen, &at, err,
                                                cap);
            if (!v) return COCO_ERR_DECODE;
            if (v->kind == COCO_LIST && v->u.list.count != d) {
                coco__fmt(err, cap, "%s: embeddings of different dimensions in one answer: %zu "
                          "and %zu", e->url, d, v->u.list.count);
                return COCO_ERR_DECODE;
            }
        }
        memset(seen, 0, n);
    }
    if (!(vecs = (float*)coco_arena_alloc(ar, (n ? n : 1) * d * sizeof *vecs)))
        return COCO_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        size_t at;
        const coco_value* v = coco__he_item(e, &list->u.list.items[i], i, n, seen, &at, err, cap);
        if (!v || !coco__he_vector(e, v, at, vecs + at * d, d, err, cap)) return COCO_ERR_DECODE;
    }
    coco__mutex_lock(&e->m);
    if (!e->dim) e->dim = d;
    coco__mutex_unlock(&e->m);
    *out = vecs;
    *dim = d;
    return COCO_OK;
}

/* ==============================================================================================
   >>he_impl_public -- create, attach, embed (Private, public wrappers)
   ============================================================================================== */

/* Texts in requests of up to max_batch; *out gets n * *dim floats in `ar`. */
COCO__PRIVATE coco_result coco__he_embed(coco_http_embed* e, const coco_value* texts, size_t n,
                                         coco_arena* ar, float** out, size_t* dim, char* err,
                                         size_t cap) {
    size_t at, d = 0;
    float* all = NULL;
    coco_result rc = COCO_OK;
    for (at = 0; at < n; at += e->max_batch) {
        size_t k = COCO__MIN((size_t)e->max_batch, n - at), got = 0;
        coco_bytes req;
        float* vecs = NULL;
        if ((rc = coco__he_request(e, texts + at, k, ar, &req, err, cap)) != COCO_OK) return rc;
        if ((rc = coco__he_batch_request(e, &req, k, ar, &vecs, &got, err, cap)) != COCO_OK)
            return rc;
        if (!all) {
            d = got;
            if (!(all = (float*)coco_arena_alloc(ar, n * d * sizeof *all))) return COCO_ERR_NOMEM;
        }
        if (got != d) {
            coco__fmt(err, cap, "%s: embeddings of %zu dimensions, then of %zu", e->url, d, got);
            return COCO_ERR_DECODE;
        }
        memcpy(all + at * d, vecs, k * d * sizeof *all);
    }
    *out = all;
    *dim = d;
    return COCO_OK;
}

COCO_API size_t coco_http_embed_dim(const coco_http_embed* e) {
    size_t d;
    if (!e) return 0;
    coco__mutex_lock((coco__mutex*)&e->m);
    d = e->dim;
    coco__mutex_unlock((coco__mutex*)&e->m);
    return d;
}

COCO_API void coco_http_embed_stats_get(coco_http_embed* e, coco_http_embed_stats* out) {
    if (!e || !out) return;
    coco__mutex_lock(&e->m);
    *out = e->stats;
    coco__mutex_unlock(&e->m);
}

COCO_API coco_result coco_http_embed_texts(coco_http_embed* e, const coco_value* texts,
                                           size_t n, coco_arena* arena, float** out,
                                           size_t* dim, char* err, size_t cap) {
    char scratch[8];
    if (!err) { err = scratch; cap = sizeof scratch; }
    if (cap) err[0] = 0;
    if (!e || !arena || !out || !dim || (n && !texts)) return COCO_ERR_INVALID_ARG;
    if (!n) { *out = NULL; *dim = coco_http_embed_dim(e); return COCO_OK; }
    return coco__he_embed(e, texts, n, arena, out, dim, err, cap);
}

/* The batch body behind the registered function: rets[i] = the vector of items[i]. */
COCO__PRIVATE coco_result coco__he_batch_fn(void* user, const coco_value* items, size_t n,
                                            coco_value* rets, coco_arena* arena, char* err,
                                            size_t cap) {
    coco_http_embed* e = (coco_http_embed*)user;
    float* v = NULL;
    size_t d = 0, i;
    coco_result rc = coco__he_embed(e, items, n, arena, &v, &d, err, cap);
    if (rc != COCO_OK) return rc;
    for (i = 0; i < n; i++) rets[i] = coco_vec_f32(v + i * d, d);
    return COCO_OK;
}

COCO_API coco_result coco_http_embed_attach(coco_http_embed* e, coco_env* env,
                                            const coco_fn** fn) {
    coco_result rc;
    if (!e || !env) return COCO_ERR_INVALID_ARG;
    if ((rc = coco_fn_batch(env, &e->fn, coco__he_batch_fn, e, e->max_batch)) != COCO_OK)
        return rc;
    if ((rc = coco_env_provide(env, e->context_key, e, &e->identity, 1)) != COCO_OK) return rc;
    if (fn) *fn = &e->fn;
    return COCO_OK;
}

COCO_API void coco_http_embed_destroy(coco_http_embed* e) {
    size_t i;
    coco_allocator a;
    if (!e) return;
    a = e->a;
    for (i = 0; i < e->npool; i++) curl_easy_cleanup(e->pool[i]);
    coco__mutex_free(&e->m);
    coco_arena_destroy(e->arena);
    coco__he_free_str(&a, e->url);
    coco__he_free_str(&a, e->model);
    coco__he_free_str(&a, e->key_env);
    coco__he_free_str(&a, e->fn_name);
    coco__he_free_str(&a, e->context_key);
    coco__free(&a, e, sizeof *e);
}

COCO__PRIVATE coco_result coco__he_identity(coco_http_embed* e) {
    coco_map_entry* m = (coco_map_entry*)coco_arena_alloc(e->arena, 3 * sizeof *m);
    if (!m) return COCO_ERR_NOMEM;
    m[0].key = "api"; m[0].key_len = 3;
    m[0].val = coco_str(e->api == COCO_HTTP_EMBED_OPENAI ? "openai" : "ollama");
    m[1].key = "model"; m[1].key_len = 5; m[1].val = coco_str(e->model);
    m[2].key = "dimensions"; m[2].key_len = 10; m[2].val = coco_int(e->dimensions);
    e->identity = coco_map(m, 3);
    return COCO_OK;
}

COCO_API coco_result coco_http_embed_create(const coco_http_embed_desc* d, coco_http_embed** out,
                                            char* err, size_t cap) {
    static int curl_ready;
    coco_allocator a = coco__allocator_resolve(NULL);
    coco_http_embed* e;
    size_t bl;
    const char* path;
    char scratch[8];
    if (!err) { err = scratch; cap = sizeof scratch; }
    if (cap) err[0] = 0;
    if (!d || !out) return COCO_ERR_INVALID_ARG;
    if (!d->base_url || (strncmp(d->base_url, "http://", 7) && strncmp(d->base_url, "https://", 8))) {
        coco__fmt(err, cap, "embedding: base_url '%s' must start with http:// or https://",
                  d->base_url ? d->base_url : "(none)");
        return COCO_ERR_INVALID_ARG;
    }
    if (!d->model || !*d->model) {
        coco__fmt(err, cap, "embedding: no model given for %s", d->base_url);
        return COCO_ERR_INVALID_ARG;
    }
    if (d->api != COCO_HTTP_EMBED_OPENAI && d->api != COCO_HTTP_EMBED_OLLAMA) {
        coco__fmt(err, cap, "embedding: unknown api %d", (int)d->api);
        return COCO_ERR_INVALID_ARG;
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            coco__fmt(err, cap, "embedding: libcurl could not start");
            return COCO_ERR_IO;
        }
        curl_ready = 1;
    }
    if (!(e = (coco_http_embed*)coco__alloc(&a, sizeof *e))) return COCO_ERR_NOMEM;
    memset(e, 0, sizeof *e);
    e->a = a;
    e->api = d->api;
    e->dimensions = d->dimensions;
    e->dim = d->dimensions;
    e->max_batch = d->max_batch_size ? d->max_batch_size : 64;
    e->timeout_ms = d->timeout_ms ? d->timeout_ms : 60000;
    e->total_ms = d->total_timeout_ms ? d->total_timeout_ms : 300000;
    e->max_retries = d->max_retries ? d->max_retries : 8;
    e->backoff_ms = d->backoff_ms ? d->backoff_ms : 500;
    e->backoff_max_ms = d->backoff_max_ms ? d->backoff_max_ms : 30000;
    if (e->backoff_max_ms < e->backoff_ms) e->backoff_max_ms = e->backoff_ms;
    e->rng = coco__now_ns() | 1u;
    coco__mutex_init(&e->m);
    /* the endpoint: base without a trailing '/', "/v1" not doubled */
    bl = strlen(d->base_url);
    while (bl > 8 && d->base_url[bl - 1] == '/') bl--;
    if (e->api == COCO_HTTP_EMBED_OPENAI)
        path = bl >= 3 && !memcmp(d->base_url + bl - 3, "/v1", 3) ? "/embeddings" : "/v1/embeddings";
    else
        path = "/api/embed";
    if ((e->url = (char*)coco__alloc(&a, bl + strlen(path) + 1)) != NULL) {
        memcpy(e->url, d->base_url, bl);
        strcpy(e->url + bl, path);
    }
    e->model = coco__he_strdup(&a, d->model);
    e->key_env = d->api_key_env ? coco__he_strdup(&a, d->api_key_env) : NULL;
    e->fn_name = coco__he_strdup(&a, d->fn_name ? d->fn_name : "http_embed");
    e->context_key = coco__he_strdup(&a, d->context_key ? d->context_key : "embedder");
    if (!e->url || !e->model || (d->api_key_env && !e->key_env) || !e->fn_name ||
        !e->context_key || coco_arena_create(&a, &e->arena) != COCO_OK ||
        coco__he_identity(e) != COCO_OK) {
        coco_http_embed_destroy(e);
        return COCO_ERR_NOMEM;
    }
    e->fn.name = e->fn_name;
    e->fn.version = 1;
    e->fn.deps = &e->identity;
    e->fn.memo = 1;
    e->fn.logic_tracking = COCO_TRACK_DEFAULT;
    *out = e;
    return COCO_OK;
}

#endif /* COCOINDEX_HTTP_EMBED_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 The cocoindex.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
