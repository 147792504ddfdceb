#!/bin/sh
# bench/bench_demo.sh -- the text_embedding demo over N generated markdown files, same run:
#
#   sh bench/bench_demo.sh             (make bench-demo; N=10000 by default, ~1 min)
#
#   cold      first `text_embedding update` on a fresh state db and a fresh SQLite file
#             (read, split, hashing embedder, one row per chunk, every state committed)
#   plain     the same work as a one-shot program with no state (bench/plain_pipeline.c:
#             read, split, embed, INSERT in one transaction) -- the anchor
#   warm      the next update, nothing changed (no file content read)
#   one       one file changed (a line appended), then the update
# Each timed RUNS times (hyperfine; cold and plain re-create their outputs in --prepare);
# medians; the last lines print demo_cold_ratio_to_plain and demo_warm_ratio_to_cold.
# Knobs: N (10000), RUNS (5), TE (build/examples/text_embedding), CC, KEEP=1 keeps scratch.
set -eu

N=${N:-10000}
RUNS=${RUNS:-5}
CC=${CC:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
TE=${TE:-$REPO/build/examples/text_embedding}
T=${TMPDIR:-/tmp}/coco_bench_demo
B=$T/bin
R=$T/results

command -v hyperfine >/dev/null 2>&1 || { echo "bench_demo: needs hyperfine" >&2; exit 1; }
[ -x "$TE" ] || { echo "bench_demo: $TE not built (make examples)" >&2; exit 1; }
rm -rf "$T"
mkdir -p "$B" "$R"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT

$CC -std=c99 -O2 -o "$B/gen_tree" "$HERE/gen_tree.c"
$CC -std=c99 -O2 -o "$B/plain_pipeline" "$HERE/plain_pipeline.c" -lsqlite3 -lpthread
"$B/gen_tree" "$T/tree" "$N" >/dev/null
(cd "$T/tree" && sed 's|^|'"$T/tree"'/|' files.list > "$T/abs.list")

echo "== machine"
echo "cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p') ($(nproc) cpus); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== tree: $N markdown files of 1-4 KiB, $(du -sk "$T/tree/src" | cut -f1) KiB"

cd "$T"
UPD="$TE --db $T/state.db update --quiet --src $T/tree/src --out $T/chunks.sqlite"
CLEAN="rm -f $T/state.db $T/state.db.* $T/chunks.sqlite $T/chunks.sqlite-*"

hyperfine -N --runs "$RUNS" --prepare "$CLEAN" --export-json "$R/cold.json" -n cold "$UPD" >/dev/null
hyperfine -N --runs "$RUNS" --prepare "rm -f $T/plain.sqlite $T/plain.sqlite-wal $T/plain.sqlite-shm" \
    --export-json "$R/plain.json" -n plain "$B/plain_pipeline $T/abs.list $T/plain.sqlite" >/dev/null
$UPD
hyperfine -N --runs $((RUNS * 2)) --warmup 2 --export-json "$R/warm.json" -n warm "$UPD" >/dev/null
ONE=$(head -1 "$T/tree/files.list")
hyperfine -N --runs "$RUNS" --prepare "sh -c 'echo more words >> $T/tree/$ONE'" \
    --export-json "$R/one.json" -n one "$UPD" >/dev/null

rows=$(python3 -c "import sqlite3; print(sqlite3.connect('$T/chunks.sqlite').execute('select count(*) from doc_chunks').fetchone()[0])")
prow=$(python3 -c "import sqlite3; print(sqlite3.connect('$T/plain.sqlite').execute('select count(*) from doc_chunks').fetchone()[0])")
python3 - "$R" "$N" "$rows" "$prow" <<'PY'
import json, sys, statistics
r, n, rows, prow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def med(name):
    t = json.load(open(f"{r}/{name}.json"))["results"][0]["times"]
    return statistics.median(t), min(t)
c, p, w, o = med("cold"), med("plain"), med("warm"), med("one")
print(f"rows: demo {rows}, plain {prow}")
for name, (m, b) in (("cold", c), ("plain", p), ("warm", w), ("one", o)):
    print(f"demo {name:5s} median {m*1000:9.1f} ms  best {b*1000:9.1f} ms  ({m/n*1e6:.1f} us/file)")
print(f"demo_cold_ratio_to_plain={c[0]/p[0]:.2f}")
print(f"demo_warm_ratio_to_cold={w[0]/c[0]:.3f}")
print(f"demo_one_minus_warm_ms={(o[0]-w[0])*1000:.1f}")
PY
