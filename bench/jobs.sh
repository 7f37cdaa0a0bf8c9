#!/usr/bin/env bash
# Jobs per second through torn's queue (torn::jobs), on SQLite and on PostgreSQL, in one run:
# N jobs enqueued one by one (each stored before the next), then run by one instance's workers
# (CONCURRENCY at once). No target yet (issue 16): the numbers are reported.
#
#   bench/jobs.sh [N] [CONCURRENCY] [ROUNDS]     (defaults: 5000 4 3)
#
# Needs psql with a PostgreSQL server (TORN_BENCH_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/test; the script makes and drops a database
# torn_bench_jobs there). Builds torn-bench in release mode. Prints a Markdown table for
# docs/benchmarks.md: the median of ROUNDS runs, each on a new database.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5000}
concurrency=${2:-4}
rounds=${3:-3}
admin=${TORN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg="${admin%/*}/torn_bench_jobs"

cargo build --release --quiet -p torn-bench --bin jobs-throughput
bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/jobs-throughput"
work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    psql "$admin" -qc "DROP DATABASE IF EXISTS torn_bench_jobs" >/dev/null 2>&1 || true
}
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| database | jobs | concurrency | enqueued/s (one by one) | run/s (workers) |"
echo "|---|---|---|---|---|"
for db in sqlite postgres; do
    enq=(); ran=()
    for _ in $(seq "$rounds"); do
        if [ "$db" = sqlite ]; then
            rm -f "$work/jobs.db"*
            url="sqlite://$work/jobs.db?mode=rwc"
        else
            psql "$admin" -qc "DROP DATABASE IF EXISTS torn_bench_jobs" >/dev/null
            psql "$admin" -qc "CREATE DATABASE torn_bench_jobs" >/dev/null
            url="$pg"
        fi
        read -r e r < <("$bin" "$url" "$n" "$concurrency")
        enq+=("$e"); ran+=("$r")
    done
    e=$(printf '%s\n' "${enq[@]}" | median)
    r=$(printf '%s\n' "${ran[@]}" | median)
    echo "| $db | $n | $concurrency | $e | $r |"
done
