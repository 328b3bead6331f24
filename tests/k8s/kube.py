"""The stack's real kube-apiserver for tests: kubectl and helm against it, as an admin.

``kube`` (the fixture in ``tests/k8s/conftest.py``) fails the test, never skips it, when the
API server or Knative's webhooks do not answer.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any

from stack.kubeapiserver import kubeconfig_path
from stack.kubebuild import binary
from tests.k8s.validation import CRD_FILE


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.code == 0


class Kube:
    """kubectl with the stack's admin kubeconfig."""

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 120.0) -> Result:
        done = subprocess.run(
            [str(binary("kubectl")), f"--kubeconfig={kubeconfig_path()}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def must(self, *args: str, stdin: str | None = None) -> str:
        result = self.kubectl(*args, stdin=stdin)
        assert result.ok, f"kubectl {' '.join(args)} failed:\n{result.err}"
        return result.out

    def apply(self, obj: dict[str, Any], namespace: str | None = None) -> Result:
        """``kubectl apply`` of one object: the API server validates it (strict fields).

        One object at a time, as JSON: kubectl validates a List on the client side instead,
        and reads YAML 1.1, where PyYAML's unquoted ``n`` or ``on`` are booleans.
        """
        where = ["--namespace", namespace] if namespace else []
        return self.kubectl("apply", *where, "-f", "-", stdin=json.dumps(obj))

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        where = ["--namespace", namespace] if namespace else []
        result = self.kubectl("get", kind, name, *where, "-o", "json")
        if not result.ok:
            assert "NotFound" in result.err, result.err
            return None
        found: dict[str, Any] = json.loads(result.out)
        return found

    def namespace(self, prefix: str = "test") -> str:
        """A new namespace of the test's own.

        Left behind: without a controller-manager a deleted namespace stays Terminating.
        """
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.must("create", "namespace", name)
        return name

    def install_crd(self) -> None:
        """Our CRD, applied server-side (idempotent), and established."""
        self.must("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
        crd = "crd/eventsubscriptions.events.blazar.openstack.org"
        self.must("wait", "--for=condition=Established", "--timeout=60s", crd)
