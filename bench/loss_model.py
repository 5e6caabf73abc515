"""The loss model of bench/loss_soak.py and its counting of a capture (pure, standard
library only): how many takeovers random loss should cause, and how many a capture shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Advert = tuple[float, str, int, int]  # arrival, source, vrid, priority


def consecutive_losses(mdi: float, interval: float) -> int:
    """k: the adverts r1 sends after the last one r2 heard, before r2's timer fires."""
    return math.ceil(mdi / interval - 1e-9) - 1


def expected_takeovers(adverts: int, loss: float, k: int) -> float:
    """Runs of at least k losses among `adverts` Bernoulli(loss) trials (N >> k)."""
    return adverts * (1 - loss) * loss**k


def poisson_range(mean: float, level: float = 0.95) -> tuple[int, int]:
    """The central `level` range of a Poisson count of this mean (the takeovers are rare
    independent events, so the observed count varies as one)."""
    tail = (1 - level) / 2
    low = high = None
    term = math.exp(-mean)
    total, n = term, 0
    while high is None:
        if low is None and total > tail:
            low = n
        if total >= 1 - tail:
            high = n
        n += 1
        term *= mean / n
        total += term
    return low if low is not None else 0, high


def sent(adverts: Sequence[Advert], source: str, start: float, stop: float) -> list[float]:
    """Arrival times of `source`'s adverts (not goodbyes) in [start, stop]."""
    return sorted(t for t, src, _, prio in adverts if src == source and prio and start <= t <= stop)


def late_gaps(heard: Sequence[float], mdi: float, start: float, stop: float) -> int:
    """Gaps longer than `mdi` between consecutive adverts heard, opening in [start, stop)
    (the first one counted from `start` if nothing was heard just before)."""
    times = sorted(heard)
    before = [t for t in times if t < start]
    previous = before[-1] if before else start
    count = 0
    for t in (t for t in times if t >= start):
        if previous < stop and t - previous > mdi:
            count += 1
        previous = t
    return count


def takeovers(
    adverts: Sequence[Advert], master: str, backup: str, start: float, stop: float
) -> list[tuple[float, float | None]]:
    """(first advert, end) of each time `backup` acted as master, starting in [start,
    stop]: from its first advert after hearing `master`, to `master`'s next advert it
    heard (None: still master at the end of the capture)."""
    spans: list[tuple[float, float | None]] = []
    began: float | None = None
    for t, src, _, prio in sorted(adverts):
        if not prio:
            continue
        if src == backup and began is None:
            began = t
        elif src == master and began is not None:
            if start <= began <= stop:
                spans.append((began, t))
            began = None
    if began is not None and start <= began <= stop:
        spans.append((began, None))
    return spans
