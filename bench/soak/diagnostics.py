"""What the soak reports about the pipeline itself: where undelivered events sit, and the
bridge's own view of its health (its address is in its log: it listens on a free port)."""

from __future__ import annotations

import re

import httpx
import kombu
from pipeline import PARTITIONS, Soak

from stack.layout import AMQP_URL, KAFKA_BOOTSTRAP


def whereabouts(soak: Soak) -> str:
    """Where undelivered events may sit: the bridge's queue, the topic, the group's lag."""
    parts: list[str] = []
    try:
        with kombu.Connection(AMQP_URL) as conn:
            declared = conn.channel().queue_declare(soak.tag, passive=True)
            parts.append(f"bridge queue: {declared.message_count:,} ready messages")
    except Exception as exc:
        parts.append(f"bridge queue: unknown ({type(exc).__name__})")
    try:
        import confluent_kafka

        probe = confluent_kafka.Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP,
                                          "group.id": soak.tag, "log_level": 2})  # fmt: skip
        try:
            partitions = [confluent_kafka.TopicPartition(soak.topic, n)
                          for n in range(PARTITIONS)]  # fmt: skip
            ends = [probe.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions]
            committed = probe.committed(partitions, timeout=10)
            lag = sum(end - max(tp.offset, 0) for end, tp in zip(ends, committed, strict=True))
            parts.append(f"topic: {sum(ends):,} records; broker group lag {lag:,}")
        finally:
            probe.close()
    except Exception as exc:
        parts.append(f"topic: unknown ({type(exc).__name__}: {exc})")
    parts.append(f"bridge: {_bridge_health(soak)}")
    return "; ".join(parts)


def bridge_ready(soak: Soak) -> tuple[bool, str]:
    found = re.findall(r"health and metrics on (http://\S+/)", soak.components["bridge"].log
                       .read_text(errors="replace"))  # fmt: skip
    if not found:
        return True, "starting"
    try:
        answer = httpx.get(found[-1] + "readyz", timeout=5)
    except httpx.HTTPError as exc:
        return False, f"/readyz does not answer ({type(exc).__name__})"
    return answer.status_code == 200, answer.text.strip()[:200]


def _bridge_health(soak: Soak) -> str:
    """The running bridge's /readyz and forwarded counter (its port is in its log)."""
    found = re.findall(r"health and metrics on (http://\S+/)", soak.components["bridge"].log
                       .read_text(errors="replace"))  # fmt: skip
    if not found:
        return "no health address in its log"
    try:
        ready = httpx.get(found[-1] + "readyz", timeout=5)
        metrics = httpx.get(found[-1] + "metrics", timeout=5).text
    except httpx.HTTPError as exc:
        return f"not answering ({type(exc).__name__})"
    forwarded = re.findall(r"^blazar_events_bridge_forwarded_total (\S+)", metrics, re.M)
    return (f"/readyz {ready.status_code} {ready.text.strip()[:200]}; forwarded since its"
            f" last start {forwarded[-1] if forwarded else '?'}")  # fmt: skip
