"""CloudEvents <-> Kafka records: the CloudEvents Kafka binding, binary content mode.

Pure and client-agnostic, like cloudevents' own binding: a :class:`KafkaRecord` is what any
Kafka client sends or receives. Attributes travel as ``ce_*`` headers, ``datacontenttype``
as ``content-type``, the data as the value, and the key is the lease id (the
``partitionkey`` extension) so that one lease's events keep their order in a partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat

from blazar_events.errors import NotificationRejected
from blazar_events.redaction import MAX_DEPTH, too_deep

REJECTION_HEADER_PREFIX: Final = "blazar_events_"
"""Headers of records on the rejected topic: ``blazar_events_reason``, ``..._error``, ..."""


class _Format(JSONFormat):
    """The SDK's JSON format, writing dict data with orjson: the bridge serialises every
    payload once more after translation, and the stdlib encoder was its largest cost."""

    def write_data(
        self, data: dict[str, Any] | str | bytes | None, datacontenttype: str | None
    ) -> bytes:
        if isinstance(data, dict):
            return orjson.dumps(data)
        return super().write_data(data, datacontenttype)


_FORMAT: Final = _Format()

Headers = Iterable[tuple[str, bytes]] | Mapping[str, bytes]


@dataclass(frozen=True)
class KafkaRecord:
    """One record as a Kafka client sends it (headers in kafka-python's list-of-pairs form)."""

    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    # A null value on a compacted topic (the lease state topic): the key's state is gone.
    tombstone: bool = False

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


def to_record(event: BaseCloudEvent) -> KafkaRecord:
    """The binary-mode record of ``event``; the key is its ``partitionkey`` (the lease id)."""
    message = kafka.to_binary(event, _FORMAT)
    key = message.key.encode("utf-8") if isinstance(message.key, str) else message.key
    return KafkaRecord(key=key, value=message.value, headers=tuple(message.headers.items()))


def from_record(key: bytes | str | None, value: bytes, headers: Headers) -> BaseCloudEvent:
    """The CloudEvent in a record (binary mode, or structured if it has no ``ce_`` header).

    Raises NotificationRejected (reason ``invalid-record``) for a record that holds none.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    try:
        message = kafka.KafkaMessage(
            headers={name: bytes(raw) for name, raw in pairs}, key=key, value=value or b""
        )
        event = kafka.from_kafka(message, _FORMAT)
    except (BaseCloudEventException, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise NotificationRejected(
            "invalid-record", f"the Kafka record is not a CloudEvent: {exc}"
        ) from None
    _check_depth(event.get_data(), message.value)
    return event


def _check_depth(data: Any, value: bytes) -> None:
    """Refuse data nesting deeper than the bridge lets a notification's data nest.

    Anyone who can write to the topic can write such a record. Past ~1,000 levels the SDK's
    parser (the stdlib's, recursive) raises RecursionError, caught above (uncaught, it
    stopped every replay over the record); below that, every JSON writer downstream
    (signing, dead letters, the retry schedule) would recurse over the data again, deeper in
    the stack. Counting brackets (in C) spares the walk for every real event.
    """
    if value.count(b"[") + value.count(b"{") > MAX_DEPTH and too_deep(data):
        raise NotificationRejected(
            "invalid-record", f"the Kafka record's data nests deeper than {MAX_DEPTH} levels"
        )


def to_rejected_record(
    body: bytes, reason: str, error: str, *, origin: Mapping[str, str] | None = None
) -> KafkaRecord:
    """A record for the rejected topic: the (redacted) body as value, the reason in headers.

    ``origin`` adds context such as the exchange and routing key, one header each.
    """
    headers = [
        (f"{REJECTION_HEADER_PREFIX}reason", reason.encode("utf-8")),
        (f"{REJECTION_HEADER_PREFIX}error", error.encode("utf-8", "replace")),
    ]
    for name, text in (origin or {}).items():
        headers.append((f"{REJECTION_HEADER_PREFIX}{name}", text.encode("utf-8", "replace")))
    return KafkaRecord(key=None, value=body, headers=tuple(headers))
