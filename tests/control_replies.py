"""Control-socket replies built from the schema in `failover.control`, for fake servers.

`router_status(state="BACKUP")` is a complete `RouterStatus` with the given keys replaced;
a key the schema does not have, or a value of the wrong type (``state="backup"``), raises
at once, so a fake server cannot drift from what the daemon emits. `problems(schema,
value)` checks any reply (a real daemon's too) against a TypedDict of the schema.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

from failover.control import (
    ErrorReply,
    InterfaceStatus,
    ReloadReply,
    RouterStatus,
    StatusReply,
    error_reply,
)

ROUTER: RouterStatus = {
    "name": "VR_1",
    "vrid": 51,
    "interface": "eth0",
    "state": "MASTER",
    "priority": 200,
    "effective_priority": 200,
    "faults": [],
    "tracks": [],
    "master_ip": "192.0.2.11",
    "master_priority": 200,
    "since": 12.5,
    "primary_ip": "192.0.2.11",
    "addresses": ["192.0.2.254/24"],
    "adverts_sent": 12,
    "adverts_received": 0,
    "send_errors": 0,
    "dual_master_periods": 0,
    "drops": {},
    "transitions": {"BACKUP": 1, "MASTER": 1},
}
INTERFACE: InterfaceStatus = {
    "name": "eth0",
    "family": 4,
    "index": 2,
    "primary_ip": "192.0.2.11",
    "drops": {},
}


def problems(schema: Any, value: Any, where: str = "reply") -> list[str]:
    """Every way `value` differs from the type `schema` (a TypedDict, list, Literal...)."""
    origin, args = get_origin(schema), get_args(schema)
    if is_typeddict(schema):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        hints = get_type_hints(schema)
        out = [f"{where}: missing {k!r}" for k in sorted(schema.__required_keys__ - value.keys())]
        out += [f"{where}: unknown key {k!r}" for k in sorted(value.keys() - hints.keys())]
        for key in sorted(value.keys() & hints.keys()):
            out += problems(hints[key], value[key], f"{where}.{key}")
        return out
    if origin is Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {list(args)}"]
    if origin in (Union, types.UnionType):
        if any(not problems(arg, value, where) for arg in args):
            return []
        return [f"{where}: {value!r} is none of {[getattr(a, '__name__', a) for a in args]}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        return [p for i, item in enumerate(value) for p in problems(args[0], item, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        return [
            p
            for k, v in value.items()
            for p in problems(args[0], k, f"{where} key") + problems(args[1], v, f"{where}.{k}")
        ]
    if schema is type(None):
        return [] if value is None else [f"{where}: expected null, got {value!r}"]
    if schema is float:  # JSON numbers: an int is a float
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif schema is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, schema)
    return [] if ok else [f"{where}: expected {schema.__name__}, got {value!r}"]


def build(schema: Any, example: Any, values: dict[str, Any]) -> Any:
    """`example` with `values` replaced; raises ValueError unless it fits `schema`."""
    built = {**example, **values}
    found = problems(schema, built, schema.__name__)
    if found:
        raise ValueError("; ".join(found))
    return built


def router_status(**values: Any) -> RouterStatus:
    """A `RouterStatus`: a MASTER of VRID 51 on eth0 unless `values` say otherwise.

    Without tracked items the effective priority is the configured one, so a given
    `priority` is both unless `effective_priority` is given too.
    """
    if "priority" in values:
        values = {"effective_priority": values["priority"], **values}
    result: RouterStatus = build(RouterStatus, ROUTER, values)
    return result


def interface_status(**values: Any) -> InterfaceStatus:
    result: InterfaceStatus = build(InterfaceStatus, INTERFACE, values)
    return result


def status_reply(
    routers: list[RouterStatus], interfaces: list[InterfaceStatus] | None = None, pid: int = 4242
) -> StatusReply:
    """The daemon's `status` reply; by default one interface per router's interface."""
    if interfaces is None:
        names = dict.fromkeys(r["interface"] for r in routers)
        interfaces = [interface_status(name=n, index=i + 2) for i, n in enumerate(names)]
    reply: StatusReply = build(
        StatusReply, {}, {"ok": True, "pid": pid, "routers": routers, "interfaces": interfaces}
    )
    return reply


def reload_reply(**values: Any) -> ReloadReply:
    """The reply of an applied reload: nothing changed unless `values` say otherwise."""
    example = {
        "ok": True,
        "config": "/etc/failover/vrrp-config.json",
        "added": [],
        "removed": [],
        "changed": [],
        "unchanged": ["VR_1"],
        "warnings": [],
    }
    reply: ReloadReply = build(ReloadReply, example, values)
    return reply


def refused(error: str, errors: list[str] | None = None) -> ErrorReply:
    """A refusal, as `ControlServer` or a refused reload sends it."""
    reply = error_reply(error, errors)
    assert not problems(ErrorReply, reply)
    return reply
