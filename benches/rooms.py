#!/usr/bin/env python3
"""Room finding through HTTP (issue 15, the Haikou case): p50 / p95 / p99 latency of
GET /api/v1/brain/rooms over all 23,185 Melbourne listings, the load generator in its own
process (this script) and the server in another.

    python3 benches/rooms.py BIN [--requests 5000] [--clients 4]

Steps: on a fresh data dir, `BIN admin tenant create --code bench` and
`BIN import lodging --tenant bench` (all listings, no boundary: the benchmark tenant, not
the demo), timed; then `BIN serve` (no --demo). Queries are drawn from a fixed seed: a
point uniformly inside Greater Melbourne's listing box (lat −38.2…−37.5, lon 144.5…145.5)
or, half of the time, within 3 km of the CBD; radius 500–5,000 m; a random check-in in
the next 60 days and 1–7 nights; a room type one time in four; a price band one time in
three; limit 20. `--clients` threads each keep one keep-alive connection and send their
share of requests back to back. A warm-up of 200 requests is not counted. Latency is
measured at the client on the same machine (server time plus the loopback round trip).
Prints the machine (nproc, load average), the import time, the latencies in ms and the
throughput. Last, it books one room and measures how long until it leaves the results.
"""

import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def arg(name, default):
    return type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def queries(n, seed):
    rng = random.Random(seed)
    today = time.gmtime()
    base = time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 12, 0, 0, 0, 0, -1))
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            lat, lon = -37.8136 + rng.uniform(-0.027, 0.027), 144.9631 + rng.uniform(-0.034, 0.034)
        else:
            lat, lon = rng.uniform(-38.2, -37.5), rng.uniform(144.5, 145.5)
        q = {
            "tenant": "bench",
            "lat": f"{lat:.5f}",
            "lon": f"{lon:.5f}",
            "radius_m": str(rng.choice([500, 1000, 2000, 3000, 5000])),
            "checkin": time.strftime("%Y-%m-%d", time.gmtime(base + 86400 * rng.randint(1, 60))),
            "nights": str(rng.randint(1, 7)),
            "limit": "20",
        }
        if rng.random() < 0.25:
            q["room_type"] = rng.choice(["entire_home", "private_room", "shared_room", "hotel_room"])
        if rng.random() < 0.33:
            lo = rng.choice([0, 50, 100])
            q["price_min"], q["price_max"] = str(lo), str(lo + rng.choice([100, 200, 400]))
        out.append("/api/v1/brain/rooms?" + urllib.parse.urlencode(q))
    return out


def run(cmd, env):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: {r.stderr}")
    return r.stdout, time.perf_counter() - t0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    total = arg("--requests", 5000)
    clients = arg("--clients", 4)
    port = free_port()
    password = secrets.token_urlsafe(18)
    tmp = tempfile.mkdtemp(prefix="onecity-rooms-bench-")
    env = dict(os.environ, ONECITY_ADMIN_PASSWORD=password, ONECITY_LOG_LEVEL="warn")
    store = ["--data-dir", os.path.join(tmp, "data")]
    run([binary, "admin", "tenant", "create", "--code", "bench", "--name", "Bench", *store], env)
    out, import_s = run(
        [binary, "import", "lodging", "--tenant", "bench", *store,
         "--file", os.path.join(DATA, "lodging", "melbourne_airbnb_listings_clean.csv")], env)
    report = json.loads(out)
    server = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", *store],
        env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "server.log"), "w"))
    try:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "wait-ready.py"),
                        f"http://127.0.0.1:{port}/readyz", str(server.pid), "120", "rooms.py"], check=True)
        # The first query builds the tenant's index; time it apart.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t0 = time.perf_counter()
        conn.request("GET", "/api/v1/brain/rooms?tenant=bench&lat=-37.8136&lon=144.9631")
        first = conn.getresponse()
        first_body = json.loads(first.read())
        build_ms = (time.perf_counter() - t0) * 1000
        if first.status != 200:
            sys.exit(f"first query: HTTP {first.status}: {first_body}")
        qs = queries(total + 200, 15)
        for path in qs[:200]:
            conn.request("GET", path)
            conn.getresponse().read()
        work = qs[200:]
        lat = [[] for _ in range(clients)]
        statuses = {}
        lock = threading.Lock()

        def client(i):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for path in work[i::clients]:
                t = time.perf_counter()
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                lat[i].append((time.perf_counter() - t) * 1000)
                with lock:
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        all_ms = [x for l in lat for x in l]

        # Book the best room near the CBD and poll until it leaves the results.
        login = json.dumps({"username": "admin", "password": password}).encode()
        conn.request("POST", "/api/v1/auth/login", body=login, headers={"Content-Type": "application/json"})
        token = json.loads(conn.getresponse().read())["token"]
        q = "/api/v1/brain/rooms?tenant=bench&lat=-37.8136&lon=144.9631&nights=2"
        conn.request("GET", q)
        best = json.loads(conn.getresponse().read())
        room = best["items"][0]["listing_id"]
        body = json.dumps({"tenant": "bench", "checkin": best["checkin"], "nights": 2}).encode()
        t0 = time.perf_counter()
        conn.request("POST", f"/api/v1/brain/rooms/{room}/bookings", body=body,
                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
        booked = conn.getresponse()
        booked.read()
        gone_ms = None
        while time.perf_counter() - t0 < 5:
            conn.request("GET", q)
            ids = [x["listing_id"] for x in json.loads(conn.getresponse().read())["items"]]
            if room not in ids:
                gone_ms = (time.perf_counter() - t0) * 1000
                break

        print(f"machine: nproc={os.cpu_count()} load={os.getloadavg()[0]:.2f},{os.getloadavg()[1]:.2f},{os.getloadavg()[2]:.2f}")
        print(f"import: {report['written']} listings ({report['placeholder_prices']} placeholder prices, "
              f"{report['never_available']} never available) in {import_s:.1f} s (process wall time)")
        print(f"first query (builds the index of {first_body['indexed']} bookable rooms): {build_ms:.1f} ms")
        print(f"search: {len(all_ms)} requests, {clients} clients, statuses {statuses}; "
              f"p50={pct(all_ms, 50):.2f} p95={pct(all_ms, 95):.2f} p99={pct(all_ms, 99):.2f} "
              f"max={max(all_ms):.2f} ms; {len(all_ms) / wall:.0f} req/s")
        print(f"booking: HTTP {booked.status}; the room left the results after {gone_ms:.1f} ms"
              if gone_ms is not None else f"booking: HTTP {booked.status}; the room was still listed after 5 s")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
