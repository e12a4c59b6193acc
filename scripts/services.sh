#!/usr/bin/env bash
# services.sh - local PostgreSQL 15 + RabbitMQ 3.10 for development, tests and CI.
#
# Usage:
#   scripts/services.sh up      install missing Debian packages, start both services, print settings
#   scripts/services.sh down    stop only what this script started (our cluster, our node, our epmd)
#   scripts/services.sh status  print running/stopped with ports; exit 0 if both run, 3 otherwise
#   scripts/services.sh env     print `export` lines:  eval "$(scripts/services.sh env)"
#
# Everything listens on 127.0.0.1 only, on non-default ports, and all state lives in the git-ignored
# folder <repo>/.state/ (pg/ = cluster, data and log; rabbitmq/ = node, config, logs, cookie;
# services.env = the export lines). `rm -rf .state` after `down` resets everything.
# No systemd and no Docker needed: PostgreSQL runs as the `postgres` user via runuser (initdb refuses
# root), RabbitMQ runs from /usr/lib/rabbitmq/bin with its own HOME, Erlang cookie and epmd.
#
# Credentials (both services): healthscoring / healthscoring.
#   PostgreSQL databases healthscoring and healthscoring_test, owned by role healthscoring (CREATEDB).
#   RabbitMQ user healthscoring, tag administrator, full permissions on vhost "/".
#
# Environment overrides (values used by a successful `up` are remembered in .state/services.env and
# reused by later calls that do not set them):
#   HS_PG_PORT       PostgreSQL port                    (default 55432)
#   HS_MQ_PORT       RabbitMQ AMQP port                 (default 56720)
#   HS_MQ_MGMT_PORT  RabbitMQ management HTTP port      (default 56780)
#   HS_EPMD_PORT     Erlang port mapper (epmd) port     (default 54369)
#   HS_DIST_PORT     Erlang distribution port           (default 56721)
#   HS_PG_FAST=1     start PostgreSQL with fsync=off, synchronous_commit=off, full_page_writes=off
#                    (tests/CI only; not remembered; a running cluster is never restarted by `up`)
#
# Requires root (or sudo for apt-get when run as another user).
set -euo pipefail

readonly PROG="services.sh"
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
readonly SCRIPT_DIR REPO
readonly STATE="$REPO/.state"
readonly ENV_FILE="$STATE/services.env"

readonly APP_USER=healthscoring
readonly APP_PASS=healthscoring
readonly APP_DBS=(healthscoring healthscoring_test)
readonly HOST=127.0.0.1

readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly PG_DIR="$STATE/pg"
readonly PG_DATA="$PG_DIR/data"
readonly PG_LOG="$PG_DIR/log"

readonly MQ_BIN=/usr/lib/rabbitmq/bin
readonly MQ_DIR="$STATE/rabbitmq"
readonly MQ_HOME="$MQ_DIR/home"
readonly MQ_MNESIA="$MQ_DIR/mnesia"
readonly MQ_LOGDIR="$MQ_DIR/log"
readonly MQ_CONF="$MQ_DIR/rabbitmq.conf"
readonly MQ_PLUGINS="$MQ_DIR/enabled_plugins"
readonly MQ_PIDFILE="$MQ_DIR/rabbitmq.pid"
readonly EPMD_PIDFILE="$MQ_DIR/epmd.pid"
readonly MQ_NODENAME=hs@localhost
readonly MQ_LOG="$MQ_LOGDIR/$MQ_NODENAME.log"

# ---------------------------------------------------------------- helpers

say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}

now_ms() { date +%s%3N; }
elapsed() { # start_ms -> "1.23s"
  local ms=$(($(now_ms) - $1))
  printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10))
}

# Print the last lines of a log file to stderr (for failure messages).
show_log() {
  local file=$1 lines=${2:-30}
  if [[ -s $file ]]; then
    printf -- '--- last %s lines of %s ---\n' "$lines" "$file" >&2
    tail -n "$lines" -- "$file" >&2
    printf -- '---\n' >&2
  else
    printf '(log %s is empty or missing)\n' "$file" >&2
  fi
}

# Value of `export NAME=<digits>` remembered in services.env, if any.
saved_setting() {
  [[ -f $ENV_FILE ]] || return 0
  sed -n "s/^export $1=\([0-9][0-9]*\)\$/\1/p" "$ENV_FILE" | tail -n 1
}

# setting NAME DEFAULT: environment, else remembered value, else default.
setting() {
  local v=${!1:-}
  [[ -n $v ]] || v=$(saved_setting "$1")
  printf '%s' "${v:-$2}"
}

PG_PORT=$(setting HS_PG_PORT 55432)
MQ_PORT=$(setting HS_MQ_PORT 56720)
MQ_MGMT_PORT=$(setting HS_MQ_MGMT_PORT 56780)
EPMD_PORT=$(setting HS_EPMD_PORT 54369)
DIST_PORT=$(setting HS_DIST_PORT 56721)
PG_FAST=${HS_PG_FAST:-0}
readonly PG_PORT MQ_PORT MQ_MGMT_PORT EPMD_PORT DIST_PORT PG_FAST

validate_settings() {
  local name port seen=" " other
  for name in HS_PG_PORT:$PG_PORT HS_MQ_PORT:$MQ_PORT HS_MQ_MGMT_PORT:$MQ_MGMT_PORT \
    HS_EPMD_PORT:$EPMD_PORT HS_DIST_PORT:$DIST_PORT; do
    port=${name#*:}
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1024 || port > 65535)); then
      die "${name%%:*}=$port is not a port number between 1024 and 65535"
    fi
    if [[ $seen == *" $port="* ]]; then
      other=${seen#*" $port="}
      die "${name%%:*} and ${other%% *} are both $port; all five ports must differ"
    fi
    seen+="$port=${name%%:*} "
  done
  [[ $PG_FAST == 0 || $PG_FAST == 1 ]] || die "HS_PG_FAST must be 0 or 1 (got '$PG_FAST')"
}

is_root() { [[ $EUID -eq 0 ]]; }

# True if something accepts TCP connections on 127.0.0.1:port (also catches 0.0.0.0 listeners).
port_open() {
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# Best-effort description of who listens on a port.
port_owner() {
  local out=""
  if command -v ss >/dev/null 2>&1; then
    out=$(ss -Hltnp "( sport = :$1 )" 2>/dev/null | sed -n 's/.*users:((\(.*\)))$/\1/p' | head -n 1)
  fi
  printf '%s' "${out:-unknown process}"
}

require_free_port() { # port description
  if port_open "$1"; then
    die "port $1 ($2) is already in use by $(port_owner "$1") -- stop that process or choose another port (see the env overrides in $0)"
  fi
}

# Process exists and is not a zombie (orphaned daemons may linger as zombies until pid 1 reaps them).
pid_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ -n $stat && ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# shellcheck disable=SC2317 # called through wait_until
pid_gone() { ! pid_alive "$1"; }

# Process id alive and its command name is $2.
pid_is() {
  local pid=$1 comm=$2
  pid_alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]
}

wait_until() { # seconds command... : poll every 0.1 s
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@"; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- packages

APT_UPDATED=0
apt_run() {
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null 2>&1 || die "installing packages needs root (or sudo): run as root or install them yourself"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=900 "$@"
}

apt_update() {
  say "  apt-get update ..."
  apt_run update >>"$STATE/apt.log" 2>&1 || {
    show_log "$STATE/apt.log"
    die "apt-get update failed (full output in $STATE/apt.log)"
  }
  APT_UPDATED=1
}

has_candidate() {
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
  [[ -n $c && $c != "(none)" ]]
}

lists_fresh() { # package lists exist and are younger than a day
  [[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null) ]]
}

ensure_packages() {
  local missing=() p t
  [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/psql ]] || missing+=(postgresql)
  [[ -x $MQ_BIN/rabbitmq-server && -x $MQ_BIN/rabbitmqctl ]] || missing+=(rabbitmq-server)
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available: install them manually"
  t=$(now_ms)
  say "installing Debian package(s): ${missing[*]} (log: $STATE/apt.log)"
  local need_update=0
  lists_fresh || need_update=1
  for p in "${missing[@]}"; do has_candidate "$p" || need_update=1; done
  ((need_update == 0)) || apt_update
  if ! apt_run install -y --no-install-recommends "${missing[@]}" >>"$STATE/apt.log" 2>&1; then
    if ((APT_UPDATED == 0)); then
      apt_update
      apt_run install -y --no-install-recommends "${missing[@]}" >>"$STATE/apt.log" 2>&1 || {
        show_log "$STATE/apt.log"
        die "apt-get install ${missing[*]} failed (full output in $STATE/apt.log)"
      }
    else
      show_log "$STATE/apt.log"
      die "apt-get install ${missing[*]} failed (full output in $STATE/apt.log)"
    fi
  fi
  for p in "${missing[@]}"; do
    say "  installed $p $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)"
  done
  say "  packages ready in $(elapsed "$t")"
  [[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 binaries not found in $PG_BIN after installing 'postgresql'"
  [[ -x $MQ_BIN/rabbitmq-server ]] || die "RabbitMQ scripts not found in $MQ_BIN after installing 'rabbitmq-server'"
}

# ---------------------------------------------------------------- PostgreSQL

# Run a command as the cluster owner (postgres when we are root, else ourselves), from /.
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@" 9>&-)
  else
    (cd / && "$@" 9>&-)
  fi
}

# Unix socket directory (used only for local admin): inside .state unless the path would exceed
# the ~107 byte socket path limit, then a per-repo directory under /tmp.
pg_sockdir() {
  local d="$PG_DIR/run"
  if ((${#d} + 24 > 100)); then
    d="/tmp/hs-pg-$(printf '%s' "$STATE" | cksum | cut -d ' ' -f 1)"
  fi
  printf '%s' "$d"
}

pg_pid() { # pid of our running postmaster, or fail
  local pid
  [[ -r $PG_DATA/postmaster.pid ]] || return 1
  pid=$(head -n 1 "$PG_DATA/postmaster.pid")
  pid_is "$pid" postgres || return 1
  printf '%s' "$pid"
}

pg_running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null; }

pg_running_fast() { grep -q 'fsync=off' "$PG_DATA/postmaster.opts" 2>/dev/null; }

# Make sure the cluster owner can reach $PG_DIR (the repo may sit below directories without o+x).
pg_ensure_access() {
  is_root || return 0
  if [[ $(stat -c %U "$PG_DIR") != postgres ]] || { [[ -e $PG_DATA ]] && [[ $(stat -c %U "$PG_DATA") != postgres ]]; }; then
    chown -R postgres:postgres "$PG_DIR"
  fi
  chmod 0700 "$PG_DIR"
  as_pg test -w "$PG_DIR" && return 0
  local path="" comp
  local -a comps
  IFS=/ read -r -a comps <<<"${STATE#/}"
  for comp in "${comps[@]}"; do
    path+="/$comp"
    if ! as_pg test -x "$path"; then
      chmod o+x "$path"
      say "  chmod o+x $path (so the postgres user can reach $PG_DIR)"
    fi
  done
  as_pg test -w "$PG_DIR" || die "the postgres user cannot write to $PG_DIR (check permissions/ACLs of its parent directories)"
}

pg_psql_admin() { # psql as the cluster superuser over our socket
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sockdir)" -p "$PG_PORT" -d postgres
}

pg_app_query() { # psql as the app user over TCP
  PGPASSWORD=$APP_PASS PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -qAt \
    "host=$HOST port=$PG_PORT user=$APP_USER dbname=${APP_DBS[0]}" "$@"
}

# Role can log in with its password, has CREATEDB and owns both databases.
pg_app_ok() {
  local n
  n=$(pg_app_query -c "SELECT count(*) FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
        WHERE r.rolname = '$APP_USER' AND r.rolcreatedb
          AND d.datname IN ('${APP_DBS[0]}', '${APP_DBS[1]}')" 2>/dev/null) || return 1
  [[ $n == 2 ]]
}

pg_provision() {
  pg_psql_admin <<SQL || die "could not create role/databases in PostgreSQL (log: $PG_LOG)"
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_USER') THEN
    CREATE ROLE $APP_USER LOGIN CREATEDB PASSWORD '$APP_PASS';
  ELSE
    ALTER ROLE $APP_USER LOGIN CREATEDB PASSWORD '$APP_PASS';
  END IF;
END
\$\$;
SELECT format('CREATE DATABASE %I OWNER %I', d, '$APP_USER')
  FROM unnest(ARRAY['${APP_DBS[0]}', '${APP_DBS[1]}']) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', d, '$APP_USER')
  FROM unnest(ARRAY['${APP_DBS[0]}', '${APP_DBS[1]}']) AS d
\gexec
SQL
}

pg_init() {
  local t out
  t=$(now_ms)
  if [[ -d $PG_DATA && ! -f $PG_DATA/PG_VERSION ]]; then
    warn "removing incomplete data directory $PG_DATA (no PG_VERSION: an earlier initdb was interrupted)"
    rm -rf -- "$PG_DATA"
  fi
  out="$PG_DIR/initdb.log"
  if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$out" 2>&1; then
    show_log "$out"
    rm -rf -- "$PG_DATA"
    die "initdb failed for $PG_DATA"
  fi
  say "PostgreSQL: initialised cluster in $PG_DATA ($(elapsed "$t"))"
}

pg_start() {
  local sock opts t
  t=$(now_ms)
  sock=$(pg_sockdir)
  [[ $sock != *"'"* ]] || die "socket directory path must not contain a single quote: $sock"
  mkdir -p -- "$sock"
  if is_root; then chown postgres:postgres "$sock"; fi
  chmod 0700 "$sock"
  opts="-p $PG_PORT -c listen_addresses=$HOST -k '$sock' -c max_connections=200"
  if [[ $PG_FAST == 1 ]]; then
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -l "$PG_LOG" -o "$opts" start >"$PG_DIR/pg_ctl.out" 2>&1; then
    cat "$PG_DIR/pg_ctl.out" >&2
    show_log "$PG_LOG"
    die "PostgreSQL failed to start on port $PG_PORT (log: $PG_LOG)"
  fi
  say "PostgreSQL: started on $HOST:$PG_PORT ($([[ $PG_FAST == 1 ]] && echo 'fast mode: fsync off' || echo 'durable'); $(elapsed "$t"))"
}

pg_up() {
  local pid port
  if pid=$(pg_pid); then
    port=$(pg_running_port)
    [[ $port == "$PG_PORT" ]] ||
      die "our PostgreSQL cluster is already running on port $port, not $PG_PORT: run '$0 down' first to change the port"
    if [[ $PG_FAST == 1 ]] && ! pg_running_fast; then
      say "PostgreSQL: note: already running in durable mode; HS_PG_FAST=1 ignored (run down/up to switch)"
    elif [[ $PG_FAST == 0 ]] && pg_running_fast; then
      say "PostgreSQL: note: already running in fast mode (fsync off); not restarted"
    fi
    if pg_app_ok; then
      say "PostgreSQL: already running (pid $pid)"
      return 0
    fi
    pg_provision
  else
    require_free_port "$PG_PORT" "PostgreSQL, HS_PG_PORT"
    mkdir -p -- "$PG_DIR"
    pg_ensure_access
    [[ -f $PG_DATA/PG_VERSION ]] || pg_init
    pg_start
    pg_provision
  fi
  wait_until 10 pg_app_ok || {
    show_log "$PG_LOG"
    die "PostgreSQL is running but '$APP_USER' cannot query ${APP_DBS[0]} over TCP on $HOST:$PG_PORT"
  }
}

pg_down() {
  local pid
  if pid=$(pg_pid); then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>"$PG_DIR/pg_ctl.out" || {
      cat "$PG_DIR/pg_ctl.out" >&2
      show_log "$PG_LOG"
      die "pg_ctl stop failed for $PG_DATA"
    }
    # The /tmp fallback socket directory (long repo paths) is ours alone: tidy it.
    [[ $(pg_sockdir) != /tmp/hs-pg-* ]] || rmdir -- "$(pg_sockdir)" 2>/dev/null || true
    say "PostgreSQL: stopped (pid $pid)"
  else
    say "PostgreSQL: not running"
  fi
}

# ---------------------------------------------------------------- RabbitMQ

# Run one of the real RabbitMQ scripts with our isolated environment.
mq() {
  local cmd=$1
  shift
  (cd "$MQ_DIR" && env \
    HOME="$MQ_HOME" \
    RABBITMQ_NODENAME="$MQ_NODENAME" \
    RABBITMQ_NODE_IP_ADDRESS="$HOST" \
    RABBITMQ_NODE_PORT="$MQ_PORT" \
    RABBITMQ_DIST_PORT="$DIST_PORT" \
    ERL_EPMD_ADDRESS="$HOST" \
    ERL_EPMD_PORT="$EPMD_PORT" \
    RABBITMQ_MNESIA_BASE="$MQ_MNESIA" \
    RABBITMQ_LOG_BASE="$MQ_LOGDIR" \
    RABBITMQ_CONFIG_FILE="$MQ_CONF" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$MQ_DIR/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$MQ_DIR/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$MQ_PLUGINS" \
    RABBITMQ_PID_FILE="$MQ_PIDFILE" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_CTL_ERL_ARGS="-dist_listen false" \
    ERL_CRASH_DUMP="$MQ_DIR/erl_crash.dump" \
    "$MQ_BIN/$cmd" "$@" 9>&-)
}

mq_pid() { # pid of our running node, or fail
  local pid
  [[ -r $MQ_PIDFILE ]] || return 1
  pid=$(head -n 1 "$MQ_PIDFILE")
  pid_is "$pid" beam.smp || return 1
  # Guard against pid reuse: the node must have been started with our mnesia base.
  local environ
  environ=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || return 1
  # Compared as real paths: the same .state may be reached through a symlink (a git worktree sharing it).
  local base
  base=$(sed -n 's/^RABBITMQ_MNESIA_BASE=//p' <<<"$environ" | head -n 1)
  [[ -n $base && $(realpath -m "$base") == "$(realpath -m "$MQ_MNESIA")" ]] || return 1
  printf '%s' "$pid"
}

epmd_pid() { # pid of the epmd we started, or fail
  local pid
  [[ -r $EPMD_PIDFILE ]] || return 1
  pid=$(head -n 1 "$EPMD_PIDFILE")
  pid_is "$pid" epmd || return 1
  printf '%s' "$pid"
}

# Speak AMQP 0-9-1: send the protocol header, expect a method frame (Connection.Start) back.
# (Used once after start only: each probe leaves a "client unexpectedly closed" warning in the log.)
# shellcheck disable=SC2317 # called through wait_until
mq_amqp_ok() {
  local first
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  first=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "AMQP\x00\x00\x09\x01" >&3
    head -c 1 <&3 | od -An -tx1' "$HOST" "$MQ_PORT" 2>/dev/null) || return 1
  [[ ${first// /} == 01 ]]
}

# shellcheck disable=SC2317 # called through wait_until
mq_mgmt_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 5 -o /dev/null -u "$APP_USER:$APP_PASS" "http://$HOST:$MQ_MGMT_PORT/api/overview" 2>/dev/null
  else
    port_open "$MQ_MGMT_PORT"
  fi
}

# User exists with our password, is administrator and has full permissions on "/".
mq_user_ok() {
  command -v curl >/dev/null 2>&1 || return 1 # no cheap check without curl: (re)provision
  local api="http://$HOST:$MQ_MGMT_PORT/api" who perms
  who=$(curl -fsS -m 5 -u "$APP_USER:$APP_PASS" "$api/whoami" 2>/dev/null) || return 1
  [[ $who == *administrator* ]] || return 1
  perms=$(curl -fsS -m 5 -u "$APP_USER:$APP_PASS" "$api/permissions/%2F/$APP_USER" 2>/dev/null) || return 1
  [[ $perms == *'"configure":".*"'* && $perms == *'"write":".*"'* && $perms == *'"read":".*"'* ]]
}

mq_ctl() { # rabbitmqctl against our node, output kept in ctl.out
  mq rabbitmqctl -n "$MQ_NODENAME" "$@" >"$MQ_DIR/ctl.out" 2>&1 || {
    cat "$MQ_DIR/ctl.out" >&2
    return 1
  }
}

mq_provision() {
  local users
  users=$(mq rabbitmqctl -n "$MQ_NODENAME" -q list_users 2>/dev/null | awk '{print $1}') || true
  if [[ $'\n'$users$'\n' == *$'\n'"$APP_USER"$'\n'* ]]; then
    mq_ctl change_password "$APP_USER" "$APP_PASS" || die "rabbitmqctl change_password failed"
  else
    mq_ctl add_user "$APP_USER" "$APP_PASS" || die "rabbitmqctl add_user failed"
  fi
  mq_ctl set_user_tags "$APP_USER" administrator || die "rabbitmqctl set_user_tags failed"
  mq_ctl set_permissions -p / "$APP_USER" '.*' '.*' '.*' || die "rabbitmqctl set_permissions failed"
  say "RabbitMQ: ensured user $APP_USER (administrator, full permissions on /)"
}

mq_write_config() {
  mkdir -p -- "$MQ_HOME" "$MQ_MNESIA" "$MQ_LOGDIR"
  chmod 0700 "$MQ_DIR" "$MQ_HOME"
  if [[ ! -s $MQ_HOME/.erlang.cookie ]]; then
    # Server and CLI share this cookie through HOME.
    (umask 077 && od -An -N20 -tx1 /dev/urandom | tr -dc '0-9a-f' | tr 'a-f' 'A-F' >"$MQ_HOME/.erlang.cookie")
  fi
  chmod 0400 "$MQ_HOME/.erlang.cookie"
  : >"$MQ_DIR/rabbitmq-env.conf" # keeps /etc/rabbitmq/rabbitmq-env.conf out of the picture
  cat >"$MQ_CONF" <<EOF
# Generated by scripts/services.sh -- rewritten on every start.
listeners.tcp.default = $HOST:$MQ_PORT
management.tcp.ip = $HOST
management.tcp.port = $MQ_MGMT_PORT
loopback_users = none
# First boot of an empty node creates our user instead of guest.
default_vhost = /
default_user = $APP_USER
default_pass = $APP_PASS
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
EOF
  printf '[rabbitmq_management].\n' >"$MQ_PLUGINS"
}

epmd_bin() {
  local b
  b=$(command -v epmd 2>/dev/null || true)
  if [[ -z $b ]]; then
    b=$(find /usr/lib/erlang -maxdepth 3 -path '*/bin/epmd' -type f -print -quit 2>/dev/null)
  fi
  [[ -n $b && -x $b ]] || die "epmd not found (is erlang-base installed?)"
  printf '%s' "$b"
}

# Start our own epmd on EPMD_PORT (loopback only) unless it already runs; record its PID.
mq_ensure_epmd() {
  local pid bin
  if pid=$(epmd_pid) && port_open "$EPMD_PORT"; then
    return 0
  fi
  rm -f -- "$EPMD_PIDFILE"
  if port_open "$EPMD_PORT"; then
    die "port $EPMD_PORT (epmd, HS_EPMD_PORT) is already in use by $(port_owner "$EPMD_PORT"), which this script did not start -- choose another HS_EPMD_PORT"
  fi
  bin=$(epmd_bin)
  # setsid: epmd must survive the caller's process group (CI steps, Ctrl-C).
  setsid "$bin" -address "$HOST" -port "$EPMD_PORT" </dev/null >"$MQ_DIR/epmd.out" 2>&1 9>&- &
  pid=$!
  if ! wait_until 10 port_open "$EPMD_PORT"; then
    cat "$MQ_DIR/epmd.out" >&2 || true
    die "epmd did not start listening on $HOST:$EPMD_PORT"
  fi
  pid_is "$pid" epmd || die "epmd started but its pid ($pid) could not be confirmed"
  printf '%s\n' "$pid" >"$EPMD_PIDFILE"
}

mq_start() {
  local t pid
  t=$(now_ms)
  require_free_port "$MQ_PORT" "RabbitMQ AMQP, HS_MQ_PORT"
  require_free_port "$MQ_MGMT_PORT" "RabbitMQ management, HS_MQ_MGMT_PORT"
  require_free_port "$DIST_PORT" "Erlang distribution, HS_DIST_PORT"
  mq_write_config
  mq_ensure_epmd
  rm -f -- "$MQ_PIDFILE"
  if ! mq rabbitmq-server -detached >"$MQ_DIR/start.out" 2>&1; then
    cat "$MQ_DIR/start.out" >&2
    show_log "$MQ_LOG"
    die "rabbitmq-server -detached failed"
  fi
  if ! mq_ctl --timeout 60 wait "$MQ_PIDFILE"; then
    show_log "$MQ_LOG" 40
    [[ ! -f $MQ_DIR/erl_crash.dump ]] || warn "Erlang crash dump: $MQ_DIR/erl_crash.dump"
    if pid=$(mq_pid); then kill "$pid" 2>/dev/null || true; fi
    die "RabbitMQ node $MQ_NODENAME did not become ready (log: $MQ_LOG)"
  fi
  wait_until 30 mq_amqp_ok || {
    show_log "$MQ_LOG"
    die "RabbitMQ is up but does not answer AMQP on $HOST:$MQ_PORT"
  }
  say "RabbitMQ: started node $MQ_NODENAME on $HOST:$MQ_PORT ($(elapsed "$t"))"
}

mq_up() {
  local pid
  if pid=$(mq_pid); then
    port_open "$MQ_PORT" || die "our RabbitMQ node (pid $pid) runs but does not listen on $HOST:$MQ_PORT -- if you changed HS_MQ_PORT, run '$0 down' first; log: $MQ_LOG"
    if mq_user_ok; then
      say "RabbitMQ: already running (pid $pid)"
      return 0
    fi
  else
    mq_start
  fi
  wait_until 30 mq_mgmt_ok || {
    show_log "$MQ_LOG"
    die "RabbitMQ management API does not answer on http://$HOST:$MQ_MGMT_PORT"
  }
  mq_user_ok || mq_provision
}

mq_down() {
  local pid
  if pid=$(mq_pid); then
    if ! mq_ctl --timeout 60 stop "$MQ_PIDFILE"; then
      warn "rabbitmqctl stop failed; sending SIGTERM to pid $pid"
      kill -TERM "$pid" 2>/dev/null || true
      if ! wait_until 30 pid_gone "$pid"; then
        warn "node still running; sending SIGKILL to pid $pid"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    say "RabbitMQ: stopped node $MQ_NODENAME (pid $pid)"
  else
    say "RabbitMQ: not running"
  fi
  rm -f -- "$MQ_PIDFILE"
  if pid=$(epmd_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    wait_until 5 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    say "epmd: stopped (pid $pid, port $EPMD_PORT)"
  fi
  rm -f -- "$EPMD_PIDFILE"
}

# ---------------------------------------------------------------- settings output

pg_conn() { printf 'Host=%s;Port=%s;Username=%s;Password=%s;Database=%s' "$HOST" "$PG_PORT" "$APP_USER" "$APP_PASS" "$1"; }

env_lines() {
  cat <<EOF
export HS_PG_PORT=$PG_PORT
export HS_MQ_PORT=$MQ_PORT
export HS_MQ_MGMT_PORT=$MQ_MGMT_PORT
export HS_EPMD_PORT=$EPMD_PORT
export HS_DIST_PORT=$DIST_PORT
export HS_PG_CONNECTION='$(pg_conn "${APP_DBS[0]}")'
export HS_PG_TEST_CONNECTION='$(pg_conn "${APP_DBS[1]}")'
export HS_AMQP_URL='amqp://$APP_USER:$APP_PASS@$HOST:$MQ_PORT/'
export ConnectionStrings__EventStore='$(pg_conn "${APP_DBS[0]}")'
export RabbitMq__Host=$HOST
export RabbitMq__Port=$MQ_PORT
export RabbitMq__Username=$APP_USER
export RabbitMq__Password=$APP_PASS
export RabbitMq__ManagementPort=$MQ_MGMT_PORT
EOF
}

write_env_file() {
  {
    # shellcheck disable=SC2016 # literal text
    printf '# Generated by scripts/services.sh up -- source it or: eval "$(scripts/services.sh env)"\n'
    env_lines
  } >"$ENV_FILE.tmp"
  mv -f -- "$ENV_FILE.tmp" "$ENV_FILE"
}

print_settings() {
  say "PostgreSQL  $(pg_conn "${APP_DBS[0]}")   (tests: Database=${APP_DBS[1]})"
  say "RabbitMQ    amqp://$APP_USER:$APP_PASS@$HOST:$MQ_PORT/  (management http://$HOST:$MQ_MGMT_PORT)"
  say "Env         $ENV_FILE   (or: eval \"\$(scripts/services.sh env)\")"
}

# ---------------------------------------------------------------- commands

ensure_state_dir() {
  if [[ ! -d $STATE ]]; then
    mkdir -p -- "$STATE"
    chmod 0755 "$STATE"
  fi
  if [[ -f $REPO/.gitignore ]] && ! grep -qxE '/?\.state/?' "$REPO/.gitignore"; then
    warn "note: add '.state/' to $REPO/.gitignore"
  fi
}

# Serialise up/down per state dir. fd 9 is closed for every child (see as_pg, mq, epmd) so that
# long-running daemons never inherit -- and keep holding -- the lock.
lock_state() {
  exec 9>>"$STATE/services.lock"
  flock -w 900 9 || die "another '$PROG' is running on $STATE (waited 15 minutes)"
}

# Fail before starting anything if a port needed by a stopped service is taken.
preflight_ports() {
  if ! pg_pid >/dev/null; then
    require_free_port "$PG_PORT" "PostgreSQL, HS_PG_PORT"
  fi
  if ! mq_pid >/dev/null; then
    require_free_port "$MQ_PORT" "RabbitMQ AMQP, HS_MQ_PORT"
    require_free_port "$MQ_MGMT_PORT" "RabbitMQ management, HS_MQ_MGMT_PORT"
    require_free_port "$DIST_PORT" "Erlang distribution, HS_DIST_PORT"
    if ! epmd_pid >/dev/null; then
      require_free_port "$EPMD_PORT" "epmd, HS_EPMD_PORT"
    fi
  fi
}

cmd_up() {
  local t
  t=$(now_ms)
  ensure_state_dir
  lock_state
  ensure_packages
  preflight_ports
  pg_up
  mq_up
  write_env_file
  say "services up in $(elapsed "$t")"
  print_settings
}

cmd_down() {
  if [[ ! -d $STATE ]]; then
    say "nothing to stop ($STATE does not exist)"
    return 0
  fi
  lock_state
  pg_down
  mq_down
}

cmd_status() {
  local pid rc=0 mode
  if pid=$(pg_pid); then
    mode=durable
    pg_running_fast && mode="fast: fsync off"
    if "$PG_BIN/pg_isready" -q -h "$HOST" -p "$(pg_running_port)" -t 3; then
      say "PostgreSQL  running   port $(pg_running_port)  (pid $pid, $mode)  data $PG_DATA"
    else
      say "PostgreSQL  running, NOT accepting connections  port $(pg_running_port)  (pid $pid)  log $PG_LOG"
      rc=3
    fi
  else
    say "PostgreSQL  stopped   port $PG_PORT"
    rc=3
  fi
  if pid=$(mq_pid); then
    if port_open "$MQ_PORT"; then
      say "RabbitMQ    running   amqp $MQ_PORT, management $MQ_MGMT_PORT, epmd $EPMD_PORT, dist $DIST_PORT  (pid $pid, node $MQ_NODENAME)"
    else
      say "RabbitMQ    running, NOT listening on port $MQ_PORT  (pid $pid)  log $MQ_LOG"
      rc=3
    fi
  else
    say "RabbitMQ    stopped   amqp $MQ_PORT, management $MQ_MGMT_PORT, epmd $EPMD_PORT, dist $DIST_PORT"
    rc=3
  fi
  return "$rc"
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

main() {
  validate_settings
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) env_lines ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"; exit
