"""What the ``openstack reservation …`` commands share: the API client OSC made for them, and
the shape of a command on one subscription (its ID first, one record shown)."""

from __future__ import annotations

import argparse

from osc_lib.command import command

from blazar_events_client.client import Client


def client_of(cmd: command.Command) -> Client:
    # OSC sets the attribute from the plugin's API_NAME, out of mypy's sight.
    result: Client = getattr(cmd.app.client_manager, "reservation_events")  # noqa: B009
    return result


def add_subscription_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subscription", metavar="<subscription>", help="Subscription ID")


class OnSubscription(command.ShowOne):
    """A command on one subscription: its ID, then the options of :meth:`add_options`."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_subscription_argument(parser)
        self.add_options(parser)
        return parser

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The command's own options, after the ID; none unless a command adds them."""
