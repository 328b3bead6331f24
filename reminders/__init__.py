"""The reminder scheduler: lease events in, reminders at subscribers' lead times out."""

from blazar_events.components import Command, Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    commands={
        "reminders": Command("reminders.service:main", "lease reminders at subscribers' lead times")
    },
    settings=("reminders.settings",),
)
