"""The blazar-events API in keystone mode under gunicorn, registered in the real Keystone's
catalog in a region of its own, and users of two projects plus a cloud admin.

Every test reaches the API the way a tenant does: `openstack` (or the client library) logs in
to Keystone, finds ``reservation-events`` in its catalog and sends its token.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from cryptography.fernet import Fernet

from blazar_events_client import SERVICE_TYPE
from stack.identity import KeystoneAdmin
from tests.conftest import api_process

OPENSTACK = str(Path(sys.executable).parent / "openstack")


@dataclass(frozen=True)
class User:
    auth_url: str
    name: str
    password: str
    project_id: str
    region: str

    def env(self, region: str | None = None) -> dict[str, str]:
        """What `openstack` reads, and nothing of the caller's own OS_* settings."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        return {
            **base,
            "OS_AUTH_URL": self.auth_url,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": self.name,
            "OS_PASSWORD": self.password,
            "OS_USER_DOMAIN_ID": "default",
            "OS_PROJECT_ID": self.project_id,
            "OS_REGION_NAME": region or self.region,
            "OS_INTERFACE": "public",
        }


@dataclass(frozen=True)
class Cloud:
    member_a: User
    member_b: User
    admin: User
    api_url: str


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self
        return json.loads(self.out)


def _entry_point() -> Callable[[list[str]], int]:
    """The `openstack` console script's function, found as the installed script finds it."""
    (script,) = entry_points(group="console_scripts", name="openstack")
    main: Callable[[list[str]], int] = script.load()
    return main


def openstack(user: User, *args: str, region: str | None = None, stdin: str = "") -> Result:
    """One `openstack` command line, as a user types it, run in this process.

    The real entry point with the user's environment and standard streams; in-process because
    importing python-openstackclient takes seconds of CPU per command on a shared machine.
    """
    main = _entry_point()
    saved_env = dict(os.environ)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    out, err = io.StringIO(), io.StringIO()
    env = user.env(region)
    os.environ.clear()
    os.environ.update(env)
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _stdin(stdin),
        ):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        # OSC configures logging on every run: leave the root logger as it was.
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        _forget_clients()
    return Result(code, out.getvalue(), err.getvalue())


def _forget_clients() -> None:
    """OSC keeps each plugin's client in a class-level descriptor (osc_lib's ClientCache),
    once per process: right for one command per process, wrong for the next user's command
    in this one. Forget them, as a new process would."""
    from openstackclient.common.clientmanager import ClientManager
    from osc_lib.clientmanager import ClientCache

    for cls in ClientManager.__mro__:
        for value in vars(cls).values():
            if isinstance(value, ClientCache):
                value._handle = None


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def openstack_process(user: User, *args: str) -> Result:
    """The same through the installed `openstack` script in a process of its own."""
    done = subprocess.run(
        [OPENSTACK, *args], env=user.env(), capture_output=True, text=True, timeout=280
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def events_api(keystone: KeystoneAdmin, redis_url: str, tmp_path_factory: Any) -> Iterator[str]:
    """`blazar-events api` in keystone mode, as a cloud runs it (one worker: CPU is shared)."""
    prefix = f"blazar-events-osc-{uuid.uuid4().hex[:12]}"
    env = {
        "BLAZAR_EVENTS_REDIS_URL": redis_url,
        "BLAZAR_EVENTS_REDIS_KEY_PREFIX": prefix,
        "BLAZAR_EVENTS_REDIS_SECRETS_KEYS": Fernet.generate_key().decode(),
        "BLAZAR_EVENTS_API_AUTH_STRATEGY": "keystone",
        "BLAZAR_EVENTS_API_KEYSTONE_AUTH_URL": keystone.auth_url,
        "BLAZAR_EVENTS_API_KEYSTONE_USERNAME": keystone.username,
        "BLAZAR_EVENTS_API_KEYSTONE_PASSWORD": keystone.password,
        "BLAZAR_EVENTS_API_KEYSTONE_PROJECT_NAME": keystone.project_name,
        "BLAZAR_EVENTS_API_ALLOWED_NETWORKS": "10.0.0.0/8",
        "BLAZAR_EVENTS_API_WORKERS": "1",
    }
    try:
        with api_process(env, tmp_path_factory.mktemp("api") / "api.log") as url:
            yield url
    finally:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
        client.close()


@pytest.fixture(scope="session")
def cloud(keystone: KeystoneAdmin, events_api: str) -> Iterator[Cloud]:
    """Two projects with a member each and an admin of a third; the API in a region whose
    catalog entry exists for this run only (the stack's own entry is left as it is)."""
    admin = httpx.Client(
        base_url=keystone.auth_url, headers={"X-Auth-Token": keystone.token()}, timeout=30
    )
    tag = uuid.uuid4().hex[:8]
    region = f"osc-tests-{tag}"
    created: list[str] = []

    def post(path: str, kind: str, body: dict[str, Any]) -> str:
        answer = admin.post(path, json={kind: body})
        answer.raise_for_status()
        item_id = str(answer.json()[kind]["id"])
        created.append(f"{path}/{item_id}")
        return item_id

    roles = {r["name"]: r["id"] for r in admin.get("/roles").json()["roles"]}

    def user(name: str, project_id: str, role: str) -> User:
        password = uuid.uuid4().hex
        user_id = post("/users", "user", {"name": f"{name}-{tag}", "password": password})
        admin.put(f"/projects/{project_id}/users/{user_id}/roles/{roles[role]}").raise_for_status()
        return User(keystone.auth_url, f"{name}-{tag}", password, project_id, region)

    try:
        post("/regions", "region", {"id": region})
        services = admin.get("/services", params={"type": SERVICE_TYPE}).json()["services"]
        if services:
            service_id = services[0]["id"]
        else:  # the stack registers it; a Keystone it did not set up may lack it
            answer = admin.post(
                "/services", json={"service": {"type": SERVICE_TYPE, "name": "blazar-events"}}
            )
            answer.raise_for_status()
            service_id = answer.json()["service"]["id"]
        endpoint = {"service_id": service_id, "interface": "public", "region_id": region,
                    "url": f"{events_api}/v1"}  # fmt: skip
        post("/endpoints", "endpoint", endpoint)
        a = post("/projects", "project", {"name": f"osc-a-{tag}"})
        b = post("/projects", "project", {"name": f"osc-b-{tag}"})
        ops = post("/projects", "project", {"name": f"osc-ops-{tag}"})
        yield Cloud(
            member_a=user("osc-alice", a, "member"),
            member_b=user("osc-bob", b, "member"),
            admin=user("osc-carol", ops, "admin"),
            api_url=events_api,
        )
    finally:
        for path in reversed(created):
            admin.delete(path)
        admin.close()
