from k8s.operator.spec import from_resource


def test_a_resources_reminders_reach_the_subscription_in_the_apis_spelling() -> None:
    spec = {"sink": {"uri": "https://hooks.example.org/"},
            "reminders": {"beforeEnd": ["PT1H", "P1D"], "beforeStart": ["PT15M"]}}  # fmt: skip
    body = from_resource(spec, name="r", project_id="p", sink="https://hooks.example.org/")
    assert body.reminders is not None
    assert body.reminders.before_end == ["P1D", "PT1H"]
    assert body.reminders.before_start == ["PT15M"]
