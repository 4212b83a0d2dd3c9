#!/usr/bin/env python3
"""Checks deploy/compose/compose.yaml without Docker: it parses, names the services and
keys the Compose specification knows, every bind-mounted file exists, every variable it
interpolates is in .env.example, the services have healthchecks, and the stop grace
period outlasts the receiver's drain_timeout. Exits 1 with one line per problem."""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent / "deploy" / "compose"
SERVICE_KEYS = {
    "image", "build", "restart", "read_only", "stop_grace_period", "tmpfs", "depends_on",
    "command", "ports", "environment", "volumes", "healthcheck",
}
TOP_KEYS = {"name", "services", "volumes", "networks", "secrets", "configs"}


def seconds(text):
    match = re.fullmatch(r"(\d+)(s|m)?", str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def main():
    problems = []
    compose_text = (ROOT / "compose.yaml").read_text()
    doc = yaml.safe_load(compose_text)
    top = {k for k in doc if not k.startswith("x-")}
    problems += [f"compose.yaml: unknown top-level key {k!r}" for k in top - TOP_KEYS]
    services = doc.get("services", {})
    for want in ("receiver", "worker", "postgres", "redis"):
        if want not in services:
            problems.append(f"compose.yaml: no service {want!r}")
    named_volumes = set(doc.get("volumes", {}))
    for name, svc in services.items():
        for key in set(svc) - SERVICE_KEYS:
            problems.append(f"compose.yaml: services.{name}: unknown key {key!r}")
        if "image" not in svc:
            problems.append(f"compose.yaml: services.{name}: no image")
        if "healthcheck" not in svc:
            problems.append(f"compose.yaml: services.{name}: no healthcheck")
        for dep in svc.get("depends_on", {}):
            if dep not in services:
                problems.append(f"compose.yaml: services.{name}: depends on unknown {dep!r}")
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                if not (ROOT / source).exists():
                    problems.append(f"compose.yaml: services.{name}: {source} does not exist")
            elif source not in named_volumes:
                problems.append(f"compose.yaml: services.{name}: volume {source!r} not declared")
    # Variables compose interpolates must be documented in .env.example.
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", compose_text))
    problems += [f".env.example: {v} is used by compose.yaml but not listed" for v in sorted(used - documented)]
    # The grace period must outlast the drain, or running hooks are killed mid-way.
    settings = yaml.safe_load((ROOT / "receiver/.flowspec/flowspec.yaml").read_text())
    drain = seconds(settings.get("server", {}).get("drain_timeout", "30s"))
    for name in ("receiver", "worker"):
        grace = seconds(services[name].get("stop_grace_period", "10s"))
        if grace <= drain:
            problems.append(f"compose.yaml: services.{name}: stop_grace_period {grace}s <= drain_timeout {drain}s")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"compose.yaml: {len(services)} services checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
