"""Every error leaves the API in Blazar's shape, whatever raised it.

``{"error_code": 404, "error_name": "NotFound", "error_message": "..."}`` for our own errors,
for Flask/werkzeug's (unknown route, wrong method, body too large) and, without a traceback,
for anything unexpected.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from blazar_events.errors import BlazarEventsError, TooManyRequests, to_error_body

LOG = logging.getLogger(__name__)

_NAMES = {
    400: "InvalidInput",
    401: "NotAuthorized",
    403: "PolicyNotAuthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}


def to_response(code: int, name: str, message: str) -> Response:
    response = jsonify(to_error_body(code, name, message))
    response.status_code = code
    return response


def register(app: Flask) -> None:
    @app.errorhandler(BlazarEventsError)
    def _ours(exc: BlazarEventsError) -> Response:
        if exc.code >= 500:
            LOG.warning("%s: %s", exc.name, exc.message)
        response = to_response(exc.code, exc.name, exc.message)
        if exc.code == 401:
            identity = app.config.get("IDENTITY_URI")
            response.headers["WWW-Authenticate"] = (
                f'Keystone uri="{identity}"' if identity else "Keystone"
            )
        if exc.code == 503:
            response.headers["Retry-After"] = "5"
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        message = exc.description or exc.name
        response = to_response(code, _NAMES.get(code, exc.name.replace(" ", "")), message)
        for header, value in exc.get_headers():
            if header.lower() != "content-type":
                response.headers[header] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        LOG.exception("unexpected error")
        return to_response(500, "InternalError", "internal error; see the API log")
