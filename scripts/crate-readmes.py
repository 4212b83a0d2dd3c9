#!/usr/bin/env python3
"""Write crates/<name>/README.md for each library crate from its crate docs.

The crate docs in src/lib.rs are the one source: crates.io shows the README,
docs.rs the docs, and both say the same. Run after changing a crate's docs or
features:  python3 scripts/crate-readmes.py
(.ci/run fails when a README is out of date: `python3 scripts/crate-readmes.py --check`).
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INTRA_DOC = re.compile(r"\[`([^`\]]+)`\](?!\()")  # [`Engine`] -> `Engine`
FENCE = re.compile(r"^```(.*)$")


def crate_docs(lib_rs: str) -> list[str]:
    lines = []
    for line in lib_rs.splitlines():
        if not line.startswith("//!"):
            if lines:
                break
            continue
        lines.append(line[4:] if line.startswith("//! ") else line[3:])
    return lines


def to_markdown(doc: list[str]) -> str:
    out, in_code, rust = [], False, False
    for line in doc:
        fence = FENCE.match(line)
        if fence:
            if not in_code:
                lang = fence.group(1).strip()
                rust = lang == "" or lang.split(",")[0] in ("rust", "no_run", "ignore", "should_panic")
                out.append("```rust" if rust else f"```{lang}")
            else:
                out.append("```")
            in_code = not in_code
            continue
        if in_code:
            # Hidden doctest lines (`# async fn run() …`) stay out of the README.
            if rust and (line == "#" or line.startswith("# ")):
                continue
            out.append(line)
        else:
            out.append(INTRA_DOC.sub(r"`\1`", line))
    return "\n".join(out).rstrip() + "\n"


def features(cargo_toml: str) -> list[str]:
    """`name`: the comment above it, for each feature of [features]."""
    section = re.search(r"^\[features\]\n(.*?)(?=^\[|\Z)", cargo_toml, re.S | re.M)
    if not section:
        return []
    items, comment = [], []
    for line in section.group(1).splitlines():
        if line.startswith("#"):
            comment.append(line.lstrip("# ").strip())
        elif "=" in line:
            name = line.split("=", 1)[0].strip()
            if name == "default":
                default = re.findall(r'"([^"]+)"', line)
                listed = ", ".join(f"`{d}`" for d in default) or "none"
                items.append(f"- on by default: {listed}")
            else:
                what = " ".join(comment) or "see the crate docs"
                items.append(f"- `{name}`: {what}")
            comment = []
        else:
            comment = []
    return items


def readme(crate: pathlib.Path) -> str:
    lib = (crate / "src" / "lib.rs").read_text()
    body = to_markdown(crate_docs(lib))
    name = crate.name
    badges = (
        f"[![crates.io](https://img.shields.io/crates/v/{name}.svg)](https://crates.io/crates/{name}) "
        f"[![docs.rs](https://docs.rs/{name}/badge.svg)](https://docs.rs/{name})\n\n"
    )
    lines = body.splitlines()
    head, rest = lines[0], "\n".join(lines[1:]).lstrip("\n") + "\n"
    text = f"{head}\n\n{badges}{rest}"
    feats = features((crate / "Cargo.toml").read_text())
    if feats and "## Features" not in body:
        text += "\n## Cargo features\n\n" + "\n".join(feats) + "\n"
    text += (
        "\n## License\n\nLicensed under either of the Apache License, Version 2.0 "
        "([LICENSE-APACHE](LICENSE-APACHE)) or the MIT license ([LICENSE-MIT](LICENSE-MIT)) "
        "at your option.\n"
    )
    return text


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for crate in sorted((ROOT / "crates").iterdir()):
        if not (crate / "src" / "lib.rs").exists() or crate.name == "flowspec-cli":
            continue
        path = crate / "README.md"
        want = readme(crate)
        if check:
            if not path.exists() or path.read_text() != want:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(want)
    if stale:
        print("out of date (run python3 scripts/crate-readmes.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
