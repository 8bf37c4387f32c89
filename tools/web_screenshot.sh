#!/usr/bin/env bash
# Renders a real selinux thread page from the HTTP face with headless Chromium (Debian's
# chromium) into docs/screenshots/: the selinux epoch from ../shared is imported, served with
# http_listen, and the page of a patch thread with replies (quoted text, a diff) is drawn.
#
#   tools/web_screenshot.sh [MESSAGE-ID]
set -euo pipefail
cd "$(dirname "$0")/.."
mid=${1:-20251205024259.704-1-ericsu@linux.microsoft.com}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
epoch=/tmp/bench/selinux/git/0.git
[ -d "$epoch" ] || git clone -q --mirror ../shared/corpus/lore/selinux.0.bundle "$epoch"
cargo build --release -q
cat >"$work/listnews.toml" <<CONFIG
[server]
listen = ["127.0.0.1:0"]
http_listen = ["127.0.0.1:18090"]
hostname = "news.example.org"
data_dir = "data"

[[group]]
name = "org.kernel.vger.selinux"
address = "selinux@vger.kernel.org"
list_id = "selinux.vger.kernel.org"
CONFIG
target/release/listnews import --config "$work/listnews.toml" "$epoch" >/dev/null
target/release/listnews serve --config "$work/listnews.toml" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18090/ && break; sleep 0.1; done
mkdir -p docs/screenshots
for page in "" "T/"; do
    out=docs/screenshots/selinux-thread${page:+-full}.png
    chromium --headless=new --no-sandbox --disable-dev-shm-usage --disable-gpu --hide-scrollbars --window-size=1100,1500 \
        --user-data-dir="$work/chromium" --screenshot="$out" "http://127.0.0.1:18090/selinux/$mid/$page" 2>/dev/null
    echo "$out"
done
