"""The checks every write route shares: the sink policy (naming the rule and the field), a
sink that does not resolve (a warning), and the read-only Kubernetes-owned subscriptions."""

from flask.testing import FlaskClient

from tests.api.conftest import MEMBER_A, SINK, create


def test_sink_policy_names_the_rule(client: FlaskClient) -> None:
    for sink, rule in (
        ("http://127.0.0.1:9/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://192.168.1.1/", "private"),
        ("ftp://10.0.0.1/", "scheme"),
        ("http://user:pw@10.0.0.1/", "userinfo"),
        ("http://localhost:8080/", "loopback"),
    ):
        response = client.post("/v1/subscriptions", json={"sink": sink}, headers=MEMBER_A)
        assert response.status_code == 400, sink
        assert response.json is not None and response.json["error_name"] == "SinkRefused"
        assert f"rule={rule}" in response.json["error_message"]


def test_dead_letter_sink_is_policed_too(client: FlaskClient) -> None:
    response = client.post(
        "/v1/subscriptions",
        json={"sink": SINK, "delivery": {"deadLetterSink": "http://127.0.0.1:1/"}},
        headers=MEMBER_A,
    )
    assert response.status_code == 400
    assert "delivery.deadLetterSink" in response.json["error_message"]  # type: ignore[index]


def test_unresolvable_sink_host_is_a_warning(client: FlaskClient) -> None:
    sub = create(client, sink="https://hooks.does-not-exist.invalid/blazar")
    assert any("does not resolve" in w for w in sub["warnings"])


def test_kubernetes_owned_subscriptions_are_read_only(client: FlaskClient, store) -> None:  # type: ignore[no-untyped-def]
    from blazar_events.subscription import SigningKeys, Subscription, from_input

    sub = Subscription.from_input(from_input({"sink": SINK}), project_id="project-a", owner="k8s")
    store.create(sub, SigningKeys.generate())
    url = f"/v1/subscriptions/{sub.id}"
    assert client.get(url, headers=MEMBER_A).status_code == 200
    for response in (
        client.put(url, json={"sink": SINK}, headers=MEMBER_A),
        client.patch(url, json={"name": "x"}, headers=MEMBER_A),
        client.delete(url, headers=MEMBER_A),
        client.post(url + "/secret", headers=MEMBER_A),
    ):
        assert response.status_code == 409
        assert "kubectl" in response.json["error_message"]  # type: ignore[index]
