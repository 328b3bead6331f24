"""Building the Kubernetes control plane's binaries from source, once (k8s/tools/install-kube.sh).

Every Kubernetes service of the stack calls :func:`ensure_built` before its first start; the
script holds a lock and skips whatever its stamp files say is already built, so concurrent
starts build once.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stack.errors import StackError
from stack.layout import bin_dir, project_root
from stack.process import run_step

SCRIPT = Path("k8s") / "tools" / "install-kube.sh"
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kubectl",
    "knative-eventing-webhook",
    "knative-serving-webhook",
)
BUILD_TIMEOUT = 3600.0


def binary(name: str) -> Path:
    return bin_dir() / name


def ensure_built() -> None:
    """Build what is missing (~15 min on two cores the first time; seconds afterwards)."""
    if all(binary(name).is_file() for name in BINARIES):
        return
    script = project_root() / SCRIPT
    if not script.is_file():
        raise StackError(f"{script} not found: the Kubernetes services need a source checkout")
    log = bin_dir() / "install-kube.log"
    print(f"stack: building the Kubernetes control plane from source (log: {log})", file=sys.stderr)
    run_step(
        "building etcd, kube-apiserver and Knative's webhooks",
        ["bash", str(script)],
        log,
        BUILD_TIMEOUT,
        env={"KUBE_BIN_DIR": str(bin_dir())},
    )
