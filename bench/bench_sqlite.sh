#!/bin/sh
# bench/bench_sqlite.sh -- the SQLite connector against plain SQLite, measured in the same run.
#
#   sh bench/bench_sqlite.sh           (~1 min on 2 cores)
#
# Builds build/bench_sqlite (cocoindex.h + connectors/cocoindex_sqlite.h, -lsqlite3) and runs:
#   1. N rows (id INTEGER PK, text 200 B, emb VECTOR(64)) upserted, updated and deleted
#      through an app (engine + connector), and inserted / deleted by plain SQLite (one
#      transaction, one prepared statement): rows/s of each and the ratios;
#   2. the same with rows_per_statement 1 and 256 (the default is 64);
#   3. the table layout measurement behind coco__sql_rowid_table (WITHOUT ROWID vs rowid).
# Knobs (environment):
#   BENCH_SQLITE_N      rows (default 100000)
#   BENCH_SQLITE_REPS   repetitions, medians printed (default 5)
#   BENCH_SQLITE_PER    rows declared per component (default 100)
#   TMPDIR              scratch goes to $TMPDIR/coco_bench_sqlite (default /tmp), removed
# Prints "sqlite ..." lines; ratios are of medians (rows/s: 1 = as fast as plain SQLite).
set -eu
cd "$(dirname "$0")/.."

B=build
CC=${CC:-cc}
N=${BENCH_SQLITE_N:-100000}
REPS=${BENCH_SQLITE_REPS:-5}
S=${TMPDIR:-/tmp}/coco_bench_sqlite

mkdir -p "$B"
$CC -std=c99 -O2 -o "$B/bench_sqlite" bench/bench_sqlite.c -lpthread -lsqlite3
rm -rf "$S"
mkdir -p "$S"
trap 'rm -rf "$S"' EXIT
trap 'exit 130' INT TERM

echo "# sqlite connector: $(uname -sr), $(nproc) cpu, scratch $S ($(df -PT "$S" | awk 'NR==2 {print $2}'))"
"$B/bench_sqlite" "$N" "$S" "$REPS"
for rps in 1 256; do
    "$B/bench_sqlite" "$N" "$S" 3 "$rps" | grep -E '^sqlite (n=|phase=coco_(insert|update|delete)|ratio)'
done
"$B/bench_sqlite" layout "$N" "$S"
