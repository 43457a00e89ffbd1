#!/usr/bin/env bash
# The benchmark: PostgreSQL + gunicorn (2 sync workers on 127.0.0.1) + wrk, every scenario of
# steward/bench/runner.py (SCENARIOS) three times, reported as a table and as var/bench/latest.json.
#
#   scripts/bench.sh                      # 100,000 cases in the database steward_bench
#   BENCH_CASES=1000000 scripts/bench.sh  # 1,000,000 cases in steward_bench_1000000
#   BENCH_ONLY="case list" scripts/bench.sh   # some scenarios (the ceilings always run)
#
# Settings (environment): BENCH_CASES (100000), BENCH_DATABASE_URL (default: a database of its own on
# the server at 127.0.0.1:5432, else a throwaway cluster from scripts/pg-start.sh), BENCH_DURATION
# (seconds per wrk run, 8), BENCH_CONNECTIONS (4), BENCH_REPEAT (3), BENCH_PORT (free port), BENCH_SEED (1),
# BENCH_GUNICORN_ARGS (extra gunicorn arguments, for experiments).
# The data is generated once per database (generate_load_data) and reused by later runs.
# Not part of scripts/test.sh (it takes minutes); its small tests are.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh

CASES="${BENCH_CASES:-100000}"
DURATION="${BENCH_DURATION:-8}"
CONNECTIONS="${BENCH_CONNECTIONS:-4}"
REPEAT="${BENCH_REPEAT:-3}"
SEED="${BENCH_SEED:-1}"

ensure_venv "" || { echo "FAILED: installing the project into .venv" >&2; exit 1; }
PY="$PWD/.venv/bin/python"
export PATH="$PWD/.venv/bin:$PATH"

if ! command -v wrk >/dev/null 2>&1; then
  if is_root_with_apt; then
    echo "==> installing wrk (Debian package)"
    apt_install wrk || { echo "FAILED: apt-get install wrk" >&2; exit 1; }
  else
    echo "FAILED: wrk is not installed and this is not root: run 'apt-get install -y wrk' as root first." >&2
    exit 1
  fi
fi

PG_STOP=""
GUNICORN_PID=""
cleanup() {
  if [ -n "$GUNICORN_PID" ]; then kill "$GUNICORN_PID" 2>/dev/null || true; wait "$GUNICORN_PID" 2>/dev/null || true; fi
  if [ -n "$PG_STOP" ]; then eval "$PG_STOP" >/dev/null 2>&1 || true; rm -rf "${PGDIR:-/nonexistent}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_answers() { "$PY" -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' "$1" 2>/dev/null; }
DB_NAME="steward_bench"
[ "$CASES" = 100000 ] || DB_NAME="steward_bench_$CASES"
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  DB_URL="$BENCH_DATABASE_URL"
elif pg_answers "postgresql://postgres@127.0.0.1:5432/postgres"; then
  DB_URL="postgres://postgres@127.0.0.1:5432/$DB_NAME"
else
  echo "==> no PostgreSQL on 127.0.0.1:5432: starting a throwaway cluster (scripts/pg-start.sh); its data goes with it"
  pg_env="$(PY="$PY" bash scripts/pg-start.sh)" || { echo "FAILED: starting PostgreSQL" >&2; exit 1; }
  eval "$pg_env"
  DB_URL="postgres://postgres@127.0.0.1:$PGPORT/$DB_NAME"
fi
# Create the database when missing (connect to the server's "postgres" database to do it).
"$PY" - "$DB_URL" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
import psycopg
url = urlsplit(sys.argv[1].replace("postgres://", "postgresql://", 1))
name = url.path.lstrip("/")
admin = urlunsplit(url._replace(path="/postgres"))
with psycopg.connect(admin, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"==> created database {name}")
EOF

export DATABASE_URL="$DB_URL"
# A shared cache for both workers and this script, as in production (README "Scale-out"): Redis on
# 127.0.0.1:6379, database 5 (BENCH_CACHE_URL to choose another; "none" for each process's memory).
CACHE_URL="${BENCH_CACHE_URL:-redis://127.0.0.1:6379/5}"
if [ "$CACHE_URL" != none ] && "$PY" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_timeout=2).ping()' "$CACHE_URL" 2>/dev/null; then
  export STEWARD_CACHE_URL="$CACHE_URL"
  echo "==> cache: $CACHE_URL"
fi
export DJANGO_SETTINGS_MODULE=config.settings
export STEWARD_BENCH=1 STEWARD_DEBUG=0 STEWARD_SECURE_COOKIES=0 STEWARD_LOG_LEVEL=WARNING
export STEWARD_SECRET_KEY="${STEWARD_SECRET_KEY:-bench-only-secret-key-$(date +%s)}"
# The benchmark measures Steward, not a mail server: outbound mail is built, then dropped (dummy backend:
# the in-memory one would keep every mail and grow the workers through a soak run).
export STEWARD_EMAIL_BACKEND=django.core.mail.backends.dummy.EmailBackend
unset CELERY_BROKER_URL || true

echo "==> database: ${DB_URL}"
"$PY" manage.py migrate -v0
"$PY" manage.py collectstatic --noinput -v0
HAVE="$("$PY" manage.py shell -c 'from steward.cases.models import Case; print(Case.objects.count())' 2>/dev/null | tail -1)"
if [ "${HAVE:-0}" -lt "$CASES" ]; then
  echo "==> generating $((CASES - HAVE)) cases (have $HAVE)"
  "$PY" manage.py generate_load_data --cases "$((CASES - HAVE))" --seed "$SEED"
fi

PORT="${BENCH_PORT:-$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}"
echo "==> gunicorn, 2 sync workers, on 127.0.0.1:$PORT"
"$PWD/.venv/bin/gunicorn" config.wsgi:application --workers 2 --bind "127.0.0.1:$PORT" \
  --log-level warning --timeout 120 ${BENCH_GUNICORN_ARGS:-} &
GUNICORN_PID=$!
for _ in $(seq 1 60); do
  if "$PY" -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "http://127.0.0.1:$PORT/bench/json/" 2>/dev/null; then break; fi
  sleep 0.5
done

ONLY_ARGS=()
if [ -n "${BENCH_ONLY:-}" ]; then
  IFS=',' read -ra parts <<< "$BENCH_ONLY"
  for p in "${parts[@]}"; do ONLY_ARGS+=(--only "$p"); done
fi
if [ "${BENCH_MODE:-bench}" = soak ]; then
  # scripts/soak.sh: a mixed load, minute by minute (issue 10).
  echo "==> soak: ${SOAK_MINUTES:-5} min, ${SOAK_CONNECTIONS:-8} connections, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$PY" manage.py bench_soak --url "http://127.0.0.1:$PORT" --master-pid "$GUNICORN_PID" \
    --minutes "${SOAK_MINUTES:-5}" --connections "${SOAK_CONNECTIONS:-8}"
  echo
  echo "Written: var/bench/soak.json"
  exit 0
fi
echo "==> scenarios (wrk: $CONNECTIONS connections, ${DURATION} s, $REPEAT runs each), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" manage.py bench_run --url "http://127.0.0.1:$PORT" --master-pid "$GUNICORN_PID" \
  --duration "$DURATION" --connections "$CONNECTIONS" --repeat "$REPEAT" "${ONLY_ARGS[@]}"
echo
echo "Written: var/bench/latest.json (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
