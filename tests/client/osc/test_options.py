"""Flags to request bodies: pure parsing, so generated input straight at the functions."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from osc_lib import exceptions

from blazar_events_client.osc import options


@given(st.text(max_size=60))
def test_any_notify_endpoint_text_is_an_endpoint_or_a_command_error(text: str) -> None:
    try:
        endpoint = options.notify_endpoint(text)
    except exceptions.CommandError as exc:
        assert "<ip-address>:<port>" in str(exc)
        return
    ipaddress.ip_address(endpoint["ip_address"])
    assert 0 < endpoint["port"] < 65536


@given(st.ip_addresses(), st.integers(1, 65535))
def test_every_address_and_port_parses(address: ipaddress._BaseAddress, port: int) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    assert options.notify_endpoint(f"{host}:{port}") == {"ip_address": str(address), "port": port}


def _parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    options.add_filter_options(parser)
    return parser.parse_args(argv)


def test_no_filter_option_means_no_change() -> None:
    assert options.filters_from(_parsed()) is None


@given(st.binary(max_size=200))
def test_any_filters_file_is_filters_or_a_command_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("filters") / "f.json"
    path.write_bytes(data)
    try:
        found = options.filters_from(_parsed("--filters-file", str(path)))
    except exceptions.CommandError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(found, list) and all(isinstance(f, dict) for f in found)


def test_a_huge_filters_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text("[" + "{}," * (options.MAX_FILE_BYTES // 3) + "{}]")
    with pytest.raises(exceptions.CommandError, match="larger than"):
        options.filters_from(_parsed("--filters-file", str(path)))
