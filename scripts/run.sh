#!/usr/bin/env bash
# Install, migrate, seed the demo company on an empty database and serve Steward on 127.0.0.1.
# Local demo only: SQLite in var/db.sqlite3, DEBUG on, background jobs in-process (no broker).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv ""
PY=.venv/bin/python

mkdir -p var
if [ ! -s var/secret_key ]; then
  (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key)
fi
STEWARD_SECRET_KEY="$(cat var/secret_key)"
export STEWARD_SECRET_KEY
export STEWARD_DEBUG=1
export DJANGO_SETTINGS_MODULE=config.settings
export DATABASE_URL="sqlite:///$PWD/var/db.sqlite3"
unset CELERY_BROKER_URL STEWARD_CACHE_URL || true
# The demo has no mail server: notification mail is printed here instead of failing on localhost:25.
export STEWARD_EMAIL_BACKEND="${STEWARD_EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend}"

if ensure_gettext; then
  "$PY" manage.py compilemessages -v 0 --ignore=.venv
else
  echo "warning: GNU gettext (msgfmt) is missing and cannot be installed here: pages will be in English only." >&2
fi
"$PY" manage.py migrate --noinput -v 0
# No collectstatic: with DEBUG on, static files are served straight from the source folders.

users="$("$PY" manage.py shell -v 0 -c 'from steward.accounts.models import User; print(User.objects.count())' | tail -1)"
if [ "$users" = 0 ]; then
  echo "==> seeding the demo company (first run only; a minute or two)"
  "$PY" manage.py seed_demo ${DEMO_CASES:+--cases "$DEMO_CASES"}
fi
demo="$("$PY" manage.py shell -v 0 -c \
  'from steward.accounts.models import User; print(int(User.objects.filter(username="adviser1").exists()))' | tail -1)"

PORT="${PORT:-8000}"
# Links in mail (sign-in, confirm / not solved) must point at this server.
export STEWARD_BASE_URL="${STEWARD_BASE_URL:-http://127.0.0.1:$PORT}"
echo
echo "Steward: http://127.0.0.1:$PORT/    API docs: http://127.0.0.1:$PORT/api/docs/    (Ctrl+C stops it)"
if [ "$demo" = 1 ]; then
  PW="${DEMO_PASSWORD:-steward-demo}"
  echo
  echo "Demo log-ins (delete var/db.sqlite3 to start again from a fresh demo):"
  printf '  %-17s %-22s %s\n' "role" "username" "password" \
    "service manager" "manager" "$PW" \
    "executive" "executive" "$PW" \
    "administrator" "admin" "$PW" \
    "adviser" "adviser1 … adviser12" "$PW" \
    "sector member" "billing1" "$PW"
  echo "  (adviser1's backup is adviser2, adviser2's is adviser3, …, adviser12's is adviser1)"
fi
echo
exec "$PY" manage.py runserver --noreload "127.0.0.1:$PORT"
