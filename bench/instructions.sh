#!/usr/bin/env bash
# Instructions per request of hello-world servers, counted by callgrind (the same count whatever
# else the machine is doing): each server is run twice under valgrind, for 50 and for 450
# requests (curl, a new connection each, Accept-Encoding: gzip), and the difference is divided
# by 400, so that start-up cancels out. Each BINARY takes its port as its one argument, as
# bench's hello-torn and hello-axum do.
#
#   bench/instructions.sh BINARY...      e.g. bench/instructions.sh target/release/hello-torn
#
# Needs valgrind and curl. Build the binaries first (cargo build --release -p torn-bench).
set -euo pipefail
port=18091

run() { # binary count -> instructions
    local out
    out=$(mktemp)
    TORN_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$out" "$1" "$port" 2>/dev/null &
    local pid=$!
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
    for _ in $(seq "$2"); do
        curl -sf -H 'accept-encoding: gzip' "http://127.0.0.1:$port/" >/dev/null
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
    rm -f "$out"
}

for binary in "$@"; do
    few=$(run "$binary" 50)
    many=$(run "$binary" 450)
    echo "$binary: $(( (many - few) / 400 )) instructions per request"
done
