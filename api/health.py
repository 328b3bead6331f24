"""``/healthz``: 200 when the store answers, 503 in Blazar's shape otherwise (for probes)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.access import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def health() -> Response:
    services().store.ping()
    return jsonify({"status": "ok"})
