#!/usr/bin/env bash
# Runs the NGSI-LD client integration tests (tests/ngsi, pytest + the PyPI client
# `ngsildclient`) against a fresh `onecity serve` on a random local port.
#
#   ONECITY_BIN=path/to/onecity tests/ngsi/run.sh [pytest args...]
#
# It builds nothing: ONECITY_BIN defaults to ${CARGO_TARGET_DIR:-target}/debug/onecity.
# The server gets a fresh store (SQLite, or PostgreSQL with ONECITY_TEST_BACKEND=postgres and
# ONECITY_TEST_DATABASE_URL, as the Rust tests), the NGSI-LD API open without credentials
# (ONECITY_NGSI_LD_OPEN=true) and a map from the Smart Data Models @context URLs
# that the real payloads in ../shared/data/ngsi-ld name to the local copies there
# (ONECITY_NGSI_LD_CONTEXT_MAP), so that no context is fetched from the Internet.
#
# When the Python package ngsildclient is missing the tests skip with a message saying
# so, except under CI=true where they fail (.ci/run installs the pinned version). When the
# checkout has no NGSI-LD broker yet (no crates/onecity-twin) the run is skipped: there is
# nothing to test. The tests run with ONECITY_NGSI_PYTHON, else the venv .ci/run makes
# (/var/tmp/onecity-ngsi-venv, which keeps ngsildclient's old pins away from the system's
# packages), else python3. Server log: ${ONECITY_ARTIFACTS:-/tmp}/onecity-ngsi-server.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="${ONECITY_SHARED_DATA:-$ROOT/../shared/data}"

abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$2/$1" ;; esac; }
if [[ -n "${ONECITY_BIN:-}" ]]; then
    BIN="$(abs "$ONECITY_BIN" "$PWD")"
elif [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    BIN="$(abs "$CARGO_TARGET_DIR" "$PWD")/debug/onecity"
else
    BIN="$ROOT/target/debug/onecity"
fi
DATA="$(abs "$DATA" "$PWD")"
cd "$ROOT"

if [[ ! -d crates/onecity-twin ]]; then
    echo "run.sh: SKIPPED: this checkout has no NGSI-LD broker (crates/onecity-twin)"
    exit 0
fi
[[ -x "$BIN" ]] || { echo "run.sh: no onecity binary at $BIN (cargo build -p onecity, or set ONECITY_BIN)" >&2; exit 2; }
[[ -d "$DATA/ngsi-ld/smart-data-models" ]] ||
    { echo "run.sh: the real payloads $DATA/ngsi-ld/smart-data-models are missing (set ONECITY_SHARED_DATA)" >&2; exit 2; }
PY="${ONECITY_NGSI_PYTHON:-}"
if [[ -z "$PY" && -x /var/tmp/onecity-ngsi-venv/bin/python ]]; then PY=/var/tmp/onecity-ngsi-venv/bin/python; fi
PY="${PY:-python3}"
if ! "$PY" -c "import ngsildclient" 2>/dev/null; then
    if [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; then
        echo "run.sh: FAILED: $PY cannot import ngsildclient, and CI=true (.ci/run installs ngsildclient==0.5.2 into /var/tmp/onecity-ngsi-venv)" >&2
        exit 1
    fi
    echo "run.sh: SKIPPED: $PY cannot import ngsildclient (python3 -m venv /var/tmp/onecity-ngsi-venv && /var/tmp/onecity-ngsi-venv/bin/pip install ngsildclient==0.5.2 pytest)"
    exit 0
fi
"$PY" -c "import pytest" 2>/dev/null || "$PY" -m pip install --quiet pytest

export ONECITY_ARTIFACTS="${ONECITY_ARTIFACTS:-/tmp}"
mkdir -p "$ONECITY_ARTIFACTS"
TMP="$(mktemp -d -t onecity-ngsi.XXXXXX)"
LOG="$ONECITY_ARTIFACTS/onecity-ngsi-server.log"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
export ONECITY_URL="http://127.0.0.1:$PORT"
export ONECITY_SHARED_DATA="$DATA"

# Smart Data Models contexts named by the payloads -> the local copies.
python3 - "$DATA/ngsi-ld/smart-data-models" >"$TMP/context-map.json" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
m = {}
for path in sorted(glob.glob(os.path.join(d, "context.dataModel.*.jsonld"))):
    domain = os.path.basename(path)[len("context."):-len(".jsonld")]
    m[f"https://raw.githubusercontent.com/smart-data-models/{domain}/master/context.jsonld"] = path
json.dump(m, sys.stdout, indent=2)
PY

# The store: SQLite in a fresh directory, or with ONECITY_TEST_BACKEND=postgres a fresh
# database on the server of ONECITY_TEST_DATABASE_URL (named <its database>_ngsi_<pid>, so
# that .ci/run's clean-up of "<run database>_*" also catches one left by a killed run).
STORE=(--data-dir "$TMP/data")
PG_ADMIN="" PG_DB=""
if [[ "${ONECITY_TEST_BACKEND:-sqlite}" == postgres ]]; then
    [[ -n "${ONECITY_TEST_DATABASE_URL:-}" ]] ||
        { echo "run.sh: ONECITY_TEST_BACKEND=postgres needs ONECITY_TEST_DATABASE_URL" >&2; exit 2; }
    command -v psql >/dev/null || { echo "run.sh: psql is needed for the PostgreSQL pass" >&2; exit 2; }
    read -r PG_ADMIN PG_DB PG_URL < <(python3 - "$ONECITY_TEST_DATABASE_URL" "$$" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
u = urlsplit(sys.argv[1])
base = (u.path.lstrip("/") or "postgres")
db = f"{base}_ngsi_{sys.argv[2]}"
print(sys.argv[1], db, urlunsplit(u._replace(path="/" + db)))
PY
)
    psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qAt -c "CREATE DATABASE \"$PG_DB\"" >/dev/null || exit 2
    STORE+=(--database-url "$PG_URL")
    echo "run.sh: PostgreSQL database $PG_DB"
fi

SERVER_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    if [[ -n "$PG_DB" ]]; then
        psql "$PG_ADMIN" -qAt -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ $rc -ne 0 ]]; then
        echo "run.sh: failed (exit $rc); server log: $LOG" >&2
        tail -n 40 "$LOG" >&2 2>/dev/null || true
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ONECITY_ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')" \
    ONECITY_NGSI_LD_OPEN=true \
    ONECITY_NGSI_LD_CONTEXT_MAP="$TMP/context-map.json" \
    "$BIN" serve "${STORE[@]}" --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!

python3 "$ROOT/scripts/wait-ready.py" "$ONECITY_URL/readyz" "$SERVER_PID" 60 run.sh
echo "run.sh: server ready at $ONECITY_URL"

PYTHONDONTWRITEBYTECODE=1 "$PY" -m pytest -q -rs -p no:cacheprovider tests/ngsi "$@"
