"""Delivery functions: one CloudEvent and one subscription in, one signed HTTP attempt out.

The same code runs in-process in the standalone broker and as a Knative Service
(``blazar-events function``); see docs/delivery.md.
"""
