#!/usr/bin/env python3
"""Checks action.yml: it parses as a composite action, every step runs a script that
exists, every input a step reads is declared, and every `${{ inputs.X }}` names a declared
input. Exits 1 with one line per problem."""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main():
    text = (ROOT / "action.yml").read_text()
    action = yaml.safe_load(text)
    problems = []
    for key in ("name", "description", "inputs", "runs"):
        if key not in action:
            problems.append(f"action.yml: no `{key}`")
    if action["runs"].get("using") != "composite":
        problems.append("action.yml: runs.using is not composite")
    declared = set(action["inputs"])
    for name in re.findall(r"inputs\.([A-Za-z0-9_-]+)", text):
        if name not in declared:
            problems.append(f"action.yml: `inputs.{name}` is not declared")
    for i, step in enumerate(action["runs"]["steps"]):
        where = f"action.yml: step {i + 1} ({step.get('name', step.get('id'))})"
        if step.get("shell") != "bash":
            problems.append(f"{where}: shell is not bash")
        if "${{" in step.get("run", ""):
            problems.append(f"{where}: expressions in `run` (pass them through env)")
        script = re.match(r"\$\{GITHUB_ACTION_PATH\}/(\S+)", step.get("run", ""))
        if not script or not (ROOT / script.group(1)).is_file():
            problems.append(f"{where}: runs no script of scripts/action/")
    for p in problems:
        print(p)
    if not problems:
        print(f"action.yml: {len(declared)} inputs, {len(action['runs']['steps'])} steps checked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
