#!/usr/bin/env python3
"""Independent read-back of cdc-sink's Iceberg tables, with engines we did not write.

Reads the changelog tables through pyiceberg (SqlCatalog on the sink's SQLite catalog file),
folds them to the latest row per primary key (ordered by Kafka partition/offset; a latest `d`
means the row is gone) and compares every column with the source PostgreSQL table; reads the
mirror table (when the sink writes one) and requires exactly the source rows, one per key.

  iceberg_check.py compare --pg DSN --data-dir DIR --tables public.customers,public.orders
      prints one JSON line per table {"table","ok","rows","iceberg_rows","changelog_rows",
      "mismatches":[...]}; exit 0 when all tables match, 1 otherwise.
  iceberg_check.py offsets --data-dir DIR --tables public.customers,public.orders
      prints one JSON line per changelog table {"table","offsets":[[partition, offset], ...]}
      (every row's Kafka origin, sorted, duplicates kept), read with pyiceberg; exits 1 if
      DuckDB's own iceberg_scan sees a different row count.
  iceberg_check.py dump --data-dir DIR --table shop.vt --columns id,c_int
      reads the mirror table <namespace>.<schema>_<table> twice, with pyiceberg and with
      DuckDB's own iceberg_scan (deletes applied by each), exits 1 if they differ, and prints
      one JSON line {"table","types":{column: iceberg type},"rows":[[values...], ...]} (rows
      sorted; decimals, dates and times as text, bytes as hex) for a comparison elsewhere.
  iceberg_check.py show --data-dir DIR --table public.orders --limit 5
      prints a few current rows of the table, queried with DuckDB over the pyiceberg scan.
"""

import argparse
import datetime as dt
import decimal
import json
import sys
import uuid

import duckdb
import psycopg
from pyiceberg.catalog.sql import SqlCatalog

META = ("_cdc_op", "_cdc_ts_ms", "_cdc_ts", "_cdc_position", "_cdc_kafka_partition", "_cdc_kafka_offset")


def catalog(data_dir, name):
    return SqlCatalog(
        name,
        uri=f"sqlite:///{data_dir}/catalog.db",
        warehouse=f"file://{data_dir}/warehouse",
        init_catalog_tables="false",
    )


def changelog_name(namespace, table):
    schema, name = table.split(".", 1)
    return f"{namespace}.{schema}_{name}_changelog"


def norm(v, json_col=False):
    if v is None:
        return None
    if json_col:
        if isinstance(v, str):
            v = json.loads(v)
        return json.dumps(v, sort_keys=True)
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc)
    if isinstance(v, decimal.Decimal):
        return v.normalize() if v == v else "NaN"
    return v


def pg_rows(dsn, table):
    schema, name = table.split(".", 1)
    with psycopg.connect(dsn) as conn:
        cols = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
            "coalesce(a.attnum = ANY(i.indkey), false) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (schema, name),
        ).fetchall()
        names = [c[0] for c in cols]
        json_cols = {c[0] for c in cols if c[1] in ("json", "jsonb")}
        key = [c[0] for c in cols if c[2]]
        quoted = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
        q_table = '"' + schema.replace('"', '""') + '"."' + name.replace('"', '""') + '"'
        rows = conn.execute(f"SELECT {quoted} FROM {q_table}").fetchall()
    return names, key, json_cols, [dict(zip(names, r)) for r in rows]


def latest_state(arrow_table, key):
    latest = {}
    for r in arrow_table.to_pylist():
        k = tuple(r[c] for c in key)
        order = (r["_cdc_kafka_partition"], r["_cdc_kafka_offset"])
        if k not in latest or latest[k][0] < order:
            latest[k] = (order, r)
    return {k: r for k, (_, r) in latest.items() if r["_cdc_op"] != "d"}


def diff(out, where, names, json_cols, by_key, state):
    for k in sorted(set(by_key) | set(state), key=repr):
        s, i = by_key.get(k), state.get(k)
        if s is None or i is None:
            out.append({"in": where, "key": repr(k), "missing_in": "iceberg" if i is None else "postgres"})
            continue
        for c in names:
            a, b = norm(s[c], c in json_cols), norm(i.get(c), c in json_cols)
            if isinstance(a, decimal.Decimal) and isinstance(b, str):
                # numeric without a declared scale is stored as its decimal text.
                b = norm(decimal.Decimal(b))
            if a != b:
                out.append({"in": where, "key": repr(k), "column": c, "postgres": repr(a), "iceberg": repr(b)})


def compare(args):
    cat = catalog(args.data_dir, args.catalog)
    all_ok = True
    for table in args.tables.split(","):
        names, key, json_cols, source = pg_rows(args.pg, table)
        result = {"table": table, "rows": len(source), "mismatches": []}
        try:
            arrow = cat.load_table(changelog_name(args.namespace, table)).scan().to_arrow()
        except Exception as e:  # table not created yet
            result.update(ok=False, iceberg_rows=0, changelog_rows=0, error=repr(e))
            print(json.dumps(result), flush=True)
            all_ok = False
            continue
        state = latest_state(arrow, key)
        result["changelog_rows"] = arrow.num_rows
        result["iceberg_rows"] = len(state)
        by_key = {tuple(r[c] for c in key): r for r in source}
        diff(result["mismatches"], "changelog", names, json_cols, by_key, state)
        ok = len(state) == len(source)
        # The mirror table (current state, position deletes applied by the reader), if the
        # sink writes one for this table.
        mirror_name = changelog_name(args.namespace, table)[: -len("_changelog")]
        if cat.table_exists(mirror_name):
            mirror = cat.load_table(mirror_name).scan().to_arrow().to_pylist()
            mirror_state = {tuple(r[c] for c in key): r for r in mirror}
            result["mirror_rows"] = len(mirror)
            diff(result["mismatches"], "mirror", names, json_cols, by_key, mirror_state)
            ok &= len(mirror) == len(mirror_state) == len(source)
        del result["mismatches"][20:]
        result["ok"] = not result["mismatches"] and ok
        all_ok &= result["ok"]
        print(json.dumps(result), flush=True)
    return 0 if all_ok else 1


def quote(name):
    """A DuckDB identifier, whatever characters the column name holds."""
    return '"' + name.replace('"', '""') + '"'


def show(args):
    cat = catalog(args.data_dir, args.catalog)
    arrow = cat.load_table(changelog_name(args.namespace, args.table)).scan().to_arrow()
    con = duckdb.connect()
    con.register("changelog", arrow)
    cols = [quote(c) for c in arrow.column_names if c not in META]
    key = cols[0]
    rel = con.sql(
        f"SELECT {', '.join(cols)}, _cdc_op FROM changelog "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _cdc_kafka_partition DESC, _cdc_kafka_offset DESC) = 1 "
        f"AND _cdc_op <> 'd' ORDER BY {key} LIMIT {int(args.limit)}"
    )
    print(f"-- {args.table}: latest rows from Iceberg ({arrow.num_rows} changelog rows), read with pyiceberg + DuckDB {duckdb.__version__}")
    rel.show(max_width=160)
    return 0


def as_text(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (bytes, memoryview)):
        return bytes(v).hex()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat(" ") if isinstance(v, dt.datetime) else v.isoformat()
    return str(v)


def dump(args):
    from duckdb_extensions import import_extension
    cat = catalog(args.data_dir, args.catalog)
    name = changelog_name(args.namespace, args.table)[: -len("_changelog")]
    table = cat.load_table(name)
    columns = args.columns.split(",")
    schema = table.schema()
    types = {c: str(schema.find_field(c).field_type) for c in columns}
    by_pyiceberg = sorted(
        (tuple(as_text(r[c]) for c in columns) for r in table.scan().to_arrow().to_pylist()),
        key=repr,
    )
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;")
    for ext in ["avro", "iceberg"]:
        import_extension(ext, con=con)
        con.execute(f"LOAD {ext}")
    quoted = ", ".join('"' + c + '"' for c in columns)
    by_duckdb = sorted(
        (tuple(as_text(v) for v in r)
         for r in con.execute(f"SELECT {quoted} FROM iceberg_scan('{table.metadata_location}')").fetchall()),
        key=repr,
    )
    result = {"table": args.table, "types": types, "rows": by_pyiceberg}
    if by_duckdb != by_pyiceberg:
        diff = [r for r in by_duckdb if r not in set(by_pyiceberg)][:5]
        result["duckdb_differs"] = {"duckdb_rows": len(by_duckdb), "examples": diff}
    print(json.dumps(result), flush=True)
    return 1 if "duckdb_differs" in result else 0


def offsets(args):
    from duckdb_extensions import import_extension
    cat = catalog(args.data_dir, args.catalog)
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;")
    for ext in ["avro", "iceberg"]:
        import_extension(ext, con=con)
        con.execute(f"LOAD {ext}")
    ok = True
    for table in args.tables.split(","):
        t = cat.load_table(changelog_name(args.namespace, table))
        arrow = t.scan(selected_fields=("_cdc_kafka_partition", "_cdc_kafka_offset")).to_arrow()
        pairs = sorted(zip(arrow["_cdc_kafka_partition"].to_pylist(), arrow["_cdc_kafka_offset"].to_pylist()))
        duck = con.execute(f"SELECT count(*) FROM iceberg_scan('{t.metadata_location}')").fetchone()[0]
        ok = ok and duck == len(pairs)
        print(json.dumps({"table": table, "offsets": pairs, "duckdb_rows": duck}), flush=True)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["compare", "dump", "offsets", "show"])
    p.add_argument("--pg")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--catalog", default="cdc")
    p.add_argument("--namespace", default="cdc")
    p.add_argument("--tables")
    p.add_argument("--table")
    p.add_argument("--limit", default=5)
    p.add_argument("--columns")
    args = p.parse_args()
    return {"compare": compare, "dump": dump, "offsets": offsets, "show": show}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
