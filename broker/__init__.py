"""broker component."""

from blazar_events.components import Command, Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    commands={
        "broker": Command("broker.service:main", "standalone routing and delivery from Kafka")
    },
    settings=("broker.settings",),
)
