"""``blazar-events secrets``: the operator keys that seal signing secrets at rest.

``generate-key`` prints a new Fernet key. ``reseal`` rewrites every subscription's signing
keys under the first configured key: run it after putting a new key first in
``[redis] secrets_keys`` (or the key file) on every component, and before removing the old
key (docs/api.md, "Signing secrets at rest").
"""

from __future__ import annotations

import argparse

from api.app import to_store
from blazar_events.settings import RedisSettings
from blazar_events.signing_keys import Sealer


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="blazar-events secrets", description=__doc__)
    parser.add_argument("action", choices=("generate-key", "reseal"))
    args = parser.parse_args(argv)
    if args.action == "generate-key":
        print(Sealer.generate_key())
        return 0
    store = to_store(RedisSettings.load())
    if not store.sealer.enabled:
        parser.error("reseal needs [redis] secrets_keys or secrets_key_file")
    print(f"{store.reseal_all()} subscription(s) sealed again under the first key")
    return 0
