# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""Across a group: does each negative tracking weight move the master's addresses?"""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_track_weights
author: failover maintainers (!UNKNOWN)
version_added: 1.0.0
short_description: Check that a failing tracked check can move a virtual router's master
description:
  - Takes one virtual router's priorities across its group (the output of
    P(failover.vrrp.vrrp_priorities#filter)) and the router's C(track) list, and fails
    when a check with a negative weight cannot bring the master below the next backup's
    priority. Such a check would fail in production without ever moving the addresses;
    no single host can see this, only the group.
  - A tracked check's weight applies alone (the effective priority is the master's
    priority plus that weight, clamped to 1-254), and it must end up strictly below the
    next backup's priority, since a tie goes to the router with the greater primary
    address, which may be the master.
  - Not checked, because they always move it or are known only at run time, are weight
    V(0) (a failure is FAULT, the master gives its addresses up), positive weights,
    C(file) checks (their weight is multiplied by the file's number) when O(checks) says
    a check is one, and a group of one host.
  - A master with priority 255, the address owner, is never moved by weights, so
    tracking a check with a negative weight there is an error; track it with weight V(0)
    or give the master a priority below 255.
  - The error names the router, the check, the weight, the master's and the backup's
    priorities and the weight that would be needed; all problems are reported at once.
  - P(failover.vrrp.vrrp_host_routers#filter), and so the failover.vrrp.daemon role,
    applies it to every router.
positional: _input, track
options:
  _input:
    description: The router's priority on each host of its group.
    type: dict
    required: true
  track:
    description: The router's C(track) entries, each with C(check) and C(weight).
    type: list
    elements: dict
    required: true
  router:
    description: The router's name, for the messages.
    type: str
    default: the virtual router
  checks:
    description: The named checks (the daemon's C(checks)); used to leave C(file) checks out.
    type: dict
    default: {}
"""

EXAMPLES = r"""
# r1 200, r2 190: a failing web check takes r1 to 100, below 190: fine.
priorities: >-
  {{ groups['routers'] | failover.vrrp.vrrp_priorities
     | failover.vrrp.vrrp_track_weights([{'check': 'web', 'weight': -100}], router='VR_1') }}
# ... and with weight -10, r1 would drop to 190, a tie: the play fails and says -11 is needed.
"""

RETURN = r"""
_value:
  description: The input, unchanged, when every negative weight can move the master.
  type: dict
"""

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_priorities import PRIORITY_OWNER, _whole

# the daemon's clamp of effective priorities
EFFECTIVE_MIN = 1
EFFECTIVE_MAX = 254


def weight_problems(router, track, priorities, checks=None):
    """One message per negative weight of `track` that cannot move the master."""
    if isinstance(track, (str, bytes)) or not isinstance(track, Sequence):
        raise AnsibleFilterError(f"router {router}: track must be a list of {{check, weight}}")
    ranked = sorted(
        ((_whole(p, f"the priority of {h}"), str(h)) for h, p in priorities.items()),
        key=lambda ph: -ph[0],
    )
    if len(ranked) < 2:
        return []
    (master, m_host), (backup, b_host) = ranked[0], ranked[1]
    checks = checks if isinstance(checks, Mapping) else {}
    problems = []
    for item in track:
        if not isinstance(item, Mapping):
            raise AnsibleFilterError(f"router {router}: a track entry must be a mapping: {item!r}")
        name = item.get("check")
        weight = _whole(item.get("weight") or 0, f"router {router}: the weight of {name}")
        kind = checks.get(name, {}).get("type") if isinstance(checks.get(name), Mapping) else None
        if weight >= 0 or kind == "file":
            continue
        if master == PRIORITY_OWNER:
            problems.append(
                f"router {router}: check {name!r} with weight {weight} never moves the "
                f"addresses: the master {m_host} has priority 255 (the address owner), "
                f"which weights never change, and the backup {b_host} has {backup}; track "
                f"it with weight 0 (FAULT) or give {m_host} a priority below 255"
            )
            continue
        effective = max(EFFECTIVE_MIN, min(EFFECTIVE_MAX, master + weight))
        if effective < backup:
            continue
        if backup - 1 < EFFECTIVE_MIN:
            needed = "no weight can (priorities stop at 1): weight 0 (FAULT) is needed"
        else:
            needed = f"a weight of {backup - 1 - master} or lower (or 0, FAULT) is needed"
        problems.append(
            f"router {router}: check {name!r} with weight {weight} never moves the "
            f"addresses: it takes the master {m_host} from priority {master} to "
            f"{effective}, not below the backup {b_host}'s {backup} (a tie keeps the master "
            f"with the greater primary address); {needed}"
        )
    return problems


def vrrp_track_weights(priorities, track, router="the virtual router", checks=None):
    if not isinstance(priorities, Mapping):
        raise AnsibleFilterError(
            "vrrp_track_weights: input must be a mapping of host to priority "
            "(the output of vrrp_priorities)"
        )
    problems = weight_problems(router, track, priorities, checks)
    if problems:
        raise AnsibleFilterError("vrrp_track_weights: " + "; ".join(problems))
    return priorities


class FilterModule:
    """failover.vrrp tracking weights filter."""

    def filters(self):
        return {"vrrp_track_weights": vrrp_track_weights}
