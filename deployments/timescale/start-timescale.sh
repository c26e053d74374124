#!/usr/bin/env bash
# Start a local TimescaleDB server for tests, without docker.
#
# Debian 12 has no TimescaleDB package; Debian 13 (trixie) has postgresql-17-timescaledb (the
# Apache-licensed build). This script builds a minimal trixie chroot with it (debootstrap, once:
# ~40 s, ~700 MB), initdb's a cluster inside, and starts it on 127.0.0.1:$PORT with trust auth,
# shared_preload_libraries=timescaledb, a database `test` and the extension created in it.
# Idempotent: a second call finds the chroot and the running server and returns in well under a
# second. Needs root (debootstrap, chroot).
#
#   deployments/timescale/start-timescale.sh          # build if needed, start, print the URL
#   deployments/timescale/start-timescale.sh stop     # stop the server (the chroot is kept)
#   deployments/timescale/start-timescale.sh status   # exit 0 when the server answers
#
# Environment: WHEELFLOW_TIMESCALE_DIR (cache dir, default /var/tmp/wheelflow-timescale),
# WHEELFLOW_TIMESCALE_PORT (default 5433), WHEELFLOW_TIMESCALE_MIRROR (optional Debian mirror
# URL; debootstrap's default otherwise).
# Then: export WHEELFLOW_TEST_TIMESCALE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/test
set -euo pipefail

CACHE_DIR="${WHEELFLOW_TIMESCALE_DIR:-/var/tmp/wheelflow-timescale}"
PORT="${WHEELFLOW_TIMESCALE_PORT:-5433}"
MIRROR="${WHEELFLOW_TIMESCALE_MIRROR:-}"
PG_MAJOR=17
ROOT="$CACHE_DIR/root"
READY_MARK="$ROOT/.wheelflow-ready"
DATA_DIR=/var/lib/wheelflow-timescale/data # inside the chroot
LOG_FILE=/var/lib/wheelflow-timescale/server.log
BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/test"

log() { printf 'start-timescale: %s\n' "$*" >&2; }

as_postgres() {
    chroot --userspec=postgres:postgres "$ROOT" env -i HOME=/var/lib/postgresql \
        PATH="$BIN:/usr/bin:/bin" LC_ALL=C "$@"
}

psql_in() {
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"
}

server_answers() {
    [[ -f $READY_MARK ]] && as_postgres pg_isready -q -h 127.0.0.1 -p "$PORT" -U postgres
}

build_chroot() {
    [[ -f $READY_MARK ]] && return 0
    [[ $(id -u) -eq 0 ]] || { log "needs root to build the chroot"; exit 1; }
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        apt-get -o DPkg::Lock::Timeout=300 update -qq \
            && apt-get -o DPkg::Lock::Timeout=300 install -y -qq debootstrap >/dev/null
    fi
    local tmp="$CACHE_DIR/root.partial"
    rm -rf "$tmp"
    mkdir -p "$CACHE_DIR"
    log "building a Debian trixie chroot with postgresql-$PG_MAJOR-timescaledb in $ROOT (~40 s)"
    # shellcheck disable=SC2086  # MIRROR is empty or one URL
    debootstrap --variant=minbase \
        --include="postgresql-$PG_MAJOR,postgresql-$PG_MAJOR-timescaledb" \
        trixie "$tmp" $MIRROR >"$CACHE_DIR/debootstrap.log" 2>&1 || {
        log "debootstrap failed; see $CACHE_DIR/debootstrap.log"
        exit 1
    }
    rm -rf "$ROOT"
    mv "$tmp" "$ROOT"
    touch "$READY_MARK"
}

init_cluster() {
    [[ -f $ROOT$DATA_DIR/PG_VERSION ]] && return 0
    log "initdb in $ROOT$DATA_DIR"
    mkdir -p "$ROOT$DATA_DIR"
    chroot "$ROOT" chown -R postgres:postgres "$(dirname "$DATA_DIR")"
    as_postgres initdb -D "$DATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    cat >>"$ROOT$DATA_DIR/postgresql.conf" <<EOF
# wheelflow test server
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '/tmp'
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start_server() {
    if server_answers; then
        return 0
    fi
    log "starting the server on 127.0.0.1:$PORT"
    as_postgres pg_ctl -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 start >/dev/null || {
        log "server failed to start; last log lines:"
        tail -n 20 "$ROOT$LOG_FILE" >&2 || true
        exit 1
    }
}

create_database() {
    if [[ -z $(psql_in -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'") ]]; then
        psql_in -d postgres -c "CREATE DATABASE test"
    fi
    psql_in -d test -c "CREATE EXTENSION IF NOT EXISTS timescaledb" 2>/dev/null
}

case "${1:-start}" in
start)
    build_chroot
    init_cluster
    start_server
    create_database
    echo "$URL"
    ;;
stop)
    if server_answers; then
        as_postgres pg_ctl -D "$DATA_DIR" -m fast -w stop >/dev/null
        log "stopped"
    fi
    ;;
status)
    server_answers
    ;;
*)
    echo "usage: $0 [start|stop|status]" >&2
    exit 2
    ;;
esac
