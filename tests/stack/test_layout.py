"""Where the stack keeps its files: one directory, chosen by the environment or the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.layout import STACK_DIR_ENV, bin_dir, project_root, service_dir, stack_dir


def test_the_environment_chooses_the_stack_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STACK_DIR_ENV, str(tmp_path / "here" / ".." / "stack"))
    assert stack_dir() == (tmp_path / "stack").resolve()
    made = service_dir("redis")
    assert made == stack_dir() / "redis" and made.is_dir()
    assert bin_dir() == stack_dir() / "bin"


def test_without_it_the_stack_lives_in_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STACK_DIR_ENV, raising=False)
    assert (project_root() / "pyproject.toml").is_file()
    assert stack_dir() == (project_root() / ".stack").resolve()
