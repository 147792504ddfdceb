/* tests/crash_pipeline.c -- the reference pipeline of the crash and fault tests (test_crash.c).
   Every **.md file under --src becomes
     (a) an upper-cased copy at the same relative path under --out (a localfs file target), and
     (b) a row of the SQLite table "files" in --sqlite: (path, size, hash, vec), where hash is
         the hex BLAKE3 fingerprint of the content and vec the 8-float hashing embedding.
   One memoized component per file; inside it two memoized functions (upper, embed8).
       crash_pipeline --db state.db update --src S --out O --sqlite rows.sqlite
   $CRASH_THREADS sets the worker threads (1 = everything on the calling thread). */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#include "../connectors/cocoindex_sqlite.h"

#define CRASH_DIM 8

static const char*  src_dir = "./src";
static const char*  out_dir = "./out";
static const char*  sql_path = "./rows.sqlite";
static coco_target* out_files;
static coco_target* sql;
static coco_target* rows;          /* the table's rows target, set by the root each run */

static const char* const key_cols[] = { "path" };
static const coco_sqlite_column cols[] = {
    { "path", COCO_SQLITE_TEXT,    0, 0 },
    { "size", COCO_SQLITE_INTEGER, 0, 0 },
    { "hash", COCO_SQLITE_TEXT,    0, 0 },
    { "vec",  COCO_SQLITE_VECTOR,  CRASH_DIM, 0 },
};
static const coco_sqlite_table table = { "files", cols, 4, key_cols, 1,
                                         COCO_SQLITE_MANAGED_DEFAULT };

/* upper(bytes) -> bytes: ASCII letters upper-cased, every other byte kept */
static coco_result upper(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* ret) {
    size_t len = a[0].u.s.len, i;
    char* up = (char*)coco_arena_alloc(coco_ctx_arena(ctx), len + 1);
    (void)n;
    if (!up) return COCO_ERR_NOMEM;
    for (i = 0; i < len; i++) {
        char c = a[0].u.s.ptr[i];
        up[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    *ret = coco_bytes_val(up, len);
    return COCO_OK;
}
static const coco_fn upper_fn = { "upper", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, upper };

/* embed8(bytes) -> float32[8] */
static coco_result embed8(coco_ctx* ctx, const coco_value* a, size_t n, coco_value* ret) {
    float* v = (float*)coco_arena_alloc(coco_ctx_arena(ctx), CRASH_DIM * sizeof *v);
    (void)n;
    if (!v) return COCO_ERR_NOMEM;
    coco_hash_embed(a[0].u.s.ptr, a[0].u.s.len, v, CRASH_DIM);
    *ret = coco_vec_f32(v, CRASH_DIM);
    return COCO_OK;
}
static const coco_fn embed_fn = { "embed8", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, embed8 };

static coco_result process_file(coco_ctx* ctx, const coco_value* args, size_t n,
                                coco_value* ret) {
    const coco_localfs_file* f = coco_localfs_file_of(&args[0]);
    const char* path = coco_localfs_file_path(f);
    coco_bytes content;
    coco_value arg, up, vec, row[4];
    char hex[33];
    coco_result rc;
    (void)n; (void)ret;
    if ((rc = coco_localfs_file_read(f, ctx, 0, &content)) != COCO_OK) return rc;
    arg = coco_bytes_val(content.ptr, content.len);
    if ((rc = coco_call(ctx, &upper_fn, &arg, 1, &up)) != COCO_OK) return rc;
    if ((rc = coco_call(ctx, &embed_fn, &arg, 1, &vec)) != COCO_OK) return rc;
    if ((rc = coco_localfs_declare_file(ctx, out_files, path, up.u.s.ptr, up.u.s.len)))
        return rc;
    coco_fp_hex(coco_fp_of(content.ptr, content.len), hex);
    row[0] = coco_str(path);
    row[1] = coco_int((int64_t)content.len);
    row[2] = coco_str(hex);
    row[3] = vec;
    return coco_sqlite_declare_row(ctx, rows, row, 4);
}
static const coco_fn file_fn = { "process_file", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL,
                                 process_file };

static coco_result app_main(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    static const char* const md[] = { "**/*.md" };
    coco_localfs_walk_desc walk = { 0 };
    coco_result rc;
    (void)args; (void)n; (void)ret;
    if ((rc = coco_sqlite_mount_table(ctx, sql, &table, &rows)) != COCO_OK) return rc;
    walk.context_key = "src";
    walk.recursive = 1;
    walk.include = md;
    walk.ninclude = 1;
    return coco_localfs_mount_walk(ctx, coco_str("files"), &walk, &file_fn);
}
static const coco_fn app_fn = { "crash_pipeline", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL,
                                app_main };

static coco_result setup(void* user, coco_env* env) {
    coco_localfs_target_desc out = { 0 };
    coco_sqlite_desc sd = { 0 };
    coco_result rc;
    (void)user;
    coco_env_provide(env, "src", (void*)src_dir, NULL, 0);
    if ((rc = coco_fn_register(env, &upper_fn)) != COCO_OK) return rc;
    if ((rc = coco_fn_register(env, &embed_fn)) != COCO_OK) return rc;
    out.root = out_dir;
    if ((rc = coco_localfs_target_create(env, &out, &out_files)) != COCO_OK) return rc;
    sd.db_path = sql_path;
    return coco_sqlite_target_create(env, &sd, &sql);
}

int main(int argc, char** argv) {
    coco_cli_option options[3] = {
        { "--src", "DIR", "markdown files", &src_dir },
        { "--out", "DIR", "where the upper-cased copies go", &out_dir },
        { "--sqlite", "FILE", "the SQLite database of the 'files' table", &sql_path },
    };
    coco_main_desc app = { 0 };
    const char* th = getenv("CRASH_THREADS");
    app.name = "crash_pipeline";
    app.about = "reference pipeline of the crash tests: md files -> upper-cased files + rows";
    app.main = &app_fn;
    app.options = options;
    app.noptions = 3;
    app.setup = setup;
    app.threads = th ? (uint32_t)strtoul(th, NULL, 10) : 0;
    return coco_main(argc, argv, &app);
}
