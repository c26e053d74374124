#!/usr/bin/env bash
# The restore drill: take a backup now, restore it into a scratch database on the same server,
# compare every wheelflow table's row count with the live database, drop the scratch database.
# Exit 0 when every count matches. Run it monthly (and after changing the backup set-up):
#
#   docker compose exec prefect-worker /app/deployments/backup/restore-drill.sh
#   deployments/backup/restore-drill.sh                  # locally, WHEELFLOW_DATABASE_URL set
#   deployments/backup/restore-drill.sh path/to/dump     # drill with an existing backup
#
# A real restore is the same `wheelflow db restore DUMP --into URL` into a new database,
# then pointing WHEELFLOW_DATABASE_URL (or renaming the databases) at it: deployments/README.md.
set -euo pipefail

WHEELFLOW="${WHEELFLOW:-wheelflow}"
DIR="${WHEELFLOW_BACKUP_DIR:-${WHEELFLOW_DATA_DIR:-data}/backups}"

if [[ $# -ge 1 ]]; then
    dump="$1"
else
    "$WHEELFLOW" db backup --dir "$DIR" --keep-days "${WHEELFLOW_BACKUP_KEEP_DAYS:-14}"
    dump=""
fi
if [[ -n $dump ]]; then
    exec "$WHEELFLOW" db drill --dump "$dump"
fi
exec "$WHEELFLOW" db drill --dir "$DIR"
