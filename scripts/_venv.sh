# Sourced by run.sh and test.sh: create .venv with Python >= 3.11 and install the project into it.
# Usage: ensure_venv "<extras>"   (extras: "" for runtime only, "dev" for the checks)
set -euo pipefail

is_root_with_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {  # apt_install <package>...: quiet; returns non-zero when it fails
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >/dev/null 2>&1
}

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3.14 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "Steward needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

make_venv() {  # make_venv <python>
  local py="$1" ver
  echo "==> creating .venv with $py"
  if "$py" -m venv .venv >/dev/null 2>&1; then return 0; fi
  rm -rf .venv
  # Debian and Ubuntu ship the venv module (and ensurepip) separately.
  ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  if is_root_with_apt; then
    echo "==> installing python$ver-venv"
    apt_install "python$ver-venv" || apt_install python3-venv || true
    if "$py" -m venv .venv; then return 0; fi
    rm -rf .venv
  fi
  echo "Could not create a virtual environment with $py: install the venv module" \
       "(on Debian/Ubuntu: apt-get install python$ver-venv) and run again." >&2
  return 1
}

ensure_venv() {
  local extras="$1" py stamp want hash
  if [ ! -x .venv/bin/python ]; then
    py="$(find_python)"
    make_venv "$py"
  fi
  stamp=".venv/.steward-installed"
  hash="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest()[:16])')"
  want="$hash-${extras:-runtime}"
  # A dev install also satisfies a runtime request; an unchanged pyproject.toml is not reinstalled.
  if ! { [ -f "$stamp" ] && grep -qx -e "$want" -e "$hash-dev" "$stamp"; }; then
    echo "==> installing Steward and its dependencies${extras:+ (with the $extras tools)}; this takes a minute"
    mkdir -p var
    # Quiet unless it fails: then show the end of pip's log (without pip's harmless index notices).
    if ! { .venv/bin/python -m pip install -q --upgrade pip &&
           .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"; } > var/pip.log 2>&1; then
      grep -v "is ignored" var/pip.log | tail -30 >&2
      echo "FAILED: installing the dependencies (full log: var/pip.log)" >&2
      return 1
    fi
    .venv/bin/python -c "import django, rest_framework" || { echo "FAILED: installation incomplete" >&2; return 1; }
    if [ -n "$extras" ]; then
      .venv/bin/python -c "import pytest" || { echo "FAILED: dev tools missing" >&2; return 1; }
    fi
    echo "$want" > "$stamp"
  fi
}

ensure_gettext() {  # true when GNU gettext (msgfmt) is available, installing it with apt when root
  if ! command -v msgfmt >/dev/null 2>&1 && is_root_with_apt; then
    echo "==> installing GNU gettext (msgfmt) for the translations"
    apt_install gettext || true
  fi
  command -v msgfmt >/dev/null 2>&1
}
