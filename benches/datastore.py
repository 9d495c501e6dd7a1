#!/usr/bin/env python3
"""Datastore (数据存储) query and masked sharing (共享) benchmark on the release binary.

Starts `onecity serve --demo` (SQLite, temporary data dir), then over HTTP:
  1. generates a synthetic population register (人口登记) of ROWS rows (default 1,000,000;
     fixed seed): 身份证号, 姓名, 手机, 车牌 (masked: id_card, name, mobile, plate), district
     (the 13 Hangzhou districts), street, age, registered_on (date), score (numeric),
     and uploads it as a CSV to the data bureau's resource (`/upload?wait=true`, timed);
  2. a user of another department (HZ-JTJ) requests a sharing grant (all fields except
     身份证号, the table's own masks), the owner department's DATA_OWNER approves it;
  3. filtered `datastore_search` latency, one connection (wrk -c1, benches/datastore-search.lua),
     as the owner (unmasked) and as the grantee (masked, exchange record per call), per
     query kind;
  4. throughput of the masked shared-data API: wrk -t2 -cCONN as the grantee.

    CARGO_TARGET_DIR=... python3 benches/datastore.py      (build first: cargo build --release -p onecity)
    ROWS=200000 DUR=10s CONN=16 python3 benches/datastore.py

Prints the machine load (uptime) beside every figure. Nothing here runs in CI.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("ONECITY_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "onecity")
ROWS = int(os.environ.get("ROWS", "1000000"))
DUR = os.environ.get("DUR", "10s")
CONN = os.environ.get("CONN", "16")
KINDS = os.environ.get("KINDS", "district,district_age,narrow,page").split(",")
RID = "hz-population-register-bench"
DISTRICTS = ["上城区", "下城区", "江干区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区",
             "富阳区", "临安区", "桐庐县", "淳安县", "建德市"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红梅鑫斌宇浩凯健俊帆"
STREETS = ["文三路", "学院路", "教工路", "天目山路", "延安路", "解放路", "体育场路", "莫干山路", "江南大道", "滨盛路"]


def load():
    return open("/proc/loadavg").read().split()[:3]


def say(*a):
    print(*a, f"   [load {' '.join(load())}]", flush=True)


def http(method, url, token=None, body=None, ctype="application/json", raw=False):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", ctype)
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=3600) as r:
            out = r.read()
            return r.status, (out if raw else (json.loads(out) if out else None))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def must(res, *ok):
    st, body = res
    if st not in ok:
        sys.exit(f"unexpected {st}: {body}")
    return body


def make_csv(path, n):
    rnd = random.Random(20261130)
    with open(path, "w", encoding="utf-8") as f:
        f.write("身份证号,姓名,手机,车牌,district,street,age,registered_on,score\n")
        for i in range(n):
            age = rnd.randint(0, 99)
            y = 2026 - age
            d = DISTRICTS[rnd.randrange(len(DISTRICTS))]
            idc = f"3301{rnd.randint(0, 99):02d}{y}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}{i % 1000:03d}{'0123456789X'[i % 11]}"
            name = SURNAMES[rnd.randrange(len(SURNAMES))] + GIVEN[rnd.randrange(len(GIVEN))] + (
                GIVEN[rnd.randrange(len(GIVEN))] if rnd.random() < 0.7 else "")
            mob = f"1{rnd.choice('3578')}{rnd.randint(0, 999999999):09d}"
            plate = f"浙{rnd.choice('ABCDEFGHJKL')}{rnd.randint(0, 99999):05d}"
            street = f"{STREETS[rnd.randrange(len(STREETS))]}{rnd.randint(1, 999)}号"
            reg = f"{rnd.randint(2000, 2025)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
            f.write(f"{idc},{name},{mob},{plate},{d},{street},{age},{reg},{rnd.randint(0, 10000) / 100}\n")


def wrk(url, token, kind, threads, conns, dur):
    env = dict(os.environ, DS_TOKEN=token, DS_RID=RID, DS_KIND=kind, DS_ROWS=str(ROWS))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{dur}", "--latency", "-s",
         os.path.join(ROOT, "benches", "datastore-search.lua"), url],
        env=env, capture_output=True, text=True, check=True).stdout
    res = next((json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")), None)
    return out, res


def main():
    tmp = tempfile.mkdtemp(prefix="onecity-ds-bench.")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = f"http://127.0.0.1:{port}"
    pw = "Bench-" + os.urandom(8).hex()
    env = dict(os.environ, ONECITY_ADMIN_PASSWORD=pw, ONECITY_LOG_LEVEL="warn",
               ONECITY_MAX_BODY_BYTES=str(210 * 1024 * 1024))
    log = open(os.path.join(tmp, "server.log"), "w")
    srv = subprocess.Popen([BIN, "serve", "--data-dir", os.path.join(tmp, "data"), "--listen",
                            f"127.0.0.1:{port}", "--demo", "--demo-data", "../shared/data"],
                           cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        subprocess.run([sys.executable, "scripts/wait-ready.py", f"{url}/readyz", str(srv.pid), "120",
                        "datastore.py"], cwd=ROOT, check=True)
        admin = must(http("POST", f"{url}/api/v1/auth/login", body={"username": "admin", "password": pw}), 200)["token"]
        t = "hangzhou"
        root = must(http("GET", f"{url}/api/v1/tenants/{t}/jurisdictions?level=city&limit=5", admin), 200)["items"][0]["id"]
        depts = {d["code"]: d["id"] for d in must(http("GET", f"{url}/api/v1/tenants/{t}/departments?limit=200", admin), 200)["items"]}
        users = {}
        for name, dept, role in [("ds-owner", "HZ-SJJ", "tenant_admin"), ("ds-consumer", "HZ-JTJ", "staff")]:
            u = must(http("POST", f"{url}/api/v1/tenants/{t}/users", admin, {
                "username": name, "display_name": name, "password": "Bench-Passw0rd-1", "department_id": depts[dept],
                "roles": [{"role": role, "jurisdiction_id": root}]}), 201)
            tok = must(http("POST", f"{url}/api/v1/auth/login", body={"username": name, "password": "Bench-Passw0rd-1"}), 200)["token"]
            users[name] = (u["id"], tok)
        owner, consumer = users["ds-owner"][1], users["ds-consumer"][1]

        csv_path = os.path.join(tmp, "register.csv")
        t0 = time.time()
        make_csv(csv_path, ROWS)
        size = os.path.getsize(csv_path)
        say(f"== data: {ROWS} rows x 9 columns, {size / 1e6:.1f} MB CSV (generated in {time.time() - t0:.1f} s)")
        masks = json.dumps({"身份证号": "id_card", "姓名": "name", "手机": "mobile", "车牌": "plate"}, ensure_ascii=False)
        q = urllib.parse.urlencode({"tenant": t, "grade": "general", "wait": "true", "masks": masks})
        t0 = time.time()
        tbl = must(http("POST", f"{url}/api/v1/datastore/{RID}/upload?{q}", owner, open(csv_path, "rb").read(), "text/csv"), 201)
        dt = time.time() - t0
        say(f"== upload (HTTP, parse + infer + convert + insert): {dt:.1f} s = {ROWS / dt:.0f} rows/s; table: "
            + json.dumps({k: tbl.get(k) for k in ("records_count", "row_count") if k in tbl}))

        exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
        req = must(http("POST", f"{url}/api/v1/datastore/{RID}/share-requests", consumer, {
            "fields": ["姓名", "手机", "车牌", "district", "street", "age", "registered_on", "score"],
            "purpose": "基准测试 benchmark", "expires_at": exp, "quota_per_day": 1000000}), 201)
        r = http("POST", f"{url}/api/v1/tenants/{t}/flow-roles", admin,
                 {"principal_id": users["ds-owner"][0], "role": "DATA_OWNER", "department_id": depts["HZ-SJJ"]})
        assert r[0] == 204, r
        v = must(http("POST", f"{url}/api/v1/datastore/share-requests/{req['id']}/decision", owner, {"action": "APPROVE"}), 200)
        assert v["state"] == "granted", v
        sample = must(http("POST", f"{url}/api/3/action/datastore_search", consumer,
                           {"resource_id": RID, "filters": {"district": "西湖区"}, "limit": 2}), 200)
        say("== grant", v["grant_id"], "; a masked record:", json.dumps(sample["result"]["records"][0], ensure_ascii=False))

        print("== filtered datastore_search, one connection (latency per request, ms)")
        for who, tok in [("owner", owner), ("grantee (masked)", consumer)]:
            for kind in KINDS:
                _, res = wrk(url, tok, kind, 1, 1, DUR)
                say(f"  {who:<17} {kind:<13} n={res['requests']:>6} rps={res['rps']:>8.1f}  p50 {res['p50'] / 1000:8.2f}  "
                    f"p90 {res['p90'] / 1000:8.2f}  p99 {res['p99'] / 1000:8.2f}  max {res['max'] / 1000:8.2f}  errors {res['errors']}")
        print(f"== masked shared-data API throughput (grantee, wrk -t2 -c{CONN} -d{DUR})")
        for kind in KINDS:
            _, res = wrk(url, consumer, kind, 2, CONN, DUR)
            say(f"  {kind:<13} rps={res['rps']:>8.1f}  p50 {res['p50'] / 1000:8.2f}  p99 {res['p99'] / 1000:8.2f} ms  errors {res['errors']}")
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=60)
        if os.environ.get("KEEP_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
