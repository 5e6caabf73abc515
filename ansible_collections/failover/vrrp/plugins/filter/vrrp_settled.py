# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""Whether one host's daemon has settled: what the verify role retries on, host by host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_settled
author: failover maintainers (!UNKNOWN)
version_added: 1.0.0
short_description: List why one host's failover daemon has not settled yet
description:
  - Takes what M(failover.vrrp.vrrp_info) returned on one host (with
    O(failover.vrrp.vrrp_info#module:with_addresses=true)) and lists what is still in
    motion there; an empty list means settled.
  - Settled means the daemon answers; every virtual router is MASTER or BACKUP; a MASTER
    holds its virtual addresses; a BACKUP holds none of them and sees as its master one
    of O(fleet_ips) (the fleet's own addresses, so a master cut off or gone does not
    count); and, with O(preferred=true), a BACKUP's master has at least its priority
    (no preemption pending).
  - The P(failover.vrrp.vrrp_convergence#filter) filter then judges the whole fleet (one
    master per virtual router, agreed by all) on the settled hosts' results.
positional: _input, fleet_ips, preferred
options:
  _input:
    description: One host's M(failover.vrrp.vrrp_info) result.
    type: dict
    required: true
  fleet_ips:
    description:
      - The primary addresses of the fleet's hosts
        (RV(failover.vrrp.vrrp_info#module:routers[].primary_ip)).
    type: list
    elements: str
    required: true
  preferred:
    description: Also wait while a BACKUP has a higher priority than its master.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Wait until this host's daemon settled
  failover.vrrp.vrrp_info:
    with_addresses: true
    missing_ok: true
  register: info
  until: info | failover.vrrp.vrrp_settled(['192.0.2.11', '192.0.2.12']) | length == 0
  retries: 30
  delay: 1
"""

RETURN = r"""
_value:
  description: One line per reason the host has not settled; empty when settled.
  type: list
  elements: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _ip(address):
    return str(address).split("/", 1)[0]


def vrrp_settled(info, fleet_ips, preferred=False):
    if not isinstance(info, Mapping):
        raise AnsibleFilterError("vrrp_settled: input must be one host's vrrp_info result")
    if not info.get("running"):
        return [f"not running ({info.get('msg') or 'no answer on the control socket'})"]
    fleet = {_ip(a) for a in fleet_ips or []}
    local = {_ip(a) for a in info.get("local_addresses") or []}
    problems = []
    for r in info.get("routers") or []:
        name = f"{r.get('name')} ({r.get('interface')}, VRID {r.get('vrid')})"
        state = r.get("state")
        vips = [_ip(a) for a in r.get("addresses") or []]
        if state == "MASTER":
            problems.extend(f"{name}: MASTER without VIP {v}" for v in vips if v not in local)
        elif state == "BACKUP":
            problems.extend(f"{name}: BACKUP still holds VIP {v}" for v in vips if v in local)
            if r.get("master_ip") not in fleet:
                problems.append(
                    f"{name}: BACKUP sees no master of the fleet ({r.get('master_ip')})"
                )
            elif preferred and (r.get("master_priority") or 0) < (r.get("priority") or 0):
                problems.append(
                    f"{name}: BACKUP with priority {r.get('priority')} under a master with "
                    f"{r.get('master_priority')} (preemption pending)"
                )
        else:
            problems.append(f"{name}: {state}")
    return problems


class FilterModule:
    """failover.vrrp settle filter."""

    def filters(self):
        return {"vrrp_settled": vrrp_settled}
