"""Deadlines (failover/daemon/timers.py): many routers' timers on one asyncio timer."""

from __future__ import annotations

import asyncio

from failover.daemon.timers import Deadlines

SLACK = 0.001


def run(body: object) -> None:
    asyncio.run(body)  # type: ignore[arg-type]


class Counted(Deadlines[str]):
    """Counts its wake-ups (asyncio callbacks)."""

    wakeups = 0

    def _run(self) -> None:
        self.wakeups += 1
        super()._run()


def test_keys_due_together_fire_in_one_callback_in_deadline_order() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired: list[tuple[str, int]] = []
        d = Counted(loop, lambda k: fired.append((k, d.wakeups)), SLACK)
        t = loop.time() + 0.05
        d.set("b", t + 0.0005)  # within the slack of "a": the same wake-up
        d.set("a", t)
        d.set("c", t + 0.03)
        assert d.wakeup == t and len(d) == 3
        await asyncio.sleep(0.12)
        assert fired == [("a", 1), ("b", 1), ("c", 2)]  # a and b in one wake-up
        assert len(d) == 0 and d.wakeup is None

    run(main())


def test_a_deadline_moved_later_does_not_fire_at_the_old_one() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        d: Deadlines[str] = Deadlines(loop, lambda k: fired.append(loop.time()), SLACK)
        t = loop.time()
        d.set("backup", t + 0.02)
        for step in range(1, 6):  # adverts keep pushing the Master_Down deadline on
            await asyncio.sleep(0.01)
            d.set("backup", t + 0.02 + 0.01 * step)
        assert fired == []
        await asyncio.sleep(0.08)
        assert len(fired) == 1 and fired[0] >= t + 0.07 - SLACK

    run(main())


def test_earlier_deadlines_and_cancelling() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired: list[str] = []
        d: Deadlines[str] = Deadlines(loop, fired.append, SLACK)
        t = loop.time()
        d.set("x", t + 1.0)
        d.set("x", t + 0.02)  # earlier (a priority-0 advert: Skew_Time)
        assert d.wakeup == t + 0.02
        d.set("y", t + 0.03)
        d.set("y", None)  # cancelled (stopped)
        await asyncio.sleep(0.08)
        assert fired == ["x"]
        d.set("z", t + 5)
        d.close()
        assert d.wakeup is None and len(d) == 0

    run(main())


def test_a_key_set_again_while_firing_is_kept() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired: list[int] = []
        d: Deadlines[str] = Deadlines(loop, lambda k: None, SLACK)

        def again(key: str) -> None:  # a master's Adver_Timer re-arms itself
            fired.append(len(fired))
            if len(fired) < 3:
                d.set(key, loop.time() + 0.01)

        d._fire = again
        d.set("master", loop.time() + 0.01)
        await asyncio.sleep(0.1)
        assert fired == [0, 1, 2] and len(d) == 0

    run(main())
