"""The event-type catalog is readable by any authenticated caller, whatever their roles."""

from __future__ import annotations

from oslo_context.context import RequestContext

from api.access import Policy
from api.policies import event_type


def test_any_caller_may_list_the_event_types() -> None:
    decide = Policy(None)
    (rule,) = event_type.list_rules()
    assert rule.operations == [{"method": "GET", "path": "/v1/event-types"}]
    for roles in ([], ["reader"], ["member"], ["admin"]):
        who = RequestContext(project_id="p-a", user_id="u", roles=roles)
        assert decide.allows(rule.name, "p-b", who)
