"""Property-based checks of the dialects against their definitions."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from blazar_events.errors import InvalidFilter
from blazar_events.filters import from_expression

names = st.sampled_from(["type", "source", "subject", "projectid", "leaseid", "leasestatus"])
values = st.text(max_size=12)
attributes = st.dictionaries(names, values, max_size=6)

leaf = st.one_of(
    st.builds(lambda n, v: {"exact": {n: v}}, names, values),
    st.builds(lambda n, v: {"prefix": {n: v}}, names, values),
    st.builds(lambda n, v: {"suffix": {n: v}}, names, values),
)
expressions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=8,
)


def reference(expression: dict[str, Any], attrs: dict[str, str]) -> bool:
    """The Subscriptions API definitions, written as directly as possible."""
    ((dialect, value),) = expression.items()
    if dialect in ("exact", "prefix", "suffix"):
        ((name, text),) = value.items()
        if name not in attrs:
            return False
        actual = attrs[name]
        if dialect == "exact":
            return actual == text
        return actual.startswith(text) if dialect == "prefix" else actual.endswith(text)
    if dialect == "all":
        return all(reference(x, attrs) for x in value)
    if dialect == "any":
        return any(reference(x, attrs) for x in value)
    return not reference(value, attrs)


@given(expressions, attributes)
def test_every_valid_expression_behaves_as_defined(
    expression: dict[str, Any], attrs: dict[str, str]
) -> None:
    assert from_expression(expression)(attrs) == reference(expression, attrs)


@given(expressions, attributes)
def test_not_not_is_identity(expression: dict[str, Any], attrs: dict[str, str]) -> None:
    assert from_expression({"not": {"not": expression}})(attrs) == from_expression(expression)(
        attrs
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_arbitrary_json_is_either_a_filter_or_an_invalid_filter(value: Any) -> None:
    try:
        match = from_expression(value)
    except InvalidFilter as exc:
        assert exc.code == 400 and exc.message
    else:
        assert match({}) in (True, False)
