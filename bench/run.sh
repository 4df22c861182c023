#!/usr/bin/env bash
# Load harness: PostgreSQL direct vs PgBouncer vs Tuki.Pool, interleaved, on one throwaway setup (see README.md).
#   bench/run.sh                      # full run: 4 rounds x 15 s per scenario and target, ~30 minutes
#   ROUNDS=1 SECONDS=3 bench/run.sh   # smoke run
# Environment: ROUNDS (4), SECONDS or DURATION (15, seconds per pgbench run), SCENARIOS (space-separated names,
# default all), IDLE_COUNTS ("1000 10000"), STORM (5000 logins), STORM_ROUNDS (3), WARMUP (30 s), SCENARIO_WARMUP
# (5 s of each scenario after it), BASE_PORT (26432),
# RESULTS (bench/RESULTS.md; "none" prints the section without writing it), KEEP=1 keeps the work directory.
# Everything it starts is stopped on exit, whatever the exit path.

# bash imports SECONDS from the environment and counts up from it: read it before anything takes a second.
seconds_from_env=$SECONDS
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

rounds=${ROUNDS:-4}
duration=${DURATION:-$seconds_from_env}; ((duration > 0)) || duration=15
warmup=${WARMUP:-30}
scenario_warmup=${SCENARIO_WARMUP:-5}
idle_counts=${IDLE_COUNTS-"1000 10000"}   # empty: skip
storm=${STORM:-5000}
storm_rounds=${STORM_ROUNDS:-3}
base_port=${BASE_PORT:-26432}   # below the ephemeral range (32768+): a client socket of the idle test cannot take it
results_file=${RESULTS:-bench/RESULTS.md}
pg_port=$base_port pgb_port=$((base_port + 1)) tuki_port=$((base_port + 2))

# name | pgbench arguments (pgbench -n -T duration is added; the connect scenario's role is the same for all).
all_scenarios=(
  "select_simple_c50|-S -M simple -c 50 -j 2"
  "select_extended_c50|-S -M extended -c 50 -j 2"
  "select_prepared_c50|-S -M prepared -c 50 -j 2"
  "tpcb_c50|-c 50 -j 2"
  "select_connect_c50|-S -C -c 50 -j 2"
  "select_c1000|-S -c 1000 -j 2"
  "select_c1|-S -c 1 -j 1"
)
scenarios=()
for s in "${all_scenarios[@]}"; do
  [[ -z ${SCENARIOS:-} || " $SCENARIOS " == *" ${s%%|*} "* ]] && scenarios+=("$s")
done

say() { printf '%s run.sh: %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- prerequisites ----------------------------------------------------------------------------------------------
bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
[[ -x $bin/initdb && -x $bin/pgbench ]] || die "PostgreSQL server binaries and pgbench are required (apt-get install postgresql postgresql-contrib)"
if ! command -v pgbouncer >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "pgbouncer is missing: apt-get install pgbouncer"
  say "installing Debian's pgbouncer"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer </dev/null >/dev/null
fi
command -v dotnet >/dev/null || die "the .NET 10 SDK is required"
command -v python3 >/dev/null || die "python3 is required (SCRAM verifiers, the report)"

# 1,000 pgbench clients, 10,000 idle logins: every process here needs far more than 1,024 descriptors.
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
[[ $(ulimit -Sn) == unlimited ]] || (( $(ulimit -Sn) >= 12000 )) || say "warning: open-file limit $(ulimit -Sn) is below 12000; the 10,000-client test will fail"

work=$(mktemp -d /tmp/tuki-bench.XXXXXX); chmod 755 "$work"
as_pg=(); [[ $(id -u) -eq 0 ]] && { chown postgres "$work"; as_pg=(runuser -u postgres --); }
tuki_pid= tool_pid=
cleanup() {
  set +e
  [[ -n $tool_pid ]] && kill "$tool_pid" 2>/dev/null
  [[ -n $tuki_pid ]] && kill "$tuki_pid" 2>/dev/null && wait "$tuki_pid" 2>/dev/null
  [[ -s $work/pgbouncer.pid ]] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null
  "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1
  if [[ ${KEEP:-0} == 1 ]]; then say "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- builds -----------------------------------------------------------------------------------------------------
say "building Tuki.Pool and the login tool (Release)"
dotnet build src/Pooler -c Release -v q -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log"; die "build failed"; }
dotnet build bench/Logins -c Release -v q -nologo >>"$work/build.log" 2>&1 || { cat "$work/build.log"; die "build failed"; }
tuki_dll=$repo/src/Pooler/bin/Release/net10.0/Tuki.Pool.Pooler.dll
logins_dll=$repo/bench/Logins/bin/Release/net10.0/Tuki.Pool.Bench.Logins.dll

# ---- passwords ------------------------------------------------------------------------------------------------
# Every login in every scenario uses SCRAM with 16 iterations, so pgbench's own PBKDF2 (12 ms at 4,096) does not
# hide the poolers in the connect scenarios. PostgreSQL 15 cannot lower scram_iterations, so the verifier V =
# verifier(P, 16) is computed here and stored as the role's password. Both poolers hold only V (PgBouncer's
# auth_file, Tuki.Pool's users.bench.password) and log in to PostgreSQL with the SCRAM keys the client's own
# exchange proved (pass-through); every client, direct or pooled, uses password P.
superuser_password=bench-$RANDOM$RANDOM$RANDOM
client_password=bench-$RANDOM$RANDOM$RANDOM
verifier=$(printf %s "$client_password" | python3 bench/scram_verifier.py 16)

# ---- PostgreSQL -------------------------------------------------------------------------------------------------
say "starting PostgreSQL on $pg_port (max_connections 1100) and loading pgbench scale 10"
echo "$superuser_password" > "$work/pw"; chmod 644 "$work/pw"
"${as_pg[@]}" "$bin/initdb" -D "$work/data" -U postgres --pwfile="$work/pw" --auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -w -l "$work/pg.log" \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=1100 -c shared_buffers=256MB" start >/dev/null ||
  { cat "$work/pg.log"; die "PostgreSQL did not start (port $pg_port busy?)"; }
PGPASSWORD=$superuser_password "$bin/psql" -qX -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE bench LOGIN PASSWORD '$verifier'" -c "CREATE DATABASE bench OWNER bench" >/dev/null
export PGHOST=127.0.0.1 PGUSER=bench PGDATABASE=bench
PGPASSWORD=$client_password "$bin/pgbench" -i -s 10 -q -p "$pg_port" >"$work/pgbench-init.log" 2>&1 || { cat "$work/pgbench-init.log"; die "pgbench -i failed"; }

# ---- PgBouncer --------------------------------------------------------------------------------------------------
cat > "$work/userlist.txt" <<EOF
"bench" "$verifier"
EOF
# listen_backlog as Tuki.Pool's (4096, see ClientListener) so the login storm compares poolers, not backlogs;
# per-connection log lines off on both sides.
cat > "$work/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$pg_port dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgb_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 12000
listen_backlog = 4096
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
log_connections = 0
log_disconnections = 0
ignore_startup_parameters = extra_float_digits
EOF
chmod 644 "$work/userlist.txt" "$work/pgbouncer.ini"
[[ $(id -u) -eq 0 ]] && chown postgres "$work/userlist.txt" "$work/pgbouncer.ini"
# PgBouncer refuses to run as root; -d daemonizes it so its pid (pidfile) is PgBouncer itself. setpriv rather
# than runuser: runuser's PAM session drops the open-file limit back to 1,024, which caps PgBouncer at ~1,000 clients.
as_pgb=(); [[ $(id -u) -eq 0 ]] && as_pgb=(setpriv --reuid=postgres --regid=postgres --init-groups)
start_pgbouncer() {
  rm -f "$work/pgbouncer.pid"
  "${as_pgb[@]}" pgbouncer -d -q "$work/pgbouncer.ini" || die "PgBouncer did not start: $(cat "$work/pgbouncer.log" 2>/dev/null)"
}
start_pgbouncer

# ---- Tuki.Pool --------------------------------------------------------------------------------------------------
cat > "$work/pooler.yaml" <<EOF
listen: { address: 127.0.0.1, port: $tuki_port }
metrics: { address: 127.0.0.1, port: 0 }
pool:
  size: 20
  max_client_connections: 12000
databases:
  bench: { host: 127.0.0.1, port: $pg_port }
users:
  bench: { password: "$verifier" }
logging: { connections: false }   # as PgBouncer's log_connections/log_disconnections = 0 above
EOF
# PROFILE=1: perf names JIT-compiled methods from /tmp/perf-PID.map, and only without W^X double mapping.
[[ ${PROFILE:-0} == 1 ]] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
start_tuki() {
  dotnet "$tuki_dll" --config "$work/pooler.yaml" >>"$work/tuki.log" 2>&1 &
  tuki_pid=$!
}
start_tuki

wait_port() { # port
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
wait_poolers() {
  wait_port "$pgb_port" || die "PgBouncer does not listen on $pgb_port: $(cat "$work/pgbouncer.log")"
  wait_port "$tuki_port" || die "Tuki.Pool does not listen on $tuki_port: $(cat "$work/tuki.log")"
  pgb_pid=$(cat "$work/pgbouncer.pid")
}
wait_poolers

port_of() { case $1 in direct) echo "$pg_port" ;; pgbouncer) echo "$pgb_port" ;; tuki) echo "$tuki_port" ;; esac; }
password_of() { echo "$client_password"; }
pid_of() { case $1 in pgbouncer) echo "$pgb_pid" ;; tuki) echo "$tuki_pid" ;; *) echo "" ;; esac; }
cpu_ticks() { [[ -z $1 ]] && { echo "0 0"; return; }; awk '{print $14, $15}' "/proc/$1/stat"; } # user, kernel
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6; exit }' /proc/stat; } # all, idle+iowait
clk_tck=$(getconf CLK_TCK)
us_per_tx() { # ticks transactions pid → µs per transaction, or - (no pooler process, or no transaction)
  awk -v d="$1" -v hz="$clk_tck" -v tx="$2" -v pid="$3" 'BEGIN { if (pid == "" || tx == 0) print "-"; else printf "%.1f", d / hz * 1e6 / tx }'
}

# ---- pgbench scenarios ------------------------------------------------------------------------------------------
tsv=$work/results.tsv
printf 'scenario\ttarget\tround\ttps\ttransactions\tfailed\tcpu_us_per_tx\tuser_us_per_tx\tmachine_busy_pct\tstatus\n' > "$tsv"
run_pgbench() { # scenario target round seconds args... → one tsv line (round 0 = warm-up, not reported)
  local scenario=$1 target=$2 round=$3 seconds=$4; shift 4
  local port pid before after machine0 machine1 out status=ok tps tx failed cpu user busy
  port=$(port_of "$target"); pid=$(pid_of "$target")
  out=$work/pgbench-$scenario-$target-$round.log
  before=$(cpu_ticks "$pid"); machine0=$(machine_ticks)
  PGPASSWORD=$(password_of "$target") timeout $((seconds * 3 + 120)) "$bin/pgbench" -n -p "$port" -T "$seconds" "$@" >"$out" 2>&1 || status=exit$?
  after=$(cpu_ticks "$pid"); machine1=$(machine_ticks)
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -n1); tps=${tps:-0}
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out" | head -n1); tx=${tx:-0}
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out" | head -n1); failed=${failed:-0}
  grep -q 'aborted' "$out" && status=aborted
  # The pooler's CPU per transaction (user + kernel, and user alone) and how busy the whole machine was meanwhile:
  # near 100 % the scenario is CPU-bound, and every µs a pooler spends is taken from PostgreSQL and pgbench.
  read -r user0 kernel0 <<<"$before"; read -r user1 kernel1 <<<"$after"
  cpu=$(us_per_tx $((user1 + kernel1 - user0 - kernel0)) "$tx" "$pid")
  user=$(us_per_tx $((user1 - user0)) "$tx" "$pid")
  busy=$(awk -v a="$machine0" -v b="$machine1" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]
    printf "%.0f", (t > 0 ? 100 * (1 - (y[2] - x[2]) / t) : 0) }')
  last_tx=$tx
  ((round > 0)) && printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$target" "$round" "$tps" "$tx" "$failed" "$cpu" "$user" "$busy" "$status" >> "$tsv"
  say "$(printf 'round %s  %-20s %-9s tps=%-9s tx=%-8s cpu_us/tx=%-6s user=%-5s busy=%3s%% %s' "$round" "$scenario" "$target" "$tps" "$tx" "$cpu" "$user" "$busy" "$status")"
  if [[ $status != ok ]]; then
    grep -m1 -E 'error|ERROR|FATAL' "$out" | cut -c1-200 >&2 || true
  fi
  return 0
}

# A warm-up pass first: the pooler's first seconds run tier-0 JIT code, which is not what a server looks like.
# 30 s: perf still found the JIT compiling (5 % of the pooler's CPU) 40 s into a run after a 5 s warm-up.
# Then a few seconds of every scenario: each has paths of its own (TPC-B's multi-statement transactions, logins,
# simple queries), and without this its first round paid for compiling them (the JIT thread ran 14-17 µs per TPC-B
# transaction for its first half minute, nothing after).
say "warm-up (${warmup}s per target, then ${scenario_warmup}s of each scenario; not reported)"
for target in direct pgbouncer tuki; do
  run_pgbench warmup "$target" 0 "$warmup" -S -M extended -c 50 -j 2
done
for s in "${scenarios[@]}"; do
  read -ra args <<<"${s#*|}"
  for target in direct pgbouncer tuki; do
    run_pgbench "warmup_${s%%|*}" "$target" 0 "$scenario_warmup" "${args[@]}"
  done
done

# ---- PROFILE=1: Tuki.Pool under -S -M extended -c 50 ------------------------------------------------------------
# Three separate runs so no tool disturbs another's figure: dotnet-counters (bytes allocated ÷ transactions),
# perf (CPU samples of the whole process, JIT code named through the perf map), dotnet-trace (managed stacks).
if [[ ${PROFILE:-0} == 1 ]]; then
  prof=$work/profile; mkdir -p "$prof"
  tools=${DOTNET_TOOLS:-$HOME/.dotnet/tools}
  if [[ -x $tools/dotnet-counters ]]; then
    "$tools/dotnet-counters" collect -p "$tuki_pid" --counters System.Runtime --format csv -o "$prof/counters.csv" \
      --refresh-interval 1 >"$prof/counters.log" 2>&1 &
    counters_pid=$!
    sleep 2
    run_pgbench profile_allocations tuki 0 "$duration" -S -M extended -c 50 -j 2
    sleep 1.5
    # TERM, not INT: a background job of a script ignores SIGINT. The samples are on disk as they come.
    kill -TERM "$counters_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$counters_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$counters_pid" 2>/dev/null || true; wait "$counters_pid" 2>/dev/null || true
    # The runtime publishes bytes allocated per 1 s interval; their sum over the run is the run's allocation (the
    # ~32 KB/s outside the run is dotnet-counters' own session). Thread-pool work items per transaction count hops.
    awk -F, -v tx="$last_tx" '$0 ~ /total_allocated/ { sum += $NF } $0 ~ /work_item.count/ { items += $NF }
      END { printf "allocations: %.0f bytes over %d transactions = %.0f bytes per transaction\n", sum, tx, (tx ? sum / tx : 0)
            printf "thread-pool work items: %.1f per transaction\n", (tx ? items / tx : 0) }' \
      "$prof/counters.csv" | tee "$prof/allocations.txt" >&2
  else
    say "dotnet-counters not found in $tools (dotnet tool install -g dotnet-counters): no allocation figure"
  fi
  if command -v perf >/dev/null; then
    perf record -F 499 -g -p "$tuki_pid" -o "$prof/perf.data" -- sleep "$duration" >"$prof/perf-record.log" 2>&1 &
    perf_pid=$!
    run_pgbench profile_perf tuki 0 "$duration" -S -M extended -c 50 -j 2
    wait "$perf_pid" || true
    perf report -i "$prof/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -n 40 > "$prof/perf-top.txt" || true
    perf report -i "$prof/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -n 15 > "$prof/perf-dso.txt" || true
    say "perf: top symbols (self time) in $prof/perf-top.txt"; head -n 25 "$prof/perf-top.txt" >&2
  fi
  if [[ -x $tools/dotnet-trace ]]; then
    "$tools/dotnet-trace" collect -p "$tuki_pid" --profile dotnet-sampled-thread-time --duration "00:00:00:$(printf %02d $((duration < 60 ? duration : 59)))" \
      -o "$prof/trace.nettrace" >"$prof/trace.log" 2>&1 &
    trace_pid=$!
    run_pgbench profile_trace tuki 0 "$duration" -S -M extended -c 50 -j 2
    wait "$trace_pid" || true
    "$tools/dotnet-trace" report "$prof/trace.nettrace" topN -n 30 --inclusive > "$prof/trace-inclusive.txt" 2>&1 || true
    "$tools/dotnet-trace" report "$prof/trace.nettrace" topN -n 30 > "$prof/trace-exclusive.txt" 2>&1 || true
  fi
fi

for ((round = 1; round <= rounds; round++)); do
  if ((round % 2)); then order=(direct pgbouncer tuki); else order=(tuki pgbouncer direct); fi
  for s in "${scenarios[@]}"; do
    read -ra args <<<"${s#*|}"
    for target in "${order[@]}"; do
      run_pgbench "${s%%|*}" "$target" "$round" "$duration" "${args[@]}"
    done
  done
done

# ---- idle clients and the login storm (poolers only: PostgreSQL itself stops at max_connections) -----------------
mem_tsv=$work/memory.tsv storm_tsv=$work/storm.tsv
printf 'target\tclients\topened\trss_kib_before\trss_kib_after\tprivate_kib_delta\tanon_kib_delta\tlogin_ms\n' > "$mem_tsv"
printf 'target\tround\tlogins\topened\tms\trate\n' > "$storm_tsv"
smaps() { # pid field → KiB
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup"
}
private_kib() { echo $(( $(smaps "$1" Private_Clean) + $(smaps "$1" Private_Dirty) )); }
conn_string() { echo "Host=127.0.0.1;Port=$(port_of "$1");Username=bench;Database=bench"; }

hold_idle() { # target count
  local target=$1 count=$2 pid rss0 priv0 anon0 line
  pid=$(pid_of "$target")
  sleep 2
  rss0=$(smaps "$pid" Rss); priv0=$(private_kib "$pid"); anon0=$(smaps "$pid" Anonymous)
  rm -f "$work/release"
  PGPASSWORD=$(password_of "$target") dotnet "$logins_dll" hold --conn "$(conn_string "$target")" --count "$count" \
    --parallel 50 --until-file "$work/release" --max-seconds 300 >"$work/hold-$target-$count.log" 2>&1 &
  tool_pid=$!
  for _ in $(seq 1 2400); do grep -qs '^READY' "$work/hold-$target-$count.log" && break; kill -0 "$tool_pid" 2>/dev/null || break; sleep 0.1; done
  sleep 5 # let both poolers settle: PgBouncer frees nothing; Tuki.Pool trims after two quiet seconds (IdleMemoryTrim)
  line=$(grep '^READY' "$work/hold-$target-$count.log" || echo "READY opened=0 ms=0")
  local opened ms
  opened=$(sed -n 's/.* opened=\([0-9]*\).*/\1/p' <<<"$line"); ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<<"$line")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$count" "${opened:-0}" "$rss0" "$(smaps "$pid" Rss)" \
    $(( $(private_kib "$pid") - priv0 )) $(( $(smaps "$pid" Anonymous) - anon0 )) "${ms:-0}" >> "$mem_tsv"
  say "idle $target $count: $line; RSS $rss0 → $(smaps "$pid" Rss) KiB"
  grep -m1 '^first_error' "$work/hold-$target-$count.log" >&2 || true
  if [[ ${PROFILE:-0} == 1 && $target == tuki && -x ${tools:-}/dotnet-dump ]]; then
    # What the idle clients are made of: managed heap by type while they are held.
    "$tools/dotnet-dump" collect -p "$pid" --type Heap -o "$prof/idle-$count.dmp" >/dev/null 2>&1 &&
      "$tools/dotnet-dump" analyze "$prof/idle-$count.dmp" -c "dumpheap -stat" -c exit > "$prof/idle-$count-heap.txt" 2>&1
    rm -f "$prof/idle-$count.dmp"
    say "heap by type with $count idle clients: $prof/idle-$count-heap.txt"; tail -n 25 "$prof/idle-$count-heap.txt" >&2 || true
  fi
  touch "$work/release"
  wait "$tool_pid" 2>/dev/null || true
  tool_pid=
  sleep 3 # the poolers notice 'count' disconnects
}

login_storm() { # target round
  local target=$1 round=$2 line
  PGPASSWORD=$(password_of "$target") timeout 300 dotnet "$logins_dll" storm --conn "$(conn_string "$target")" --count "$storm" \
    >"$work/storm-$target-$round.log" 2>&1 || true
  line=$(grep '^STORM' "$work/storm-$target-$round.log" || echo "STORM opened=0 ms=0 rate=0")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$storm" "$(sed -n 's/.* opened=\([0-9]*\).*/\1/p' <<<"$line")" \
    "$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<<"$line")" "$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$line")" >> "$storm_tsv"
  say "storm $target round $round: $line"
  grep -m1 '^first_error' "$work/storm-$target-$round.log" >&2 || true
  sleep 3
}

# Fresh pooler processes: after the load runs Tuki.Pool's GC heap has free space that idle clients would fill
# unseen (a first full run measured 189 B per client that way). The 1,000-client hold runs first and warms the
# login path (JIT), so the 10,000-client delta is the clients themselves.
if [[ -n $idle_counts ]]; then
  say "restarting both poolers for the idle-client measurements"
  kill "$tuki_pid"; wait "$tuki_pid" 2>/dev/null || true
  kill "$pgb_pid"; for _ in $(seq 1 50); do kill -0 "$pgb_pid" 2>/dev/null || break; sleep 0.1; done
  start_pgbouncer; start_tuki; wait_poolers
fi
for count in $idle_counts; do
  order=(pgbouncer tuki); [[ $count -gt 1000 ]] && order=(tuki pgbouncer)
  for target in "${order[@]}"; do hold_idle "$target" "$count"; done
done
for ((round = 1; round <= storm_rounds; round++)); do
  if ((round % 2)); then order=(pgbouncer tuki); else order=(tuki pgbouncer); fi
  for target in "${order[@]}"; do login_storm "$target" "$round"; done
done

# ---- report -----------------------------------------------------------------------------------------------------
command_line="ROUNDS=$rounds SECONDS=$duration${SCENARIOS:+ SCENARIOS=\"$SCENARIOS\"}"
[[ -z $idle_counts ]] && command_line+=' IDLE_COUNTS=""'
((storm_rounds == 0)) && command_line+=" STORM_ROUNDS=0"
command_line+=" bench/run.sh"
python3 bench/report.py --results "$tsv" --memory "$mem_tsv" --storm "$storm_tsv" \
  --command "$command_line" --rounds "$rounds" --duration "$duration" --storm-count "$storm" --warmup "$warmup" --scenario-warmup "$scenario_warmup" \
  --pg-version "$("$bin/postgres" --version)" --pgbouncer-version "$(pgbouncer --version | head -n1)" \
  --dotnet-version "$(dotnet --version)" --commit "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+dirty')" \
  > "$work/section.md"
cat "$work/section.md"
if [[ $results_file != none ]]; then
  { echo; cat "$work/section.md"; } >> "$results_file"
  say "section appended to $results_file"
fi
