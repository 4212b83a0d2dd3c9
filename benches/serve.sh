#!/usr/bin/env bash
# flowspec serve against adnanh/webhook (issue 5), same machine, same run.
# Both verify an HMAC-SHA256 signature (GitHub's scheme) and run /bin/true; load with wrk
# on loopback. Needs: apt-get install -y webhook wrk. Run on an otherwise idle machine.
#   benches/serve.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
for tool in webhook wrk python3 curl; do
  command -v $tool >/dev/null || { echo "$tool is missing: apt-get install -y webhook wrk" >&2; exit 1; }
done
cargo build --release -q -p flowspec-cli
bin="$PWD/target/release/flowspec"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
secret=bench-secret-$(date +%s)
python3 benches/serve/gen.py "$work" "$secret"
ulimit -n 65536 2>/dev/null || true

wrk_run() { # name connections script url
  local threads=$(( $2 < 2 ? 1 : 2 ))
  wrk -t"$threads" -c"$2" -d"${secs}s" --latency -s "$3" "$4" > "$work/$1.txt" 2>&1
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$work/$1.txt")
  echo "$1 c=$2: ${rps} req/s, p99 ${p99}${non2xx:+, non-2xx ${non2xx}}"
}

metric() { # name
  curl -s "http://127.0.0.1:18080/metrics" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {print s + 0}'
}

echo "== adnanh/webhook $(webhook -version 2>&1 | awk '{print $3}')"
for mode in sync async; do
  include=$([ $mode = sync ] && echo true || echo false)
  sed -e "s/INCLUDE_OUTPUT/$include/" -e "s/SECRET/$secret/" benches/serve/webhook-hooks.json > "$work/hooks-$mode.json"
  for c in 1 8 64; do
    [ $mode = async ] && [ $c != 64 ] && continue
    webhook -hooks "$work/hooks-$mode.json" -ip 127.0.0.1 -port 19000 -verbose > "$work/webhook-$mode-$c.log" 2>&1 &
    pid=$!; sleep 1
    wrk_run "webhook-$mode" $c "$work/signed.lua" "http://127.0.0.1:19000/hooks/push"
    sleep 2
    kill $pid; wait $pid 2>/dev/null || true
    if [ $mode = async ]; then
      answered=$(awk '/Requests\/sec/ {next} /requests in/ {print $1}' "$work/webhook-$mode.txt")
      ran=$(grep -c "finished handling" "$work/webhook-$mode-$c.log" || true)
      echo "  webhook async: $answered answered, $ran ran their command"
    fi
  done
done
webhook -hooks "$work/hooks-sync.json" -ip 127.0.0.1 -port 19000 > /dev/null 2>&1 &
pid=$!; sleep 1
wrk_run "webhook-forged" 64 "$work/forged.lua" "http://127.0.0.1:19000/hooks/push"
kill $pid; wait $pid 2>/dev/null || true

echo "== flowspec serve"
project="$work/project"
mkdir -p "$project/.flowspec/hooks"
cat > "$project/.flowspec/hooks/hooks.yaml" <<'YAML'
hooks:
  - name: on-push
    events: [git.push]
    script: /bin/true
YAML
cat > "$project/.flowspec/flowspec.yaml" <<'YAML'
audit: {enabled: true}
server:
  rate_limit: false
  workers: 4
YAML
for c in 1 8 64; do
  rm -rf "$project/.flowspec/state" "$project/.flowspec/audit.log"
  GITHUB_WEBHOOK_SECRET=$secret "$bin" -C "$project" serve --bind 127.0.0.1:18080 -q 2> "$work/serve-$c.log" &
  pid=$!; sleep 1
  start=$(date +%s.%N)
  wrk_run "flowspec" $c "$work/signed.lua" "http://127.0.0.1:18080/webhooks/github"
  accepted=$(metric 'flowspec_events_accepted_total')
  until [ "$(metric 'flowspec_events_dispatched_total{status="done"}')" -ge "$accepted" ]; do sleep 0.2; done
  end=$(date +%s.%N)
  # Requests in flight when wrk stopped are accepted after the first count: count again.
  accepted=$(metric 'flowspec_events_accepted_total')
  runs=$(metric 'flowspec_hook_runs_total{hook="on-push",status="success"}')
  python3 -c "print(f'  flowspec: {int($accepted)} accepted durably, {int($runs)} hooks run; accepted and run: {int($accepted)/($end-$start):.0f} events/s end to end')"
  kill $pid; wait $pid 2>/dev/null || true
done
rm -rf "$project/.flowspec/state"
GITHUB_WEBHOOK_SECRET=$secret "$bin" -C "$project" serve --bind 127.0.0.1:18080 -q 2> /dev/null &
pid=$!; sleep 1
wrk_run "flowspec-forged" 64 "$work/forged.lua" "http://127.0.0.1:18080/webhooks/github"
kill $pid; wait $pid 2>/dev/null || true
