#!/usr/bin/env bash
# Every check Steward has, in order, stopping at the first failure: ruff, mypy, migrations,
# translations, Django's checks, then the whole suite (browser tests included) on SQLite and on
# PostgreSQL. This is what CI runs (.ci/run).
#
# Local-only shortcut: SKIP_TRANSLATIONS=1 skips the translation completeness check while strings
# are still being translated. CI never sets it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh

step() { echo; echo "==> $*"; }
fail() { echo; echo "FAILED: $*" >&2; exit 1; }
check() {  # check <label> <command>...: run one step, stop everything with a clear message if it fails
  local label="$1"; shift
  step "$label"
  "$@" || fail "$label"
}

ensure_venv "dev" || fail "installing the project into .venv"
PY="$PWD/.venv/bin/python"
export PATH="$PWD/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE=config.settings_test
# PostgreSQL for the second pass: DATABASE_URL when it points at PostgreSQL (read before it is
# replaced below); the checks and the first pass run on SQLite.
GIVEN_DATABASE_URL="${DATABASE_URL:-}"
unset CELERY_BROKER_URL STEWARD_CACHE_URL || true

WORK="$(mktemp -d /tmp/steward-test.XXXXXX)"
PG_STOP=""
cleanup() {
  if [ -n "$PG_STOP" ]; then eval "$PG_STOP" >/dev/null 2>&1 || true; fi
  if [ -n "${PGDIR:-}" ]; then rm -rf "$PGDIR"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export DATABASE_URL="sqlite:///$WORK/checks.sqlite3"

# Browser tests drive Debian's chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  if is_root_with_apt; then
    step "installing Debian chromium and fonts for the browser tests (about a minute)"
    apt_install chromium fonts-thai-tlwg fonts-noto-core ||
      echo "warning: could not install chromium with apt: the browser tests will be SKIPPED" >&2
  else
    echo "warning: /usr/bin/chromium is missing and this is not root: the browser tests will be SKIPPED" >&2
  fi
fi
# The IMAP polling test starts Debian's dovecot on loopback in a temporary folder.
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  if is_root_with_apt; then
    step "installing Debian dovecot-imapd for the IMAP polling test"
    apt_install dovecot-imapd ||
      echo "warning: could not install dovecot-imapd with apt: the IMAP tests will be SKIPPED" >&2
  else
    echo "warning: dovecot is missing and this is not root: the IMAP tests will be SKIPPED" >&2
  fi
fi
ensure_gettext || fail "GNU gettext (msgfmt) is required for the translation checks (apt-get install gettext)"

# Optional: a later worker test uses Redis when one answers on the default port.
if "$PY" - <<'EOF' 2>/dev/null
import socket
s = socket.create_connection(("127.0.0.1", 6379), timeout=1)
s.sendall(b"PING\r\n")
raise SystemExit(0 if s.recv(16).startswith(b"+PONG") else 1)
EOF
then
  export STEWARD_TEST_REDIS_URL="${STEWARD_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
fi

check "ruff check" ruff check .
check "ruff format --check" ruff format --check .
check "mypy" mypy steward config
check "migrations are up to date (makemigrations --check)" "$PY" manage.py makemigrations --check --dry-run
if [ "${SKIP_TRANSLATIONS:-}" = 1 ]; then
  step "translations: SKIPPED (SKIP_TRANSLATIONS=1 is for local use only; CI runs this check)"
else
  check "translations are complete" env PY="$PY" bash scripts/check_translations.sh
fi
if [ -d locale ]; then
  check "compilemessages" "$PY" manage.py compilemessages -v 0 --ignore=.venv --ignore=.venv-pm4py
fi
check "django system checks" "$PY" manage.py check
check "deploy checks under production settings (check --deploy --fail-level WARNING)" env -u DJANGO_ALLOW_ASYNC_UNSAFE DJANGO_SETTINGS_MODULE=config.settings STEWARD_DEBUG=0 STEWARD_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')" STEWARD_ALLOWED_HOSTS=steward.example.org STEWARD_SSL_REDIRECT=1 STEWARD_HSTS_SECONDS=31536000 STEWARD_SECURE_COOKIES=1 "$PY" manage.py check --deploy --fail-level WARNING
check "OpenAPI schema valid (spectacular --validate --fail-on-warn)" "$PY" manage.py spectacular --validate --fail-on-warn --file "$WORK/openapi.yaml"
check "schemathesis against /api/schema/ (no 5xx, no undocumented status code)" env STEWARD_API_FUZZ=1 "$PY" -m pytest -p no:cacheprovider tests/test_api_schemathesis.py

# PM4Py cross-check (tests/test_pm4py_cross_check.py): PM4Py (AGPL, exact pins) lives in its own venv,
# never in Steward's. Made once; the marker file says the install finished. Without it the test skips.
if [ ! -f .venv-pm4py/.installed ]; then
  step "creating .venv-pm4py with pm4py==2.7.23.11 for the PM4Py cross-check (once)"
  rm -rf .venv-pm4py
  if python3 -m venv .venv-pm4py && .venv-pm4py/bin/pip install -q pm4py==2.7.23.11; then
    touch .venv-pm4py/.installed
  else
    echo "warning: could not install pm4py into .venv-pm4py: the PM4Py cross-check will be SKIPPED" >&2
  fi
fi
if [ -f .venv-pm4py/.installed ]; then
  export STEWARD_PM4PY_PYTHON="$PWD/.venv-pm4py/bin/python"
fi

run_suite() {  # run_suite <label> <DATABASE_URL>
  step "test suite on $1"
  local rc=0
  # pytest-xdist: one process per core (files kept together, so a browser or a throwaway server is
  # started once per file); STEWARD_TEST_PROCESSES=0 runs everything in this process.
  DATABASE_URL="$2" "$PY" -m pytest -p no:cacheprovider -n "${STEWARD_TEST_PROCESSES:-auto}" --dist loadfile || rc=$?
  case "$rc" in
    0) ;;
    5) fail "test suite on $1: pytest collected no tests" ;;
    *) fail "test suite on $1 (pytest exit code $rc)" ;;
  esac
}

# SQLite: pytest-django runs the test database in memory.
run_suite SQLite "sqlite:///$WORK/test.sqlite3"

step "finding PostgreSQL"
pg_answers() {  # pg_answers <url>: true when a superuser-ish connection works
  "$PY" -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' "$1" 2>/dev/null
}
if [[ "$GIVEN_DATABASE_URL" == postgres* ]]; then
  PG_URL="$GIVEN_DATABASE_URL"
  echo "using DATABASE_URL (pytest-django creates and drops test_<its database name>)"
elif pg_answers "postgresql://postgres@127.0.0.1:5432/postgres"; then
  # The machine's shared server: a database name of our own, so parallel runs never collide.
  PG_URL="postgres://postgres@127.0.0.1:5432/steward_ci_$$"
  echo "using the server on 127.0.0.1:5432 (test database test_steward_ci_$$)"
else
  echo "no server on 127.0.0.1:5432: starting a throwaway cluster (scripts/pg-start.sh)"
  pg_env="$(PY="$PY" bash scripts/pg-start.sh)" || fail "starting PostgreSQL (scripts/pg-start.sh)"
  eval "$pg_env"
  PG_URL="$DATABASE_URL"
  echo "throwaway cluster on port $PGPORT (stopped and removed when this script ends)"
fi
run_suite PostgreSQL "$PG_URL"

echo
echo "All checks passed."
