"""The Knative adapter is tested with the delivery library's fixtures."""

from tests.delivery.conftest import event, secret, sink, store  # noqa: F401
