#!/bin/sh
# bench/bench_noop.sh -- the no-op update of the quickstart against its anchors, same run.
#
#   sh bench/bench_noop.sh            (make bench-noop; N=100000 make bench-noop)
#
# Generates N markdown files of 1-4 KiB (bench/gen_tree.c: directories of 100 files), runs
# the quickstart once (cold, not measured as a no-op), then with hyperfine, warm page cache:
#   (a) the no-op  `files_transform --db DB update --quiet --src SRC --out OUT`
#   (b) stat floors (bench/stat_floor.c): readdir + one fstatat per entry; readdir alone;
#       one stat per path of a known list
#   (c) `git status --porcelain` on SRC as a git repo with everything committed
#   (d) `ninja` with one `cp` edge per file, built once first (a no-op)
#   (e) one file changed: --prepare appends a line to one source file, then the update (and
#       ninja on the same change); the file's own work (read, write + rename of its output,
#       the durable commit) is measured on a 100-file tree (one directory, like the changed
#       file's) as (one changed - no-op) there.
# Also checks with strace that the no-op opens no source file (directories only).
# Last lines: noop_ratio_to_stat_floor, noop_ratio_to_git_status, noop_ratio_to_ninja (of
# medians).  Scratch: ${TMPDIR:-/tmp}/coco_bench_noop, removed at the end (KEEP=1 keeps it).
#
# Knobs: N (10000), RUNS (10), WARMUP (3), FT (the quickstart binary, default
# build/examples/files_transform), CC (cc), KEEP.
set -eu

N=${N:-10000}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-3}
CC=${CC:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
FT=${FT:-$REPO/build/examples/files_transform}
T=${TMPDIR:-/tmp}/coco_bench_noop
B=$T/bin
R=$T/results
TREE=$T/tree
SMALL=$T/tree100

for tool in hyperfine ninja git python3; do
    command -v $tool >/dev/null 2>&1 || {
        echo "bench_noop: needs $tool (apt-get install -y hyperfine ninja-build git python3)" >&2
        exit 1
    }
done
[ -x "$FT" ] || { echo "bench_noop: $FT not built (make examples)" >&2; exit 1; }
case $FT in /*) ;; *) FT=$(pwd)/$FT ;; esac

rm -rf "$T"
mkdir -p "$B" "$R"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

CFLAGS="-std=c99 -O2 -Wall -Wextra"
$CC $CFLAGS -o "$B/gen_tree" "$HERE/gen_tree.c"
$CC $CFLAGS -o "$B/stat_floor" "$HERE/stat_floor.c"

echo "== machine"
echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p') ($(nproc) cpus)"
echo "kernel: $(uname -r); fs of $T: $(df -T "$T" | awk 'NR==2 {print $2" on "$1}')"
echo "tools: $(hyperfine --version), ninja $(ninja --version), $(git --version)"
echo "binary: $FT"

echo "== setup, N=$N"
t0=$(now); "$B/gen_tree" "$TREE" "$N";  echo "generate: $(secs "$t0") s ($(du -sh "$TREE/src" | cut -f1))"
"$B/gen_tree" "$SMALL" 100
t0=$(now)
for d in "$TREE/src" "$SMALL/src"; do
    git -C "$d" init -q
    git -C "$d" add -A
    git -C "$d" -c user.name=bench -c user.email=bench@localhost commit -qm tree
done
echo "git add + commit: $(secs "$t0") s"
t0=$(now); ninja -C "$TREE" > /dev/null
echo "ninja full build ($N cp edges): $(secs "$t0") s"
SRC=$TREE/src OUT=$TREE/out DB=$TREE/state.db
UPD="$FT --db $DB update --quiet --src $SRC --out $OUT"
UPD1="$FT --db $SMALL/state.db update --quiet --src $SMALL/src --out $SMALL/out"
t0=$(now); "$FT" --db "$DB" update --src "$SRC" --out "$OUT"; echo "cold first update: $(secs "$t0") s"
"$FT" --db "$SMALL/state.db" update --quiet --src "$SMALL/src" --out "$SMALL/out"
nout=$(find "$OUT" -type f -name '*.md' | wc -l)
[ "$nout" = "$N" ] || { echo "bench_noop: $nout outputs for $N sources" >&2; exit 1; }
echo "second update: $("$FT" --db "$DB" update --src "$SRC" --out "$OUT")"

echo "== does a no-op read file content? (strace)"
if command -v strace >/dev/null 2>&1; then
    strace -f -qq -e trace=open,openat,openat2,read,pread64,readv -o "$R/strace.log" $UPD
    ndir=$(grep -c 'O_DIRECTORY' "$R/strace.log" || true)
    nmd=$(grep -E 'open(at2?)?\(' "$R/strace.log" | grep -v O_DIRECTORY | grep -c '\.md"' || true)
    nread=$(grep -cE ' (read|pread64|readv)\(' "$R/strace.log" || true)
    nother=$(grep -E 'open(at2?)?\(' "$R/strace.log" | grep -v O_DIRECTORY | grep -vc '\.md"' || true)
    ndirs=$(find "$SRC" -type d | wc -l)
    echo "no-op: $ndir directory opens ($ndirs directories under src), $nmd source file opens, $nother other opens (libc, db, lock, cpu count), $nread read calls in all"
    if [ "$nmd" = 0 ]; then echo "no_content_read=yes"; else echo "no_content_read=NO"; fi
else
    echo "strace not installed: check skipped"
fi

F=$SRC/$(sed -n 's|^src/||; 1p' "$TREE/files.list")
F1=$SMALL/src/$(sed -n 's|^src/||; 1p' "$SMALL/files.list")
PREP="sh -c 'date +%s%N >> $F'"
PREP1="sh -c 'date +%s%N >> $F1'"

echo "== no-op, warm page cache (hyperfine: $WARMUP warm-ups, $RUNS runs)"
HF="hyperfine -N --style basic --warmup $WARMUP --runs $RUNS"
$HF --export-json "$R/noop.json" \
    -n "coco no-op update" "$UPD" \
    -n "stat floor (readdir + fstatat)" "$B/stat_floor stat $SRC" \
    -n "readdir only" "$B/stat_floor readdir $SRC" \
    -n "stat of a known list" "$B/stat_floor statlist $TREE/files.list" \
    -n "git status" "git -C $SRC status --porcelain" \
    -n "ninja no-op" "ninja -C $TREE" \
    -n "coco no-op update, 100-file tree" "$UPD1"

echo "== one file changed (--prepare appends a line to $F)"
$HF --export-json "$R/change.json" \
    -n "coco update, 1 of N changed" --prepare "$PREP" "$UPD" \
    -n "ninja, 1 of N changed" --prepare "$PREP" "ninja -C $TREE" \
    -n "coco update, 100-file tree, 1 changed" --prepare "$PREP1" "$UPD1"
tail -c 200 "$OUT/${F#$SRC/}" | tail -n 1 | grep -q '^[0-9]*$' || { echo "bench_noop: output of the changed file not updated" >&2; exit 1; }

if command -v strace >/dev/null 2>&1; then
    sh -c "date +%s%N >> $F"
    strace -f -qq -e trace=open,openat,openat2 -o "$R/strace1.log" $UPD
    echo "one changed: $(grep -v O_DIRECTORY "$R/strace1.log" | grep -c '\.md"' || true) opens of .md paths (the changed source; the output goes through a temp name)"
fi

echo "== summary, N=$N"
python3 - "$R/noop.json" "$R/change.json" "$N" <<'EOF'
import json, statistics, sys
res = {}
for p in sys.argv[1:3]:
    for r in json.load(open(p))["results"]:
        res[r["command"]] = (min(r["times"]) * 1e3, statistics.median(r["times"]) * 1e3)
n = int(sys.argv[3])
print("| measurement | min ms | median ms | median / no-op |")
print("|---|---:|---:|---:|")
noop = res["coco no-op update"][1]
for k, (mn, md) in res.items():
    print("| %s | %.2f | %.2f | %.2f |" % (k, mn, md, md / noop))
floor = res["stat floor (readdir + fstatat)"]
git = res["git status"]
nin = res["ninja no-op"]
chg = res["coco update, 1 of N changed"]
own = res["coco update, 100-file tree, 1 changed"][1] - res["coco no-op update, 100-file tree"][1]
print("noop_ms_min=%.2f noop_ms_median=%.2f" % res["coco no-op update"])
print("noop_us_per_file=%.2f stat_floor_us_per_file=%.2f" % (noop * 1e3 / n, floor[1] * 1e3 / n))
print("stat_floor_ms_median=%.2f git_status_ms_median=%.2f ninja_ms_median=%.2f" % (floor[1], git[1], nin[1]))
print("one_changed_ms_median=%.2f own_work_ms=%.2f one_changed_minus_noop_ms=%.2f ninja_one_changed_ms_median=%.2f"
      % (chg[1], own, chg[1] - noop, res["ninja, 1 of N changed"][1]))
print("one_changed_goal=%s (<= no-op + own work: %.2f <= %.2f ms)"
      % ("met" if chg[1] <= noop + own else "missed", chg[1], noop + own))
if n == 10000:
    print("noop_10k_goal=%s (<= 25 ms: %.2f ms)" % ("met" if noop <= 25 else "missed", noop))
mn = res["coco no-op update"][0]
print("ratios of minima: to_stat_floor=%.2f to_git_status=%.2f to_ninja=%.3f"
      % (mn / floor[0], mn / git[0], mn / nin[0]))
print("noop_ratio_to_stat_floor=%.2f" % (noop / floor[1]))
print("noop_ratio_to_git_status=%.2f" % (noop / git[1]))
print("noop_ratio_to_ninja=%.3f" % (noop / nin[1]))
EOF
