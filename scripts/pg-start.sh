#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on a free loopback port (trust auth, user postgres) and print
# the `export` lines to eval:  eval "$(scripts/pg-start.sh)"; ...; eval "$PG_STOP"; rm -rf "$PGDIR"
# As root the server runs as the `postgres` user (PostgreSQL refuses root). Installs the Debian
# `postgresql` package when it is missing and this is root. Never touches any other cluster.
set -euo pipefail
PY="${PY:-$(command -v python3 || command -v python3.11)}"
PGPORT="${PGPORT:-$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}"
if ! command -v initdb >/dev/null 2>&1 || ! command -v pg_ctl >/dev/null 2>&1; then
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$PGBIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing the Debian postgresql package" >&2
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null 2>&1 \
        || { echo "apt-get install postgresql failed" >&2; exit 1; }
      PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    else
      echo "PostgreSQL is not installed and cannot be installed here (not root): set DATABASE_URL." >&2
      exit 1
    fi
  fi
  export PATH="$PGBIN:$PATH"
fi
PGDIR="${PGDIR:-$(mktemp -d /tmp/steward-pg.XXXXXX)}"
cd /  # the postgres user may not be allowed into the caller's directory
RUN=""
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown -R postgres "$PGDIR"; RUN="runuser -u postgres --"
fi
if ! $RUN initdb -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" 2>&1; then
  tail -5 "$PGDIR/initdb.log" >&2; rm -rf "$PGDIR"; exit 1
fi
if ! $RUN pg_ctl -D "$PGDIR/data" -l "$PGDIR/log" -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $PGPORT \
  -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null; then
  tail -5 "$PGDIR/log" >&2; $RUN pg_ctl -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"; exit 1
fi
echo "export PGDIR=$PGDIR PGPORT=$PGPORT DATABASE_URL=postgres://postgres@127.0.0.1:$PGPORT/steward"
echo "export PG_STOP='$RUN $(command -v pg_ctl) -D $PGDIR/data -m fast stop'"
