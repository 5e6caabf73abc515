# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""VRRP priorities from a host's position in an inventory group."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_priorities
author: failover maintainers (!UNKNOWN)
version_added: 1.0.0
short_description: Assign VRRP priorities from the order of hosts in a group
description:
  - Maps each host of an ordered list (usually C(groups['routers'])) to a VRRP priority.
    The first host gets O(top), each following host O(step) less, so the first host of
    the group is the preferred master.
  - Per-host O(overrides) replace the computed value of a host.
  - Fails with a clear message, never a silent tie, when the group has more hosts than
    the range from O(top) down to O(bottom) can separate with O(step), when two hosts
    would end up with the same priority (colliding overrides, or an override equal to
    another host's computed priority), when a host is listed twice, or when an override
    names a host that is not in the list or is not a priority (1-255).
  - Priority 255 is reserved by RFC 3768 for the owner of the virtual addresses, so it is
    never computed; it can only be given explicitly as an override.
positional: _input, overrides
options:
  _input:
    description: The hosts, in order of preference (first = highest priority).
    type: list
    elements: str
    required: true
  overrides:
    description:
      - Explicit priorities for some hosts, a mapping of host name to priority (1-255).
      - Hosts absent from the mapping, or mapped to V(null) or an empty string, keep their
        computed priority, so C(hostvars) lookups with a V(null) default can be passed
        straight in.
    type: dict
    default: {}
  top:
    description: Priority of the first host (1-254).
    type: int
    default: 200
  step:
    description: Difference between two neighbouring hosts (at least 1).
    type: int
    default: 10
  bottom:
    description: Lowest priority that may be computed (1-254).
    type: int
    default: 1
  rotate:
    description:
      - Rotate the order by this many places before assigning, so that several virtual
        routers on the same group can prefer different masters (V(1) makes the second host
        the first choice, and the first host the last).
    type: int
    default: 0
"""

EXAMPLES = r"""
# group_vars/routers.yml: r1 -> 200, r2 -> 190, r3 -> 180
failover_vrrp_priorities: "{{ groups['routers'] | failover.vrrp.vrrp_priorities }}"

# host_vars may pin a host (here: failover_vrrp_priority_override: 250 on r3)
failover_vrrp_priorities_pinned: >-
  {{ groups['routers'] | failover.vrrp.vrrp_priorities(
       dict(groups['routers'] | zip(groups['routers']
            | map('extract', hostvars, 'failover_vrrp_priority_override')
            | map('default', none)))) }}

# a second virtual router that prefers the second host: r2 -> 200, r3 -> 190, r1 -> 180
failover_vrrp_priorities_vr2: "{{ groups['routers'] | failover.vrrp.vrrp_priorities(rotate=1) }}"

# a larger group with a finer step
priorities_big: "{{ groups['edge'] | failover.vrrp.vrrp_priorities(top=250, step=2) }}"
"""

RETURN = r"""
_value:
  description: A mapping of each host to its priority, in the order of the input list.
  type: dict
"""

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

PRIORITY_MIN = 1
PRIORITY_OWNER = 255  # RFC 3768 5.3.4: only the address owner uses 255


def _whole(value, what):
    """An int from an int or a string of digits (INI inventories give strings)."""
    if isinstance(value, bool):
        raise AnsibleFilterError(f"vrrp_priorities: {what} must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise AnsibleFilterError(f"vrrp_priorities: {what} must be a whole number, got {value!r}")


def vrrp_priorities(hosts, overrides=None, top=200, step=10, bottom=1, rotate=0):
    """Return {host: priority}: first host `top`, then `step` less each; overrides win."""
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Sequence):
        raise AnsibleFilterError(
            f"vrrp_priorities: input must be a list of host names, got {type(hosts).__name__}"
        )
    hosts = [str(h) for h in hosts]
    top = _whole(top, "top")
    step = _whole(step, "step")
    bottom = _whole(bottom, "bottom")
    rotate = _whole(rotate, "rotate")
    if not PRIORITY_MIN <= top < PRIORITY_OWNER:
        raise AnsibleFilterError(
            f"vrrp_priorities: top must be between 1 and 254 (got {top}); "
            "255 is reserved for the address owner and can only be set as an override"
        )
    if not PRIORITY_MIN <= bottom <= top:
        raise AnsibleFilterError(
            f"vrrp_priorities: bottom must be between 1 and top={top} (got {bottom})"
        )
    if step < 1:
        raise AnsibleFilterError(f"vrrp_priorities: step must be at least 1 (got {step})")

    seen = set()
    twice = sorted({h for h in hosts if h in seen or seen.add(h)})
    if twice:
        raise AnsibleFilterError(
            f"vrrp_priorities: hosts listed more than once: {', '.join(twice)}"
        )

    capacity = (top - bottom) // step + 1
    if len(hosts) > capacity:
        raise AnsibleFilterError(
            f"vrrp_priorities: {len(hosts)} hosts cannot get distinct priorities from "
            f"{top} down to {bottom} in steps of {step} (room for {capacity}); "
            f"lower step, raise top, lower bottom, or set overrides"
        )

    order = hosts[rotate % len(hosts) :] + hosts[: rotate % len(hosts)] if hosts else []
    result = {h: top - order.index(h) * step for h in hosts}

    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise AnsibleFilterError(
            "vrrp_priorities: overrides must be a mapping of host name to priority, "
            f"got {type(overrides).__name__}"
        )
    explicit = {}
    for host, value in overrides.items():
        host = str(host)
        if value is None or value == "":
            continue
        if host not in result:
            raise AnsibleFilterError(
                f"vrrp_priorities: override for {host!r}, which is not in the group "
                f"({', '.join(hosts) or 'empty'})"
            )
        prio = _whole(value, f"the override for {host}")
        if not PRIORITY_MIN <= prio <= PRIORITY_OWNER:
            raise AnsibleFilterError(
                f"vrrp_priorities: the override for {host} must be between 1 and 255 (got {prio})"
            )
        explicit[host] = prio
    result.update(explicit)

    holders = {}
    for host, prio in result.items():
        holders.setdefault(prio, []).append(host)
    ties = {p: hs for p, hs in holders.items() if len(hs) > 1}
    if ties:
        lines = []
        for prio, hs in sorted(ties.items(), reverse=True):
            how = ", ".join(f"{h} ({'override' if h in explicit else 'position'})" for h in hs)
            lines.append(f"priority {prio}: {how}")
        raise AnsibleFilterError(
            "vrrp_priorities: two hosts would share a priority, and VRRP would then pick "
            "the master by primary IP address: "
            + "; ".join(lines)
            + ". Give each host its own priority."
        )
    return result


class FilterModule:
    """failover.vrrp filters."""

    def filters(self):
        return {"vrrp_priorities": vrrp_priorities}
