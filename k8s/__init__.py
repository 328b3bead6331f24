"""k8s component."""

from blazar_events.components import Command, Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    commands={
        "operator": Command("k8s.operator.service:main", "the kopf operator for EventSubscription")
    },
    settings=("k8s.settings",),
)
