#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine and run the whole suite:
# the venv with test extras, Debian's chromium (browser tests), axe-core (npm), and a
# PostgreSQL server for the second database run. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
export -f apt_install
scripts/setup-venv.sh test

if [ ! -x "${CAMPAIGN_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "Installing Debian's chromium for the browser tests ..."
  apt_install chromium
fi
if ! command -v redis-server >/dev/null; then
  echo "Installing Redis for the rate limits' shared-store test ..."
  apt_install redis-server
fi
if [ -f package.json ]; then
  if ! command -v npm >/dev/null; then
    echo "Installing Node.js and npm (for axe-core) ..."
    apt_install nodejs npm
  fi
  if [ ! -d node_modules ] || [ package.json -nt node_modules ]; then
    npm install --silent --no-audit --no-fund >/dev/null
    touch node_modules
  fi
fi

# PostgreSQL: use the one given, else the machine's on 127.0.0.1:5432, else a throwaway
# cluster (installing PostgreSQL under CI when missing).
source scripts/postgres.sh
if [ -z "${CAMPAIGN_TEST_DATABASE_URL:-}" ]; then
  find_or_start_postgres || true
fi
if [ -n "${CAMPAIGN_TEST_DATABASE_URL:-}" ]; then
  echo "Tests run on SQLite and on PostgreSQL ($CAMPAIGN_TEST_DATABASE_URL)."
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true and no PostgreSQL could be found or started: failing." >&2
  exit 1
else
  echo "NOTE: no PostgreSQL server could be found or started; the tests run on SQLite only."
fi
export CAMPAIGN_TEST_DATABASE_URL="${CAMPAIGN_TEST_DATABASE_URL:-}"
# The whole run (no arguments, and always in CI) starts with the linters and the type check.
if [ "$#" -eq 0 ] || [ "${CI:-}" = "true" ]; then
  echo "ruff and mypy ..."
  .venv/bin/ruff check . && .venv/bin/ruff format --check . >/dev/null && .venv/bin/mypy
fi
status=0
# The suite waits a lot (real SMTP servers, scheduler and sender processes, a browser):
# three workers (pytest-xdist) keep a 2-core machine busy. Each worker has its own
# PostgreSQL database and SQLite files; TEST_WORKERS=0 runs everything in one process.
.venv/bin/python -m pytest -n "${TEST_WORKERS:-3}" "$@" || status=$?
exit "$status"
