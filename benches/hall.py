#!/usr/bin/env python3
"""Server time of the service hall (issue 14): its pages and the guide API over the whole
demo catalog (crates/onecity-services/items, 51 items).

    python3 benches/hall.py BIN [--rounds 20] [--items N]

Starts `BIN serve` on a fresh data dir (no --demo: the script creates a tenant with the
Hangzhou code 330100, the catalog's departments, and posts and publishes every item of the
data files through the API), then sends requests one at a time on one keep-alive
connection, `--rounds` times over every item, and prints per request kind the count and the
p50 / p95 / p99 / max latency in ms (measured at the client on the same machine: server
time plus the loopback round trip), with the machine and the load average. Kinds: the
guide in zh and in en, the item JSON, the list with a life-event filter, the list with a
text filter, browse counts, and the pages /hall, /hall/items/{code} and /citizen.

`--items N` posts N items instead of the data files' 51: the catalog the search benchmark
uses (`cargo run --release -p onecity-services --example assistant_bench -- 1000`), i.e.
the i-th item is a copy of shipped item i mod 51 named after Hangzhou district i div 51
(出生医学证明首次签发（西湖区）), in the same department; its code keeps the division, type,
department and sub-item elements and adds 10 × (i div 51) to the main-item number, so the
codes stay valid GB/T 39554.1 codes and distinct. The first copy keeps the shipped code.
"""

import glob
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
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The districts of crates/onecity-services/examples/assistant_bench.rs, in its order.
DISTRICTS = [
    ("上城区", "Shangcheng"), ("拱墅区", "Gongshu"), ("西湖区", "Xihu"), ("滨江区", "Binjiang"),
    ("萧山区", "Xiaoshan"), ("余杭区", "Yuhang"), ("临平区", "Linping"), ("钱塘区", "Qiantang"),
    ("富阳区", "Fuyang"), ("临安区", "Lin'an"), ("桐庐县", "Tonglu"), ("淳安县", "Chun'an"),
    ("建德市", "Jiande"), ("西湖风景名胜区", "West Lake Scenic Area"),
    ("杭州高新区", "Hangzhou Hi-tech Zone"), ("钱塘新区", "Qiantang New Area"),
    ("大江东", "Dajiangdong"), ("之江", "Zhijiang"), ("良渚", "Liangzhu"),
    ("未来科技城", "Future Sci-Tech City"),
]


def catalog(n):
    """(department, item) pairs: the data files' items, or n copies of them (see the doc)."""
    shipped = []
    for path in sorted(glob.glob(os.path.join(ROOT, "crates/onecity-services/items/*.json"))):
        f = json.load(open(path, encoding="utf-8"))
        for it in f["items"]:
            shipped.append((f["department"], it))
    if n is None:
        return shipped
    out = []
    for i in range(n):
        d, base = shipped[i % len(shipped)]
        k = i // len(shipped)
        zh, en = DISTRICTS[k % len(DISTRICTS)]
        div, tt, dept, main, sub = base["code"].split("-")
        it = dict(base)
        it["code"] = f"{div}-{tt}-{dept}-{int(main) + 10 * k:03d}-{sub}"
        it["name"] = {"zh": f"{base['name']['zh']}（{zh}）", "en": f"{base['name']['en']} ({en})"}
        out.append((d, it))
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

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
        dt = time.perf_counter() - t0
        return r.status, raw, dt


def must(status, raw, want, what):
    if status not in want:
        sys.exit(f"{what}: HTTP {status}: {raw[:400]!r}")
    return json.loads(raw) if raw and raw[:1] in b"[{" else None


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 20
    n_items = int(sys.argv[sys.argv.index("--items") + 1]) if "--items" in sys.argv else None
    port = free_port()
    password = secrets.token_urlsafe(18)
    data = tempfile.mkdtemp(prefix="onecity-bench-hall-")
    env = dict(os.environ, ONECITY_ADMIN_PASSWORD=password, RUST_LOG="warn")
    server = subprocess.Popen(
        [binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                c = Client(port)
                st, _, _ = c.call("GET", "/readyz")
                if st == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("server not ready")
            time.sleep(0.2)
        c = Client(port)
        tok = must(*c.call("POST", "/api/v1/auth/login", {"username": "admin", "password": password})[:2], (200,), "login")["token"]
        t = must(*c.call("POST", "/api/v1/tenants", {"code": "hz", "name": "杭州市", "name_en": "Hangzhou", "root_code": "330100"}, tok)[:2], (201,), "tenant")
        codes = []
        departments = set()
        for d, it in catalog(n_items):
            if d["code"] not in departments:
                must(*c.call("POST", "/api/v1/tenants/hz/departments", {"jurisdiction_id": t["root_jurisdiction_id"], "code": d["code"], "name": d["name"]["zh"], "name_en": d["name"]["en"]}, tok)[:2], (201,), "department")
                departments.add(d["code"])
            it = dict(it, department_code=d["code"])
            must(*c.call("POST", "/api/v1/tenants/hz/services/items", it, tok)[:2], (201,), it["code"])
            must(*c.call("POST", f"/api/v1/tenants/hz/services/items/{it['code']}/publish", {}, tok)[:2], (200,), "publish")
            codes.append(it["code"])
        base = "/api/v1/tenants/hz/services"
        kinds = {}
        def run(kind, path):
            st, raw, dt = c.call("GET", path)
            must(st, raw, (200,), path)
            kinds.setdefault(kind, []).append(dt * 1000)
        # One warm-up pass, not counted.
        for code in codes:
            c.call("GET", f"{base}/items/{code}/guide?lang=zh")
        load_before = os.getloadavg()
        for _ in range(rounds):
            for code in codes:
                run("guide zh (API)", f"{base}/items/{code}/guide?lang=zh")
                run("guide en (API)", f"{base}/items/{code}/guide?lang=en")
                run("item JSON (API)", f"{base}/items/{code}")
                run("page /hall/items/{code}", f"/hall/items/{code}?lang=zh")
            for ev in ("birth", "housing", "education", "social_security"):
                run("list ?life_event= (API)", f"{base}/items?life_event={ev}")
            for q in ("出生", "证明", "passport", "公积金"):
                run("list ?q= (API)", f"{base}/items?q={urllib.parse.quote(q)}")
            run("browse (API)", f"{base}/browse")
            run("page /hall", "/hall?lang=zh")
            run("page /citizen", "/citizen?lang=zh")
        load_after = os.getloadavg()
        print(f"items: {len(codes)}, rounds: {rounds}")
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
        print("| request | n | p50 ms | p95 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, xs in kinds.items():
            print(f"| {k} | {len(xs)} | {statistics.median(xs):.2f} | {pct(xs, 95):.2f} | {pct(xs, 99):.2f} | {max(xs):.2f} |")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
