"""The operator keys that seal signing secrets at rest."""

from __future__ import annotations

from typing import Any

import pytest

from blazar_events.errors import ConfigurationError
from blazar_events.signing_keys import Sealer
from blazar_events.subscription import SigningKeys


def test_keys_come_from_a_file_first_then_the_setting(tmp_path: Any) -> None:
    first, second = Sealer.generate_key(), Sealer.generate_key()
    path = tmp_path / "keys"
    path.write_text(f"# sealing key first\n{first}\n")
    token = Sealer([first]).seal(SigningKeys(current="whsec_AAAA"))
    opened, stale = Sealer.from_settings(second, str(path)).open(token)
    assert opened.current == "whsec_AAAA" and not stale
    with pytest.raises(ConfigurationError, match="secrets_keys"):
        Sealer(["not-a-key"])
