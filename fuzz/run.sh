#!/bin/sh
# fuzz/run.sh -- runs fuzz targets one after the other, each for $FUZZ_SECONDS (default 600)
# over its committed corpus fuzz/corpus/<target>/ plus a working corpus in
# <build>/fuzz/corpus/<target>/ (new inputs go there: the repository is not touched; `make
# fuzz-merge` folds the useful ones back).  Findings land in <build>/fuzz/findings/<target>/.
# Prints executions and findings per target; exits 1 when any target found something.
# Usage: sh fuzz/run.sh BUILD_DIR TARGET...
secs=${FUZZ_SECONDS:-600}
b=$1
shift
status=0
report=""
for t in "$@"; do
    bin=$b/fuzz/$t
    work=$b/fuzz/corpus/$t
    art=$b/fuzz/findings/$t
    log=$b/fuzz/$t.log
    mkdir -p "$work" "$art"
    before=$(ls "$art" | wc -l)
    set -- -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/"
    case $t in
        fuzz_store|fuzz_key) set -- "$@" -max_len=16384 ;;
        *) set -- "$@" -max_len=8192 ;;
    esac
    if [ -f "fuzz/$t.dict" ]; then set -- "$@" -dict="fuzz/$t.dict"; fi
    echo "== $t: ${secs}s"
    "$bin" "$@" "$work" "fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    found=$(( $(ls "$art" | wc -l) - before ))
    if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi
    line="$t: ${execs:-?} executions (${rate:-?}/s), $found finding(s)"
    echo "$line"
    if [ "$found" -ne 0 ]; then
        status=1
        grep -a -m 3 -e 'invariant failed' -e 'ERROR: ' -e 'SUMMARY: ' "$log" | sed 's/^/    /'
        ls -t "$art" | head -n "$found" | sed "s|^|    $art/|"
        echo "    log: $log"
    fi
    report="$report
$line"
done
echo "== summary:$report"
exit $status
