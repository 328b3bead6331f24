"""The shape every command on one subscription shares: the ID first and required, then the
command's own options."""

from __future__ import annotations

import argparse

import pytest

from blazar_events_client.osc.actions import Replay, RotateSecret, SendTestEvent
from blazar_events_client.osc.subscriptions import SetSubscription, ShowSubscription


def parser_of(cls: type) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = cls(None, None).get_parser(f"openstack {cls.__name__}")
    return parser


@pytest.mark.parametrize("cls", [ShowSubscription, SendTestEvent, RotateSecret, SetSubscription])
def test_the_subscription_id_is_required(cls: type) -> None:
    with pytest.raises(SystemExit):
        parser_of(cls).parse_args([])
    assert parser_of(cls).parse_args(["sub-1"]).subscription == "sub-1"


def test_a_command_keeps_its_own_options_after_the_id() -> None:
    parsed = parser_of(Replay).parse_args(["sub-1", "--since", "2026-07-10T12:00:00Z"])
    assert (parsed.subscription, parsed.since, parsed.until) == (
        "sub-1",
        "2026-07-10T12:00:00Z",
        None,
    )
    rotated = parser_of(RotateSecret).parse_args(["sub-1", "--grace-period", "PT1H"])
    assert rotated.grace_period == "PT1H"
    changed = parser_of(SetSubscription).parse_args(["sub-1", "--name", "n", "--disable"])
    assert (changed.name, changed.disable) == ("n", True)
