#!/bin/sh
# The prefect-worker service: make sure the process work pool exists, register the flows of
# deployments/prefect.yaml, then poll the pool. Runs from /app (the flow sources live there).
set -eu

POOL="${WHEELFLOW_WORK_POOL:-wheelflow}"
PREFECT_FILE="${WHEELFLOW_PREFECT_FILE:-deployments/prefect.yaml}"

prefect work-pool create "$POOL" --type process --overwrite
if [ -f "$PREFECT_FILE" ]; then
    prefect --no-prompt deploy --all --prefect-file "$PREFECT_FILE"
else
    echo "prefect-worker: $PREFECT_FILE not found, no deployment registered" >&2
fi
# The worker ignores SIGTERM (compose sends SIGINT: stop_signal); its healthcheck server
# answers on PREFECT_WORKER_WEBSERVER_PORT (8080) /health.
exec prefect worker start --pool "$POOL" --type process --with-healthcheck
