/* tests/fault_shim.c -- an LD_PRELOAD library for the fault and crash tests (test_crash.c).
   It counts, across all threads of the process, three classes of calls:
     write   write, pwrite, pwrite64, writev, pwritev on regular files (never fds 0-2)
     fsync   fsync, fdatasync, syncfs
     rename  rename, renameat, renameat2
   and on the Nth call of one class (or of any class) does one of:
     ENOSPC / EIO   the call fails with that errno and does nothing
     kill           SIGKILL before the call
     killafter      SIGKILL right after the call did its work
   Settings come from the environment:
     COCO_FAULT_CLASS   write | fsync | rename | any
     COCO_FAULT_N       the call to act on (1 = the first); unset or 0: only count
     COCO_FAULT_ACTION  ENOSPC | EIO | kill | killafter
     COCO_FAULT_REPORT  a file that gets "injected CLASS N ACTION PATH" when it acts, and
                        "counts write W fsync F rename R" when the process exits normally
   Built as a shared object:  cc -shared -fPIC -o build/fault_shim.so tests/fault_shim.c -ldl
   Counting is by the process's own call order: with CRASH_THREADS=1 it is deterministic. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { CLS_WRITE, CLS_FSYNC, CLS_RENAME, CLS_N, CLS_ANY = CLS_N };
static const char* const cls_name[] = { "write", "fsync", "rename", "any" };

enum { ACT_NONE, ACT_ERRNO, ACT_KILL, ACT_KILLAFTER };

static int           g_init;
static int           g_cls = -1, g_act = ACT_NONE, g_errno;
static unsigned long g_n;
static unsigned long g_count[CLS_N + 1];   /* per class, and CLS_ANY for all of them */
static const char*   g_report;
static const char*   g_act_name = "";

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec*, int, off_t);
typedef int (*fd_fn)(int);
typedef int (*rename_fn)(const char*, const char*);
typedef int (*renameat_fn)(int, const char*, int, const char*);
typedef int (*renameat2_fn)(int, const char*, int, const char*, unsigned);

static void* next_sym(const char* name) {
    return dlsym(RTLD_NEXT, name);
}
#define REAL(type, name, var)                                                  \
    static type var;                                                           \
    if (!var) { void* s_ = next_sym(name); memcpy(&var, &s_, sizeof var); }

static void setup(void) {
    const char* c;
    if (__atomic_load_n(&g_init, __ATOMIC_ACQUIRE)) return;
    c = getenv("COCO_FAULT_CLASS");
    if (c) {
        int i;
        for (i = 0; i <= CLS_ANY; i++)
            if (strcmp(c, cls_name[i]) == 0) g_cls = i;
    }
    c = getenv("COCO_FAULT_N");
    g_n = c ? strtoul(c, NULL, 10) : 0;
    c = getenv("COCO_FAULT_ACTION");
    if (c) {
        g_act_name = c;
        if (strcmp(c, "ENOSPC") == 0) { g_act = ACT_ERRNO; g_errno = ENOSPC; }
        else if (strcmp(c, "EIO") == 0) { g_act = ACT_ERRNO; g_errno = EIO; }
        else if (strcmp(c, "kill") == 0) g_act = ACT_KILL;
        else if (strcmp(c, "killafter") == 0) g_act = ACT_KILLAFTER;
    }
    g_report = getenv("COCO_FAULT_REPORT");
    __atomic_store_n(&g_init, 1, __ATOMIC_RELEASE);
}

static void report(const char* line) {
    REAL(write_fn, "write", real_write)
    int fd;
    if (!g_report) return;
    fd = open(g_report, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (real_write(fd, line, strlen(line)) < 0) { /* nothing to do about it */ }
    close(fd);
}

/* Counts a call of class `cls`; returns the action to take for it (ACT_NONE: none). */
static int count(int cls, int dirfd, const char* name, int fd) {
    unsigned long mine, any;
    int hit;
    setup();
    mine = __atomic_add_fetch(&g_count[cls], 1, __ATOMIC_SEQ_CST);
    any = __atomic_add_fetch(&g_count[CLS_ANY], 1, __ATOMIC_SEQ_CST);
    if (g_act == ACT_NONE || g_n == 0 || g_cls < 0) return ACT_NONE;
    hit = g_cls == CLS_ANY ? any == g_n : (g_cls == cls && mine == g_n);
    if (!hit) return ACT_NONE;
    {
        char path[1024], line[1200], link[64];
        ssize_t l = 0;
        if (!name || name[0] != '/') {           /* the fd, or the directory of a relative name */
            int f = name ? dirfd : fd;
            if (f == AT_FDCWD) snprintf(link, sizeof link, "/proc/self/cwd");
            else snprintf(link, sizeof link, "/proc/self/fd/%d", f);
            l = readlink(link, path, sizeof path - 1);
            if (l < 0) l = 0;
        }
        path[l] = 0;
        if (name) snprintf(path + l, sizeof path - (size_t)l, "%s%s", l ? "/" : "", name);
        snprintf(line, sizeof line, "injected %s %lu %s %s\n", cls_name[cls], g_n, g_act_name,
                 path);
        report(line);
    }
    if (g_act == ACT_KILL) raise(SIGKILL);
    return g_act;
}

static void after(int act) {
    if (act == ACT_KILLAFTER) raise(SIGKILL);
}

static int is_file(int fd) {
    struct stat st;
    return fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

__attribute__((destructor)) static void at_exit_report(void) {
    char line[200];
    setup();
    if (!g_report) return;
    snprintf(line, sizeof line, "counts write %lu fsync %lu rename %lu\n",
             __atomic_load_n(&g_count[CLS_WRITE], __ATOMIC_SEQ_CST),
             __atomic_load_n(&g_count[CLS_FSYNC], __ATOMIC_SEQ_CST),
             __atomic_load_n(&g_count[CLS_RENAME], __ATOMIC_SEQ_CST));
    report(line);
}

/* ---- the write class ---------------------------------------------------------------------- */
#define WRITE_BODY(call)                                                       \
    int act = is_file(fd) ? count(CLS_WRITE, -1, NULL, fd) : ACT_NONE;            \
    ssize_t r;                                                                 \
    if (act == ACT_ERRNO) { errno = g_errno; return -1; }                      \
    r = call;                                                                  \
    after(act);                                                                \
    return r;

ssize_t write(int fd, const void* buf, size_t len) {
    REAL(write_fn, "write", real)
    WRITE_BODY(real(fd, buf, len))
}
ssize_t pwrite(int fd, const void* buf, size_t len, off_t off) {
    REAL(pwrite_fn, "pwrite", real)
    WRITE_BODY(real(fd, buf, len, off))
}
ssize_t pwrite64(int fd, const void* buf, size_t len, off_t off) {
    REAL(pwrite_fn, "pwrite64", real)
    WRITE_BODY(real(fd, buf, len, off))
}
ssize_t writev(int fd, const struct iovec* iov, int n) {
    REAL(writev_fn, "writev", real)
    WRITE_BODY(real(fd, iov, n))
}
ssize_t pwritev(int fd, const struct iovec* iov, int n, off_t off) {
    REAL(pwritev_fn, "pwritev", real)
    WRITE_BODY(real(fd, iov, n, off))
}

/* ---- the fsync class ---------------------------------------------------------------------- */
#define FD_BODY(call)                                                          \
    int act = count(CLS_FSYNC, -1, NULL, fd), r;                                   \
    if (act == ACT_ERRNO) { errno = g_errno; return -1; }                      \
    r = call;                                                                  \
    after(act);                                                                \
    return r;

int fsync(int fd) {
    REAL(fd_fn, "fsync", real)
    FD_BODY(real(fd))
}
int fdatasync(int fd) {
    REAL(fd_fn, "fdatasync", real)
    FD_BODY(real(fd))
}
int syncfs(int fd) {
    REAL(fd_fn, "syncfs", real)
    FD_BODY(real(fd))
}

/* ---- the rename class --------------------------------------------------------------------- */
#define RENAME_BODY(dirfd, to, call)                                           \
    int act = count(CLS_RENAME, dirfd, to, -1), r;                             \
    if (act == ACT_ERRNO) { errno = g_errno; return -1; }                      \
    r = call;                                                                  \
    after(act);                                                                \
    return r;

int rename(const char* from, const char* to) {
    REAL(rename_fn, "rename", real)
    RENAME_BODY(AT_FDCWD, to, real(from, to))
}
int renameat(int fd1, const char* from, int fd2, const char* to) {
    REAL(renameat_fn, "renameat", real)
    RENAME_BODY(fd2, to, real(fd1, from, fd2, to))
}
int renameat2(int fd1, const char* from, int fd2, const char* to, unsigned flags) {
    REAL(renameat2_fn, "renameat2", real)
    RENAME_BODY(fd2, to, real(fd1, from, fd2, to, flags))
}
