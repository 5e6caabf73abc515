"""Per-run names: every namespace and temp dir of a lab starts with `fo-<pid>-<token>-`.

The owner's pid in the name lets a later run find the leftovers of a run that died
without tearing down (`sweep`), while never touching a lab whose owner is still alive.
"""

from __future__ import annotations

import os
import re
import secrets
import string
from collections.abc import Callable, Iterable

ROOT = "fo-"
_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_RE = re.compile(r"^fo-(?P<pid>[1-9][0-9]*)-(?P<token>[a-z0-9]{4})-")


def make_prefix(pid: int | None = None, token: str | None = None) -> str:
    """A fresh run prefix such as `fo-4242-k3zq-`."""
    pid = os.getpid() if pid is None else pid
    token = token or "".join(secrets.choice(_ALPHABET) for _ in range(4))
    return f"{ROOT}{pid}-{token}-"


def owner_pid(name: str) -> int | None:
    """The pid encoded in a lab name, or None if the name is not a lab's."""
    m = PREFIX_RE.match(name)
    return int(m["pid"]) if m else None


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] != b"Z"


def orphans(names: Iterable[str], alive: Callable[[int], bool] = pid_alive) -> list[str]:
    """The lab names among `names` whose owning process is no longer alive."""
    out = []
    for name in names:
        pid = owner_pid(name)
        if pid is not None and not alive(pid):
            out.append(name)
    return sorted(out)
