"""``blazar-events api`` really serves HTTP under gunicorn with two workers."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import SINK
from tests.conftest import api_process


@pytest.fixture
def server(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "api.log"
    env = {
        "BLAZAR_EVENTS_REDIS_URL": redis_url,
        "BLAZAR_EVENTS_REDIS_KEY_PREFIX": redis_prefix,
        "BLAZAR_EVENTS_API_AUTH_STRATEGY": "noauth",
        "BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS": "10.0.0.0/8",
    }
    with api_process(env, log) as url:
        yield url, log


def test_create_and_read_over_http(server: tuple[str, Path]) -> None:
    url, log = server
    headers = {"X-Project-Id": "project-a", "X-User-Id": "alice", "X-Roles": "member"}
    with httpx.Client(base_url=url, headers=headers) as client:
        created = client.post("/v1/subscriptions", json={"sink": SINK})
        assert created.status_code == 201
        location = created.headers["Location"]
        assert location.startswith(url)
        # Each request may land on either worker: they share only Redis.
        for _ in range(10):
            shown = client.get(location)
            assert shown.status_code == 200 and shown.json()["id"] == created.json()["id"]
        missing = client.get("/v1/nothing")
        assert missing.status_code == 404 and missing.json()["error_name"] == "NotFound"
        assert client.get("/v1/openapi.json").json()["openapi"] == "3.1.0"
    text = log.read_text()
    assert "auth_strategy=noauth" in text
    assert text.count("Booting worker") == 2


MALFORMED = [
    b"GET /v1/subscriptions HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",  # NUL in a header
    b"GET /v1/subscriptions HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",  # invalid header line
    b"GET /" + b"a" * 4200 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # line over the 4094 limit
    b"GET /v1/subscriptions HTTP/9.Z\r\nHost: x\r\n\r\n",  # malformed HTTP version
    b"GET /v1/subscriptions HTTP/1.1\r\n"
    + b"".join(b"X-%d: 1\r\n" % n for n in range(200))
    + b"\r\n",  # too many header fields
]


def _raw(url: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def test_requests_gunicorn_refuses_get_blazar_json_errors(server: tuple[str, Path]) -> None:
    url, _ = server
    for request in MALFORMED:
        status, headers, body = _raw(url, request)
        code = int(status.split()[1])
        assert code in (400, 431), (request[:60], status, body)
        assert headers["content-type"] == "application/json", body
        error = json.loads(body)
        assert set(error) == {"error_code", "error_name", "error_message"}
        assert error["error_code"] == code and error["error_message"].startswith("malformed")
    # The workers are still serving after all that.
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
