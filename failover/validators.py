"""Value validators and error wording shared by the config loaders (voluptuous).

Each validator raises `vol.Invalid` with a message for users ("must be at least 1 (got
0)"); `errors_of` turns voluptuous' errors into lines that name their place
(`virtual_routers[1].vrid: ...`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import voluptuous as vol

IFNAME_RE = re.compile(r"^[^\s/:]{1,15}$")  # IFNAMSIZ - 1, no slash/colon/space
T = TypeVar("T")


def integer(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise vol.Invalid(f"must be a whole number (got {json.dumps(value)})")
        if value < lo:
            raise vol.Invalid(f"must be at least {lo} (got {value})")
        if value > hi:
            raise vol.Invalid(f"must be at most {hi} (got {value})")
        return value

    return check


def number(lo: float, hi: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise vol.Invalid(f"must be a number (got {json.dumps(value)})")
        if value < lo:
            raise vol.Invalid(f"must be at least {lo:g} (got {value})")
        if value > hi:
            raise vol.Invalid(f"must be at most {hi:g} (got {value})")
        return float(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise vol.Invalid(f"must be true or false (got {json.dumps(value)})")
    return value


def string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise vol.Invalid(f"must be a non-empty string (got {json.dumps(value)})")
    return value


def interface_name(value: Any) -> str:
    name = string(value)
    if not IFNAME_RE.match(name):
        raise vol.Invalid(f"is not a valid interface name (got {json.dumps(value)})")
    return name


def distinct_items(
    items: list[Any], item: Callable[[Any], T], key: Callable[[T], Hashable] = lambda v: v
) -> tuple[T, ...]:
    """Validate each item of a list (every error, at its index), then refuse repeats."""
    errors, out = [], []
    for i, value in enumerate(items):
        try:
            out.append(item(value))
        except vol.Invalid as err:
            errors.append(vol.Invalid(err.msg, path=[i]))
    if errors:
        raise vol.MultipleInvalid(errors)
    keys = [key(v) for v in out]
    dupes = sorted({str(k) for k in keys if keys.count(k) > 1})
    if dupes:
        raise vol.Invalid(f"lists {', '.join(dupes)} more than once")
    return tuple(out)


# -- error wording ---------------------------------------------------------------------


def place(prefix: str, path: list[Any]) -> str:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe(prefix: str, err: vol.Invalid) -> str:
    msg = err.msg
    if msg == "required key not provided":
        msg = "is required"
    elif msg == "extra keys not allowed":
        msg = "is not a known key (see the README's config reference)"
    elif msg.startswith("expected a dictionary"):
        msg = "must be an object"
    return f"{place(prefix, list(err.path))}: {msg}"


def errors_of(prefix: str, err: vol.Invalid) -> list[str]:
    if isinstance(err, vol.MultipleInvalid):
        return [line for e in err.errors for line in errors_of(prefix, e)]
    return [describe(prefix, err)]


def listen_address(value: Any) -> tuple[str, int]:
    """ "127.0.0.1:9165" or "[::1]:9165" -> (host, port): an IP address, not a name."""
    text = string(value)
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise vol.Invalid(f"an IPv6 address goes in brackets, e.g. [::1]:9165 (got {text!r})")
    if not sep or not host:
        raise vol.Invalid(f"must be ADDRESS:PORT, e.g. 127.0.0.1:9165 (got {text!r})")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise vol.Invalid(f"{host!r} is not an IP address (got {text!r})") from None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise vol.Invalid(f"the port must be 1..65535 (got {text!r})")
    return host, int(port)
