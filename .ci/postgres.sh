#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the PostgreSQL state-store tests
# (sync-kit, sync-examples): installs Debian's `postgresql` package if needed, runs initdb and
# pg_ctl as the `postgres` user in a temporary folder on a free port, and writes the cluster's
# URL to $SYNC_TEST_POSTGRES_FILE (default /tmp/sync-test-postgres.url), which the tests read
# (or set SYNC_TEST_POSTGRES_URL yourself). Idempotent: a cluster that answers is kept.
set -euo pipefail

URL_FILE="${SYNC_TEST_POSTGRES_FILE:-/tmp/sync-test-postgres.url}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ -s "$URL_FILE" ] && psql "$(cat "$URL_FILE")" -qAtc 'SELECT 1' >/dev/null 2>&1; then
    echo "PostgreSQL already up: $(cat "$URL_FILE")"
    exit 0
fi

BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postgresql
    BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
fi

DIR="$(mktemp -d /tmp/sync-test-pg.XXXXXX)"
chmod 755 "$DIR"
$SUDO chown postgres "$DIR" 2>/dev/null || chown postgres "$DIR"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else $SUDO -u postgres "$@" 2>/dev/null || runuser -u postgres -- "$@"; fi; }
as_postgres "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=300 -c fsync=off" start >/dev/null
echo "postgres://postgres@127.0.0.1:$PORT/postgres" > "$URL_FILE"
echo "PostgreSQL up: $(cat "$URL_FILE") (data in $DIR; stop: pg_ctl -D $DIR/data stop)"
