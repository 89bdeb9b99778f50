"""A sliding-window rate limiter kept in memory, per client address.

Per process: with several hub processes each one counts on its own, which is
acceptable for a limit meant to stop floods rather than meter usage.
"""

from __future__ import annotations

import time
from collections import deque

# Forget clients not seen for this long, so the table cannot grow without bound.
_SWEEP_EVERY = 1000


class RateLimiter:
    def __init__(self, limit: int, period_seconds: float = 60.0):
        self.limit = limit
        self.period = period_seconds
        self._hits: dict[str, deque[float]] = {}
        self._calls = 0

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.period:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _sweep(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.period]:
            del self._hits[key]
