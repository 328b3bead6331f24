"""``/healthz`` and ``/metrics`` of the broker (default http://127.0.0.1:9102)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def to_app(
    health: Callable[[], tuple[bool, dict[str, Any]]], registry: CollectorRegistry
) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        ok, details = health()
        return web.json_response({"status": "ok" if ok else "degraded", **details},
                                 status=200 if ok else 503)  # fmt: skip

    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
