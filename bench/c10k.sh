#!/usr/bin/env bash
# C10K: idle keep-alive connections held open, memory per connection, and the latency of new
# requests meanwhile; the starter (torn) against bare axum and Tornado, in one run.
#
#   bench/c10k.sh [CONNECTIONS…]      (default: 10000 50000)
#
# For each count and server: the server starts alone; `idle-load` opens the connections (each
# asks for the page once and then stays open and silent, from 127.0.0.2 to 127.0.0.9) and
# reports the server's RSS growth per connection; then wrk (1 thread, 16 connections, 10 s)
# asks for the same page on new connections while the idle ones are held. Needs wrk and
# python3 with tornado; raises the file limit as far as it may (to 200,000 as root on a machine
# that allows it).
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-10000 50000}")
read -r -a counts <<<"${counts[*]}"
# As many files as allowed: a count that needs more (each side holds one per connection) is
# skipped, with the reason.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
limit=$(ulimit -n)

cargo build --release --quiet -p torn-bench -p starter
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

start() {
    case $1 in
        axum) "$target/hello-axum" 18200 & ;;
        torn) (cd starter && TORN_ENV=test TORN_LOG=warn PORT=18200 \
            DATABASE_URL="sqlite://$work/starter.db?mode=rwc" exec "$target/starter") & ;;
        tornado) python3 bench/hello_tornado.py 18200 & ;;
    esac
    pid=$!
    for _ in $(seq 200); do
        curl -s -o /dev/null http://127.0.0.1:18200/ && return
        sleep 0.1
    done
    echo "$1 did not start" >&2
    exit 1
}

echo "| idle connections | server | connect s | RSS before MB | RSS after MB | bytes per idle connection | new requests/s meanwhile | p50 ms | p99 ms | closed by the server |"
echo "|---|---|---|---|---|---|---|---|---|---|"
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f\n", v}'; }
for n in "${counts[@]}"; do
    if [ "$n" -gt $((limit - 500)) ]; then
        echo "| $n | (skipped: the file limit here is $limit, and cannot be raised: ulimit -Hn) | | | | | | | | |"
        continue
    fi
    for name in axum torn tornado; do
        start "$name"
        "$target/idle-load" "$n" "$pid" 18200 / >"$work/idle.json" 2>"$work/idle.err" &
        load=$!
        for _ in $(seq 600); do [ -s "$work/idle.json" ] && break; sleep 0.5; done
        if ! [ -s "$work/idle.json" ]; then
            echo "$name: the idle connections did not open" >&2
            cat "$work/idle.err" >&2
            exit 1
        fi
        wrk -t1 -c16 -d10s --latency http://127.0.0.1:18200/ >"$work/wrk"
        kill -INT "$load"
        wait "$load" 2>/dev/null || true
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        pid=
        json=$(cat "$work/idle.json")
        field() { sed -n "s/.*\"$1\": \\([0-9.]*\\).*/\\1/p" <<<"$json"; }
        rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk")
        p50=$(awk '$1=="50%" {print $2}' "$work/wrk" | to_ms)
        p99=$(awk '$1=="99%" {print $2}' "$work/wrk" | to_ms)
        closed=$(awk '{print $1}' "$work/idle.err" | tail -1)
        echo "| $n | $name | $(field connect_secs) | $(field rss_before_mb) | $(field rss_after_mb) | $(field bytes_per_connection) | $rps | $p50 | $p99 | $closed |"
    done
done
