"""functions/func.yaml: what `func deploy --build=false` reads must start the function.

No `func` binary runs here; the checks are the Knative Functions spec rules for the fields
used (required keys, name and env-name patterns, invoke and scale-metric values) and that
every setting named exists, so a typo cannot ship a function that ignores its Redis URL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from blazar_events.cli import COMMAND_ENV, commands
from blazar_events.settings import ENV_PREFIX
from tests.conftest import all_env_names

FUNC = yaml.safe_load((Path(__file__).parents[2] / "functions" / "func.yaml").read_text())
TOP_LEVEL = {"specVersion", "name", "domain", "runtime", "registry", "image", "namespace",
             "created", "invoke", "build", "run", "deploy"}  # fmt: skip


def envs() -> dict[str, str]:
    return {env["name"]: env["value"] for env in FUNC["run"]["envs"]}


def test_the_spec_fields_are_ones_func_knows() -> None:
    assert {"specVersion", "created"} <= set(FUNC) <= TOP_LEVEL
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", FUNC["name"])
    assert FUNC["invoke"] in {"http", "cloudevent"}
    deploy: dict[str, Any] = FUNC["deploy"]
    assert set(deploy) <= {"namespace", "image", "annotations", "options", "labels",
                           "healthEndpoints", "serviceAccountName", "subscriptions"}  # fmt: skip
    assert set(deploy["healthEndpoints"]) <= {"liveness", "readiness"}
    assert deploy["options"]["scale"]["metric"] in {"concurrency", "rps"}
    for env in FUNC["run"]["envs"]:
        assert set(env) == {"name", "value"} and isinstance(env["value"], str)
        assert re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", env["name"])


def test_the_image_starts_the_function_on_the_port_knative_routes_to() -> None:
    assert envs()[COMMAND_ENV] == "function" and "function" in commands()
    assert envs()[f"{ENV_PREFIX}FUNCTION_HOST"] == "0.0.0.0"
    assert envs()[f"{ENV_PREFIX}FUNCTION_PORT"] == "8080"
    assert FUNC["deploy"]["healthEndpoints"] == {"liveness": "/healthz", "readiness": "/healthz"}


def test_every_setting_named_exists() -> None:
    known = all_env_names()
    named = {name for name in envs() if name != COMMAND_ENV}
    assert named - known == set()
