#!/usr/bin/env python3
"""Regenerates the malformed-record corpus from the Debezium 3.6.3 golden insert of
`public.customers` (crates/cdc-model/tests/golden). Run from anywhere:

    python3 crates/cdc-sink/tests/corpus/malformed/generate.py

Each case is `<name>.value` (the Kafka record value; absent = null value) and optionally
`<name>.key`; `manifest.json` lists the cases, the `cdc.dlq.reason` the sink must give them and
a fragment of the `cdc.dlq.error` text. Cases marked `"after_valid": true` only fail once the
table exists (they conflict with it), so a test must send a valid record of the table first.
"""
import copy
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
GOLDEN = HERE.parents[3] / "cdc-model" / "tests" / "golden"
VALUE = json.loads((GOLDEN / "debezium_3.6.3_customers_insert.value.json").read_text())
KEY = json.loads((GOLDEN / "debezium_3.6.3_customers_insert.key.json").read_text())


def dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def envelope(edit=None):
    value = copy.deepcopy(VALUE)
    if edit:
        edit(value)
    return dump(value)


def row_fields(value):
    """The `before` and `after` struct schemas."""
    return [f for f in value["schema"]["fields"] if f["field"] in ("before", "after")]


cases = []


def case(name, reason, error, value, key=dump(KEY), after_valid=False, about=""):
    if value is not None:
        (HERE / f"{name}.value").write_bytes(value)
    if key is not None:
        (HERE / f"{name}.key").write_bytes(key)
    cases.append({
        "name": name,
        "reason": reason,
        "error_contains": error,
        "after_valid": after_valid,
        "about": about,
    })


full = envelope()
case("truncated_json", "decode", "value is not valid JSON", full[: len(full) // 2],
     about="the first half of a valid envelope")
case("empty_value", "decode", "value is not valid JSON", b"", about="a zero-length value")
case("not_json", "decode", "value is not valid JSON", b"Bob,bob@x.org\n", about="CSV text")


def bad_utf8(v):
    v["payload"]["after"]["first_name"] = "@@INVALID@@"


case("invalid_utf8", "decode", "value is not valid JSON",
     envelope(bad_utf8).replace(b"@@INVALID@@", b"B\xffb\xc3"),
     about="a string with bytes that are not UTF-8")
case("json_null_value", "decode", "envelope has no schema", b"null",
     about="the JSON text `null` (not a Kafka null value, which is a tombstone)")
case("schemaless", "decode", "envelope has no schema", dump(VALUE["payload"]),
     about="JsonConverter schemas.enable=false: the payload alone")


def wrong_type(v):
    v["payload"]["after"]["id"] = "two"


case("value_not_its_declared_type", "decode", "column id", envelope(wrong_type),
     about="after.id is a string but declared int32")


def unknown_op(v):
    v["payload"]["op"] = "x"


case("unknown_op", "decode", "unknown op", envelope(unknown_op), about="op `x`")


def no_source(v):
    del v["payload"]["source"]


case("missing_source", "decode", "`source`", envelope(no_source), about="no payload.source")


def sqlserver(v):
    v["payload"]["source"]["connector"] = "sqlserver"


case("other_connector", "decode", "unsupported connector", envelope(sqlserver),
     about="a SQL Server connector's event (not decoded yet)")

bad_key = copy.deepcopy(KEY)
bad_key["schema"]["fields"][0]["field"] = "customer_id"
bad_key["payload"] = {"customer_id": 2}
case("key_column_not_in_value", "decode", "key column customer_id", full, key=dump(bad_key),
     about="the key names a column the row does not have")
case("key_not_json", "decode", "key is not valid JSON", full, key=b"\x00\x01binary-key",
     about="a binary key where a JSON key is expected")


def update_without_after(v):
    v["payload"]["op"] = "u"
    v["payload"]["before"] = copy.deepcopy(v["payload"]["after"])
    v["payload"]["after"] = None


case("update_without_after", "missing_image", "u event has no after row image",
     envelope(update_without_after), about="an update whose after is null")


def delete_without_before(v):
    v["payload"]["op"] = "d"
    v["payload"]["after"] = None


case("delete_without_before", "missing_image", "d event has no before row image",
     envelope(delete_without_before), about="a delete whose before is null")


def id_as_string(v):
    for struct in row_fields(v):
        struct["fields"][0] = {"type": "string", "optional": False, "field": "id"}
    v["payload"]["after"]["id"] = "2"


case("column_type_conflicts_with_table", "schema_conflict", "column id",
     envelope(id_as_string), after_valid=True,
     about="id becomes a string while the Iceberg table has it as int")


def null_key(v):
    v["payload"]["after"]["id"] = None


case("key_column_null", "invalid_value", "null in a required column", envelope(null_key),
     about="after.id is null (declared required): a mirror table cannot hold the row")


def decimal_overflow(v):
    for struct in row_fields(v):
        struct["fields"].append({"type": "bytes", "optional": True,
                                 "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                                 "parameters": {"scale": "2", "connect.decimal.precision": "5"},
                                 "field": "price"})
    v["payload"]["after"]["price"] = "ALxhTg=="
    v["payload"]["source"]["table"] = "prices"


case("decimal_exceeds_precision", "invalid_value", "column price", envelope(decimal_overflow),
     about="123456.78 in a decimal(5,2) column")


def keyless(v):
    v["payload"]["source"]["table"] = "keyless"


case("keyless_table_in_mirror_mode", "unsupported_table", "needs a primary key",
     envelope(keyless), key=None,
     about="a table without a primary key (null key) in the default changelog+mirror modes")


def reserved(v):
    for struct in row_fields(v):
        struct["fields"].append({"type": "string", "optional": True, "field": "_cdc_op"})
    v["payload"]["after"]["_cdc_op"] = "c"
    v["payload"]["source"]["table"] = "reserved_names"


case("reserved_column_name", "unsupported_table", "reserved for a sink metadata column",
     envelope(reserved), about="a source column named like a sink metadata column")


def huge(v):
    v["payload"]["after"]["email"] = "x" * (512 * 1024)
    v["payload"]["op"] = "?"


case("huge_value", "decode", "unknown op", envelope(huge),
     about="a 512 KiB envelope (copied whole to the dead-letter topic, never logged)")

(HERE / "manifest.json").write_text(json.dumps({"cases": cases}, indent=2) + "\n")
print(f"{len(cases)} cases written to {HERE}")
