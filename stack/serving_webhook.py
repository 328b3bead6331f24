"""Knative Serving's webhook (built from source): judges every Knative Service we write."""

from __future__ import annotations

from stack.knative import KnativeWebhook
from stack.layout import SERVING_PROFILING_PORT, SERVING_WEBHOOK_PORT


class ServingWebhook(KnativeWebhook):
    name = "knative-serving"
    project = "serving"
    namespace = "knative-serving"
    webhook_name = "webhook"
    validating = "validation.webhook.serving.knative.dev"
    port = SERVING_WEBHOOK_PORT
    profiling_port = SERVING_PROFILING_PORT
    ports = (SERVING_WEBHOOK_PORT, SERVING_PROFILING_PORT)
    marker = "bin/knative-serving-webhook"
