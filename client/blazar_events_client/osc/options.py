"""Turning command-line flags into the API's body: filters, endpoints, headers, delivery."""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

from osc_lib import exceptions

MAX_FILE_BYTES = 1 << 20  # a filters file is a few hundred bytes; a megabyte is a mistake
DIALECTS = ("exact", "prefix", "suffix")


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    for dialect in DIALECTS:
        parser.add_argument(
            f"--filter-{dialect}",
            metavar="<attribute>=<value>",
            action="append",
            default=[],
            help=(
                f"Match events whose CloudEvent attribute {dialect}"
                f"{'' if dialect == 'exact' else 'es'} <value> "
                "(attributes: type, source, subject, id, time, projectid, userid, leaseid, "
                "leasestatus, partitionkey). Repeat to AND several."
            ),
        )  # fmt: skip
    parser.add_argument(
        "--filter-sql",
        metavar="<expression>",
        action="append",
        default=[],
        help="Match events for which this CESQL expression is true, e.g. "
        "\"leasestatus IN ('ACTIVE', 'ERROR')\". Repeat to AND several.",
    )
    parser.add_argument(
        "--filters-file",
        metavar="<file>",
        help="Read filters from a JSON file ('-' for standard input): a list of filter "
        'objects such as [{"exact": {"leasestatus": "ACTIVE"}}, {"any": [...]}], ANDed '
        "with the --filter-* options.",
    )


def filters_from(parsed: argparse.Namespace) -> list[dict[str, Any]] | None:
    """The filters the options name, or None when no filter option was given."""
    found: list[dict[str, Any]] = []
    if parsed.filters_file:
        found.extend(_read_filters(parsed.filters_file))
    for dialect in DIALECTS:
        for item in getattr(parsed, f"filter_{dialect}"):
            attribute, value = split_pair(item, f"--filter-{dialect}")
            found.append({dialect: {attribute: value}})
    found.extend({"sql": expression} for expression in parsed.filter_sql)
    given = (
        parsed.filters_file
        or parsed.filter_sql
        or any(getattr(parsed, f"filter_{d}") for d in DIALECTS)
    )
    return found if given else None


def _read_filters(name: str) -> list[dict[str, Any]]:
    try:
        if name == "-":
            text = sys.stdin.read(MAX_FILE_BYTES + 1)
        else:
            with Path(name).open(encoding="utf-8") as handle:
                text = handle.read(MAX_FILE_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise exceptions.CommandError(f"--filters-file {name}: {exc}") from None
    if len(text) > MAX_FILE_BYTES:
        raise exceptions.CommandError(f"--filters-file {name}: larger than {MAX_FILE_BYTES} bytes")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise exceptions.CommandError(f"--filters-file {name}: not JSON: {exc}") from None
    if isinstance(value, dict) and isinstance(value.get("filters"), list):
        value = value["filters"]  # a subscription's JSON, as `show -f json` prints it
    elif isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise exceptions.CommandError(
            f"--filters-file {name}: expected a JSON list of filter objects"
        )
    return value


def split_pair(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise exceptions.CommandError(f"{option} {text!r}: expected <name>=<value>")
    return name, value


def notify_endpoint(text: str) -> dict[str, Any]:
    """``10.0.0.1:8217`` or ``[fd00::1]:8217`` -> the proposal's ``notify_endpoint``."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not sep or not 0 < number < 65536:
        raise exceptions.CommandError(
            f"--notify-endpoint {text!r}: expected <ip-address>:<port>, e.g. 10.0.0.1:8217"
        )
    return {"ip_address": host, "port": number}


def add_delivery_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--header",
        metavar="<name>=<value>",
        action="append",
        default=[],
        help="Send this HTTP header with every delivery (not Content-Type, Host, ce-* or "
        "webhook-*). Repeat for several.",
    )
    parser.add_argument("--method", choices=["POST", "PUT"], help="HTTP method of deliveries")
    parser.add_argument(
        "--mode",
        choices=["binary", "structured"],
        help="CloudEvents HTTP content mode of deliveries",
    )
    parser.add_argument(
        "--retry", type=int, metavar="<count>", help="Retries after a failed delivery"
    )
    parser.add_argument(
        "--backoff-policy",
        choices=["exponential", "linear"],
        help="How the delay between retries grows",
    )
    parser.add_argument(
        "--backoff-delay",
        metavar="<duration>",
        help="First delay between retries, an ISO 8601 duration such as PT0.5S",
    )
    parser.add_argument(
        "--timeout", metavar="<duration>", help="Timeout of one delivery, e.g. PT10S"
    )
    parser.add_argument(
        "--dead-letter-sink",
        metavar="<url>",
        help="Where a delivery goes after its last retry failed",
    )
    parser.add_argument(
        "--ordered",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Deliver one lease's events strictly in order (--no-ordered: in parallel)",
    )


def delivery_from(parsed: argparse.Namespace) -> dict[str, Any]:
    """The ``protocolsettings`` and ``delivery`` parts of a body the options name."""
    body: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    if parsed.header:
        settings["headers"] = dict(split_pair(h, "--header") for h in parsed.header)
    if parsed.method:
        settings["method"] = parsed.method
    if parsed.mode:
        settings["mode"] = parsed.mode
    if settings:
        body["protocolsettings"] = settings
    delivery = {
        key: value
        for key, value in (
            ("retry", parsed.retry),
            ("backoffPolicy", parsed.backoff_policy),
            ("backoffDelay", parsed.backoff_delay),
            ("timeout", parsed.timeout),
            ("deadLetterSink", parsed.dead_letter_sink),
            ("ordered", parsed.ordered),
        )
        if value is not None
    }
    if delivery:
        body["delivery"] = delivery
    return body
