#!/usr/bin/env bash
# `flowspec ci wait` on $RUN_ID; its exit code is the step's (12 failed, 13 cancelled,
# 14 timed out).
set -euo pipefail
args=(ci wait --run "$RUN_ID" --timeout "${TIMEOUT:-30m}")
[ -z "${PROFILE:-}" ] || args+=(--profile "$PROFILE")
[ "${QUARANTINE:-true}" != true ] || args+=(--quarantine)
flowspec "${args[@]}"
