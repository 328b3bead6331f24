"""What python-openstackclient reads from a plugin (the ``openstack.cli.extension`` entry point).

The API name ``reservation_events`` is not python-blazarclient's ``reservation``: each plugin
has its own client on OSC's client manager and its own command group
(``openstack.reservation_events.v1``), and the command names (``reservation subscription …``,
``reservation event type list``) are words blazarclient does not use.
"""

from __future__ import annotations

import argparse
from typing import Any

from osc_lib import utils

from blazar_events_client.client import SERVICE_TYPE, Client

API_NAME = "reservation_events"
API_VERSION_OPTION = "os_reservation_events_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = {"1": "blazar_events_client.client.Client"}


def make_client(instance: Any) -> Client:
    """The client on OSC's session, for the region and interface the user chose."""
    return Client(
        instance.session,
        service_type=SERVICE_TYPE,
        interface=instance.interface,
        region_name=instance.region_name,
    )


def build_option_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--os-reservation-events-api-version",
        metavar="<reservation-events-api-version>",
        default=utils.env("OS_RESERVATION_EVENTS_API_VERSION", default=DEFAULT_API_VERSION),
        help=(
            "blazar-events API version, default=" + DEFAULT_API_VERSION
            + " (Env: OS_RESERVATION_EVENTS_API_VERSION)"
        ),
    )  # fmt: skip
    return parser
