#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (tests/browser/) unless it is already here.
# Idempotent and quiet: does nothing when /usr/bin/chromium runs.
set -euo pipefail

if [[ -x /usr/bin/chromium ]] && /usr/bin/chromium --version >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: no /usr/bin/chromium and no apt-get; install chromium yourself" >&2
    exit 1
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# fonts so text renders (and screenshots are readable) on a bare image
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null

if ! /usr/bin/chromium --version >/dev/null 2>&1; then
    echo "install-chromium: chromium installed but /usr/bin/chromium does not run" >&2
    exit 1
fi
