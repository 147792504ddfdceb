/* bench/bench_fp.c -- BLAKE3 fingerprint throughput (a benchmark, not a test).
   bench_fp                       per path (portable/sse41/avx2/avx512), GB/s for in-memory
                                  buffers of 1 KiB and 64 KiB, best of 5 runs of >= 0.2 s each
   bench_fp FILE [BLOCK_BYTES]    hashes FILE on one thread with read() in blocks of
                                  BLOCK_BYTES (default 512 KiB; 64 KiB .. 1 MiB), like
                                  `b3sum --no-mmap --num-threads 1`; prints GB/s and the hash
   Build: cc -O2 -o build/bench_fp bench/bench_fp.c */
#ifdef COCO_TEST_HARNESS
#include COCO_TEST_HARNESS
#else
#define COCOINDEX_IMPLEMENTATION
#include "../cocoindex.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint8_t g_sink;

/* Best of 5 runs; each run repeats coco_fp_of until >= 0.2 s have passed. */
static double bench_buffer(const uint8_t* buf, size_t size) {
    double best = 0;
    int run;
    for (run = 0; run < 5; run++) {
        double t0 = now_s(), t;
        size_t iters = 0, batch = size >= 65536 ? 16 : 1024, i;
        do {
            for (i = 0; i < batch; i++) {
                coco_fp fp = coco_fp_of(buf, size);
                g_sink ^= fp.bytes[0];
            }
            iters += batch;
            t = now_s() - t0;
        } while (t < 0.2);
        if ((double)iters * (double)size / t / 1e9 > best)
            best = (double)iters * (double)size / t / 1e9;
    }
    return best;
}

static int bench_paths(void) {
    static const char* names[4] = { "portable", "sse41", "avx2", "avx512" };
    static const size_t sizes[2] = { 1024, 65536 };
    uint8_t* buf = (uint8_t*)malloc(65536);
    size_t i;
    int lvl, s;
    if (!buf) return 1;
    for (i = 0; i < 65536; i++) buf[i] = (uint8_t)(i * 131 + (i >> 9));
    printf("fp auto path=%s\n", coco_fp_simd());
    for (lvl = COCO__SIMD_PORTABLE; lvl <= COCO__SIMD_AVX512; lvl++) {
        if (!coco__blake3_force(lvl)) {
            printf("fp path=%s skipped (not supported by this CPU)\n", names[lvl]);
            continue;
        }
        for (s = 0; s < 2; s++)
            printf("fp path=%s size=%u gbps=%.2f\n", names[lvl], (unsigned)sizes[s],
                   bench_buffer(buf, sizes[s]));
    }
    coco__blake3_force(-1);
    free(buf);
    return 0;
}

static int bench_file(const char* path, size_t block) {
    uint8_t* buf;
    uint8_t out[32];
    coco_hasher h;
    double t0, t;
    uint64_t total = 0;
    int fd, i;
    if (block < 65536) block = 65536;
    if (block > 1u << 20) block = 1u << 20;
    buf = (uint8_t*)malloc(block);
    if (!buf) return 1;
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        free(buf);
        return 1;
    }
    t0 = now_s();
    coco_hasher_init(&h);
    for (;;) {
        ssize_t n = read(fd, buf, block);
        if (n < 0) {
            perror("read");
            close(fd);
            free(buf);
            return 1;
        }
        if (n == 0) break;
        coco_hasher_update(&h, buf, (size_t)n);
        total += (uint64_t)n;
    }
    coco_hasher_finalize(&h, out, 32);
    t = now_s() - t0;
    close(fd);
    free(buf);
    printf("fp file path=%s block=%u bytes=%llu secs=%.3f gbps=%.2f\n", coco_fp_simd(),
           (unsigned)block, (unsigned long long)total, t, (double)total / t / 1e9);
    for (i = 0; i < 32; i++) printf("%02x", out[i]);
    printf("  %s\n", path);
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1) return bench_file(argv[1], argc > 2 ? (size_t)strtoul(argv[2], NULL, 10)
                                                      : (size_t)512 << 10);
    return bench_paths();
}
