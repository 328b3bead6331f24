"""RabbitMQ from Debian's rabbitmq-server, as its own node on 127.0.0.1:5673.

Debian's /usr/sbin/rabbitmq-server switches to the ``rabbitmq`` user and logs to /var/log;
the stack runs the script behind it directly, as the current user, with every path (node
data, logs, Erlang cookie via HOME) under the stack folder.
"""

from __future__ import annotations

import subprocess

import kombu

from stack.layout import AMQP_DIST_PORT, AMQP_PORT, AMQP_URL, HOST, TRANSPORT_URL
from stack.process import run_step
from stack.service import Service

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
NODE_NAME = "blazar-events@localhost"
# oslo's rabbit notifier declares and binds the topic queues (notifications.info, ...) itself;
# where nothing consumes them (no Ceilometer) they grow without end. Keep the newest 10,000.
NOBODY_READS = r"^(notifications|versioned_notifications)\.(audit|critical|error|info|warn)$"
CAP = '{"max-length": 10000, "overflow": "drop-head"}'


class RabbitMQ(Service):
    name = "rabbitmq"
    ports = (AMQP_PORT, AMQP_DIST_PORT)
    marker = "rabbitmq-server"
    start_timeout = 90.0
    apt_packages = {SERVER: "rabbitmq-server"}

    def address(self) -> str:
        return TRANSPORT_URL

    def details(self) -> str:
        return f"AMQP {AMQP_URL}, node {NODE_NAME}, data {self.directory}"

    def prepare(self) -> None:
        for sub in ("home", "mnesia", "log"):
            (self.directory / sub).mkdir(exist_ok=True)
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = {HOST}:{AMQP_PORT}\n"
            "loopback_users.guest = true\n"
            # A laptop disk is often fuller than a server's: do not block publishers.
            "disk_free_limit.absolute = 50MB\n"
        )
        (self.directory / "enabled_plugins").write_text("[].\n")
        # An empty env file keeps /etc/rabbitmq/rabbitmq-env.conf from overriding ours.
        (self.directory / "rabbitmq-env.conf").write_text("")

    def command(self) -> tuple[list[str], dict[str, str]]:
        folder = self.directory
        env = {
            "HOME": str(folder / "home"),  # the Erlang cookie lives there
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_NODENAME": NODE_NAME,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(AMQP_PORT),
            "RABBITMQ_DIST_PORT": str(AMQP_DIST_PORT),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_PID_FILE": str(folder / "mnesia" / "beam.pid"),
            "ERL_EPMD_ADDRESS": HOST,
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        return [SERVER], env

    def after_start(self) -> None:
        policy = [CTL, "-n", NODE_NAME, "set_policy", "--apply-to", "queues",
                  "notifications-nobody-reads", NOBODY_READS, CAP]  # fmt: skip
        run_step("rabbitmqctl set_policy", policy, self.directory / "policy.log", timeout=60.0,
                 env={"HOME": str(self.directory / "home")})  # fmt: skip

    def stop(self) -> bool:
        stopped = super().stop()
        if stopped:
            _stop_idle_epmd()
        return stopped

    def probe(self) -> None:
        with kombu.Connection(AMQP_URL, connect_timeout=2) as connection:
            connection.connect()


def _stop_idle_epmd() -> None:
    # The Erlang VM started the port mapper daemon (epmd) for its node name and leaves it
    # running; end it too, unless another Erlang node on this machine still uses it.
    try:
        names = subprocess.run(
            ["epmd", "-names"], capture_output=True, text=True, timeout=5, check=False
        )
        if names.returncode == 0 and "\nname " not in names.stdout:
            subprocess.run(["epmd", "-kill"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass  # no epmd binary or no daemon: nothing to clean up
