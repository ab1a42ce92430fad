#!/usr/bin/env bash
# Development only, until the first release: rebuild migrations/versions/0001 from
# campaign/models.py.  After a release, add new revisions with `flask db migrate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/0001_initial_schema.py
export CAMPAIGN_SQLALCHEMY_DATABASE_URI="sqlite:///$tmp/empty.sqlite3"
.venv/bin/flask --app wsgi --debug db migrate --rev-id 0001 -m "initial schema" >/dev/null
.venv/bin/ruff format -q migrations/versions/0001_initial_schema.py 2>/dev/null || true
echo "migrations/versions/0001_initial_schema.py regenerated"
