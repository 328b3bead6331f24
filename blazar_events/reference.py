"""The configuration reference: every section of every component as the sample INI file
(``blazar-events config``), as docs/configuration.md, and as oslo-config-generator's options.
"""

from __future__ import annotations

import importlib
from typing import Any, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo

import blazar_events.settings  # noqa: F401  (registers the shared sections)
from blazar_events.section import CONFIG_FILE_ENV, Section, env_name


def all_sections() -> dict[str, type[Section]]:
    """Every section, core and components (importing the components' settings modules)."""
    from blazar_events.components import settings_modules

    for module in settings_modules():
        importlib.import_module(module)
    return dict(sorted(Section.registry.items()))


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
