#!/usr/bin/env bash
# Runs the web console's end-to-end tests (tests/browser) in headless Chromium
# against a fresh `onecity serve --demo` on a random local port.
#
#   ONECITY_BIN=path/to/onecity tests/browser/run.sh [pytest args...]
#
# It builds nothing: ONECITY_BIN defaults to ${CARGO_TARGET_DIR:-target}/debug/onecity
# (build it first with `cargo build -p onecity`). Screenshots and browser logs go to
# ONECITY_ARTIFACTS (default /tmp). Needs /usr/bin/chromium and /usr/bin/chromedriver
# (Debian: apt-get install -y chromium chromium-driver fonts-noto-cjk); installs
# selenium and pytest with pip when they are missing.
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
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    [[ -x "$tool" ]] || { echo "run.sh: $tool is missing (apt-get install -y chromium chromium-driver fonts-noto-cjk)" >&2; exit 2; }
done
python3 -c 'import selenium' 2>/dev/null || python3 -m pip install --quiet selenium
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet pytest

export ONECITY_ARTIFACTS="${ONECITY_ARTIFACTS:-/tmp}"
mkdir -p "$ONECITY_ARTIFACTS"
TMP="$(mktemp -d -t onecity-browser.XXXXXX)"
LOG="$ONECITY_ARTIFACTS/onecity-browser-server.log"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ONECITY_URL="http://127.0.0.1:$PORT"
ONECITY_ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
export ONECITY_URL ONECITY_ADMIN_PASSWORD

SERVER_PID=""
SMS_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$SMS_PID" ]]; then kill -TERM "$SMS_PID" 2>/dev/null || true; wait "$SMS_PID" 2>/dev/null || true; fi
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

# The local SMS gateway and identity verification service (tests/browser/sms_receiver.py).
SMS_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
python3 "$ROOT/tests/browser/sms_receiver.py" "$SMS_PORT" &
SMS_PID=$!
ONECITY_SMS_RECEIVER="http://127.0.0.1:$SMS_PORT"
export ONECITY_SMS_RECEIVER
ONECITY_SMS_GATEWAY_URL="$ONECITY_SMS_RECEIVER/sms" ONECITY_IDENTITY_VERIFIER_URL="$ONECITY_SMS_RECEIVER/verify" \
"$BIN" serve --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --demo --demo-data ../shared/data >"$LOG" 2>&1 &
SERVER_PID=$!

python3 "$ROOT/scripts/wait-ready.py" "$ONECITY_URL/readyz" "$SERVER_PID" 60 run.sh
echo "run.sh: server ready at $ONECITY_URL"

PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q -p no:cacheprovider tests/browser "$@"
