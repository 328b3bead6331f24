"""``openstack reservation subscription rotate-secret|test|replay|delivery list`` and
``openstack reservation event type list``."""

from __future__ import annotations

import argparse
from typing import Any

from osc_lib.command import command

from blazar_events_client.osc.commands import OnSubscription, add_subscription_argument, client_of
from blazar_events_client.osc.views import headings, to_rows, to_show

DELIVERY_FIELDS = (
    "at", "event_id", "type", "attempt", "outcome", "status_code", "latency_ms", "error",
)  # fmt: skip


class RotateSecret(OnSubscription):
    """Give a subscription a new signing secret (printed this once)"""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--grace-period",
            metavar="<duration>",
            help="How long the previous secret keeps signing too, an ISO 8601 duration such "
            "as PT1H (default: the service's, 24 hours unless configured)",
        )

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        rotated = client_of(self).rotate_secret(
            parsed.subscription, grace_period=parsed.grace_period
        )
        return to_show(rotated, with_secret=True)


class SendTestEvent(OnSubscription):
    """Have the service send a test event to the subscription's endpoint"""

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        return to_show(client_of(self).send_test_event(parsed.subscription))


class Replay(OnSubscription):
    """Deliver again the subscription's events of a past time window"""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--since",
            metavar="<time>",
            required=True,
            help="Start of the window, RFC 3339 with an offset, e.g. 2026-07-10T12:00:00Z",
        )
        parser.add_argument(
            "--until", metavar="<time>", help="End of the window, exclusive (default: now)"
        )

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        accepted = client_of(self).replay(parsed.subscription, parsed.since, parsed.until)
        return to_show(accepted)


class ListDeliveries(command.Lister):
    """List a subscription's delivery attempts, newest first"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_subscription_argument(parser)
        parser.add_argument(
            "--limit", type=int, metavar="<count>", help="At most this many attempts"
        )
        return parser

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        attempts = client_of(self).list_deliveries(parsed.subscription, limit=parsed.limit)
        return headings(DELIVERY_FIELDS), to_rows(attempts, DELIVERY_FIELDS)


class ListEventTypes(command.Lister):
    """List the event types one can subscribe to"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--long", action="store_true", help="Show the JSON schema of each type's payload"
        )
        return parser

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        fields: tuple[str, ...] = ("type", "short", "description")
        if parsed.long:
            fields = (*fields, "dataschema")
        return headings(fields), to_rows(client_of(self).list_event_types(), fields)
