#!/usr/bin/env bash
# Installs flowspec for the GitHub Action: the release archive
# flowspec-<version>-<target>.tar.gz checked against its .sha256, else
# `cargo install flowspec-cli --locked`. FLOWSPEC_RELEASES_URL replaces
# https://github.com/<repository>/releases/download (a mirror, or a test's server).
set -euo pipefail

version=${FLOWSPEC_VERSION:-latest}
repo=${FLOWSPEC_REPOSITORY:-flowspec/flowspec}
case "${RUNNER_OS_NAME:-Linux}/${RUNNER_ARCH_NAME:-X64}" in
  Linux/X64) target=x86_64-unknown-linux-gnu ;;
  Linux/ARM64) target=aarch64-unknown-linux-gnu ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  *) target="" ;;
esac

if [ "$version" = latest ]; then
  tag=$(gh api "repos/$repo/releases/latest" --jq .tag_name 2>/dev/null || true)
  version=${tag#v}
else
  version=${version#v}
fi

bin_dir="${RUNNER_TOOL_CACHE:-$HOME/.local}/flowspec/${version:-cargo}/bin"
installed=false
if [ -n "$version" ] && [ -n "$target" ]; then
  archive="flowspec-$version-$target.tar.gz"
  base=${FLOWSPEC_RELEASES_URL:-https://github.com/$repo/releases/download}
  url="$base/v$version/$archive"
  work=$(mktemp -d)
  if curl -fsSL --retry 3 -o "$work/$archive" "$url" \
    && curl -fsSL --retry 3 -o "$work/$archive.sha256" "$url.sha256"; then
    want=$(awk '{print $1; exit}' "$work/$archive.sha256")
    if command -v sha256sum >/dev/null 2>&1; then
      got=$(sha256sum "$work/$archive" | awk '{print $1}')
    else
      got=$(shasum -a 256 "$work/$archive" | awk '{print $1}')
    fi
    if [ "$want" != "$got" ]; then
      echo "::error::$archive: checksum $got does not match $want from $archive.sha256"
      exit 1
    fi
    tar -xzf "$work/$archive" -C "$work"
    found=$(find "$work" -type f -name flowspec -perm -u+x | head -n 1)
    if [ -n "$found" ]; then
      mkdir -p "$bin_dir"
      install -m 0755 "$found" "$bin_dir/flowspec"
      installed=true
      echo "flowspec $version from $url"
    fi
  else
    echo "::notice::no release archive $archive in $repo; building with cargo install"
  fi
fi

if [ "$installed" = false ]; then
  root="${RUNNER_TOOL_CACHE:-$HOME/.local}/flowspec/cargo"
  args=(install flowspec-cli --locked --root "$root")
  [ -n "$version" ] && args+=(--version "$version")
  cargo "${args[@]}"
  bin_dir="$root/bin"
fi

echo "$bin_dir" >>"$GITHUB_PATH"
"$bin_dir/flowspec" --version
echo "version=$("$bin_dir/flowspec" --version | awk '{print $2}')" >>"$GITHUB_OUTPUT"
