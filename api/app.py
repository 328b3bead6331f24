"""``create_app(settings)``: the Flask application of the subscriptions API."""

from __future__ import annotations

import logging

from flask import Flask, request

from api import auth, errors
from api.access import EXTENSION, Policy, Services, caller
from api.settings import ApiSettings
from blazar_events import egress
from blazar_events.errors import ConfigurationError
from blazar_events.redis_clients import to_redis
from blazar_events.settings import EgressSettings, RedisSettings, TriggerSettings
from blazar_events.store import SubscriptionStore, to_sealer

LOG = logging.getLogger(__name__)


def to_store(redis_settings: RedisSettings) -> SubscriptionStore:
    """A store on a client that fails (503) rather than hanging when Redis is away."""
    client = to_redis(redis_settings)
    return SubscriptionStore(client, redis_settings.key_prefix, sealer=to_sealer(redis_settings))


def check_sealing(store: SubscriptionStore, settings: ApiSettings) -> None:
    """Signing secrets are sealed at rest with the operator's key. Without one a production
    API (keystone) refuses to start rather than hand out secrets it stores in the clear; the
    development mode (noauth, what `make run` uses) stores them in plaintext and says so."""
    if store.sealer.enabled:
        return
    if settings.auth_strategy == "keystone":
        raise ConfigurationError(
            "no key to encrypt signing secrets at rest: set [redis] secrets_key_file (or "
            "secrets_keys) on the API and every other component; make one with "
            "`blazar-events secrets generate-key`"
        )
    LOG.warning(
        "[redis] secrets_keys is not set: signing secrets are stored in Redis in PLAINTEXT "
        "(acceptable for development only)"
    )


def create_app(
    settings: ApiSettings | None = None,
    *,
    store: SubscriptionStore | None = None,
    redis_settings: RedisSettings | None = None,
) -> Flask:
    settings = settings or ApiSettings.load()
    try:
        networks = egress.parse_networks(EgressSettings.load_for(settings).allowed_networks)
    except ValueError as exc:
        raise ConfigurationError(f"egress allowed_networks: {exc}") from None
    if store is None:
        store = to_store(redis_settings or RedisSettings.load())
        check_sealing(store, settings)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["IDENTITY_URI"] = settings.keystone_auth_url
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # An id holding an escaped "/" (%2F) decodes to an empty segment; werkzeug would answer
    # that with a 308 to a merged path, outside Blazar's error shape. It is a 404 here.
    app.url_map.merge_slashes = False
    app.extensions[EXTENSION] = Services(
        settings,
        store,
        Policy(settings.policy_file),
        networks,
        trigger=TriggerSettings.load_for(settings),
    )
    errors.register(app)

    from api import deliveries, event_types, health, leases, openapi, subscriptions

    for module in (subscriptions, deliveries, leases, event_types, openapi, health):
        app.register_blueprint(module.bp)

    @app.before_request
    def _authenticate() -> None:
        # Identity first, before any lookup: an anonymous caller learns nothing, not even
        # whether an id exists.
        if request.routing_exception is None and request.path not in auth.PUBLIC_PATHS:
            caller()

    app.wsgi_app = auth.wrap(app.wsgi_app, settings)  # type: ignore[method-assign,assignment]
    return app
