/* text_embedding -- every **.md and **.txt file under --src is split into chunks, each chunk
   embedded, and the rows (file, location, text, embedding) kept in a SQLite table in --out.
   Run it again and only the chunks of changed files are embedded and written again.
       text_embedding update --src docs --out docs.sqlite      (also: drop, show, stats)
       text_embedding query "how do I drop an app?" --out docs.sqlite [--top 5]
   The embedder is the built-in hashing embedder (no model, no network), or an embedding
   service when COCO_EMBED_URL and COCO_EMBED_MODEL are set:
       COCO_EMBED_URL      http://127.0.0.1:11434 (Ollama), https://api.openai.com, ...
       COCO_EMBED_MODEL    the model name
       COCO_EMBED_API      "openai" (default: POST /v1/embeddings) or "ollama" (/api/embed)
       COCO_EMBED_DIM      dimensions to ask for (optional)
       COCO_EMBED_KEY_ENV  the variable holding the API key (default: OPENAI_API_KEY)
       COCO_EMBED_BATCH    texts per request (default 64)
       COCO_EMBED_TOTAL_MS bound on one batch's time, retries included (default 300000) */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#include "../connectors/cocoindex_sqlite.h"
#include "../connectors/cocoindex_http_embed.h"
#include <sqlite3.h>

#define HASH_DIM 256

static const char*       src_dir = "./docs";
static const char*       out_db = "./text_embedding.sqlite";
static coco_target*      sql;           /* the SQLite database                          */
static coco_target*      rows;          /* the chunks table, set by the root each run   */
static coco_http_embed*  http;          /* NULL: the hashing embedder                   */
static const coco_fn*    http_fn;
static uint32_t          dim = HASH_DIM;

static const char* const key_cols[] = { "filename", "start" };
static coco_sqlite_column cols[] = {
    { "filename",  COCO_SQLITE_TEXT,    0, 0 },
    { "start",     COCO_SQLITE_INTEGER, 0, 0 },   /* byte offset of the chunk            */
    { "location",  COCO_SQLITE_TEXT,    0, 0 },   /* "12:1-20:5" (line:column-line:column) */
    { "text",      COCO_SQLITE_TEXT,    0, 0 },
    { "embedding", COCO_SQLITE_VECTOR,  HASH_DIM, 0 },
};
static coco_sqlite_table table = { "doc_chunks", cols, 5, key_cols, 2, COCO_SQLITE_MANAGED_DEFAULT };

/* The built-in embedder as a function: its version is part of every memo that stores its
   vectors, so a new hashing algorithm re-embeds everything. */
static coco_value hash_deps_v;
static coco_result hash_embed(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* ret) {
    float* v = (float*)coco_arena_alloc(coco_ctx_arena(ctx), HASH_DIM * sizeof *v);
    (void)n;
    if (!v) return COCO_ERR_NOMEM;
    coco_hash_embed(a[0].u.s.ptr, a[0].u.s.len, v, HASH_DIM);
    *ret = coco_vec_f32(v, HASH_DIM);
    return COCO_OK;
}
static coco_fn hash_fn = { "hash_embed", 1, &hash_deps_v, 0, COCO_TRACK_DEFAULT, NULL, hash_embed };

/* One component per file (memoized on the file: unchanged = one stat, nothing else). */
static coco_result index_file(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    const coco_localfs_file* f = coco_localfs_file_of(&args[0]);
    const char* path = coco_localfs_file_path(f);
    coco_arena* ar = coco_ctx_arena(ctx);
    coco_split_desc split = { 0 };
    coco_bytes text;
    coco_chunk* chunks = NULL;
    coco_value *texts, *vecs;
    size_t nch = 0, i;
    coco_result rc;
    (void)n; (void)ret;
    if ((rc = coco_localfs_file_read_text(f, ctx, COCO_LOCALFS_TEXT_REPLACE, &text)) != COCO_OK)
        return rc;
    split.chunk_size = 1000;
    split.chunk_overlap = 200;
    split.language = coco_lang_from_name(path);
    if ((rc = coco_split_text(ar, (const char*)text.ptr, text.len, &split, &chunks, &nch)))
        return coco_ctx_fail(ctx, rc, "%s: %s", path, coco_arena_errmsg(ar));
    if (!nch) return COCO_OK;
    texts = (coco_value*)coco_arena_alloc(ar, nch * sizeof *texts);
    vecs = (coco_value*)coco_arena_alloc(ar, nch * sizeof *vecs);
    if (!texts || !vecs) return COCO_ERR_NOMEM;
    for (i = 0; i < nch; i++) texts[i] = coco_strn(chunks[i].text, chunks[i].len);
    /* the service: a document's chunks in one request, each chunk memoized on its own */
    rc = http ? coco_map_call(ctx, http_fn, texts, nch, vecs)
              : coco_map_call(ctx, &hash_fn, texts, nch, vecs);
    if (rc != COCO_OK) return rc;
    for (i = 0; i < nch; i++) {
        char* loc = (char*)coco_arena_alloc(ar, 64);
        coco_value row[5];
        if (!loc) return COCO_ERR_NOMEM;
        snprintf(loc, 64, "%zu:%zu-%zu:%zu", chunks[i].start.line, chunks[i].start.column,
                 chunks[i].end.line, chunks[i].end.column);
        row[0] = coco_str(path);
        row[1] = coco_int((int64_t)chunks[i].start.offset);
        row[2] = coco_str(loc);
        row[3] = texts[i];
        row[4] = vecs[i];
        if ((rc = coco_sqlite_declare_row(ctx, rows, row, 5)) != COCO_OK) return rc;
    }
    return COCO_OK;
}
static const coco_fn index_fn = { "index_file", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, index_file };

static coco_result app_main(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    static const char* const include[] = { "**/*.md", "**/*.txt" };
    static const char* const exclude[] = { "**/.*", "**/build", "**/node_modules" };
    coco_localfs_walk_desc walk = { 0 };
    coco_result rc;
    (void)args; (void)n; (void)ret;
    if ((rc = coco_sqlite_mount_table(ctx, sql, &table, &rows)) != COCO_OK) return rc;
    walk.context_key = "src";
    walk.recursive = 1;
    walk.include = include;
    walk.ninclude = 2;
    walk.exclude = exclude;
    walk.nexclude = 3;
    return coco_localfs_mount_walk(ctx, coco_str("files"), &walk, &index_fn);
}
static const coco_fn app_fn = { "text_embedding", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, app_main };

/* ---- the embedder: built in, or a service named by the environment ------------------------ */
static int embedder_from_env(char* err, size_t cap) {
    const char* url = getenv("COCO_EMBED_URL");
    const char* model = getenv("COCO_EMBED_MODEL");
    const char* api = getenv("COCO_EMBED_API");
    const char* d = getenv("COCO_EMBED_DIM");
    const char* key = getenv("COCO_EMBED_KEY_ENV");
    const char* batch = getenv("COCO_EMBED_BATCH");
    const char* total = getenv("COCO_EMBED_TOTAL_MS");
    coco_http_embed_desc hd = { COCO_HTTP_EMBED_OPENAI, NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0,
                                NULL, NULL };
    hash_deps_v = coco_int(COCO_HASH_EMBED_VERSION);
    if (!url || !*url) return 0;
    if (!model || !*model) {
        snprintf(err, cap, "COCO_EMBED_URL is set but COCO_EMBED_MODEL is not");
        return -1;
    }
    hd.api = api && !strcmp(api, "ollama") ? COCO_HTTP_EMBED_OLLAMA : COCO_HTTP_EMBED_OPENAI;
    hd.base_url = url;
    hd.model = model;
    hd.dimensions = d ? (uint32_t)strtoul(d, NULL, 10) : 0;
    hd.api_key_env = key ? key : "OPENAI_API_KEY";
    hd.max_batch_size = batch ? (uint32_t)strtoul(batch, NULL, 10) : 0;
    hd.total_timeout_ms = total ? (uint32_t)strtoul(total, NULL, 10) : 0;
    if (coco_http_embed_create(&hd, &http, err, cap) != COCO_OK) return -1;
    if (hd.dimensions) {
        dim = hd.dimensions;
    } else {
        /* the table needs the dimension before anything is embedded: ask once */
        coco_arena* ar = NULL;
        coco_value probe = coco_str("dimension probe");
        float* v;
        size_t got = 0;
        coco_result rc = coco_arena_create(NULL, &ar);
        if (rc == COCO_OK) rc = coco_http_embed_texts(http, &probe, 1, ar, &v, &got, err, cap);
        coco_arena_destroy(ar);
        if (rc != COCO_OK) return -1;
        dim = (uint32_t)got;
    }
    cols[4].dim = dim;
    return 1;
}

static coco_result setup(void* user, coco_env* env) {
    coco_sqlite_desc sd = { 0 };
    coco_result rc;
    (void)user;
    coco_env_provide(env, "src", (void*)src_dir, NULL, 0);
    /* registered up front: a file's memo names the embedder, so it must be known before the
       first file is checked (else every file would run again) */
    if ((rc = coco_fn_register(env, &hash_fn)) != COCO_OK) return rc;
    if (http && (rc = coco_http_embed_attach(http, env, &http_fn)) != COCO_OK) return rc;
    sd.db_path = out_db;
    return coco_sqlite_target_create(env, &sd, &sql);
}

/* ---- query: the top chunks for a question --------------------------------------------------- */
static int query(const char* prog, const char* question, int top) {
    sqlite3* db = NULL;
    coco_arena* ar = NULL;
    coco_sqlite_hit hits[50];
    size_t nhits = 0, i;
    float* q = NULL;
    char err[512];
    int code = 0;
    if (sqlite3_open_v2(out_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: cannot open '%s': %s (run `%s update` first)\n", prog, out_db,
                db ? sqlite3_errmsg(db) : "out of memory", prog);
        sqlite3_close(db);
        return 1;
    }
    coco_arena_create(NULL, &ar);
    if (http) {
        coco_value t = coco_str(question);
        size_t got = 0;
        if (coco_http_embed_texts(http, &t, 1, ar, &q, &got, err, sizeof err) != COCO_OK) {
            fprintf(stderr, "%s: %s\n", prog, err);
            code = 1;
        }
    } else if ((q = (float*)coco_arena_alloc(ar, dim * sizeof *q)) != NULL) {
        coco_hash_embed(question, strlen(question), q, dim);
    }
    if (!code && coco_sqlite_topk(db, table.name, "embedding", q, dim, (size_t)top,
                                  COCO_SQLITE_COSINE, ar, hits, &nhits, err, sizeof err)) {
        fprintf(stderr, "%s: query on '%s' failed: %s\n", prog, out_db, err);
        code = 1;
    }
    for (i = 0; !code && i < nhits; i++) {
        sqlite3_stmt* st = NULL;
        const coco_value* k = &hits[i].key;
        sqlite3_prepare_v2(db, "SELECT location, text FROM doc_chunks WHERE filename = ? AND "
                           "start = ?", -1, &st, NULL);
        sqlite3_bind_text(st, 1, k->u.list.items[0].u.s.ptr, (int)k->u.list.items[0].u.s.len,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, k->u.list.items[1].u.i);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char* loc = sqlite3_column_text(st, 0);
            const unsigned char* text = sqlite3_column_text(st, 1);
            char excerpt[161];
            size_t j;
            for (j = 0; text && text[j] && j < 160; j++)
                excerpt[j] = (char)(text[j] == '\n' || text[j] == '\t' ? ' ' : text[j]);
            excerpt[j] = 0;
            printf("%.3f  %.*s:%s\n       %s%s\n", hits[i].score,
                   (int)k->u.list.items[0].u.s.len, k->u.list.items[0].u.s.ptr,
                   loc ? (const char*)loc : "?", excerpt, text && text[j] ? "..." : "");
        }
        sqlite3_finalize(st);
    }
    if (!code && nhits == 0) printf("no chunks indexed in '%s' yet\n", out_db);
    coco_arena_destroy(ar);
    sqlite3_close(db);
    return code;
}

int main(int argc, char** argv) {
    coco_cli_option options[2] = {
        { "--src", "DIR", "the documents (**/*.md, **/*.txt); default ./docs", &src_dir },
        { "--out", "FILE", "the SQLite database of chunks; default ./text_embedding.sqlite",
          &out_db },
    };
    coco_main_desc app = { 0 };
    char err[512];
    int i, code;
    if (embedder_from_env(err, sizeof err) < 0) {
        fprintf(stderr, "%s: embedder: %s\n", argv[0], err);
        return 1;
    }
    for (i = 1; i < argc; i++)
        if (!strcmp(argv[i], "query")) {
            const char* question = NULL;
            int j, top = 5;
            for (j = 1; j < argc; j++) {
                if (j == i) continue;
                if (!strcmp(argv[j], "--out") && j + 1 < argc) out_db = argv[++j];
                else if (!strcmp(argv[j], "--top") && j + 1 < argc) top = atoi(argv[++j]);
                else if (!strcmp(argv[j], "--src") && j + 1 < argc) ++j;
                else if (!strcmp(argv[j], "--db") && j + 1 < argc) ++j;
                else if (!question && argv[j][0] != '-') question = argv[j];
                else {
                    fprintf(stderr, "%s query: unexpected '%s'\n", argv[0], argv[j]);
                    return 2;
                }
            }
            if (!question || top < 1 || top > 50) {
                fprintf(stderr, "usage: %s query \"question\" [--out FILE] [--top 1..50]\n",
                        argv[0]);
                return 2;
            }
            code = query(argv[0], question, top);
            coco_http_embed_destroy(http);
            return code;
        }
    app.name = "text_embedding";
    app.about = "chunks of documents with embeddings in SQLite, kept up to date incrementally "
                "(and: query \"question\" [--top N])";
    app.main = &app_fn;
    app.options = options;
    app.noptions = 2;
    app.setup = setup;
    code = coco_main(argc, argv, &app);
    coco_http_embed_destroy(http);
    return code;
}
