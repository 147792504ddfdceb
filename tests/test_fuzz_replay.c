/* tests/test_fuzz_replay.c -- the committed fuzz corpora (fuzz/corpus/<target>/) as regression
   tests: every input of every target runs through that target's checks, without libFuzzer.
   One test per target; an invariant that fails aborts with the target, the input and the
   check.  The corpus directory is $COCO_FUZZ_CORPUS, else fuzz/corpus (from the repository
   root, where make runs the tests). */
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#include "../connectors/cocoindex_localfs.h"
#include "coco_test.h"

/* each target defines LLVMFuzzerTestOneInput: one name per target here */
#define LLVMFuzzerTestOneInput fuzz_value_input
#include "../fuzz/fuzz_value.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_store_input
#include "../fuzz/fuzz_store.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_glob_input
#include "../fuzz/fuzz_glob.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_key_input
#include "../fuzz/fuzz_key.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_split_input
#include "../fuzz/fuzz_split.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_json_input
#include "../fuzz/fuzz_json.c"
#undef LLVMFuzzerTestOneInput
#include "../fuzz/fuzz_replay.h"

static void replay(const char* target, fuzz_entry fn) {
    const char* root = getenv("COCO_FUZZ_CORPUS");
    char dir[1024];
    long n;
    snprintf(dir, sizeof dir, "%s/%s", root && *root ? root : "fuzz/corpus", target);
    n = fuzz_replay_path(dir, fn);
    if (n < 0) printf("#   no corpus at %s\n", dir);
    else printf("#   %s: %ld inputs\n", target, n);
    CHECK(n > 0);
}

static void fuzz_value_corpus(void) { replay("fuzz_value", fuzz_value_input); }
static void fuzz_store_corpus(void) { replay("fuzz_store", fuzz_store_input); }
static void fuzz_glob_corpus(void) { replay("fuzz_glob", fuzz_glob_input); }
static void fuzz_key_corpus(void) { replay("fuzz_key", fuzz_key_input); }
static void fuzz_split_corpus(void) { replay("fuzz_split", fuzz_split_input); }
static void fuzz_json_corpus(void) { replay("fuzz_json", fuzz_json_input); }

int main(int argc, char** argv) {
    coco_test_begin("fuzz_replay", argc, argv);
    RUN(fuzz_value_corpus);
    RUN(fuzz_store_corpus);
    RUN(fuzz_glob_corpus);
    RUN(fuzz_key_corpus);
    RUN(fuzz_split_corpus);
    RUN(fuzz_json_corpus);
    return coco_test_end();
}
