/* stat_floor.c -- the floors a no-op update is measured against (bench/bench_noop.sh).
 *
 *   stat_floor stat DIR        recursive readdir + one fstatat(AT_SYMLINK_NOFOLLOW) per entry:
 *                              the least a change check by size+mtime can do without a list
 *   stat_floor readdir DIR     the same walk without the stats (d_type only)
 *   stat_floor statlist LIST   one stat() per path listed in LIST (relative to LIST's
 *                              directory): a known file list, no directory read
 *
 * Prints the counts and a fold of sizes and mtimes so nothing is optimised away.
 * Build: cc -O2 -o stat_floor bench/stat_floor.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int do_stat;
static uint64_t nfiles, ndirs, fold;

static void walk(int dfd) {
    DIR* d = fdopendir(dfd);
    struct dirent* e;
    if (!d) { perror("fdopendir"); close(dfd); return; }
    ndirs++;
    while ((e = readdir(d)) != NULL) {
        const char* nm = e->d_name;
        unsigned char t = e->d_type;
        if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]))) continue;
        if (do_stat || t == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
            fold += (uint64_t)st.st_size * 31u + (uint64_t)st.st_mtim.tv_nsec;
        }
        if (t == DT_DIR) {
            int c = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (c >= 0) walk(c);
        } else if (t == DT_REG) {
            nfiles++;
        }
    }
    closedir(d);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: stat_floor stat|readdir DIR | stat_floor statlist LIST\n");
        return 2;
    }
    if (!strcmp(argv[1], "statlist")) {
        char line[4096], *slash;
        FILE* f = fopen(argv[2], "r");
        struct stat st;
        if (!f) { perror(argv[2]); return 1; }
        snprintf(line, sizeof line, "%s", argv[2]);
        if ((slash = strrchr(line, '/')) != NULL) {
            *slash = 0;
            if (chdir(line[0] ? line : "/")) { perror(line); return 1; }
        }
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (stat(line, &st) == 0) {
                nfiles++;
                fold += (uint64_t)st.st_size * 31u + (uint64_t)st.st_mtim.tv_nsec;
            }
        }
        fclose(f);
    } else if (!strcmp(argv[1], "stat") || !strcmp(argv[1], "readdir")) {
        int fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        do_stat = !strcmp(argv[1], "stat");
        if (fd < 0) { perror(argv[2]); return 1; }
        walk(fd);
    } else {
        fprintf(stderr, "stat_floor: unknown mode '%s'\n", argv[1]);
        return 2;
    }
    printf("files=%llu dirs=%llu fold=%llu\n", (unsigned long long)nfiles,
           (unsigned long long)ndirs, (unsigned long long)fold);
    return 0;
}
