"""A real Blazar (blazar-api and blazar-manager) on the stack's Keystone and RabbitMQ, as two
services of the stack.

The manager runs its real schedule and publishes its real notifications (messagingv2,
exchange ``openstack``, key ``notifications.info``) for the bridge to take. How Blazar is
installed and configured, and what of Blazar 18.0.0 is worked around: :mod:`stack.blazar_setup`.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from stack.blazar_setup import (
    API_SERVER,
    MANAGER_TOPIC,
    VERSION,
    adopted,
    config_file,
    demo_openrc,
    folder,
    install,
    prepare,
    venv,
)
from stack.layout import BLAZAR_PORT, BLAZAR_URL, TRANSPORT_URL
from stack.service import Service, Status


class BlazarAPI(Service):
    name = "blazar-api"
    ports = (BLAZAR_PORT,)
    marker = "blazar_api_server.py"
    start_timeout = 120.0

    @property
    def directory(self) -> Path:
        return folder()

    def address(self) -> str:
        return BLAZAR_URL

    def details(self) -> str:
        return f"Blazar {VERSION}; tenant: source {demo_openrc()}"

    def install(self) -> None:
        install()

    def prepare(self) -> None:
        prepare()
        (folder() / "blazar_api_server.py").write_text(API_SERVER)

    def command(self) -> tuple[list[str], dict[str, str]]:
        python = str(venv() / "bin" / "python")
        return [python, str(folder() / "blazar_api_server.py"), str(config_file())], {}

    def after_start(self) -> None:
        adopted()

    def probe(self) -> None:
        # Everything, the version list included, is behind keystonemiddleware: its JSON 401
        # is Blazar answering.
        answer = httpx.get(BLAZAR_URL, timeout=3.0, headers={"Accept": "application/json"})
        if answer.status_code != 401 or "error" not in answer.json():
            raise ConnectionError(f"GET {BLAZAR_URL} answered {answer.status_code}")


class BlazarManager(Service):
    name = "blazar"  # blazar-manager: its schedule is what publishes the lease events
    ports = ()
    marker = "blazar-manager"
    start_timeout = 120.0

    @property
    def directory(self) -> Path:
        return folder()

    def address(self) -> str:
        return f"{TRANSPORT_URL} (RPC topic {MANAGER_TOPIC})"

    def details(self) -> str:
        return f"Blazar {VERSION} manager, log {folder() / 'blazar.log'}"

    def install(self) -> None:
        install()

    def prepare(self) -> None:
        prepare()

    def command(self) -> tuple[list[str], dict[str, str]]:
        manager = str(venv() / "bin" / "blazar-manager")
        return [manager, "--config-file", str(config_file())], {}

    def _start(self) -> Status:
        # No port tells that another stack folder runs a manager: its consumer on the RPC
        # queue does. A second manager would take half of the API's calls with another
        # database.
        if self.process.pid() is None and self._answers():
            adopted()
            return Status(self.name, "external", self.address(), None, "not started by this stack")
        return super()._start()

    def after_start(self) -> None:
        adopted()

    def probe(self) -> None:
        """The manager answers once it consumes its RPC queue."""
        import kombu  # the bridge's AMQP library, loaded only for this check

        from stack.layout import AMQP_URL

        with kombu.Connection(AMQP_URL, connect_timeout=3) as connection:
            channel = connection.channel()
            try:
                _, _, consumers = channel.queue_declare(MANAGER_TOPIC, passive=True)
            finally:
                channel.close()
        if consumers < 1:
            raise ConnectionError(f"nothing consumes {MANAGER_TOPIC} yet")
