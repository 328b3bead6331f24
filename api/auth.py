"""Who is calling: keystonemiddleware's auth_token, or the noauth development stand-in.

Both leave the same WSGI environ behind (``HTTP_X_PROJECT_ID``, ``HTTP_X_USER_ID``,
``HTTP_X_ROLES``, ``HTTP_X_IDENTITY_STATUS``), from which :func:`to_context` builds the
oslo.context the policy checks. auth_token runs with ``delay_auth_decision`` so that a missing
or bad token reaches the app and gets Blazar's error body like every other error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from oslo_context.context import RequestContext

from api.settings import ApiSettings
from blazar_events.errors import NotAuthorized
from blazar_events.settings import config_file

LOG = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PUBLIC_PATHS = ("/healthz", "/v1/openapi.json", "/")

NOAUTH_WARNING = (
    "*** blazar-events API runs with auth_strategy=noauth: ANY caller can act as ANY "
    "project by sending X-Project-Id/X-Roles headers. Development and tests only. ***"
)


class NoAuth:
    """Trust the identity headers the client sends (what auth_token would have set)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        confirmed = bool(environ.get("HTTP_X_PROJECT_ID"))
        environ["HTTP_X_IDENTITY_STATUS"] = "Confirmed" if confirmed else "Invalid"
        return self.app(environ, start_response)


def authtoken_options(settings: ApiSettings) -> dict[str, Any]:
    """auth_token's configuration: ``[keystone_authtoken]`` of our INI file (read through a
    private oslo.config object, never the global one or the command line), overridden by the
    ``keystone_*`` settings."""
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    path = config_file()
    conf([], project="blazar-events", default_config_files=[str(path)] if path else [])
    options: dict[str, Any] = {"oslo_config_config": conf, "delay_auth_decision": True}
    if settings.keystone_auth_url:
        options.update(
            auth_type="password",
            auth_url=settings.keystone_auth_url,
            www_authenticate_uri=settings.keystone_auth_url,
            username=settings.keystone_username or "",
            password=(
                settings.keystone_password.get_secret_value() if settings.keystone_password else ""
            ),
            project_name=settings.keystone_project_name,
            user_domain_name=settings.keystone_user_domain_name,
            project_domain_name=settings.keystone_project_domain_name,
        )
    return options


def wrap(app: WSGIApp, settings: ApiSettings) -> WSGIApp:
    if settings.auth_strategy == "noauth":
        LOG.warning(NOAUTH_WARNING)
        return NoAuth(app)
    from keystonemiddleware import auth_token

    return auth_token.AuthProtocol(app, authtoken_options(settings))


def to_context(environ: dict[str, Any]) -> RequestContext:
    """The caller's context; NotAuthorized (401) when no valid identity came with the request."""
    if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed" or not environ.get("HTTP_X_PROJECT_ID"):
        raise NotAuthorized("authentication required: send a valid project-scoped X-Auth-Token")
    return RequestContext.from_environ(environ)
