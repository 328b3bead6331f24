"""``blazar-events stack up|down|status|restart|env [service ...]``."""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from stack import registry
from stack.errors import StackError
from stack.layout import (
    AMQP_URL,
    KAFKA_BOOTSTRAP,
    REDIS_URL,
    TRANSPORT_URL,
    stack_dir,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blazar-events stack",
        description="Local Redis, RabbitMQ, Kafka, Keystone and a Kubernetes control plane on "
        "127.0.0.1, data in "
        f"{stack_dir()} (override with BLAZAR_EVENTS_STACK_DIR).",
    )
    parser.add_argument("action", choices=["up", "down", "status", "restart", "env"])
    parser.add_argument(
        "services", nargs="*", metavar="service", help=f"some of {', '.join(registry.NAMES)}"
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        names = registry.select(args.services)
        action = {
            "up": _up,
            "down": _down,
            "status": _status,
            "restart": _restart,
            "env": _env,
        }[args.action]
        return action(names)
    except StackError as exc:
        print(f"stack: {exc.message}", file=sys.stderr)
        return 1


def _up(names: list[str]) -> int:
    began = time.monotonic()
    statuses, errors = registry.up(names)
    for status in statuses:
        print(status.line())
    for error in errors:
        print(f"stack: {error}", file=sys.stderr)
    if errors:
        print("stack: some services did not start; see above", file=sys.stderr)
        return 1
    print(f"stack: up in {time.monotonic() - began:.1f}s, data in {stack_dir()}")
    return 0


def _down(names: list[str]) -> int:
    for name, was_running in registry.down(names):
        print(f"{name:<9} {'stopped' if was_running else 'was not running (from this stack)'}")
    return 0


def _status(names: list[str]) -> int:
    statuses = [registry.service_status(name) for name in names]
    for status in statuses:
        print(status.line())
    return 0 if all(status.answers for status in statuses) else 1


def _restart(names: list[str]) -> int:
    registry.down(names)
    return _up(names)


def _env(names: list[str]) -> int:
    """Shell exports for the stack (``eval "$(blazar-events stack env)"``)."""
    from stack.keystone import admin_credentials

    admin = admin_credentials()
    exports = {
        "BLAZAR_EVENTS_REDIS_URL": REDIS_URL,
        "BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP,
        # The usual OpenStack client variables, for the stack's cloud admin.
        "OS_AUTH_URL": admin.auth_url,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": admin.username,
        "OS_PASSWORD": admin.password,
        "OS_PROJECT_NAME": admin.project_name,
        "OS_USER_DOMAIN_NAME": admin.user_domain_name,
        "OS_PROJECT_DOMAIN_NAME": admin.project_domain_name,
        "OS_REGION_NAME": admin.region_name,
    }
    for key, value in exports.items():
        print(f"export {key}={shlex.quote(value)}")
    print(f"# RabbitMQ: {TRANSPORT_URL} (oslo.messaging), {AMQP_URL} (kombu)")
    return 0
