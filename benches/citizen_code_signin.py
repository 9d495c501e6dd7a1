#!/usr/bin/env python3
"""Citizen code sign-in end to end (issue 13): start -> the code arrives at a local SMS
gateway -> verify, with C flows at once, against a real `onecity serve`.

    python3 benches/citizen_code_signin.py BIN [--n 2000] [--conc 64] [--sync full|normal]

Starts `BIN serve` on a fresh temp data dir with `sms_gateway_url` pointing at an SMS
receiver that runs in this process (aiohttp, same event loop as the clients; it records the
6-digit code of each message per phone) and `trusted_proxies=127.0.0.1`. Every simulated
citizen sends its own `X-Forwarded-For` address, so the per-address code limits (20 sends
an hour, 100 tries per 15 min) are not what is measured; the per-phone limits are kept
(each phone gets 2 codes here, the limit is 5 an hour).

Creates tenant t1 through the API (admin login, POST /api/v1/tenants), then
  pass 1: register N new phones   (register/start -> code -> register/verify)
  pass 2: sign the same N in again (sign-in/start  -> code -> sign-in/verify)
and prints per pass: complete flows per second, p50/p99 of a whole flow and of each step,
errors (by status), CPU seconds used by the server and by this client process, and the load
average. `--sync normal` runs the server with ONECITY_SQLITE_SYNCHRONOUS=normal (no fsync
per commit) to show what the embedded store's durability costs.
Needs python3 and aiohttp (pip install aiohttp).
"""

import asyncio
import json
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import aiohttp
from aiohttp import web

TENANT = "t1"
CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Receiver:
    """The SMS gateway: POST /sms {to, text, purpose}; keeps the latest code per `to`."""

    def __init__(self):
        self.codes = {}
        self.waiters = {}
        self.count = 0

    async def handle(self, request):
        body = await request.json()
        m = CODE_RE.search(body["text"])
        self.count += 1
        if m:
            self.codes[body["to"]] = m.group(1)
            fut = self.waiters.pop(body["to"], None)
            if fut and not fut.done():
                fut.set_result(m.group(1))
        return web.json_response({"accepted": True}, status=202)

    async def code_for(self, to, before):
        """The code sent to `to` after `before` (the code seen before the start request)."""
        c = self.codes.get(to)
        if c is not None and c is not before:
            return c
        fut = asyncio.get_running_loop().create_future()
        self.waiters[to] = fut
        return await asyncio.wait_for(fut, 10)


def server_cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def client_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


async def flow(http, url, rcv, i, phone, kind, stats):
    """One citizen: start -> code -> verify. Records times (ms) or the failing status."""
    hdr = {"X-Forwarded-For": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"}
    base = f"{url}/api/v1/tenants/{TENANT}/citizens/{kind}"
    to = "+86" + phone
    before = rcv.codes.get(to)
    t0 = time.perf_counter()
    async with http.post(f"{base}/start", json={"identifier": phone}, headers=hdr) as r:
        await r.read()
        if r.status != 202:
            stats["errors"].append(("start", r.status))
            return
    t1 = time.perf_counter()
    code = await rcv.code_for(to, before)
    t2 = time.perf_counter()
    async with http.post(f"{base}/verify", json={"identifier": phone, "code": code}, headers=hdr) as r:
        body = await r.read()
        if r.status != 200 or not json.loads(body).get("token"):
            stats["errors"].append(("verify", r.status))
            return
    t3 = time.perf_counter()
    stats["flow"].append((t3 - t0) * 1000)
    stats["start"].append((t1 - t0) * 1000)
    stats["verify"].append((t3 - t2) * 1000)


async def run_pass(url, rcv, phones, kind, conc, pid):
    stats = {"flow": [], "start": [], "verify": [], "errors": []}
    sem = asyncio.Semaphore(conc)
    conn = aiohttp.TCPConnector(limit=conc, force_close=False)
    async with aiohttp.ClientSession(connector=conn) as http:

        async def one(i, p):
            async with sem:
                await flow(http, url, rcv, i, p, kind, stats)

        c0, s0, t0 = client_cpu(), server_cpu(pid), time.perf_counter()
        await asyncio.gather(*(one(i, p) for i, p in enumerate(phones)))
        dt = time.perf_counter() - t0
        c1, s1 = client_cpu(), server_cpu(pid)
    ok = len(stats["flow"])
    errs = {}
    for e in stats["errors"]:
        errs[e] = errs.get(e, 0) + 1
    print(f"{kind:9s}: {ok} flows in {dt:.2f} s = {ok / dt:,.0f} flows/s; "
          f"flow p50 {pct(stats['flow'], 50):.1f} ms p99 {pct(stats['flow'], 99):.1f} ms; "
          f"start p50/p99 {pct(stats['start'], 50):.1f}/{pct(stats['start'], 99):.1f} ms; "
          f"verify p50/p99 {pct(stats['verify'], 50):.1f}/{pct(stats['verify'], 99):.1f} ms; "
          f"errors {len(stats['errors'])} {errs or ''}; "
          f"CPU server {s1 - s0:.1f} s ({(s1 - s0) / dt:.2f} cores), client+receiver {c1 - c0:.1f} s "
          f"({(c1 - c0) / dt:.2f} cores); load {' '.join(open('/proc/loadavg').read().split()[:3])}",
          flush=True)
    return ok / dt, len(stats["errors"])


def api(url, method, path, body=None, token=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


async def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        raise SystemExit(__doc__)
    binary = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    n, conc, sync = int(opts.get("--n", 2000)), int(opts.get("--conc", 64)), opts.get("--sync", "full")

    rcv = Receiver()
    app = web.Application()
    app.router.add_post("/sms", rcv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sms_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", sms_port, backlog=1024).start()

    tmp = tempfile.mkdtemp(prefix="onecity-citizen-bench.")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pw = "Bench-Only-Pw-" + secrets.token_hex(6)
    env = {**os.environ, "ONECITY_ADMIN_PASSWORD": pw, "ONECITY_LOG_LEVEL": "warn",
           "ONECITY_MASTER_KEY": secrets.token_hex(32),
           "ONECITY_SMS_GATEWAY_URL": f"http://127.0.0.1:{sms_port}/sms",
           "ONECITY_TRUSTED_PROXIES": "127.0.0.1", "ONECITY_SQLITE_SYNCHRONOUS": sync}
    srv = subprocess.Popen([binary, "serve", "--data-dir", f"{tmp}/data", "--listen", f"127.0.0.1:{port}"], env=env,
                           stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/server.log", "w"))
    try:
        loop = asyncio.get_running_loop()
        for _ in range(600):
            try:
                if await loop.run_in_executor(None, lambda: urllib.request.urlopen(url + "/readyz").status) == 200:
                    break
            except Exception:
                await asyncio.sleep(0.1)
        admin = (await loop.run_in_executor(None, api, url, "POST", "/api/v1/auth/login",
                                            {"username": "admin", "password": pw}))["token"]
        await loop.run_in_executor(None, lambda: api(url, "POST", "/api/v1/tenants",
                                                     {"code": TENANT, "name": "测试市", "name_en": "Test City",
                                                      "root_code": "990100"}, admin))
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        print(f"machine: {cpu}, {os.cpu_count()} cores; binary: {binary}; sqlite_synchronous={sync}")
        print(f"N={n} phones, concurrency {conc}, one X-Forwarded-For address per phone, "
              f"SMS receiver in this process; load average at start: "
              f"{' '.join(open('/proc/loadavg').read().split()[:3])}", flush=True)
        # Warm-up on other phones (connections, caches), not counted.
        await run_pass(url, rcv, [f"137{i:08d}" for i in range(min(200, n))], "register", conc, srv.pid)
        phones = [f"139{i:08d}" for i in range(n)]
        r1, e1 = await run_pass(url, rcv, phones, "register", conc, srv.pid)
        r2, e2 = await run_pass(url, rcv, phones, "sign-in", conc, srv.pid)
        print(f"SMS messages received: {rcv.count}")
        print(f"RESULT register {r1:,.0f}/s, sign-in {r2:,.0f}/s, errors {e1 + e2}")
    finally:
        srv.terminate()
        try:
            srv.wait(20)
        except subprocess.TimeoutExpired:
            srv.kill()
        await runner.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
