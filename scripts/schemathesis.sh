#!/usr/bin/env bash
# Fuzzes onecity's HTTP API with schemathesis against its own OpenAPI document
# (/api/openapi.json) on a fresh `onecity serve --demo` on a random local port.
#
#   ONECITY_BIN=path/to/onecity scripts/schemathesis.sh [extra `st run` options...]
#
# It builds nothing: ONECITY_BIN defaults to ${CARGO_TARGET_DIR:-target}/debug/onecity
# (build it first with `cargo build -p onecity`). Installs schemathesis (pinned below)
# with pip when it is missing. Extra options go to both passes of `st run`.
#
# Two passes, both as the platform admin (Authorization: Bearer <token from /auth/login>):
#   1. server errors: `--checks not_a_server_error`, every phase (examples, coverage,
#      fuzzing, stateful), ST_MAX_EXAMPLES cases per operation. Only 5xx fail the script.
#   2. conformance (report only): `--checks all`, ST_CONFORMANCE_EXAMPLES cases per
#      operation; its findings (undocumented status codes / content types, response
#      schema mismatches, ...) are summarised but do not fail the script, except 5xx.
# Path and query values are drawn half of the time from the demo's real tenant codes,
# jurisdiction/department ids, codes, cursors, points and grid sizes (schemathesis
# dictionaries), so requests also get past the 404s into the handlers.
# No operation is excluded. Parameters that the document declares without a `schema`
# (which schemathesis cannot generate, so it would skip the operation) are given
# `{"type": "string"}` by a schema hook, and listed in the report as document defects.
#
# Environment:
#   ONECITY_BIN                  the onecity binary (see above)
#   ONECITY_ARTIFACTS            where the server log and the reports go (default /tmp)
#   ST_MAX_EXAMPLES              cases per operation in pass 1 (default 250)
#   ST_CONFORMANCE_EXAMPLES      cases per operation in pass 2 (default 30; 0 skips pass 2)
#   ST_SEED                      schemathesis seed (default: random, printed)
#   ST_WORKERS                   concurrent schemathesis workers (default 2)
#
# Exit status: 0 when no request got a 5xx and the server stayed up; 1 when any request
# got a 5xx (each is printed with a curl reproduction, its response body and the server's
# log lines for its x-request-id) or the server died; 2 on a setup error.
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
esac

abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$2/$1" ;; esac; }
if [[ -n "${ONECITY_BIN:-}" ]]; then
    BIN="$(abs "$ONECITY_BIN" "$PWD")"
elif [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    BIN="$(abs "$CARGO_TARGET_DIR" "$PWD")/debug/onecity"
else
    BIN="$ROOT/target/debug/onecity"
fi
cd "$ROOT"

say() { printf 'schemathesis.sh: %s\n' "$*"; }
[[ -x "$BIN" ]] || { say "no onecity binary at $BIN (cargo build -p onecity, or set ONECITY_BIN)" >&2; exit 2; }

# schemathesis 4.x: the flags below (--checks, -n, --phases, --report, --config-file
# dictionaries) are 4.x's. Install the pinned version when it is missing or older.
if ! python3 - <<'PY' 2>/dev/null; then
import importlib.metadata as m, sys
sys.exit(0 if int(m.version("schemathesis").split(".")[0]) >= 4 else 1)
PY
    say "installing schemathesis==$SCHEMATHESIS_VERSION"
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
ST=(python3 -m schemathesis.cli)

ART="${ONECITY_ARTIFACTS:-/tmp}"
mkdir -p "$ART"
ART="$(cd "$ART" && pwd)"
TMP="$(mktemp -d -t onecity-schemathesis.XXXXXX)"
LOG="$ART/onecity-schemathesis-server.log"
OUT="$ART/onecity-schemathesis"
rm -rf "$OUT"
mkdir -p "$OUT"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="http://127.0.0.1:$PORT"
ONECITY_ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(15))')"
export ONECITY_ADMIN_PASSWORD
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-250}"
CONF_EXAMPLES="${ST_CONFORMANCE_EXAMPLES:-30}"
WORKERS="${ST_WORKERS:-2}"
SEED="${ST_SEED:-$(python3 -c 'import secrets; print(secrets.randbelow(2**63))')}"

SERVER_PID=""
ST_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$ST_PID" ]] && kill -0 "$ST_PID" 2>/dev/null; then
        kill -TERM "$ST_PID" 2>/dev/null || true   # timeout passes it on to schemathesis
        wait "$ST_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    if [[ $rc -ne 0 ]]; then
        say "FAILED (exit $rc); server log: $LOG; reports: $OUT" >&2
        echo "---- server log, last 40 lines ----" >&2
        tail -n 40 "$LOG" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# (ONECITY_BIN and ONECITY_ARTIFACTS are ours: the server would warn about them.)
env -u ONECITY_BIN -u ONECITY_ARTIFACTS NO_COLOR=1 "$BIN" serve --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --demo --demo-data ../shared/data >"$LOG" 2>&1 &
SERVER_PID=$!

python3 "$ROOT/scripts/wait-ready.py" "$URL/readyz" "$SERVER_PID" 90 schemathesis.sh || exit 2
say "server ready at $URL (pid $SERVER_PID, log $LOG)"

# Log in, and write the schemathesis config: dictionaries of real values from the demo.
TOKEN="$(OUT="$OUT" python3 - "$URL" "$TMP/schemathesis.toml" <<'PY'
import json, sys, urllib.parse, urllib.request

url, config_path = sys.argv[1], sys.argv[2]
import os

def call(method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)

try:
    token = call("POST", "/api/v1/auth/login",
                 {"username": "admin", "password": os.environ["ONECITY_ADMIN_PASSWORD"]})["token"]
except Exception as e:
    sys.exit(f"schemathesis.sh: login failed: {e}")

def items(path, **query):
    try:
        q = ("?" + urllib.parse.urlencode(query)) if query else ""
        return call("GET", path + q, token=token)
    except Exception as e:
        print(f"schemathesis.sh: GET {path}: {e}", file=sys.stderr)
        return {"items": []}

with open(os.path.join(os.environ["OUT"], "openapi.json"), "w") as f:
    json.dump(call("GET", "/api/openapi.json"), f, ensure_ascii=False, indent=1)

tenants = [t["code"] for t in items("/api/v1/tenants").get("items", [])]
ids, codes, levels, cursors = [], [], set(), []
for t in tenants:
    base = f"/api/v1/tenants/{urllib.parse.quote(t)}"
    for j in items(base + "/jurisdictions", limit=500).get("items", []):
        ids.append(j["id"]); codes.append(j["code"]); levels.add(j["level"])
    ids += [d["id"] for d in items(base + "/departments", limit=500).get("items", [])]
    keys = items(base + "/keys")
    keys = keys.get("items", []) if isinstance(keys, dict) else keys
    ids += [k["id"] for k in keys if isinstance(k, dict) and "id" in k]
    for sub in ("jurisdictions", "departments", "users", "audit"):
        page = items(f"{base}/{sub}", limit=1)
        c = page.get("next_cursor") if isinstance(page, dict) else None
        if c:
            cursors.append(c)
c = items("/api/v1/tenants", limit=1).get("next_cursor")
if c:
    cursors.append(c)

dictionaries = {
    "tenants": tenants + ["_system"],
    "ids": ids,
    "codes": codes,
    "levels": sorted(levels) + ["street"],
    "cursors": cursors,
    # Hangzhou, Melbourne, New York, and the edges of the valid range.
    "lons": [120.16, 120.21, 144.96, -73.98, -74.0, 180, -180, 0],
    "lats": [30.27, 30.25, -37.81, 40.75, 40.7, 90, -90, 0],
    "cell_sizes": [100, 250, 1000, 2500, 50000, 99.99, 50000.5],
    "simplify": [0, 0.0001, 0.01, 0.1, 0.100001],
    "times": ["2020-01-01T00:00:00Z", "2999-12-31T23:59:59+08:00", "2026-01-01"],
    "assets": ["console.css", "favicon.svg", "js/common.js", "js/map.js",
               "vendor/maplibre-gl/maplibre-gl.js", "../Cargo.toml", "js/../console.css"],
    "langs": ["zh", "en", "fr"],
}
dictionaries = {k: v for k, v in dictionaries.items() if v}
bindings = {
    "path.tenant": "tenants", "path.id": "ids", "path.path": "assets",
    "query.jurisdiction_id": "ids", "query.parent_id": "ids",
    "query.parent_code": "codes", "query.level": "levels", "query.cursor": "cursors",
    "query.lon": "lons", "query.lat": "lats", "query.simplify": "simplify",
    "query.since": "times", "query.until": "times", "query.lang": "langs",
    "body.jurisdiction_id": "ids", "body.parent_id": "ids", "body.department_id": "ids",
    "body.cell_size_m": "cell_sizes", "body.level": "levels",
}
lines = []
for name, values in dictionaries.items():
    lines.append(f"[dictionaries.{name}]")
    lines.append("values = " + json.dumps(values))
lines.append("")
lines.append("[parameters]")
for key, name in bindings.items():
    if name in dictionaries:
        lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
with open(config_path, "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"schemathesis.sh: dictionaries: {len(tenants)} tenants, {len(ids)} ids, {len(codes)} codes, "
      f"{len(cursors)} cursors", file=sys.stderr)
print(token)
PY
)" || exit 2

# Hook: give `{"type": "string"}` to parameters declared without `schema`/`content`,
# which schemathesis would otherwise refuse to generate (it errors the operation).
cat >"$TMP/onecity_st_hooks.py" <<'PY'
import json, os
import schemathesis

@schemathesis.hook
def before_load_schema(context, raw_schema):
    patched = []
    for path, item in (raw_schema.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            params = item.get("parameters", []) if method == "parameters" else (
                op.get("parameters", []) if isinstance(op, dict) else [])
            for p in params or []:
                if isinstance(p, dict) and "$ref" not in p and "schema" not in p and "content" not in p:
                    p["schema"] = {"type": "string"}
                    patched.append(f"{method.upper()} {path}: {p.get('in')} parameter `{p.get('name')}`")
    out = os.environ.get("ONECITY_ST_PATCHED")
    if out:
        with open(out, "w") as f:
            json.dump(sorted(set(patched)), f)
PY
export PYTHONPATH="$TMP${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=onecity_st_hooks
export ONECITY_ST_PATCHED="$OUT/patched-parameters.json"

# One `st run`. Args: name, then options. Output to $OUT/<name>.txt; reports to $OUT/<name>/.
run_st() {
    local name="$1"; shift
    local started=$SECONDS rc=0
    say "pass '$name': st run $* (seed $SEED)"
    # Runs in $TMP so that nothing (hypothesis database, reports) lands in the repo.
    # In the background + `wait`, so that INT/TERM reach the traps (and the cleanup) at once.
    (cd "$TMP" && exec timeout --signal=INT --kill-after=30 900 "${ST[@]}" --config-file "$TMP/schemathesis.toml" \
        run "$URL/api/openapi.json" \
        --header "Authorization: Bearer $TOKEN" \
        --workers "$WORKERS" --seed "$SEED" --request-timeout 60 \
        --generation-database none --no-color --output-truncate false \
        --report json,har --report-dir "$OUT/$name" \
        --report-json-path "$OUT/$name/report.json" --report-har-path "$OUT/$name/requests.har" \
        "$@") >"$OUT/$name.txt" 2>&1 </dev/null &
    ST_PID=$!
    wait "$ST_PID" || rc=$?
    ST_PID=""
    say "pass '$name': st exit $rc in $((SECONDS - started)) s; output $OUT/$name.txt"
}

run_st server-errors --checks not_a_server_error --max-examples "$MAX_EXAMPLES" "$@"
# Show the pass's results (only server errors are checked there) and its summary.
sed -n '/^=* \(ERRORS\|FAILURES\) =*$/,$p' "$OUT/server-errors.txt" | grep -v 'discord\|Need more help' || tail -n 30 "$OUT/server-errors.txt"

SERVER_ALIVE=1
kill -0 "$SERVER_PID" 2>/dev/null || SERVER_ALIVE=0
PASSES=(server-errors)
if [[ $SERVER_ALIVE -eq 1 && "$CONF_EXAMPLES" != 0 ]]; then
    run_st conformance --checks all --max-examples "$CONF_EXAMPLES" --continue-on-failure "$@"
    PASSES+=(conformance)
    kill -0 "$SERVER_PID" 2>/dev/null || SERVER_ALIVE=0
fi

# Verdict: any 5xx response in any pass (from the HAR of every request, and schemathesis's
# own ST101 findings), or a dead server, fails the run. Everything else is reported only.
python3 - "$OUT" "$LOG" "$URL" "$SERVER_ALIVE" "${PASSES[@]}" <<'PY'
import json, os, re, shlex, sys, urllib.parse, urllib.request
from collections import Counter, defaultdict

out, log, url, alive, passes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5:]
ansi = re.compile(r"\x1b\[[0-9;]*m")
with open(log, errors="replace") as f:
    log_lines = [ansi.sub("", l.rstrip("\n")) for l in f]

try:
    with open(os.path.join(out, "openapi.json")) as f:
        spec = json.load(f)
    templates = [(re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p)
                 for p in spec.get("paths", {})]
except Exception:
    templates = []

def template(path):
    for rx, p in templates:
        if rx.match(path):
            return p
    return path

def show_body(text, limit=2000):
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"

print()
print("=" * 30, "onecity schemathesis verdict", "=" * 30)
fail = False

server_errors = defaultdict(list)  # (method, template) -> entries
for name in passes:
    har = os.path.join(out, name, "requests.har")
    try:
        with open(har) as f:
            entries = json.load(f)["log"]["entries"]
    except Exception as e:
        print(f"[{name}] no HAR report ({e})")
        entries = []
    statuses = Counter(e["response"]["status"] for e in entries)
    print(f"[{name}] {len(entries)} requests; status codes: "
          + ", ".join(f"{k}x{v}" for k, v in sorted(statuses.items())))
    for e in entries:
        if e["response"]["status"] >= 500:
            req = e["request"]
            path = urllib.parse.urlparse(req["url"]).path
            server_errors[(req["method"], template(urllib.parse.unquote(path)))].append((name, e))

    report = os.path.join(out, name, "report.json")
    try:
        with open(report) as f:
            rep = json.load(f)
    except Exception as e:
        print(f"[{name}] no JSON report ({e})")
        fail = True
        continue
    for fl in rep.get("failures", []):
        if fl.get("code") == "ST101":
            fail = True
            print(f"[{name}] schemathesis ST101 server error in: {', '.join(fl.get('operations', []))}")
    if rep.get("stop_reason") != "completed":
        print(f"[{name}] schemathesis stopped early: {rep.get('stop_reason')}")
    if name == "conformance":
        print(f"[{name}] findings (report only, not failing):")
        for fl in rep.get("failures", []):
            ops = fl.get("operations", [])
            shown = ", ".join(ops[:6]) + (f", +{len(ops) - 6} more" if len(ops) > 6 else "")
            print(f"  {fl.get('code')} {fl.get('title')}: {fl.get('count')} in {shown}")
    for er in rep.get("errors", []):
        print(f"[{name}] schemathesis error: {er.get('title')} x{er.get('count')} (see {name}.txt)")

try:
    with open(os.path.join(out, "patched-parameters.json")) as f:
        patched = json.load(f)
except Exception:
    patched = []
if patched:
    print("OpenAPI document defect (report only): parameters without `schema`, tested as strings:")
    for p in patched:
        print("  " + p)

if server_errors:
    fail = True
    print()
    print(f"5xx responses: {sum(len(v) for v in server_errors.values())} in {len(server_errors)} operation(s)")
    for (method, path), hits in sorted(server_errors.items()):
        print()
        print(f"### {method} {path}: {len(hits)} x 5xx; first ones:")
        seen = set()
        for name, e in hits:
            req, res = e["request"], e["response"]
            key = (res["status"], res.get("content", {}).get("text", "")[:200])
            if key in seen or len(seen) >= 3:
                continue
            seen.add(key)
            headers = {h["name"].lower(): h["value"] for h in req.get("headers", [])}
            cmd = ["curl", "-sS", "-i", "-X", req["method"]]
            for h in req.get("headers", []):
                n = h["name"].lower()
                if n == "authorization":
                    cmd += ["-H", "Authorization: Bearer $TOKEN"]
                elif n in ("content-type",) or n.startswith("x-"):
                    cmd += ["-H", f"{h['name']}: {h['value']}"]
            body = (req.get("postData") or {}).get("text")
            if body is not None:
                cmd += ["--data-binary", body]
            cmd.append(req["url"])
            rid = next((h["value"] for h in res.get("headers", []) if h["name"].lower() == "x-request-id"), None)
            print(f"- [{name}] {res['status']} request-id={rid}")
            print("  " + " ".join(shlex.quote(c) if c != "Authorization: Bearer $TOKEN" else '"Authorization: Bearer $TOKEN"' for c in cmd))
            print("  response: " + show_body(res.get("content", {}).get("text", "")))
            if rid:
                for l in log_lines:
                    if rid in l:
                        print("  log: " + show_body(l, 600))

if not alive:
    fail = True
    print("the server DIED during the run")
    panics = [l for l in log_lines if "panicked" in l]
    for l in panics[:5]:
        print("  log: " + l)
else:
    panics = [l for l in log_lines if "panicked" in l]
    if panics:
        print(f"server log has {len(panics)} panic line(s), e.g.: {panics[0][:400]}")

print()
print("RESULT:", "FAIL (5xx or server death)" if fail else "PASS (no 5xx)")
sys.exit(1 if fail else 0)
PY
