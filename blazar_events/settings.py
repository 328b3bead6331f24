"""Settings: environment variables with one prefix, or an INI file in the oslo.config style.

Each component declares its own section by subclassing :class:`Section`::

    class BridgeSettings(Section, section="bridge"):
        prefetch: int = Field(500, description="AMQP prefetch count")

``BridgeSettings.load()`` then reads, highest priority first:

1. ``BLAZAR_EVENTS_BRIDGE_PREFETCH`` from the environment (12-factor, containers);
2. ``prefetch = ...`` under ``[bridge]`` in the INI file named by
   ``BLAZAR_EVENTS_CONFIG_FILE`` (default ``/etc/blazar-events/blazar-events.conf``);
3. the default in code.

Lists are comma-separated in both places. ``blazar-events config`` prints every section with
its defaults (the sample file), and ``list_opts`` feeds ``oslo-config-generator``.
"""

from __future__ import annotations

import configparser
import importlib
import logging
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self, get_args, get_origin

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from blazar_events import renames
from blazar_events.errors import ConfigurationError
from blazar_events.triggers import DEFAULT_BROKER, DEFAULT_FUNCTION_URL, DEFAULT_NAMESPACE

ENV_PREFIX = "BLAZAR_EVENTS_"
CONFIG_FILE_ENV = "BLAZAR_EVENTS_CONFIG_FILE"
DEFAULT_CONFIG_FILE = "/etc/blazar-events/blazar-events.conf"


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CsvList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]
"""A list setting written as ``a, b, c`` in the INI file and in the environment."""

OptionalCsvList = Annotated[list[str] | None, NoDecode, BeforeValidator(_split_csv)]
"""A :data:`CsvList` that may be unset (None), e.g. a deprecated option."""


def config_file() -> Path | None:
    path = os.environ.get(CONFIG_FILE_ENV)
    if path:
        # exists(), not is_file(): /dev/null is the usual way to say "no file, defaults only".
        if not Path(path).exists() or Path(path).is_dir():
            raise ConfigurationError(f"{CONFIG_FILE_ENV}={path}: no such file")
        return Path(path)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _ini_section(section: str) -> dict[str, str]:
    """The options of ``[section]`` in the INI file (none without a file)."""
    path = config_file()
    if path is None:
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    return dict(parser.items(section)) if parser.has_section(section) else {}


def raw_option(section: str, option: str) -> str | None:
    """One option as written, environment first, then the file; None where it is not set."""
    value = os.environ.get(env_name(section, option))
    return value if value is not None else _ini_section(section).get(option)


class _IniSource(PydanticBaseSettingsSource):
    """Values from the ``[section]`` of the INI file, if there is one."""

    def __init__(self, settings_cls: type[BaseSettings], section: str) -> None:
        super().__init__(settings_cls)
        self._values: dict[str, str] = _ini_section(section)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        known = self.settings_cls.model_fields
        unknown = sorted(set(self._values) - set(known))
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) {', '.join(unknown)} in the INI file; "
                "see `blazar-events config` for the valid ones"
            )
        return dict(self._values)


class Section(BaseSettings):
    """Base of every settings section; see the module docstring."""

    section: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Section]]] = {}
    renamed: ClassVar[dict[str, str]] = {}
    """Old option -> its new name in this section; the old one still reads (renames.py)."""
    formerly: ClassVar[dict[str, dict[str, str]]] = {}
    """Option -> {old section: its name there} for an option that moved here from several
    components' sections; :meth:`load_for` reads the old ones (renames.py)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, validate_default=True)

    def __init_subclass__(cls, section: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if section:
            cls.section = section
            cls.model_config = SettingsConfigDict(
                **{**cls.model_config, "env_prefix": f"{ENV_PREFIX}{section.upper()}_"}
            )
            Section.registry[section] = cls

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _IniSource(settings_cls, cls.section))

    @model_validator(mode="before")
    @classmethod
    def _read_renamed(cls, values: Any) -> Any:
        if cls.renamed and isinstance(values, dict):
            return renames.apply_renames(cls.section, cls.renamed, values, env_name)
        return values

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Read the section; a bad value raises ConfigurationError naming the variable."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(
                env_name(cls.section, str(err["loc"][0]))
                + f" ([{cls.section}] {err['loc'][0]}): {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigurationError(f"invalid settings: {problems}") from None

    @classmethod
    def load_for(cls, component: Section, **overrides: Any) -> Self:
        """The section as ``component`` sees it: a moved option (:attr:`formerly`) not set
        here takes the value of the component's own old option, as before the move."""
        loaded = cls.load(**overrides)
        update: dict[str, Any] = {}
        for field, olds in cls.formerly.items():
            info = cls.model_fields[field]
            kind: Any = info.annotation
            if info.metadata:  # e.g. CsvList's splitting of "a, b"
                kind = Annotated[kind, *info.metadata]
            adapter: TypeAdapter[Any] = TypeAdapter(kind)
            found: dict[str, Any] = {}
            own = None
            for section, option in olds.items():
                name = f"[{section}] {option} ({env_name(section, option)})"
                if section == component.section:
                    value = getattr(component, option, None)
                    value = value if renames.is_set(value) else None
                    own = name if value is not None else None
                else:
                    raw = raw_option(section, option)
                    value = adapter.validate_python(raw) if renames.is_set(raw) else None
                if value is not None:
                    found[name] = value
            new = f"[{cls.section}] {field} ({env_name(cls.section, field)})"
            value = renames.moved_value(new, field in loaded.model_fields_set, own, found)
            if value is not None:
                update[field] = value
        return loaded.model_copy(update=update) if update else loaded


# --- Core sections: used by more than one component -------------------------------------------


class KafkaSettings(Section, section="kafka"):
    bootstrap_servers: CsvList = Field(
        default_factory=lambda: ["127.0.0.1:9092"], description="Kafka bootstrap servers"
    )
    topic: str = Field("blazar.events", description="Topic of the translated CloudEvents")
    rejected_topic: str = Field(
        "blazar.events.rejected",
        description="Topic for bus messages that cannot be translated, with the reason",
    )
    dlq_topic: str = Field(
        "blazar.events.dlq", description="Topic for deliveries that failed for good"
    )
    state_topic: str = Field(
        "blazar.leases",
        description="Compacted topic (cleanup.policy=compact) of each live lease's latest "
        "event, keyed by lease id, tombstoned on lease.delete; read by snapshot requests",
    )
    security_protocol: str = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    sasl_mechanism: str | None = Field(None, description="e.g. PLAIN or SCRAM-SHA-512")
    sasl_username: str | None = Field(None, description="SASL user name")
    sasl_password: SecretStr | None = Field(None, description="SASL password")
    ssl_cafile: str | None = Field(None, description="CA bundle for SSL")

    def librdkafka_config(self) -> dict[str, Any]:
        """The configuration every confluent-kafka (librdkafka) client starts from.

        One home for the connection and security settings; each client adds its own keys
        (``acks``, ``group.id`` ...). librdkafka's own log lines go to this module's logger.
        """
        config: dict[str, Any] = {
            "bootstrap.servers": ",".join(self.bootstrap_servers),
            "security.protocol": self.security_protocol.lower(),
            "logger": logging.getLogger("blazar_events.kafka"),
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.ssl_cafile:
            config["ssl.ca.location"] = self.ssl_cafile
        return config

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by every kafka-python client."""
        options: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.ssl_cafile:
            options["ssl_cafile"] = self.ssl_cafile
        return options


class RedisSettings(Section, section="redis"):
    url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6380/0"),
        description="Redis URL (redis:// or rediss://, may carry a password)",
    )
    key_prefix: str = Field("blazar-events", description="Prefix of every key this product owns")
    secrets_keys: SecretStr | None = Field(
        None,
        description="Fernet keys sealing the signing secrets at rest, comma-separated: the "
        "first seals, every one opens (rotation). Every component reading the store needs "
        "them (docs/api.md, Signing secrets at rest)",
    )
    secrets_key_file: str | None = Field(
        None,
        description="File with Fernet keys, one per line, the sealing one first; read "
        "before secrets_keys (e.g. a mounted Kubernetes Secret)",
    )
    # One timeout policy for every component's client (blazar_events/redis_clients.py).
    connect_timeout: float = Field(
        2.0, gt=0, description="Seconds to open a connection to Redis before the call fails"
    )
    socket_timeout: float = Field(
        5.0,
        gt=1,
        description="Seconds one Redis call may wait for its answer (above the 1 s that the "
        "change-feed followers block for)",
    )
    health_check_interval: int = Field(
        30,
        ge=0,
        description="Seconds a pooled connection may sit idle before it is checked (PING) "
        "before use (0: never)",
    )
    retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Times a call that lost its connection or timed out is retried, after "
        "0.1 s, 0.2 s, ... (at most 1 s); then it fails (the API answers 503)",
    )


class EgressSettings(Section, section="egress"):
    """The SSRF policy of every component that checks or reaches a sink (blazar_events/egress.py).

    Components read it with ``EgressSettings.load_for(their_settings)``, which honours their
    deprecated own option while this one is not set (renames.py has the rule)."""

    allowed_networks: CsvList = Field(
        default_factory=list,
        description="CIDRs a sink may point into although the SSRF policy refuses them "
        "(loopback, private, link-local), e.g. a tenant network 10.0.0.0/8; one policy for "
        "the API, the deliveries and the operator. Replaces [api], [delivery] and [operator] "
        "allowed_networks: while this is not set each component reads its old option (with a "
        "warning, and another if they disagree); once set, the old ones are ignored",
    )

    formerly: ClassVar[dict[str, dict[str, str]]] = {
        "allowed_networks": {
            "api": "allowed_networks",
            "delivery": "allowed_networks",
            "operator": "allowed_networks",
        }
    }


class TriggerSettings(Section, section="trigger"):
    """Where rendered Knative Triggers point: one home for the operator, which creates them,
    and the API, which shows a tenant its Trigger. Components read it with
    ``TriggerSettings.load_for(their_settings)``; their former options still read while these
    are not set (the rule of renames.py)."""

    namespace: str = Field(
        DEFAULT_NAMESPACE,
        description="Namespace of the Broker, the Triggers and the functions (formerly "
        "[operator] namespace and [api] trigger_namespace)",
    )
    broker: str = Field(
        DEFAULT_BROKER,
        description="The Kafka-class Broker Triggers hang on (formerly [operator] broker and "
        "[api] trigger_broker)",
    )
    function_url: str = Field(
        DEFAULT_FUNCTION_URL,
        description="Base URL of the shared delivery function that Triggers call (formerly "
        "[operator] and [api] function_url)",
    )

    formerly: ClassVar[dict[str, dict[str, str]]] = {
        "namespace": {"operator": "namespace", "api": "trigger_namespace"},
        "broker": {"operator": "broker", "api": "trigger_broker"},
        "function_url": {"operator": "function_url", "api": "function_url"},
    }


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Port = Annotated[int, Field(ge=0, le=65535)]
# Every name Python's logging knows, in any case: a level that used to work still does.
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "NOTSET"],
    BeforeValidator(_upper),
]


class ServiceSection(Section):
    """Listen and log options, spelled the same in every component's section.

    A component subclasses it and redeclares ``port`` with its own default."""

    host: str = Field("127.0.0.1", description="Address the component's HTTP server listens on")
    port: Port = Field(0, description="Port of the component's HTTP server")
    log_level: LogLevel = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: Literal["json", "text"] = Field(
        "text", description="Logs on stderr: json (one object per line) or text"
    )


class EventSettings(Section, section="events"):
    source_prefix: str = Field(
        "/openstack/blazar",
        description="CloudEvent source prefix; the publisher id is appended (set per cloud/region)",
    )


# --- Documentation and oslo-config-generator --------------------------------------------------


def all_sections() -> dict[str, type[Section]]:
    """Every section, core and components (importing the components' settings modules)."""
    from blazar_events.components import settings_modules

    for module in settings_modules():
        importlib.import_module(module)
    return dict(sorted(Section.registry.items()))


def env_name(section: str, field: str) -> str:
    """The environment variable of one option, e.g. ``BLAZAR_EVENTS_BROKER_PORT``."""
    return f"{ENV_PREFIX}{section.upper()}_{field.upper()}"


def all_env_names() -> set[str]:
    """The environment variable of every option of every section."""
    return {
        env_name(section, field)
        for section, cls in all_sections().items()
        for field in cls.model_fields
    }


def _describe(info: FieldInfo) -> str:
    return info.description or ""


def _default_text(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    else:
        value = info.default
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def sample_ini() -> str:
    """The sample configuration file: every option, its default and its environment variable."""
    lines = [
        "# blazar-events configuration (oslo.config style INI).",
        f"# Point {CONFIG_FILE_ENV} at this file, or set the environment variable named beside",
        "# each option; the environment wins over the file.",
    ]
    for name, cls in all_sections().items():
        lines += ["", f"[{name}]"]
        for field, info in cls.model_fields.items():
            env = env_name(name, field)
            lines.append(f"# {_describe(info)} (env: {env})")
            lines.append(f"#{field} = {_default_text(info)}")
    return "\n".join(lines) + "\n"


REFERENCE_HEADER = """# Configuration reference

Every option of every component, with its default. Set an option either as the environment
variable named beside it (containers, 12-factor) or under its `[section]` in the INI file
named by `BLAZAR_EVENTS_CONFIG_FILE` (default `/etc/blazar-events/blazar-events.conf`,
oslo.config style); the environment wins over the file. Lists are comma-separated.

This page is generated: `blazar-events config --markdown > docs/configuration.md`
(a test checks that it is current). The block below is also a valid sample file.
"""


def reference_markdown() -> str:
    """docs/configuration.md: the sample file wrapped in a short explanation."""
    return f"{REFERENCE_HEADER}\n```ini\n{sample_ini()}```\n"


def list_opts() -> list[tuple[str, list[Any]]]:
    """Entry point for ``oslo-config-generator --namespace blazar-events``."""
    from oslo_config import cfg

    result: list[tuple[str, list[Any]]] = []
    for name, cls in all_sections().items():
        opts: list[Any] = []
        for field, info in cls.model_fields.items():
            annotation = info.annotation
            default = _default_text(info) or None
            secret = annotation is SecretStr or SecretStr in get_args(annotation)
            if annotation is bool:
                opt: Any = cfg.BoolOpt(field, default=info.default, help=_describe(info))
            elif annotation is int:
                opt = cfg.IntOpt(field, default=info.default, help=_describe(info))
            elif annotation is float:
                opt = cfg.FloatOpt(field, default=info.default, help=_describe(info))
            elif get_origin(annotation) is list or "list" in str(annotation):
                opt = cfg.ListOpt(
                    field, default=_default_text(info).split(", "), help=_describe(info)
                )
            else:
                opt = cfg.StrOpt(field, default=default, secret=secret, help=_describe(info))
            opts.append(opt)
        result.append((name, opts))
    return result
