"""The broker's /healthz and /metrics over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from broker.health import serve, to_app
from broker.metrics import BrokerMetrics


def fetch(health: Any, metrics: BrokerMetrics) -> tuple[httpx.Response, httpx.Response]:
    async def main() -> tuple[httpx.Response, httpx.Response]:
        runner = await serve(to_app(health, metrics.registry), "127.0.0.1", 0)
        try:
            (host, port) = runner.addresses[0][:2]
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as client:
                return await client.get("/healthz"), await client.get("/metrics")
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_healthy_is_200_with_the_details() -> None:
    metrics = BrokerMetrics()
    metrics.records.inc(3)
    healthz, exposed = fetch(lambda: (True, {"tasks": {"consumer": "running"}}), metrics)
    assert healthz.status_code == 200
    assert healthz.json() == {"status": "ok", "tasks": {"consumer": "running"}}
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain")
    assert "blazar_events_broker_records_total 3.0" in exposed.text


def test_degraded_is_503_so_a_probe_notices() -> None:
    healthz, _ = fetch(lambda: (False, {"tasks": {"consumer": "restarting"}}), BrokerMetrics())
    assert healthz.status_code == 503
    assert healthz.json()["status"] == "degraded"
