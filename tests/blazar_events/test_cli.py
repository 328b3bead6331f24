"""The one command line, as a container image runs it."""

from __future__ import annotations

import pytest

from blazar_events import cli


def test_no_arguments_runs_the_command_named_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cli.COMMAND_ENV, "config")
    assert cli.main([]) == 0
    assert "[function]" in capsys.readouterr().out  # the sample configuration file


def test_arguments_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cli.COMMAND_ENV, "config")
    assert cli.main(["--version"]) == 0
    assert "[function]" not in capsys.readouterr().out


def test_an_unknown_command_in_the_environment_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cli.COMMAND_ENV, "fuction")
    assert cli.main([]) == 2
    assert "'fuction'" in capsys.readouterr().err


def test_no_arguments_and_no_command_prints_the_usage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.COMMAND_ENV, raising=False)
    assert cli.main([]) == 0
    assert capsys.readouterr().out.startswith("usage: blazar-events")
