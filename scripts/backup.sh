#!/usr/bin/env bash
# A dated backup of the database into DIR, then backups there older than DAYS days (14)
# removed. For a systemd timer or cron (docs/deploy.md): the settings come from the
# environment (CAMPAIGN_*, e.g. /etc/campagnetool.env) or instance/config.py, as for
# every flask command. Restore one with: .venv/bin/flask --app wsgi backup restore FILE
set -euo pipefail
dir="${1:?usage: scripts/backup.sh DIR [DAYS]}"
days="${2:-14}"
cd "$(dirname "$0")/.."
umask 077
mkdir -p "$dir"
file="$dir/campagnetool-$(date -u +%Y%m%dT%H%M%SZ).backup"
.venv/bin/flask --app wsgi backup create "$file"
find "$dir" -maxdepth 1 -type f -name 'campagnetool-*.backup' -mtime "+$days" -print -delete
