"""The settings machinery: a :class:`Section` reads environment variables with one prefix, or
an INI file in the oslo.config style; :class:`ServiceSection` adds the listen and log options
every component spells the same. The sections themselves: :mod:`blazar_events.settings` (the
shared ones) and each component's ``settings`` module; the whole list, as a sample file and
for oslo-config-generator: :mod:`blazar_events.reference`.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from blazar_events import renames
from blazar_events.errors import ConfigurationError

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


def env_name(section: str, field: str) -> str:
    """The environment variable of one option, e.g. ``BLAZAR_EVENTS_BROKER_PORT``."""
    return f"{ENV_PREFIX}{section.upper()}_{field.upper()}"


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
