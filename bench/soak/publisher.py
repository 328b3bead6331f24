"""Blazar's side: oslo.messaging's Notifier exactly as blazar-manager sets it up (driver
messagingv2, publisher ``blazar.lease``, its control_exchange, notification topic and
``amqp_durable_queues = true`` from a blazar.conf), at a steady rate.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from workload import USER, Leases, Note, to_payload

with warnings.catch_warnings():  # oslo's eventlet deprecation notice, on import
    warnings.simplefilter("ignore")
    import oslo_messaging
    from oslo_config import cfg


class _SendFailures(logging.Handler):
    """The messagingv2 driver logs and swallows a send that failed for good: count those,
    so a notification Blazar itself lost is not charged to the pipeline."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        self.failed = True


@dataclass
class Published:
    notes: list[Note] = field(default_factory=list)
    sent_at: dict[int, float] = field(default_factory=dict)  # seq -> wall clock
    failed: list[int] = field(default_factory=list)  # Notifier reported the send lost
    started: float = 0.0
    finished: float = 0.0


class Publisher:
    def __init__(
        self, transport_url: str, exchange: str, topic: str, config_dir: Path, run: str
    ) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        blazar_conf = config_dir / "blazar.conf"
        blazar_conf.write_text(
            f"[DEFAULT]\ncontrol_exchange = {exchange}\n"
            f"[oslo_messaging_notifications]\ndriver = messagingv2\ntopics = {topic}\n"
            "[oslo_messaging_rabbit]\namqp_durable_queues = true\n"
        )
        self.conf = cfg.ConfigOpts()
        self.conf(["--config-file", str(blazar_conf)], project="blazar")
        self.transport = oslo_messaging.get_notification_transport(self.conf, url=transport_url)
        self.notifier = oslo_messaging.Notifier(
            self.transport, publisher_id="blazar.lease", driver="messagingv2",
            topics=[topic],
        )  # fmt: skip
        self.failures = _SendFailures()
        logging.getLogger("oslo_messaging.notify.messaging").addHandler(self.failures)
        self.run = run
        self.result = Published()
        self.active = threading.Event()  # set while publishing

    def publish(self, leases: Leases, count: int, rate: float, stop: threading.Event) -> None:
        """``count`` notifications at ``rate`` per second (catching up after a stall)."""
        self.active.set()
        self.result.started = time.time()
        start = time.monotonic()
        try:
            for seq in range(count):
                if stop.is_set():
                    break
                due = start + seq / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                note = leases.next_note(seq)
                context = {"project_id": note.project, "user_id": USER}
                self.failures.failed = False
                sent = time.time()
                self.notifier.info(context, note.event_type, to_payload(note, self.run))
                if self.failures.failed:
                    self.result.failed.append(seq)
                    continue
                self.result.notes.append(note)
                self.result.sent_at[seq] = sent
        finally:
            self.result.finished = time.time()
            self.active.clear()

    def close(self) -> None:
        self.transport.cleanup()
