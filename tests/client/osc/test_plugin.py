"""Our plugin beside python-blazarclient's: both load, neither hides the other, and every
option of every command explains itself."""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points

from tests.client.conftest import Cloud, openstack, openstack_process

OURS = "openstack.reservation_events.v1"


def test_both_plugins_load_and_blazars_commands_still_work(cloud: Cloud) -> None:
    listed = openstack(cloud.member_a, "command", "list", "--group", "reservation", "-f", "json")
    groups = {g["Command Group"]: g["Commands"] for g in listed.json()}
    assert "reservation lease list" in groups["openstack.reservation.v1"]
    assert "reservation subscription create" in groups[OURS]
    assert "reservation event type list" in groups[OURS]
    assert not set(groups[OURS]) & set(groups["openstack.reservation.v1"])
    # In a process of its own, as a user runs it, with both plugins installed.
    lease_help = openstack_process(cloud.member_a, "reservation", "lease", "list", "--help")
    assert lease_help.code == 0 and "--sort-by <lease_column>" in lease_help.out, lease_help
    assert "provided by the python-blazarclient plugin" in lease_help.out
    ours = openstack(cloud.member_a, "reservation", "subscription", "create", "--help")
    assert ours.code == 0 and "--notify-endpoint" in ours.out


def test_every_option_of_every_command_has_help() -> None:
    commands = entry_points(group=OURS)
    assert len(commands) == 10
    for entry in commands:
        parser = entry.load()(None, None).get_parser(entry.name)
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help.strip(), (entry.name, action.dest)
        assert entry.load().__doc__, entry.name
