#!/usr/bin/env bash
# The starter behind nginx (round robin), with one instance and with two, on one PostgreSQL
# database: the same load through the load balancer, side by side, so the scale-out factor is
# measured.
#
#   bench/scale-out.sh [SECONDS] [CONNECTIONS] [ROUNDS]     (defaults: 10 64 3)
#
# Cases: the home page for a returning visitor, and `/account` logged in. Needs nginx, wrk,
# curl, psql with a PostgreSQL server (TORN_BENCH_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/test; a database torn_bench is made and dropped there).
# Everything (nginx, the instances, wrk) shares this machine's cores: the factor says what a
# second instance adds here, not on a machine of its own. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
rounds=${3:-3}
admin=${TORN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg="${admin%/*}/torn_bench"

cargo build --release --quiet -p starter
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release"
work=$(mktemp -d)
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    pids=()
}
cleanup() {
    stop_all
    rm -rf "$work"
    psql "$admin" -qc "DROP DATABASE IF EXISTS torn_bench" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql "$admin" -qc "DROP DATABASE IF EXISTS torn_bench" -c "CREATE DATABASE torn_bench" >/dev/null
secret=$(head -c 32 /dev/urandom | base64)

instance() { # PORT
    (cd starter && TORN_ENV=test TORN_LOG=warn PORT=$1 DATABASE_URL=$pg \
        TORN_COOKIE_SECRET=$secret TORN_TRUSTED_PROXIES=127.0.0.1 exec "$target/starter") &
    pids+=($!)
    for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return; sleep 0.1; done
    echo "the instance on $1 did not start" >&2
    exit 1
}

balancer() { # UPSTREAM PORTS…
    local servers=""
    for p in "$@"; do servers="$servers server 127.0.0.1:$p max_fails=0;"; done
    mkdir -p "$work/nginx"
    cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream app { $servers keepalive 64; }
  server {
    listen 127.0.0.1:18300;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
EOF
    nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
    pids+=($!)
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18300/ && return; sleep 0.1; done
    echo "nginx did not start" >&2
    exit 1
}

# A verified account, logged in through the balancer: $cookies.
instance 18301
balancer 18301
jar="$work/jar"
base=http://127.0.0.1:18300
form_token() { sed -n 's/.*name="_xsrf" value="\([^"]*\)".*/\1/p' | head -1; }
token=$(curl -s -c "$jar" "$base/auth/signup" | form_token)
curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_xsrf=$token" \
    --data-urlencode "email=bench@example.com" \
    --data-urlencode "password=correct horse battery staple" "$base/auth/signup"
psql "$pg" -qc "UPDATE users SET email_verified_at = 1" >/dev/null
token=$(curl -s -b "$jar" -c "$jar" "$base/auth/login" | form_token)
curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "_xsrf=$token" \
    --data-urlencode "email=bench@example.com" \
    --data-urlencode "password=correct horse battery staple" "$base/auth/login"
cookies=$(awk '$6 == "torn_session" || $6 == "_xsrf" {printf "%s=%s; ", $6, $7}' "$jar")
stop_all

for round in $(seq "$rounds"); do
    for n in 1 2; do
        ports=(18301)
        [ "$n" = 2 ] && ports=(18301 18302)
        for p in "${ports[@]}"; do instance "$p"; done
        balancer "${ports[@]}"
        for case in home account; do
            path=/
            want="Say hello"
            if [ "$case" = account ]; then path=/account; want=bench@example.com; fi
            if ! curl -s -H "Cookie: $cookies" "$base$path" | grep -q "$want"; then
                echo "$case: the page through nginx is not the expected one" >&2
                exit 1
            fi
            wrk -t1 -c"$conns" -d"${secs}s" --latency -H "Cookie: $cookies" "$base$path" \
                >"$work/$case.$n.$round"
            if grep -q "Non-2xx" "$work/$case.$n.$round"; then
                echo "$case with $n instances: errors under load" >&2
                cat "$work/$case.$n.$round" >&2
                exit 1
            fi
        done
        stop_all
    done
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f\n", v}'; }
stat() { for f in "$work/$1.$2".*; do awk "$3" "$f"; done; }
echo "| page | instances | requests/s (median of $rounds) | p50 ms | p99 ms | vs one instance |"
echo "|---|---|---|---|---|---|"
for case in home account; do
    one=$(stat "$case" 1 '/Requests\/sec/ {print $2}' | median)
    for n in 1 2; do
        rps=$(stat "$case" "$n" '/Requests\/sec/ {print $2}' | median)
        p50=$(stat "$case" "$n" '$1=="50%" {print $2}' | to_ms | median)
        p99=$(stat "$case" "$n" '$1=="99%" {print $2}' | to_ms | median)
        ratio=$(awk -v a="$rps" -v b="$one" 'BEGIN {printf "%.2f", a/b}')
        echo "| $case | $n | $rps | $p50 | $p99 | $ratio |"
    done
done
