#!/usr/bin/env bash
# Log-ins per second, and the p99 latency of GET / while 16 clients log in continuously,
# compared with GET / alone (torn hashes passwords off the async threads), and with a naive
# route that hashes on the async thread.
#
#   bench/login.sh [SECONDS] [CLIENTS]      (defaults: 10 16)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
clients=${2:-16}
cargo build --release --quiet -p torn-bench
target="${CARGO_TARGET_DIR:-target}/release"
dir=$(mktemp -d)
"$target/login-server" 18090 "$dir" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18090/ >/dev/null && break; sleep 0.1; done
"$target/login-load" http://127.0.0.1:18090 "$secs" "$clients"
