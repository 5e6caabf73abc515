"""Rate limiting for log lines (RFC 3768 7.1: drops are logged, but not a flood)."""

from __future__ import annotations

from collections.abc import Hashable

PRUNE_AT = 4096  # keys kept before old ones are forgotten


class RateLimiter:
    """At most one event per key every `interval` seconds; counts what it holds back."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self._seen: dict[Hashable, tuple[float, int]] = {}

    def allow(self, key: Hashable, now: float) -> int | None:
        """None to stay quiet, else how many events of `key` were held back before."""
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.interval:
            self._seen[key] = (last[0], last[1] + 1)
            return None
        if len(self._seen) >= PRUNE_AT:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.interval}
        self._seen[key] = (now, 0)
        return last[1] if last is not None else 0
