#!/usr/bin/env bash
# A throwaway PostgreSQL server for deskbridge's tests.
#
#   scripts/pg-test-server.sh start    # create (if needed) and start; prints the URL
#   scripts/pg-test-server.sh url      # print the URL of the running server
#   scripts/pg-test-server.sh restart  # stop and start the same cluster (data kept)
#   scripts/pg-test-server.sh stop     # shut down and remove the cluster
#
# The cluster lives in $DESKBRIDGE_PG_TEST_DIR (default: target/pg-test of this checkout),
# listens on 127.0.0.1 only, on the first free port from $DESKBRIDGE_PG_TEST_PORT (default
# 55432), with trust authentication for loopback, except for the role `deskbridge_pw`
# (password `deskbridge-test-password`), which must authenticate with SCRAM so tests can
# exercise password handling. It has a database `deskbridge_test`.
#
# Uses Debian's PostgreSQL (installs the `postgresql` package with apt-get when no
# initdb/pg_ctl can be found). initdb refuses to run as root, so as root the cluster is
# owned by the `postgres` system user (created by the package). Every command is
# idempotent: `start` on a running cluster just prints its URL, `stop` on none is a no-op.
# Concurrent invocations on the same directory are serialised with flock.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cluster_dir="${DESKBRIDGE_PG_TEST_DIR:-$repo_root/target/pg-test}"
first_port="${DESKBRIDGE_PG_TEST_PORT:-55432}"
database="deskbridge_test"
superuser="deskbridge"
password_role="deskbridge_pw"
password="deskbridge-test-password"
data_dir="$cluster_dir/data"
port_file="$cluster_dir/port"
log_file="$cluster_dir/server.log"

die() {
    echo "pg-test-server: $*" >&2
    exit 1
}

find_pg_bin() {
    local candidate
    for candidate in /usr/lib/postgresql/*/bin; do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
            pg_bin="$candidate"
        fi
    done
    if [[ -z "${pg_bin:-}" ]] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        pg_bin="$(dirname "$(readlink -f "$(command -v initdb)")")"
    fi
}

ensure_postgres_installed() {
    pg_bin=""
    find_pg_bin
    if [[ -z "$pg_bin" ]]; then
        [[ "$(id -u)" == 0 ]] || die "PostgreSQL (initdb, pg_ctl) is not installed; install Debian's 'postgresql' package"
        echo "pg-test-server: installing PostgreSQL with apt-get" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2 \
            || die "apt-get install postgresql failed"
        find_pg_bin
        [[ -n "$pg_bin" ]] || die "PostgreSQL was installed but initdb/pg_ctl were not found"
    fi
}

# Run a PostgreSQL binary as the cluster's owner.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

url() {
    [[ -f "$port_file" ]] || die "no test cluster in $cluster_dir (run: $0 start)"
    echo "postgres://$superuser@127.0.0.1:$(cat "$port_file")/$database"
}

is_running() {
    [[ -f "$data_dir/postmaster.pid" ]] && as_owner "$pg_bin/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

start_server() {
    as_owner "$pg_bin/pg_ctl" -D "$data_dir" -l "$log_file" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$1 -c unix_socket_directories='' -c fsync=off -c max_connections=200" \
        start >/dev/null 9>&-
}

create_cluster() {
    rm -rf "$cluster_dir"
    mkdir -p "$cluster_dir"
    if [[ "$(id -u)" == 0 ]]; then
        id postgres >/dev/null 2>&1 || die "the 'postgres' system user is missing (reinstall the postgresql package)"
        chown postgres: "$cluster_dir"
    fi
    as_owner "$pg_bin/initdb" -D "$data_dir" -U "$superuser" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$cluster_dir/initdb.log" 2>&1 || die "initdb failed; see $cluster_dir/initdb.log"
    # Loopback only: SCRAM for the password test role, trust for everyone else.
    cat >"$data_dir/pg_hba.conf" <<EOF
host all $password_role 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
EOF
    local port="$first_port" attempt
    for attempt in $(seq 1 50); do
        if port_is_free "$port" && start_server "$port"; then
            echo "$port" >"$port_file"
            break
        fi
        port=$((port + 1))
    done
    [[ -f "$port_file" ]] || die "could not start PostgreSQL on any port from $first_port; see $log_file"
    as_owner "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres <<EOF >/dev/null \
        || die "could not create the test database"
CREATE DATABASE $database;
SET password_encryption = 'scram-sha-256';
CREATE ROLE $password_role LOGIN SUPERUSER PASSWORD '$password';
EOF
}

cmd_start() {
    ensure_postgres_installed
    if [[ -f "$port_file" && -d "$data_dir" ]]; then
        if ! is_running; then
            start_server "$(cat "$port_file")" || die "the existing cluster did not start; see $log_file (or run: $0 stop)"
        fi
    else
        create_cluster
    fi
    url
}

cmd_stop() {
    [[ -d "$cluster_dir" ]] || return 0
    ensure_postgres_installed
    if [[ -d "$data_dir" ]] && is_running; then
        as_owner "$pg_bin/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null
    fi
    rm -rf "$cluster_dir"
}

cmd_restart() {
    ensure_postgres_installed
    [[ -f "$port_file" ]] || die "no test cluster in $cluster_dir (run: $0 start)"
    if is_running; then
        as_owner "$pg_bin/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null
    fi
    start_server "$(cat "$port_file")" || die "the cluster did not restart; see $log_file"
    url
}

command="${1:-}"
case "$command" in
start | stop | restart | url) ;;
*) die "usage: $0 start|stop|restart|url" ;;
esac

# Serialise concurrent invocations (parallel test binaries) on the same cluster.
mkdir -p "$(dirname "$cluster_dir")"
exec 9>"$cluster_dir.lock"
flock 9

case "$command" in
start) cmd_start ;;
stop) cmd_stop ;;
restart) cmd_restart ;;
url) url ;;
esac
