"""A CESQL 1.0 evaluator (CloudEvents SQL) for the ``sql`` filter dialect.

Supported: literals (integers, TRUE/FALSE, '...' and "..." strings), attribute names, NOT, unary
minus, * / % + -, = != <> < <= > >=, AND OR XOR (short-circuit), [NOT] LIKE, EXISTS, [NOT] IN,
parentheses, the built-in functions (LENGTH, CONCAT, CONCAT_WS, LOWER, UPPER, TRIM, LEFT, RIGHT,
SUBSTRING, ABS, INT, BOOL, STRING, IS_INT, IS_BOOL) and the spec's implicit casts.

Two choices keep one meaning everywhere (the same text goes into a Knative Trigger as ``cesql``):

* CESQL gives AND, OR and XOR one precedence, unlike SQL, and a NOT or minus before a
  comparison is read differently by different engines. Such expressions are refused with a
  message asking for parentheses, rather than evaluated one way here and another in Knative.
* Evaluation is fail-fast (the spec's section 4.1 allows it; Knative's CESQL filter turns any
  evaluation error into "no match"): a missing attribute, a failed cast or a division by zero
  makes the whole filter not match instead of matching on the spec's zero value.

What an expression may cost is bounded when it is compiled: see ``cesql_budget``.
"""

from __future__ import annotations

import re

from blazar_events.errors import InvalidFilter
from blazar_events.filters.cesql_budget import Node, Value

__all__ = ["Node", "Value"]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
KEYWORDS = {"AND", "OR", "XOR", "NOT", "LIKE", "EXISTS", "IN", "TRUE", "FALSE"}
COMPARISONS = {"=", "!=", "<>", "<", "<=", ">", ">="}

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|''|[^'\\])*'|\"(?:\\.|\"\"|[^\"\\])*\")"
    r"|(?P<number>[0-9]+(?![A-Za-z_]))|(?P<word>[A-Za-z_][A-Za-z0-9_]*|[0-9][A-Za-z0-9]*)"
    r"|(?P<op><>|!=|<=|>=|[-+*/%=<>(),]))"
)


_BLANK_END = re.compile(r"\s*\Z")


class EvaluationError(Exception):
    """Missing attribute, failed cast or math error: the filter does not match."""


def unquote(text: str) -> str:
    """The value of a string literal: ``\\<quote>``, ``\\\\`` and a doubled quote are escapes;
    any other backslash stays, so ``\\%`` and ``\\_`` reach LIKE patterns intact."""
    quote, body, out, i = text[0], text[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in (quote, "\\"):
            out.append(body[i + 1])
            i += 2
        elif char == quote:  # the lexer only lets it through doubled
            out.append(quote)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """``(kind, text, position)`` tokens; kinds: string, number, word, op, end."""
    tokens, position = [], 0
    while not _BLANK_END.match(text, position):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidFilter(
                f"sql: unexpected character at {position}: {text[position:][:20]!r}"
            )
        kind = match.lastgroup or ""
        start = match.start(kind)
        tokens.append((kind, match.group(kind), start))
        position = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


# --- casts (spec 3.7) ---------------------------------------------------------------------------


def to_int(value: Value, explicit: bool = False) -> int:
    if isinstance(value, bool):
        if explicit:
            return int(value)
        raise EvaluationError("cannot cast a Boolean to an Integer")
    if isinstance(value, int):
        return value
    number = parse_int(value.strip())
    if number is None:
        raise EvaluationError(f"cannot cast {value[:40]!r} to an Integer")
    return number


def parse_int(text: str) -> int | None:
    """The 32-bit integer ``text`` spells in ASCII digits, or None.

    Lengths are checked before ``int()``: a tenant's string of thousands of digits would
    make it raise (past 4,300 digits) or take quadratic time.
    """
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    digits = digits.lstrip("0") or "0"
    if len(digits) > 10:
        return None
    number = -int(digits) if text[:1] == "-" else int(digits)
    return number if INT_MIN <= number <= INT_MAX else None


def to_bool(value: Value, explicit: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if explicit:
            return value != 0
        raise EvaluationError("cannot cast an Integer to a Boolean")
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise EvaluationError(f"cannot cast {value[:40]!r} to a Boolean")


def to_str(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cast_like(value: Value, model: Value) -> Value:
    """``value`` in the type of ``model`` (how = and IN cast their left side / set)."""
    if isinstance(model, bool):
        return to_bool(value)
    if isinstance(model, int):
        return to_int(value)
    return to_str(value)


def checked(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise EvaluationError("integer overflow")
    return value


def divide(a: int, b: int, remainder: bool) -> int:
    if b == 0:
        raise EvaluationError("division by zero")
    quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # truncated division
    return checked(a - b * quotient if remainder else quotient)
