# -*- coding: utf-8 -*-
# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""Helpers shared by the failover.vrrp modules: config building and the control socket.

The daemon's own `failover check` is the authority on what a valid config is; this file
only maps module parameters onto the daemon's JSON keys and talks to the control socket.
"""

from __future__ import annotations

import json
import socket

DEFAULT_CONTROL_SOCKET = "/run/failover/failover.sock"
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
)
SETTING_KEYS = ("control_socket", "garp_repeat", "garp_delay")


def router_json(router):
    """One router's daemon JSON from the module's suboptions (None values left out)."""
    out = {}
    for option, key in ROUTER_KEYS:
        value = router.get(option)
        if value is None:
            continue
        if option == "preempt_delay" and float(value).is_integer():
            value = int(value)
        out[key] = value
    return out


def build_config(routers, settings):
    """The daemon's JSON document.

    Without settings: the original failover's format, a list of router objects, so that
    the file also works with the original daemon. With any setting: the object form
    `{"virtual_routers": [...], <settings>}`.
    """
    body = [router_json(r) for r in routers]
    chosen = {k: settings[k] for k in SETTING_KEYS if settings.get(k) is not None}
    if not chosen:
        return body
    for key in ("garp_delay",):
        if key in chosen and float(chosen[key]).is_integer():
            chosen[key] = int(chosen[key])
    doc = {"virtual_routers": body}
    doc.update(chosen)
    return doc


def render(doc):
    """Canonical file text: two-space indent, key order kept, trailing newline."""
    return json.dumps(doc, indent=2) + "\n"


def redact(doc):
    """A copy of the document with every auth_password replaced, for output and diff."""
    if isinstance(doc, list):
        return [redact(item) for item in doc]
    if isinstance(doc, dict):
        return {
            k: (REDACTED if k == "auth_password" else redact(v)) for k, v in doc.items()
        }
    return doc


class ControlError(Exception):
    """The control socket could not be reached or answered with an error."""

    def __init__(self, message, unreachable=False):
        super().__init__(message)
        self.unreachable = unreachable


def control_request(path, request, timeout=5.0):
    """Send one JSON request line to the daemon's unix socket and return the reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise ControlError(
                "cannot connect to the failover control socket %s: %s (is the daemon running?)"
                % (path, err.strerror or err),
                unreachable=True,
            )
        except OSError as err:
            raise ControlError(
                "cannot connect to the failover control socket %s: %s" % (path, err)
            )
        sock.sendall(json.dumps(request).encode() + b"\n")
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                raise ControlError("no answer from %s within %gs" % (path, timeout))
            if not data:
                break
            chunks.append(data)
            if data.endswith(b"\n"):
                break
    finally:
        sock.close()
    raw = b"".join(chunks).strip()
    if not raw:
        raise ControlError("the daemon closed %s without answering" % path)
    try:
        reply = json.loads(raw.decode("utf-8"))
    except ValueError as err:
        raise ControlError("the daemon's answer on %s is not JSON: %s" % (path, err))
    if not isinstance(reply, dict):
        raise ControlError("the daemon's answer on %s is not a JSON object" % path)
    if reply.get("ok") is not True:
        raise ControlError(
            "the daemon refused %r: %s" % (request.get("command"), reply.get("error", reply))
        )
    return reply
