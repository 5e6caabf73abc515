"""Every router's timer on one asyncio timer: the earliest deadline (issue 11).

RFC 3768 6.2 / RFC 5798 6.2 give each virtual router an Adver_Timer (master) or a
Master_Down_Timer (backup); the core says when its one deadline is (`next_deadline`).
Instead of an asyncio timer per router, re-armed on every advert, `Deadlines` keeps a
heap of (deadline, router) and one asyncio timer at the earliest. When it fires, every
router due by then (within `slack`, the core's own TIMER_SLACK) is fired in the same
callback: routers that fall due together cost one wake-up.

A backup's Master_Down deadline moves forward on every advert it hears. `set` only
records the new deadline; the heap keeps the old entry, and when that entry comes up
it is pushed again at the router's current deadline (lazy deletion). So a backup of N
routers hearing N adverts a second touches the heap about N / Master_Down_Interval
times a second, and the asyncio timer only moves when the earliest deadline does.

One exception: when the deadline that moved is the one the timer is armed for, and
nothing else falls due within `LONE_WAKEUP` after it, the timer is moved too. Without
it a backup of one router woke every Master_Down_Interval for nothing (4 wake-ups per 3
adverts; a wake-up of a Python loop costs more than the advert it handles). With many
routers the next deadline is near and the lazy entry rides along with packets that wake
the loop anyway, so it is left alone and the asyncio timer is not touched per advert.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

LONE_WAKEUP = 0.05  # s: a wake-up this far from any deadline is worth moving the timer


class Deadlines(Generic[K]):
    """Deadlines of many keys (routers) on one asyncio timer; `fire(key)` when due."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fire: Callable[[K], object],
        slack: float,
        late: Callable[[float], object] | None = None,
    ) -> None:
        self._loop = loop
        self._fire = fire
        self._late = late  # told how late (s) each wake-up came after its deadline
        self._slack = slack
        self._due: dict[K, float] = {}  # each key's current deadline
        self._heap: list[tuple[float, int, K]] = []  # may hold stale entries
        self._order = itertools.count()  # ties: first set, first fired
        self._handle: asyncio.TimerHandle | None = None
        self._at: float | None = None  # when `_handle` fires

    def get(self, key: K) -> float | None:
        return self._due.get(key)

    @property
    def wakeup(self) -> float | None:
        """When the one asyncio timer fires (None: not armed)."""
        return self._at

    def __len__(self) -> int:
        return len(self._due)

    def set(self, key: K, deadline: float | None) -> None:
        """`key` is due at `deadline` from now on (None: not at all)."""
        if deadline is None:
            self._due.pop(key, None)  # its heap entry goes stale
            return
        old = self._due.get(key)
        self._due[key] = deadline
        if old is not None and old <= deadline:
            if old == self._at:
                self._rearm_if_lone()
            return  # later: the old entry, when it comes up, is pushed again (lazy)
        heapq.heappush(self._heap, (deadline, next(self._order), key))
        if self._at is None or deadline < self._at:
            self._arm(deadline)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._at = None
        self._due.clear()
        self._heap.clear()

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._at = when
        self._handle = self._loop.call_at(when, self._run)

    def _run(self) -> None:
        now = self._loop.time()
        if self._late is not None and self._at is not None:
            self._late(max(0.0, now - self._at))
        self._handle = self._at = None
        due: list[K] = []
        while self._heap and self._heap[0][0] <= now + self._slack:
            when, _, key = heapq.heappop(self._heap)
            current = self._due.get(key)
            if current is None:
                continue  # cancelled
            if current > when:  # moved later since: wait for the current one
                heapq.heappush(self._heap, (current, next(self._order), key))
                continue
            if current == when:
                del self._due[key]
                due.append(key)
        for key in due:
            self._fire(key)  # may `set` the key (or others) again
        self._drop_stale()
        if self._heap and (self._at is None or self._heap[0][0] < self._at):
            self._arm(self._heap[0][0])

    def _rearm_if_lone(self) -> None:
        """The armed deadline moved later: bring the heap's top up to date and move
        the timer there if it would otherwise wake the loop alone, for nothing."""
        heap = self._heap
        while heap:
            when, _, key = heap[0]
            current = self._due.get(key)
            if current is None or current < when:
                heapq.heappop(heap)  # cancelled, or an earlier entry of the key exists
            elif current > when:
                heapq.heapreplace(heap, (current, next(self._order), key))
            else:
                break
        if heap and self._at is not None and heap[0][0] - self._at > LONE_WAKEUP:
            self._arm(heap[0][0])

    def _drop_stale(self) -> None:
        """Pop cancelled entries off the top, so the timer is not armed for them."""
        while self._heap and self._heap[0][2] not in self._due:
            heapq.heappop(self._heap)
