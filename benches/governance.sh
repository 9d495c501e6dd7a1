#!/usr/bin/env bash
# Governance benchmarks on the release binary with the demo tenants (SQLite):
#  1. Open311 POST requests/s with placement, duplicate check, dispatch and a work order
#     each (wrk, benches/open311-post.lua; DUR, CONN)
#  2. import of a synthetic NYC 311 CSV of ROWS rows (the 999 real rows repeated with new
#     keys), timed through the HTTP import endpoint
#  3. (with KEEP_DATA=<dir>) the server's data dir is kept for the routing-decision bench:
#     cargo run --release -p onecity-governance --example bench_route -- <dir>
#   CARGO_TARGET_DIR=... benches/governance.sh        (build first: cargo build --release -p onecity)
#   ROWS=1000000 BATCH=100000 KEEP_DATA=/tmp/gov-data benches/governance.sh
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
OPEN311_KEY="$(curl -s "$URL/api/v1/tenants/nyc/keys" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"bench","scopes":["open311"],"rate_per_minute":1000000}' | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["key"]) if "key" in r else sys.exit(f"app key not created: {r}")')"
export OPEN311_KEY
echo "== Open311 POST ($DUR, $CONN connections); $(uptime | sed 's/.*load average/load average/')"
wrk -t2 -c"$CONN" -d"$DUR" --latency -s benches/open311-post.lua "$URL" | sed -n '1,20p'
echo "   load: $(uptime | sed 's/.*load average/load average/')"
# The import takes at most 64 MiB per request (Limits::IMPORT_BYTES, ~120k NYC rows), so
# ROWS are sent as consecutive imports of BATCH rows each (new keys in every batch).
BATCH="${BATCH:-100000}"
python3 - "$ROWS" "$BATCH" "$TMP" <<'PY'
import csv, sys
rows, batch, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
src = list(csv.reader(open("../shared/data/requests311/311_nyc_sample.csv")))
head, body = src[0], src[1:]
for b, start in enumerate(range(0, rows, batch)):
    with open(f"{tmp}/big-{b:03d}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        for i in range(start, min(rows, start + batch)):
            r = list(body[i % len(body)])
            r[0] = f"BENCH-{i}"
            w.writerow(r)
PY
echo "== import of $ROWS rows in batches of $BATCH ($(du -ch "$TMP"/big-*.csv | tail -1 | cut -f1))"
T0=$(date +%s.%N)
for f in "$TMP"/big-*.csv; do
  S=$(date +%s.%N)
  curl -s -o "$TMP/report.json" "$URL/api/v1/tenants/nyc/governance/import/nyc311" \
    -H "authorization: Bearer $TOKEN" -H 'content-type: text/csv' --data-binary "@$f"
  E=$(date +%s.%N)
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2], "%.2f s" % (float(sys.argv[4]) - float(sys.argv[3])), {k: r.get(k) for k in ("rows","inserted","rejected","placed_by_point","placed_by_area_name")} if "rows" in r else r)' \
    "$TMP/report.json" "$(basename "$f")" "$S" "$E"
done
T1=$(date +%s.%N)
python3 -c 'import sys; t=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print("total: %d rows in %.1f s = %.0f rows/s" % (n, t, n/t))' "$T0" "$T1" "$ROWS"
echo "   load: $(uptime | sed 's/.*load average/load average/')"
if [ -n "${KEEP_DATA:-}" ]; then
  # Stop the server cleanly and keep its data dir for the routing bench (bench_route).
  kill $PID; wait $PID 2>/dev/null || true
  rm -rf "$KEEP_DATA" && cp -r "$TMP/data" "$KEEP_DATA"
  echo "data dir kept in $KEEP_DATA"
fi
