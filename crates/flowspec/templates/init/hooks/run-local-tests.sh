#!/bin/sh
# Runs on implement.completed. The event is JSON on stdin.
set -eu
event=$(cat)
echo "Running unit tests for feature ${FLOWSPEC_FEATURE:-?} (event $FLOWSPEC_EVENT_ID)"
# Replace with your test command, for example:
#   pytest tests/unit -q
#   cargo test --quiet
#   npm test --silent
echo "no test command configured yet: edit .flowspec/hooks/run-local-tests.sh"
