#!/usr/bin/env bash
# 10,000 WebSockets, torn against Tornado 6.6 doing the same work, in one run: every client
# connects to /ws (spread over 127.0.0.2-9), then the server broadcasts the time ROUNDS times,
# and each client measures how long its copy took. Then the same with torn as two instances
# sharing Redis (clients spread over both, the broadcast asked of the first).
#
#   bench/websocket.sh [CLIENTS] [ROUNDS]     (defaults: 10000 20)
#
# Needs python3 with tornado and redis-server. Builds the Rust programs in release mode.
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-10000}
rounds=${2:-20}
# Each open WebSocket is a file descriptor in the server and one in the client.
ulimit -n "$(ulimit -Hn)"

cargo build --release --quiet -p torn-bench
target="${CARGO_TARGET_DIR:-target}/release"
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

wait_port() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/ws" && return
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    exit 1
}

stop() {
    kill "$@" 2>/dev/null || true
    wait "$@" 2>/dev/null || true
}

# torn, one instance, in-process pub/sub.
TORN_LOG=warn "$target/ws-torn" 18091 &
torn=$!; pids+=("$torn"); wait_port 18091
"$target/ws-load" "$clients" "$rounds" "$torn:18091" > "$out/torn"
stop "$torn"

# Tornado, one process.
python3 bench/ws_tornado.py 18092 &
tornado=$!; pids+=("$tornado"); wait_port 18092
"$target/ws-load" "$clients" "$rounds" "$tornado:18092" > "$out/tornado"
stop "$tornado"

# torn, two instances sharing a Redis of their own.
redis-server --port 18399 --bind 127.0.0.1 --save "" --appendonly no > /dev/null &
redis=$!; pids+=("$redis")
for _ in $(seq 50); do redis-cli -p 18399 ping > /dev/null 2>&1 && break; sleep 0.1; done
TORN_LOG=warn TORN_PUBSUB=redis://127.0.0.1:18399 "$target/ws-torn" 18093 &
a=$!; pids+=("$a")
TORN_LOG=warn TORN_PUBSUB=redis://127.0.0.1:18399 "$target/ws-torn" 18094 &
b=$!; pids+=("$b")
wait_port 18093; wait_port 18094
"$target/ws-load" "$clients" "$rounds" "$a:18093" "$b:18094" > "$out/redis"
stop "$a" "$b" "$redis"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = [("torn", "torn"), ("tornado", "Tornado 6.6"), ("redis", "torn, 2 instances + Redis")]
rows = {key: json.load(open(f"{out}/{key}")) for key, _ in runs}
print(f"{rows['torn']['clients']} clients, {rows['torn']['rounds']} broadcasts each")
print()
print("| server | connect s | fan-out p50 ms | p99 ms | max ms | messages/s | bytes per connection | messages per CPU-second |")
print("|---|---|---|---|---|---|---|---|")
for key, name in runs:
    r = rows[key]
    print(f"| {name} | {r['connect_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | "
          f"{r['messages_per_s']:.0f} | {r['bytes_per_connection']} | {r['messages_per_cpu_s']:.0f} |")
ratio = rows["torn"]["messages_per_cpu_s"] / max(rows["tornado"]["messages_per_cpu_s"], 1)
print()
print(f"torn delivers {ratio:.1f} times Tornado's messages per CPU-second.")
PY
