#!/usr/bin/env bash
# Runs the OpenID Connect client test (tests/oidc/test_authlib.py): the real `authlib`
# client (PyPI, the version .ci/run pins) registers with onecity's provider, runs the
# authorization code flow with PKCE S256 (the browser's sign-in form done with `requests`),
# verifies the ID token against the JWKS with authlib's jose and calls userinfo, against a
# fresh `onecity serve` on a random local port.
#
#   ONECITY_BIN=path/to/onecity tests/oidc/run.sh [pytest args...]
#
# Exit 2 when authlib, requests or pytest is missing (scripts/test.sh skips outside CI, fails in CI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$2/$1" ;; esac; }
if [[ -n "${ONECITY_BIN:-}" ]]; then
    BIN="$(abs "$ONECITY_BIN" "$PWD")"
elif [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    BIN="$(abs "$CARGO_TARGET_DIR" "$PWD")/debug/onecity"
else
    BIN="$ROOT/target/debug/onecity"
fi
cd "$ROOT"
[[ -x "$BIN" ]] || { echo "run.sh: no onecity binary at $BIN (cargo build -p onecity, or set ONECITY_BIN)" >&2; exit 2; }
for m in authlib requests pytest; do
    python3 -c "import $m" 2>/dev/null || { echo "run.sh: python module $m is missing (pip install authlib==1.6.5 requests pytest)" >&2; exit 2; }
done

TMP="$(mktemp -d -t onecity-oidc.XXXXXX)"
LOG="${ONECITY_ARTIFACTS:-/tmp}/onecity-oidc-server.log"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ONECITY_URL="http://127.0.0.1:$PORT"
ONECITY_ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
# The key store's key-encryption key, as production sets it.
ONECITY_MASTER_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export ONECITY_URL ONECITY_ADMIN_PASSWORD ONECITY_MASTER_KEY ONECITY_OIDC_TMP="$TMP"

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
    if [[ $rc -ne 0 ]]; then
        echo "run.sh: failed (exit $rc); server log: $LOG" >&2
        tail -n 40 "$LOG" >&2 2>/dev/null || true
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$BIN" serve --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!
python3 "$ROOT/scripts/wait-ready.py" "$ONECITY_URL/readyz" "$SERVER_PID" 60 run.sh
echo "run.sh: server ready at $ONECITY_URL"
PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q -p no:cacheprovider tests/oidc "$@"
