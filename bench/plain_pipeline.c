/* plain_pipeline.c -- the demo's work done once, without incremental machinery: the anchor
 * for bench/bench_demo.sh.
 *
 *   plain_pipeline SRC_LIST OUT.sqlite
 *
 * For every path in SRC_LIST (one per line): read the file, split it with coco_split_text
 * (the demo's settings), embed each chunk with coco_hash_embed (256 dimensions), and insert
 * the rows (filename, start, location, text, embedding) into a fresh table with one prepared
 * statement in one transaction.  No state, no memo, no change detection: what a from-scratch
 * batch job would do.  Build: cc -O2 plain_pipeline.c -lsqlite3 -lpthread */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include <sqlite3.h>

#define DIM 256

static void must(int ok, const char* what, sqlite3* db) {
    if (!ok) {
        fprintf(stderr, "plain_pipeline: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
        exit(1);
    }
}

int main(int argc, char** argv) {
    FILE* list;
    sqlite3* db = NULL;
    sqlite3_stmt* ins = NULL;
    coco_arena* ar = NULL;
    char path[4096];
    static char buf[1 << 20];
    long files = 0, rows = 0;
    if (argc != 3) { fprintf(stderr, "usage: plain_pipeline SRC_LIST OUT.sqlite\n"); return 2; }
    must((list = fopen(argv[1], "r")) != NULL, argv[1], NULL);
    remove(argv[2]);
    must(sqlite3_open(argv[2], &db) == SQLITE_OK, "open", db);
    must(sqlite3_exec(db, "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; "
                      "PRAGMA synchronous=FULL; CREATE TABLE doc_chunks(filename TEXT NOT NULL, "
                      "start INTEGER NOT NULL, location TEXT NOT NULL, text TEXT NOT NULL, "
                      "embedding BLOB NOT NULL, PRIMARY KEY(filename, start));"
                      "BEGIN", NULL, NULL, NULL) == SQLITE_OK, "schema", db);
    must(sqlite3_prepare_v2(db, "INSERT INTO doc_chunks VALUES (?,?,?,?,?)", -1, &ins, NULL) ==
         SQLITE_OK, "prepare", db);
    coco_arena_create(NULL, &ar);
    while (fgets(path, sizeof path, list)) {
        size_t n = strlen(path), len, nch = 0, i;
        FILE* f;
        coco_split_desc sd;
        coco_chunk* ch = NULL;
        if (n && path[n - 1] == '\n') path[--n] = 0;
        if (!n) continue;
        must((f = fopen(path, "rb")) != NULL, path, NULL);
        len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        memset(&sd, 0, sizeof sd);
        sd.chunk_size = 1000;
        sd.chunk_overlap = 200;
        sd.language = coco_lang_from_name(path);
        coco_arena_reset(ar);
        must(coco_split_text(ar, buf, len, &sd, &ch, &nch) == COCO_OK, "split", NULL);
        for (i = 0; i < nch; i++) {
            float v[DIM];
            char loc[64];
            coco_hash_embed(ch[i].text, ch[i].len, v, DIM);
            snprintf(loc, sizeof loc, "%zu:%zu-%zu:%zu", ch[i].start.line, ch[i].start.column,
                     ch[i].end.line, ch[i].end.column);
            sqlite3_bind_text(ins, 1, path, (int)n, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, (sqlite3_int64)ch[i].start.offset);
            sqlite3_bind_text(ins, 3, loc, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 4, ch[i].text, (int)ch[i].len, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 5, v, (int)sizeof v, SQLITE_TRANSIENT);
            must(sqlite3_step(ins) == SQLITE_DONE, "insert", db);
            sqlite3_reset(ins);
            rows++;
        }
        files++;
    }
    must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK, "commit", db);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    coco_arena_destroy(ar);
    fclose(list);
    printf("plain_pipeline files=%ld rows=%ld\n", files, rows);
    return 0;
}
