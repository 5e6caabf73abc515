"""Which commands the daemon may run: keepalived's `enable_script_security`, always on.

Standard library only and no asyncio: `config.py` imports it to refuse a config.

A check or hook that runs as root from a file a non-root user can change is a root
shell for that user. `unsafe_command` refuses, when the command would run as root:

- an executable that is missing or not a regular file;
- a file or directory on its path (the path as written and the one its symlinks resolve
  to) owned by a user other than root, writable by a group other than root's (gid 0),
  or writable by everyone;
- a symlink on the path owned by a user other than root.

A directory with the sticky bit (such as /tmp) is not refused for being writable: there
only an entry's owner may rename or delete it, and each entry on the path is checked in
its own right. keepalived checks the same (and only with `enable_script_security`);
failover always does. The executable must be an absolute path whoever runs it: a bare
name would depend on the daemon's PATH.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

KINDS = {stat.S_IFDIR: "directory", stat.S_IFLNK: "symlink"}


def unsafe_command(argv: Sequence[str], euid: int) -> str | None:
    """Why `argv` must not run, or None. `euid`: the uid it would run as (the daemon's,
    or that of the `user` it is given); only uid 0 gets the ownership checks."""
    if not argv:
        return "the command is empty"
    exe = argv[0]
    if not os.path.isabs(exe):
        return f"{exe!r} is not an absolute path"
    if euid != 0:
        return None
    try:
        real = os.path.realpath(exe, strict=True)
        if not stat.S_ISREG(os.stat(real).st_mode):
            return f"{exe} is not a regular file"
        for path in dict.fromkeys([*_path_and_parents(exe), *_path_and_parents(real)]):
            reason = _changeable(path, os.lstat(path))
            if reason:
                return f"{exe}: {reason}, so a user other than root could change what runs as root"
    except OSError as e:
        return f"{exe}: {e.strerror}"
    return None


def _path_and_parents(path: str) -> Iterator[str]:
    yield path
    yield from map(str, PurePosixPath(path).parents)


def _changeable(path: str, st: os.stat_result) -> str | None:
    """How someone other than root could change this file, directory or symlink."""
    kind = KINDS.get(stat.S_IFMT(st.st_mode), "file")
    if st.st_uid != 0:
        return f"{kind} {path} is owned by {_named('uid', st.st_uid)}"
    if kind == "symlink" or (kind == "directory" and st.st_mode & stat.S_ISVTX):
        return None
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_IWOTH:
        return f"{kind} {path} is writable by everyone (mode {mode:04o})"
    if mode & stat.S_IWGRP and st.st_gid != 0:
        return f"{kind} {path} is writable by group {_named('gid', st.st_gid)} (mode {mode:04o})"
    return None


def _named(kind: str, number: int) -> str:
    """ "nobody (uid 65534)", or "uid 4242" without a name."""
    try:
        name = pwd.getpwuid(number).pw_name if kind == "uid" else grp.getgrgid(number).gr_name
    except KeyError:
        return f"{kind} {number}"
    return f"{name} ({kind} {number})"
