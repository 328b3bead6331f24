"""The configuration reference: the sample file, docs/configuration.md, oslo-config-generator."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from blazar_events.cli import commands as cli_commands
from blazar_events.cli import main
from blazar_events.reference import all_sections, reference_markdown
from blazar_events.settings import CONFIG_FILE_ENV, KafkaSettings
from tests.conftest import all_env_names

pytestmark = pytest.mark.usefixtures("clean_environment")


def test_config_command_prints_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    sample = capsys.readouterr().out
    for name, cls in all_sections().items():
        assert f"[{name}]" in sample
        for field in cls.model_fields:
            assert f"#{field} = " in sample
            assert f"BLAZAR_EVENTS_{name.upper()}_{field.upper()}" in sample


def test_the_sample_file_loads_back(ini: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["config"])
    sample = capsys.readouterr().out
    ini.write_text(sample.replace("#topic = blazar.events", "topic = from-sample"))
    assert KafkaSettings.load().topic == "from-sample"


def test_oslo_config_generator_documents_every_section(tmp_path: Path) -> None:
    output = tmp_path / "generated.conf"
    generator = Path(sys.executable).with_name("oslo-config-generator")
    subprocess.run(
        [str(generator), "--namespace", "blazar-events", "--output-file", str(output)],
        check=True,
        timeout=120,
    )
    generated = output.read_text()
    for name in all_sections():
        assert f"[{name}]" in generated
    assert "#bootstrap_servers = 127.0.0.1:9092" in generated


def test_the_configuration_reference_is_current() -> None:
    page = Path(__file__).parents[2] / "docs" / "configuration.md"
    assert page.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/configuration.md is stale: run "
        "`blazar-events config --markdown > docs/configuration.md`"
    )


def test_the_standalone_units_name_real_commands_and_settings() -> None:
    """docs/standalone.md's systemd units: every command and variable they set exists."""
    text = (Path(__file__).parents[2] / "docs" / "standalone.md").read_text()
    commands = re.findall(r"^ExecStart=/opt/blazar-events/bin/blazar-events (\w+)", text, re.M)
    assert sorted(commands) == ["api", "bridge", "broker"]
    assert set(commands) <= set(cli_commands())
    known = all_env_names() | {CONFIG_FILE_ENV}
    names = set(re.findall(r"^Environment=(\w+)=", text, re.M))
    assert names and names - known == set()
