/* fuzz/replay.c -- a main for one fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput
   on every file given, and on every file of every directory given (any C99 compiler; for
   debugging a finding under gdb or valgrind, or replaying a corpus).
   Build: cc -std=c99 -DFUZZ_TARGET_FILE='"fuzz_value.c"' fuzz/replay.c -lpthread
   (make fuzz-replay builds build/fuzz/replay_<target> for each target). */
#ifndef FUZZ_TARGET_FILE
#error "define FUZZ_TARGET_FILE, e.g. -DFUZZ_TARGET_FILE='\"fuzz_value.c\"'"
#endif
#include FUZZ_TARGET_FILE
#include "fuzz_replay.h"

int main(int argc, char** argv) {
    long total = 0, n;
    int i;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if ((n = fuzz_replay_path(argv[i], LLVMFuzzerTestOneInput)) < 0) {
            fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
            return 2;
        }
        total += n;
    }
    printf("%s: %ld inputs replayed, no invariant failed\n", argv[0], total);
    return 0;
}
