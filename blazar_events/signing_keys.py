"""Standard Webhooks signing secrets of a subscription, with rotation; re-exported by
:mod:`blazar_events.subscription`."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


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
