#!/usr/bin/env bash
# Cold build and test time of the whole workspace, as CI pays it: a fresh target
# directory, dependencies already downloaded (`cargo fetch`), then `cargo build` and
# `cargo test`. Run it on an otherwise idle machine; results go to docs/benchmarks.md.
#   benches/cold_build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT
export CARGO_TARGET_DIR="$target"
cargo fetch --locked -q
echo "cores: $(nproc); $(cargo --version)"
start=$(date +%s.%N)
cargo build --workspace --locked -q
built=$(date +%s.%N)
cargo test --workspace --locked -q > "$target/test.log" 2>&1 || { tail -40 "$target/test.log"; exit 1; }
tested=$(date +%s.%N)
python3 - "$start" "$built" "$tested" <<'PY'
import sys
start, built, tested = map(float, sys.argv[1:])
print(f"cargo build (cold): {built - start:.0f} s")
print(f"cargo test (after the build: test targets compiled and run): {tested - built:.0f} s")
print(f"total: {tested - start:.0f} s ({(tested - start) / 60:.1f} min)")
PY
