"""The cap of one project's attempts in flight, against real slow sinks on loopback: one
tenant's many subscriptions to hanging endpoints cannot take every connection of the
process, and another tenant delivers meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

from delivery.client import Sender
from delivery.outcomes import Attempt, Delivered, Retry
from delivery.request import Payload, Target
from delivery.settings import DeliverySettings
from tests.delivery.conftest import from_fixture, to_secret
from tests.delivery.hostile import HostileSink, Script

EVENT = from_fixture("v2-lease.event.start_lease.json")
SECRET = to_secret()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def sender(**options: Any) -> Sender:
    return Sender(DeliverySettings.load(allowed_networks=["127.0.0.0/8"], **options))


async def attempt(client: Sender, url: str, project: str, timeout: float) -> Attempt:
    target = Target("s", url, timeout=timeout, project_id=project)
    return await client.attempt(target, Payload(EVENT), [SECRET])


def test_a_tenants_slow_sinks_hold_no_more_than_its_cap_and_others_deliver() -> None:
    async def scenario() -> tuple[list[Attempt], list[Attempt], int, int]:
        slow = [HostileSink(Script((), "hang")) for _ in range(4)]  # read, never answer
        slow_urls = [await sink.start() for sink in slow]
        healthy = HostileSink(Script((OK,), "keep"))
        healthy_url = await healthy.start()
        # Each slow sink within its own cap of 3, together 12: more than the process's 8.
        client = sender(
            max_connections=8, max_connections_per_sink=3, max_connections_per_project=4
        )
        try:
            hogging = [
                asyncio.create_task(attempt(client, url, "tenant-a", timeout=3))
                for url in slow_urls
                for _ in range(3)
            ]
            for _ in range(100):  # until the tenant's attempts have taken what they may
                if sum(sink.requests for sink in slow) >= 4:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # (and no more arrive)
            held = sum(sink.open for sink in slow)
            others = [await attempt(client, healthy_url, "tenant-b", timeout=2) for _ in range(20)]
            ended = await asyncio.gather(*hogging)
            left = client.projects.busy("tenant-a") + client.projects.busy("tenant-b")
        finally:
            await client.close()
            for sink in [*slow, healthy]:
                await sink.stop()
        return others, ended, held, left

    others, ended, held, left = asyncio.run(scenario())
    assert [a.outcome for a in others] == [Delivered(200)] * 20
    assert held == 4  # the tenant's cap, not the process's 8
    assert all(isinstance(a.outcome, Retry) for a in ended)
    assert left == 0  # every slot given back
