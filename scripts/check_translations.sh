#!/usr/bin/env bash
# Fail when a catalogue (Thai, Russian, Spanish) is missing, does not compile, has untranslated or
# fuzzy entries, or lacks strings the code uses (makemessages run into a scratch copy: the real
# catalogues are never touched). Run alone: scripts/check_translations.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
command -v msgfmt >/dev/null 2>&1 || { echo "translations: GNU gettext (msgfmt) is not installed" >&2; exit 1; }
if [ ! -d locale ]; then
  echo "translations: locale/ is missing (no Thai, Russian or Spanish catalogue yet)" >&2
  exit 1
fi
status=0
for lang in th ru es; do
  po="locale/$lang/LC_MESSAGES/django.po"
  if [ ! -f "$po" ]; then echo "translations $lang: $po is missing" >&2; status=1; continue; fi
  if ! stats="$(LC_ALL=C msgfmt --check-format --statistics -o /dev/null "$po" 2>&1)"; then
    echo "translations $lang: $po does not compile:" >&2; echo "$stats" >&2; status=1; continue
  fi
  echo "translations $lang: $stats"
  if echo "$stats" | grep -Eq "untranslated|fuzzy"; then status=1; fi
done
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$PY" scripts/po_drift.py "$tmp" || status=1
if [ "$status" != 0 ]; then
  echo "translations: incomplete. Update the catalogues with" >&2
  echo "  python manage.py makemessages -l th -l ru -l es --ignore=.venv --no-obsolete" >&2
  echo "then translate every new or fuzzy entry." >&2
fi
exit $status
