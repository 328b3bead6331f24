"""The installation and configuration of the stack's real Blazar: its virtualenv, a no-op
resource plugin of ours, its Keystone accounts and catalog entry, blazar.conf and its
database; the services that run it are :mod:`stack.blazar`.

Blazar 18.0.0 from PyPI in its own virtualenv (it pins its own OpenStack libraries), SQLite,
and a no-op resource plugin, so a lease can be made on a machine with no Nova. Three things of
Blazar 18.0.0 are worked around here, each said where it is done: the database migrations
fail on SQLite, ``blazar-api`` returns at once instead of serving, and the bundled dummy
plugin breaks every lease that has a reservation.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from stack.errors import StackError
from stack.identity import Account, Identity
from stack.keystone import admin_credentials
from stack.layout import (
    BLAZAR_PORT,
    BLAZAR_URL,
    HOST,
    KEYSTONE_PORT,
    TRANSPORT_URL,
    stack_dir,
)
from stack.process import exclusive, run_step

VERSION = "18.0.0"
PACKAGES = [f"blazar=={VERSION}", "python-blazarclient", "python-openstackclient"]
SERVICE_PASSWORD = "blazar-service-password"
DEMO_PASSWORD = "blazar-demo-password"
DEMO_PROJECT = "blazar-demo"
PLUGIN = "blazar-events.noop.plugin"
MINUTES_BEFORE_END = 1  # before_end_lease one minute before the end: the demo sees it soon
MANAGER_TOPIC = "blazar.manager"

# Blazar's dummy plugin answers None where the manager iterates, so every lease with a
# reservation fails with a 500; this one answers "nothing allocated" and does nothing else.
PLUGIN_SOURCE = '''"""A resource plugin that reserves nothing (blazar-events' local stack)."""
from blazar.plugins import dummy_vm_plugin


class NoopPlugin(dummy_vm_plugin.DummyVMPlugin):
    title = "No-op plugin (blazar-events)"

    def list_allocations(self, query, detail=False):
        return {}

    def query_allocations(self, resource_id_list, lease_id=None, reservation_id=None):
        return {}

    def allocation_candidates(self, lease_values):
        return []
'''
PLUGIN_PROJECT = f'''[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "blazar-events-noop-plugin"
version = "1.0"

[tool.setuptools]
py-modules = ["blazar_events_noop_plugin"]

[project.entry-points."blazar.resource.plugins"]
"{PLUGIN}" = "blazar_events_noop_plugin:NoopPlugin"
'''
# blazar-api's console script starts a single-threaded server in a daemon thread and returns
# (the process would exit at once). This builds the same application and serves it from the
# main thread, one thread per request, so a slow lease creation does not stall the API.
API_SERVER = """import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server
from oslo_config import cfg
from blazar.api import app as wsgi_app
from blazar.cmd import api  # registers the port option
from blazar.utils import service as service_utils

class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True

cfg.CONF(["--config-file", sys.argv[1]], project="blazar", prog="blazar-api")
service_utils.prepare_service([sys.argv[0]])
make_server(cfg.CONF.host, cfg.CONF.port, wsgi_app.VersionSelectorApplication(),
            server_class=Server).serve_forever()
"""
# `blazar-db-manage upgrade head` fails on SQLite (an ALTER COLUMN), so the schema is made
# from Blazar's own models and the migrations are stamped as applied.
DB_SETUP = """import sys
from oslo_config import cfg
from blazar.db import api as db_api
cfg.CONF(["--config-file", sys.argv[1]], project="blazar")
db_api.setup_db()
"""


def folder() -> Path:
    path = stack_dir() / "blazar"
    path.mkdir(parents=True, exist_ok=True)
    return path


def venv() -> Path:
    return folder() / "venv"


def config_file() -> Path:
    return folder() / "blazar.conf"


def demo_openrc() -> Path:
    """``source`` it and ``openstack reservation lease …`` acts as the demo tenant."""
    return folder() / "demo-openrc"


def demo_account() -> Account:
    """The tenant of the local Blazar (written by ``stack up``)."""
    try:
        return Account(**json.loads((folder() / "demo.json").read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise StackError("no Blazar tenant yet: run `blazar-events stack up blazar`") from exc


def install() -> None:
    """Blazar's virtualenv with our plugin; once, shared by both services."""
    with exclusive(folder() / "setup.lock"):
        _install()


def _install() -> None:
    done = venv() / ".complete"
    if done.is_file():
        return
    print(f"stack: installing Blazar {VERSION} into its own virtualenv", file=sys.stderr)
    log = folder() / "install.log"
    run_step("creating Blazar's venv", [sys.executable, "-m", "venv", str(venv())], log, 300.0)
    pip = [str(venv() / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    run_step("pip install blazar", [*pip, *PACKAGES], log, timeout=1800.0)
    plugin = folder() / "noop-plugin"
    plugin.mkdir(exist_ok=True)
    (plugin / "blazar_events_noop_plugin.py").write_text(PLUGIN_SOURCE)
    (plugin / "pyproject.toml").write_text(PLUGIN_PROJECT)
    run_step("pip install the no-op plugin", [*pip, str(plugin)], log, timeout=600.0)
    done.write_text("")


def prepare() -> None:
    """Keystone accounts, the catalog entry, blazar.conf and the database (idempotent)."""
    with exclusive(folder() / "setup.lock"):
        _await_dependencies()
        _prepare()


def _await_dependencies(timeout: float = 1800.0) -> None:
    # `stack up` starts every service at once, and a cold Keystone takes minutes to install.
    from stack.registry import service

    deadline = time.monotonic() + timeout
    for name in ("keystone", "rabbitmq"):
        while not service(name).status().answers:
            if time.monotonic() > deadline:
                raise StackError(f"Blazar needs {name}, which did not come up")
            time.sleep(1.0)


def _prepare() -> None:
    config_file().write_text(_config(_accounts()))
    database = folder() / "blazar.db"
    if not database.is_file():
        log = folder() / "install.log"
        python = str(venv() / "bin" / "python")
        schema = [python, "-c", DB_SETUP, str(config_file())]
        run_step("creating Blazar's schema", schema, log, 300.0)
        manage = [str(venv() / "bin" / "blazar-db-manage"), "--config-file", str(config_file())]
        run_step("blazar-db-manage stamp head", [*manage, "stamp", "head"], log, 300.0)


def _accounts() -> Account:
    """The Keystone side (idempotent); writes the tenant's files, returns the service user."""
    identity = Identity(admin_credentials())
    try:
        service = identity.account("blazar", SERVICE_PASSWORD, "service", ["admin", "service"])
        demo = identity.account("blazar-demo", DEMO_PASSWORD, DEMO_PROJECT, ["member"])
        identity.endpoint("reservation", "blazar", f"{BLAZAR_URL}/v1")
    finally:
        identity.close()
    (folder() / "demo.json").write_text(json.dumps(asdict(demo), indent=2) + "\n")
    demo_openrc().write_text(demo.openrc())
    return service


def adopted() -> None:
    """A Blazar that another stack folder runs (a second checkout, CI in a clone) is used
    as it is; this folder only needs the tenant's files."""
    if not (folder() / "demo.json").is_file():
        with exclusive(folder() / "setup.lock"):
            _accounts()


def _config(service: Account) -> str:
    auth = f"http://{HOST}:{KEYSTONE_PORT}"
    return (
        "[DEFAULT]\n"
        f"host = {HOST}\n"
        f"port = {BLAZAR_PORT}\n"
        f"transport_url = {TRANSPORT_URL}\n"
        "use_stderr = true\n"
        f"os_auth_host = {HOST}\n"
        f"os_auth_port = {KEYSTONE_PORT}\n"
        "os_auth_version = v3\n"
        f"os_admin_username = {service.username}\n"
        f"os_admin_password = {service.password}\n"
        f"os_admin_project_name = {service.project_name}\n"
        f"os_region_name = {service.region_name}\n"
        "[manager]\n"
        f"plugins = {PLUGIN}\n"
        f"minutes_before_end_lease = {MINUTES_BEFORE_END}\n"
        "[oslo_messaging_notifications]\n"
        "driver = messagingv2\n"
        "[database]\n"
        f"connection = sqlite:///{folder() / 'blazar.db'}\n"
        "[keystone_authtoken]\n"
        "auth_type = password\n"
        f"auth_url = {auth}/v3\n"
        f"www_authenticate_uri = {auth}/v3\n"
        f"username = {service.username}\n"
        f"password = {service.password}\n"
        f"project_name = {service.project_name}\n"
        "user_domain_name = Default\n"
        "project_domain_name = Default\n"
        f"region_name = {service.region_name}\n"
    )
