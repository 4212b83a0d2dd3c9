#!/usr/bin/env bash
# Builds the release archive of the flowspec command:
#
#   scripts/release-archive.sh [--target TRIPLE] [--out DIR] [--binary PATH]
#
# writes DIR/flowspec-<version>-<target>.tar.gz and DIR/flowspec-<version>-<target>.tar.gz.sha256
# (`sha256sum` format: `<hex>  <file name>`). The archive holds one directory,
# flowspec-<version>-<target>/, with the executable, its man pages (man/man1), shell
# completions (completions/), README.md, CHANGELOG.md and both licenses; the GitHub Action
# and `cargo binstall` install from it.
#
# The executable is built with `cargo build --profile dist --locked` (docs/releasing.md
# says what that profile does and why); --binary packages one built elsewhere instead,
# e.g. by a cross toolchain. --out defaults to target/dist.
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
out=target/dist
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=${2:?--target needs a target triple}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "release-archive.sh: unknown argument \`$1\` (try --help)" >&2; exit 2 ;;
  esac
done

host=$(rustc -vV | sed -n 's/^host: //p')
target=${target:-$host}
if [ -z "$binary" ]; then
  args=(build --profile dist --locked -p flowspec-cli)
  [ "$target" = "$host" ] || args+=(--target "$target")
  cargo "${args[@]}"
  if [ "$target" = "$host" ]; then binary=target/dist/flowspec; else binary=target/$target/dist/flowspec; fi
fi
[ -x "$binary" ] || { echo "release-archive.sh: $binary is not an executable" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
reported=$("$binary" --version 2>/dev/null | awk '{print $2}' || true)
if [ -n "$reported" ] && [ "$reported" != "$version" ]; then
  echo "release-archive.sh: $binary says version $reported, the workspace is $version" >&2
  exit 1
fi

name="flowspec-$version-$target"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/completions"
install -m 0755 "$binary" "$dir/flowspec"
cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$dir/"
# Man pages and completions come from the executable itself, when it runs here (a
# cross-built one does not: build the archive on the target, or add them by hand).
if [ "$target" = "$host" ]; then
  "$dir/flowspec" man --output "$dir/man/man1" >/dev/null
  "$dir/flowspec" completions bash --program flowspec >"$dir/completions/flowspec.bash"
  "$dir/flowspec" completions zsh --program flowspec >"$dir/completions/_flowspec"
  "$dir/flowspec" completions fish --program flowspec >"$dir/completions/flowspec.fish"
fi

archive="$out/$name.tar.gz"
# Owner and times fixed, files sorted: the same inputs give the same archive.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' -C "$stage" -cf - "$name" \
  | gzip -n -9 >"$archive"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
echo "$archive ($(du -h "$archive" | cut -f1))"
echo "$archive.sha256"
