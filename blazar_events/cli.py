"""The one command line: ``blazar-events <component> [args]``.

Components are imported lazily by name so that starting one never imports the others. Run
with no arguments, it starts the command named by ``BLAZAR_EVENTS_COMMAND`` if that is set:
platforms that start an image without arguments (Knative Functions' ``func deploy``) pick
the component that way.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

COMMAND_ENV = "BLAZAR_EVENTS_COMMAND"
# command -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "stack": ("blazar_events.stack.cli", "main", "local services on loopback: up|down|status"),
    "run": ("blazar_events.stack.demo", "main", "the whole pipeline on the local stack"),
    "bridge": ("bridge.service", "main", "oslo.messaging notifications -> CloudEvents on Kafka"),
    "api": ("api.service", "main", "the subscriptions REST API (gunicorn)"),
    "broker": ("broker.service", "main", "standalone routing and delivery from Kafka"),
    "function": ("functions.service", "main", "the delivery function as an HTTP service"),
    "operator": ("k8s.operator.service", "main", "the kopf operator for EventSubscription"),
    "reminders": ("reminders.service", "main", "lease reminders at subscribers' lead times"),
    "config": ("blazar_events.cli", "print_config", "the sample config (--markdown)"),
    "secrets": ("api.secrets", "main", "signing secrets at rest: generate-key | reseal"),
}


def print_config(argv: list[str]) -> int:
    from blazar_events.settings import reference_markdown, sample_ini

    sys.stdout.write(reference_markdown() if "--markdown" in argv else sample_ini())
    return 0


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {text}" for name, (_, _, text) in COMMANDS.items())
    return f"usage: blazar-events <command> [args]\n\ncommands:\n{rows}\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args and os.environ.get(COMMAND_ENV):
        args = [os.environ[COMMAND_ENV]]
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(usage())
        return 0
    if args[0] in {"-V", "--version"}:
        from blazar_events import __version__

        print(__version__)
        return 0
    if args[0] not in COMMANDS:
        sys.stderr.write(f"blazar-events: unknown command {args[0]!r}\n\n{usage()}")
        return 2
    module_name, function_name, _ = COMMANDS[args[0]]
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), function_name)
    return int(entry(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
