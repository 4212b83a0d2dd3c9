#!/usr/bin/env bash
# flowspec serve against adnanh/webhook, same machine, same run.
# Both verify an HMAC-SHA256 signature (GitHub's scheme) and run /bin/true; wrk loads
# them on loopback. Needs: apt-get install -y webhook wrk. Run on an otherwise idle
# machine.
#   benches/serve.sh [seconds per run, default 10] [drain seconds, default 30]
#
# Fairness: after the load stops, each server gets the same drain (up to DRAIN seconds)
# to run what it answered; what each really ran is counted (webhook's "finished
# handling" log lines, flowspec's hook-run counter), and a rate is runs divided by the
# time from the start of the load to the last run. The raw spawn rate of /bin/true on
# this machine is measured in the same run. The run fails when flowspec's counts
# disagree (an accepted event not run, or run twice).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
drain=${2:-30}
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

now() { date +%s.%N; }

wrk_run() { # name connections script url
  local threads=$(( $2 < 2 ? 1 : 2 ))
  wrk -t"$threads" -c"$2" -d"${secs}s" --latency -s "$3" "$4" > "$work/$1.txt" 2>&1
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$work/$1.txt")
  echo "$1 c=$2: ${rps} req/s answered, p99 ${p99}${non2xx:+, non-2xx ${non2xx}}"
}

answered() { # wrk output file: requests answered with 2xx
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
total = int(re.search(r"(\d+) requests in", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(total - (int(bad.group(1)) if bad else 0))
PY
}

# Waits until `count_cmd` stops growing (or reaches `target`), up to the drain; prints
# "<count> <time of the last change>".
drain_until() { # target count_cmd...
  local target=$1; shift
  local deadline last count changed
  deadline=$(python3 -c "print($(now) + $drain)")
  last=-1; changed=$(now)
  while :; do
    count=$("$@")
    if [ "$count" != "$last" ]; then last=$count; changed=$(now); fi
    [ "$target" -gt 0 ] && [ "$count" -ge "$target" ] && break
    python3 -c "import sys; sys.exit(0 if $(now) > $deadline or $(now) - $changed > 2 else 1)" && break
    sleep 0.1
  done
  echo "$last $changed"
}

rate() { python3 -c "print(f'{$1 / ($3 - $2):.0f}')"; }

echo "== raw spawn rate of /bin/true on this machine (direct std::process::Command)"
cargo bench -q -p flowspec-core --bench hook_runs -- 2000 2>/dev/null | grep -v "^$"

echo "== adnanh/webhook $(webhook -version 2>&1 | awk '{print $3}')"
for mode in sync async; do
  include=$([ $mode = sync ] && echo true || echo false)
  sed -e "s/INCLUDE_OUTPUT/$include/" -e "s/SECRET/$secret/" benches/serve/webhook-hooks.json > "$work/hooks-$mode.json"
  for c in 1 8 64; do
    [ $mode = async ] && [ $c = 1 ] && continue
    log="$work/webhook-$mode-$c.log"
    webhook -hooks "$work/hooks-$mode.json" -ip 127.0.0.1 -port 19000 -verbose > "$log" 2>&1 &
    pid=$!; sleep 1
    start=$(now)
    wrk_run "webhook-$mode" $c "$work/signed.lua" "http://127.0.0.1:19000/hooks/push"
    ok=$(answered "$work/webhook-$mode.txt")
    read -r ran end < <(drain_until "$ok" grep -c "finished handling" "$log")
    echo "  webhook $mode: $ok answered, $ran ran their command; answered and run: $(rate "$ran" "$start" "$end") runs/s"
    kill $pid; wait $pid 2>/dev/null || true
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
cat > "$project/.flowspec/flowspec.yaml" <<YAML
audit: {enabled: true}
server:
  rate_limit: false
  workers: ${FLOWSPEC_WORKERS:-4}
YAML
metric() { # name
  curl -s "http://127.0.0.1:18080/metrics" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {print s + 0}'
}
runs() { metric 'flowspec_hook_runs_total{hook="on-push",status="success"}'; }
failed=0
for c in 1 8 64; do
  rm -rf "$project/.flowspec/state" "$project/.flowspec/audit.log"
  GITHUB_WEBHOOK_SECRET=$secret "$bin" -C "$project" serve --bind 127.0.0.1:18080 -q 2> "$work/serve-$c.log" &
  pid=$!; sleep 1
  start=$(now)
  wrk_run "flowspec" $c "$work/signed.lua" "http://127.0.0.1:18080/webhooks/github"
  accepted=$(metric 'flowspec_events_accepted_total')
  read -r ran end < <(drain_until "$accepted" runs)
  # Requests in flight when wrk stopped may be accepted after the first count.
  accepted=$(metric 'flowspec_events_accepted_total')
  ran=$(runs)
  echo "  flowspec: $accepted accepted durably, $ran hooks run; answered and run: $(rate "$ran" "$start" "$end") runs/s"
  audit_lines=$(wc -l < "$project/.flowspec/audit.log")
  if [ "$ran" != "$accepted" ] || [ "$audit_lines" != "$accepted" ]; then
    echo "  FAILED: $accepted accepted, $ran run, $audit_lines audit lines: every accepted event must run exactly once" >&2
    failed=1
  fi
  kill $pid; wait $pid 2>/dev/null || true
done
rm -rf "$project/.flowspec/state"
GITHUB_WEBHOOK_SECRET=$secret "$bin" -C "$project" serve --bind 127.0.0.1:18080 -q 2> /dev/null &
pid=$!; sleep 1
wrk_run "flowspec-forged" 64 "$work/forged.lua" "http://127.0.0.1:18080/webhooks/github"
kill $pid; wait $pid 2>/dev/null || true
exit $failed
