"""Settings of the operator (section ``[operator]``, env ``BLAZAR_EVENTS_OPERATOR_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from blazar_events.settings import CsvList, OptionalCsvList, Section
from blazar_events.triggers import DEFAULT_BROKER, DEFAULT_FUNCTION_URL, DEFAULT_NAMESPACE


class OperatorSettings(Section, section="operator"):
    namespace: str = Field(
        DEFAULT_NAMESPACE, description="Namespace of the Broker, the Triggers and the functions"
    )
    knative: bool = Field(
        True,
        description="Render Triggers (Knative mode); false: only store subscriptions, for the "
        "standalone broker",
    )
    broker: str = Field(DEFAULT_BROKER, description="The Kafka-class Broker Triggers hang on")
    function_url: str = Field(
        DEFAULT_FUNCTION_URL, description="Base URL of the shared delivery function"
    )
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
    health_port: int = Field(8080, ge=0, le=65535, description="Port of /healthz")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
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
