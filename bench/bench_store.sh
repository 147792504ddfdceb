#!/bin/sh
# bench/bench_store.sh -- the state store against LMDB and SQLite, measured in the same run.
#
#   sh bench/bench_store.sh            (what `make bench-store` runs; ~1 min on 2 cores)
#
# Builds build/bench_store (cocoindex.h), build/bench_store_lmdb and build/bench_store_sqlite
# (the same driver, bench/bench_store.c, over LMDB and SQLite), runs each engine on each
# configuration, then prints one "store ..." line per measurement with the medians, the
# ratios cocoindex/LMDB and cocoindex/SQLite, and the ../shared/PERF.md goal verdicts.
#
# Knobs (environment):
#   BENCH_STORE_CONFIGS  "N:VSIZE ..." (default "100000:64 1000000:64 100000:1024")
#   BENCH_STORE_BIG=1    also 1000000:1024 (~1 GB per engine on disk, ~2 GB RAM, +2 min)
#   BENCH_STORE_REPS     repetitions of the fast phases (default 7; 3 over 500 MB of
#                        payload); bulk loads: 5, 3 over 200 MB of payload, 1 over 500 MB
#   BENCH_KEY_BYTES      40 (default, path-like keys as in the anchors) or 16 (binary)
#   TMPDIR               scratch goes to $TMPDIR/coco_bench_store (default /tmp), removed
#                        at the end
# Lines "raw engine=E ..." are each engine's own min ("best") and median; see bench_store.c
# for what every phase measures.  Results and their reading: bench/RESULTS.md.
set -eu
cd "$(dirname "$0")/.."

B=build
CC=${CC:-cc}
CFLAGS="-std=c99 -O2"
S=${TMPDIR:-/tmp}/coco_bench_store
CONFIGS=${BENCH_STORE_CONFIGS:-"100000:64 1000000:64 100000:1024"}
[ "${BENCH_STORE_BIG:-0}" = 1 ] && CONFIGS="$CONFIGS 1000000:1024"
REPS=${BENCH_STORE_REPS:-7}

mkdir -p "$B"
$CC $CFLAGS -o "$B/bench_store" bench/bench_store.c -lpthread
ENGINES="bench_store"
if $CC $CFLAGS -o "$B/bench_store_lmdb" bench/kv_lmdb.c -llmdb -lpthread 2>"$B/bench_store_lmdb.log"; then
    ENGINES="$ENGINES bench_store_lmdb"
else
    echo "store: LMDB not built (apt-get install liblmdb-dev); see $B/bench_store_lmdb.log" >&2
fi
if $CC $CFLAGS -o "$B/bench_store_sqlite" bench/kv_sqlite.c -lsqlite3 -lpthread 2>"$B/bench_store_sqlite.log"; then
    ENGINES="$ENGINES bench_store_sqlite"
else
    echo "store: SQLite not built (apt-get install libsqlite3-dev); see $B/bench_store_sqlite.log" >&2
fi

rm -rf "$S"
mkdir -p "$S"
trap 'rm -rf "$S"' EXIT
trap 'exit 130' INT TERM
RAW="$S/raw.txt"
: >"$RAW"
failed=0

echo "# state store: $(uname -sr), $(nproc) cpu, scratch $S ($(df -PT "$S" | awk 'NR==2 {print $2}'))"
for cfg in $CONFIGS; do
    n=${cfg%%:*}
    v=${cfg##*:}
    payload_mb=$(( n * (v + 40) / 1000000 ))
    lreps=5
    [ "$payload_mb" -gt 200 ] && lreps=3
    [ "$payload_mb" -gt 500 ] && lreps=1
    oreps=$REPS
    [ "$payload_mb" -gt 500 ] && oreps=3
    for e in $ENGINES; do
        d="$S/db_$e"
        rm -rf "$d"
        sync
        for mode in load ops; do
            [ "$mode" = load ] && r=$lreps || r=$oreps
            sync
            if ! "$B/$e" "$mode" "$d" "$n" "$v" "$r" >"$S/out.txt"; then
                echo "store: $e $mode n=$n v=$v FAILED" >&2
                failed=1
            fi
            cat "$S/out.txt"
            cat "$S/out.txt" >>"$RAW"
        done
        rm -rf "$d" "$d.compact"
    done
done

# ---- summary: medians, ratios, goals --------------------------------------------------------
awk '
function field(line, key,    i, nf, a, kv) {
    nf = split(line, a, " ")
    for (i = 1; i <= nf; i++) { if (index(a[i], key "=") == 1) return substr(a[i], length(key) + 2) }
    return ""
}
function f(x) { return x == "" ? "n/a" : sprintf("%.4g", x) }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "n/a" : sprintf("%.3g", a / b) }
/^raw / {
    e = field($0, "engine"); c = field($0, "n") ":" field($0, "v"); p = field($0, "phase")
    k = c SUBSEP p SUBSEP e
    med[k] = field($0, "med"); best[k] = field($0, "best"); unit[p] = field($0, "unit")
    line[k] = $0
    if (!(c in seen)) { seen[c] = 1; cfgs[++ncfg] = c }
    if (!(p in pseen)) { pseen[p] = 1; phases[++nph] = p }
}
END {
    for (i = 1; i <= ncfg; i++) {
        c = cfgs[i]; split(c, nv, ":")
        for (j = 1; j <= nph; j++) {
            p = phases[j]
            if (p == "fsync_floor" || p == "fsync_floor_overwrite" || p == "update1pct_floor" || p == "rss_peak_ops") continue
            kc = c SUBSEP p SUBSEP "coco"; kl = c SUBSEP p SUBSEP "lmdb"; ks = c SUBSEP p SUBSEP "sqlite"
            if (!(kc in med) && !(kl in med) && !(ks in med)) continue
            out = sprintf("store n=%s v=%s phase=%s unit=%s coco=%s lmdb=%s sqlite=%s coco_best=%s lmdb_best=%s sqlite_best=%s ratio_to_lmdb=%s ratio_to_sqlite=%s",
                nv[1], nv[2], p, unit[p], f(med[kc]), f(med[kl]), f(med[ks]), f(best[kc]), f(best[kl]), f(best[ks]),
                ratio(med[kc], med[kl]), ratio(med[kc], med[ks]))
            if (p == "bulk") out = out " better=higher"
            if (p == "commit1") {
                fl = c SUBSEP "fsync_floor" SUBSEP "coco"; fo = c SUBSEP "fsync_floor_overwrite" SUBSEP "coco"
                out = out sprintf(" fdatasync_append=%s fdatasync_overwrite=%s ratio_to_fdatasync=%s lmdb_ratio_to_fdatasync=%s sqlite_ratio_to_fdatasync=%s",
                    f(med[fl]), f(med[fo]), ratio(med[kc], med[fl]),
                    ratio(med[kl], med[c SUBSEP "fsync_floor" SUBSEP "lmdb"]), ratio(med[ks], med[c SUBSEP "fsync_floor" SUBSEP "sqlite"]))
            }
            if (p == "update1pct") {
                fl = c SUBSEP "update1pct_floor" SUBSEP "coco"
                out = out sprintf(" coco_commit_call=%s floor_append_delta_fdatasync=%s", f(field(line[kc], "commit_call_med")), f(med[fl]))
            }
            if (p == "size_compacted")
                out = out sprintf(" coco_bytes=%s lmdb_bytes=%s sqlite_bytes=%s", field(line[kc], "bytes_after"),
                                  field(line[kl], "bytes_after"), field(line[ks], "bytes_after"))
            print out
        }
    }
    # goals (../shared/PERF.md) on 1M x 64 B, or the largest N with 64 B values
    g = ""
    for (i = 1; i <= ncfg; i++) { split(cfgs[i], nv, ":"); if (nv[2] == 64 && (g == "" || nv[1] + 0 > gn)) { g = cfgs[i]; gn = nv[1] + 0 } }
    if (g == "") exit
    if (gn != 1000000) print "goal note: the goals are stated for 1M keys; judged here on n=" gn
    goal("lookup_us", med[g SUBSEP "lookup" SUBSEP "coco"], "<=", 0.6, med[g SUBSEP "lookup" SUBSEP "lmdb"], 1.0)
    goal("bulk_Mkeys_per_s", med[g SUBSEP "bulk" SUBSEP "coco"], ">=", 1.5, med[g SUBSEP "bulk" SUBSEP "lmdb"], 0.63)
    goal("commit_1pct_ms", med[g SUBSEP "update1pct" SUBSEP "coco"], "<=", 3, med[g SUBSEP "update1pct" SUBSEP "lmdb"], 21)
    fl = med[g SUBSEP "fsync_floor" SUBSEP "coco"]
    goal("commit_1key_x_fdatasync", ratio(med[g SUBSEP "commit1" SUBSEP "coco"], fl), "<=", 1.5, "", 0)
    goal("open_ms", med[g SUBSEP "open" SUBSEP "coco"], "<=", 30, "", 0)
    goal("size_x_payload_after_compaction", med[g SUBSEP "size_compacted" SUBSEP "coco"], "<=", 1.2, "", 0)
    goal("private_rss_mb_open", med[g SUBSEP "rss_open" SUBSEP "coco"], "<=", 80, "", 0)
}
# absolute goal, and where PERF.md gives the LMDB anchor it was set against, the same goal
# as a ratio to the LMDB measured in this run (goal / anchor)
function goal(name, val, op, lim, lm, anchor,    ok, s, r, okr) {
    if (val == "" || val == "n/a") { print "goal " name " value=n/a verdict=n/a"; return }
    ok = (op == "<=") ? (val + 0 <= lim) : (val + 0 >= lim)
    s = sprintf("goal %s n=%s value=%s goal%s%s verdict=%s", name, gn, f(val), op, lim, ok ? "met" : "missed")
    if (lm != "" && anchor > 0) {
        r = val / lm
        okr = (op == "<=") ? (r <= lim / anchor) : (r >= lim / anchor)
        s = s sprintf(" ratio_to_lmdb=%.3g ratio_goal%s%.3g verdict_vs_lmdb=%s", r, op, lim / anchor, okr ? "met" : "missed")
    }
    print s
}
' "$RAW"
exit "$failed"
