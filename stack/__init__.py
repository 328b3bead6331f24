"""Local services on loopback for development, tests and the demo."""

from blazar_events.components import Command, Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    commands={
        "stack": Command("stack.cli:main", "local services on loopback: up|down|status"),
        "run": Command("stack.demo:main", "the whole pipeline on the local stack"),
    },
)
