#!/usr/bin/env bash
# Installs daemonless podman and what the container test needs (tests/container/) unless present.
# Idempotent and quiet: does nothing when every tool below is already on PATH.
set -euo pipefail
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"  # debootstrap lives in sbin

TOOLS=(podman buildah runc fuse-overlayfs newuidmap slirp4netns debootstrap)
PACKAGES=(podman buildah runc fuse-overlayfs uidmap slirp4netns debootstrap)

missing=()
for tool in "${TOOLS[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-container-tools: missing ${missing[*]} and no apt-get; install them yourself" >&2
    exit 1
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# apt's chatter goes to a log that is shown only when the install fails
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-container-tools: apt-get failed" >&2
    exit 1
fi

for tool in podman debootstrap; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install-container-tools: installed the packages but $tool is still not found" >&2
        exit 1
    fi
done
