#!/usr/bin/env bash
# Every metric the alerts and the dashboard query is one flowspec exports: a renamed
# metric fails CI here instead of leaving an alert that can never fire.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=0
for name in $(grep -ohE '\b(flowspec|hooks_cicd)_[a-z_]+' deploy/monitoring/*.yml deploy/monitoring/*.json | sort -u); do
  base=${name%_bucket}; base=${base%_total}
  case "$base" in
    flowspec_watch_*) grep -qE "^ *\"${base#flowspec_watch_}(_total)?\",\$" crates/flowspec-watch/src/heartbeat.rs ;;
    *) grep -q "\"$base\"" crates/flowspec-server/src/metrics.rs ;;
  esac || { echo "not exported by flowspec: $name"; missing=1; }
done
exit "$missing"
