"""The lab's signal guard: signals become exceptions, teardowns are not interrupted,
and a forked copy of the process never unwinds (and tears down) the parent's lab."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from failover.lab import guard


@pytest.fixture
def installed() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    guard.install()
    yield
    guard.uninstall()
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_raises_system_exit(installed: object) -> None:
    with pytest.raises(SystemExit) as exc:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert exc.value.code == 128 + signal.SIGTERM


def test_signals_wait_for_the_teardown(installed: object) -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), guard.signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here and must not raise
        done.append("teardown finished")
    assert done == ["teardown finished"]


def test_forked_child_exits_without_unwinding(installed: object) -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: like pyroute2's helper, killed with SIGTERM
        try:
            os.write(w, b"ready")
            time.sleep(10)
        finally:
            os.write(w, b"unwound")  # would be the parent's `finally`: must not run
            os._exit(0)
    os.close(w)
    assert os.read(r, 5) == b"ready"
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGTERM
    assert os.read(r, 100) == b""
    os.close(r)


def test_atexit_registry_runs_each_close_once() -> None:
    calls: list[int] = []
    guard.register(1, lambda: calls.append(1))
    guard.register(2, lambda: calls.append(2))
    guard.unregister(2)
    guard._close_all()
    guard._close_all()
    assert calls == [1]
