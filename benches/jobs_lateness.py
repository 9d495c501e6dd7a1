#!/usr/bin/env python3
"""Lateness and cost of the jobs layer (issue 15), read from a running server's history.

    ONECITY_ADMIN_PASSWORD=… python3 benches/jobs_lateness.py http://127.0.0.1:8080 ops.probe [--since-secs 60]

Start the server(s) with `ONECITY_JOBS_PROBE_EVERY_SECS=1` (and the poll interval under
test, `ONECITY_JOBS_POLL_MS`), let them run, then run this. For each scheduled run of the
job in the last `--since-secs` seconds it computes the lateness (start of the run minus
its tick's instant) and the duration, and checks that no tick ran twice. Prints one line:

    job=ops.probe runs=60 nodes={…} dup_ticks=0 late_p50_ms=… late_p99_ms=… late_max_ms=… dur_p50_ms=… dur_max_ms=…

Python 3 standard library only.
"""

import datetime
import json
import os
import sys
import time
import urllib.request


def call(base, path, token=None, body=None):
    req = urllib.request.Request(base + path, method="POST" if body is not None else "GET")
    req.add_header("Accept", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        req.add_header("Content-Type", "application/json")
        data = json.dumps(body).encode()
    with urllib.request.urlopen(req, data, timeout=30) as r:
        return json.loads(r.read())


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    base, job = args[0].rstrip("/"), args[1]
    since = int(args[args.index("--since-secs") + 1]) if "--since-secs" in args else 60
    token = call(base, "/api/v1/auth/login", body={"username": "admin", "password": os.environ["ONECITY_ADMIN_PASSWORD"]})["token"]
    runs, cursor = [], None
    cutoff = (time.time() - since) * 1e6
    while True:
        path = f"/api/v1/jobs/{job}/runs?limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = call(base, path, token)
        runs += page["items"]
        cursor = page.get("next_cursor")
        if not cursor or page["items"][-1]["started_at"] < cutoff:
            break
    sched = [r for r in runs if r["cause"] == "schedule" and r["started_at"] >= cutoff and r["outcome"] != "running"]
    ticks = {}
    for r in sched:
        ticks.setdefault(r["tick"], []).append(r)
    dup = sum(1 for v in ticks.values() if len([r for r in v if r["attempt"] == 1]) > 1)
    late = []
    for r in sched:
        due = datetime.datetime.fromisoformat(r["tick"].replace("Z", "+00:00")).timestamp() * 1e6
        late.append((r["started_at"] - due) / 1000)
    dur = [r["duration_ms"] for r in sched if r["duration_ms"] is not None]
    nodes = {}
    for r in sched:
        nodes[r["node"]] = nodes.get(r["node"], 0) + 1
    print(
        f"job={job} runs={len(sched)} ticks={len(ticks)} nodes={nodes} dup_ticks={dup} "
        f"late_p50_ms={pct(late, 50):.1f} late_p99_ms={pct(late, 99):.1f} late_max_ms={max(late, default=float('nan')):.1f} "
        f"dur_p50_ms={pct(dur, 50)} dur_max_ms={max(dur, default=0)}"
    )


if __name__ == "__main__":
    main()
