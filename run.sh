#!/usr/bin/env bash
# The main job: build, make sure PostgreSQL answers where pooler.yaml points (starting a throwaway
# cluster under ./.run/pg when nothing does), then run the pooler and the reference backend in front
# of it until Ctrl-C. Everything this script started is stopped and removed on exit.
#
#   ./run.sh                       # APP_DB_PASSWORD is generated when unset
#   APP_DB_PASSWORD=secret ./run.sh
#
# Environment: APP_DB_PASSWORD (password of role `app`), POOLER_CONFIG (default pooler.yaml),
# BACKEND_URL (default http://127.0.0.1:8080).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD
CONFIG=${POOLER_CONFIG:-pooler.yaml}
RUN_DIR=$ROOT/.run
PG_DIR=$RUN_DIR/pg
BACKEND_URL=${BACKEND_URL:-http://127.0.0.1:8080}
APP_DB=app
APP_USER=app
POOLER_DLL=src/Pooler/bin/Release/net10.0/Tuki.Pool.Pooler.dll
BACKEND_DLL=src/Backend/bin/Release/net10.0/Tuki.Pool.Backend.dll

if [[ -t 2 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
say() { printf '%srun.sh:%s %s\n' "$BOLD" "$PLAIN" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- file descriptors: one per client and per server connection ------------------------------
raise_nofile() {
  local hard
  hard=$(ulimit -Hn)
  if [[ $hard != unlimited && $hard -lt 1048576 ]]; then
    ulimit -Hn 1048576 2>/dev/null || ulimit -Hn 65536 2>/dev/null || true   # only root may raise the hard limit
    hard=$(ulimit -Hn)
  fi
  ulimit -Sn "$hard" 2>/dev/null || ulimit -Sn 1048576 2>/dev/null || ulimit -Sn 65536 2>/dev/null || true
}
raise_nofile

# ---- cleanup: stop exactly what we started, in reverse order ---------------------------------
POOLER_PID=
BACKEND_PID=
STARTED_CLUSTER=
PG_BIN=
AS_POSTGRES=()
cleaned=
# shellcheck disable=SC2317  # reached through the traps below
cleanup() {
  local status=$?
  [[ -n $cleaned ]] && return
  cleaned=1
  trap - INT TERM
  local pid
  for pid in $BACKEND_PID $POOLER_PID; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $BACKEND_PID $POOLER_PID; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done   # 10 s to drain
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $STARTED_CLUSTER ]]; then
    say "stopping the throwaway PostgreSQL cluster"
    "${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 ||
      "${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- pooler.yaml: where PostgreSQL is expected -----------------------------------------------
# yaml_get SECTION KEY: first `KEY: value` inside top-level SECTION, block or flow style. Enough for
# the example file; the pooler itself does the real parsing.
yaml_get() {
  [[ -f $CONFIG ]] || return 0
  awk -v section="$1" -v key="$2" '
    /^[A-Za-z_][A-Za-z0-9_]*:/ { current = substr($0, 1, index($0, ":") - 1) }
    current == section {
      line = $0; sub(/#.*/, "", line)
      if (match(line, "(^|[{ ,])" key ":[ ]*[^ ,}]+")) {
        value = substr(line, RSTART, RLENGTH); sub(/^[{ ,]*[^:]*:[ ]*/, "", value)
        gsub(/["\047]/, "", value); print value; exit
      }
    }' "$CONFIG"
}
[[ -f $CONFIG ]] || say "warning: $CONFIG not found; assuming PostgreSQL at 127.0.0.1:5432 and the pooler on 6432"
PG_HOST=$(yaml_get databases host); PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=$(yaml_get databases port); PG_PORT=${PG_PORT:-5432}
POOLER_PORT=$(yaml_get listen port); POOLER_PORT=${POOLER_PORT:-6432}
[[ $PG_PORT =~ ^[0-9]+$ ]] || die "databases.*.port in $CONFIG is '$PG_PORT'; run.sh needs a number"
[[ $POOLER_PORT =~ ^[0-9]+$ ]] || die "listen.port in $CONFIG is '$POOLER_PORT'; run.sh needs a number"

if [[ -z ${APP_DB_PASSWORD:-} ]]; then
  APP_DB_PASSWORD=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24 || true)
  PASSWORD_GENERATED=1
else
  PASSWORD_GENERATED=
fi
export APP_DB_PASSWORD

# ---- build ------------------------------------------------------------------------------------
command -v dotnet >/dev/null || die "the .NET 10 SDK is required (https://dot.net)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
say "building (Release)"
# --disable-build-servers: no MSBuild/compiler server outlives the script (or holds its stdout open).
dotnet build src/Pooler/Pooler.csproj -c Release --nologo -v quiet -clp:NoSummary --disable-build-servers
dotnet build src/Backend/Backend.csproj -c Release --nologo -v quiet -clp:NoSummary --disable-build-servers

# ---- PostgreSQL -------------------------------------------------------------------------------
find_pg_bin() {
  local dir
  if command -v pg_config >/dev/null; then
    dir=$(pg_config --bindir 2>/dev/null || true)
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] && { echo "$dir"; return; }
  fi
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5,5 -rn); do   # newest major first
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] && { echo "$dir"; return; }
  done
  if command -v initdb >/dev/null; then
    dir=$(dirname "$(readlink -f "$(command -v initdb)")")
    [[ -x $dir/pg_ctl ]] && { echo "$dir"; return; }
  fi
  return 0
}

pg_answers() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/$PG_HOST/$PG_PORT" 2>/dev/null
  fi
}

# Debian's package starts its own cluster 15/main on 5432 when installed; that one would hold our port.
stop_package_clusters() {
  command -v pg_lsclusters >/dev/null || return 0
  local version name port status _
  while read -r version name port status _; do
    if [[ $status == online* && $port == "$PG_PORT" ]]; then
      say "stopping cluster $version/$name that the package install started on port $port (pg_ctlcluster $version $name start brings it back)"
      "${SUDO[@]}" pg_ctlcluster "$version" "$name" stop || true
    fi
  done < <(pg_lsclusters -h 2>/dev/null)
}

SUDO=()
install_postgres() {
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "PostgreSQL is not installed and this is not root: install postgresql and postgresql-client, or point $CONFIG at a running server"
    SUDO=(sudo)
  fi
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is missing: install PostgreSQL server binaries (initdb, pg_ctl) yourself"
  say "installing Debian's postgresql and postgresql-client"
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgresql-client </dev/null
  stop_package_clusters
}

start_cluster() {
  case $PG_HOST in
    127.0.0.1|localhost|::1) ;;
    *) die "nothing answers at $PG_HOST:$PG_PORT, and run.sh only starts PostgreSQL on this machine (127.0.0.1)";;
  esac
  PG_BIN=$(find_pg_bin)
  if [[ -z $PG_BIN ]]; then
    install_postgres
    PG_BIN=$(find_pg_bin)
    [[ -n $PG_BIN ]] || die "PostgreSQL was installed but initdb/pg_ctl were not found"
    if pg_answers; then return; fi
  fi

  # initdb refuses root: run the server as the postgres OS user then, from a directory it can reach.
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' OS user to run PostgreSQL as"
    AS_POSTGRES=(runuser -u postgres --)
    command -v runuser >/dev/null || AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups)
    if ! "${AS_POSTGRES[@]}" test -x "$ROOT" 2>/dev/null; then
      die "user postgres cannot reach $ROOT; move the checkout somewhere world-readable (e.g. /srv) or run as a normal user"
    fi
  fi

  # A stale cluster from an earlier run that was killed with -9: stop it before reusing the directory.
  if [[ -f $PG_DIR/data/postmaster.pid ]]; then
    "${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR/sock"
  chmod 700 "$PG_DIR"

  local superuser_password
  superuser_password=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24 || true)
  printf '%s\n' "$superuser_password" >"$PG_DIR/superuser.pw"
  # psql below connects over TCP as the superuser; the password comes from this file, not argv.
  printf '%s:%s:*:postgres:%s\n' 127.0.0.1 "$PG_PORT" "$superuser_password" >"$RUN_DIR/pgpass"
  chmod 600 "$PG_DIR/superuser.pw" "$RUN_DIR/pgpass"
  [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$PG_DIR"

  say "starting a throwaway PostgreSQL ($PG_BIN) in .run/pg on 127.0.0.1:$PG_PORT"
  STARTED_CLUSTER=1
  (cd "$PG_DIR" && "${AS_POSTGRES[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/superuser.pw" \
      --auth=scram-sha-256 -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1) ||
    { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  rm -f "$PG_DIR/superuser.pw"
  (cd "$PG_DIR" && "${AS_POSTGRES[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start \
      -o "-p $PG_PORT -k '$PG_DIR/sock' -c listen_addresses=127.0.0.1 -c max_connections=300 -c password_encryption=scram-sha-256 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      >/dev/null) ||
    { tail -n 30 "$PG_DIR/postgres.log" >&2 || true; die "PostgreSQL did not start (is port $PG_PORT taken?)"; }

  # The role's password goes in on stdin as an SQL literal, never on a command line.
  local literal=${APP_DB_PASSWORD//\'/\'\'}
  local psql=psql
  [[ -x $PG_BIN/psql ]] && psql=$PG_BIN/psql
  PGPASSFILE=$RUN_DIR/pgpass "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres >/dev/null <<SQL
SET password_encryption = 'scram-sha-256';
CREATE ROLE $APP_USER LOGIN PASSWORD '$literal';
CREATE DATABASE $APP_DB OWNER $APP_USER;
SQL
  rm -f "$RUN_DIR/pgpass"
}

if pg_answers; then
  say "PostgreSQL answers at $PG_HOST:$PG_PORT; using it as it is"
  [[ -n $PASSWORD_GENERATED ]] &&
    say "warning: APP_DB_PASSWORD was not set, so a random one was generated; it must be role $APP_USER's password on that server"
else
  start_cluster
fi

# ---- pooler and backend -----------------------------------------------------------------------
# Each child's output is prefixed with its name; $! is the dotnet process itself (the prefixer
# runs in a process substitution), so the cleanup signals the right pid. The prefixer ignores
# Ctrl-C, so it lives until its child closes the pipe and shutdown messages are not lost.
prefix() {
  trap '' INT
  local line
  while IFS= read -r line || [[ -n $line ]]; do printf '%s %s\n' "$1" "$line"; done
}

say "starting the pooler on port $POOLER_PORT"
dotnet "$POOLER_DLL" --config "$CONFIG" > >(prefix '[pooler] ') 2>&1 &
POOLER_PID=$!

say "starting the backend on $BACKEND_URL"
ASPNETCORE_URLS=$BACKEND_URL \
ConnectionStrings__Pooler="Host=127.0.0.1;Port=$POOLER_PORT;Database=$APP_DB;Username=$APP_USER;Password=$APP_DB_PASSWORD" \
  dotnet "$BACKEND_DLL" > >(prefix '[backend]') 2>&1 &
BACKEND_PID=$!

urlencode() {
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [A-Za-z0-9.~_-]) out+=$c ;; *) printf -v c '%%%02X' "'$c"; out+=$c ;; esac
  done
  printf '%s' "$out"
}

cat >&2 <<EOF

  Tuki.Pool is running. Connect through the pooler:
    psql "postgres://$APP_USER:$(urlencode "$APP_DB_PASSWORD")@127.0.0.1:$POOLER_PORT/$APP_DB"
  Backend: $BACKEND_URL/healthz
  Ctrl-C stops everything.

EOF

# Wait until Ctrl-C, or until the pooler or the backend exits on its own (then stop the rest).
set +e
wait -n "$POOLER_PID" "$BACKEND_PID"
status=$?
set -e
if kill -0 "$POOLER_PID" 2>/dev/null; then who=backend; else who=pooler; fi
say "the $who exited (status $status); stopping everything"
exit $(( status == 0 ? 1 : status ))
