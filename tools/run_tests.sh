#!/bin/sh
# Runs each test binary given as an argument, shows its output, and sums the
# "N passed, N failed" line each one ends with.  A binary that dies without that
# line counts as one failure.  The last line printed is the total.
passed=0; failed=0
for t in "$@"; do
    out=$(mktemp)
    "$t" > "$out" 2>&1
    rc=$?
    cat "$out"
    last=$(tail -n 1 "$out")
    p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "not ok - $t exited with status $rc without a summary line"
        failed=$((failed + 1))
    else
        passed=$((passed + p)); failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "not ok - $t exited with status $rc"
            failed=$((failed + 1))
        fi
    fi
    rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
