from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from blazar_events.errors import FilterError, InvalidInput
from blazar_events.matching import Verdict, compile_subscription, evaluate
from blazar_events.subscription import Subscription, from_input
from tests.blazar_events.filters.hostile import events, json_filters
from tests.blazar_events.filters.test_properties import expressions

START = "org.openstack.blazar.lease.event.start_lease"
END = "org.openstack.blazar.lease.event.end_lease"


def event(**overrides: str) -> dict[str, str]:
    attrs = {
        "type": START,
        "source": "/openstack/blazar/blazar.lease",
        "subject": "lease-1",
        "id": "m-1",
        "time": "2026-07-10T12:00:08.104233Z",
        "projectid": "project-a",
        "userid": "user-a",
        "leaseid": "lease-1",
        "leasestatus": "ACTIVE",
        "partitionkey": "lease-1",
    }
    attrs.update(overrides)
    return attrs


def sub(project_id: str = "project-a", **body: Any) -> Subscription:
    spec = from_input({"sink": "https://hooks.example.org/", **body})
    return Subscription.from_input(spec, project_id=project_id)


def test_member_subscription_never_sees_another_project_whatever_the_filters() -> None:
    match = compile_subscription(
        sub(filters=[{"any": [{"exact": {"projectid": "project-b"}}, {"prefix": {"type": ""}}]}])
    )
    assert match(event())
    assert not match(event(projectid="project-b"))
    missing = event()
    del missing["projectid"]
    assert not match(missing)


def test_all_projects_subscription_sees_every_project() -> None:
    match = compile_subscription(sub(project_id="*"))
    assert match(event(projectid="project-b")) and match(event())


def test_types_restrict_and_empty_means_all() -> None:
    only_start = compile_subscription(sub(types=["lease.event.start_lease"]))
    assert only_start(event()) and not only_start(event(type=END))
    assert compile_subscription(sub())(event(type=END))


def test_lease_id_is_an_exact_filter_on_leaseid() -> None:
    match = compile_subscription(sub(lease_id="lease-1"))
    assert match(event()) and not match(event(leaseid="lease-2"))


def test_filters_apply_on_top() -> None:
    match = compile_subscription(sub(filters=[{"exact": {"leasestatus": "ERROR"}}]))
    assert match(event(leasestatus="ERROR")) and not match(event())


def test_disabled_subscription_matches_nothing() -> None:
    disabled = sub().model_copy(update={"status": "DISABLED"})
    assert not compile_subscription(disabled)(event())


widening = st.sampled_from(
    [{"sql": "TRUE"}, {"sql": "NOT EXISTS projectid"}, {"not": {"exact": {"projectid": "x"}}}]
)


@given(
    st.lists(st.one_of(expressions, widening), max_size=3),
    st.dictionaries(
        st.sampled_from(["type", "subject", "leaseid", "leasestatus", "userid"]),
        st.text(max_size=8),
    ),
    st.text(max_size=12),
)
def test_no_filter_ever_lets_another_projects_event_through(
    filters: list[dict[str, Any]], attrs: dict[str, str], other_project: str
) -> None:
    assume(other_project != "project-a")
    match = compile_subscription(sub(filters=filters))
    assert not match({**attrs, "projectid": other_project})
    assert not match(attrs)  # no projectid at all


def stored(filters: list[dict[str, Any]], project_id: str = "project-a") -> Subscription:
    """A subscription as the store holds it, whatever limits applied when it was written."""
    return Subscription(project_id=project_id, sink="https://hooks.example.org/", filters=filters)


def test_a_filter_stored_before_the_limits_fails_on_its_own_subscription_only() -> None:
    broken = compile_subscription(stored([{"sql": "NOT " * 1000 + "TRUE"}]))
    verdict = evaluate(broken, event())
    assert not verdict.matched
    assert isinstance(verdict.error, FilterError) and "nested deeper" in verdict.error.message
    # The tenant rule still comes first: another project's event is simply not its business.
    assert evaluate(broken, event(projectid="project-b")) == Verdict(False)


def test_evaluate_turns_any_failure_into_a_verdict() -> None:
    def exploding(attributes: Any) -> bool:
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    verdict = evaluate(exploding, event())
    assert not verdict.matched and verdict.error is not None
    assert "4300 digits" in verdict.error.message
    assert evaluate(compile_subscription(sub()), event()) == Verdict(True)


def test_the_issues_int_filter_no_longer_loses_the_batch() -> None:
    # Accepted by the API before and raising ValueError in the broker's match loop, which
    # then skipped every other subscription's deliveries of the batch.
    healthy = compile_subscription(sub())
    for nines, reported in (("9" * 2000, True), ("9" * 1000, False)):
        hostile = stored([{"sql": f"INT(CONCAT_WS('{nines}','1','1','1','1','1')) > 1"}])
        verdict = evaluate(compile_subscription(hostile), event())
        # Past the literal limit it no longer compiles, which is reported on it; within the
        # limit, 4,005 digits are no integer: it does not match.
        assert not verdict.matched and (verdict.error is not None) == reported
        assert evaluate(healthy, event()) == Verdict(True)


@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.lists(json_filters, min_size=1, max_size=4), st.lists(events, min_size=1, max_size=3))
def test_hostile_subscriptions_never_change_a_healthy_ones_verdict(
    hostile: list[dict[str, Any]], samples: list[dict[str, Any]]
) -> None:
    matchers = []
    for expression in hostile:
        try:
            matchers.append(compile_subscription(sub(filters=[expression])))
        except InvalidInput:
            matchers.append(compile_subscription(stored([expression])))  # stored long ago
    healthy = compile_subscription(sub(filters=[{"sql": "EXISTS subject"}]))
    for sample in samples:
        attrs = {**sample, "projectid": "project-a", "type": START}
        for match in matchers:
            verdict = evaluate(match, attrs)
            assert isinstance(verdict.matched, bool)
            assert verdict.error is None or not verdict.matched
        assert evaluate(healthy, attrs) == Verdict("subject" in attrs)
