"""Deadlines (failover/daemon/timers.py): many routers' timers on one asyncio timer,
driven by a fake loop (its own clock: no sleeping, no flaking on a busy machine)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from failover.daemon.timers import Deadlines

SLACK = 0.001


class Handle:
    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """`time()` and `call_at()` as asyncio's; `advance(t)` runs what falls due by t."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[Handle] = []
        self.wakeups = 0

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object]) -> Handle:
        handle = Handle(when, callback)
        self.handles.append(handle)
        return handle

    def armed(self) -> list[float]:
        return [h.when for h in self.handles if not h.cancelled]

    def advance(self, until: float) -> None:
        while True:
            due = [h for h in self.handles if not h.cancelled and h.when <= until]
            if not due:
                break
            first = min(due, key=lambda h: h.when)
            self.handles.remove(first)
            self.now = max(self.now, first.when)
            self.wakeups += 1
            first.callback()
        self.now = until


def deadlines(fired: list[tuple[str, float]]) -> tuple[FakeLoop, Deadlines[str]]:
    loop = FakeLoop()
    d: Deadlines[str] = Deadlines(
        cast(asyncio.AbstractEventLoop, loop), lambda k: fired.append((k, loop.now)), SLACK
    )
    return loop, d


def test_keys_due_together_fire_in_one_wakeup_in_deadline_order() -> None:
    fired: list[tuple[str, float]] = []
    loop, d = deadlines(fired)
    d.set("b", 1.0005)  # within the slack of "a": the same wake-up
    d.set("a", 1.0)
    d.set("c", 1.03)
    assert loop.armed() == [1.0] and d.wakeup == 1.0 and len(d) == 3  # one timer
    loop.advance(2.0)
    assert fired == [("a", 1.0), ("b", 1.0), ("c", 1.03)]
    assert loop.wakeups == 2 and len(d) == 0 and d.wakeup is None


def test_a_deadline_moved_later_fires_once_at_the_new_one() -> None:
    fired: list[tuple[str, float]] = []
    loop, d = deadlines(fired)
    d.set("backup", 3.6)
    for second in range(1, 10):  # a master's adverts push the Master_Down deadline on
        loop.advance(float(second))
        d.set("backup", second + 3.6)
    assert fired == [] and len(loop.armed()) == 1  # one timer
    assert loop.wakeups == 0  # alone, it is moved: no wake-up for nothing
    loop.advance(20.0)
    assert fired == [("backup", 12.6)] and loop.wakeups == 1


def test_many_keys_due_close_together_stay_lazy() -> None:
    """A backup of 100 routers hears an advert every 10 ms: the deadline moved is the
    armed one each time, but the next is within LONE_WAKEUP, so the asyncio timer is
    not moved per advert; the old entries ride along and are re-pushed when they come."""
    fired: list[tuple[str, float]] = []
    loop, d = deadlines(fired)
    keys = [f"vr{i}" for i in range(100)]
    for i, k in enumerate(keys):
        d.set(k, 3.6 + i / 100)
    armed_once = len(loop.handles)
    for tick in range(1, 1000):  # 10 s of adverts, round robin
        now = tick / 100
        loop.advance(now)
        d.set(keys[tick % 100], now + 3.6)
    assert fired == []
    assert len(loop.handles) - armed_once < 100  # not one re-arm per advert
    assert loop.wakeups < 1000 / 3  # old entries come up about once per 3.6 s each


def test_earlier_deadlines_cancelling_and_closing() -> None:
    fired: list[tuple[str, float]] = []
    loop, d = deadlines(fired)
    d.set("x", 10.0)
    d.set("x", 2.0)  # earlier (a priority-0 advert: Skew_Time)
    assert d.wakeup == 2.0 and loop.armed() == [2.0]
    d.set("y", 3.0)
    d.set("y", None)  # cancelled (stopped)
    loop.advance(20.0)
    assert fired == [("x", 2.0)]
    d.set("z", 30.0)
    d.close()
    assert d.wakeup is None and len(d) == 0 and loop.armed() == []


def test_a_key_set_again_while_firing_is_kept() -> None:
    loop = FakeLoop()
    fired: list[float] = []
    d: Deadlines[str]

    def again(key: str) -> None:  # a master's Adver_Timer re-arms itself
        fired.append(loop.now)
        if len(fired) < 3:
            d.set(key, loop.now + 1.0)

    d = Deadlines(cast(Any, loop), again, SLACK)
    d.set("master", 1.0)
    loop.advance(10.0)
    assert fired == [1.0, 2.0, 3.0] and len(d) == 0
