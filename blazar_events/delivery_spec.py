"""How a subscription is delivered: the protocol settings and Knative's delivery spec.

Pure data with the arithmetic the broker needs (``backoff_for``); re-exported by
:mod:`blazar_events.subscription`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from blazar_events import egress

# ASCII digits (\d takes any script's, and float() reads them), at most 9 before the point so
# every duration is a finite number of seconds that timedelta can hold.
_NUMBER = r"[0-9]{1,9}(?:\.[0-9]{1,9})?"
_ISO_DURATION = re.compile(
    rf"^P(?:(?P<d>{_NUMBER})D)?"
    rf"(?:T(?:(?P<h>{_NUMBER})H)?(?:(?P<m>{_NUMBER})M)?(?:(?P<s>{_NUMBER})S)?)?\Z"
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}\Z")
# Headers the delivery function owns: a subscriber-chosen value would break signing,
# CloudEvents binary mode or HTTP framing.
# Hop-by-hop and framing headers (TE, Upgrade, Expect, ...) and Content-Encoding, which
# would make the sink decode a body that was never encoded, are the client's too.
_RESERVED_HEADERS = (
    "content-type", "content-length", "content-encoding", "host", "transfer-encoding",
    "connection", "keep-alive", "te", "trailer", "upgrade", "expect", "proxy-connection",
)  # fmt: skip
# Visible ASCII, spaces and tabs: a NUL or other control character is refused by HTTP
# clients at delivery time, so it is refused here instead.
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]{0,4096}\Z")
_RESERVED_HEADER_PREFIXES = ("webhook-", "ce-")


def _json_integer(value: Any) -> Any:
    # JSON Schema's integer: 3 and 3.0, but not true or "3" (pydantic's lax mode takes both).
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


def from_iso_duration(text: str) -> float:
    """Seconds of an ISO 8601 duration such as ``PT0.2S`` or ``P1DT2H`` (no years/months)."""
    match = _ISO_DURATION.match(text) if isinstance(text, str) else None
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration like PT0.5S or PT1M")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


class ProtocolSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    headers: dict[str, str] = Field(
        default_factory=dict, description="extra HTTP headers sent with every delivery"
    )
    method: Literal["POST", "PUT"] = "POST"
    mode: Literal["binary", "structured"] = Field(
        default="binary", description="CloudEvents HTTP content mode"
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 32:
            raise ValueError("at most 32 headers")
        for name, text in value.items():
            lower = name.lower()
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if lower in _RESERVED_HEADERS or lower.startswith(_RESERVED_HEADER_PREFIXES):
                raise ValueError(f"header {name!r} is set by the delivery itself")
            if not _HEADER_VALUE.match(text):
                raise ValueError(
                    f"header {name!r}: the value has a line break, another control or a "
                    "non-ASCII character, or is longer than 4096 characters"
                )
        return value


class DeliverySpec(BaseModel):
    """Knative's delivery spec, with its JSON names, plus ``ordered`` (one lease at a time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retry: JsonInt = Field(default=5, ge=0, le=100, description="retries after the first attempt")
    backoffPolicy: Literal["exponential", "linear"] = "exponential"
    backoffDelay: str = Field(default="PT0.5S", description="ISO 8601 duration")
    timeout: str = Field(default="PT10S", description="ISO 8601 duration of one attempt")
    deadLetterSink: str | None = Field(default=None, description="URL that receives failed events")
    ordered: bool = Field(default=False, description="deliver one lease's events strictly in order")

    @field_validator("backoffDelay", "timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds = from_iso_duration(value)
        if not 0 < seconds <= 3600:
            raise ValueError(f"{value!r} must be more than 0 and at most one hour")
        return value

    @field_validator("deadLetterSink")
    @classmethod
    def _dead_letter(cls, value: str | None) -> str | None:
        if value is not None:
            egress.check_url(value)
        return value

    @property
    def backoff_delay_seconds(self) -> float:
        return from_iso_duration(self.backoffDelay)

    @property
    def timeout_seconds(self) -> float:
        return from_iso_duration(self.timeout)

    def backoff_for(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = first retry), Knative's way."""
        n = max(attempt, 0)
        if self.backoffPolicy == "linear":
            return self.backoff_delay_seconds * n
        return self.backoff_delay_seconds * 2.0**n
