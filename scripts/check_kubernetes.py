#!/usr/bin/env python3
"""Checks what the schemas cannot, in the output of `kubectl kustomize OVERLAY` (stdin):
every container runs as non-root on a read-only root filesystem with requests and
limits; the receiver has liveness on /healthz and readiness on /readyz; the grace period
outlasts server.drain_timeout; no Secret with values is shipped. With --extract DIR, the
ConfigMap's files are written to DIR/<receiver|worker>/.flowspec/ for `flowspec hooks
validate`. Exits 1 with one line per problem."""

import re
import sys
from pathlib import Path

import yaml


def seconds(text):
    match = re.fullmatch(r"(\d+)(s|m)?", str(text))
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def main():
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    problems = []
    config = next((d for d in docs if d["kind"] == "ConfigMap"), None)
    if config is None:
        return print("no ConfigMap") or 1
    receiver_settings = yaml.safe_load(config["data"]["receiver.yaml"])
    drain = seconds(receiver_settings["server"].get("drain_timeout", "30s"))
    deployments = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    names = {d["metadata"]["name"] for d in deployments}
    for want in ("flowspec-receiver", "flowspec-worker"):
        if want not in names:
            problems.append(f"no workload {want}")
    for d in docs:
        if d["kind"] == "Secret" and (d.get("data") or d.get("stringData")):
            problems.append(f"Secret {d['metadata']['name']}: values belong outside the manifests")
    for d in deployments:
        name = d["metadata"]["name"]
        pod = d["spec"]["template"]["spec"]
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace <= drain:
            problems.append(f"{name}: terminationGracePeriodSeconds {grace} <= drain_timeout {drain}s")
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            problems.append(f"{name}: pod securityContext.runAsNonRoot is not true")
        for c in pod["containers"]:
            where = f"{name}/{c['name']}"
            if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(res.get(part, {})):
                    problems.append(f"{where}: resources.{part} needs cpu and memory")
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            if "/var/lib/flowspec" not in mounts:
                problems.append(f"{where}: no volume on /var/lib/flowspec (.flowspec/state)")
            if name == "flowspec-receiver":
                live = c.get("livenessProbe", {}).get("httpGet", {}).get("path")
                ready = c.get("readinessProbe", {}).get("httpGet", {}).get("path")
                if live != "/healthz":
                    problems.append(f"{where}: livenessProbe is not on /healthz")
                if ready != "/readyz":
                    problems.append(f"{where}: readinessProbe is not on /readyz")
    if len(sys.argv) == 3 and sys.argv[1] == "--extract":
        for role in ("receiver", "worker"):
            dot = Path(sys.argv[2]) / role / ".flowspec"
            (dot / "hooks").mkdir(parents=True, exist_ok=True)
            (dot / "flowspec.yaml").write_text(config["data"][f"{role}.yaml"])
            hooks = "receiver-hooks.yaml" if role == "receiver" else "hooks.yaml"
            (dot / "hooks" / "hooks.yaml").write_text(config["data"][hooks])
    for p in problems:
        print(p)
    if not problems:
        print(f"{len(deployments)} workloads checked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
