"""Credentials out of notifications: Blazar's messages carry the caller's Keystone token in
``_context_*`` keys and a ``trust_id`` in the payload. :func:`without_secrets` drops them from
a message that becomes an event; :func:`redact_body` replaces their values in a body that goes
to the rejected topic, parsed or not. Pure, like :mod:`blazar_events.events`, which uses it.
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

import orjson

REDACTED: Final = "[redacted]"
MAX_DEPTH: Final = 100
"""Deepest nesting of objects and arrays a notification may have (Blazar's is about 5).

The parser (orjson) stops at 1,024 levels by itself, so parsing an untrusted body is
bounded in depth, and in size by ``max_bytes``. This lower bound is for what walks a
parsed message afterwards: the secret filters here and the CloudEvent's serializer
(orjson writes 254 levels at most) recurse, and Python stops recursing at 1,000 frames.
"""

# A secret key (see _is_secret) and its value in text that is not valid JSON (truncated,
# garbled) or inside a JSON string (quotes escaped once, as in oslo.message, or more),
# with bytes that are not text tolerated around the colon.
_JUNK = rb"(?:[\x80-\xff]|\\u[0-9a-fA-F]{4})*"
_SECRET_TEXT = re.compile(
    rb'(\\*"(?:trust_id|_context_[A-Za-z0-9_]*)\\*"'
    + _JUNK
    + rb"\s*"
    + _JUNK
    + rb":"
    + _JUNK
    + rb"\s*"
    + _JUNK
    + rb')((?:[^",}\s]*\s*)?\\*"[^"\\]*\\*"|[^,}\s]+)'
)
# What the pattern could not see: secret names behind escapes or among bytes that are not
# printable ASCII (`"\xfftrust_id"`, `"\u0074rust_id"`, `"_con\\udc00text_..."`).
_SECRET_NAME = re.compile(rb"trust_id|_context_")
_ASCII_ESCAPE = re.compile(rb"\\u00([2-7][0-9a-fA-F])")
_NOISE = re.compile(rb"\\u[0-9a-fA-F]{4}|[^\x20-\x7e]")
WITHHELD: Final = b"[withheld: the body does not parse and a credential may hide in it]"


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def without_secrets(message: dict[str, Any], text: str) -> dict[str, Any]:
    """``message`` (parsed from ``text``) without secrets, walking it whole only if needed.

    Blazar puts secrets at two levels: ``_context_*`` in the message, ``trust_id`` in the
    payload. Every key dropped there occurs once in the text; if the text holds more
    occurrences, a secret sits deeper (or in a value, or the text escapes letters), and
    only then is the whole tree walked. The common case costs two dict comprehensions and
    two substring counts, which matters at thousands of notifications a second.
    """
    clean = {k: v for k, v in message.items() if k != "trust_id" and k[:9] != "_context_"}
    dropped = len(message) - len(clean)
    payload = clean.get("payload")
    if isinstance(payload, dict):
        kept = {k: v for k, v in payload.items() if k != "trust_id" and k[:9] != "_context_"}
        dropped += len(payload) - len(kept)
        clean["payload"] = kept
    if "\\u" in text or text.count('"trust_id"') + text.count('"_context_') != dropped:
        return cast(dict[str, Any], sanitize(clean))
    return clean


def _is_secret(key: str) -> bool:
    return key == "trust_id" or key.startswith("_context_")


def sanitize(value: Any) -> Any:
    """``value`` without any ``trust_id`` or ``_context_*`` key, at any depth (a copy)."""
    if isinstance(value, dict):
        return {k: sanitize(v) for k, v in value.items() if not _is_secret(str(k))}
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """``value`` with the values of secret keys replaced, keeping the shape (a copy).

    Rejected bodies keep their keys so an operator can see what was wrong with them.
    """
    if isinstance(value, dict):
        return {
            k: REDACTED if _is_secret(str(k)) and v is not None else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_body(body: bytes) -> bytes:
    """A rejected body with every credential value replaced by ``[redacted]``.

    Structured when the body (and the envelope's inner message) parse as JSON within
    :data:`MAX_DEPTH`, by pattern otherwise: a truncated body can still carry a token. The
    parser is orjson (1,024 levels at most, never a RecursionError), never :mod:`json`,
    whose pure-Python fallback and the walk after it recurse without a bound of their own.
    The pattern runs over the result in any case; see :func:`_redact_text`.
    """
    try:
        outer = orjson.loads(body)
    except orjson.JSONDecodeError:  # not UTF-8, not JSON, or deeper than orjson goes
        return _redact_text(body)
    if too_deep(outer):
        return _redact_text(body)
    if isinstance(outer, dict) and isinstance(outer.get("oslo.message"), str):
        inner = outer["oslo.message"]
        try:
            message = orjson.loads(inner)
        except orjson.JSONDecodeError:
            message = None
        if isinstance(message, dict | list) and not too_deep(message):
            outer["oslo.message"] = orjson.dumps(redact(message)).decode("utf-8")
    # The pattern too: JSON can hide more JSON in any string (a payload sent as text).
    return _redact_text(orjson.dumps(redact(outer)))


def _redact_text(body: bytes) -> bytes:
    """``body`` with the values of secret keys replaced by pattern, or :data:`WITHHELD`.

    Should a secret name hide from the pattern (garbled by bytes that are not text, or
    written with escapes), more names show once those are cleaned away than the pattern
    replaced: then nothing of the body is kept, only its size and hash in the headers.
    """

    def replace(match: re.Match[bytes]) -> bytes:
        key = match.group(1)  # its quotes are escaped as the value's must be
        quote = key[: key.index(b'"') + 1]
        return key + quote + REDACTED.encode() + quote

    redacted, replaced = _SECRET_TEXT.subn(replace, body)
    visible = _NOISE.sub(b"", _ASCII_ESCAPE.sub(lambda m: bytes.fromhex(m[1].decode()), body))
    if len(_SECRET_NAME.findall(visible)) > replaced:
        return WITHHELD
    return redacted
