#!/usr/bin/env bash
# What a new user waits for, each from an empty target directory: installing the torn command
# from this checkout as the README says, then the first debug build of a new app in its own
# folder (its own target/), made by `torn new` and by `torn new --minimal` (which compiles
# fewer of torn's features). Prints one line per step, in seconds.
#
#   bench/build-times.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

seconds() { local start=$1; echo "$(date +%s.%N) - $start" | bc; }

cd "$root"
start=$(date +%s.%N)
CARGO_TARGET_DIR="$work/cli-target" cargo install --path cli --locked --root "$work/root" --quiet
echo "cargo install --path cli --locked (release, empty target dir): $(seconds "$start") s"

cd "$work"
"$work/root/bin/torn" new myapp --no-git >/dev/null
cd myapp
start=$(date +%s.%N)
cargo build --quiet
echo "torn new myapp && cargo build (debug, the app's own target/): $(seconds "$start") s"

cd "$work"
"$work/root/bin/torn" new minapp --minimal --no-git >/dev/null
cd minapp
start=$(date +%s.%N)
cargo build --quiet
echo "torn new minapp --minimal && cargo build (debug, the app's own target/): $(seconds "$start") s"
