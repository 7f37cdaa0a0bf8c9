#!/usr/bin/env bash
# Hello-world throughput and latency: torn vs bare axum vs Tornado, side by side in one run.
#
#   bench/hello.sh [SECONDS] [CONNECTIONS] [ROUNDS]     (defaults: 10 64 3)
#
# Needs wrk (Debian package `wrk`) and python3 with tornado. Builds the Rust servers in release
# mode. Each server runs alone while wrk (1 thread) loads it; the servers take turns for ROUNDS
# rounds and the median of each is reported, so a noisy machine affects all of them alike.
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
rounds=${3:-3}

cargo build --release --quiet -p torn-bench
target="${CARGO_TARGET_DIR:-target}/release"
out=$(mktemp -d)

start() {
    case "$1" in
        axum) "$target/hello-axum" 18081 & ;;
        torn) TORN_LOG=warn "$target/hello-torn" 18082 & ;;
        tornado) python3 bench/hello_tornado.py 18083 & ;;
    esac
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/" >/dev/null && return; sleep 0.1; done
    echo "server $1 did not start" >&2; exit 1
}

for round in $(seq "$rounds"); do
    for name in axum torn tornado; do
        case $name in axum) port=18081 ;; torn) port=18082 ;; tornado) port=18083 ;; esac
        start "$name" "$port"
        wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/" > "$out/$name.$round"
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wrk prints latencies with units; convert to milliseconds.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f\n", v}'; }

echo "| server | requests/s (median of $rounds) | p50 ms | p99 ms | vs axum |"
echo "|---|---|---|---|---|"
axum_rps=$(for f in "$out"/axum.*; do awk '/Requests\/sec/ {print $2}' "$f"; done | median)
for name in axum torn tornado; do
    rps=$(for f in "$out"/$name.*; do awk '/Requests\/sec/ {print $2}' "$f"; done | median)
    p50=$(for f in "$out"/$name.*; do awk '$1=="50%" {print $2}' "$f"; done | to_ms | median)
    p99=$(for f in "$out"/$name.*; do awk '$1=="99%" {print $2}' "$f"; done | to_ms | median)
    ratio=$(awk -v a="$rps" -v b="$axum_rps" 'BEGIN {printf "%.2f", a/b}')
    echo "| $name | $rps | $p50 | $p99 | $ratio |"
done
rm -rf "$out"
