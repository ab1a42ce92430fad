#!/usr/bin/env bash
# Set up and start the app on the embedded defaults: SQLite in instance/, mails as .eml files
# in instance/outbox/, the example campaign and a demo coordinator loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
export -f apt_install
scripts/setup-venv.sh
mkdir -p instance
if [ ! -f instance/config.py ]; then
  secret=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
  printf '# Written by make run on first start. Keep this file private.\nSECRET_KEY = "%s"\n' \
    "$secret" > instance/config.py
  echo "Wrote instance/config.py with a new random SECRET_KEY."
fi
host=${HOST:-127.0.0.1}
port=${PORT:-5000}
export FLASK_APP=wsgi CAMPAIGN_BASE_URL="${CAMPAIGN_BASE_URL:-http://$host:$port}"
.venv/bin/flask db upgrade
.venv/bin/flask demo
echo
echo "  Campagnetool draait op http://$host:$port/dashboard/"
echo "  Demo-login: demo@example.org / demo-wachtwoord-2026"
echo "  (Ctrl+C stopt de server)"
echo
# The scheduler (scheduled jobs and the mail sender) runs beside the web server, which
# only queues mail, and stops with it.
.venv/bin/flask scheduler run &
scheduler=$!
trap 'kill -TERM "$scheduler" 2>/dev/null; wait "$scheduler" 2>/dev/null || true' EXIT
.venv/bin/flask run --host "$host" --port "$port"
