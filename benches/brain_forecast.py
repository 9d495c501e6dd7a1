#!/usr/bin/env python3
"""Served metro forecasts (issue 15): latency of one station's forecast through HTTP,
target < 5 ms.

    python3 benches/brain_forecast.py BIN [--rounds 50]

Starts `BIN serve --demo` on a fresh data dir (the demo imports the 80 Hangzhou stations,
replays 2019-01-22 06:00-08:00 and forecasts 08:00-09:00 with the real data of
../shared/data/metro), logs in as admin, then, from this separate process, sends requests
one at a time on one keep-alive connection: `--rounds` passes over the 80 stations of
GET /api/v1/brain/metro/stations/{id}/forecast (all six horizons, and ?horizon=3), and the
station list. Prints per kind the count and p50 / p95 / p99 / max in ms, measured at the
client (server time plus the loopback round trip, bearer token checked on every request),
with the machine and the load average.
"""

import http.client
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None, token=None):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        t0 = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, raw, time.perf_counter() - t0


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 50
    port = free_port()
    password = secrets.token_urlsafe(18)
    data = tempfile.mkdtemp(prefix="onecity-bench-brain-")
    env = dict(os.environ, ONECITY_ADMIN_PASSWORD=password, RUST_LOG="warn")
    server = subprocess.Popen(
        [binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--demo",
         "--demo-data", os.path.join(ROOT, "../shared/data")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 600
        while True:
            try:
                st, _, _ = Client(port).call("GET", "/readyz")
                if st == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("server not ready")
            time.sleep(0.5)
        c = Client(port)
        st, raw, _ = c.call("POST", "/api/v1/auth/login", {"username": "admin", "password": password})
        if st != 200:
            sys.exit(f"login: {st} {raw[:200]!r}")
        tok = json.loads(raw)["token"]
        kinds = {}

        def run(kind, path):
            st, raw, dt = c.call("GET", path, token=tok)
            if st != 200:
                sys.exit(f"{path}: HTTP {st}: {raw[:300]!r}")
            kinds.setdefault(kind, []).append(dt * 1000)
            return raw

        base = "/api/v1/brain/metro/stations"
        first = json.loads(run("warm-up", f"{base}/HZ-0/forecast?tenant=hangzhou"))
        if len(first["forecasts"]) != 6:
            sys.exit(f"expected 6 forecasts: {first}")
        kinds.clear()
        load_before = os.getloadavg()
        for _ in range(rounds):
            for row in range(80):
                run("one station, 6 horizons", f"{base}/HZ-{row}/forecast?tenant=hangzhou")
                run("one station, ?horizon=3", f"{base}/HZ-{row}/forecast?tenant=hangzhou&horizon=3")
            run("list of 80 stations", f"{base}?tenant=hangzhou")
        load_after = os.getloadavg()
        print(f"rounds: {rounds} x 80 stations; binary: {binary}")
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
              f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
        print("| request | n | p50 ms | p95 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, xs in kinds.items():
            print(f"| {k} | {len(xs)} | {statistics.median(xs):.3f} | {pct(xs, 95):.3f} | "
                  f"{pct(xs, 99):.3f} | {max(xs):.3f} |")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
