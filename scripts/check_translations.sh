#!/usr/bin/env bash
# Fail when a catalogue is missing, or has untranslated or fuzzy entries, or lags behind the code.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
status=0
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# Regenerate the catalogues from the code into a copy, to see strings the .po files lack.
cp -r locale "$tmp/locale" 2>/dev/null || { echo "translations: locale/ is missing" >&2; exit 1; }
for lang in th ru es; do
  po="locale/$lang/LC_MESSAGES/django.po"
  [ -f "$po" ] || { echo "translations: $po is missing" >&2; status=1; continue; }
  stats="$(msgfmt --statistics -o /dev/null "$po" 2>&1)"
  echo "translations $lang: $stats"
  if echo "$stats" | grep -Eq "untranslated|fuzzy"; then status=1; fi
done
STEWARD_LOCALE_DIR="$tmp/locale" $PY scripts/po_drift.py "$tmp/locale" || status=1
[ "$status" = 0 ] || echo "translations: incomplete (run: python manage.py makemessages -l th -l ru -l es --ignore=.venv, then translate)" >&2
exit $status
