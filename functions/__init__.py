"""The function service: the Knative adapter over the delivery library.

A Trigger POSTs a CloudEvent to ``/subscriptions/{id}``; the service makes one attempt with
``delivery/`` and answers with the status Knative maps to its retry schedule
(``blazar-events function``); see docs/delivery.md.
"""
