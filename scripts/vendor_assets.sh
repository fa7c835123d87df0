#!/usr/bin/env bash
# Vendor the third-party browser assets the project uses, from the npm registry (no CDN at run
# time: the CSP is default-src 'self', and the portal must work offline).
#
#   scripts/vendor_assets.sh          # fetch and verify, write the vendored files
#
# - axe-core: the accessibility engine the browser tests inject into each page
#   (tests/browser/vendor/axe.min.js). Test-only: the portal itself ships no third-party JS
#   (its chart is server-rendered SVG).
# Each file is pinned by version and SHA-256, so a re-run gives byte-identical files.
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION=4.10.3
AXE_SHA256=880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "axe-core@${AXE_VERSION}" >/dev/null && tar xzf "axe-core-${AXE_VERSION}.tgz")
echo "${AXE_SHA256}  ${work}/package/axe.min.js" | sha256sum -c --quiet -
mkdir -p tests/browser/vendor
cp "${work}/package/axe.min.js" tests/browser/vendor/axe.min.js
cp "${work}/package/LICENSE" tests/browser/vendor/axe.LICENSE
echo "vendored axe-core ${AXE_VERSION} into tests/browser/vendor/"
