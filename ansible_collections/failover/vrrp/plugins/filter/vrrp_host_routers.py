# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""One host's virtual routers, priorities filled in: the daemon role's vrrp_config input."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_host_routers
author: failover maintainers (!UNKNOWN)
version_added: 1.0.0
short_description: One host's virtual routers for vrrp_config, with priorities from its group
description:
  - Takes the virtual routers described once for a group (the
    O(failover.vrrp.vrrp_config#module:routers) entries, plus an optional
    C(priority_rotate)) and returns them for one host, ready for
    M(failover.vrrp.vrrp_config), each with the host's priority.
  - A router's fixed C(priority) wins; otherwise the priority comes from the host's place
    among O(peers) (P(failover.vrrp.vrrp_priorities#filter) with O(top), O(step) and the
    router's C(priority_rotate)), where a peer's entry in O(overrides) for the router, or
    else its O(priorities) entry, replaces its place's value.
  - Overrides name a router by its C(name), or when it has none by the daemon's default
    name C(VR_<vrid>_<interface>); a router without a name is left without one, so the
    daemon names it.
  - C(track) and C(notify) are passed on as given. Since this filter sees every peer's
    priority, it fails, naming the router, the check and the weight needed, when a
    tracked check's negative weight cannot bring the master below the next backup's
    priority (P(failover.vrrp.vrrp_track_weights#filter) has the rules), so such a group
    fails before any host is touched.
positional: _input, host, peers
options:
  _input:
    description: The group's virtual routers.
    type: list
    elements: dict
    required: true
  host:
    description: The host to return the routers of; one of O(peers).
    type: str
    required: true
  peers:
    description: The hosts whose order gives the priorities (first = highest).
    type: list
    elements: str
    required: true
  priorities:
    description: Per peer, a priority for every router (V(null) for none).
    type: dict
    default: {}
  overrides:
    description: Per peer, a mapping of router name to priority.
    type: dict
    default: {}
  top:
    description: Priority of the first peer.
    type: int
    default: 200
  step:
    description: Difference between two neighbouring peers.
    type: int
    default: 10
  checks:
    description:
      - The named checks the routers track (O(failover.vrrp.vrrp_config#module:checks)),
        so that C(file) checks, whose weight is scaled by the file's number, are left out
        of the weight check.
    type: dict
    default: {}
"""

EXAMPLES = r"""
# r1, r2, r3 in that order: VR_1 gets 200 on r1, 190 on r2, 180 on r3
routers: >-
  {{ failover_daemon_routers | failover.vrrp.vrrp_host_routers(
       inventory_hostname, groups['routers'],
       overrides=dict(groups['routers'] | zip(groups['routers']
                      | map('extract', hostvars, 'failover_daemon_priority_overrides')
                      | map('default', {})))) }}
"""

RETURN = r"""
_value:
  description: The routers, each with its C(priority) and without C(priority_rotate).
  type: list
  elements: dict
"""

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_priorities import vrrp_priorities
from ansible_collections.failover.vrrp.plugins.filter.vrrp_track_weights import weight_problems


def default_name(router):
    """The daemon's name for a router without one (failover.config)."""
    interface = router.get("interface", router.get("interface_name"))
    return f"VR_{router.get('vrid')}_{interface}"


def vrrp_host_routers(
    routers, host, peers, priorities=None, overrides=None, top=200, step=10, checks=None
):
    if isinstance(routers, (str, bytes)) or not isinstance(routers, Sequence):
        raise AnsibleFilterError("vrrp_host_routers: input must be a list of routers")
    if host not in peers:
        raise AnsibleFilterError(
            f"vrrp_host_routers: {host} is not among the peers ({', '.join(peers)})"
        )
    priorities = priorities or {}
    overrides = overrides or {}
    out, problems = [], []
    for given in routers:
        if not isinstance(given, Mapping):
            raise AnsibleFilterError(f"vrrp_host_routers: a router must be a mapping: {given!r}")
        router = {k: v for k, v in given.items() if k != "priority_rotate"}
        name = router.get("name") or default_name(router)
        if router.get("priority") is None:
            chosen = {
                peer: (overrides.get(peer) or {}).get(name, priorities.get(peer)) for peer in peers
            }
            group = vrrp_priorities(
                peers, chosen, top=top, step=step, rotate=given.get("priority_rotate") or 0
            )
            router["priority"] = group[host]
        else:
            group = dict.fromkeys(peers, router["priority"])
        problems += weight_problems(name, router.get("track") or [], group, checks)
        out.append(router)
    if problems:
        raise AnsibleFilterError("vrrp_host_routers: " + "; ".join(problems))
    return out


class FilterModule:
    """failover.vrrp host routers filter."""

    def filters(self):
        return {"vrrp_host_routers": vrrp_host_routers}
