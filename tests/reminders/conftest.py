"""The pipeline fixtures of ``tests/e2e`` (processes on the local stack, a real sink)."""

from tests.e2e.conftest import notifier, pipeline, sink, store  # noqa: F401
