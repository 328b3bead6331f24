"""A stand-in for Knative's Kafka Broker dispatcher, for the subscription on the function lane.

In Knative mode a Trigger's dispatcher reads the topic, applies the Trigger's filter and
POSTs each event (binary mode) to the delivery function, retrying until the function answers
2xx and committing the offset only after; a 4xx sends it to the dead letter. This does the
same for one Trigger, with the soak's own filter, so the function service can be SIGKILLed
mid-run like every other component. No Kubernetes runs on this machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import confluent_kafka
import httpx
from workload import PREFIX, Note

BACKOFF_MAX = 2.0


class Dispatcher:
    def __init__(
        self, bootstrap: str, topic: str, group: str, url: str, matches: Callable[[Note], bool]
    ) -> None:
        self.url, self.matches = url, matches
        self.consumer = confluent_kafka.Consumer({
            "bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "log_level": 2,  # librdkafka's connection errors while Kafka restarts: expected
        })  # fmt: skip
        self.consumer.subscribe([topic])
        self.client = httpx.Client(timeout=15)
        self.stop = threading.Event()
        self.posted = 0
        self.retries = 0
        self.dead_lettered: list[tuple[str, int, str]] = []  # (event id, status, body)
        self.thread = threading.Thread(target=self._run, name="trigger", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.consumer.close()
        self.client.close()

    def _run(self) -> None:
        while not self.stop.is_set():
            message = self.consumer.poll(0.5)
            if message is None or message.error():
                continue
            pairs: list[tuple[str, bytes | str | None]] = list(message.headers() or [])  # type: ignore[arg-type]
            headers = {k: v.decode() if isinstance(v, bytes) else (v or "") for k, v in pairs}
            if self._wanted(headers):
                self._dispatch(headers, message.value() or b"")
            if not self.stop.is_set():  # a record interrupted mid-retry is not committed
                self.consumer.commit(message=message, asynchronous=True)

    def _wanted(self, headers: dict[str, str]) -> bool:
        ce_type = headers.get("ce_type", "")
        if not ce_type.startswith(PREFIX):
            return False
        note = Note(-1, ce_type[len(PREFIX) :], headers.get("ce_projectid", ""),
                    headers.get("ce_leaseid", ""), headers.get("ce_leasestatus", ""))  # fmt: skip
        return self.matches(note)

    def _dispatch(self, headers: dict[str, str], body: bytes) -> None:
        http_headers = {"ce-" + k[3:]: v for k, v in headers.items() if k.startswith("ce_")}
        http_headers["content-type"] = headers.get("content-type", "application/json")
        delay = 0.1
        while not self.stop.is_set():
            try:
                answer = self.client.post(self.url, headers=http_headers, content=body)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.is_success:
                self.posted += 1
                return
            if answer is not None and 400 <= answer.status_code < 500:
                self.dead_lettered.append((http_headers.get("ce-id", ""), answer.status_code,
                                           answer.text[:200]))  # fmt: skip
                return
            self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
