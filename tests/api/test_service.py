"""``blazar-events api`` really serves HTTP under gunicorn with two workers."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import SINK


def test_create_and_read_over_http(server: tuple[str, Path]) -> None:
    url, log = server
    headers = {"X-Project-Id": "project-a", "X-User-Id": "alice", "X-Roles": "member"}
    with httpx.Client(base_url=url, headers=headers) as client:
        created = client.post("/v1/subscriptions", json={"sink": SINK})
        assert created.status_code == 201
        location = created.headers["Location"]
        assert location.startswith(url)
        # Each request may land on either worker: they share only Redis.
        for _ in range(10):
            shown = client.get(location)
            assert shown.status_code == 200 and shown.json()["id"] == created.json()["id"]
        missing = client.get("/v1/nothing")
        assert missing.status_code == 404 and missing.json()["error_name"] == "NotFound"
        assert client.get("/v1/openapi.json").json()["openapi"] == "3.1.0"
    text = log.read_text()
    assert "auth_strategy=noauth" in text
    assert text.count("Booting worker") == 2
