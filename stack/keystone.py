"""Keystone (identity) from PyPI in its own virtualenv, SQLite-backed, served by gunicorn.

Keystone pins its own OpenStack libraries; a separate virtualenv keeps them from clashing
with ours. Installing it takes minutes, so it happens once and is cached in the stack folder.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import httpx

from stack.errors import StackError
from stack.identity import KeystoneAdmin, register_events_api
from stack.layout import HOST, KEYSTONE_PORT, KEYSTONE_URL, stack_dir
from stack.process import run_step
from stack.service import Service

PACKAGES = ["keystone", "gunicorn"]
ADMIN_PASSWORD_ENV = "BLAZAR_EVENTS_STACK_KEYSTONE_PASSWORD"
DEFAULT_ADMIN_PASSWORD = "admin-password"
REGION = "RegionOne"

# keystone's WSGI entry point hands sys.argv to oslo.config, which would choke on gunicorn's
# own options: clear them before importing it.
WSGI_WRAPPER = "import sys\nsys.argv = sys.argv[:1]\nfrom keystone.wsgi.api import application\n"


def admin_file() -> Path:
    return stack_dir() / "keystone" / "admin.json"


def admin_credentials() -> KeystoneAdmin:
    """The admin of the stack's Keystone (from admin.json when the stack wrote one)."""
    try:
        return KeystoneAdmin(**json.loads(admin_file().read_text()))
    except (OSError, ValueError, TypeError):
        password = os.environ.get(ADMIN_PASSWORD_ENV, DEFAULT_ADMIN_PASSWORD)
        return KeystoneAdmin(KEYSTONE_URL, "admin", password, "admin", "Default", "Default", REGION)


class Keystone(Service):
    name = "keystone"
    ports = (KEYSTONE_PORT,)
    marker = "keystone_wsgi:application"  # not just "gunicorn": the API runs one too
    start_timeout = 90.0

    def address(self) -> str:
        return KEYSTONE_URL

    def details(self) -> str:
        return f"admin credentials in {admin_file()}, data {self.directory}"

    @property
    def venv(self) -> Path:
        return self.directory / "venv"

    def install(self) -> None:
        done = self.venv / ".complete"
        if done.is_file():
            return
        print("stack: installing Keystone into its own virtualenv", file=sys.stderr, flush=True)
        log = self.directory / "install.log"
        run_step(
            "creating Keystone's virtualenv",
            [sys.executable, "-m", "venv", str(self.venv)],
            log,
            timeout=300.0,
        )
        pip = [str(self.venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        run_step("pip install keystone gunicorn", [*pip, *PACKAGES], log, timeout=1800.0)
        done.write_text("")

    def prepare(self) -> None:
        folder = self.directory
        (folder / "keystone.conf").write_text(
            "[DEFAULT]\n"
            "use_stderr = true\n"
            "[database]\n"
            f"connection = sqlite:///{folder / 'keystone.db'}\n"
            "[token]\n"
            "provider = fernet\n"
            "[fernet_tokens]\n"
            f"key_repository = {folder / 'fernet-keys'}\n"
            "[fernet_receipts]\n"
            f"key_repository = {folder / 'fernet-keys'}\n"
            "[credential]\n"
            f"key_repository = {folder / 'credential-keys'}\n"
            "[cache]\n"
            "enabled = false\n"
        )
        (folder / "keystone_wsgi.py").write_text(WSGI_WRAPPER)
        admin = admin_credentials()
        marker = folder / ".bootstrapped"
        if not marker.is_file():
            self._bootstrap(admin)
            marker.write_text("")
        admin_file().write_text(json.dumps(asdict(admin), indent=2) + "\n")

    def _bootstrap(self, admin: KeystoneAdmin) -> None:
        manage = [
            str(self.venv / "bin" / "keystone-manage"),
            "--config-file",
            str(self.directory / "keystone.conf"),
        ]
        owner = ["--keystone-user", _user(), "--keystone-group", _group()]
        log = self.directory / "install.log"
        steps = [
            ("keystone-manage db_sync", ["db_sync"]),
            ("keystone-manage fernet_setup", ["fernet_setup", *owner]),
            ("keystone-manage credential_setup", ["credential_setup", *owner]),
            (
                "keystone-manage bootstrap",
                [
                    "bootstrap",
                    "--bootstrap-password",
                    admin.password,
                    "--bootstrap-username",
                    admin.username,
                    "--bootstrap-project-name",
                    admin.project_name,
                    "--bootstrap-admin-url",
                    KEYSTONE_URL,
                    "--bootstrap-public-url",
                    KEYSTONE_URL,
                    "--bootstrap-internal-url",
                    KEYSTONE_URL,
                    "--bootstrap-region-id",
                    admin.region_name,
                ],
            ),
        ]
        for what, args in steps:
            run_step(what, [*manage, *args], log, timeout=300.0)

    def command(self) -> tuple[list[str], dict[str, str]]:
        argv = [
            str(self.venv / "bin" / "gunicorn"),
            "--bind",
            f"{HOST}:{KEYSTONE_PORT}",
            "--workers",
            "2",
            "--timeout",
            "60",
            "--chdir",
            str(self.directory),
            "--name",
            "keystone",
            "keystone_wsgi:application",
        ]
        return argv, {"OS_KEYSTONE_CONFIG_FILES": str(self.directory / "keystone.conf")}

    def probe(self) -> None:
        response = httpx.get(KEYSTONE_URL, timeout=3.0)
        if response.status_code != 200 or "version" not in response.json():
            raise ConnectionError(f"GET {KEYSTONE_URL} answered {response.status_code}")

    def after_start(self) -> None:
        try:
            admin_credentials().token()
        except httpx.HTTPError as exc:
            raise StackError(f"keystone answers but the admin cannot log in: {exc}") from exc
        try:
            register_events_api(admin_credentials())
        except httpx.HTTPError as exc:
            raise StackError(f"keystone: registering blazar-events in the catalog: {exc}") from exc


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _group() -> str:
    import grp

    return grp.getgrgid(os.getegid()).gr_name
