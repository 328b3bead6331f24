"""How a subscription and the other answers are shown: cliff columns and rows.

Structured fields (types, filters, delivery, ...) are cliff ``FormattableColumn``s: readable
text in a table, the JSON value itself under ``-f json`` and ``-f yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from cliff import columns

# Only create and rotation answers carry a secret; every other view drops it whatever the
# server sends, so a secret never lands in a terminal's scroll-back by accident.
SECRET = "secret"


class JsonColumn(columns.FormattableColumn):
    """A list or an object: compact JSON in a table, the value itself for machines."""

    def human_readable(self) -> str:
        value = self._value
        if value is None:
            return ""
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "\n".join(value)
        return json.dumps(value, sort_keys=True)

    def machine_readable(self) -> Any:
        return self._value


def _cell(value: Any) -> Any:
    return JsonColumn(value) if isinstance(value, list | dict) else value


def to_show(
    record: dict[str, Any], *, with_secret: bool = False
) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """One object as (names, values), names sorted as OSC shows them."""
    shown = {k: v for k, v in record.items() if with_secret or k != SECRET}
    names = tuple(sorted(shown))
    return names, tuple(_cell(shown[name]) for name in names)


def to_rows(records: Iterable[dict[str, Any]], fields: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(_cell(record.get(field)) for field in fields) for record in records]


def headings(fields: Sequence[str]) -> tuple[str, ...]:
    """``lease_id`` -> ``Lease ID``, as OSC titles its columns."""
    special = {"id": "ID", "ms": "(ms)"}
    return tuple(
        " ".join(special.get(word, word.capitalize()) for word in field.split("_"))
        for field in fields
    )
