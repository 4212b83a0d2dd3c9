#!/usr/bin/env bash
# Events across machines: flowspec serve -> Redis -> flowspec subscribe -> hook, against the
# same hooks run by flowspec serve itself, same machine, same run.
# Needs: apt-get install -y redis-server wrk. Run on an otherwise idle machine.
#   benches/transport.sh [seconds of load per run, default 10] [drain seconds, default 60]
#
# 1. publish-only: the library publishes 200,000 events in batches of 500, and one by one;
#    then `flowspec serve` (no hooks) publishes what wrk posts to /events.
# 2. end to end: wrk posts to /events for N seconds (8 connections); the rate is the hooks
#    run (/bin/true) divided by the time from the start of the load to the last run, for
#    serve running them itself ("local") and for serve publishing + subscribe running them
#    ("transport"), both with 4 workers. The run fails when a count disagrees.
# 3. latency: 300 events, 50 per second, one connection; from the 202 to the hook's start
#    (the hook writes the time), p50 and p99, local and transport.
# Redis runs with its append-only file, fsynced every second (its default).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
drain=${2:-60}
for tool in redis-server redis-cli wrk python3 curl; do
  command -v $tool >/dev/null || { echo "$tool is missing: apt-get install -y redis-server wrk" >&2; exit 1; }
done
cargo build --release -q -p flowspec-cli
cargo build --release -q -p flowspec-transport --example publish_rate
bin="$PWD/target/release/flowspec"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --dir "$work" > "$work/redis.log" 2>&1 &
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
url="redis://127.0.0.1:$port/0"
token=bench-token
export FLOWSPEC_EVENTS_TOKEN=$token FLOWSPEC_REDIS_URL=$url
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"event_type":"build.completed","branch":"main"}'
LUA
now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1 / ($3 - $2):.0f}')"; }
metric() { # name
  curl -s "http://127.0.0.1:18081/metrics" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {print s + 0}'
}
# Entries the group acknowledged: delivered minus pending.
acked() { # group
  redis-cli -p "$port" XINFO GROUPS flowspec:events 2>/dev/null | python3 -c "
import sys
v = [l.strip() for l in sys.stdin]
groups = [dict(zip(v[i:i + 12:2], v[i + 1:i + 12:2])) for i in range(0, len(v), 12)]
g = next((g for g in groups if g.get('name') == '$1'), {})
print(max(int(g.get('entries-read', 0)) - int(g.get('pending', 0)), 0))"
}
# Waits until `count_cmd` reaches `target` or stops growing for 3 s (up to the drain);
# prints "<count> <time of the last change>".
drain_until() { # target count_cmd...
  local target=$1; shift
  local deadline last count changed
  deadline=$(python3 -c "print($(now) + $drain)")
  last=-1; changed=$(now)
  while :; do
    count=$("$@")
    if [ "$count" != "$last" ]; then last=$count; changed=$(now); fi
    [ "$count" -ge "$target" ] && break
    python3 -c "import sys; sys.exit(0 if $(now) > $deadline or $(now) - $changed > 3 else 1)" && break
    sleep 0.1
  done
  echo "$last $changed"
}
project() { # dir hooks? transport?
  mkdir -p "$1/.flowspec/hooks"
  {
    echo "audit: {enabled: false}"
    echo "server: {rate_limit: false, workers: 4}"
    [ "$3" = transport ] && printf 'transport:\n  url: ${FLOWSPEC_REDIS_URL}\n  group: bench\n  workers: 4\n'
    true
  } > "$1/.flowspec/flowspec.yaml"
  if [ "$2" = hooks ]; then
    printf 'hooks:\n  - name: build\n    events: [build.completed]\n    script: %s\n' "${HOOK:-/bin/true}" \
      > "$1/.flowspec/hooks/hooks.yaml"
  fi
}
serve() { # dir
  "$bin" -C "$1" serve --bind 127.0.0.1:18081 -q 2> "$1/serve.log" &
  until curl -sf http://127.0.0.1:18081/healthz >/dev/null; do sleep 0.05; done
}
reset_redis() { redis-cli -p "$port" FLUSHALL >/dev/null; }
failed=0

echo "== Redis $(redis-server --version | awk '{print $3}'), publish only"
./target/release/examples/publish_rate "$url" 200000 500
./target/release/examples/publish_rate "$url" 20000 1
reset_redis
relay="$work/relay"; project "$relay" none transport
serve "$relay"; pid=$!
start=$(now)
wrk -t2 -c8 -d"${secs}s" -s "$work/post.lua" http://127.0.0.1:18081/events > "$work/wrk-relay.txt"
accepted=$(metric flowspec_events_accepted_total)
read -r published end < <(drain_until "$accepted" redis-cli -p "$port" XLEN flowspec:events)
accepted=$(metric flowspec_events_accepted_total)   # requests in flight when wrk stopped land later
published=$(redis-cli -p "$port" XLEN flowspec:events)
echo "serve (no hooks) with a transport: $accepted accepted, $published published: $(rate "$published" "$start" "$end") published/s"
[ "$published" = "$accepted" ] || { echo "  FAILED: every accepted event must be published once" >&2; failed=1; }
kill $pid; wait $pid 2>/dev/null || true

echo "== end to end, /bin/true, 4 workers, wrk -c8 for ${secs}s"
local_dir="$work/local"; project "$local_dir" hooks none
serve "$local_dir"; pid=$!
start=$(now)
wrk -t2 -c8 -d"${secs}s" -s "$work/post.lua" http://127.0.0.1:18081/events > "$work/wrk-local.txt"
accepted=$(metric flowspec_events_accepted_total)
runs() { metric 'flowspec_hook_runs_total{hook="build",status="success"}'; }
read -r ran end < <(drain_until "$accepted" runs)
accepted=$(metric flowspec_events_accepted_total); ran=$(runs)
local_rate=$(rate "$ran" "$start" "$end")
echo "local:     $accepted accepted, $ran run: $local_rate runs/s"
[ "$ran" = "$accepted" ] || { echo "  FAILED: $accepted accepted, $ran run" >&2; failed=1; }
kill $pid; wait $pid 2>/dev/null || true

reset_redis
rm -rf "$relay/.flowspec/state"
laptop="$work/laptop"; project "$laptop" hooks transport
"$bin" -C "$laptop" subscribe --once -q 2>/dev/null   # creates the group at the stream's end
"$bin" -C "$laptop" subscribe -q 2> "$laptop/subscribe.log" &
sub=$!
serve "$relay"; pid=$!
start=$(now)
wrk -t2 -c8 -d"${secs}s" -s "$work/post.lua" http://127.0.0.1:18081/events > "$work/wrk-transport.txt"
accepted=$(metric flowspec_events_accepted_total)
read -r ran end < <(drain_until "$accepted" acked bench)
accepted=$(metric flowspec_events_accepted_total); ran=$(acked bench)
transport_rate=$(rate "$ran" "$start" "$end")
echo "transport: $accepted accepted, $ran run and acknowledged: $transport_rate runs/s ($(python3 -c "print(f'{$transport_rate / $local_rate:.0%}')") of local)"
[ "$ran" = "$accepted" ] || { echo "  FAILED: $accepted accepted, $ran run" >&2; failed=1; }
kill $pid $sub; wait $pid $sub 2>/dev/null || true

echo "== latency from the 202 to the hook's start, 300 events at 50/s"
cat > "$work/stamp.sh" <<'SH'
#!/bin/sh
echo "$FLOWSPEC_EVENT_ID $(date +%s%N)" >> "$STAMPS"
SH
chmod +x "$work/stamp.sh"
latency() { # label dir-running-hooks
  python3 - "$work/sent-$1.txt" "$token" <<'PY'
import http.client, json, sys, time
out, token = open(sys.argv[1], "w"), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", 18081)
for i in range(300):
    body = json.dumps({"event_type": "build.completed", "event_id": f"lat-{i}"})
    conn.request("POST", "/events", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    out.write(f"lat-{i} {time.time_ns()}\n")
    time.sleep(0.02)
PY
  sleep 3
  python3 - "$work/sent-$1.txt" "$work/stamps-$1.txt" "$1" <<'PY'
import sys
sent = dict(l.split() for l in open(sys.argv[1]))
ran = dict(l.split() for l in open(sys.argv[2]))
d = sorted((int(ran[k]) - int(v)) / 1e6 for k, v in sent.items() if k in ran)
pick = lambda q: d[min(len(d) - 1, int(q * len(d)))]
print(f"{sys.argv[3]:<10} {len(d)}/{len(sent)} ran; p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms")
PY
}
rm -rf "$local_dir/.flowspec/state"
HOOK="$work/stamp.sh" project "$local_dir" hooks none
STAMPS="$work/stamps-local.txt" serve "$local_dir"; pid=$!
latency local
kill $pid; wait $pid 2>/dev/null || true
reset_redis
rm -rf "$relay/.flowspec/state" "$laptop/.flowspec/state"
HOOK="$work/stamp.sh" project "$laptop" hooks transport
"$bin" -C "$laptop" subscribe --once -q 2>/dev/null
STAMPS="$work/stamps-transport.txt" "$bin" -C "$laptop" subscribe -q 2>/dev/null &
sub=$!
serve "$relay"; pid=$!
latency transport
kill $pid $sub; wait $pid $sub 2>/dev/null || true
exit $failed
