"""bridge component."""

from blazar_events.components import Command, Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    commands={
        "bridge": Command(
            "bridge.service:main", "oslo.messaging notifications -> CloudEvents on Kafka"
        )
    },
    settings=("bridge.settings",),
)
