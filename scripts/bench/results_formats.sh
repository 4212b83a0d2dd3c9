#!/usr/bin/env bash
# Results benchmark of the newer formats: generated TRX, NUnit 3, xUnit.net v2,
# `go test -json`, CTRF, TAP 13, Jest JSON and JaCoCo files (the JUnit benchmark's run
# of 100,000 test cases, 10% failing with messages, stack traces and output), each read
# by flowspec-results through format detection and the report builder (example
# `parse_report`), reporting wall time, CPU time and peak RSS (GNU time).
#
#   scripts/bench/results_formats.sh [RUNS]
#
# Needs: python3, GNU time (/usr/bin/time). Writes the inputs to target/bench/formats/.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-3}"
dir=target/bench/formats
[ -f "$dir/bench.jacoco.xml" ] || python3 scripts/bench/gen_formats.py "$dir"
cargo build --release -p flowspec-results --example parse_report >/dev/null 2>&1 ||
    cargo build --release -p flowspec-results --example parse_report

echo "$(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC')"
for file in bench.trx bench.nunit.xml bench.xunit.xml bench.gotest.json bench.ctrf.json bench.tap bench.jest.json bench.jacoco.xml; do
    input="$dir/$file"
    size=$(stat -c %s "$input")
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" target/release/examples/parse_report "$input" >"$dir/out.txt"
        read -r wall user sys rss < "$dir/time.txt"
        tests=$(grep -o 'tests=[0-9]*' "$dir/out.txt" | head -1)
        awk -v l="$file" -v t="$tests" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$size" \
            'BEGIN { printf "%-18s %4.0f MB %-12s wall %6.2f s  cpu %6.2f s  %6.0f MB/s (cpu)  peak RSS %7.1f MB\n", l, b / 1e6, t, w, u + s, b / 1e6 / (u + s), r / 1024 }'
    done
done
