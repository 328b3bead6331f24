"""The services of the local stack, by name, and the operations tests and the CLI use.

``start_service`` / ``stop_service`` / ``restart_service`` are what fault-injection tests
call to take Kafka, Redis or RabbitMQ away mid-run and bring it back.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from stack.errors import StackError
from stack.install import apt_install, missing
from stack.service import Service, Status

# name -> "module:class"; imported lazily so `stack status redis` does not load Kafka's client.
REGISTRY: dict[str, str] = {
    "redis": "stack.redis:Redis",
    "rabbitmq": "stack.rabbitmq:RabbitMQ",
    "kafka": "stack.kafka:Kafka",
    "keystone": "stack.keystone:Keystone",
    "blazar": "stack.blazar:BlazarManager",
    "blazar-api": "stack.blazar:BlazarAPI",
    # The Kubernetes control plane, in dependency order (`down` stops in reverse).
    "etcd": "stack.etcd:Etcd",
    "kube-apiserver": "stack.kubeapiserver:KubeApiserver",
    "knative-eventing": "stack.eventing_webhook:EventingWebhook",
    "knative-serving": "stack.serving_webhook:ServingWebhook",
}
NAMES: tuple[str, ...] = tuple(REGISTRY)


def service(name: str) -> Service:
    if name not in REGISTRY:
        raise StackError(f"unknown service {name!r}; choose from {', '.join(NAMES)}")
    module, cls = REGISTRY[name].split(":")
    built: Service = getattr(importlib.import_module(module), cls)()
    return built


def select(names: Iterable[str]) -> list[str]:
    """The named services in start order (all of them when none is named)."""
    chosen = list(names) or list(NAMES)
    for name in chosen:
        service(name)  # validates the name
    return [name for name in NAMES if name in chosen]


def start_service(name: str) -> Status:
    """Start one service (installing what is missing) and wait until it answers."""
    chosen = service(name)
    apt_install(missing(chosen.apt_packages))
    return chosen.start()


def stop_service(name: str) -> bool:
    """Stop one service; False if this stack was not running it."""
    return service(name).stop()


def restart_service(name: str) -> Status:
    stop_service(name)
    return start_service(name)


def service_status(name: str) -> Status:
    return service(name).status()


def up(names: Sequence[str]) -> tuple[list[Status], list[str]]:
    """Start the services concurrently; returns their statuses and the error messages."""
    chosen = [service(name) for name in select(names)]
    # apt cannot run twice at once: install every missing package first, in one go.
    packages: dict[str, str] = {}
    for item in chosen:
        packages.update(item.apt_packages)
    apt_install(missing(packages))
    statuses: list[Status] = []
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        futures = [(item, pool.submit(item.start)) for item in chosen]
        for item, future in futures:
            try:
                statuses.append(future.result())
            except StackError as exc:
                errors.append(exc.message)
            except Exception as exc:  # report every failure, never a traceback and a hang
                errors.append(f"{item.name}: {type(exc).__name__}: {exc}")
    return statuses, errors


def down(names: Sequence[str]) -> list[tuple[str, bool]]:
    """Stop the services (in reverse start order); which ones this stack was running."""
    return [(name, stop_service(name)) for name in reversed(select(names))]
