"""Helpers for every test tier: `require` (skip here, fail in CI) and advert-counted windows."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from failover.lab import Lab
from failover.lab.nodes import Node
from failover.lab.wait import WaitTimeout

MakeLab = Callable[..., Lab]


def in_ci() -> bool:
    """True under CI (`CI=true`, as `.ci/run` sets it): nothing may be skipped there."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def require(ok: bool, why: str) -> None:
    """Skip when a prerequisite is missing; in CI (CI=true) fail instead: nothing that
    needs root, namespaces, a peer or a tool may be skipped there."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"prerequisite missing in CI: {why}")
    pytest.skip(why)


def adverts(node: Node, vrid: int) -> int:
    """Adverts router `vrid` of a failover daemon sent plus those it accepted.

    In a settled group this grows by one per Advertisement_Interval whichever role the
    router has (a master sends, a backup receives): a clock that runs at the group's pace.
    """
    (r,) = [r for r in node.status() if r["vrid"] == vrid]
    return int(r["adverts_sent"]) + int(r["adverts_received"])


def holds_over_adverts(
    invariant: Callable[[], object],
    count: Callable[[], int],
    more: int,
    timeout: float = 60.0,
    what: str = "the invariant",
    poll: float = 0.2,
) -> None:
    """Assert `invariant()` on every poll until `count()` has grown by `more`.

    A "stays stable" window measured in adverts, not seconds: a slow machine makes it
    last longer instead of observing less. `timeout` only bounds a stalled counter.
    """
    start = count()
    deadline = time.monotonic() + timeout
    while True:
        assert invariant(), f"{what} stopped holding after {count() - start} of {more} adverts"
        if count() - start >= more:
            return
        if time.monotonic() > deadline:
            raise WaitTimeout(
                f"{more} adverts did not pass in {timeout:g}s (saw {count() - start}) "
                f"while checking {what}"
            )
        time.sleep(poll)  # the polling interval; the window itself is counted in adverts


class TakeoverWatch:
    """Samples a backup's view of one router while a test waits for it to become master.

    RFC 3768 6.4.2: a backup that receives a priority-0 advert forgets the master and sets
    its Master_Down_Timer to Skew_Time; one that only stops hearing adverts keeps the
    master's address until it takes over. So a sample (BACKUP, no master) after the
    master was known is the backup's own evidence that the priority-0 advert arrived.
    """

    def __init__(self, node: Node, vrid: int) -> None:
        self.node = node
        self.vrid = vrid
        self.views: list[tuple[str, str | None]] = []

    def _view(self) -> tuple[str, str | None]:
        (r,) = [r for r in self.node.status() if r["vrid"] == self.vrid]
        return str(r["state"]), r["master_ip"]

    def knows(self, master_ip: str) -> bool:
        """True while the router is BACKUP of `master_ip` (wait for this first)."""
        return self._view() == ("BACKUP", master_ip)

    def master(self) -> bool:
        """Sample once; True when the router is MASTER."""
        view = self._view()
        self.views.append(view)
        return view[0] == "MASTER"

    def saw_priority_zero(self) -> bool:
        return ("BACKUP", None) in self.views

    def seen(self) -> list[tuple[str, str | None]]:
        """The distinct views, for a failure message."""
        return sorted(set(self.views), key=str)
