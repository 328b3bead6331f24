"""The function service: the Knative adapter over the delivery library.

A Trigger POSTs a CloudEvent to ``/subscriptions/{id}``; the service makes one attempt with
``delivery/`` and answers with the status Knative maps to its retry schedule
(``blazar-events function``); see docs/delivery.md.
"""

from blazar_events.components import Command, Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    commands={
        "function": Command("functions.service:main", "the delivery function as an HTTP service")
    },
    settings=("functions.settings",),
)
