#!/usr/bin/env python3
"""Waits until a onecity server answers 200 on /readyz.

Usage: wait-ready.py URL PID TIMEOUT_SECONDS NAME
Exits 0 when URL answers 200; non-zero (naming NAME) when the process PID exits first or
the timeout passes. Used by tests/browser/run.sh and scripts/schemathesis.sh.
"""
import sys
import time
import urllib.request

url, pid, timeout, name = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        with open(f"/proc/{pid}/stat") as f:
            exited = f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        exited = True
    if exited:
        sys.exit(f"{name}: the server exited before it was ready")
    try:
        with urllib.request.urlopen(url, timeout=2) as res:
            if res.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.25)
sys.exit(f"{name}: {url} was not 200 within {timeout:.0f} s")
