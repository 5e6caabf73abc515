"""Lab run names, leftover detection and wait_until (no root needed)."""

from __future__ import annotations

import os

import pytest

from failover.lab.naming import make_prefix, orphans, owner_pid, pid_alive
from failover.lab.wait import WaitTimeout, wait_until


def test_prefix_encodes_pid_and_token() -> None:
    assert make_prefix(4242, "k3zq") == "fo-4242-k3zq-"
    prefix = make_prefix()
    assert owner_pid(prefix + "r1") == os.getpid()
    assert len({make_prefix() for _ in range(20)}) > 1  # random token


@pytest.mark.parametrize(
    "name", ["fogold-1-ka", "fo-0-abcd-r1", "fo-12-ABCD-r1", "fo-12-abc-r1", "r1", "fo-x-abcd-"]
)
def test_other_names_are_not_labs(name: str) -> None:
    assert owner_pid(name) is None


def test_orphans_are_labs_of_dead_owners() -> None:
    names = ["fo-10-aaaa-sw", "fo-10-aaaa-r1", "fo-20-bbbb-r1", "other", "fogold-10-x"]
    assert orphans(names, alive=lambda pid: pid == 20) == ["fo-10-aaaa-r1", "fo-10-aaaa-sw"]


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(2**22 + 12345)  # above pid_max's ceiling


def test_wait_until_returns_the_truthy_value() -> None:
    calls = iter([None, 0, ValueError("not yet"), "ready"])

    def probe() -> object:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(probe, timeout=5, interval=0) == "ready"


def test_wait_until_times_out_with_the_last_value() -> None:
    with pytest.raises(WaitTimeout, match=r"the VIP to move \(last: \[\]\)"):
        wait_until(lambda: [], timeout=0.05, interval=0.01, what="the VIP to move")
