#!/usr/bin/env bash
# Quick A/B of PostgreSQL direct vs Tuki.Pool with pgbench, interleaved, on a throwaway cluster.
# A smoke-level figure for issue notes until the full harness (PgBouncer included) lands:
#   bench/pgbench-smoke.sh [rounds=3] [seconds=10]
# Prints one line per run and the median TPS per scenario and target, with the pooler/direct ratio.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-3} seconds=${2:-10}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
work=$(mktemp -d /tmp/tuki-bench.XXXXXX); chmod 755 "$work"
as_pg=(); [[ $(id -u) -eq 0 ]] && { chown postgres "$work"; as_pg=(runuser -u postgres --); }
pg_port=55432 pooler_port=56432 password=bench-$RANDOM$RANDOM
pooler_pid=
cleanup() {
  [[ -n $pooler_pid ]] && kill "$pooler_pid" 2>/dev/null && wait "$pooler_pid" 2>/dev/null
  "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "$password" > "$work/pw"; chmod 644 "$work/pw"
"${as_pg[@]}" "$bin/initdb" -D "$work/data" -U postgres --pwfile="$work/pw" --auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -w -l "$work/pg.log" -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB" start >/dev/null ||
  { echo "PostgreSQL did not start (port $pg_port busy?):"; cat "$work/pg.log"; exit 1; }
export PGPASSWORD=$password PGHOST=127.0.0.1 PGUSER=postgres
"$bin/pgbench" -i -s 10 -q -p $pg_port postgres >/dev/null 2>&1

dotnet build src/Pooler -c Release -v q -nologo >/dev/null
cat > "$work/pooler.yaml" <<YAML
listen: { address: 127.0.0.1, port: $pooler_port }
metrics: { address: 127.0.0.1, port: 0 }
pool: { size: 20 }
databases:
  postgres: { host: 127.0.0.1, port: $pg_port }
users:
  postgres: { password: "$password" }
YAML
dotnet src/Pooler/bin/Release/net10.0/Tuki.Pool.Pooler.dll --config "$work/pooler.yaml" >"$work/pooler.log" 2>&1 &
pooler_pid=$!
sleep 2

declare -A results
run() { # name target port args...
  local name=$1 target=$2 port=$3; shift 3
  local tps
  tps=$("$bin/pgbench" -p "$port" -T "$seconds" "$@" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  echo "round $round  $name  $target  tps=$tps"
  results[$name,$target]+="$tps "
}
scenarios=("select_c50|-S -c 50 -j 2" "tpcb_c50|-c 50 -j 2" "select_c1|-S -c 1")
for ((round = 1; round <= rounds; round++)); do
  for s in "${scenarios[@]}"; do
    name=${s%%|*}; read -ra args <<<"${s#*|}"
    if ((round % 2)); then order=(direct pooler); else order=(pooler direct); fi
    for target in "${order[@]}"; do
      [[ $target == direct ]] && port=$pg_port || port=$pooler_port
      run "$name" "$target" "$port" "${args[@]}"
    done
  done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "scenario      direct_tps  pooler_tps  pooler/direct   (medians of $rounds interleaved rounds, ${seconds}s each, pool 20)"
for s in "${scenarios[@]}"; do
  name=${s%%|*}
  d=$(median <<<"${results[$name,direct]}"); p=$(median <<<"${results[$name,pooler]}")
  printf '%-12s  %10.0f  %10.0f  %8.2f\n' "$name" "$d" "$p" "$(awk -v p="$p" -v d="$d" 'BEGIN {print p / d}')"
done
