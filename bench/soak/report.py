"""Counting: expected (the soak's own matching), delivered, lost, duplicates, out of scope,
signature failures, delays, order; per subscription and in total.

A delivery is a request the sink answered 2xx; a request the flaky sink answered 500 is a
failed attempt, neither a delivery nor a duplicate. Any request at all (answered or not) for
an event outside the subscription's scope counts as out of scope: it reached the wrong
subscriber. Duplicates are 2xx deliveries of an event beyond its first.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from sinks import Hit
from workload import Note, SubDef


@dataclass
class Update:
    """When the mid-run update was made (wall clock) and how long the broker may take to see it."""

    started: float = 0.0
    finished: float = 0.0
    grace: float = 10.0


@dataclass
class Row:
    name: str
    lane: str
    notes: str
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicates: int = 0
    duplicates_pct: float = 0.0
    out_of_scope: int = 0
    ambiguous: int = 0  # events published around the update, accepted either way
    signature_failures: int = 0
    attempts: int = 0
    order_violations: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    lost_seqs: list[int] = field(default_factory=list)
    out_of_scope_seqs: list[int | None] = field(default_factory=list)
    delays_ms: list[float] = field(default_factory=list, repr=False)  # not in the JSON


def expected_for(
    sub: SubDef, notes: list[Note], sent_at: dict[int, float], update: Update
) -> tuple[set[int], set[int]]:
    """The sequence numbers ``sub`` must receive, and those it may or may not (the update)."""
    must: set[int] = set()
    either: set[int] = set()
    for note in notes:
        if not sub.in_project(note):
            continue
        old = sub.matches(note)
        if sub.update is None or not update.finished:
            if old:
                must.add(note.seq)
            continue
        new = sub.update[1](note)
        if old == new:
            if old:
                must.add(note.seq)
        elif sent_at[note.seq] > update.finished + update.grace:
            if new:
                must.add(note.seq)
        else:
            either.add(note.seq)
    return must, either


def _quantile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def tally(
    sub: SubDef,
    hits: list[Hit],
    notes: list[Note],
    sent_at: dict[int, float],
    update: Update,
) -> Row:
    row = Row(sub.name, sub.lane, "; ".join(sub.notes))
    must, either = expected_for(sub, notes, sent_at, update)
    lease_of = {note.seq: note.lease_id for note in notes}
    first: dict[int, float] = {}
    oks: dict[int, int] = {}
    foreign: set[int | None] = set()
    for hit in hits:
        row.attempts += 1
        if not hit.verified:
            row.signature_failures += 1
        early = hit.seq in either and hit.at < update.started  # matched before the update
        if hit.seq is None or early or (hit.seq not in must and hit.seq not in either):
            foreign.add(hit.seq)
            continue
        if 200 <= hit.status < 300:
            oks[hit.seq] = oks.get(hit.seq, 0) + 1
            first.setdefault(hit.seq, hit.at)
    row.expected = len(must)
    row.ambiguous = len(either)
    row.delivered = len(must & first.keys())
    lost = sorted(must - first.keys())
    row.lost, row.lost_seqs = len(lost), lost[:50]
    row.duplicates = sum(count - 1 for count in oks.values())
    row.duplicates_pct = 100.0 * row.duplicates / max(len(oks), 1)
    row.out_of_scope = len(foreign)
    row.out_of_scope_seqs = sorted(foreign, key=lambda s: -1 if s is None else s)[:50]
    delays = sorted((at - sent_at[seq]) * 1000 for seq, at in first.items() if seq in sent_at)
    row.delays_ms = delays
    if delays:
        row.p50_ms, row.p99_ms = _quantile(delays, 50), _quantile(delays, 99)
        row.max_ms = delays[-1]
    if sub.ordered:
        row.order_violations = _order_violations(first, lease_of)
    return row


def _order_violations(first: dict[int, float], lease_of: dict[int, str]) -> int:
    """Events that reached an ordered subscriber after a later event of the same lease."""
    newest: dict[str, int] = {}
    violations = 0
    for seq, _ in sorted(first.items(), key=lambda item: item[1]):
        lease = lease_of[seq]
        if seq < newest.get(lease, -1):
            violations += 1
        newest[lease] = max(newest.get(lease, -1), seq)
    return violations


def total(rows: list[Row]) -> Row:
    out = Row("TOTAL", "", "")
    for row in rows:
        for name in ("expected", "delivered", "lost", "duplicates", "out_of_scope", "ambiguous",
                     "signature_failures", "attempts"):  # fmt: skip
            setattr(out, name, getattr(out, name) + getattr(row, name))
    out.duplicates_pct = 100.0 * out.duplicates / max(out.delivered, 1)
    delays = sorted(d for row in rows for d in row.delays_ms)
    if delays:
        out.p50_ms, out.p99_ms = _quantile(delays, 50), _quantile(delays, 99)
        out.max_ms = delays[-1]
    return out


def duplicate_causes(
    subs: list[SubDef], hits: dict[str, list[Hit]], faults: list[tuple[float, str]]
) -> dict[str, int]:
    """Each repeated 2xx delivery, charged to the last fault that began between the first
    delivery and the repeat (``faults``: wall-clock start, label); else "no fault between"."""
    causes: dict[str, int] = {}
    starts = sorted(faults)
    for sub in subs:
        first: dict[int, float] = {}
        for hit in sorted(hits[sub.name], key=lambda h: h.at):
            if hit.seq is None or not 200 <= hit.status < 300:
                continue
            if hit.seq not in first:
                first[hit.seq] = hit.at
                continue
            between = [label for at, label in starts if first[hit.seq] <= at <= hit.at]
            cause = between[-1] if between else "no fault between"
            causes[cause] = causes.get(cause, 0) + 1
    return dict(sorted(causes.items(), key=lambda item: -item[1]))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(rows: list[Row]) -> str:
    head = (f"{'subscription':<12} {'lane':<8} {'expected':>8} {'delivered':>9} {'lost':>5} "
            f"{'dup':>6} {'dup %':>6} {'out-of-scope':>12} {'bad sig':>7} {'p50 ms':>8} "
            f"{'p99 ms':>8} {'max ms':>8}  notes")  # fmt: skip
    lines = [head, "-" * len(head)]
    for row in [*rows, total(rows)]:
        notes = row.notes
        if row.ambiguous:
            notes += f"; {row.ambiguous} sent before the update match only its new form"
        if row.order_violations is not None:
            notes += f"; order violations {row.order_violations}"
        lines.append(
            f"{row.name:<12} {row.lane:<8} {row.expected:>8,} {row.delivered:>9,} {row.lost:>5,} "
            f"{row.duplicates:>6,} {row.duplicates_pct:>6.2f} {row.out_of_scope:>12,} "
            f"{row.signature_failures:>7,} {_ms(row.p50_ms):>8} {_ms(row.p99_ms):>8} "
            f"{_ms(row.max_ms):>8}  {notes.strip('; ')}"
        )
    return "\n".join(lines)


def to_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in asdict(row).items() if k != "delays_ms"} for row in [*rows, total(rows)]
    ]
