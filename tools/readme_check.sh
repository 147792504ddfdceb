#!/bin/sh
# tools/readme_check.sh -- runs README.md as a new user would (make readme-check).
#
# In a scratch copy of the repository (tracked and untracked, not ignored, files):
#   ```c blocks   start with a comment naming their file ("/* examples/x.c */"): every
#                 other line must appear in that file, in the same order (the file itself
#                 is compiled by `make examples`);
#   ```sh blocks  every command (a line, with its "\" continuations) runs with sh -e from
#                 the copy's root and must exit 0, except those that cannot run here, which
#                 are named with the reason: `make test` (CI runs it already), `make bench*`
#                 (minutes), `make install` (writes outside the copy), a running embedding
#                 service (COCO_EMBED_URL, test-embed-server), `--live` (runs until Ctrl-C).
# Last line: "N passed, N failed".
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/coco_readme.XXXXXX)
trap 'rm -rf "$T"' EXIT
(cd "$REPO" && git ls-files -co --exclude-standard | tar -T - -cf -) | tar -C "$T" -xf -
cd "$T"
python3 - "$T" <<'PY'
import re, subprocess, sys
root = sys.argv[1]
text = open(f"{root}/README.md").read()
blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
passed = failed = 0
def ok(msg):
    global passed; passed += 1; print("ok -", msg)
def bad(msg, detail=""):
    global failed; failed += 1; print("not ok -", msg)
    for l in detail.strip().splitlines()[-15:]: print("#   " + l)
SKIP = [(r"^make test\b(?!-)", "CI runs it already"),
        (r"^make test-embed-server", "needs node and the npm registry"),
        (r"^make bench", "benchmarks take minutes"),
        (r"^make install|^sudo make install", "writes outside the copy"),
        (r"COCO_EMBED_URL=", "needs a running embedding service"),
        (r"--live", "runs until Ctrl-C")]
for lang, body in blocks:
    lines = body.splitlines()
    if lang == "c":
        m = re.match(r"\s*/\*\s*(\S+)\s*\*/\s*$", lines[0]) if lines else None
        if not m:
            bad("C block without a '/* file */' first line", body[:200]); continue
        src = open(f"{root}/{m.group(1)}").read().splitlines()
        pos, missing = 0, None
        for l in lines[1:]:
            if not l.strip(): continue
            while pos < len(src) and src[pos].rstrip() != l.rstrip(): pos += 1
            if pos == len(src): missing = l; break
            pos += 1
        if missing: bad(f"C block of {m.group(1)}: line not in the file (in order)", missing)
        else: ok(f"C block matches {m.group(1)} ({len(lines) - 1} lines)")
    elif lang == "sh":
        cmds, cur = [], ""
        for l in lines:
            cur += l.rstrip()
            if cur.endswith("\\"): cur = cur[:-1] + " "; continue
            if cur.strip(): cmds.append(cur.strip())
            cur = ""
        for c in cmds:
            shown = re.sub(r"\s+#.*$", "", c)
            why = next((r for p, r in SKIP if re.search(p, shown)), None)
            if why: print(f"# skip: {shown}  ({why})"); continue
            p = subprocess.run(["sh", "-ec", shown], cwd=root, capture_output=True, text=True,
                               timeout=900)
            if p.returncode == 0: ok(shown)
            else: bad(f"{shown} (exit {p.returncode})", p.stdout + p.stderr)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
