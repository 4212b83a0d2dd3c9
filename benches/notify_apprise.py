"""Apprise's side of benches/notify.sh: N notifications to a json:// URL, one at a time
(Apprise's notify() is synchronous). Prints one JSON line like the Rust bench."""
import json
import resource
import sys
import time

import apprise

url, count = sys.argv[1], int(sys.argv[2])
a = apprise.Apprise()
a.add(url)
for i in range(20):  # warm-up
    a.notify(title="warm-up", body="warm-up")
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu_before = usage.ru_utime + usage.ru_stime
start = time.perf_counter()
ok = 0
for i in range(count):
    if a.notify(
        title="✅ Spec Implementation Completed",
        body=f"• ID: FEAT-{i:04}\n• Title: User Authentication\n• PR: #42",
    ):
        ok += 1
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu_before
print(json.dumps({
    "tool": "apprise " + apprise.__version__,
    "count": count,
    "delivered": ok,
    "seconds": seconds,
    "per_sec": ok / seconds,
    "cpu_seconds": cpu,
    "cpu_us_per_notification": cpu * 1e6 / count,
    "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
