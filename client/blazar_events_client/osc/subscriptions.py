"""``openstack reservation subscription create|list|show|set|delete``."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from blazar_events_client.errors import ClientError
from blazar_events_client.osc import options
from blazar_events_client.osc.commands import OnSubscription, client_of
from blazar_events_client.osc.views import headings, to_rows, to_show

log = logging.getLogger(__name__)

LIST_FIELDS = ("id", "name", "project_id", "lease_id", "types", "sink", "status")
LONG_FIELDS = (*LIST_FIELDS, "filters", "description", "owner", "created_at", "updated_at")


def _add_common(parser: argparse.ArgumentParser) -> None:
    """The options create and set share."""
    parser.add_argument("--name", metavar="<name>", help="Name of the subscription")
    parser.add_argument("--description", metavar="<text>", help="Description")
    parser.add_argument(
        "--type",
        metavar="<event-type>",
        dest="types",
        action="append",
        help="Event type to receive, full (org.openstack.blazar.lease.event.start_lease) or "
        "short (lease.event.start_lease); repeat for several; none means every type "
        "(see `openstack reservation event type list`)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--sink", metavar="<url>", help="http(s) URL that receives the signed CloudEvents"
    )
    target.add_argument(
        "--notify-endpoint",
        metavar="<ip-address>:<port>",
        help="The original proposal's endpoint: deliveries go to http://<ip-address>:<port>/",
    )
    options.add_filter_options(parser)
    options.add_delivery_options(parser)


def _body(parsed: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for field in ("name", "description", "types", "sink"):
        if getattr(parsed, field) is not None:
            body[field] = getattr(parsed, field)
    if parsed.notify_endpoint:
        body["notify_endpoint"] = options.notify_endpoint(parsed.notify_endpoint)
    filters = options.filters_from(parsed)
    if filters is not None:
        body["filters"] = filters
    body.update(options.delivery_from(parsed))
    return body


class CreateSubscription(command.ShowOne):
    """Subscribe an endpoint to lease events (prints the signing secret, this once)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_common(parser)
        parser.add_argument(
            "--lease",
            metavar="<lease-id>",
            help="Only events of this lease (created through the proposal's route "
            "POST /v1/leases/<lease-id>/subscriptions)",
        )
        parser.add_argument(
            "--project",
            metavar="<project-id>",
            help="Project the subscription belongs to ('*': every project); admin only",
        )
        parser.add_argument(
            "--dedicated-function",
            action="store_true",
            default=None,
            help="Knative mode: a delivery function of its own (admin only by default)",
        )
        return parser

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        body = _body(parsed)
        if "sink" not in body and "notify_endpoint" not in body:
            raise exceptions.CommandError("one of --sink or --notify-endpoint is required")
        if parsed.project:
            body["project_id"] = parsed.project
        if parsed.dedicated_function:
            body["dedicated_function"] = True
        client = client_of(self)
        if parsed.lease:
            created = client.create_lease_subscriptions(parsed.lease, [body])[0]
        else:
            created = client.create_subscription(body)
        return to_show(created, with_secret=True)


class ListSubscriptions(command.Lister):
    """List subscriptions (your project's; an admin may ask for others)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--lease", metavar="<lease-id>", help="Only those of this lease")
        parser.add_argument(
            "--type", metavar="<event-type>", help="Only those that receive this event type"
        )
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--project", metavar="<project-id>", help="Only this project's (admin only)"
        )
        scope.add_argument(
            "--all-projects", action="store_true", help="Every project's (admin only)"
        )
        parser.add_argument(
            "--limit", type=int, metavar="<count>", help="At most this many (default: all)"
        )
        parser.add_argument(
            "--marker", metavar="<subscription-id>", help="Start after this subscription"
        )
        parser.add_argument(
            "--long", action="store_true", help="Show filters, description, owner and times"
        )
        return parser

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        if parsed.limit is not None and parsed.limit < 1:
            raise exceptions.CommandError("--limit must be at least 1")
        found = client_of(self).list_subscriptions(
            lease_id=parsed.lease,
            type=parsed.type,
            project_id=parsed.project,
            all_projects=parsed.all_projects,
            limit=parsed.limit,
            marker=parsed.marker,
        )
        fields = LONG_FIELDS if parsed.long else LIST_FIELDS
        return headings(fields), to_rows(found, fields)


class ShowSubscription(OnSubscription):
    """Show a subscription (never its secret)"""

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        return to_show(client_of(self).get_subscription(parsed.subscription))


class SetSubscription(OnSubscription):
    """Change a subscription (only what the options name)"""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        _add_common(parser)
        parser.add_argument(
            "--all-types", action="store_true", help="Receive every event type (clears --type)"
        )
        parser.add_argument("--no-filter", action="store_true", help="Remove every filter")
        lease = parser.add_mutually_exclusive_group()
        lease.add_argument("--lease", metavar="<lease-id>", help="Only events of this lease")
        lease.add_argument("--no-lease", action="store_true", help="Events of every lease")
        parser.add_argument(
            "--unset-header",
            metavar="<name>",
            action="append",
            default=[],
            help="Stop sending this delivery header; repeat for several",
        )
        status = parser.add_mutually_exclusive_group()
        status.add_argument(
            "--enable", action="store_true", help="Deliver again (after the sink answered 410)"
        )
        status.add_argument("--disable", action="store_true", help="Stop delivering")
        parser.add_argument(
            "--if-version",
            type=int,
            metavar="<version>",
            help="Change it only if it is still at this version (else HTTP 412)",
        )

    def take_action(self, parsed: argparse.Namespace) -> tuple[Any, Any]:
        changes = _body(parsed)
        if parsed.types and parsed.all_types:
            raise exceptions.CommandError("--type and --all-types contradict each other")
        if parsed.all_types:
            changes["types"] = []
        if parsed.no_filter:
            if "filters" in changes:
                raise exceptions.CommandError("--no-filter and a filter option contradict")
            changes["filters"] = []
        if parsed.lease or parsed.no_lease:
            changes["lease_id"] = parsed.lease  # None removes it
        if parsed.unset_header:
            headers = changes.setdefault("protocolsettings", {}).setdefault("headers", {})
            for name in parsed.unset_header:
                headers[name] = None  # merge patch: null removes the key
        if parsed.enable or parsed.disable:
            changes["status"] = "ACTIVE" if parsed.enable else "DISABLED"
        if not changes:
            raise exceptions.CommandError("nothing to change: name at least one option")
        updated = client_of(self).update_subscription(
            parsed.subscription, changes, if_match=parsed.if_version
        )
        return to_show(updated)


class DeleteSubscription(command.Command):
    """Delete subscriptions"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "subscriptions", metavar="<subscription>", nargs="+", help="Subscription ID(s)"
        )
        return parser

    def take_action(self, parsed: argparse.Namespace) -> None:
        client = client_of(self)
        failed = 0
        for sub_id in parsed.subscriptions:
            # One bad id does not stop the others, as with every OSC delete.
            try:
                client.delete_subscription(sub_id)
            except ClientError as exc:
                failed += 1
                log.error("Failed to delete subscription %s: %s", sub_id, exc)
        if failed:
            total = len(parsed.subscriptions)
            raise exceptions.CommandError(f"{failed} of {total} subscriptions failed to delete.")
