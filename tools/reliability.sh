#!/usr/bin/env bash
# Refreshes docs/reliability.md: the fuzz campaign, the crash campaign and the load and abuse
# campaign, one after another (they measure, so they should not share the machine).
#
#   tools/reliability.sh [FUZZ_SECONDS_PER_TARGET]      (default 120; about 25 minutes in all)
#
# Needs: a release build (cargo build --release), cargo-fuzz (cargo install cargo-fuzz),
# python3, and root for nothing here (the disk-full check is a test: cargo test faults).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
bash fuzz/campaign.sh "${1:-120}"
python3 tools/crash_campaign.py --points 20
python3 tools/abuse.py
echo "docs/reliability.md refreshed"
