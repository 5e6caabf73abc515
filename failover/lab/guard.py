"""Teardown on every exit path: normal exit, exceptions, SIGTERM/SIGHUP/SIGINT, atexit.

SIGTERM and SIGHUP become SystemExit and SIGINT KeyboardInterrupt, so `finally` blocks
and context managers run; whatever is still open at interpreter exit is closed by an
atexit hook. During a teardown the signals are held and raised once it is done.
A forked copy of this process (pyroute2 forks to open namespaced sockets) that gets
one of these signals exits at once: only the process that built a lab tears it down.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_open: dict[int, Callable[[], None]] = {}
_saved: dict[int, Any] = {}
_depth = 0
_deferring = 0
_pending: list[int] = []
_owner = os.getpid()
CATCH = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int) -> BaseException:
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    return SystemExit(128 + signum)


def _handler(signum: int, _frame: FrameType | None) -> None:
    if os.getpid() != _owner:
        # A forked child (pyroute2 forks to open sockets in a namespace) must die
        # here, not unwind the parent's stack and tear down the parent's lab.
        os._exit(128 + signum)
    if _deferring:
        _pending.append(signum)
        return
    raise _interrupt(signum)


def _close_all() -> None:
    for key in list(_open):
        close = _open.pop(key, None)
        if close is not None:
            close()


atexit.register(_close_all)


def register(key: int, close: Callable[[], None]) -> None:
    """Run `close` at interpreter exit unless `unregister(key)` came first."""
    _open[key] = close


def unregister(key: int) -> None:
    _open.pop(key, None)


def install() -> None:
    """Make SIGTERM/SIGHUP raise SystemExit, SIGINT KeyboardInterrupt (nestable)."""
    global _depth, _owner
    if threading.current_thread() is not threading.main_thread():
        return
    if _depth == 0:
        _owner = os.getpid()
        for sig in CATCH:
            _saved[sig] = signal.signal(sig, _handler)
    _depth += 1


def uninstall() -> None:
    """Undo one `install()`; the previous handlers come back with the outermost one."""
    global _depth
    if threading.current_thread() is not threading.main_thread() or _depth == 0:
        return
    _depth -= 1
    if _depth == 0:
        for sig, handler in _saved.items():
            signal.signal(sig, handler)
        _saved.clear()


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold those signals while a teardown runs; the first one is raised after it."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending and _depth:
            signum = _pending[0]
            _pending.clear()
            raise _interrupt(signum)
