"""Hypothesis strategies for hostile filters and hostile events, shared by the filter, matching
and API tests: deep nesting, long literals, pathological LIKE patterns, string functions,
huge numbers and random CESQL text."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from blazar_events.filters.cesql_functions import FUNCTIONS

NAMES = ["type", "subject", "projectid", "leaseid", "sequence", "flag", "missing"]


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def repeated(part: str, count: int) -> str:
    return part * count


digits = st.integers(1, 6000).map(lambda n: "9" * n) | st.integers(-(2**33), 2**33).map(str)
strings = (
    st.text(max_size=40)
    | st.integers(0, 3000).map(lambda n: "x" * n)
    | digits
    | st.sampled_from(["true", "FALSE", "", " 12 ", "-0", "+7"])
)
patterns = st.one_of(
    st.text(alphabet="a%_\\b", max_size=300),
    st.integers(0, 200).map(lambda n: "%a" * n + "%b"),
    # Within the limit, and quadratic or worse for a backtracking matcher on long values.
    st.integers(0, 250).map(lambda n: "%" + "a" * n + "b%"),
    st.integers(0, 125).map(lambda n: "%" + "_a" * n + "b%"),
)

leaf = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(["TRUE", "FALSE", "0", "-2147483648", "2147483647", "2147483648"]),
    digits,
    strings.map(quoted),
    st.sampled_from(NAMES).map(lambda n: f"EXISTS {n}"),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(inner, inner)
    return st.one_of(
        inner.map(lambda x: f"NOT {x}"),
        inner.map(lambda x: f"(NOT ({x}))"),
        inner.map(lambda x: f"(-({x}))"),
        inner.map(lambda x: f"({x})"),
        st.tuples(
            inner, st.sampled_from(["=", "<>", "<", ">=", "+", "-", "*", "/", "%"]), inner
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(inner, st.sampled_from(["AND", "OR", "XOR"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        st.tuples(inner, patterns).map(lambda t: f"{t[0]} LIKE {quoted(t[1])}"),
        st.tuples(inner, st.lists(inner, min_size=1, max_size=4)).map(
            lambda t: f"{t[0]} NOT IN ({', '.join(t[1])})"
        ),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(inner, max_size=9)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        # Towers: each level multiplies the result's length.
        st.tuples(inner, st.integers(1, 14)).map(lambda t: _tower(t[0], t[1])),
        pair.map(lambda t: f"CONCAT({t[0]}, {t[1]}, {t[0]}, {t[1]})"),
        # Deep nesting, around the limit and far past it.
        st.tuples(inner, st.integers(1, 1200)).map(lambda t: repeated("NOT ", t[1]) + t[0]),
        st.tuples(inner, st.integers(1, 1200)).map(
            lambda t: repeated("(", t[1]) + t[0] + repeated(")", t[1])
        ),
        st.tuples(inner, st.integers(1, 600)).map(lambda t: " + ".join([t[0]] * t[1])),
    )


def _tower(seed: str, levels: int) -> str:
    for _ in range(levels):
        seed = f"CONCAT_WS({seed}, 'a', 'a', 'a', 'a', 'a', 'a')"
    return seed


expressions = st.recursive(leaf, _combine, max_leaves=12)
cesql_text = st.text(alphabet="NOTANDLIKE '\"%_()-+*/,=<>!0123456789abcxyz\\ ", max_size=300)
hostile_sql = expressions | cesql_text

json_filters = st.recursive(
    hostile_sql.map(lambda text: {"sql": text})
    | st.builds(
        lambda d, n, v: {d: {n: v}},
        st.sampled_from(["exact", "prefix", "suffix"]),
        st.sampled_from(NAMES),
        strings,
    ),
    lambda inner: (
        st.lists(inner, min_size=1, max_size=4).map(lambda xs: {"all": xs})
        | st.lists(inner, min_size=1, max_size=4).map(lambda xs: {"any": xs})
        | inner.map(lambda x: {"not": x})
    ),
    max_leaves=6,
)

attribute_values = (
    st.text(max_size=200)
    | st.integers(0, 20_000).map(lambda n: "a" * n)
    | st.integers(1, 20_000).map(lambda n: "9" * n)
    | st.sampled_from(["true", "false", "0", "-2147483648", "2147483647", "ΐß"])
)
events: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {name: attribute_values for name in NAMES[:-1]}
) | st.dictionaries(st.sampled_from(NAMES), attribute_values, max_size=len(NAMES))
