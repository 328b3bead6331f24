"""Policy defaults are in code, overridable by a file, and the OpenStack generators read them."""

import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from blazar_events.errors import ConfigurationError
from blazar_events.store import SubscriptionStore
from tests.api.conftest import ADMIN, MEMBER_A, SINK, settings

BIN = Path(sys.executable).parent


def test_policy_sample_generator_lists_every_rule() -> None:
    result = subprocess.run(
        [BIN / "oslopolicy-sample-generator", "--namespace", "blazar-events"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for action in ("create", "list", "get", "update", "patch", "delete", "rotate_secret",
                   "get_trigger", "list_deliveries", "replay", "test", "snapshot",
                   "list_all_projects",
                   "create_cross_project"):  # fmt: skip
        assert f'"blazar-events:subscription:{action}"' in result.stdout, action
    assert '"blazar-events:event_type:list"' in result.stdout
    assert "# POST  /v1/subscriptions" in result.stdout


def test_config_generator_documents_the_api_section() -> None:
    result = subprocess.run(
        [BIN / "oslo-config-generator", "--namespace", "blazar-events"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    api_section = result.stdout.split("[api]", 1)[1]
    for option in ("auth_strategy", "allowed_networks", "policy_file", "secret_grace_hours"):
        assert f"\n#{option} =" in api_section, option


def test_a_policy_file_overrides_the_defaults(tmp_path: Path, store: SubscriptionStore) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"blazar-events:subscription:create": "rule:admin"\n')
    client: FlaskClient = create_app(
        settings(policy_file=str(policy_file)), store=store
    ).test_client()
    member = client.post("/v1/subscriptions", json={"sink": SINK}, headers=MEMBER_A)
    assert member.status_code == 403
    assert "blazar-events:subscription:create" in member.json["error_message"]  # type: ignore[index]
    assert client.post("/v1/subscriptions", json={"sink": SINK}, headers=ADMIN).status_code == 201


def test_a_missing_policy_file_stops_the_start(store: SubscriptionStore, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such file"):
        create_app(settings(policy_file=str(tmp_path / "absent.yaml")), store=store)
