"""The delivery library: one CloudEvent and one subscription in, one signed HTTP attempt out.

Both deployment modes make their attempts here: the standalone broker in-process, and the
function service (``functions/``) that Knative Triggers call. See docs/delivery.md.
"""
