#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L
/* tests/test_soak.c -- the short slice of the soak (tests/soak.c): build/soak with
   SOAK_SECONDS=15 against build/examples/files_transform in live mode under continuous
   churn; ok when it prints "soak: ok" and exits 0.  Its output is shown as comments.
   `make soak` runs the long form (30 minutes).  Knobs: SOAK_SECONDS (15 here), and those of
   tests/soak.c, passed through. */
#include "coco_test.h"
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void soak_short_slice(void) {
    char line[4096], last[4096] = "";
    FILE* p;
    int st, saw_ok = 0;
    REQUIRE(access("build/soak", X_OK) == 0);
    REQUIRE(access("build/examples/files_transform", X_OK) == 0);
    if (!getenv("SOAK_SECONDS")) setenv("SOAK_SECONDS", "15", 1);
    p = popen("build/soak 2>&1", "r");
    REQUIRE(p != NULL);
    while (fgets(line, sizeof line, p)) {
        printf("%s%s", line[0] == '#' ? "" : "# ", line);
        if (!strcmp(line, "soak: ok\n")) saw_ok = 1;
        if (!strncmp(line, "soak: ", 6)) memcpy(last, line, sizeof last);
    }
    st = pclose(p);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(saw_ok);
    CHECK(strstr(last, "soak: ok") != NULL);
}

int main(int argc, char** argv) {
    coco_test_begin("soak", argc, argv);
    RUN(soak_short_slice);
    return coco_test_end();
}
