"""CESQL's built-in functions (spec 3.5), by name and arity."""

from __future__ import annotations

from collections.abc import Callable

from blazar_events.filters.cesql import INT_MIN, EvaluationError, Value, to_bool, to_int, to_str
from blazar_events.filters.cesql_budget import MAX_RUNTIME_RESULT


def _bounded(size: int) -> None:
    # The filter's own literals are bounded when it is compiled; event attributes are not.
    if size > MAX_RUNTIME_RESULT:
        raise EvaluationError(f"a function result would exceed {MAX_RUNTIME_RESULT} characters")


def _concat(*xs: Value) -> str:
    parts = [to_str(x) for x in xs]
    _bounded(sum(map(len, parts)))
    return "".join(parts)


def _concat_ws(separator: Value, *xs: Value) -> str:
    sep, parts = to_str(separator), [to_str(x) for x in xs]
    _bounded(sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0))
    return sep.join(parts)


def _case(x: Value, upper: bool) -> str:
    text = to_str(x)
    _bounded(len(text))
    result = text.upper() if upper else text.lower()
    _bounded(len(result))  # a case mapping may triple a character
    return result


def _substring(x: Value, pos: Value, length: Value | None = None) -> str:
    text, start = to_str(x), to_int(pos)
    if start == 0:
        return ""
    if start > len(text) or start < -len(text):
        raise EvaluationError("SUBSTRING position out of range")
    begin = start - 1 if start > 0 else len(text) + start
    if length is None:
        return text[begin:]
    size = to_int(length)
    if size < 0:
        raise EvaluationError("SUBSTRING length is negative")
    return text[begin : begin + size]


def _side(x: Value, y: Value, left: bool) -> str:
    text, count = to_str(x), to_int(y)
    if count < 0:
        raise EvaluationError("LEFT/RIGHT length is negative")
    if count >= len(text):
        return text
    return text[:count] if left else text[len(text) - count :]


def _abs(x: Value) -> int:
    number = to_int(x)
    if number == INT_MIN:
        raise EvaluationError("ABS overflows")
    return abs(number)


def _is(cast: Callable[[Value], Value], x: Value) -> bool:
    try:
        cast(x)
    except EvaluationError:
        return False
    return True


# name -> (minimum arity, maximum arity or None for variadic, implementation)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Value]]] = {
    "LENGTH": (1, 1, lambda x: len(to_str(x))),
    "CONCAT": (0, None, _concat),
    "CONCAT_WS": (1, None, _concat_ws),
    "LOWER": (1, 1, lambda x: _case(x, upper=False)),
    "UPPER": (1, 1, lambda x: _case(x, upper=True)),
    "TRIM": (1, 1, lambda x: to_str(x).strip()),
    "LEFT": (2, 2, lambda x, y: _side(x, y, True)),
    "RIGHT": (2, 2, lambda x, y: _side(x, y, False)),
    "SUBSTRING": (2, 3, _substring),
    "ABS": (1, 1, _abs),
    "INT": (1, 1, lambda x: to_int(x, explicit=True)),
    "BOOL": (1, 1, lambda x: to_bool(x, explicit=True)),
    "STRING": (1, 1, to_str),
    "IS_INT": (1, 1, lambda x: _is(to_int, x)),
    "IS_BOOL": (1, 1, lambda x: _is(to_bool, x)),
}
