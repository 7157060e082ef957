#!/usr/bin/env bash
# Run a command against PostgreSQL: the one in DATABASE_URL, or a throwaway cluster
# started here (and stopped on exit, also on failure). Falls back to SQLite when no
# PostgreSQL server binaries exist, unless REQUIRE_POSTGRES=1.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  echo "== database: DATABASE_URL as given"
  exec "$@"
fi

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  if [ "${REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "REQUIRE_POSTGRES=1 but no PostgreSQL server binaries were found." >&2
    exit 1
  fi
  echo "== database: SQLite (no PostgreSQL server binaries found; install postgresql to test on it)"
  exec "$@"
fi

PGTMP="$(mktemp -d /tmp/shop-pg.XXXXXX)"
PORT="${PGPORT_TEST:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
as_pg() {
  # initdb and pg_ctl refuse to run as root; run them as the postgres user there.
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = "0" ] && chown postgres "$PGTMP"

stop_pg() {
  as_pg "$PG_BIN/pg_ctl" -D "$PGTMP/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PGTMP"
}
trap stop_pg EXIT INT TERM

as_pg "$PG_BIN/initdb" -D "$PGTMP/data" -A trust -U postgres -E UTF8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w \
  -o "-h 127.0.0.1 -p $PORT -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
"$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c "CREATE ROLE shop LOGIN CREATEDB" postgres
# The benchmarks checkpoint after a bulk load, so its writes are not timed with the pages.
"$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c "GRANT pg_checkpoint TO shop" postgres
"$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c "CREATE DATABASE shop OWNER shop" postgres
"$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" template1

export DATABASE_URL="postgres://shop@127.0.0.1:$PORT/shop"
echo "== database: throwaway PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
set +e
"$@"
status=$?
set -e
exit $status
