#!/usr/bin/env bash
# Runs examples/postgres.rs against a throwaway PostgreSQL cluster.
#
# Installs Debian's `postgresql` when no server binaries are present,
# creates a cluster in a fresh temporary directory (owned by the `postgres`
# user when run as root), starts it on a free loopback port with its unix
# socket in that directory, runs the example, and always stops the cluster
# and removes the directory, also when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "postgresql is not installed; installing it from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# `postgres` user the package created.
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  run_pg() { runuser -u postgres -- "$@"; }
else
  owner=$(id -un)
  run_pg() { "$@"; }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/bulkheads-pg.XXXXXX")
data="$dir/data"
stop_cluster() {
  status=$?
  if [ -f "$data/postmaster.pid" ]; then
    run_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$dir/server.log" ]; then
    echo "--- server log ---"
    tail -n 50 "$dir/server.log" || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM
chown "$owner" "$dir"

# A free loopback port: one nothing answers on.
port=
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
    port=$candidate
    break
  fi
done
[ -n "$port" ] || { echo "no free port found" >&2; exit 1; }

run_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log"; exit 1; }
run_pg "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=50 -c fsync=off" start >/dev/null
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (cluster in $dir)"

export BULKHEADS_PG_URL="host=127.0.0.1 port=$port user=postgres dbname=postgres"
cargo run --release --features r2d2 --example postgres
