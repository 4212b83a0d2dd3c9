#!/usr/bin/env bash
# Benchmark of `flowspec watch`: latency from rename(2) into the watched
# directory to the start of the hook process, with inotify and with polling, and the
# throughput of a burst. Results go to docs/benchmarks.md (watcher section).
#   benches/watch.sh            # everything (about 10 minutes, most of it polling at 1 s)
# Run on an otherwise idle machine; the load average is printed first.
set -euo pipefail
cd "$(dirname "$0")/.."

bench() { cargo bench -q -p flowspec-cli --bench watch_latency -- "$@"; }

echo "== load: $(uptime)"
echo "== inotify, 300 files one at a time"
bench --mode inotify --files 300
echo "== polling every 100ms, 200 files"
bench --mode polling --poll-interval 100ms --files 200
echo "== polling every 1s (the default), 200 files"
bench --mode polling --poll-interval 1s --files 200
echo "== inotify, burst of 1000 files, 1 worker"
bench --mode inotify --burst 1000 --workers 1
echo "== inotify, burst of 1000 files, 4 workers"
bench --mode inotify --burst 1000 --workers 4
echo "== load: $(uptime)"
