#!/bin/sh
# Triggers a staging deployment after the quality gates passed.
set -eu
cat >/dev/null
if [ -z "${DEPLOY_WEBHOOK_URL:-}" ]; then
  echo "DEPLOY_WEBHOOK_URL is not set: skipping the deployment trigger"
  exit 0
fi
curl -fsS -X POST "$DEPLOY_WEBHOOK_URL" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: $FLOWSPEC_EVENT_ID" \
  -d "{\"feature\": \"${FLOWSPEC_FEATURE}\", \"environment\": \"${ENVIRONMENT}\"}"
echo "Triggered deployment of ${FLOWSPEC_FEATURE} to ${ENVIRONMENT}"
