#!/bin/sh
# Runs on validate.completed with fail_mode: stop: a non-zero exit blocks deployment.
set -eu
cat >/dev/null
echo "Running quality gate checks for ${FLOWSPEC_FEATURE:-?}"
# Replace with your gates, for example:
#   pytest tests/ --cov=src --cov-fail-under=85
#   ruff check .
echo "no gates configured yet: edit .flowspec/hooks/quality-gate.sh"
