# Sourced by run.sh and test.sh: create .venv with Python >= 3.11 and install the project into it.
# Usage: ensure_venv "<extras>"   (extras: "" for runtime only, "dev" for the checks)
set -euo pipefail

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "Steward needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

ensure_venv() {
  local extras="$1" py stamp want hash
  if [ ! -x .venv/bin/python ]; then
    py="$(find_python)"
    echo "==> creating .venv with $py"
    "$py" -m venv .venv
  fi
  stamp=".venv/.steward-installed"
  hash="$(sha256sum pyproject.toml | cut -c1-16)"
  want="$hash-${extras:-runtime}"
  # A dev install also satisfies a runtime request.
  if ! { [ -f "$stamp" ] && grep -qx -e "$want" -e "$hash-dev" "$stamp"; }; then
    echo "==> installing Steward and its dependencies${extras:+ (with $extras tools)}"
    mkdir -p var
    # Quiet unless it fails: then show the end of pip's log.
    if ! { .venv/bin/python -m pip install -q --upgrade pip &&
           .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"; } > var/pip.log 2>&1; then
      grep -v "is ignored" var/pip.log | tail -30 >&2
      echo "installation failed (full log: var/pip.log)" >&2
      return 1
    fi
    .venv/bin/python -c "import django, rest_framework" || { echo "installation failed" >&2; return 1; }
    if [ -n "$extras" ]; then .venv/bin/python -c "import pytest" || { echo "dev tools missing" >&2; return 1; }; fi
    echo "$want" > "$stamp"
  fi
}

ensure_gettext() {
  if ! command -v msgfmt >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing GNU gettext (msgfmt) for translations"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null || true
    fi
  fi
  command -v msgfmt >/dev/null 2>&1
}
