"""Where the local stack keeps its files, and the fixed loopback addresses of its services."""

from __future__ import annotations

import os
from pathlib import Path

STACK_DIR_ENV = "BLAZAR_EVENTS_STACK_DIR"
HOST = "127.0.0.1"

# Fixed for everyone (README, tests and the demo assume them).
REDIS_PORT = 6380
AMQP_PORT = 5673
AMQP_DIST_PORT = 25673
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
KEYSTONE_PORT = 5001
BLAZAR_PORT = 1234  # Blazar's own default

REDIS_URL = f"redis://{HOST}:{REDIS_PORT}/0"
AMQP_URL = f"amqp://guest:guest@{HOST}:{AMQP_PORT}//"
TRANSPORT_URL = f"rabbit://guest:guest@{HOST}:{AMQP_PORT}/"
KAFKA_BOOTSTRAP = f"{HOST}:{KAFKA_PORT}"
KEYSTONE_URL = f"http://{HOST}:{KEYSTONE_PORT}/v3"
BLAZAR_URL = f"http://{HOST}:{BLAZAR_PORT}"


def project_root() -> Path:
    """The source checkout when installed editable (the usual case), else the working directory."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def stack_dir() -> Path:
    """``$BLAZAR_EVENTS_STACK_DIR`` or ``<project>/.stack``; one sub-folder per service."""
    override = os.environ.get(STACK_DIR_ENV)
    root = Path(override) if override else project_root() / ".stack"
    return root.resolve()


def service_dir(name: str) -> Path:
    path = stack_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# The Kubernetes control plane (etcd, kube-apiserver, Knative's webhooks): ports of their own,
# away from the usual 2379/6443/8443 so that a real cluster on the same host does not clash.
ETCD_PORT = 23790
ETCD_PEER_PORT = 23800
KUBE_APISERVER_PORT = 16443
EVENTING_WEBHOOK_PORT = 18443
SERVING_WEBHOOK_PORT = 18444
# Knative's webhooks also serve profiling (on all interfaces: their code binds ":port").
EVENTING_PROFILING_PORT = 18008
SERVING_PROFILING_PORT = 18009

ETCD_URL = f"http://{HOST}:{ETCD_PORT}"
KUBE_APISERVER_URL = f"https://{HOST}:{KUBE_APISERVER_PORT}"


def bin_dir() -> Path:
    """Binaries built from source once (helm, etcd, kube-apiserver, kubectl, Knative's webhooks)."""
    return stack_dir() / "bin"
