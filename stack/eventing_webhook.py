"""Knative Eventing's webhook (built from source): judges every Broker and Trigger we write."""

from __future__ import annotations

from stack.knative import KnativeWebhook
from stack.layout import EVENTING_PROFILING_PORT, EVENTING_WEBHOOK_PORT


class EventingWebhook(KnativeWebhook):
    name = "knative-eventing"
    project = "eventing"
    namespace = "knative-eventing"
    webhook_name = "eventing-webhook"
    validating = "validation.webhook.eventing.knative.dev"
    port = EVENTING_WEBHOOK_PORT
    profiling_port = EVENTING_PROFILING_PORT
    # Its health probes listen on :8080 too (hard-wired in knative.dev/pkg's sharedmain).
    ports = (EVENTING_WEBHOOK_PORT, EVENTING_PROFILING_PORT, 8080)
    marker = "bin/knative-eventing-webhook"
