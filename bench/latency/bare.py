"""The bare path of the latency benchmark: the same hops as the pipeline, with no logic.

Two processes, as the bridge and the broker are two:

    bare.py relay QUEUE EXCHANGE ROUTING_KEY TOPIC     RabbitMQ -> Kafka, ack after Kafka
    bare.py post TOPIC URL                             Kafka -> one keep-alive POST each

The relay consumes with kombu (manual ack, the bridge's read-ahead) and produces each body
unchanged with confluent-kafka (acks=all, idempotent, as the bridge), flushing at once and
acknowledging once Kafka confirmed. The poster reads every partition with confluent-kafka
(a fetch answered at the first record) and POSTs each value with http.client: the product's
client, no logic. Each prints "ready" once it consumes.
"""

from __future__ import annotations

import http.client
import sys
from typing import Any
from urllib.parse import urlsplit

import kombu
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from stack import layout


def relay(queue_name: str, exchange_name: str, routing_key: str, topic: str) -> None:
    producer = Producer({"bootstrap.servers": layout.KAFKA_BOOTSTRAP, "acks": "all",
                         "enable.idempotence": True, "linger.ms": 0})  # fmt: skip
    failed: list[KafkaError] = []

    def confirmed(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failed.append(error)

    exchange = kombu.Exchange(exchange_name, type="topic", durable=True)
    queue = kombu.Queue(queue_name, exchange, routing_key=routing_key, durable=True)
    pending: list[tuple[int, bytes]] = []
    with kombu.Connection(layout.AMQP_URL, heartbeat=0) as conn:
        conn.connect()
        sock = conn.connection.transport.sock
        conn.connection.transport._quick_recv = lambda n: sock.recv(max(n, 16 * 1024))
        channel = conn.channel()
        queue(channel).declare()
        channel.auto_decode = False
        channel.basic_qos(0, 1000, False)

        def on_message(message: Any) -> None:
            pending.append((message.delivery_info["delivery_tag"], message.body))

        channel.basic_consume(queue=queue_name, callback=on_message, no_ack=False)
        print("ready", flush=True)
        while True:
            try:
                conn.drain_events(timeout=1.0)
            except TimeoutError:
                continue
            for _, body in pending:
                producer.produce(topic, body, on_delivery=confirmed)
            producer.flush()
            if failed:
                raise SystemExit(f"Kafka refused a record: {failed[0]}")
            channel.basic_ack(pending[-1][0], multiple=True)
            pending.clear()


def post(topic: str, url: str) -> None:
    consumer = Consumer({"bootstrap.servers": layout.KAFKA_BOOTSTRAP, "group.id": "bench-bare",
                         "enable.auto.commit": False, "fetch.min.bytes": 1,
                         "fetch.wait.max.ms": 500})  # fmt: skip
    # From each partition's end as it is now (resolved before "ready": nothing published
    # after it may be skipped).
    starts = []
    for partition in consumer.list_topics(topic, 30).topics[topic].partitions:
        _, end = consumer.get_watermark_offsets(TopicPartition(topic, partition), 30)
        starts.append(TopicPartition(topic, partition, end))
    consumer.assign(starts)
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    headers = {"content-type": "application/json"}
    print("ready", flush=True)
    while True:
        first = consumer.poll(1.0)
        if first is None:
            continue
        for record in [first, *consumer.consume(499, 0)]:
            if record.error() is None:
                connection.request("POST", parts.path, body=record.value(), headers=headers)
                connection.getresponse().read()


def main(argv: list[str]) -> None:
    if argv[0] == "relay":
        relay(*argv[1:5])
    elif argv[0] == "post":
        post(*argv[1:3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
