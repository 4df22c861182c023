#!/usr/bin/env bash
# Runs every test of the solution (unit and integration) in Release and ends with one summary line.
# The integration tests need PostgreSQL: TUKI_TEST_PG (a superuser connection string), a Docker
# engine, or local server binaries (initdb/pg_ctl), which this script installs with apt-get when
# it runs as root on Debian/Ubuntu. Extra arguments go to `dotnet test`, e.g.
#   ./test.sh --filter FullyQualifiedName~FixtureSmoke
# Exit status: 0 only when the build and every test passed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

say() { printf 'test.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; say "RESULT: FAILED"; exit 1; }

command -v dotnet >/dev/null || die "the .NET 10 SDK is required (https://dot.net)"

# ---- PostgreSQL for the integration tests ------------------------------------------------------
have_pg_server() {
  local dir
  if command -v pg_config >/dev/null; then
    dir=$(pg_config --bindir 2>/dev/null || true)
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] && return 0
  fi
  for dir in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    [[ -x $dir/initdb && -x $dir/pg_ctl ]] && return 0
  done
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null
}

docker_answers() {
  local socket=/var/run/docker.sock
  [[ ${DOCKER_HOST:-} == unix://* ]] && socket=${DOCKER_HOST#unix://}
  [[ -n ${DOCKER_HOST:-} && ${DOCKER_HOST} != unix://* ]] && return 0   # tcp://: let the fixture probe it
  [[ -S $socket ]] && command -v curl >/dev/null &&
    curl -fsS --max-time 2 --unix-socket "$socket" http://docker/_ping >/dev/null 2>&1
}

if [[ -n ${TUKI_TEST_PG:-} ]]; then
  say "integration tests use the server in TUKI_TEST_PG"
elif have_pg_server; then
  :
elif docker_answers; then
  say "no PostgreSQL binaries; integration tests will use Docker (Testcontainers, postgres:15)"
elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  say "installing Debian's postgresql and postgresql-contrib (pgbench) for the integration tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql postgresql-contrib postgresql-client </dev/null
  have_pg_server || die "postgresql was installed but initdb/pg_ctl were not found"
else
  die "the integration tests need PostgreSQL and none was found. Either install it
  (Debian/Ubuntu: sudo apt-get install postgresql postgresql-contrib), start Docker,
  or set TUKI_TEST_PG to an Npgsql connection string for a superuser, then run ./test.sh again."
fi

# ---- real drivers for tests/drivers (psycopg 3, asyncpg, JDBC, node-postgres, postgres.js) -------------
debs=()
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || debs+=(python3-psycopg)
/usr/bin/python3 -c 'import asyncpg' 2>/dev/null || debs+=(python3-asyncpg)
[[ -f /usr/share/java/postgresql.jar ]] || debs+=(libpostgresql-jdbc-java)
command -v java >/dev/null || debs+=(default-jre-headless)
command -v npm >/dev/null || debs+=(nodejs npm)
if ((${#debs[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian's ${debs[*]} for the driver tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}" </dev/null
  else
    say "warning: missing ${debs[*]}: the driver tests that need them will fail (sudo apt-get install ${debs[*]})"
  fi
fi
if [[ ! -d tests/drivers/node/node_modules ]] && command -v npm >/dev/null; then
  say "installing the Node.js drivers (npm ci in tests/drivers/node)"
  (cd tests/drivers/node && npm ci --no-audit --no-fund --loglevel=error) || say "warning: npm ci failed: the Node.js driver tests will fail"
fi

# ---- file descriptors: pooler tests open thousands of client connections ------------------------
hard=$(ulimit -Hn)
if [[ $hard != unlimited && $hard -lt 65536 ]]; then
  ulimit -Hn 65536 2>/dev/null || true   # only root may raise the hard limit
  hard=$(ulimit -Hn)
fi
ulimit -Sn "$hard" 2>/dev/null || ulimit -Sn 65536 2>/dev/null || true
nofile=$(ulimit -Sn)
if [[ $nofile != unlimited && $nofile -lt 65536 ]]; then
  say "warning: open-file limit is $nofile (below 65536); connection-heavy tests may fail"
fi

# ---- run ------------------------------------------------------------------------------------------
# console logger at normal verbosity names every test as it runs; one trx file per test project lands
# in TestResults/ (CI artifacts, and the summary below).
# --blame-hang-timeout: a hung test fails the run instead of eating the CI budget.
# --disable-build-servers: no MSBuild/compiler server outlives the run holding the output open.
results=TestResults
rm -rf "$results"
set +e
dotnet test Tuki.Pool.sln -c Release --disable-build-servers \
  --logger "console;verbosity=normal" --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 15m --blame-hang-dump-type none \
  "$@"
status=$?
set -e

# Summary from the trx files: one line per test assembly, then the verdict.
total=0 passed=0 failed=0 skipped=0
echo
shopt -s nullglob
for trx in "$results"/*.trx; do
  # grep -m1 rather than | head: with pipefail, head closing the pipe early would fail the script (SIGPIPE).
  counters=$(grep -m1 -o '<Counters [^>]*>' "$trx" || true)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  assembly=$(grep -m1 -o 'codeBase="[^"]*"' "$trx" | sed -n '1{s/codeBase="//; s/"$//; s#.*/##; p}' || true)
  t=$(get total); p=$(get passed); f=$(get failed); x=$(get notExecuted)
  t=${t:-0}; p=${p:-0}; f=${f:-0}; x=${x:-0}
  say "$(printf '%-45s total %4d  passed %4d  failed %4d  skipped %4d' "${assembly:-$(basename "$trx")}" "$t" "$p" "$f" "$x")"
  total=$((total + t)); passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + x))
done
counts="$total tests: $passed passed, $failed failed, $skipped skipped"
if [[ $status -eq 0 ]]; then
  say "RESULT: PASSED ($counts; trx reports in $results/)"
else
  say "RESULT: FAILED (dotnet test exit $status; $counts; build errors or crashed test hosts show above)"
fi
# The plain closing line CI reads.
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
