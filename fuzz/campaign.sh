#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 120) with a seed corpus and
# writes the figures into docs/reliability.md (section "Fuzzing"). Needs cargo-fuzz
# (`cargo install cargo-fuzz`); the stable toolchain is used with RUSTC_BOOTSTRAP=1.
#
#   fuzz/campaign.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-120}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O --sanitizer none >/dev/null
targets=(command session mbox message wildmat proxy block records)
mkdir -p corpus artifacts
# Seeds: the sample archive's messages and a client session.
mkdir -p corpus/message corpus/mbox corpus/session
cp ../config/sample.mbox corpus/mbox/sample.mbox 2>/dev/null || true
python3 - <<'PY'
import os
data = open("../config/sample.mbox", "rb").read()
for i, m in enumerate(data.split(b"\nFrom ")[:60]):
    open(f"corpus/message/sample-{i}", "wb").write(m[:8000])
open("corpus/session/client", "wb").write(
    b"CAPABILITIES\nMODE READER\nGROUP example.list-0\nXOVER 1-5\nARTICLE 3\nHDR Subject 1-3\n"
    b"XPAT Subject 1- *[Pp]atch*\nXTHREAD 2\nLIST ACTIVE.TIMES\nNEWNEWS * 700101 000000\nQUIT\n")
PY
rows=()
total=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=$(mktemp)
    cargo fuzz run -O --sanitizer none "$t" "corpus/$t" -- -max_total_time="$secs" -max_len=65536 \
        -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || true
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
    runs=${runs:-0}
    crashes=$(find "artifacts/$t" -type f | wc -l)
    total=$((total + runs))
    rows+=("| $t | $runs | $crashes |")
    echo "$t: $runs executions, $crashes crash files" >&2
    rm -f "$log"
done
{
    echo "<!-- fuzz/campaign.sh writes this section -->"
    echo "### Fuzzing ($(date -u +%Y-%m-%d), ${secs} s per target, $(nproc) cores, libFuzzer via cargo-fuzz)"
    echo
    echo "| target | executions | crash files |"
    echo "|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo "| **all** | **$total** | |"
    echo
    echo "Targets: \`command\` (one command line), \`session\` (input split into lines and run through"
    echo "the command executor against a store filled with the sample archive; every answer must"
    echo "start with a status code), \`mbox\` (both formats; offsets in order and inside the input),"
    echo "\`message\` (normalisation: CRLF only, no NUL, dot-stuffed, a seven-field overview, a valid"
    echo "message-id; or a refusal with a reason), \`wildmat\` (full and simple forms), \`proxy\`"
    echo "(PROXY v1/v2 headers), \`block\` (a POSTed article and a server's answer, cut anywhere:"
    echo "the block readers agree and keep to their cap) and \`records\` (any bytes as each kind of"
    echo "store record, overview blocks among them: errors, never a panic). Crashes land in"
    echo "\`fuzz/artifacts/<target>/\`; each becomes a regression test."
    echo
} > ../docs/.fuzz-section.md
python3 - <<'PY'
import os
doc = "../docs/reliability.md"
section = open("../docs/.fuzz-section.md").read()
text = open(doc).read() if os.path.exists(doc) else "# Reliability\n\n"
start = text.find("<!-- fuzz/campaign.sh writes this section -->")
if start >= 0:
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    text = text[:start] + section + text[end:]
else:
    text = text.rstrip() + "\n\n## Fuzzing\n\n" + section
open(doc, "w").write(text)
PY
rm -f ../docs/.fuzz-section.md
echo "total: $total executions" >&2
