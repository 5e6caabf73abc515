# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""Helpers shared by the failover.vrrp modules: config building and the control socket.

The daemon's own `failover check` is the authority on what a valid config is; this file
only maps module parameters onto the daemon's JSON keys and talks to the control socket.

Modules run on the target, without the daemon's package, so this file keeps its own copy
of the control protocol (failover/control.py in the failover repository);
tests/unit/test_status_contract.py there runs this client against the daemon's server.
"""

from __future__ import annotations

import ipaddress
import json
import socket

# -- the control protocol (failover.control) ----------------------------------------------
DEFAULT_CONTROL_SOCKET = "/run/failover/failover.sock"
CLIENT_TIMEOUT = 5.0
STATUS = "status"  # the commands
RELOAD = "reload"
STATES = ("INITIALIZE", "BACKUP", "MASTER", "FAULT")  # RouterStatus.state
# The keys of a RouterStatus, every one documented in vrrp_info's RETURN (the filters
# read some of them); tests/unit/test_status_contract.py compares all three.
ROUTER_STATUS_KEYS = (
    "name",
    "vrid",
    "interface",
    "state",
    "priority",
    "effective_priority",
    "faults",
    "tracks",
    "master_ip",
    "master_priority",
    "since",
    "primary_ip",
    "addresses",
    "adverts_sent",
    "adverts_received",
    "send_errors",
    "dual_master_periods",
    "drops",
    "transitions",
)


def address_of(address):
    """`a.b.c.d` of `a.b.c.d/len` (or of a bare address); an IPv6 one in its canonical
    form (`2001:db8::100` of `2001:DB8:0::100/64`), as `ip` and the daemon print it."""
    text = str(address).split("/", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def local_addresses(module):
    """Every address on the host's interfaces in CIDR form, from `ip -json addr show`:
    the IPv4 ones first (as `ip -4` lists them), then the IPv6 ones."""
    ip = module.get_bin_path("ip", required=True, opt_dirs=["/usr/sbin", "/sbin"])
    rc, out, err = module.run_command([ip, "-json", "addr", "show"])
    if rc != 0:
        module.fail_json(msg=f"ip -json addr show failed: {err.strip()}")
    found = {"inet": [], "inet6": []}
    for link in json.loads(out or "[]"):
        for a in link.get("addr_info", []):
            family = a.get("family")
            if family in found and "local" in a:
                full = 32 if family == "inet" else 128
                found[family].append(f"{a['local']}/{a.get('prefixlen', full)}")
    return found["inet"] + found["inet6"]


def running_priority(router):
    """A RouterStatus's priority as it runs: effective (tracking), else the configured."""
    return router.get("effective_priority") or router.get("priority") or 0


REDACTED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

# module option -> daemon JSON key, in the order the daemon's documentation lists them
ROUTER_KEYS = (
    ("name", "name"),
    ("vrid", "vrid"),
    ("interface", "interface_name"),
    ("addresses", "ip_addresses"),
    ("priority", "priority"),
    ("advert_interval", "advert_interval"),
    ("preempt", "preempt_mode"),
    ("preempt_delay", "preempt_delay"),
    ("auth_type", "auth_type"),
    ("auth_password", "auth_password"),
    ("version", "version"),
    ("unicast_peers", "unicast_peers"),
    ("unicast_source", "unicast_source"),
    ("use_vmac", "use_vmac"),
    ("checksum_ipv4_pseudo_header", "checksum_ipv4_pseudo_header"),
    ("track", "track"),
    ("notify", "notify"),
)
SETTING_KEYS = (
    "control_socket",
    "control_group",
    "garp_repeat",
    "garp_delay",
    "metrics_listen",
    "realtime_priority",
    "nice",
)
# the daemon's ranges of the whole-number settings it reads at start (failover/config.py)
SETTING_RANGES = (("realtime_priority", 1, 99), ("nice", -20, 19))
# the keys of a check (failover/tracking_config.py), in the order the daemon's README lists them
CHECK_KEYS = (
    "type",
    "interval",
    "timeout",
    "rise",
    "fall",
    "command",
    "user",
    "host",
    "port",
    "url",
    "expect_status",
    "path",
    "interface",
)
TRACK_KEYS = ("check", "weight")
SYNC_GROUP_KEYS = ("name", "routers", "notify")


def _number(value):
    """A float that is a whole number as an int (`1`, not `1.0`, as people write it)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _present(item, keys):
    """The mapping's keys in `keys` order, None values left out."""
    return {k: _number(item[k]) for k in keys if item.get(k) is not None}


def router_json(router):
    """One router's daemon JSON from the module's suboptions (None values left out)."""
    out = {}
    for option, key in ROUTER_KEYS:
        value = router.get(option)
        if value is None:
            continue
        if option in ("preempt_delay", "advert_interval") and float(value).is_integer():
            value = int(value)
        if option == "track":
            value = [_present(t, TRACK_KEYS) for t in value]
        out[key] = value
    return out


def checks_json(checks):
    """The top-level `checks` object: each named check's keys, None values left out."""
    return {name: _present(spec, CHECK_KEYS) for name, spec in (checks or {}).items()}


def sync_groups_json(groups):
    """The top-level `sync_groups` list, None values left out."""
    return [_present(g, SYNC_GROUP_KEYS) for g in groups or []]


def setting_problems(settings):
    """The settings out of the daemon's range, one line each in the daemon's words
    (`failover check` says the same), so that a module fails before it writes anything."""
    problems = []
    for key, lo, hi in SETTING_RANGES:
        value = settings.get(key)
        if value is None:
            continue
        if value < lo:
            problems.append(f"{key}: must be at least {lo} (got {value})")
        elif value > hi:
            problems.append(f"{key}: must be at most {hi} (got {value})")
    return problems


def uses_object_form(routers, settings):
    """Whether the document needs the object form: a setting, `checks` or `sync_groups`,
    or a router's `track` or `notify` (keys the original failover never had)."""
    if any(settings.get(k) is not None for k in (*SETTING_KEYS, "checks", "sync_groups")):
        return True
    return any(r.get(k) is not None for r in routers for k in ("track", "notify"))


def build_config(routers, settings):
    """The daemon's JSON document.

    Without settings or health tracking: the original failover's format, a list of router
    objects, so that the file also works with the original daemon. Otherwise the object
    form `{"checks": {...}, "virtual_routers": [...], "sync_groups": [...], <settings>}`
    (`checks` and `sync_groups` only when given).
    """
    body = [router_json(r) for r in routers]
    if not uses_object_form(routers, settings):
        return body
    doc = {}
    if settings.get("checks") is not None:
        doc["checks"] = checks_json(settings["checks"])
    doc["virtual_routers"] = body
    if settings.get("sync_groups") is not None:
        doc["sync_groups"] = sync_groups_json(settings["sync_groups"])
    doc.update(_present(settings, SETTING_KEYS))
    return doc


def render(doc):
    """Canonical file text: two-space indent, key order kept, trailing newline."""
    return json.dumps(doc, indent=2) + "\n"


def redact(doc):
    """A copy of the document with every auth_password replaced, for output and diff."""
    if isinstance(doc, list):
        return [redact(item) for item in doc]
    if isinstance(doc, dict):
        return {k: (REDACTED if k == "auth_password" else redact(v)) for k, v in doc.items()}
    return doc


class ControlError(Exception):
    """The control socket could not be reached or answered with an error."""

    def __init__(self, message, unreachable=False):
        super().__init__(message)
        self.unreachable = unreachable


def control_request(path, request, timeout=CLIENT_TIMEOUT):
    """Send one JSON request line to the daemon's unix socket and return the reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise ControlError(
                f"cannot connect to the failover control socket {path}: "
                f"{err.strerror or err} (is the daemon running?)",
                unreachable=True,
            ) from None
        except OSError as err:
            raise ControlError(
                f"cannot connect to the failover control socket {path}: {err}"
            ) from None
        sock.sendall(json.dumps(request).encode() + b"\n")
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:  # TimeoutError only from Python 3.10 on
                raise ControlError(f"no answer from {path} within {timeout:g}s") from None
            if not data:
                break
            chunks.append(data)
            if data.endswith(b"\n"):
                break
    finally:
        sock.close()
    raw = b"".join(chunks).strip()
    if not raw:
        raise ControlError(f"the daemon closed {path} without answering")
    try:
        reply = json.loads(raw.decode("utf-8"))
    except ValueError as err:
        raise ControlError(f"the daemon's answer on {path} is not JSON: {err}") from None
    if not isinstance(reply, dict):
        raise ControlError(f"the daemon's answer on {path} is not a JSON object")
    if reply.get("ok") is not True:
        lines = [str(line) for line in reply.get("errors") or []]
        raise ControlError(
            f"the daemon refused {request.get('command')!r}: {reply.get('error', reply)}"
            + "".join(f"\n  {line}" for line in lines)
        )
    return reply
