"""Settings of the operator (section ``[operator]``, env ``BLAZAR_EVENTS_OPERATOR_*``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from blazar_events.settings import CsvList, OptionalCsvList, Port, ServiceSection


class OperatorSettings(ServiceSection, section="operator"):
    renamed: ClassVar[dict[str, str]] = {"health_port": "port"}

    # kopf's liveness endpoint listened on every address before host existed here.
    host: str = Field("0.0.0.0", description="Address of /healthz (kopf's liveness endpoint)")
    port: Port = Field(8080, description="Port of /healthz")
    namespace: str | None = Field(None, description="Deprecated: set [trigger] namespace")
    knative: bool = Field(
        True,
        description="Render Triggers (Knative mode); false: only store subscriptions, for the "
        "standalone broker",
    )
    broker: str | None = Field(None, description="Deprecated: set [trigger] broker")
    function_url: str | None = Field(None, description="Deprecated: set [trigger] function_url")
    function_service: str = Field(
        "blazar-events-function",
        description="The shared function's Knative Service, copied for dedicated functions",
    )
    token_key: SecretStr | None = Field(
        None,
        description="The key the Triggers' capability tokens are made with: the function's "
        "token_key (one Secret for both). Required in Knative mode",
    )
    admin_namespaces: CsvList = Field(
        default_factory=list,
        description="Namespaces whose EventSubscriptions may name any projectId or '*' (the "
        "cloud admin's); empty: the operator's own namespace. Elsewhere a resource gets the "
        "project its Namespace is annotated with (events.blazar.openstack.org/project-id)",
    )
    allowed_networks: OptionalCsvList = Field(
        None,
        description="Deprecated: set [egress] allowed_networks (read while that is not set)",
    )
    resync_seconds: float = Field(
        60.0, gt=0, description="Seconds between full passes over the store and the Triggers"
    )
    health_port: Port | None = Field(None, description="Deprecated: set port")
    max_subscriptions_per_project: int = Field(
        10000,
        ge=0,
        description="Subscriptions one project may have, counting the API's (0: no limit); "
        "keep it equal to [api] max_subscriptions_per_project",
    )
    max_dedicated_functions_per_project: int = Field(
        5,
        ge=0,
        description="Subscriptions with dedicatedFunction one project may have (0: no "
        "limit); keep it equal to [api] max_dedicated_functions_per_project",
    )
