from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from blazar_events.matching import compile_subscription
from blazar_events.subscription import Subscription, from_input
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
