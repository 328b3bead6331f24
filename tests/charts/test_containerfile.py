"""The Containerfile builds the one image the chart runs (no image build runs here)."""

from __future__ import annotations

import json
import re
import tomllib

from tests.charts.render import CHART
from tests.k8s.validation import ROOT, load_documents

TEXT = (ROOT / "Containerfile").read_text()


def _instructions(name: str) -> list[str]:
    return re.findall(rf"^{name}\s+(.+)$", TEXT, flags=re.MULTILINE)


def test_the_entrypoint_is_the_cli_the_chart_passes_components_to() -> None:
    assert json.loads(_instructions("ENTRYPOINT")[-1]) == ["blazar-events"]


def test_it_runs_as_the_non_root_user_the_chart_expects() -> None:
    user = _instructions("USER")[-1].split(":")[0]
    values = load_documents((CHART / "values.yaml").read_text())[0]
    assert user == str(values["podSecurityContext"]["runAsUser"]) != "0"


def test_it_copies_every_component_package_and_not_the_dev_stack() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in include}
    copied = {line.split()[0] for line in _instructions("COPY")}
    assert "stack" in packages  # the development stack, installed by `make venv` only
    assert packages - {"stack"} <= copied
    assert "stack" not in copied
