"""The delivery library: one CloudEvent and one subscription in, one signed HTTP attempt out.

Both deployment modes make their attempts here: the standalone broker in-process, and the
function service (``functions/``) that Knative Triggers call. See docs/delivery.md.
"""

from blazar_events.components import Component

# What `blazar-events` finds through the entry point in pyproject.toml.
COMPONENT = Component(
    settings=("delivery.settings",),
)
