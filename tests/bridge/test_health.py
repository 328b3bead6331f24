"""The bridge's probes over real HTTP on loopback, as a kubelet and Prometheus see them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bridge.health import HealthServer
from bridge.metrics import Health, Metrics


@pytest.fixture
def served() -> Iterator[tuple[httpx.Client, Health, Metrics]]:
    health, metrics = Health(), Metrics()
    server = HealthServer("127.0.0.1", 0, metrics, health)
    server.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
        yield client, health, metrics
    server.stop()


def test_readiness_follows_both_connections_and_says_what_is_missing(
    served: tuple[httpx.Client, Health, Metrics],
) -> None:
    client, health, _ = served
    assert (client.get("/readyz").status_code, client.get("/readyz").text) == (503, "starting\n")
    health.set(amqp=True, problem="Kafka unreachable")
    assert (client.get("/readyz").status_code, client.get("/readyz").text) == (
        503,
        "Kafka unreachable\n",
    )
    health.set(kafka=True)
    assert (client.get("/readyz").status_code, client.get("/readyz").text) == (200, "ready\n")
    assert client.get("/healthz").text == "ok\n"


def test_a_stalled_loop_fails_liveness_and_readiness(
    served: tuple[httpx.Client, Health, Metrics], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, health, _ = served
    health.set(amqp=True, kafka=True)
    monkeypatch.setattr(health, "last_tick", health.last_tick - 3600)
    assert (client.get("/healthz").status_code, client.get("/healthz").text) == (503, "stalled\n")
    assert client.get("/readyz").status_code == 503
    health.tick()
    assert client.get("/healthz").status_code == 200


def test_metrics_are_prometheus_text_and_anything_else_is_404(
    served: tuple[httpx.Client, Health, Metrics],
) -> None:
    client, _, metrics = served
    metrics.received.inc(2)
    metrics.rejected.labels("not-json").inc()
    exposed = client.get("/metrics?ignored=1")
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain; version=")
    assert "blazar_events_bridge_received_total 2.0" in exposed.text
    assert 'blazar_events_bridge_rejected_total{reason="not-json"} 1.0' in exposed.text
    assert client.get("/admin").status_code == 404
    assert client.post("/metrics").status_code == 501  # read-only
