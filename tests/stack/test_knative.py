"""Knative's webhooks in the stack: their manifests call the local webhook, and both answer."""

from __future__ import annotations

import pytest

from stack.eventing_webhook import EventingWebhook
from stack.knative import KEPT_KINDS, manifests
from stack.serving_webhook import ServingWebhook
from tests.conftest import _require


@pytest.mark.parametrize("webhook", [EventingWebhook, ServingWebhook])
def test_the_manifests_point_every_webhook_at_the_local_port(
    webhook: type[EventingWebhook],
) -> None:
    _require(webhook.name)
    docs = manifests(webhook.project, webhook.namespace, webhook.webhook_name, webhook.port)
    assert {doc["kind"] for doc in docs} <= KEPT_KINDS | {"Service"}
    hooks = [
        hook["clientConfig"]["service"]
        for doc in docs
        if doc["kind"].endswith("WebhookConfiguration")
        for hook in doc.get("webhooks", [])
        if "service" in hook.get("clientConfig", {})
    ]
    ours = [s for s in hooks if s["name"] == webhook.webhook_name]
    assert ours and all(s["port"] == webhook.port for s in ours)
    external = docs[-1]
    assert (external["kind"], external["spec"]["externalName"]) == ("Service", "localhost")
    assert webhook().status().answers
