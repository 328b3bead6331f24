"""The ``sql`` dialect (CESQL 1.0)."""

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression
from blazar_events.filters.like import like_pattern
from blazar_events.subscription import Subscription, from_input
from blazar_events.triggers import to_trigger
from tests.blazar_events.filters.test_properties import expressions

EVENT = {
    "id": "m-1",
    "type": "org.openstack.blazar.lease.event.start_lease",
    "source": "/openstack/blazar/blazar.lease",
    "subject": "9a7b0f2e",
    "projectid": "project-a",
    "leasestatus": "ACTIVE",
    "sequence": "10",
    "flag": "TRUE",
}


def sql(expression: str, attributes: dict[str, str] = EVENT) -> bool:
    return from_expression({"sql": expression})(attributes)


@pytest.mark.parametrize(
    "expression",
    [
        "type LIKE 'org.openstack.blazar.lease.event.%'",
        "leasestatus IN ('ACTIVE', 'ERROR') AND projectid = 'project-a'",
        "subject LIKE '9a7b____'",
        "EXISTS subject",
        "NOT EXISTS reason",
        "sequence = 10",
        "sequence > 9 AND sequence <= 10",
        "sequence + 1 = 11",
        "(type = 'x' AND leasestatus = 'ACTIVE') OR subject = '9a7b0f2e'",
        "LOWER(flag) = 'true'",
        "flag",
        "'TRUE' = TRUE",
        "CONCAT(projectid, '/', subject) = 'project-a/9a7b0f2e'",
        "SUBSTRING(subject, 1, 4) = '9a7b'",
        "RIGHT(type, 6) = '_lease'",
        "-7 / 2 = -3 AND -7 % 2 = -1",
        "4 * (2 + 3) = 20",
        "sequence NOT IN (1, 2, 3)",
        "type NOT LIKE '%.stop'",
        'subject = "9a7b0f2e"',
        "leasestatus = 'ACTIVE' and leasestatus != 'ERROR'",
        "IS_INT(sequence) AND NOT (IS_BOOL(sequence))",
        "'50%' LIKE '50\\%'",
        "TRUE XOR FALSE",
    ],
)
def test_matching_expressions(expression: str) -> None:
    assert sql(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "leasestatus = 'ERROR'",
        "subject LIKE '9a7b'",
        "TRUE = 'TRUE'",  # the left side is cast to the right's type: 'true' != 'TRUE'
        "'50x' LIKE '50\\%'",
        "TRUE XOR TRUE",
        "FALSE AND (1 / 0 = 0)",
    ],
)
def test_non_matching_expressions(expression: str) -> None:
    assert not sql(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "reason = 'x'",  # missing attribute
        "NOT (reason = 'x')",  # still an error: fail-fast, never matches on a missing value
        "1 / 0 = 0",
        "leasestatus > 3",  # cannot cast 'ACTIVE' to an Integer
        "2147483647 + 1 > 0",
        "TRUE AND (1 / 0 = 0)",
        "sequence",  # '10' is not a Boolean
    ],
)
def test_evaluation_errors_never_match(expression: str) -> None:
    assert not sql(expression)


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("a AND b OR c", "same precedence"),
        ("NOT a = b", "write NOT (...)"),
        ("- sequence + 1 = 0", "write - (...)"),
        ("a = b = c", "chained comparison"),
        ("", "empty"),
        ("'unterminated", "unexpected character"),
        ("subject LIKE pattern", "string literal pattern"),
        ("NOPE(1)", "unknown function NOPE"),
        ("SUBSTRING('a')", "does not take 1 argument"),
        ("2147483648 = 1", "32-bit"),
        ("a IN ()", "unexpected ')'"),
        ("a NOT b", "LIKE or IN after NOT"),
        ("AND", "unexpected 'AND'"),
        ("EXISTS 'x'", "not an attribute name"),
        ("(" * 100 + "TRUE" + ")" * 100, "nested deeper"),
        ("x = 'a'" + " AND x = 'a'" * 400, "longer than"),
    ],
)
def test_malformed_or_ambiguous_expressions_are_refused(expression: str, complaint: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        from_expression({"sql": expression})
    assert complaint in caught.value.message


def test_sql_must_be_a_string() -> None:
    with pytest.raises(InvalidFilter, match="string expression"):
        from_expression({"sql": ["type = 'x'"]})


def test_sql_is_rendered_as_knatives_cesql() -> None:
    spec = from_input(
        {"sink": "https://hooks.example.org/", "filters": [{"sql": "EXISTS subject"}]}
    )
    trigger = to_trigger(Subscription.from_input(spec, project_id="p"))
    assert {"cesql": "EXISTS subject"} in trigger["spec"]["filters"]


def _literal(text: str) -> str:
    """A single-quoted CESQL string literal whose value is ``text``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def to_cesql(expression: dict[str, Any]) -> str:
    """The same filter written in CESQL, as the Subscriptions API spec relates them."""
    ((dialect, value),) = expression.items()
    if dialect in ("all", "any"):
        joiner = " AND " if dialect == "all" else " OR "
        return "(" + joiner.join(f"({to_cesql(x)})" for x in value) + ")"
    if dialect == "not":
        return f"NOT ({to_cesql(value)})"
    ((name, text),) = value.items()
    if dialect == "exact":
        return f"{name} = {_literal(text)}"
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = pattern + "%" if dialect == "prefix" else "%" + pattern
    return f"{name} LIKE {_literal(pattern)}"


NAMES = ["type", "source", "subject", "projectid", "leaseid", "leasestatus"]
complete_events = st.fixed_dictionaries({n: st.text(max_size=8) for n in NAMES})


@given(expressions, complete_events)
def test_sql_agrees_with_the_other_dialects(
    expression: dict[str, Any], attrs: dict[str, str]
) -> None:
    assert from_expression({"sql": to_cesql(expression)})(attrs) == from_expression(expression)(
        attrs
    )


@pytest.mark.timeout(10)
def test_a_like_pattern_cannot_stall_the_router() -> None:
    # As a regular expression ('.*..*..*....x') this took hours on one event: a tenant's
    # filter runs on every event the broker routes.
    assert not sql("type LIKE '" + "%_" * 120 + "%x'")
    assert sql("type LIKE '" + "%_" * 20 + "%lease'")


def _like_as_regex(pattern: str) -> re.Pattern[str]:
    parts, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        char = pattern[i]
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


@given(
    st.text(alphabet="ab%_\\", max_size=8),
    st.text(alphabet="ab%_\\", max_size=8),
)
def test_like_means_what_the_obvious_regular_expression_means(pattern: str, text: str) -> None:
    assert like_pattern(pattern).matches(text) == bool(_like_as_regex(pattern).fullmatch(text))
