"""The config's health tracking: `checks`, routers' `track` and `notify`, `sync_groups`.

    "checks": {"web": {"type": "http", "url": "http://192.0.2.11:8080/healthz",
                       "interval": 1, "timeout": 1, "rise": 2, "fall": 2}, ...}
    router:   "track": [{"check": "web", "weight": -100}], "notify": ["/usr/local/bin/x"]
    "sync_groups": [{"name": "fw", "routers": ["inside", "outside"], "notify": [...]}]

Checks are defined once and tracked by name with a per-router weight (tracking.py says
what weights do). Commands (exec checks, notify hooks) are argv lists, never a shell;
as root their executable must be an absolute path nobody but root can change
(`security.unsafe_command`), checked here, at load, so a bad file is refused whole.
"""

from __future__ import annotations

import json
import os
import pwd
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import voluptuous as vol

from failover.protocol.settings import CheckConfig, RouterConfig, SyncGroupConfig, Track
from failover.security import unsafe_command
from failover.validators import errors_of, integer, interface_name, number, string

CHECK_KINDS = ("exec", "tcp", "http", "file", "interface")
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
INTERVAL = number(0.1, 3600)  # seconds, for `interval` and `timeout`


# -- value validators -------------------------------------------------------------------


def command(value: Any) -> tuple[str, ...]:
    """An argv list: the executable as an absolute path, then its arguments."""
    if not isinstance(value, list) or not value:
        raise vol.Invalid(
            "must be a list: the program's absolute path, then its arguments, e.g. "
            '["/usr/bin/pgrep", "-x", "haproxy"] (never a shell command line)'
        )
    if not all(isinstance(v, str) for v in value) or not value[0]:
        raise vol.Invalid(f"must list strings only (got {json.dumps(value)})")
    if not value[0].startswith("/"):
        raise vol.Invalid(f"must start with an absolute path (got {json.dumps(value[0])})")
    return tuple(value)


def _url(value: Any) -> str:
    text = string(value)
    parts = urlsplit(text)
    if parts.scheme != "http" or not parts.hostname:
        raise vol.Invalid(f"must be an http:// URL with a host (got {json.dumps(value)})")
    return text


def _status_range(value: Any) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(type(v) is int and 100 <= v <= 599 for v in value)
        or value[0] > value[1]
    ):
        raise vol.Invalid(
            f"must be [lowest, highest] HTTP statuses, e.g. [200, 399] (got {json.dumps(value)})"
        )
    return value[0], value[1]


def _absolute_path(value: Any) -> str:
    text = string(value)
    if not text.startswith("/"):
        raise vol.Invalid(f"must be an absolute path (got {json.dumps(value)})")
    return text


def _kind(value: Any) -> str:
    if value not in CHECK_KINDS:
        raise vol.Invalid(f"must be one of {', '.join(CHECK_KINDS)} (got {json.dumps(value)})")
    return str(value)


def _track(value: Any) -> tuple[Track, ...]:
    schema = vol.Schema(
        {vol.Required("check"): string, vol.Optional("weight", default=0): integer(-254, 254)}
    )
    if not isinstance(value, list):
        raise vol.Invalid('must be a list like [{"check": "web", "weight": -50}]')
    out, problems = [], []
    for i, item in enumerate(value):
        try:
            t = schema(item)
        except vol.MultipleInvalid as err:
            problems += [vol.Invalid(e.msg, path=[i, *e.path]) for e in err.errors]
            continue
        out.append(Track(t["check"], t["weight"]))
    if problems:
        raise vol.MultipleInvalid(problems)
    names = [t.check for t in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise vol.Invalid(f"tracks {', '.join(twice)} more than once")
    return tuple(out)


ROUTER_KEYS: dict[Any, Any] = {
    vol.Optional("track", default=[]): _track,
    vol.Optional("notify"): command,
}

Keys = dict[Any, Callable[[Any], Any]]
_COMMON: Keys = {
    vol.Required("type"): _kind,
    vol.Optional("rise", default=1): integer(1, 100),
    vol.Optional("fall", default=1): integer(1, 100),
}
_POLLED: Keys = {vol.Optional("interval", default=1): INTERVAL, vol.Optional("timeout"): INTERVAL}
_KIND_KEYS: dict[str, Keys] = {
    "exec": {vol.Required("command"): command, vol.Optional("user"): string},
    "tcp": {vol.Required("host"): string, vol.Required("port"): integer(1, 65535)},
    "http": {
        vol.Required("url"): _url,
        vol.Optional("expect_status", default=[200, 299]): _status_range,
    },
    "file": {vol.Required("path"): _absolute_path},
    "interface": {vol.Required("interface"): interface_name},  # link events: not polled
}
CHECK_SCHEMAS = {
    kind: vol.Schema({**_COMMON, **({} if kind == "interface" else _POLLED), **keys})
    for kind, keys in _KIND_KEYS.items()
}


# -- checks -----------------------------------------------------------------------------


def parse_checks(value: Any) -> tuple[dict[str, CheckConfig], list[str]]:
    """The top-level `checks` object: the checks by name, and every error."""
    if not isinstance(value, dict):
        return {}, ['checks: must be an object of named checks, e.g. {"web": {"type": ...}}']
    checks: dict[str, CheckConfig] = {}
    problems: list[str] = []
    for name, spec in value.items():
        prefix = f"checks.{name}"
        if not NAME_RE.match(name):
            problems.append(f"{prefix}: a check name is 1-64 letters, digits, '_', '.' or '-'")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{prefix}: must be an object")
            continue
        if "type" not in spec:
            problems.append(f"{prefix}.type: is required: one of {', '.join(CHECK_KINDS)}")
            continue
        try:
            kind = _kind(spec["type"])
            c = CHECK_SCHEMAS[kind](spec)
        except vol.Invalid as err:
            problems += sorted(errors_of(prefix, err if err.path else _at("type", err)))
            continue
        check = CheckConfig(
            name=name,
            kind=kind,
            interval=float(c.get("interval", 1)),
            timeout=float(c.get("timeout", c.get("interval", 1))),  # keepalived: = interval
            rise=c["rise"],
            fall=c["fall"],
            command=c.get("command", ()),
            user=c.get("user"),
            host=c.get("host", ""),
            port=c.get("port", 0),
            url=c.get("url", ""),
            expect_status=c.get("expect_status", (200, 299)),
            path=c.get("path", ""),
            interface=c.get("interface", ""),
        )
        problems += [f"{prefix}.{why}" for why in _runnable(check)]
        checks[name] = check
    return checks, problems


def _at(key: str, err: vol.Invalid) -> vol.Invalid:
    return vol.Invalid(err.msg, path=[key])


def _runnable(check: CheckConfig) -> list[str]:
    """As root: an exec check's user exists and its program is safe to run."""
    if check.kind != "exec" or os.geteuid() != 0:
        return []  # not the daemon's host (`failover check` on a controller, say)
    uid = 0
    if check.user is not None:
        try:
            uid = pwd.getpwnam(check.user).pw_uid
        except KeyError:
            return [f"user: no such user {check.user!r} on this host"]
    why = unsafe_command(check.command, uid)
    return [] if why is None else [f"command: {why}"]


def hook_problems(prefix: str, argv: Sequence[str]) -> list[str]:
    """As root: a notify hook runs as root, so its program must be safe to run."""
    if not argv or os.geteuid() != 0:
        return []
    why = unsafe_command(argv, 0)
    return [] if why is None else [f"{prefix}.notify: {why}"]


def unknown_checks(routers: Sequence[tuple[str, RouterConfig]], checks: Any) -> list[str]:
    """Every `track` entry naming a check the config does not define (`checks`: the raw
    object: a check with errors of its own is still defined)."""
    checks = checks if isinstance(checks, dict) else {}
    known = ", ".join(sorted(checks)) or "none; define them under the top-level `checks`"
    return [
        f"{prefix}.track[{i}].check: no check named {t.check!r} (defined: {known})"
        for prefix, rc in routers
        for i, t in enumerate(rc.track)
        if t.check not in checks
    ]


# -- sync groups ------------------------------------------------------------------------

SYNC_GROUP_SCHEMA = vol.Schema(
    {
        vol.Required("name"): string,
        vol.Required("routers"): vol.All([string], vol.Length(min=2)),
        vol.Optional("notify"): command,
    }
)


def parse_sync_groups(
    value: Any, router_names: Sequence[str]
) -> tuple[tuple[SyncGroupConfig, ...], list[str]]:
    """The top-level `sync_groups` list; a router belongs to one group at most."""
    if not isinstance(value, list):
        return (), ["sync_groups: must be a list of groups"]
    groups: list[SyncGroupConfig] = []
    problems: list[str] = []
    member_of: dict[str, str] = {}
    for i, item in enumerate(value):
        prefix = f"sync_groups[{i}]"
        try:
            g = SYNC_GROUP_SCHEMA(item)
        except vol.Invalid as err:
            problems += sorted(errors_of(prefix, err))
            continue
        if g["name"] in {x.name for x in groups}:
            problems.append(f"{prefix}.name: {g['name']!r} names another group too")
        for j, name in enumerate(g["routers"]):
            where = f"{prefix}.routers[{j}]"
            if name not in router_names:
                problems.append(f"{where}: no virtual router named {name!r}")
            elif name in member_of:
                problems.append(f"{where}: {name!r} is already in sync group {member_of[name]!r}")
            else:
                member_of[name] = g["name"]
        notify = g.get("notify", ())
        problems += hook_problems(prefix, notify)
        groups.append(SyncGroupConfig(g["name"], tuple(g["routers"]), notify))
    return tuple(groups), problems
