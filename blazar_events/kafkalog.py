"""librdkafka's log lines, without the flood while Kafka is away.

Each librdkafka client logs one line per failed connection attempt, and it attempts on
demand whenever records wait: a bridge producing through a 30 s Kafka outage wrote ~130
identical ``Connect to ... failed: Connection refused`` lines. The first one says all
there is to say; this filter lets one line of a kind through per window and reports how
many it held back when the kind comes again after the window.
"""

from __future__ import annotations

import logging
import re
import threading
import time

WINDOW = 30.0  # seconds during which a repeated line is held back
MAX_KINDS = 256  # lines remembered; bounded whatever the clients say
_NUMBERS = re.compile(r"\d+")


class RepeatFilter(logging.Filter):
    def __init__(self, window: float = WINDOW) -> None:
        super().__init__()
        self.window = window
        self._seen: dict[tuple[int, str], tuple[float, int]] = {}
        self._lock = threading.Lock()  # librdkafka logs from whichever thread polls

    def filter(self, record: logging.LogRecord) -> bool:
        # "after 0ms", ports, counters: lines that differ only in numbers are one kind.
        kind = (record.levelno, _NUMBERS.sub("#", record.getMessage()))
        now = time.monotonic()
        with self._lock:
            first, held = self._seen.get(kind, (0.0, 0))
            if now - first < self.window:
                self._seen[kind] = (first, held + 1)
                return False
            if len(self._seen) >= MAX_KINDS:
                self._seen.clear()
            self._seen[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} similar line(s) held back before this one]"
        return True


def quiet_repeats(logger: logging.Logger) -> None:
    """Attach the filter to ``logger`` once (idempotent)."""
    if not any(isinstance(f, RepeatFilter) for f in logger.filters):
        logger.addFilter(RepeatFilter())
