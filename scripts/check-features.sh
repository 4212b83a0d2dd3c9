#!/usr/bin/env bash
# Builds (cargo check) the crates with some of their optional backends turned off, so
# a feature gate that breaks a reduced build is caught. Fails on errors and warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

combos=(
  "-p flowspec-results --no-default-features"
  "-p flowspec-notify --no-default-features --features slack"
  "-p flowspec-notify --no-default-features --features email"
  "-p flowspec-core --no-default-features"
  "-p flowspec-providers --no-default-features --features github"
)

for combo in "${combos[@]}"; do
  printf '\n=== cargo check --locked %s\n' "$combo"
  # shellcheck disable=SC2086
  out=$(cargo check --locked $combo 2>&1) || { printf '%s\n' "$out"; exit 1; }
  if grep -q '^warning' <<<"$out"; then
    printf '%s\n' "$out"
    echo "check-features: warnings in: $combo" >&2
    exit 1
  fi
done

# Without the `store` feature flowspec-results has no SQL dependency at all.
if cargo tree --locked -p flowspec-results --no-default-features -e normal | grep -E "sqlx|rusqlite"; then
  echo "check-features: flowspec-results without \`store\` still depends on SQL" >&2
  exit 1
fi
echo "check-features: ok"
