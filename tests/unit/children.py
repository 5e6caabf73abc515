"""Real processes in unit tests: run a test's loop as the subreaper of what it starts.

A killed command's children are orphans; where PID 1 does not reap (some containers),
they would stay zombies for good. `run` adopts them for the test and reaps them after.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, adopting orphans meanwhile; every exited child reaped after."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        return asyncio.run(main)
    finally:
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break


def dead(pid: int) -> bool:
    """The process is gone or a zombie (it ran its last instruction)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


async def appears(path: Path, timeout: float = 30.0) -> str:
    """The file's text once it exists with a complete last line."""
    async with asyncio.timeout(timeout):
        while True:
            if path.exists() and (text := path.read_text()).endswith("\n"):
                return text
            await asyncio.sleep(0.01)


def script(path: Path, body: str) -> Path:
    """An executable /bin/sh script at `path`."""
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path
