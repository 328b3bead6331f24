"""Sink names resolved off the request thread (pure threads, no DNS): each call's answer in
order, and a call that is late or finds the pool full is a refusal, never a wait."""

from __future__ import annotations

import socket
import threading

from api.resolver import Resolver
from blazar_events.errors import SinkRefused


def test_answers_and_errors_come_back_in_the_order_asked() -> None:
    def fails() -> int:
        raise socket.gaierror("no such name")

    results = Resolver(threads=2).run_all([lambda: 1, fails, lambda: 3], budget=60)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], socket.gaierror)


def test_a_name_that_does_not_answer_within_the_budget_is_refused_alone() -> None:
    stalled = threading.Event()
    try:
        results = Resolver(threads=2).run_all([stalled.wait, lambda: "ok"], budget=0.2)
    finally:
        stalled.set()
    assert results[1] == "ok"
    refused = results[0]
    assert isinstance(refused, SinkRefused) and "no answer within 0.2 s" in refused.message
    assert refused.details == {"rule": "resolve"}


def test_a_full_pool_refuses_at_once_and_frees_its_slots_afterwards() -> None:
    release = threading.Event()
    resolver = Resolver(threads=1, max_waiting=1)
    try:
        results = resolver.run_all([release.wait, release.wait, lambda: "late"], budget=0.2)
    finally:
        release.set()
    busy = results[2]
    assert isinstance(busy, SinkRefused) and "busy" in busy.message
    assert resolver.run_all([lambda: "again"], budget=60) == ["again"]
