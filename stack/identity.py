"""Keystone accounts over its REST API: the stack's admin (:class:`KeystoneAdmin`), and the
accounts the local Blazar needs, made idempotently.

A service user (``admin`` and ``service`` in project ``service``) that Blazar uses to check
tokens and to hold the trusts it takes per lease; a tenant (``blazar-demo``, role ``member``)
whose leases the demo and the tests make; and the catalog entry of service type
``reservation`` through which ``openstack reservation …`` finds Blazar's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

DOMAIN_ID = "default"


def password_token(
    auth_url: str, user: dict[str, Any], password: str, project: dict[str, Any], timeout: float
) -> str:
    """A token scoped to ``project`` for ``user`` (Keystone's password method); raises on
    failure."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {**user, "password": password}},
            },
            "scope": {"project": project},
        }
    }
    answer = httpx.post(f"{auth_url}/auth/tokens", json=body, timeout=timeout)
    answer.raise_for_status()
    return answer.headers["X-Subject-Token"]


@dataclass(frozen=True)
class KeystoneAdmin:
    """What a client needs to authenticate as the stack's cloud admin."""

    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str
    project_domain_name: str
    region_name: str

    def token(self, timeout: float = 10.0) -> str:
        """A project-scoped admin token (raises on failure)."""
        user = {"name": self.username, "domain": {"name": self.user_domain_name}}
        project = {"name": self.project_name, "domain": {"name": self.project_domain_name}}
        return password_token(self.auth_url, user, self.password, project, timeout)


@dataclass(frozen=True)
class Account:
    """A Keystone user with a role in one project: what a client needs to log in."""

    auth_url: str
    username: str
    password: str
    project_name: str
    project_id: str
    user_id: str
    region_name: str

    def openrc(self) -> str:
        """The environment ``openstack`` reads, as a file to source."""
        lines = {
            "OS_AUTH_URL": self.auth_url,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": self.username,
            "OS_PASSWORD": self.password,
            "OS_PROJECT_NAME": self.project_name,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": self.region_name,
        }
        return "".join(f"export {name}={value}\n" for name, value in lines.items())

    def token(self, timeout: float = 10.0) -> str:
        """A project-scoped token of this user."""
        user = {"name": self.username, "domain": {"id": DOMAIN_ID}}
        return password_token(self.auth_url, user, self.password, {"id": self.project_id}, timeout)


class Identity:
    """Idempotent find-or-create of Keystone projects, users, roles and catalog entries."""

    def __init__(self, admin: KeystoneAdmin) -> None:
        self.admin = admin
        self.client = httpx.Client(
            base_url=admin.auth_url, headers={"X-Auth-Token": admin.token()}, timeout=30.0
        )

    def close(self) -> None:
        self.client.close()

    def _find(self, kind: str, **query: str) -> dict[str, Any] | None:
        answer = self.client.get(f"/{kind}", params=query)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()[kind]
        return found[0] if found else None

    def _ensure(self, kind: str, one: str, query: dict[str, str], body: dict[str, Any]) -> str:
        existing = self._find(kind, **query)
        if existing is not None:
            return str(existing["id"])
        answer = self.client.post(f"/{kind}", json={one: body})
        answer.raise_for_status()
        return str(answer.json()[one]["id"])

    def project(self, name: str) -> str:
        return self._ensure(
            "projects", "project", {"name": name}, {"name": name, "domain_id": DOMAIN_ID}
        )

    def role(self, name: str) -> str:
        return self._ensure("roles", "role", {"name": name}, {"name": name})

    def user(self, name: str, password: str, project_id: str) -> str:
        user_id = self._ensure(
            "users",
            "user",
            {"name": name, "domain_id": DOMAIN_ID},
            {"name": name, "password": password, "domain_id": DOMAIN_ID,
             "default_project_id": project_id},
        )  # fmt: skip
        # The password of an existing user is set again: the stack's files say what it is.
        self.client.patch(f"/users/{user_id}", json={"user": {"password": password}})
        return user_id

    def grant(self, project_id: str, user_id: str, role: str) -> None:
        role_id = self.role(role)
        answer = self.client.put(f"/projects/{project_id}/users/{user_id}/roles/{role_id}")
        answer.raise_for_status()

    def account(self, user: str, password: str, project: str, roles: list[str]) -> Account:
        project_id = self.project(project)
        user_id = self.user(user, password, project_id)
        for role in roles:
            self.grant(project_id, user_id, role)
        return Account(
            self.admin.auth_url, user, password, project, project_id, user_id,
            self.admin.region_name,
        )  # fmt: skip

    def endpoint(self, service_type: str, name: str, url: str) -> None:
        """The catalog entry (public and internal interfaces) of one service."""
        service_id = self._ensure(
            "services", "service", {"type": service_type}, {"type": service_type, "name": name}
        )
        for interface in ("public", "internal"):
            found = self._find("endpoints", service_id=service_id, interface=interface)
            if found is not None and found["url"] == url:
                continue
            if found is not None:
                self.client.delete(f"/endpoints/{found['id']}").raise_for_status()
            body = {"service_id": service_id, "interface": interface, "url": url,
                    "region_id": self.admin.region_name}  # fmt: skip
            self.client.post("/endpoints", json={"endpoint": body}).raise_for_status()


# blazar-events' own API in the catalog, so that `openstack reservation subscription ...` and
# blazar_events_client find it like any OpenStack service: the URL `blazar-events run` (and
# the README's `blazar-events api`) serves on, under the service type the client looks up.
EVENTS_SERVICE_TYPE = "reservation-events"
EVENTS_API_URL = "http://127.0.0.1:8090/v1"


def register_events_api(admin: KeystoneAdmin) -> None:
    """The catalog entry of blazar-events (idempotent)."""
    identity = Identity(admin)
    try:
        identity.endpoint(EVENTS_SERVICE_TYPE, "blazar-events", EVENTS_API_URL)
    finally:
        identity.close()
