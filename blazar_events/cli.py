"""The one command line: ``blazar-events <component> [args]``.

The commands are the ones the installed components declare (:mod:`blazar_events.components`),
plus ``config``, the core's own. Only the chosen command's module is imported, so starting one
component never imports the others. Run with no arguments, it starts the command named by
``BLAZAR_EVENTS_COMMAND`` if that is set: platforms that start an image without arguments
(Knative Functions' ``func deploy``) pick the component that way.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from blazar_events import logs
from blazar_events.components import Command
from blazar_events.components import commands as component_commands
from blazar_events.errors import BlazarEventsError
from blazar_events.section import ServiceSection

S = TypeVar("S", bound=ServiceSection)

COMMAND_ENV = "BLAZAR_EVENTS_COMMAND"
CONFIG = Command("blazar_events.cli:print_config", "the sample config (--markdown)")


def commands() -> dict[str, Command]:
    """Every command, by name: the components' and ``config``."""
    return {**component_commands(), "config": CONFIG}


def print_config(argv: list[str]) -> int:
    from blazar_events.reference import reference_markdown, sample_ini

    sys.stdout.write(reference_markdown() if "--markdown" in argv else sample_ini())
    return 0


def run_component(
    argv: list[str],
    *,
    prog: str,
    description: str | None,
    section: type[S],
    port_help: str,
    run: Callable[[S, int | None], int],
) -> int:
    """A component's command: ``--port`` over its section's own, logs as the section says,
    then ``run(settings, port)``; a settings error (or any of ours) is one line on the
    section's logger and exit status 1, not a traceback."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, help=port_help)
    args = parser.parse_args(argv)
    try:
        settings = section.load()
        logs.configure(settings.log_level, settings.log_format)
        logging.getLogger("kafka").setLevel(logging.WARNING)
        return run(settings, args.port)
    except BlazarEventsError as exc:
        logging.getLogger(section.section).error("%s", exc.message)
        return 1


def usage(known: dict[str, Command]) -> str:
    width = max(len(name) for name in known)
    rows = "\n".join(f"  {name:<{width}}  {command.summary}" for name, command in known.items())
    return f"usage: blazar-events <command> [args]\n\ncommands:\n{rows}\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args and os.environ.get(COMMAND_ENV):
        args = [os.environ[COMMAND_ENV]]
    if args and args[0] in {"-V", "--version"}:
        from blazar_events import __version__

        print(__version__)
        return 0
    known = commands()
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(usage(known))
        return 0
    if args[0] not in known:
        sys.stderr.write(f"blazar-events: unknown command {args[0]!r}\n\n{usage(known)}")
        return 2
    return int(known[args[0]].load()(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
