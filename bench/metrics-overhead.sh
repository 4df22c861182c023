#!/usr/bin/env bash
# Metric recording overhead: two Tuki.Pool processes on one throwaway cluster, identical but for metrics.port
# (on: histograms observed, /metrics scraped every second by curl; off: port 0), pgbench through each, interleaved
# (order alternating per round), medians reported:
#   bench/metrics-overhead.sh [rounds=3] [seconds=10]
# Ports 59632-59635 by default (PG, pooler on, pooler off, metrics); override with BASE_PORT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-3} seconds=${2:-10}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
work=$(mktemp -d /tmp/tuki-metrics-bench.XXXXXX); chmod 755 "$work"
as_pg=(); [[ $(id -u) -eq 0 ]] && { chown postgres "$work"; as_pg=(runuser -u postgres --); }
base=${BASE_PORT:-59632}
pg_port=$base on_port=$((base + 1)) off_port=$((base + 2)) metrics_port=$((base + 3))
password=bench-$RANDOM$RANDOM
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
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
start_pooler() { # name listen_port metrics_port
  cat > "$work/$1.yaml" <<YAML
listen: { address: 127.0.0.1, port: $2 }
metrics: { address: 127.0.0.1, port: $3 }
pool: { size: 20 }
databases:
  postgres: { host: 127.0.0.1, port: $pg_port }
users:
  postgres: { password: "$password" }
YAML
  dotnet src/Pooler/bin/Release/net10.0/Tuki.Pool.Pooler.dll --config "$work/$1.yaml" >"$work/$1.log" 2>&1 &
  pids+=($!)
}
start_pooler on $on_port $metrics_port
start_pooler off $off_port 0
sleep 2
# Warm-up: JIT both poolers to tier 1 before anything is measured.
for port in $on_port $off_port; do "$bin/pgbench" -p "$port" -T 3 -S -c 20 -j 2 postgres >/dev/null 2>&1; done

declare -A results
run() { # name target port args...
  local name=$1 target=$2 port=$3; shift 3
  local scraper= tps
  if [[ $target == on ]]; then
    ( while :; do curl -s -o /dev/null "http://127.0.0.1:$metrics_port/metrics"; sleep 1; done ) & scraper=$!
  fi
  tps=$("$bin/pgbench" -p "$port" -T "$seconds" "$@" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  [[ -n $scraper ]] && kill "$scraper" 2>/dev/null && wait "$scraper" 2>/dev/null || true
  echo "round $round  $name  metrics_$target  tps=$tps"
  results[$name,$target]+="$tps "
}
scenarios=("select_c50|-S -c 50 -j 2" "tpcb_c50|-c 50 -j 2" "select_c1|-S -c 1")
for ((round = 1; round <= rounds; round++)); do
  for s in "${scenarios[@]}"; do
    name=${s%%|*}; read -ra args <<<"${s#*|}"
    if ((round % 2)); then order=(on off); else order=(off on); fi
    for target in "${order[@]}"; do
      [[ $target == on ]] && port=$on_port || port=$off_port
      run "$name" "$target" "$port" "${args[@]}"
    done
  done
done
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^tukipool_(transactions_total|queries_total)' | head -4
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "scenario      off_tps     on_tps      on/off   (medians of $rounds interleaved rounds, ${seconds}s each, pool 20)"
for s in "${scenarios[@]}"; do
  name=${s%%|*}
  off=$(median <<<"${results[$name,off]}"); on=$(median <<<"${results[$name,on]}")
  printf '%-12s  %10.0f  %10.0f  %8.3f\n' "$name" "$off" "$on" "$(awk -v a="$on" -v b="$off" 'BEGIN {print a / b}')"
done
