#!/usr/bin/env bash
# Notification delivery benchmark; results go to docs/benchmarks.md.
#   benches/notify.sh [COUNT] [IN_FLIGHT]       # default 1000 64
# Delivers COUNT notifications through flowspec's webhook notifier (full delivery path:
# routing, message, JSON, HMAC + Standard Webhooks signatures, POST, one audit line
# each) to a local HTTP sink, then the same count through Apprise (PyPI `apprise`,
# json:// URL) to the same sink, in the same run. Peak RSS is each process's VmHWM
# (Rust) or ru_maxrss (Python). Needs python3 with apprise (pip install apprise).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
in_flight=${2:-64}
port=${BENCH_PORT:-18099}

python3 -c "import apprise" 2>/dev/null || { echo "apprise is missing: python3 -m pip install apprise" >&2; exit 1; }

echo "== build (release)"
cargo bench -q -p flowspec-notify --no-run 2>/dev/null

echo "== sink on 127.0.0.1:$port"
cargo bench -q -p flowspec-notify --bench webhook_sink --no-run 2>/dev/null
sink_bin=$(cargo bench -q -p flowspec-notify --bench webhook_sink --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
"$sink_bin" "127.0.0.1:$port" >/dev/null 2>&1 &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

for run in 1 2 3; do
  echo "== run $run"
  cargo bench -q -p flowspec-notify --bench deliver -- "http://127.0.0.1:$port" "$count" "$in_flight"
  python3 benches/notify_apprise.py "json://127.0.0.1:$port/hook" "$count"
done
