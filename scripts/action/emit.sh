#!/usr/bin/env bash
# Sends $EVENT_TYPE with the fields of $EVENT_DATA (`key=value` or `key:=JSON` a line):
# to a receiver's /events when $RECEIVER_URL is set, else through `flowspec emit` here.
set -euo pipefail

fields=()
while IFS= read -r line; do
  [ -n "${line// /}" ] && fields+=("$line")
done <<<"${EVENT_DATA:-}"

if [ -z "${RECEIVER_URL:-}" ]; then
  args=(emit "$EVENT_TYPE")
  for field in "${fields[@]}"; do args+=(--data "$field"); done
  exec flowspec "${args[@]}"
fi

if [ -z "${RECEIVER_TOKEN:-}" ]; then
  echo "::error::emit-url is set but emit-token is empty: pass the receiver's FLOWSPEC_EVENTS_TOKEN from a secret"
  exit 1
fi
echo "::add-mask::$RECEIVER_TOKEN"
event=$(jq -n --arg t "$EVENT_TYPE" '{event_type: $t}')
for field in "${fields[@]}"; do
  if [[ "$field" == *:=* ]]; then
    key=${field%%:=*}
    event=$(jq --arg k "$key" --argjson v "${field#*:=}" '.[$k] = $v' <<<"$event")
  elif [[ "$field" == *=* ]]; then
    key=${field%%=*}
    event=$(jq --arg k "$key" --arg v "${field#*=}" '.[$k] = $v' <<<"$event")
  else
    echo "::error::emit-data: \`$field\` is neither key=value nor key:=JSON"
    exit 1
  fi
done
# One key per job attempt and event type: a retried request is not run twice.
key="github-${GITHUB_RUN_ID:-0}-${GITHUB_RUN_ATTEMPT:-1}-${GITHUB_JOB:-job}-$EVENT_TYPE"
curl -fsS --retry 3 --retry-all-errors -X POST "$RECEIVER_URL" \
  -H "Authorization: Bearer $RECEIVER_TOKEN" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: $key" \
  --data-binary "$event"
echo
