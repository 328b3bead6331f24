"""Reading a request: JSON bodies (415, 413, 400), query parameters, If-Match."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from blazar_events.errors import (
    InvalidInput,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
)

JSON_TYPES = ("application/json",)
MERGE_PATCH_TYPES = ("application/merge-patch+json", "application/json")
# ASCII digits only (\d would take any script's), and few enough to be an int of ours.
_ETAG = re.compile(r'^\s*(?:W/)?"?([0-9]{1,18})"?\s*\Z')
_INTEGER = re.compile(r"^-?[0-9]{1,18}\Z")


def json_body(accept: tuple[str, ...] = JSON_TYPES, *, optional: bool = False) -> Any:
    """The JSON body; an empty body is None when ``optional``."""
    raw = request.get_data(cache=True)  # werkzeug raises 413 past MAX_CONTENT_LENGTH
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is cut at the limit rather than refused: refuse it here.
        raise PayloadTooLarge(f"the body is larger than {limit} bytes")
    if not raw and optional:
        return None
    if request.mimetype not in accept:
        raise UnsupportedMediaType(
            f"Content-Type must be {' or '.join(accept)}, not {request.mimetype or 'missing'!r}"
        )
    too_deep_error = InvalidInput(f"the body is nested deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise too_deep_error from None
    if too_deep(body):  # it would exhaust the stack later on (merge patch, validation)
        raise too_deep_error
    return body


MAX_DEPTH = 32


def too_deep(value: Any) -> bool:
    """Whether a parsed JSON value nests objects/arrays more than MAX_DEPTH levels."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def only_params(*allowed: str) -> None:
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s): {', '.join(unknown)} (allowed: {', '.join(allowed)})"
        )


def int_param(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not _INTEGER.match(text):  # int() would take " 1_0" or Arabic-Indic digits
        raise InvalidInput(f"{name}: {text[:40]!r} is not an integer")
    value = int(text)
    if not low <= value <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}")
    return value


def bool_param(name: str) -> bool:
    text = request.args.get(name, "false").lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise InvalidInput(f"{name}: {text!r} is not a boolean")
    return text in ("true", "1", "yes")


def expected_version(body_version: int | None = None) -> int | None:
    """The version the client expects, from If-Match or the body's ``version``; 412 if both
    are given and disagree."""
    header = request.headers.get("If-Match")
    from_header: int | None = None
    if header is not None and header.strip() != "*":
        match = _ETAG.match(header)
        if match is None:
            raise PreconditionFailed(f'If-Match {header[:40]!r} is not an ETag of this API ("<n>")')
        from_header = int(match.group(1))
    if from_header is not None and body_version is not None and from_header != body_version:
        raise PreconditionFailed("If-Match and the body's version disagree")
    return from_header if from_header is not None else body_version


def etag(version: int) -> str:
    return f'"{version}"'
