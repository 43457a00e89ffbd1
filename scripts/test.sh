#!/usr/bin/env bash
# Every check Steward has: lint, types, migrations, translations, the suite on SQLite and on
# PostgreSQL, browser tests in Debian Chromium. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv "dev"
PY=.venv/bin/python
export PATH="$PWD/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE=config.settings_test
unset CELERY_BROKER_URL || true

step() { echo; echo "==> $*"; }

# Browser tests need Debian's chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing Debian chromium and fonts for the browser tests"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-thai-tlwg fonts-noto-core >/dev/null \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "warning: /usr/bin/chromium is missing and this is not root: browser tests will be skipped" >&2
  fi
fi
ensure_gettext || { echo "GNU gettext (msgfmt) is required for the translation checks" >&2; exit 1; }

step "ruff"
ruff check .
ruff format --check .
step "mypy"
mypy steward config
step "migrations are up to date"
$PY manage.py makemigrations --check --dry-run
step "translations are complete"
PY=$PY bash scripts/check_translations.sh
$PY manage.py compilemessages -v 0 --ignore=.venv
step "django system checks"
$PY manage.py check

run_suite() {  # run_suite <label> <DATABASE_URL>
  step "test suite on $1"
  set +e
  DATABASE_URL="$2" python -m pytest -p no:cacheprovider
  local rc=$?
  set -e
  [ "$rc" = 0 ] || { echo "FAILED: test suite on $1 (exit $rc)" >&2; exit 1; }
}

run_suite SQLite "sqlite:///$PWD/var/test.sqlite3"

PG_STOP=""
if [ -n "${STEWARD_TEST_DATABASE_URL:-}" ]; then
  PG_URL="$STEWARD_TEST_DATABASE_URL"
elif $PY -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(("127.0.0.1",5432)))' \
     && $PY -c 'import psycopg; psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()' 2>/dev/null; then
  # The machine's shared server: a database name of our own so parallel runs never collide.
  PG_URL="postgres://postgres@127.0.0.1:5432/steward_ci_$$"
else
  eval "$(bash scripts/pg-start.sh)"
  trap 'eval "$PG_STOP"; rm -rf "$PGDIR"' EXIT
  PG_URL="$DATABASE_URL"
fi
run_suite PostgreSQL "$PG_URL"
echo
echo "All checks passed."
