#!/usr/bin/env bash
# `flowspec results summary|check` on the report files of $REPORT_FILES (globs allowed).
set -euo pipefail
shopt -s nullglob globstar

# Split on whitespace with globbing off, then expand each pattern on its own, so a
# pattern that matches nothing is named.
set -f
# shellcheck disable=SC2206 # splitting on whitespace is the point
patterns=(${REPORT_FILES:?set the report files})
set +f
files=()
for pattern in "${patterns[@]}"; do
  # shellcheck disable=SC2206 # the pattern is meant to be expanded as a glob
  matched=($pattern)
  if [ ${#matched[@]} -eq 0 ]; then
    echo "::warning::no report file matches $pattern"
  fi
  files+=("${matched[@]}")
done
if [ ${#files[@]} -eq 0 ]; then
  echo "::error::no report files found for: $REPORT_FILES"
  exit 1
fi

case "$1" in
  # The Markdown goes to the job summary; stdout, where the annotations (workflow
  # commands) are, stays in the log for the runner to read.
  summary) flowspec results summary --step-summary --annotations "${files[@]}" ;;
  check)
    args=(results check)
    [ "${QUARANTINE:-true}" = true ] || args+=(--no-quarantine)
    flowspec "${args[@]}" "${files[@]}"
    ;;
  *) echo "::error::results.sh: summary or check, not $1"; exit 2 ;;
esac
