/* files_transform -- the quickstart: every **.md file under --src becomes an upper-cased copy
   at the same relative path under --out.  Run it again and only what changed is redone:
       files_transform update --src docs --out out      (also: drop, show, stats, --help) */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#include <ctype.h>

static const char*  src_dir = "./data";
static const char*  out_dir = "./out";
static coco_target* out_files;

/* One component per source file; memoized: an unchanged file costs one stat. */
static coco_result transform(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    const coco_localfs_file* f = coco_localfs_file_of(&args[0]);
    coco_bytes text;
    coco_result rc = coco_localfs_file_read_text(f, ctx, COCO_LOCALFS_TEXT_REPLACE, &text);
    char* up = rc == COCO_OK ? coco_arena_alloc(coco_ctx_arena(ctx), text.len + 1) : NULL;
    (void)n; (void)ret;
    if (!up) return rc != COCO_OK ? rc : COCO_ERR_NOMEM;
    for (size_t i = 0; i < text.len; i++) up[i] = (char)toupper(((const unsigned char*)text.ptr)[i]);
    return coco_localfs_declare_file(ctx, out_files, coco_localfs_file_path(f), up, text.len);
}
static const coco_fn transform_fn = { "transform", 1, NULL, 1, COCO_TRACK_DEFAULT, NULL, transform };

/* The app: one child component per markdown file (watched with `update --live`).  The source
   directory is a context key: its name is the identity, so moving --src keeps the memos. */
static coco_result app_main(coco_ctx* ctx, const coco_value* args, size_t n, coco_value* ret) {
    static const char* const md[] = { "**/*.md" };
    coco_localfs_walk_desc walk = { .context_key = "src", .recursive = 1, .include = md, .ninclude = 1 };
    (void)args; (void)n; (void)ret;
    return coco_localfs_mount_walk(ctx, coco_str("files"), &walk, &transform_fn);
}
static const coco_fn app_fn = { "files_transform", 1, NULL, 0, COCO_TRACK_DEFAULT, NULL, app_main };

static coco_result setup(void* user, coco_env* env) {
    coco_localfs_target_desc out = { 0 };
    (void)user;
    out.root = out_dir;
    coco_env_provide(env, "src", (void*)src_dir, NULL, 0);
    return coco_localfs_target_create(env, &out, &out_files);
}

int main(int argc, char** argv) {
    coco_cli_option options[2] = {
        { "--src", "DIR", "markdown files to transform", &src_dir },
        { "--out", "DIR", "where the upper-cased copies go", &out_dir },
    };
    coco_main_desc app = { 0 };
    app.name = "files_transform";
    app.about = "upper-cased copies of markdown files, kept up to date incrementally";
    app.main = &app_fn;
    app.options = options;
    app.noptions = 2;
    app.setup = setup;
    return coco_main(argc, argv, &app);
}
