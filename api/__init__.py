"""api component."""

from blazar_events.components import Command, Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    commands={
        "api": Command("api.service:main", "the subscriptions REST API (gunicorn)"),
        "secrets": Command("api.secrets:main", "signing secrets at rest: generate-key | reseal"),
    },
    settings=("api.settings",),
)
