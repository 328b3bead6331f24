"""blazar-events: the shared core (settings, errors, events, subscriptions, filters, store)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("blazar-events")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

PRODUCT = "blazar-events"
