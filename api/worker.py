"""The gunicorn worker of the API: errors gunicorn answers itself are Blazar-shaped JSON too.

A request gunicorn cannot parse (a NUL or a malformed header line, an over-long request line,
too many headers, a bad HTTP version) never reaches Flask; gunicorn's own ``handle_error``
would answer it with an HTML page. Clients of this API parse ``error_code``/``error_name``/
``error_message`` whatever went wrong, so this worker writes that body instead.
"""

from __future__ import annotations

import json
import socket
from ssl import SSLError
from typing import Any

from gunicorn import util
from gunicorn.http.errors import (
    ConfigurationProblem,
    ForbiddenProxyRequest,
    LimitRequestHeaders,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers.sync import SyncWorker

from blazar_events.errors import to_error_body

# (status, reason, error_name) for the parse errors that are not a plain 400
_SPECIAL: tuple[tuple[type[Exception], int, str, str], ...] = (
    (LimitRequestHeaders, 431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge"),
    (ForbiddenProxyRequest, 403, "Forbidden", "PolicyNotAuthorized"),
    (SSLError, 403, "Forbidden", "PolicyNotAuthorized"),
    (UnsupportedTransferCoding, 501, "Not Implemented", "NotImplemented"),
    (ConfigurationProblem, 500, "Internal Server Error", "InternalError"),
)


def to_error(exc: BaseException) -> tuple[int, str, str, str]:
    """(status, reason phrase, error_name, error_message) of an error gunicorn caught."""
    for kind, status, reason, name in _SPECIAL:
        if isinstance(exc, kind):
            return status, reason, name, f"malformed request: {exc}"
    if isinstance(exc, ParseException):
        return 400, "Bad Request", "InvalidInput", f"malformed request: {exc}"
    return 500, "Internal Server Error", "InternalError", "internal error; see the API log"


def to_http(status: int, reason: str, name: str, message: str) -> bytes:
    body = json.dumps(to_error_body(status, name, message))
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body.encode())}\r\n\r\n"
    )
    return head.encode("latin-1") + body.encode()


class JsonErrorWorker(SyncWorker):
    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        status, reason, name, message = to_error(exc)
        ip = (addr or ("",))[0]  # empty for a unix socket
        if status == 500 and not isinstance(exc, ConfigurationProblem):
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        else:
            self.log.warning("Invalid request from ip=%s: %s", ip, exc)
        try:
            util.write_nonblock(client, to_http(status, reason, name, message))
        except Exception:  # the client may be gone already; nothing more to tell it
            self.log.debug("Failed to send error message.")
