"""Freshness of an Iceberg mirror table, for `cdc-bench-sink` (dev/bench sink).

For every snapshot committed after --since-ms: the data files it added (manifest entries with
status ADDED and this snapshot's id), their rows' `_cdc_op` and `_cdc_ts_ms` (source commit
time, ms). Freshness of a row = snapshot `timestamp-ms` - `_cdc_ts_ms`, for inserted and
updated rows (`c`, `u`; snapshot rows `r` are not timed). Prints one JSON line:
{"snapshots": n, "rows": n, "p50": ms, "p95": ms, "max": ms}.
"""

import argparse
import json
import math
import sys
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog


def nearest_rank(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values), max(1, math.ceil(q * len(sorted_values)))) - 1
    return sorted_values[i]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", required=True)
    p.add_argument("--catalog", default="cdc")
    p.add_argument("--table", required=True, help="namespace.table")
    p.add_argument("--since-ms", type=int, required=True)
    args = p.parse_args()
    cat = SqlCatalog(
        args.catalog,
        uri=f"sqlite:///{args.data_dir}/catalog.db",
        warehouse=f"file://{args.data_dir}/warehouse",
        init_catalog_tables="false",
    )
    table = cat.load_table(args.table)
    freshness = []
    snapshots = 0
    for snap in table.snapshots():
        if snap.timestamp_ms < args.since_ms:
            continue
        snapshots += 1
        entries = table.inspect.entries(snapshot_id=snap.snapshot_id).to_pylist()
        for e in entries:
            added = e["status"] == 1 and e["snapshot_id"] == snap.snapshot_id
            if not added or e["data_file"]["content"] != 0:
                continue
            path = urlparse(e["data_file"]["file_path"]).path
            rows = pq.read_table(path, columns=["_cdc_op", "_cdc_ts_ms"])
            timed = rows.filter(pc.is_in(rows["_cdc_op"], value_set=pa.array(["c", "u"])))
            freshness.extend(snap.timestamp_ms - ts for ts in timed["_cdc_ts_ms"].to_pylist())
    freshness.sort()
    print(
        json.dumps(
            {
                "snapshots": snapshots,
                "rows": len(freshness),
                "p50": nearest_rank(freshness, 0.5),
                "p95": nearest_rank(freshness, 0.95),
                "max": freshness[-1] if freshness else None,
            }
        )
    )
    return 0 if freshness else 1


if __name__ == "__main__":
    sys.exit(main())
