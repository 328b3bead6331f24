"""The Kubernetes binaries are built once: with all of them in place nothing runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.errors import StackError
from stack.kubebuild import BINARIES, binary, ensure_built
from stack.layout import STACK_DIR_ENV


def test_binaries_in_place_are_not_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STACK_DIR_ENV, str(tmp_path))
    for name in BINARIES:
        path = binary(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    assert binary("etcd") == tmp_path.resolve() / "bin" / "etcd"
    monkeypatch.setattr("stack.kubebuild.run_step", _never)
    ensure_built()


def test_a_missing_binary_without_the_build_script_says_what_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STACK_DIR_ENV, str(tmp_path))
    monkeypatch.setattr("stack.kubebuild.project_root", lambda: tmp_path)
    monkeypatch.setattr("stack.kubebuild.run_step", _never)
    with pytest.raises(StackError, match="need a source checkout"):
        ensure_built()


def _never(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("nothing may be built")
