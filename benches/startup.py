#!/usr/bin/env python3
"""Cold start to ready and idle memory of `onecity serve` (used by benches/run.sh).

Each run: spawn the server, poll GET /readyz (1 ms apart) until it answers 200, and take
the time from spawn to that first 200 (so it includes exec, dynamic loading, opening the
store, migrations, the admin bootstrap, the demo load when asked, and the index build).
Then read VmRSS / VmHWM from /proc/PID/status, optionally again after an idle pause, and
stop the server with SIGTERM. Prints one summary line and, with --json, a JSON object.

Usage: startup.py --bin BIN --data-dir DIR [--fresh] [--demo --demo-data D] [--runs N]
                  [--port P] [--idle-secs S] [--label L] [--json FILE]
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time


def rss_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def ready(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/readyz")
        r = c.getresponse()
        r.read()
        c.close()
        return r.status == 200
    except OSError:
        return False


def one_run(a, log):
    if a.fresh and os.path.exists(a.data_dir):
        shutil.rmtree(a.data_dir)
    cmd = [a.bin, "serve", "--data-dir", a.data_dir, "--listen", f"127.0.0.1:{a.port}"]
    if a.demo:
        cmd += ["--demo", "--demo-data", a.demo_data]
    env = dict(os.environ)
    env.setdefault("ONECITY_ADMIN_PASSWORD", "Bench-Only-Pw-7f3a9c21")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
    try:
        while not ready(a.port):
            if p.poll() is not None:
                sys.exit(f"server exited with {p.returncode} before ready (see {log.name})")
            if time.perf_counter() - t0 > a.timeout:
                sys.exit(f"not ready after {a.timeout} s (see {log.name})")
            time.sleep(0.001)
        ms = (time.perf_counter() - t0) * 1000
        mem = rss_kb(p.pid)
        idle = None
        if a.idle_secs > 0:
            time.sleep(a.idle_secs)
            idle = rss_kb(p.pid)
        return ms, mem, idle
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--fresh", action="store_true", help="delete the data dir before each run")
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--demo-data", default="../shared/data")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--port", type=int, default=18181)
    ap.add_argument("--idle-secs", type=float, default=0.0,
                    help="also read RSS this long after ready (first run only)")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--label", default="")
    ap.add_argument("--log", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    log = open(a.log or os.devnull, "a")
    times, rss, hwm, idle_rss = [], [], [], None
    idle_secs = a.idle_secs
    for i in range(a.runs):
        ms, mem, idle = one_run(a, log)
        if i > 0:
            a.idle_secs = 0
        times.append(ms)
        rss.append(mem["VmRSS"] / 1024)
        hwm.append(mem["VmHWM"] / 1024)
        if idle is not None:
            idle_rss = idle["VmRSS"] / 1024
    res = {
        "label": a.label,
        "runs": a.runs,
        "ready_ms_min": min(times),
        "ready_ms_median": statistics.median(times),
        "ready_ms_mean": statistics.fmean(times),
        "ready_ms_max": max(times),
        "rss_mb_at_ready_median": statistics.median(rss),
        "hwm_mb_median": statistics.median(hwm),
        "rss_mb_after_idle": idle_rss,
    }
    idle_txt = f", RSS after {idle_secs:g} s idle {idle_rss:.1f} MB" if idle_rss else ""
    print(
        f"{a.label:<40} runs={a.runs:<3} ready ms: min {res['ready_ms_min']:.0f} "
        f"median {res['ready_ms_median']:.0f} max {res['ready_ms_max']:.0f} | "
        f"RSS at ready {res['rss_mb_at_ready_median']:.1f} MB (peak {res['hwm_mb_median']:.1f} MB)"
        f"{idle_txt}"
    )
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
