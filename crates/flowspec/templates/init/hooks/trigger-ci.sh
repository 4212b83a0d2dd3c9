#!/bin/sh
# Triggers a GitHub Actions workflow with the event's feature as an input.
set -eu
event=$(cat)
branch=$(git branch --show-current 2>/dev/null || echo main)
gh workflow run "$WORKFLOW_FILE" \
  --ref "$branch" \
  --field feature="${FLOWSPEC_FEATURE}" \
  --field trigger="flowspec-hook"
echo "Triggered CI workflow $WORKFLOW_FILE for feature ${FLOWSPEC_FEATURE}"
