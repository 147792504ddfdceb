/* fuzz/fuzz_replay.h -- runs a fuzz entry point over files and directories of inputs, without
   libFuzzer (fuzz/replay.c, tests/test_fuzz_replay.c).  Include after fuzz_common.h. */
#ifndef FUZZ_REPLAY_H_INCLUDED
#define FUZZ_REPLAY_H_INCLUDED

#include <dirent.h>
#include <sys/stat.h>

typedef int (*fuzz_entry)(const uint8_t* data, size_t size);

static int fuzz_replay__cmp(const void* a, const void* b) {
    return strcmp(*(char* const*)a, *(char* const*)b);
}

/* Runs `fn` on the file at `path`.  Returns 1 when it ran, 0 when the file cannot be read. */
FUZZ_UNUSED static int fuzz_replay_file(const char* path, fuzz_entry fn) {
    FILE* f = fopen(path, "rb");
    uint8_t* b;
    long n;
    if (!f) return 0;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return 0;
    }
    /* an exact-size copy: reads past the input are caught by the sanitizers */
    b = (uint8_t*)malloc(n ? (size_t)n : 1);
    if (!b || (n && fread(b, 1, (size_t)n, f) != (size_t)n)) {
        free(b);
        fclose(f);
        return 0;
    }
    fclose(f);
    fuzz_input_name = path;
    fn(b, (size_t)n);
    fuzz_input_name = NULL;
    free(b);
    return 1;
}

/* Runs `fn` on `path`: a file, or every regular file of a directory in name order.  Returns
   the number of inputs run, or -1 when `path` does not exist. */
FUZZ_UNUSED static long fuzz_replay_path(const char* path, fuzz_entry fn) {
    struct stat st;
    DIR* d;
    struct dirent* e;
    char** names = NULL;
    size_t n = 0, cap = 0, i;
    long ran = 0;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) return fuzz_replay_file(path, fn);
    if (!(d = opendir(path))) return -1;
    while ((e = readdir(d)) != NULL) {
        size_t len;
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = (char**)realloc(names, cap * sizeof *names);
            if (!names) abort();
        }
        len = strlen(path) + strlen(e->d_name) + 2;
        if (!(names[n] = (char*)malloc(len))) abort();
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, fuzz_replay__cmp);
    for (i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) ran += fuzz_replay_file(names[i], fn);
        free(names[i]);
    }
    free(names);
    return ran;
}

#endif
