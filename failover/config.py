"""The daemon's JSON config: the original failover's format, validated with voluptuous.

Accepted top levels (the first two are the original failover's, unchanged):

* a list of router objects;
* a single router object;
* an object with a `virtual_routers` list and global settings.

Every error names its place (`virtual_routers[1].vrid`) and says what is wrong in
words, all errors are reported at once, and an invalid file yields no `Config` at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Interface, IPv6Interface, NetmaskValueError
from pathlib import Path
from typing import Any

import voluptuous as vol

from failover import tracking_config, v3_config
from failover.control_access import group_id
from failover.protocol.packet import MAX_ADDRESSES, AuthType, IPAddress
from failover.protocol.settings import CheckConfig, RouterConfig, SyncGroupConfig
from failover.validators import (
    boolean,
    distinct_items,
    errors_of,
    integer,
    interface_name,
    listen_address,
    number,
    place,
    string,
)

DEFAULT_CONFIG_PATH = Path("/etc/failover/vrrp-config.json")
DEFAULT_CONTROL_SOCKET = "/run/failover/failover.sock"
AUTH_PASSWORD_MAX = 8  # RFC 3768 5.3.10: 8 octets of Authentication Data


@dataclass(frozen=True, slots=True)
class Settings:
    """Process-wide settings (object form only; defaults otherwise)."""

    control_socket: str = DEFAULT_CONTROL_SOCKET
    control_group: str | None = None  # its members may use status and events (control.py)
    garp_repeat: int = 3
    garp_delay: float = 0.2
    metrics_listen: tuple[str, int] | None = None  # Prometheus /metrics (off by default)
    realtime_priority: int | None = None  # SCHED_RR 1..99 (daemon/scheduling.py)
    nice: int | None = None  # -20..19


@dataclass(frozen=True, slots=True)
class Config:
    routers: tuple[RouterConfig, ...]
    settings: Settings = Settings()
    warnings: tuple[str, ...] = ()
    checks: tuple[CheckConfig, ...] = ()  # object form only (tracking_config.py)
    sync_groups: tuple[SyncGroupConfig, ...] = ()


class ConfigError(Exception):
    """The config is invalid; `errors` lists every problem, each with its place."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# -- value validators (each raises vol.Invalid with a user-facing message) -------------


def _vip(value: Any) -> IPv4Interface | IPv6Interface:
    """A virtual address in CIDR form, `a.b.c.d/len` or `2001:db8::1/64`."""
    if not isinstance(value, str) or "/" not in value:
        raise vol.Invalid(
            f"must be an IP address with prefix length, e.g. 192.0.2.10/24 or "
            f"2001:db8::10/64 (got {json.dumps(value)})"
        )
    iface: IPv4Interface | IPv6Interface
    try:
        iface = IPv6Interface(value) if ":" in value else IPv4Interface(value)
    except (AddressValueError, NetmaskValueError, ValueError) as err:
        family = "IPv6" if ":" in value else "IPv4"
        raise vol.Invalid(f"is not an {family} address/prefix ({err})") from None
    ip, net = iface.ip, iface.network
    # IPv4 link-local is no VIP; an IPv6 router's link-local one is (RFC 5798 5.2.9)
    if (
        ip.is_multicast
        or ip.is_loopback
        or ip.is_unspecified
        or (ip.is_link_local and ip.version == 4)
    ):
        raise vol.Invalid(f"{ip} cannot be a virtual address")
    if (
        ip.version == 4
        and net.prefixlen < 31
        and ip in (net.network_address, net.broadcast_address)
    ):
        raise vol.Invalid(f"{ip} is the network or broadcast address of {net}")
    return iface


def _vip_list(value: Any) -> tuple[IPv4Interface | IPv6Interface, ...]:
    if not isinstance(value, list) or not value:
        raise vol.Invalid("must be a non-empty list of addresses like 192.0.2.10/24")
    if len(value) > MAX_ADDRESSES:
        raise vol.Invalid(
            f"at most {MAX_ADDRESSES} addresses fit one advertisement (got {len(value)})"
        )
    return distinct_items(value, _vip, lambda a: a.ip)


def _auth_type(value: Any) -> int:
    names = {"none": AuthType.NONE, "simple": AuthType.SIMPLE, "pass": AuthType.SIMPLE}
    if isinstance(value, str) and value.lower() in names:
        return int(names[value.lower()])
    raise vol.Invalid(
        f'must be "none" or "simple" (RFC 3768 5.3.6; got {json.dumps(value)}); '
        "IP Authentication Header is not part of VRRPv2 since RFC 3768"
    )


def _group(value: Any) -> str:
    """An existing group's name: its members may read the control socket."""
    name = string(value)
    try:
        group_id(name)
    except KeyError as err:
        raise vol.Invalid(f"{err.args[0]} (create it, or leave control_group out)") from None
    return name


def _password(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise vol.Invalid("must be a non-empty string")
    raw = value.encode()
    if len(raw) > AUTH_PASSWORD_MAX:
        raise vol.Invalid(
            f"must be at most {AUTH_PASSWORD_MAX} bytes, the size of the "
            f"Authentication Data field (got {len(raw)})"
        )
    return raw


ROUTER_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): string,
        vol.Required("vrid"): integer(1, 255),
        vol.Required("interface_name"): interface_name,
        vol.Required("ip_addresses"): _vip_list,
        vol.Optional("priority", default=100): integer(1, 255),
        vol.Optional("preempt_mode", default=True): boolean,
        vol.Optional("preempt_delay", default=0): number(0, 3600),
        vol.Optional("auth_type", default="none"): _auth_type,
        vol.Optional("auth_password"): _password,
        **v3_config.ROUTER_KEYS,
        **tracking_config.ROUTER_KEYS,
    }
)

ROUTER_KEYS = frozenset(str(k) for k in ROUTER_SCHEMA.schema)
OBJECT_SECTIONS = ("virtual_routers", "checks", "sync_groups")  # beside the settings


def _metrics_listen(value: Any) -> tuple[str, int] | None:
    """null (the default): no metrics endpoint."""
    return None if value is None else listen_address(value)


SETTINGS_SCHEMA = {
    vol.Optional("control_socket", default=DEFAULT_CONTROL_SOCKET): string,
    vol.Optional("control_group"): _group,
    vol.Optional("garp_repeat", default=3): integer(1, 100),
    vol.Optional("garp_delay", default=0.2): number(0, 60),
    vol.Optional("metrics_listen", default=None): _metrics_listen,
    vol.Optional("realtime_priority"): integer(1, 99),
    vol.Optional("nice"): integer(-20, 19),
}


# -- parsing ---------------------------------------------------------------------------


def parse(data: Any) -> Config:
    """Validate decoded JSON and build a `Config`, or raise `ConfigError` with all errors."""
    errors: list[str] = []
    settings = Settings()
    prefix_of: Callable[[int], str]
    if isinstance(data, list):
        items, prefix_of = data, lambda i: f"[{i}]"
    elif isinstance(data, dict) and "virtual_routers" in data:
        rest = {k: v for k, v in data.items() if k not in OBJECT_SECTIONS}
        try:
            top = vol.Schema(SETTINGS_SCHEMA)(rest)
            settings = Settings(
                control_socket=top["control_socket"],
                control_group=top.get("control_group"),
                garp_repeat=top["garp_repeat"],
                garp_delay=top["garp_delay"],
                metrics_listen=top["metrics_listen"],
                realtime_priority=top.get("realtime_priority"),
                nice=top.get("nice"),
            )
        except vol.Invalid as err:
            errors.extend(errors_of("", err))
        items = data["virtual_routers"]
        if not isinstance(items, list):
            raise ConfigError([*errors, "virtual_routers: must be a list of virtual routers"])
        prefix_of = lambda i: f"virtual_routers[{i}]"  # noqa: E731
    elif isinstance(data, dict) and not data.keys() & ROUTER_KEYS:
        raise ConfigError([_no_routers(data)])
    elif isinstance(data, dict):
        items, prefix_of = [data], lambda i: ""
    else:
        raise ConfigError(["(top level): must be a list of virtual routers or an object"])
    if not items:
        where = "virtual_routers" if isinstance(data, dict) else "(top level)"
        raise ConfigError([f"{where}: must list at least one virtual router"])

    routers: list[tuple[str, RouterConfig]] = []
    warnings: list[str] = []
    for i, item in enumerate(items):
        prefix = prefix_of(i)
        try:
            r = ROUTER_SCHEMA(item)
        except vol.Invalid as err:
            errors.extend(sorted(errors_of(prefix, err)))  # stable order for users
            continue
        if r["auth_type"] == AuthType.SIMPLE and "auth_password" not in r:
            errors.append(f"{place(prefix, ['auth_password'])}: is required with simple auth")
            continue
        if r["auth_type"] == AuthType.NONE and "auth_password" in r:
            errors.append(
                f'{place(prefix, ["auth_password"])}: set auth_type to "simple" to use it'
            )
            continue
        problems = v3_config.problems(prefix, r)
        if problems:
            errors += problems
            continue
        warnings += v3_config.warnings(prefix, r)
        routers.append(
            (
                prefix,
                RouterConfig(
                    name=r.get("name") or f"VR_{r['vrid']}_{r['interface_name']}",
                    vrid=r["vrid"],
                    interface=r["interface_name"],
                    addresses=r["ip_addresses"],
                    priority=r["priority"],
                    preempt_mode=r["preempt_mode"],
                    preempt_delay=r["preempt_delay"],
                    auth_type=r["auth_type"],
                    auth_password=r.get("auth_password", b""),
                    track=r["track"],
                    notify=r.get("notify", ()),
                    **v3_config.settings(r),
                ),
            )
        )
    errors.extend(_cross_check(routers))
    top = data if isinstance(data, dict) and "virtual_routers" in data else {}
    checks, problems = tracking_config.parse_checks(top.get("checks", {}))
    errors += problems + tracking_config.unknown_checks(routers, top.get("checks", {}))
    for prefix, rc in routers:
        errors += tracking_config.hook_problems(prefix or "(top level)", rc.notify)
    # Names of invalid routers count too: their own errors say what is wrong with them.
    named = [item.get("name") for item in items if isinstance(item, dict)]
    groups, problems = tracking_config.parse_sync_groups(
        top.get("sync_groups", []), [rc.name for _, rc in routers] + [n for n in named if n]
    )
    errors += problems
    if errors:
        raise ConfigError(errors)
    return Config(
        tuple(r for _, r in routers),
        settings,
        tuple(warnings + _warnings(routers)),
        tuple(checks.values()),
        groups,
    )


def _no_routers(data: dict[Any, Any]) -> str:
    """The error for an object that is neither a router nor has `virtual_routers`."""
    unknown = ", ".join(sorted(map(str, data))) or "none"
    return (
        "(top level): no virtual router: list them under `virtual_routers`, e.g. "
        '{"virtual_routers": [{"vrid": 51, "interface_name": "eth0", '
        f'"ip_addresses": ["192.0.2.254/24"]}}]}} (keys found: {unknown})'
    )


def _cross_check(routers: list[tuple[str, RouterConfig]]) -> list[str]:
    """Rules across routers: unique names, unique VRID per interface."""
    errors = []
    names: dict[str, str] = {}
    slots: dict[tuple[str, int], str] = {}
    for prefix, r in routers:
        if r.name in names:
            errors.append(
                f"{place(prefix, ['name'])}: {r.name!r} is already used by {names[r.name]}"
            )
        names.setdefault(r.name, prefix or "(top level)")
        key = (r.interface, r.vrid)
        if key in slots:
            errors.append(
                f"{place(prefix, ['vrid'])}: vrid {r.vrid} on {r.interface} is already "
                f"used by {slots[key]}"
            )
        slots.setdefault(key, prefix or "(top level)")
    return errors


def _warnings(routers: list[tuple[str, RouterConfig]]) -> list[str]:
    """Legal but suspicious: the same address in two virtual routers on one interface."""
    out = []
    seen: dict[tuple[str, IPAddress], str] = {}
    for prefix, r in routers:
        for a in r.addresses:
            other = seen.setdefault((r.interface, a.ip), r.name)
            if other != r.name:
                out.append(
                    f"{place(prefix, ['ip_addresses'])}: {a.ip} on {r.interface} is also "
                    f"in {other}; it stays while either router is master"
                )
    return out


def parse_text(text: str) -> Config:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            [f"line {err.lineno} column {err.colno}: invalid JSON: {err.msg}"]
        ) from None
    return parse(data)


def load(path: str | Path = DEFAULT_CONFIG_PATH) -> Config:
    """Read and validate a config file; raise `ConfigError` on any problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([f"{path}: cannot read: {err.strerror or err}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    return parse_text(text)
