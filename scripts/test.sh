#!/usr/bin/env bash
# The test command of the README: everything onecity has to pass.
#
#   scripts/test.sh [ARGS...]        ARGS go to `cargo nextest run` (e.g. a test filter)
#
# Steps, each timed and reported in a summary at the end:
#   1. cargo build --workspace --all-targets            (debug, all test binaries)
#   2. cargo nextest run --workspace --no-fail-fast      with ONECITY_TEST_BACKEND=sqlite
#   3. the same with ONECITY_TEST_BACKEND=postgres       only when ONECITY_TEST_DATABASE_URL
#                                                        is set (e.g. postgres://postgres@127.0.0.1:5432/postgres)
#   4. tests/browser/run.sh                              headless Chromium against `onecity serve --demo`
#   5. tests/ckan/run.sh                                 the ckanapi client (PyPI) against `onecity serve`
#   5b. tests/oidc/run.sh                                the authlib OpenID Connect client (PyPI) through
#                                                        the code flow with PKCE against `onecity serve`
#   6. tests/ngsi/run.sh                                 the NGSI-LD API driven by the PyPI client
#                                                        ngsildclient (once crates/onecity-twin exists),
#                                                        on SQLite, and on PostgreSQL when
#                                                        ONECITY_TEST_DATABASE_URL is set
#
# Environment:
#   CARGO_TARGET_DIR             where cargo builds (default: cargo's own choice, ./target)
#   ONECITY_TEST_DATABASE_URL    PostgreSQL server + database for the PostgreSQL pass; tests
#                                create their own databases on that server (needs CREATEDB)
#   ONECITY_TEST_NATS_URL        NATS JetStream for the NATS tests (e.g. nats://127.0.0.1:4222)
#   ONECITY_TEST_MQTT_URL        MQTT broker (e.g. mqtt://127.0.0.1:1883)
#   ONECITY_NGSI_PYTHON          Python with ngsildclient for step 5 (default: the venv .ci/run
#                                makes, /var/tmp/onecity-ngsi-venv, else python3)
#   ONECITY_TEST_STRICT=1        a skipped step counts as a failure (the default when CI=true)
#   ONECITY_TEST_SLOW_SECS       nextest marks a test slow after this many seconds (default 60)
#                                and kills it after 5 such periods, unless .config/nextest.toml
#                                says otherwise
#
# Tests choose their store by ONECITY_TEST_BACKEND alone (see onecity-testkit); the service
# URLs stay set in both passes. Exit status: 0 when every step passed (or was
# skipped outside strict mode), 1 otherwise.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
esac

# A relative CARGO_TARGET_DIR means relative to where we were called from.
if [[ -n "${CARGO_TARGET_DIR:-}" && "${CARGO_TARGET_DIR}" != /* ]]; then
    CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR"
    export CARGO_TARGET_DIR
fi
cd "$ROOT" || exit 1

command -v cargo >/dev/null || { echo "test.sh: cargo not found (install Rust: https://rustup.rs)" >&2; exit 1; }

case "${ONECITY_TEST_STRICT:-}" in
    1 | true | yes) STRICT=1 ;;
    0 | false | no) STRICT=0 ;;
    *) if [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; then STRICT=1; else STRICT=0; fi ;;
esac

# Where cargo puts the binaries (honours CARGO_TARGET_DIR and .cargo/config.toml).
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null)"
TARGET_DIR="${TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}"

TMP="$(mktemp -d -t onecity-test.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

# Per-test timeout as a nextest tool config: a repository .config/nextest.toml overrides it.
SLOW="${ONECITY_TEST_SLOW_SECS:-60}"
cat >"$TMP/nextest.toml" <<EOF
[profile.default]
slow-timeout = { period = "${SLOW}s", terminate-after = 5 }
EOF
export NEXTEST_FAILURE_OUTPUT="${NEXTEST_FAILURE_OUTPUT:-immediate-final}"
NEXTEST=(cargo nextest run --workspace --no-fail-fast --tool-config-file "onecity-test:$TMP/nextest.toml")

now() { date '+%Y-%m-%d %H:%M:%S'; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

STEPS=() STATUS=() TIMES=() NOTES=()
record() { # name status seconds note
    STEPS+=("$1") STATUS+=("$2") TIMES+=("$3") NOTES+=("$4")
}
banner() { printf '\n==> [%s] %s\n' "$(now)" "$1"; }

# run_step NAME LOGFILE CMD...: runs CMD, records PASS/FAIL with its duration. When
# LOGFILE is not "-", output is also kept there (to pick nextest's summary line).
run_step() {
    local name="$1" log="$2" start rc note=""
    shift 2
    banner "$name"
    printf '    $ %s\n' "$*"
    start=$SECONDS
    if [[ "$log" == - ]]; then
        "$@"
    else
        "$@" 2>&1 | tee "$log"
    fi
    rc=$?
    if [[ "$log" != - ]]; then
        note="$(grep -E '^ *Summary \[' "$log" | tail -n 1 | sed -E 's/^ *//; s/\x1b\[[0-9;]*m//g')"
    fi
    if ((rc == 0)); then
        record "$name" PASS $((SECONDS - start)) "$note"
    else
        record "$name" FAIL $((SECONDS - start)) "${note:-exit $rc}"
    fi
    printf '<== [%s] %s: %s (%s)\n' "$(now)" "$name" "$([[ $rc == 0 ]] && echo passed || echo "FAILED, exit $rc")" "$(fmt_secs $((SECONDS - start)))"
    return $rc
}

skip_step() { # NAME REASON
    banner "$1"
    echo "    SKIPPED: $2"
    record "$1" SKIP 0 "$2"
}

echo "onecity tests: $(now)"
echo "  repository   $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
echo "  target dir   $TARGET_DIR"
echo "  PostgreSQL   ${ONECITY_TEST_DATABASE_URL:-(not set: the PostgreSQL pass will be skipped)}"
echo "  NATS         ${ONECITY_TEST_NATS_URL:-(not set)}"
echo "  MQTT         ${ONECITY_TEST_MQTT_URL:-(not set)}"
echo "  strict       $([[ $STRICT == 1 ]] && echo 'yes: skipped steps fail the run' || echo no)"

BUILD_OK=1
run_step "build (cargo build --workspace --all-targets)" - \
    cargo build --workspace --all-targets || BUILD_OK=0

if ((BUILD_OK)); then
    run_step "Rust tests on SQLite" "$TMP/sqlite.log" \
        env ONECITY_TEST_BACKEND=sqlite "${NEXTEST[@]}" "$@"
else
    skip_step "Rust tests on SQLite" "the build failed"
fi

if [[ -z "${ONECITY_TEST_DATABASE_URL:-}" ]]; then
    skip_step "Rust tests on PostgreSQL" \
        "ONECITY_TEST_DATABASE_URL is not set (e.g. ONECITY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/test.sh)"
elif ((!BUILD_OK)); then
    skip_step "Rust tests on PostgreSQL" "the build failed"
else
    run_step "Rust tests on PostgreSQL" "$TMP/postgres.log" \
        env ONECITY_TEST_BACKEND=postgres "${NEXTEST[@]}" "$@"
fi

BIN="$TARGET_DIR/debug/onecity"
if ((!BUILD_OK)); then
    skip_step "browser test (headless Chromium)" "the build failed"
elif ((!STRICT)) && [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    skip_step "browser test (headless Chromium)" \
        "/usr/bin/chromium or /usr/bin/chromedriver is missing (apt-get install -y chromium chromium-driver fonts-noto-cjk)"
elif ((!STRICT)) && [[ ! -f "$ROOT/../shared/data/geo/hangzhou_330100_districts.geojson" ]]; then
    skip_step "browser test (headless Chromium)" \
        "the demo data ../shared/data/geo is missing next to the repository"
else
    # In strict mode (CI) a hung browser cannot eat the CI budget: the whole process group
    # (server, pytest, chromium) is killed after the limit. Interactively Ctrl-C works as usual.
    LIMIT=()
    ((STRICT)) && LIMIT=(timeout --kill-after=30s "${ONECITY_TEST_BROWSER_TIMEOUT:-15m}")
    run_step "browser test (headless Chromium)" - \
        "${LIMIT[@]}" env ONECITY_BIN="$BIN" tests/browser/run.sh
fi

if ((!BUILD_OK)); then
    skip_step "CKAN client test (ckanapi)" "the build failed"
elif ((!STRICT)) && ! { python3 -c 'import ckanapi, pytest' 2>/dev/null && command -v ckanapi >/dev/null; }; then
    skip_step "CKAN client test (ckanapi)" "ckanapi or pytest is missing (pip install ckanapi==4.11 pytest)"
else
    run_step "CKAN client test (ckanapi)" - env ONECITY_BIN="$BIN" tests/ckan/run.sh
fi

if ((!BUILD_OK)); then
    skip_step "OpenID Connect client test (authlib)" "the build failed"
elif ((!STRICT)) && ! python3 -c 'import authlib, requests, pytest' 2>/dev/null; then
    skip_step "OpenID Connect client test (authlib)" "authlib, requests or pytest is missing (pip install authlib==1.6.5 requests pytest)"
else
    run_step "OpenID Connect client test (authlib)" - env ONECITY_BIN="$BIN" tests/oidc/run.sh
fi

# The NGSI-LD client test needs the broker (crates/onecity-twin); before it exists there is
# no step at all rather than a skipped one.
NGSI_PY="${ONECITY_NGSI_PYTHON:-}"
[[ -z "$NGSI_PY" && -x /var/tmp/onecity-ngsi-venv/bin/python ]] && NGSI_PY=/var/tmp/onecity-ngsi-venv/bin/python
NGSI_PY="${NGSI_PY:-python3}"
if [[ ! -d "$ROOT/crates/onecity-twin" ]]; then
    echo
    echo "    (no NGSI-LD client test: this checkout has no crates/onecity-twin)"
elif ((!BUILD_OK)); then
    skip_step "NGSI-LD client test (ngsildclient)" "the build failed"
elif ((!STRICT)) && ! "$NGSI_PY" -c 'import ngsildclient' 2>/dev/null; then
    skip_step "NGSI-LD client test (ngsildclient)" \
        "$NGSI_PY cannot import ngsildclient (python3 -m venv /var/tmp/onecity-ngsi-venv && /var/tmp/onecity-ngsi-venv/bin/pip install ngsildclient==0.5.2 pytest)"
elif ((!STRICT)) && [[ ! -d "$ROOT/../shared/data/ngsi-ld/smart-data-models" ]]; then
    skip_step "NGSI-LD client test (ngsildclient)" \
        "the real payloads ../shared/data/ngsi-ld are missing next to the repository"
else
    run_step "NGSI-LD client test (ngsildclient) on SQLite" - \
        env ONECITY_BIN="$BIN" ONECITY_NGSI_PYTHON="$NGSI_PY" ONECITY_TEST_BACKEND=sqlite tests/ngsi/run.sh
    if [[ -n "${ONECITY_TEST_DATABASE_URL:-}" ]]; then
        run_step "NGSI-LD client test (ngsildclient) on PostgreSQL" - \
            env ONECITY_BIN="$BIN" ONECITY_NGSI_PYTHON="$NGSI_PY" ONECITY_TEST_BACKEND=postgres tests/ngsi/run.sh
    fi
fi

# Summary.
FAILED=0 SKIPPED=0
echo
echo "================================ test summary ================================"
for i in "${!STEPS[@]}"; do
    printf '  %-4s  %8s  %s\n' "${STATUS[$i]}" "$(fmt_secs "${TIMES[$i]}")" "${STEPS[$i]}"
    [[ -n "${NOTES[$i]}" ]] && printf '                  %s\n' "${NOTES[$i]}"
    case "${STATUS[$i]}" in
        FAIL) FAILED=$((FAILED + 1)) ;;
        SKIP) SKIPPED=$((SKIPPED + 1)) ;;
    esac
done
echo "=============================================================================="
if ((FAILED > 0)); then
    echo "RESULT: FAILED ($FAILED step(s) failed, $SKIPPED skipped) at $(now)"
    exit 1
elif ((SKIPPED > 0 && STRICT)); then
    echo "RESULT: FAILED ($SKIPPED step(s) skipped, which strict mode does not allow) at $(now)"
    exit 1
elif ((SKIPPED > 0)); then
    echo "RESULT: passed, but $SKIPPED step(s) were SKIPPED (see above) at $(now)"
else
    echo "RESULT: all passed at $(now)"
fi
exit 0
