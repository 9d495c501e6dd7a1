#!/usr/bin/env bash
# Runs the ETSI NGSI-LD conformance test suite (Robot Framework) against onecity.
#
#   scripts/ngsi-ld-conformance.sh SUITE_DIR [ROBOT ARGS...]
#
# SUITE_DIR is a checkout of the suite (e.g. a clone of marek-mraz/ngsi-ld-test-suite);
# this script fetches nothing and never writes into it (robot runs with SUITE_DIR as its
# working directory, because the suite names its resources by ${EXECDIR}). ROBOT ARGS go to
# every robot run (e.g. `--test '*001_01*'`, `--include 5_6_*`, `--loglevel DEBUG`).
#
# What it does:
#   1. starts `onecity serve` from the debug build (ONECITY_BIN, default
#      ${CARGO_TARGET_DIR:-target}/debug/onecity) on a free local port with a fresh SQLite
#      data directory, the NGSI-LD API open without credentials
#      (ONECITY_NGSI_LD_OPEN=true), a temporal page of 20 instances per entity
#      (ONECITY_NGSI_LD_TEMPORAL_PAGE, default here 20: the suite's pagination cases store
#      20 instances on each of two attributes and expect 206; the product default is 1000)
#      and a map of the suite's remote @context URLs to
#      local files (ONECITY_NGSI_LD_CONTEXT_MAP, a JSON object URL -> file), so that nothing
#      is fetched from the Internet:
#        .../marek-mraz/ngsi-ld-test-suite/.../ngsi-ld-test-suite.jsonld and
#        .../ngsi-ld-test-suite-compound.jsonld   -> the suite's resources/jsonld-contexts/
#        easy-global-market's ngsildTestSuiteV1.8-compound.jsonld -> a file written here
#        (the same two-entry compound: the suite context + core context v1.8)
#      The suite's own context server runs on a free local port, so loopback is allowed for
#      remote @context fetches (ONECITY_NGSI_LD_CONTEXT_ALLOW, default here 127.0.0.1,::1).
#      The core contexts (v1.6 to v1.9) are built into the broker. With ONECITY_URL set, it
#      uses that server instead (which must be configured the same way: the map is written
#      to the output folder and its path printed).
#   2. points the suite's MQTT tests at the local Mosquitto (host of ONECITY_TEST_MQTT_URL,
#      default 127.0.0.1:1883) and, when the `mosquitto` binary exists, starts a private
#      anonymous Mosquitto on a free port for the "non-default port" cases (the suite's own
#      docker-based `Start Mqtt Server` step fails harmlessly without docker).
#   3. runs robot once per folder, in this order (override with ONECITY_CONFORMANCE_FOLDERS,
#      space-separated paths under TP/NGSI-LD):
#        ContextInformation/Consumption ContextInformation/Provision
#        ContextInformation/Subscription CommonBehaviours
#      with the suite's notification, context-source and context servers on free local ports.
#   4. prints passed/total per folder from each output.xml (scripts/ngsi-ld-conformance-report.py)
#      and the most common first errors, and writes the failing test cases with their first
#      error to OUT/failures.tsv.
#
# Environment:
#   ROBOT                   the robot command (default: SUITE_DIR/.venv/bin/robot, else
#                           `robot` on PATH). Install the suite's requirements in a venv:
#                           python3 -m venv /var/tmp/ngsi-venv &&
#                           /var/tmp/ngsi-venv/bin/pip install -r SUITE_DIR/requirements.txt
#   ONECITY_BIN             onecity binary (default ${CARGO_TARGET_DIR:-target}/debug/onecity)
#   ONECITY_URL             use this running server (http://host:port, no path) instead
#   ONECITY_CONFORMANCE_OUT output folder (default: a new /tmp/onecity-conformance.XXXXXX);
#                           holds <folder>/output.xml, log.html, console.log, failures.tsv,
#                           server.log and context-map.json
#   ONECITY_CONFORMANCE_TIMEOUT  limit for one folder's robot run (default 90m)
#   ONECITY_CONFORMANCE_CAUSES   how many of the most common first errors to print (default 15)
#   ONECITY_TEST_MQTT_URL   the local MQTT broker (default mqtt://127.0.0.1:1883)
#   NGSI_LD_CORE_CONTEXT    the suite's `core_context` variable (default: the suite's own)
#
# Exit status: 0 when every selected test passed, 1 when some failed, 2 on a setup error.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

case "${1:-}" in
    -h | --help | "")
        sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        [[ -n "${1:-}" ]] && exit 0 || exit 2
        ;;
esac

die() { echo "ngsi-ld-conformance: $*" >&2; exit 2; }
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

SUITE="$(abs "$1")"
shift
[[ -f "$SUITE/resources/variables.py" && -d "$SUITE/TP/NGSI-LD" ]] ||
    die "$SUITE is not a checkout of the ETSI NGSI-LD test suite (no resources/variables.py or TP/NGSI-LD)"
CTX_DIR="$SUITE/resources/jsonld-contexts"
[[ -f "$CTX_DIR/ngsi-ld-test-suite.jsonld" && -f "$CTX_DIR/ngsi-ld-test-suite-compound.jsonld" ]] ||
    die "$CTX_DIR lacks the suite's @context files"

if [[ -n "${ROBOT:-}" ]]; then
    :
elif [[ -x "$SUITE/.venv/bin/robot" ]]; then
    ROBOT="$SUITE/.venv/bin/robot"
elif command -v robot >/dev/null; then
    ROBOT="$(command -v robot)"
else
    die "no robot command: set ROBOT, or install the suite's requirements (python3 -m venv /var/tmp/ngsi-venv && /var/tmp/ngsi-venv/bin/pip install -r $SUITE/requirements.txt; ROBOT=/var/tmp/ngsi-venv/bin/robot)"
fi

FOLDERS=(${ONECITY_CONFORMANCE_FOLDERS:-ContextInformation/Consumption ContextInformation/Provision ContextInformation/Subscription CommonBehaviours})
for f in "${FOLDERS[@]}"; do
    [[ -d "$SUITE/TP/NGSI-LD/$f" ]] || die "no folder TP/NGSI-LD/$f in $SUITE"
done

OUT="${ONECITY_CONFORMANCE_OUT:-$(mktemp -d -t onecity-conformance.XXXXXX)}"
OUT="$(abs "$OUT")"
mkdir -p "$OUT" || die "cannot create $OUT"
TMP="$(mktemp -d -t onecity-conformance-run.XXXXXX)"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- @context map: the suite's remote URLs -> local files --------------------------------
SUITE_CTX_URL="https://raw.githubusercontent.com/marek-mraz/ngsi-ld-test-suite/main/resources/jsonld-contexts"
EGM_CTX_URL="https://easy-global-market.github.io/ngsild-api-data-models/ngsildTestSuite/ngsildTestSuiteV1.8-compound.jsonld"
CORE_V18_URL="https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
mkdir -p "$OUT/contexts"
cat >"$OUT/contexts/ngsildTestSuiteV1.8-compound.jsonld" <<EOF
{
  "@context": [
    "$SUITE_CTX_URL/ngsi-ld-test-suite.jsonld",
    "$CORE_V18_URL"
  ]
}
EOF
CONTEXT_MAP="$OUT/context-map.json"
cat >"$CONTEXT_MAP" <<EOF
{
  "$SUITE_CTX_URL/ngsi-ld-test-suite.jsonld": "$CTX_DIR/ngsi-ld-test-suite.jsonld",
  "$SUITE_CTX_URL/ngsi-ld-test-suite-compound.jsonld": "$CTX_DIR/ngsi-ld-test-suite-compound.jsonld",
  "$EGM_CTX_URL": "$OUT/contexts/ngsildTestSuiteV1.8-compound.jsonld"
}
EOF

# --- processes we start, stopped at exit --------------------------------------------------
PIDS=()
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the broker ---------------------------------------------------------------------------
if [[ -n "${ONECITY_URL:-}" ]]; then
    BASE="${ONECITY_URL%/}"
    echo "ngsi-ld-conformance: using the running server $BASE; it must open NGSI-LD without"
    echo "  credentials and map the suite's contexts: ONECITY_NGSI_LD_CONTEXT_MAP=$CONTEXT_MAP"
else
    if [[ -n "${ONECITY_BIN:-}" ]]; then
        BIN="$(abs "$ONECITY_BIN")"
    elif [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
        BIN="$(abs "$CARGO_TARGET_DIR")/debug/onecity"
    else
        BIN="$ROOT/target/debug/onecity"
    fi
    [[ -x "$BIN" ]] || die "no onecity binary at $BIN (cargo build -p onecity, or set ONECITY_BIN)"
    PORT="$(free_port)"
    BASE="http://127.0.0.1:$PORT"
    # The first admin's password is never needed here; a random one keeps the log quiet.
    ONECITY_ADMIN_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')" \
        ONECITY_NGSI_LD_OPEN=true \
        ONECITY_NGSI_LD_TEMPORAL_PAGE="${ONECITY_NGSI_LD_TEMPORAL_PAGE:-20}" \
        ONECITY_NGSI_LD_CONTEXT_MAP="$CONTEXT_MAP" \
        ONECITY_NGSI_LD_CONTEXT_ALLOW="${ONECITY_NGSI_LD_CONTEXT_ALLOW:-127.0.0.1,::1}" \
        "$BIN" serve --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
    PIDS+=($!)
    python3 "$ROOT/scripts/wait-ready.py" "$BASE/readyz" "${PIDS[0]}" 60 ngsi-ld-conformance ||
        { tail -n 30 "$OUT/server.log" >&2; exit 2; }
    echo "ngsi-ld-conformance: onecity ($BIN) ready at $BASE, log $OUT/server.log"
fi

# --- MQTT ---------------------------------------------------------------------------------
MQTT_URL="${ONECITY_TEST_MQTT_URL:-mqtt://127.0.0.1:1883}"
MQTT_HOSTPORT="${MQTT_URL#*://}"
MQTT_HOSTPORT="${MQTT_HOSTPORT%%/*}"
MQTT_HOST="${MQTT_HOSTPORT%%:*}"
[[ "$MQTT_HOSTPORT" == *:* && "${MQTT_HOSTPORT##*:}" != 1883 ]] &&
    echo "ngsi-ld-conformance: WARNING: the suite's MQTT tests assume port 1883 on $MQTT_HOST"
MQTT_ALT_PORT="$(free_port)"
if command -v mosquitto >/dev/null || [[ -x /usr/sbin/mosquitto ]]; then
    MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
    printf 'listener %s %s\nallow_anonymous true\npersistence false\n' "$MQTT_ALT_PORT" "$MQTT_HOST" \
        >"$TMP/mosquitto.conf"
    "$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$OUT/mosquitto-alt.log" 2>&1 &
    PIDS+=($!)
    echo "ngsi-ld-conformance: private Mosquitto for the non-default-port cases on $MQTT_HOST:$MQTT_ALT_PORT"
else
    echo "ngsi-ld-conformance: no mosquitto binary: the non-default-port MQTT cases will fail"
fi

# --- robot --------------------------------------------------------------------------------
VARS=(
    --variable "url:$BASE/ngsi-ld/v1"
    --variable "temporal_api_url:$BASE/ngsi-ld/v1"
    --variable "notification_server_host:127.0.0.1"
    --variable "notification_server_port:$(free_port)"
    --variable "context_source_host:127.0.0.1"
    --variable "context_source_port:$(free_port)"
    --variable "context_server_host:127.0.0.1"
    --variable "context_server_port:$(free_port)"
    --variable "mqtt_broker_host:$MQTT_HOST"
    --variable "mqtt_broker_non_default_port:$MQTT_ALT_PORT"
)
[[ -n "${NGSI_LD_CORE_CONTEXT:-}" ]] && VARS+=(--variable "core_context:$NGSI_LD_CORE_CONTEXT")

SUITE_COMMIT="$(git -C "$SUITE" rev-parse HEAD 2>/dev/null || echo unknown)"
echo "ngsi-ld-conformance: suite $SUITE at $SUITE_COMMIT; robot $("$ROBOT" --version 2>&1 | head -n 1 | sed 's/ (.*//')"
echo "ngsi-ld-conformance: results in $OUT"

REPORT_ARGS=()
for f in "${FOLDERS[@]}"; do
    slug="${f//\//-}"
    mkdir -p "$OUT/$slug"
    start=$SECONDS
    printf 'ngsi-ld-conformance: [%s] %s ... ' "$(date '+%H:%M:%S')" "$f"
    (
        cd "$SUITE" &&
            PYTHONDONTWRITEBYTECODE=1 timeout --kill-after=30s "${ONECITY_CONFORMANCE_TIMEOUT:-90m}" \
                "$ROBOT" --outputdir "$OUT/$slug" --consolewidth 150 --consolecolors off \
                --name "$slug" "${VARS[@]}" "$@" "TP/NGSI-LD/$f"
    ) >"$OUT/$slug/console.log" 2>&1
    rc=$?
    echo "robot exit $rc in $((SECONDS - start)) s ($(grep -E '^[0-9]+ tests?, ' "$OUT/$slug/console.log" | tail -n 1))"
    REPORT_ARGS+=("$f=$OUT/$slug/output.xml")
done

echo
echo "NGSI-LD conformance of $BASE (suite $SUITE_COMMIT):"
python3 "$ROOT/scripts/ngsi-ld-conformance-report.py" --suite-dir "$SUITE" \
    --failures "$OUT/failures.tsv" --causes "${ONECITY_CONFORMANCE_CAUSES:-15}" "${REPORT_ARGS[@]}" | tee "$OUT/summary.txt"
FAILED=$(($(wc -l <"$OUT/failures.tsv") - 1))
echo "failing test cases with their first error: $OUT/failures.tsv ($FAILED)"
echo "robot logs: $OUT/<folder>/log.html"
((FAILED == 0))
