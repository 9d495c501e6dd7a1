#!/usr/bin/env python3
"""Notification latency of NGSI-LD subscriptions (load scenario, Python standard library).

Against a running server whose NGSI-LD API is open (ONECITY_NGSI_LD_OPEN=true):
creates ENTITIES AirQualityObserved entities (pm10 values from the real PRSA Dongsi
series in ../shared/data/air), one subscription watching pm10 with an HTTP endpoint served
by this script, then sends UPDATES pm10 PATCHes from CONC client threads. Each PATCH carries
a sequence number in its value; latency = time the notification arrived - time the PATCH
was sent (so it includes the update's own commit). Prints count, p50, p90, p99, max in ms.

    python3 benches/twin_notify_latency.py http://127.0.0.1:8080 [UPDATES=2000] [CONC=4]
"""
import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
UPDATES = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
CONC = int(sys.argv[3]) if len(sys.argv) > 3 else 4
ENTITIES = 80
DATA = os.path.join(os.path.dirname(__file__), "../../shared/data/air/PRSA_Data_Dongsi_20130301-20170228.csv")

sent = {}
got = {}
lock = threading.Lock()
done = threading.Event()


class Recv(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        now = time.perf_counter()
        n = json.loads(body)
        for e in n["data"]:
            seq = int(e["pm10"]) // 1000
            with lock:
                got.setdefault(seq, now)
                if len(got) >= UPDATES:
                    done.set()
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def conn():
    u = urllib.parse.urlparse(BASE)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)


def req(c, method, path, body):
    c.request(method, "/ngsi-ld/v1" + path, json.dumps(body), {"content-type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status}")


def main():
    pm10 = []
    with open(DATA) as f:
        next(f)
        for line in f:
            v = line.split(",")[6]
            if v != "NA":
                pm10.append(float(v))
            if len(pm10) >= UPDATES:
                break
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recv)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    c = conn()
    ents = [{"id": f"urn:ngsi-ld:AirQualityObserved:bench-{i}", "type": "AirQualityObserved",
             "pm10": {"type": "Property", "value": 0}, "so2": {"type": "Property", "value": 0}}
            for i in range(ENTITIES)]
    req(c, "POST", "/entityOperations/upsert", ents)
    req(c, "POST", "/subscriptions", {
        "type": "Subscription", "entities": [{"type": "AirQualityObserved"}],
        "watchedAttributes": ["pm10"],
        "notification": {"format": "keyValues", "attributes": ["pm10"],
                         "endpoint": {"uri": f"http://127.0.0.1:{srv.server_address[1]}/n"}}})

    def worker(k):
        c = conn()
        for seq in range(k, UPDATES, CONC):
            # value = seq * 1000 + the real pm10 (< 1000): the receiver recovers seq.
            body = {"pm10": {"type": "Property", "value": seq * 1000 + pm10[seq % len(pm10)]}}
            t = time.perf_counter()
            with lock:
                sent[seq] = t
            req(c, "PATCH", f"/entities/urn:ngsi-ld:AirQualityObserved:bench-{seq % ENTITIES}/attrs", body)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(CONC)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    send_s = time.perf_counter() - t0
    done.wait(60)
    lat = sorted((got[s] - sent[s]) * 1000 for s in got if s in sent)
    if not lat:
        raise SystemExit("no notifications arrived")
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"updates {UPDATES} from {CONC} clients in {send_s:.2f} s ({UPDATES / send_s:.0f}/s); "
          f"notifications {len(lat)}; latency ms p50 {q(0.5):.2f} p90 {q(0.9):.2f} "
          f"p99 {q(0.99):.2f} max {lat[-1]:.2f}")


main()
