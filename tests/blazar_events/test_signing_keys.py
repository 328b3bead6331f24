"""The operator keys that seal signing secrets at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from blazar_events.errors import ConfigurationError
from blazar_events.signing_keys import Sealer, SigningKeys


def test_keys_come_from_a_file_first_then_the_setting(tmp_path: Any) -> None:
    first, second = Sealer.generate_key(), Sealer.generate_key()
    path = tmp_path / "keys"
    path.write_text(f"# sealing key first\n{first}\n")
    token = Sealer([first]).seal(SigningKeys(current="whsec_AAAA"))
    opened, stale = Sealer.from_settings(second, str(path)).open(token)
    assert opened.current == "whsec_AAAA" and not stale
    with pytest.raises(ConfigurationError, match="secrets_keys"):
        Sealer(["not-a-key"])


def test_signing_keys_rotation_and_grace() -> None:
    keys = SigningKeys.generate()
    assert keys.current.startswith("whsec_") and len(keys.current) == 6 + 44
    now = datetime.now(UTC)
    rotated = keys.rotated(timedelta(hours=24), now)
    assert rotated.current != keys.current
    assert rotated.active(now) == [rotated.current, keys.current]
    assert rotated.active(now + timedelta(hours=25)) == [rotated.current]
    immediate = keys.rotated(timedelta(0), now)
    assert immediate.active(now) == [immediate.current]


def test_secrets_never_show_in_repr() -> None:
    keys = SigningKeys.generate()
    assert keys.current not in repr(keys)
