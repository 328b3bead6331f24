"""``LIKE`` (:mod:`blazar_events.filters.like`): the spec's meaning, in one pass over the text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blazar_events.filters.like import like_pattern


def reference(pattern: str, text: str) -> bool:
    """The pattern as a regular expression (fine for the small inputs it is used on)."""
    parts, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        char = pattern[i]
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.fullmatch("".join(parts), text, re.DOTALL) is not None


@given(st.text(alphabet="ab%_\\\n", max_size=24), st.text(alphabet="ab%_\\\n", max_size=40))
def test_like_means_the_obvious_regular_expression(pattern: str, text: str) -> None:
    assert like_pattern(pattern).matches(text) == reference(pattern, text)


@given(
    st.lists(st.text(alphabet="ab_", min_size=1, max_size=5), min_size=1, max_size=5),
    st.text(alphabet="ab", max_size=60),
    st.booleans(),
    st.booleans(),
)
def test_segments_are_found_wherever_they_fit(
    segments: list[str], text: str, anchored_start: bool, anchored_end: bool
) -> None:
    pattern = ("" if anchored_start else "%") + "%".join(segments) + ("" if anchored_end else "%")
    assert like_pattern(pattern).matches(text) == reference(pattern, text)


# The old two-pointer matcher took O(len(value) x len(pattern)): 5.6-7 s on 64 KiB, so about
# 90-110 s on the 1 MiB value below, past this bound on a hang; the linear one takes < 0.3 s.
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "pattern",
    [
        "%" + "a" * 250 + "b%",  # 5.6 s on 64 KiB with the old two-pointer matcher
        "%" + "_a" * 125 + "b%",  # 5.7 s
        "%" + "a" * 250 + "b",  # 7.0 s
        "%a" * 120 + "%b",
    ],
)
def test_pathological_patterns_on_a_long_value_answer(pattern: str) -> None:
    value = "a" * (1 << 20)
    assert not like_pattern(pattern).matches(value)
    assert like_pattern(pattern).matches(value + "b")
