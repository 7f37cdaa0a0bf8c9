#!/usr/bin/env bash
# Real pages: torn against bare axum programs that do the same work by hand (and Tornado where
# it has the page), side by side in one run.
#
#   bench/pages.sh [SECONDS] [CONNECTIONS] [ROUNDS]     (defaults: 10 64 3)
#   CASES="home account-sqlite" bench/pages.sh …       (some of the cases only)
#
# Cases, each against its hand-written twin (bench/src/bin/pages-axum.rs, hello-axum.rs):
#   hello          hello-torn (every default layer) / hello-axum / Tornado
#   home           the starter's `/` for a returning visitor, not logged in (template, XSRF
#                  field, static URLs)
#   account-sqlite the starter's `/account`, logged in, on SQLite
#   account-pg     the same on PostgreSQL
#   fortunes       fortunes-torn / pages-axum / Tornado: read rows, add one, sort, escape
#   static         the starter's /static/css/app.css
#
# Needs wrk, curl, sqlite3, psql with a PostgreSQL server (TORN_BENCH_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/test; the script makes and drops a database torn_bench
# there) and python3 with tornado. Builds the servers and the starter in release mode. Each
# server runs alone while wrk (1 thread) loads it; the servers of a case take turns for ROUNDS
# rounds and the median of each is reported. Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
rounds=${3:-3}
admin=${TORN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg="${admin%/*}/torn_bench"
cases=${CASES:-hello home account-sqlite account-pg fortunes static}

cargo build --release --quiet -p torn-bench -p starter
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$work"
    psql "$admin" -qc "DROP DATABASE IF EXISTS torn_bench" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql "$admin" -qc "DROP DATABASE IF EXISTS torn_bench" -c "CREATE DATABASE torn_bench" >/dev/null
sqlite_db="sqlite://$work/starter.db?mode=rwc"
fortunes_db="sqlite://$work/fortunes.db?mode=rwc"
secret=$(head -c 32 /dev/urandom | base64)

# start NAME PORT: one server, in the background ($pid), until it answers.
start() {
    local name=$1 port=$2
    case $name in
        hello-axum) "$target/hello-axum" "$port" & ;;
        hello-torn) TORN_LOG=warn "$target/hello-torn" "$port" & ;;
        hello-tornado) python3 bench/hello_tornado.py "$port" 2>/dev/null & ;;
        starter-sqlite | starter-pg)
            local url=$sqlite_db
            [ "$name" = starter-pg ] && url=$pg
            (cd starter && TORN_ENV=test TORN_LOG=warn PORT=$port DATABASE_URL=$url \
                TORN_COOKIE_SECRET=$secret exec "$target/starter") &
            ;;
        axum-sqlite) "$target/pages-axum" "$port" "$sqlite_db" "$fortunes_db" & ;;
        axum-pg) "$target/pages-axum" "$port" "$pg" "$fortunes_db" & ;;
        fortunes-torn) TORN_LOG=warn "$target/fortunes-torn" "$port" "$fortunes_db" & ;;
        fortunes-tornado) python3 bench/fortunes_tornado.py "$port" "$work/fortunes.db" 2>/dev/null & ;;
    esac
    pid=$!
    for _ in $(seq 200); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && return
        sleep 0.1
    done
    echo "$name did not start" >&2
    exit 1
}

stop() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}

# A verified account on the starter at PORT (database URL $2), logged in: sets $cookies to the
# session and XSRF cookies of the browser that logged in.
log_in() {
    local port=$1 url=$2 jar="$work/jar.$1" base="http://127.0.0.1:$1" token
    token=$(curl -s -c "$jar" "$base/auth/signup" | sed -n 's/.*name="_xsrf" value="\([^"]*\)".*/\1/p' | head -1)
    curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_xsrf=$token" \
        --data-urlencode "email=bench@example.com" \
        --data-urlencode "password=correct horse battery staple" "$base/auth/signup"
    case $url in
        postgres*) psql "$url" -qc "UPDATE users SET email_verified_at = 1" >/dev/null ;;
        *) sqlite3 "$work/starter.db" "UPDATE users SET email_verified_at = 1" ;;
    esac
    token=$(curl -s -b "$jar" -c "$jar" "$base/auth/login" | sed -n 's/.*name="_xsrf" value="\([^"]*\)".*/\1/p' | head -1)
    curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_xsrf=$token" \
        --data-urlencode "email=bench@example.com" \
        --data-urlencode "password=correct horse battery staple" "$base/auth/login"
    cookies=$(awk '$6 == "torn_session" || $6 == "_xsrf" {printf "%s=%s; ", $6, $7}' "$jar")
    xsrf_cookie=$(awk '$6 == "_xsrf" {printf "%s=%s", $6, $7}' "$jar")
}

start starter-sqlite 18100
log_in 18100 "$sqlite_db"
sqlite_cookies=$cookies
stop
start starter-pg 18100
log_in 18100 "$pg"
pg_cookies=$cookies
stop
start fortunes-torn 18100 # makes the fortune table
stop

# case SERVER… : the servers of a case, loaded in turns; PATH and COOKIE say what to ask for,
# and WANT what the page must contain (checked before the load, so a redirect is not measured).
run_case() {
    local case=$1
    shift
    grep -qw -- "$case" <<<"$cases" || return 0
    for round in $(seq "$rounds"); do
        for name in "$@"; do
            start "$name" 18100
            local page
            page=$(curl -s -H "Cookie: $COOKIE" "http://127.0.0.1:18100$PATH_")
            if ! grep -q -- "$WANT" <<<"$page"; then
                echo "$case: $name does not answer $PATH_ with \"$WANT\":" >&2
                head -c 600 <<<"$page" >&2
                exit 1
            fi
            wrk -t1 -c"$conns" -d"${secs}s" --latency -H "Cookie: $COOKIE" \
                "http://127.0.0.1:18100$PATH_" >"$work/$case.$name.$round"
            if grep -q "Non-2xx" "$work/$case.$name.$round"; then
                echo "$case: $name answered errors under load" >&2
                cat "$work/$case.$name.$round" >&2
                exit 1
            fi
            stop
        done
    done
}

PATH_=/ COOKIE="x=1" WANT="Hello world" run_case hello hello-axum hello-torn hello-tornado
PATH_=/ COOKIE="$xsrf_cookie" WANT="Say hello" run_case home axum-sqlite starter-sqlite
PATH_=/account COOKIE="$sqlite_cookies" WANT="bench@example.com" \
    run_case account-sqlite axum-sqlite starter-sqlite
PATH_=/account COOKIE="$pg_cookies" WANT="bench@example.com" run_case account-pg axum-pg starter-pg
PATH_=/fortunes COOKIE="x=1" WANT="script&" \
    run_case fortunes axum-sqlite fortunes-torn fortunes-tornado
PATH_=/static/css/app.css COOKIE="x=1" WANT="body" run_case static axum-sqlite starter-sqlite

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wrk prints latencies with units; convert to milliseconds.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f\n", v}'; }
stat() { for f in "$work/$1.$2".*; do awk "$3" "$f"; done; }

echo "| case | server | requests/s (median of $rounds) | p50 ms | p99 ms | vs axum twin |"
echo "|---|---|---|---|---|---|"
for case in $cases; do
    names=$(ls "$work" | sed -n "s/^$case\.\(.*\)\.[0-9]*$/\1/p" | sort -u)
    twin=$(grep -E '^(hello-axum|axum-)' <<<"$names")
    twin_rps=$(stat "$case" "$twin" '/Requests\/sec/ {print $2}' | median)
    for name in $twin $(grep -vE '^(hello-axum|axum-)' <<<"$names"); do
        rps=$(stat "$case" "$name" '/Requests\/sec/ {print $2}' | median)
        p50=$(stat "$case" "$name" '$1=="50%" {print $2}' | to_ms | median)
        p99=$(stat "$case" "$name" '$1=="99%" {print $2}' | to_ms | median)
        ratio=$(awk -v a="$rps" -v b="$twin_rps" 'BEGIN {printf "%.2f", a/b}')
        echo "| $case | $name | $rps | $p50 | $p99 | $ratio |"
    done
done
