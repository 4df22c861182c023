#!/usr/bin/env bash
# Serverless-scale load test, one command, stops by itself:
#   bench/serverless/run.sh [duration_s=60] [rate_per_s=200]
# A throwaway PostgreSQL (max_connections=100), then the same load three times, one target after the other:
#   1. through Tuki.Pool (Release build, pool size 25, transaction pooling)
#   2. through PgBouncer (Debian package; pool_mode=transaction, default_pool_size=25)
#   3. straight to PostgreSQL (expected to fail: 3,000 clients against max_connections=100)
# Load = bench/Serverless.Load: INSTANCES (100) simulated backend instances x PER_INSTANCE (30) client
# connections = 3,000, the backend's own checkout (30 %) and public-list code at a fixed rate.
# Appends a section with every figure and this command to bench/RESULTS.md. Ports 57432-57434.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
duration=${1:-60} rate=${2:-200}
instances=${INSTANCES:-100} per_instance=${PER_INSTANCE:-30} checkout_share=${CHECKOUT_SHARE:-0.3}
results=${RESULTS_FILE:-bench/RESULTS.md}   # a smoke run may write elsewhere
pool_size=25 pg_max_connections=100
pg_port=57432 tuki_port=57433 pgbouncer_port=57434
command_line="bench/serverless/run.sh $duration $rate"
[[ $instances == 100 && $per_instance == 30 ]] || command_line="INSTANCES=$instances PER_INSTANCE=$per_instance $command_line"

say() { printf 'serverless: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# 3,000 client sockets in the generator and as many in the pooler: raise the open-file limit (each
# process gets its own); the hard limit on the shared bench machine is 20,000.
hard=$(ulimit -Hn)
ulimit -Sn "$hard" 2>/dev/null || true
(( $(ulimit -Sn) >= instances * per_instance + 200 )) || die "open-file limit $(ulimit -Sn) is below $((instances * per_instance + 200))"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[[ -x $bin/initdb ]] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [[ ! -x $pgbouncer ]]; then
  [[ $(id -u) -eq 0 ]] || die "pgbouncer is not installed (apt-get install pgbouncer)"
  say "installing pgbouncer"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer </dev/null
  pgbouncer=/usr/sbin/pgbouncer
fi

work=$(mktemp -d /tmp/tuki-serverless.XXXXXX); chmod 755 "$work"
as_pg=(); [[ $(id -u) -eq 0 ]] && { chown postgres "$work"; as_pg=(runuser -u postgres --); }
password=bench$RANDOM$RANDOM$RANDOM
pooler_pid=
cleanup() {
  [[ -n $pooler_pid ]] && { kill "$pooler_pid" 2>/dev/null; wait "$pooler_pid" 2>/dev/null || true; }
  [[ -f $work/pgbouncer.pid ]] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null
  "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() { # port seconds
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---- PostgreSQL --------------------------------------------------------------------------------
say "PostgreSQL on :$pg_port, max_connections=$pg_max_connections"
echo "$password" > "$work/pw"; chmod 644 "$work/pw"
"${as_pg[@]}" "$bin/initdb" -D "$work/data" -U postgres --pwfile="$work/pw" --auth=scram-sha-256 -E UTF8 --locale=C --no-sync >/dev/null
# synchronous_commit=off: commits do not wait for the disk of this shared machine (durability of the last
# few commits on a crash is all it costs; the row locks and the inventory check are unaffected).
"${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -w -l "$work/pg.log" -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 \
  -c max_connections=$pg_max_connections -c shared_buffers=128MB -c synchronous_commit=off" start >/dev/null ||
  { cat "$work/pg.log"; die "PostgreSQL did not start (port $pg_port busy?)"; }
export PGPASSWORD=$password
psql=("$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1)
"${psql[@]}" -c "CREATE ROLE app LOGIN PASSWORD '$password'"
for db in bench_tuki bench_pgbouncer bench_direct; do "${psql[@]}" -c "CREATE DATABASE $db OWNER app"; done

say "building Tuki.Pool and the load generator (Release)"
dotnet build src/Pooler/Pooler.csproj -c Release --nologo -v q -clp:NoSummary --disable-build-servers >/dev/null
dotnet build bench/Serverless.Load/Serverless.Load.csproj -c Release --nologo -v q -clp:NoSummary --disable-build-servers >/dev/null
load_dll=bench/Serverless.Load/bin/Release/net10.0/Tuki.Pool.Bench.ServerlessLoad.dll

rows=$work/rows.md
details=$work/details.txt
: > "$rows"; : > "$details"
run_load() { # label port database
  local status=0
  say "load through $1 (port $2)"
  dotnet "$load_dll" --label "$1" --target "Host=127.0.0.1;Port=$2;Database=$3;Username=app;Password=$password" \
    --admin "Host=127.0.0.1;Port=$pg_port;Database=postgres;Username=postgres;Password=$password" \
    --instances "$instances" --per-instance "$per_instance" --rate "$rate" --duration "$duration" \
    --checkout-share "$checkout_share" --row "$rows" > "$work/$1.out" 2>&1 || status=$?
  cat "$work/$1.out"
  cat "$work/$1.out" >> "$details"
  return $status
}

# ---- 1. Tuki.Pool --------------------------------------------------------------------------------
cat > "$work/pooler.yaml" <<YAML
listen: { address: 127.0.0.1, port: $tuki_port }
metrics: { address: 127.0.0.1, port: 0 }
pool:
  size: $pool_size
  max_client_connections: 4000
  timeouts: { query_wait: 30s }
databases:
  bench_tuki: { host: 127.0.0.1, port: $pg_port, max_connections: $pool_size }
users:
  app: { password: "$password" }
YAML
dotnet src/Pooler/bin/Release/net10.0/Tuki.Pool.Pooler.dll --config "$work/pooler.yaml" > "$work/pooler.log" 2>&1 &
pooler_pid=$!
wait_port "$tuki_port" 30 || { cat "$work/pooler.log"; die "Tuki.Pool did not listen on $tuki_port"; }
tuki_status=0; run_load tuki-pool "$tuki_port" bench_tuki || tuki_status=$?
kill "$pooler_pid"; wait "$pooler_pid" 2>/dev/null || true; pooler_pid=

# ---- 2. PgBouncer --------------------------------------------------------------------------------
cat > "$work/pgbouncer.ini" <<INI
[databases]
bench_pgbouncer = host=127.0.0.1 port=$pg_port dbname=bench_pgbouncer
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgbouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = $pool_size
max_db_connections = $pool_size
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 4000
query_wait_timeout = 30
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
printf '"app" "%s"\n' "$password" > "$work/userlist.txt"
chmod 600 "$work/userlist.txt"; [[ ${#as_pg[@]} -gt 0 ]] && chown postgres "$work/userlist.txt" "$work/pgbouncer.ini"
# PgBouncer refuses to run as root: as the postgres user, daemonized, stopped through its pid file.
# runuser's PAM session drops the soft open-file limit back to 1024 ("accept() failed: Too many open
# files" at the 1,000th client), so raise it again inside.
"${as_pg[@]}" bash -c 'ulimit -Sn "$0" && exec "$1" -d -q "$2"' "$(ulimit -Hn)" "$pgbouncer" "$work/pgbouncer.ini"
wait_port "$pgbouncer_port" 30 || { cat "$work/pgbouncer.log"; die "PgBouncer did not listen on $pgbouncer_port"; }
pgbouncer_version=$("$pgbouncer" --version | head -n1)
pgb_status=0; run_load pgbouncer "$pgbouncer_port" bench_pgbouncer || pgb_status=$?
kill "$(cat "$work/pgbouncer.pid")"; for _ in $(seq 50); do [[ -f $work/pgbouncer.pid ]] || break; sleep 0.1; done

# ---- 3. direct -----------------------------------------------------------------------------------
direct_status=0; run_load direct "$pg_port" bench_direct || direct_status=$?

# ---- RESULTS.md ----------------------------------------------------------------------------------
pg_version=$("$bin/postgres" --version)
{
  echo
  echo "## $(date -u +%Y-%m-%d) — serverless scale: $instances instances × $per_instance connections, pool $pool_size, max_connections $pg_max_connections"
  echo
  echo "Command: \`$command_line\` ($pg_version, $pgbouncer_version, Tuki.Pool Release build at"
  echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo '+local changes'); $instances simulated backend instances = $instances Npgsql data sources"
  echo "configured like \`src/Backend\` (Maximum = Minimum Pool Size $per_instance), all connections opened before the load;"
  echo "open-loop $rate req/s for $duration s, ${checkout_share} checkouts / rest public-list pages, latency from the scheduled"
  echo "start; server connections = max of pg_stat_activity sampled every 200 ms; everything on one shared 2-core machine)."
  echo
  echo "| target | client connections open / wanted | max server connections | requests done / scheduled | errors | req/s | p50 / p95 / p99 ms | checkout p99 ms | inventory: sold + remaining = initial; orders; lost |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  cat "$rows"
  echo
  echo "Errors by kind:"
  echo
  grep -E '^(\[[a-z-]+\] )?(== |  error x|  open failed)' "$details" | sed 's/^/    /' || true
} >> "$results"
say "appended to $results:"
tail -n 25 "$results" >&2
# Success = the pooled runs were consistent and error-free-enough to report; the direct run is expected to fail.
(( tuki_status == 0 && pgb_status == 0 && direct_status == 0 )) || die "an inventory check failed (tuki $tuki_status, pgbouncer $pgb_status, direct $direct_status)"
