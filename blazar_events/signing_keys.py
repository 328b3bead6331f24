"""Standard Webhooks signing secrets of a subscription, with rotation; re-exported by
:mod:`blazar_events.subscription`."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ConfigDict, Field

from blazar_events.errors import ConfigurationError, ServiceUnavailable


def utcnow() -> datetime:
    return datetime.now(UTC)


class SigningKeys(BaseModel):
    """Standard Webhooks secrets; ``previous`` keeps signing until it expires (rotation)."""

    model_config = ConfigDict(frozen=True)

    current: str = Field(repr=False)
    previous: str | None = Field(default=None, repr=False)
    previous_expires_at: datetime | None = None

    @staticmethod
    def new_secret() -> str:
        return "whsec_" + base64.b64encode(os.urandom(32)).decode("ascii")

    @classmethod
    def generate(cls) -> SigningKeys:
        return cls(current=cls.new_secret())

    def active(self, now: datetime | None = None) -> list[str]:
        """Secrets to sign with now: the current one, and the previous during its grace."""
        moment = now or utcnow()
        keys = [self.current]
        if self.previous and self.previous_expires_at and self.previous_expires_at > moment:
            keys.append(self.previous)
        return keys

    def rotated(self, grace: timedelta, now: datetime | None = None) -> SigningKeys:
        moment = now or utcnow()
        return SigningKeys(
            current=self.new_secret(),
            previous=self.current if grace.total_seconds() > 0 else None,
            previous_expires_at=moment + grace if grace.total_seconds() > 0 else None,
        )


# --- at rest --------------------------------------------------------------------------------
#
# The signing secrets are stored sealed with Fernet (AES-128-CBC + HMAC-SHA256, from the
# `cryptography` library) under an operator key that never enters Redis: a copy of the
# database alone (a backup, a replica, a stolen dump) does not let anyone sign as us.
# Key rotation as MultiFernet does it: every listed key opens, the first one seals; tried in
# order here, so a value sealed under the first key is decrypted once.

SEALED_PREFIX = b"fernet:"


class Sealer:
    """Seals and opens stored signing keys; without operator keys it stores plaintext."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        try:
            fernets = [Fernet(key.strip().encode("ascii")) for key in keys if key.strip()]
        except (ValueError, UnicodeEncodeError):
            # Fernet's message would not say which setting; never echo the key itself.
            raise ConfigurationError(
                "[redis] secrets_keys: each key must be 32 url-safe base64-encoded bytes "
                "(make one with `blazar-events secrets generate-key`)"
            ) from None
        self._fernets = fernets
        self._primary = fernets[0] if fernets else None

    @property
    def enabled(self) -> bool:
        return self._primary is not None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    @classmethod
    def from_settings(cls, keys: str | None, key_file: str | None) -> Sealer:
        """Keys from ``[redis] secrets_keys`` (comma-separated) and ``secrets_key_file`` (one
        per line, ``#`` comments); the first key found seals, all of them open."""
        found: list[str] = []
        if key_file:
            try:
                lines = Path(key_file).read_text(encoding="ascii").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigurationError(
                    f"[redis] secrets_key_file {key_file}: {type(exc).__name__}"
                ) from None
            found.extend(line for line in lines if line.strip() and not line.startswith("#"))
        if keys:
            found.extend(keys.split(","))
        return cls(found)

    def seal(self, keys: SigningKeys) -> bytes:
        plain = keys.model_dump_json().encode()
        if self._primary is None:
            return plain
        return SEALED_PREFIX + self._primary.encrypt(plain)

    def open(self, raw: bytes | str) -> tuple[SigningKeys, bool]:
        """The keys, and whether they should be sealed again: stored in plaintext while a key
        is configured, or sealed under a key other than the first (after a rotation)."""
        data = raw.encode() if isinstance(raw, str) else raw
        if not data.startswith(SEALED_PREFIX):
            return SigningKeys.model_validate_json(data), self.enabled
        if not self._fernets:
            raise SealedKeys(
                "signing secrets are encrypted at rest but this process has no key to open "
                "them: set [redis] secrets_keys or secrets_key_file as on the API"
            )
        token = data[len(SEALED_PREFIX) :]
        for position, fernet in enumerate(self._fernets):
            try:
                plain = fernet.decrypt(token)
            except InvalidToken:
                continue
            return SigningKeys.model_validate_json(plain), position > 0
        raise SealedKeys("signing secrets are sealed under a key missing from [redis] secrets_keys")


class SealedKeys(ServiceUnavailable):
    """Stored signing keys this process cannot open (no key, or not the right one): a 503,
    since a configuration change fixes it and the delivery retries meanwhile."""
