#!/usr/bin/env bash
# Install, migrate, seed the demo once and serve Steward on 127.0.0.1 (SQLite, in-process jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv ""

mkdir -p var
if [ ! -s var/secret_key ]; then
  .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key
  chmod 600 var/secret_key
fi
export STEWARD_SECRET_KEY="$(cat var/secret_key)"
export STEWARD_DEBUG="${STEWARD_DEBUG:-1}"
export DJANGO_SETTINGS_MODULE=config.settings
unset CELERY_BROKER_URL || true
PY=.venv/bin/python

if ensure_gettext; then
  $PY manage.py compilemessages -v 0 --ignore=.venv
else
  echo "warning: GNU gettext (msgfmt) is missing: pages will be in English only." >&2
fi
$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0

# seed_demo does nothing when the database already has users, so this runs once.
echo "==> demo data (seeded on the first run only; that takes a minute or two)"
$PY manage.py seed_demo

PORT="${PORT:-8000}"
PW="${DEMO_PASSWORD:-steward-demo}"
cat <<TXT

Steward is running at http://127.0.0.1:$PORT/   (Ctrl+C stops it)

Demo log-ins (password for all: $PW)
  role               user name
  service manager    manager
  executive          executive
  administrator      admin
  adviser            adviser1 … adviser12   (adviser1's backup is adviser2, and so on)
  sector member      billing1, warehouse1, logistics1

API docs: http://127.0.0.1:$PORT/api/docs/
TXT
exec $PY manage.py runserver --noreload "127.0.0.1:$PORT"
