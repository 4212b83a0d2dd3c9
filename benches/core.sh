#!/usr/bin/env bash
# Benchmarks of the hooks engine and the CLI. Results go to docs/benchmarks.md.
#   benches/core.sh            # everything
# Needs hyperfine (apt-get install hyperfine). Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 1; }

echo "== build (release)"
cargo build --release -q -p flowspec-cli
bin="$PWD/target/release/flowspec"

echo "== matching"
cargo bench -q -p flowspec-core --bench matching

echo "== hook runs: engine vs direct spawns"
cargo bench -q -p flowspec-core --bench hook_runs -- 2000

echo "== flowspec emit, one trivial hook, end to end"
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
mkdir -p "$project/.flowspec/hooks"
cat > "$project/.flowspec/hooks/hooks.yaml" <<'YAML'
hooks:
  - name: trivial
    events: [bench.emit]
    script: /bin/true
YAML
(cd "$project" && "$bin" emit bench.emit -q)   # create the store once
hyperfine --warmup 20 --runs 300 -N --export-json "$project/emit.json" \
  "$bin -C $project emit bench.emit -q"
python3 - "$project/emit.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"emit median {r['median']*1000:.2f} ms, mean {r['mean']*1000:.2f} ms, min {r['min']*1000:.2f} ms")
PY

echo "== flowspec --version, cold start"
hyperfine --warmup 20 --runs 500 -N "$bin --version"
