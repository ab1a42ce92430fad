#!/usr/bin/env bash
# Create .venv and install the project (with EXTRAS, e.g. "test") when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
extras="${1:-}"
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed (found: $("$python" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    echo "python3 -m venv failed; installing Debian's python3-venv" >&2
    apt_install python3-venv 2>/dev/null || { echo "Install python3-venv and try again." >&2; exit 1; }
    "$python" -m venv .venv
  fi
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
stamp=".venv/.installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing Python packages into .venv ($spec) ..."
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip \
         && .venv/bin/python -m pip install --disable-pip-version-check -e "$spec"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "Installing the Python packages failed (log above, also in $log)." >&2
    exit 1
  fi
  touch "$stamp"
fi
