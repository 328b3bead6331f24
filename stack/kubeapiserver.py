"""kube-apiserver (built from source) over the stack's etcd, on https://127.0.0.1:16443.

No kubelet, no controller-manager: objects are stored, defaulted and validated (schemas, CEL,
admission webhooks, RBAC), and nothing ever runs. Authentication: a static admin token (group
``system:masters``) for tests and tools, ServiceAccount tokens for everyone else. The
kubeconfig for tests and kubectl is ``<stack>/kube-apiserver/kubeconfig``.
"""

from __future__ import annotations

import secrets
import ssl
from pathlib import Path

import httpx
import yaml

from stack.etcd import Etcd
from stack.kubebuild import binary, ensure_built
from stack.layout import ETCD_URL, KUBE_APISERVER_PORT, KUBE_APISERVER_URL, stack_dir
from stack.process import run_step
from stack.service import Service

NAME = "kube-apiserver"
SERVICE_CIDR = "10.96.0.0/16"


def directory() -> Path:
    return stack_dir() / NAME


def kubeconfig_path() -> Path:
    return directory() / "kubeconfig"


def ca_file() -> Path:
    return directory() / "serving.crt"


def admin_token() -> str:
    return (directory() / "admin.token").read_text().strip()


def ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file()))


class KubeApiserver(Service):
    name = NAME
    ports = (KUBE_APISERVER_PORT,)
    marker = "bin/kube-apiserver"
    start_timeout = 90.0
    apt_packages = {"openssl": "openssl"}  # its certificate and ServiceAccount key

    def address(self) -> str:
        return KUBE_APISERVER_URL

    def details(self) -> str:
        return f"kubeconfig {kubeconfig_path()}"

    def install(self) -> None:
        ensure_built()

    def prepare(self) -> None:
        Etcd().start()  # its storage: started first, stopped last (`stack down` reverses)
        folder = self.directory
        log = folder / "setup.log"
        if not (folder / "serving.key").is_file():
            # One self-signed certificate for 127.0.0.1: the serving certificate and its own CA.
            run_step(
                "making the API server's certificate",
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                    "-subj", "/CN=blazar-events-kube-apiserver",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-keyout", str(folder / "serving.key"), "-out", str(folder / "serving.crt"),
                ],
                log,
                timeout=60.0,
            )  # fmt: skip
        if not (folder / "service-account.key").is_file():
            run_step(
                "making the ServiceAccount signing key",
                ["openssl", "genrsa", "-out", str(folder / "service-account.key"), "2048"],
                log,
                timeout=60.0,
            )
        token_file = folder / "admin.token"
        if not token_file.is_file():
            token_file.write_text(secrets.token_urlsafe(32) + "\n")
            token_file.chmod(0o600)
        (folder / "tokens.csv").write_text(f'{admin_token()},admin,admin,"system:masters"\n')
        (folder / "tokens.csv").chmod(0o600)
        kubeconfig_path().write_text(yaml.safe_dump(_kubeconfig(), sort_keys=False))
        kubeconfig_path().chmod(0o600)

    def command(self) -> tuple[list[str], dict[str, str]]:
        folder = self.directory
        key = str(folder / "service-account.key")
        argv = [
            str(binary("kube-apiserver")),
            f"--etcd-servers={ETCD_URL}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={KUBE_APISERVER_PORT}",
            f"--cert-dir={folder / 'certs'}",
            f"--tls-cert-file={folder / 'serving.crt'}",
            f"--tls-private-key-file={folder / 'serving.key'}",
            f"--token-auth-file={folder / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={key}",
            f"--service-account-signing-key-file={key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # No controller-manager keeps the kubernetes Service's endpoints, and the default
            # reconciler refuses a loopback advertise address.
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
        ]
        return argv, {}

    def probe(self) -> None:
        response = httpx.get(
            f"{KUBE_APISERVER_URL}/readyz",
            headers={"Authorization": f"Bearer {admin_token()}"},
            verify=ssl_context(),
            timeout=3.0,
        )
        if response.status_code != 200:
            raise ConnectionError(f"/readyz answered {response.status_code}: {response.text[:300]}")


def _kubeconfig() -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "blazar-events",
                "cluster": {"server": KUBE_APISERVER_URL, "certificate-authority": str(ca_file())},
            }
        ],
        "users": [{"name": "admin", "user": {"token": admin_token()}}],
        "contexts": [
            {"name": "blazar-events", "context": {"cluster": "blazar-events", "user": "admin"}}
        ],
        "current-context": "blazar-events",
    }


def kubectl(*args: str, log: Path | None = None, timeout: float = 120.0) -> None:
    """Run the stack's kubectl against the stack's API server (output to ``log``)."""
    run_step(
        f"kubectl {' '.join(args[:3])}",
        [str(binary("kubectl")), f"--kubeconfig={kubeconfig_path()}", *args],
        log or directory() / "kubectl.log",
        timeout,
    )
