#!/usr/bin/env bash
# Installs a PostgreSQL server for the store's tests (tests/pg.py) unless one is already here.
# Idempotent and quiet: does nothing when initdb and pg_ctl are found on PATH or under
# /usr/lib/postgresql/*/bin, the same places tests/pg.py looks.
set -euo pipefail

have_postgres() {
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        [[ -x "$bin/initdb" && -x "$bin/pg_ctl" ]] && return 0
    done
    return 1
}

if have_postgres; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-postgres: no initdb/pg_ctl and no apt-get; install PostgreSQL yourself" >&2
    exit 1
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null

if ! have_postgres; then
    echo "install-postgres: postgresql installed but initdb/pg_ctl still not found" >&2
    exit 1
fi
