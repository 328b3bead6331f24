"""The stack's RabbitMQ: an AMQP client logs in where `stack status` says and round-trips a
message on a queue of its own."""

from __future__ import annotations

import time
import uuid

import kombu

from stack.layout import AMQP_URL
from stack.rabbitmq import RabbitMQ
from tests.conftest import _require


def test_a_client_logs_in_and_a_message_goes_round() -> None:
    _require("rabbitmq")
    assert RabbitMQ().status().answers
    name = f"stack-test-{uuid.uuid4().hex[:8]}"
    with kombu.Connection(AMQP_URL, connect_timeout=10) as connection:
        queue = kombu.Queue(name, auto_delete=True, channel=connection.channel())
        queue.declare()
        try:
            with connection.Producer() as producer:
                producer.publish({"n": 1}, routing_key=name, serializer="json")
            message = None
            for _ in range(100):
                message = queue.get(no_ack=True)
                if message is not None:
                    break
                time.sleep(0.05)
            assert message is not None and message.payload == {"n": 1}
        finally:
            queue.delete()
