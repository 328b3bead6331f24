"""Settings of the subscriptions API (section ``[api]``, env ``BLAZAR_EVENTS_API_*``).

keystonemiddleware reads its own ``[keystone_authtoken]`` section of the same INI file, as in
any OpenStack service; the ``keystone_*`` options here are shortcuts for containers that
configure everything from the environment (they win over the INI section).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from blazar_events.settings import OptionalCsvList, Port, ServiceSection


class ApiSettings(ServiceSection, section="api"):
    port: Port = Field(8090, description="Port gunicorn binds")
    workers: int = Field(2, description="gunicorn worker processes")
    auth_strategy: Literal["keystone", "noauth"] = Field(
        "keystone",
        description="keystone (keystonemiddleware auth_token) or noauth (identity taken from "
        "X-Project-Id/X-User-Id/X-Roles headers: development only, never in production)",
    )
    policy_file: str | None = Field(
        None, description="oslo.policy YAML file overriding the defaults in code"
    )
    allowed_networks: OptionalCsvList = Field(
        None,
        description="Deprecated: set [egress] allowed_networks (read while that is not set)",
    )
    resolve_sinks: bool = Field(
        True, description="Resolve sink host names at create/update and refuse internal ones"
    )
    resolve_budget_seconds: float = Field(
        2.0,
        gt=0,
        le=30,
        description="Time one request may spend resolving sink host names, all of them "
        "together (off the request thread); a name without an answer by then is treated as "
        "one that does not resolve",
    )
    max_body_bytes: int = Field(65536, description="Largest request body accepted (else 413)")
    secret_grace_hours: float = Field(
        24.0, description="Hours the previous secret keeps signing after a rotation"
    )
    list_limit_max: int = Field(1000, description="Largest `limit` a list request may ask")
    max_subscriptions_per_project: int = Field(
        10000, description="Subscriptions one project may have (0: no limit); more is a 409"
    )
    max_dedicated_functions_per_project: int = Field(
        5,
        ge=0,
        description="Subscriptions with dedicated_function one project may have (0: no "
        "limit); more is a 409. Who may ask at all is the policy rule "
        "blazar-events:subscription:dedicated_function (admins by default)",
    )
    replay_max_age_hours: float = Field(
        168.0,
        gt=0,
        description="How far back a replay's `since` may reach; older is a 400. Match it to "
        "the retention of the Kafka topic (Kafka's default log.retention.hours is 168)",
    )
    request_interval_seconds: int = Field(
        10,
        ge=0,
        description="Per subscription, at most one replay and one test request in this many "
        "seconds; more is a 429 with Retry-After (0: no limit)",
    )
    project_requests_per_interval: int = Field(
        10,
        ge=0,
        description="Per project, at most this many replay and test requests (together, "
        "all its subscriptions) in request_interval_seconds; more is a 429 (0: no limit)",
    )
    trigger_broker: str | None = Field(None, description="Deprecated: set [trigger] broker")
    trigger_namespace: str | None = Field(None, description="Deprecated: set [trigger] namespace")
    function_url: str | None = Field(None, description="Deprecated: set [trigger] function_url")
    keystone_auth_url: str | None = Field(
        None, description="Keystone URL for auth_token (else [keystone_authtoken] auth_url)"
    )
    keystone_username: str | None = Field(None, description="Service user validating tokens")
    keystone_password: SecretStr | None = Field(None, description="Its password")
    keystone_project_name: str = Field("service", description="Its project")
    keystone_user_domain_name: str = Field("Default", description="Its user domain")
    keystone_project_domain_name: str = Field("Default", description="Its project domain")
