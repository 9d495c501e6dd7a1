#!/usr/bin/env bash
# Governance benchmarks on the release binary with the demo tenants (SQLite):
#  1. Open311 POST requests/s with placement, duplicate check, dispatch and a work order
#     each (wrk, benches/open311-post.lua; DUR, CONN)
#  2. import of a synthetic NYC 311 CSV of ROWS rows (the 999 real rows repeated with new
#     keys), timed through the HTTP import endpoint
#   CARGO_TARGET_DIR=... benches/governance.sh        (build first: cargo build --release -p onecity)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ONECITY_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/onecity}"
DUR="${DUR:-10s}" CONN="${CONN:-16}" ROWS="${ROWS:-100000}"
TMP="$(mktemp -d -t onecity-gov-bench.XXXXXX)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="http://127.0.0.1:$PORT"
export ONECITY_ADMIN_PASSWORD="Bench-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
export ONECITY_MAX_BODY_BYTES=$((80 * 1024 * 1024)) ONECITY_LOG_LEVEL=warn
cd "$ROOT"
"$BIN" serve --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --demo --demo-data ../shared/data >"$TMP/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
python3 scripts/wait-ready.py "$URL/readyz" "$PID" 120 governance.sh
TOKEN="$(curl -s "$URL/api/v1/auth/login" -H 'content-type: application/json' -d "{\"username\":\"admin\",\"password\":\"$ONECITY_ADMIN_PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
export OPEN311_KEY="$(curl -s "$URL/api/v1/tenants/nyc/keys" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"bench","scopes":["open311"],"rate_per_minute":100000000}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
echo "== Open311 POST ($DUR, $CONN connections)"
wrk -t2 -c"$CONN" -d"$DUR" --latency -s benches/open311-post.lua "$URL" | sed -n '1,20p'
python3 - "$ROWS" "$TMP/big.csv" <<'PY'
import csv, sys
rows, out = int(sys.argv[1]), sys.argv[2]
src = list(csv.reader(open("../shared/data/requests311/311_nyc_sample.csv")))
head, body = src[0], src[1:]
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(head)
    for i in range(rows):
        r = list(body[i % len(body)])
        r[0] = f"BENCH-{i}"
        w.writerow(r)
PY
echo "== import of $ROWS rows ($(du -h "$TMP/big.csv" | cut -f1))"
/usr/bin/time -f "wall %e s" curl -s -o "$TMP/report.json" "$URL/api/v1/tenants/nyc/governance/import/nyc311" \
  -H "authorization: Bearer $TOKEN" -H 'content-type: text/csv' --data-binary "@$TMP/big.csv"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print({k: r[k] for k in ("rows","inserted","rejected","placed_by_point","placed_by_area_name")})' "$TMP/report.json"
