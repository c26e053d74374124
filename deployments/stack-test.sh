#!/usr/bin/env bash
# The stack test: the docker-compose topology without containers (no registry is reachable
# here), from Debian packages and this checkout, on loopback only, with the very config files
# compose mounts; then checks it end to end and stops everything it started.
#
#   sudo deployments/stack-test.sh          # or: make stack-test   (root: apt-get, chroot)
#
# Started: TimescaleDB (deployments/timescale/start-timescale.sh, trixie chroot), Redis (the
# machine's, a database number of its own), the Prefect server (on PostgreSQL, Redis
# messaging), a Prefect worker on the `wheelflow` process pool with the deployments of
# deployments/prefect.yaml, the API, the metrics exporter, nginx (the gateway), Prometheus and
# Alertmanager. Loki/promtail and Grafana have no Debian package: Loki is left out, and
# Grafana's part is played by evaluating every provisioned dashboard query against Prometheus.
#
# Config files are used as compose mounts them, rendered by deployments/stack_check.py
# `render`: compose service names become 127.0.0.1 and ports of their own, in-container paths
# become files under the work directory, and Prometheus' intervals and the rules' `for:` are
# shortened (seconds, not minutes) so an induced failure alerts within the test.
#
# Checks (deployments/stack_check.py `check`): a pipeline deployment run triggered through
# Prefect completes; the gateway serves /rankings over TLS (and the Prefect UI only with basic
# auth); every Prometheus target is up; every dashboard query returns data; stopping the
# metrics exporter (the induced failure) fires WheelflowTargetDown into Alertmanager, which
# delivers it to the API's webhook (a wheelflow alert).
#
# Environment: STACK_DIR (work directory, default a new temporary one), STACK_PORT_BASE
# (default 27000: ports BASE+0..BASE+20), WHEELFLOW_TIMESCALE_PORT (default 5433).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STARTED=$(date +%s)
PY="${PYTHON:-$ROOT/.venv/bin/python}"
BIN="$(dirname "$PY")"
export STACK_DIR="${STACK_DIR:-$(mktemp -d /tmp/wheelflow-stack.XXXXXX)}"
export STACK_PORT_BASE="${STACK_PORT_BASE:-27000}"
TS_PORT="${WHEELFLOW_TIMESCALE_PORT:-5433}"
PIDS=()

log() { printf 'stack-test: %s\n' "$*" >&2; }

cleanup() {
    local code=$?
    log "stopping what this test started"
    for pid in "${PIDS[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
    done
    sleep 2
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    if [[ -f $STACK_DIR/nginx.pid ]]; then
        kill -QUIT "$(cat "$STACK_DIR/nginx.pid")" 2>/dev/null || true
    fi
    log "logs kept in $STACK_DIR; took $(($(date +%s) - STARTED)) s; exit $code"
}
trap cleanup EXIT

need() {
    local missing=()
    command -v prometheus >/dev/null || missing+=(prometheus)
    command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
    command -v nginx >/dev/null || missing+=(nginx)
    command -v redis-server >/dev/null || missing+=(redis-server)
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "installing ${missing[*]}"
        apt-get -o DPkg::Lock::Timeout=300 -y -qq update >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -qq \
            install "${missing[@]}" >/dev/null
    fi
}

start() { # name, command...: run in the background, log to STACK_DIR/name.log
    local name=$1
    shift
    "$@" >"$STACK_DIR/$name.log" 2>&1 &
    PIDS+=($!)
    log "started $name (pid $!)"
}

need
[[ -x $PY ]] || make install >/dev/null
redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || bash .ci/services.sh
log "TimescaleDB"
bash deployments/timescale/start-timescale.sh >/dev/null

# Rendered configs and the environment every wheelflow process shares.
"$PY" deployments/stack_check.py render
# shellcheck disable=SC1091
source "$STACK_DIR/env.sh"

"$BIN/wheelflow" db upgrade
start prefect-server "$BIN/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT"
start api "$BIN/wheelflow" api --host 127.0.0.1 --port "$API_PORT"
start metrics "$BIN/wheelflow" metrics serve --host 127.0.0.1 --port "$METRICS_PORT"
start alertmanager prometheus-alertmanager --config.file="$STACK_DIR/alertmanager.yml" \
    --storage.path="$STACK_DIR/alertmanager-data" --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" \
    --cluster.listen-address= --log.format=json
start prometheus prometheus --config.file="$STACK_DIR/prometheus.yml" \
    --storage.tsdb.path="$STACK_DIR/prometheus-data" --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --log.format=json
"$PY" deployments/nginx/gateway_init.py "$STACK_DIR/gateway" >/dev/null
chmod o+x "$STACK_DIR" "$STACK_DIR/gateway" # nginx workers (unprivileged) read the htpasswd
nginx -p "$STACK_DIR" -c "$STACK_DIR/nginx.conf" -g "pid $STACK_DIR/nginx.pid;"
log "started nginx"

"$PY" deployments/stack_check.py wait-prefect
# The worker's own start-up, as in compose (deployments/prefect-worker.sh), minus the poll loop
# that `start` runs so its pid is ours.
"$BIN/prefect" work-pool create wheelflow --type process --overwrite >/dev/null
"$BIN/prefect" --no-prompt deploy --all --prefect-file deployments/prefect.yaml >"$STACK_DIR/deploy.log" 2>&1
start prefect-worker "$BIN/prefect" worker start --pool wheelflow --type process --with-healthcheck

"$PY" deployments/stack_check.py check --metrics-pid "${PIDS[2]}"
log "stack test passed in $(($(date +%s) - STARTED)) s"
