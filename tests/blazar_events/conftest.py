"""Fixtures of the settings tests: no variable or file of the machine leaks in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blazar_events.settings import CONFIG_FILE_ENV


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("BLAZAR_EVENTS_"):
            monkeypatch.delenv(name)
    # No /etc/blazar-events file of the machine may leak into these tests.
    monkeypatch.setattr("blazar_events.section.DEFAULT_CONFIG_FILE", str(tmp_path / "none"))


@pytest.fixture
def ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "blazar-events.conf"
    monkeypatch.setenv(CONFIG_FILE_ENV, str(path))
    return path
