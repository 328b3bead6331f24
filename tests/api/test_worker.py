"""The API's gunicorn worker: requests gunicorn refuses itself get Blazar-shaped JSON errors,
over a real socket to the real server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx

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
