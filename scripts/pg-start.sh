#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on a free loopback port; prints `export` lines to eval.
set -euo pipefail
PGPORT="${PGPORT:-$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}"
PGDIR="${PGDIR:-$(mktemp -d /tmp/steward-pg.XXXXXX)}"
if ! command -v initdb >/dev/null 2>&1 || ! command -v pg_ctl >/dev/null 2>&1; then
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$PGBIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    else
      echo "PostgreSQL is not installed and cannot be installed here (not root)." >&2; exit 1
    fi
  fi
  export PATH="$PGBIN:$PATH"
fi
RUN=""
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown -R postgres "$PGDIR"; RUN="runuser -u postgres --"
fi
$RUN initdb -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
$RUN pg_ctl -D "$PGDIR/data" -l "$PGDIR/log" -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
  || { tail -5 "$PGDIR/log" >&2; exit 1; }
echo "export PGDIR=$PGDIR PGPORT=$PGPORT DATABASE_URL=postgres://postgres@127.0.0.1:$PGPORT/steward"
echo "export PG_STOP='$RUN $(command -v pg_ctl) -D $PGDIR/data -m fast stop'"
