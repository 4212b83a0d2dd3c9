#!/bin/sh
# The event arrives as JSON on stdin; FLOWSPEC_* variables carry the main fields.
set -eu
event=$(cat)
echo "running unit tests for feature ${FLOWSPEC_FEATURE:-?} (event ${FLOWSPEC_EVENT_ID})"
echo "payload: ${event}"
echo "42 passed"
