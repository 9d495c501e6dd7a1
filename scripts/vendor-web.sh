#!/usr/bin/env bash
# Vendor the browser libraries used by crates/onecity-web from the npm registry.
#
# Versions and tarball integrities are pinned below. The script downloads each
# package with `npm pack` into a temporary directory, checks the tarball's
# sha512 against the pinned value, and copies the distributable files and the
# licence into crates/onecity-web/assets/vendor/<package>/. The result is
# committed, so building onecity never needs Node.js.
#
# To upgrade: change the version, run `npm view <pkg>@<version> dist.integrity`,
# paste the value, run this script, review the diff, and commit.
set -euo pipefail

MAPLIBRE_VERSION="5.24.1"
MAPLIBRE_INTEGRITY="sha512-HyiYBwtsbk3L1n1EPLJHWqdoyMiF80n7tEYXFZyu2m1TjvaNx6KMLiFeDdmszt1/mq2zvsR1TJuX/NMu5BonXQ=="

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/crates/onecity-web/assets/vendor"

command -v npm >/dev/null || { echo "vendor-web.sh: npm is required" >&2; exit 1; }
command -v openssl >/dev/null || { echo "vendor-web.sh: openssl is required" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# fetch NAME VERSION INTEGRITY -> prints the path of the unpacked package dir
fetch() {
    local name="$1" version="$2" integrity="$3"
    local dir="$WORK/$name"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$name@$version" >/dev/null)
    local tgz
    tgz="$(ls "$dir"/*.tgz)"
    local actual
    actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | openssl base64 -A)"
    if [[ "$actual" != "$integrity" ]]; then
        echo "vendor-web.sh: integrity mismatch for $name@$version" >&2
        echo "  expected $integrity" >&2
        echo "  actual   $actual" >&2
        exit 1
    fi
    tar -xzf "$tgz" -C "$dir"
    echo "$dir/package"
}

# --- maplibre-gl -------------------------------------------------------------
pkg="$(fetch maplibre-gl "$MAPLIBRE_VERSION" "$MAPLIBRE_INTEGRITY")"
out="$VENDOR/maplibre-gl"
rm -rf "$out"
mkdir -p "$out"
cp "$pkg/dist/maplibre-gl.js" "$pkg/dist/maplibre-gl.css" "$out/"
cp "$pkg/LICENSE.txt" "$out/LICENSE.txt" 2>/dev/null || cp "$pkg/LICENSE" "$out/LICENSE.txt"
printf 'maplibre-gl %s\n%s\n' "$MAPLIBRE_VERSION" "$MAPLIBRE_INTEGRITY" >"$out/VERSION"

echo "vendored maplibre-gl $MAPLIBRE_VERSION into ${out#"$ROOT"/}"
