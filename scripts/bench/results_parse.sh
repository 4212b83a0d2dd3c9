#!/usr/bin/env bash
# Results benchmark: parse the same generated JUnit file with flowspec and two Python
# baselines, side by side, reporting wall time, CPU time and peak RSS (GNU time).
#
#   scripts/bench/results_parse.sh [RUNS]
#
# Needs: python3 with `pip install junitparser lxml`, GNU time (/usr/bin/time).
# Writes the input to target/bench/ (about 105 MB, and 1 GB for the constant-memory run).
# SKIP_PYTHON=1 leaves out the Python baselines; SKIP_CLI=1 does not build or run the
# `flowspec` binary (the example `parse_report`, the same report builder without the
# JSON output, is measured either way). dorny/test-reporter is not measured: it is a
# GitHub Action, published to no package registry (`npm view` finds no package of it).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-3}"
out=target/bench
mkdir -p "$out"
input="$out/junit-200k.xml"
big="$out/junit-2m.xml"
[ -f "$input" ] || python3 scripts/bench/gen_junit.py "$input"
build() {
    cargo build --release -p flowspec-results --example parse_junit --example parse_report &&
        { [ -n "${SKIP_CLI:-}" ] || cargo build --release -p flowspec-cli; }
}
build >/dev/null 2>&1 || build
size=$(stat -c %s "$input")

measure() { # label, command...
    local label="$1"; shift
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" "$@" >/dev/null
        read -r wall user sys rss < "$out/time.txt"
        awk -v l="$label" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$size" \
            'BEGIN { printf "%-44s wall %6.2f s  cpu %6.2f s  %7.0f MB/s  peak RSS %7.1f MB\n", l, w, u + s, b / 1e6 / w, r / 1024 }'
    done
}

echo "input: $input ($((size / 1000000)) MB), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC')"
[ -n "${SKIP_PYTHON:-}" ] || measure "python junitparser (lxml)" python3 scripts/bench/junitparser_bench.py "$input"
[ -n "${SKIP_PYTHON:-}" ] || measure "python iterparse loop" python3 scripts/bench/iterparse_bench.py "$input"
measure "flowspec-results (example parse_junit)" target/release/examples/parse_junit "$input"
measure "flowspec-results ReportBuilder (example parse_report)" target/release/examples/parse_report "$input"
[ -n "${SKIP_CLI:-}" ] || measure "flowspec results parse --json" target/release/flowspec results parse --json "$input"

# Constant memory: a ~10x larger file must not need more memory.
[ -f "$big" ] || python3 scripts/bench/gen_junit.py "$big" --suites 20000
size=$(stat -c %s "$big")
echo "input: $big ($((size / 1000000)) MB)"
measure "flowspec-results JunitReader (1 GB)" target/release/examples/parse_junit "$big"
measure "flowspec-results ReportBuilder (1 GB)" target/release/examples/parse_report "$big"
[ -n "${SKIP_CLI:-}" ] || measure "flowspec results parse --json (1 GB)" target/release/flowspec results parse --json "$big"
