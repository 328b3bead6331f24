"""Run the real helm binary on the chart; the tests' only way into it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.validation import KUBERNETES_VERSION, ROOT

CHART = ROOT / "charts" / "blazar-events"
HELM = Path(os.environ.get("HELM", ROOT / ".stack" / "bin" / "helm"))

# The smallest values an installer must give: where Kafka, Redis, the bus and Keystone are.
REQUIRED: dict[str, Any] = {
    "kafka": {"bootstrapServers": ["kafka-0.kafka:9092", "kafka-1.kafka:9092"]},
    "redis": {"existingSecret": "blazar-events-redis"},
    "openstack": {"transportSecret": "blazar-events-transport"},
    "api": {
        "auth": {
            "keystone": {
                "authUrl": "https://keystone.example.org/v3",
                "existingSecret": "blazar-events-keystone",
            }
        }
    },
}


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def helm(*args: str, values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        raise AssertionError(
            f"no helm at {HELM}: run `bash k8s/tools/install-helm.sh` (make test does) "
            "or point HELM at a helm v3 binary"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        yaml.safe_dump(values or {}, file)
        file.flush()
        return subprocess.run(
            [str(HELM), *args, str(CHART), "-f", file.name],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def template(values: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return helm(
        "template",
        "blazar-events",
        "--namespace",
        "blazar-events",
        "--kube-version",
        KUBERNETES_VERSION,
        *extra,
        values=values,
    )


def render(values: dict[str, Any], *extra: str) -> list[dict[str, Any]]:
    """The objects the chart renders for these values; AssertionError with helm's words."""
    result = template(values, *extra)
    if result.returncode != 0:
        raise AssertionError(f"helm template failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def notes(values: dict[str, Any]) -> str:
    """NOTES.txt as helm renders it after an install.

    ``helm install --dry-run`` needs a reachable cluster and ``helm template`` leaves the notes
    out, so render a copy of the chart in which the notes are wrapped in a ConfigMap.
    """
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / CHART.name
        shutil.copytree(CHART, chart)
        text = (chart / "templates" / "NOTES.txt").read_text()
        (chart / "templates" / "NOTES.txt").unlink()
        (chart / "templates" / "_notes.tpl").write_text(
            '{{- define "test.notes" -}}\n' + text + "\n{{- end -}}\n"
        )
        (chart / "templates" / "notes.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
            'data:\n  notes: {{ include "test.notes" . | quote }}\n'
        )
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
            yaml.safe_dump(values, file)
            file.flush()
            result = subprocess.run(
                [str(HELM), "template", "blazar-events", str(chart), "-f", file.name,
                 "--namespace", "blazar-events", "--kube-version", KUBERNETES_VERSION,
                 "--show-only", "templates/notes.yaml"],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"helm template failed:\n{result.stderr}")
    text_out: str = yaml.safe_load(result.stdout)["data"]["notes"]
    return text_out
