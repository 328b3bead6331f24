"""CESQL's ``LIKE`` (``%`` any run, ``_`` one character, ``\\`` escapes them) in linear time.

A tenant's pattern runs on every event the broker routes, so no backtracking anywhere. The
pattern is split at its ``%`` into segments: the first must sit at the start of the text, the
last at its end, and each middle one is placed at its leftmost occurrence after the previous
one — leftmost is never worse for what follows, so one left-to-right pass decides. A segment
without ``_`` is found with ``str.find`` (C, linear); one with ``_`` by a bit-parallel scan
(Shift-And: one integer per text character, one bit per pattern character), so the text is
read once whatever the pattern, in ``len(text) * ceil(len(pattern) / 30)`` steps at most.
"""

from __future__ import annotations

from collections.abc import Sequence

ONE = None  # ``_`` in a segment: any one character


class Segment:
    """The characters between two ``%``; ``None`` stands for ``_``."""

    __slots__ = ("chars", "literal", "masks", "size", "wild")

    def __init__(self, chars: Sequence[str | None]) -> None:
        self.chars = tuple(chars)
        self.size = len(self.chars)
        # Without ``_`` the segment is plain text, found and compared by str methods.
        self.literal = None if ONE in self.chars else "".join(c for c in self.chars if c)
        self.wild = 0
        self.masks: dict[str, int] = {}
        for i, char in enumerate(self.chars):
            if char is None:
                self.wild |= 1 << i
            else:
                self.masks[char] = self.masks.get(char, 0) | 1 << i
        # A character matches its own positions and every ``_``.
        self.masks = {char: mask | self.wild for char, mask in self.masks.items()}

    def at(self, text: str, position: int) -> bool:
        """Whether the segment matches ``text`` at ``position`` (which leaves room for it)."""
        if self.literal is not None:
            return text.startswith(self.literal, position)
        return all(c is None or c == text[position + i] for i, c in enumerate(self.chars))

    def find(self, text: str, start: int, end: int) -> int:
        """The leftmost position >= start where the segment fits before ``end``, or -1."""
        if self.literal is not None:
            return text.find(self.literal, start, end)
        # Shift-And: bit i of ``state`` says the last i+1 characters read match chars[:i+1].
        state, last, mask, wild = 0, 1 << (self.size - 1), self.masks.get, self.wild
        for offset, char in enumerate(text[start:end]):
            state = ((state << 1) | 1) & mask(char, wild)
            if state & last:
                return start + offset - self.size + 1
        return -1


class LikePattern:
    """A compiled LIKE pattern; :meth:`matches` reads the text once."""

    __slots__ = ("segments",)

    def __init__(self, pattern: str) -> None:
        segments: list[list[str | None]] = [[]]
        i = 0
        while i < len(pattern):
            char = pattern[i]
            if char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
                segments[-1].append(pattern[i + 1])
                i += 2
                continue
            if char == "%":
                segments.append([])
            else:
                segments[-1].append(ONE if char == "_" else char)
            i += 1
        self.segments = tuple(Segment(chars) for chars in segments)

    def matches(self, text: str) -> bool:
        if len(self.segments) == 1:  # no ``%``: the one segment is the whole text
            (whole,) = self.segments
            return len(text) == whole.size and whole.at(text, 0)
        head, *middle, tail = self.segments
        end = len(text) - tail.size
        if head.size > end or not head.at(text, 0) or not tail.at(text, end):
            return False
        position = head.size
        for segment in middle:
            if segment.size == 0:  # '%%'
                continue
            found = segment.find(text, position, end)
            if found < 0:
                return False
            position = found + segment.size
        return True


def like_pattern(pattern: str) -> LikePattern:
    return LikePattern(pattern)
