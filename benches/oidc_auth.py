#!/usr/bin/env python3
"""`GET /api/v1/auth/me` with an OIDC access token (ES256, verified against the key store)
vs with a session token (HS256), in one run: interleaved wrk rounds on one server.

    python3 benches/oidc_auth.py BIN [--rounds 5] [--dur 8s] [--conn 32]

Starts `BIN serve` on a fresh data dir, signs the admin in through the provider's code flow
with PKCE (the sign-in form posted with urllib), then alternates wrk runs on the two tokens
and prints each run (req/s, p50/p99 µs), the median ratio, the machine and the load average.
Needs python3 and wrk (apt-get install -y wrk).
"""

import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Hidden(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def api(url, method, path, body=None, token=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def access_token(url, pw, session):
    redirect = "http://127.0.0.1:9/cb"
    c = api(url, "POST", "/api/v1/oidc/clients", {"name": "bench", "redirect_uris": [redirect]}, session)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = urllib.parse.urlencode({"response_type": "code", "client_id": c["client_id"], "redirect_uri": redirect,
                                "scope": "openid profile", "state": "s", "nonce": "n", "code_challenge": challenge,
                                "code_challenge_method": "S256"})
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(f"{url}/oidc/authorize?{q}").read().decode()
    h = Hidden()
    h.feed(page)
    form = urllib.parse.urlencode({**h.fields, "username": "admin", "password": pw}).encode()
    try:
        opener.open(f"{url}/oidc/authorize", data=form)
        raise SystemExit("sign-in did not redirect")
    except urllib.error.HTTPError as e:
        location = e.headers["Location"]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    data = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                                   "code_verifier": verifier, "client_id": c["client_id"],
                                   "client_secret": c["client_secret"]}).encode()
    with urllib.request.urlopen(f"{url}/oidc/token", data=data) as r:
        return json.loads(r.read())["access_token"]


def wrk(url, token, dur, conn):
    out = subprocess.run(["wrk", "-t1", f"-c{conn}", f"-d{dur}", "--latency", "-H", f"Authorization: Bearer {token}",
                          f"{url}/api/v1/auth/me"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} non-2xx answers:\n{out}")
    return rps, lat(50), lat(99)


def main():
    args = sys.argv[1:]
    if not args or shutil.which("wrk") is None:
        raise SystemExit(__doc__)
    binary = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    rounds, dur, conn = int(opts.get("--rounds", 5)), opts.get("--dur", "8s"), int(opts.get("--conn", 32))
    tmp = tempfile.mkdtemp(prefix="onecity-oidc-bench.")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    pw = "Bench-Only-Pw-" + secrets.token_hex(6)
    env = {**os.environ, "ONECITY_ADMIN_PASSWORD": pw, "ONECITY_LOG_LEVEL": "warn",
           "ONECITY_MASTER_KEY": secrets.token_hex(32)}
    srv = subprocess.Popen([binary, "serve", "--data-dir", f"{tmp}/data", "--listen", f"127.0.0.1:{port}"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen(url + "/readyz").status == 200:
                    break
            except Exception:
                time.sleep(0.1)
        session = api(url, "POST", "/api/v1/auth/login", {"username": "admin", "password": pw})["token"]
        at = access_token(url, pw, session)
        assert api(url, "GET", "/api/v1/auth/me", token=at)["username"] == "admin"
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        print(f"machine: {cpu}, {os.cpu_count()} cores; binary: {binary}")
        print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}")
        print(f"wrk -t1 -c{conn} -d{dur} --latency, {rounds} interleaved rounds")
        res = {"session (HS256)": [], "access token (ES256, JWKS)": []}
        for i in range(rounds):
            for name, tok in (("session (HS256)", session), ("access token (ES256, JWKS)", at)):
                rps, p50, p99 = wrk(url, tok, dur, conn)
                res[name].append(rps)
                print(f"  round {i + 1} {name:28s} {rps:10.0f} req/s  p50 {p50:7.0f} µs  p99 {p99:7.0f} µs")
        s, a = statistics.median(res["session (HS256)"]), statistics.median(res["access token (ES256, JWKS)"])
        print(f"median: session {s:.0f} req/s, access token {a:.0f} req/s, ratio access/session {a / s:.2f}")
        print(f"load average at end: {open('/proc/loadavg').read().split()[:3]}")
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
