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
  - With O(preferred=true) and O(fleet), each virtual router must also have the master
    the fleet's configured priorities choose (RFC 3768 6.4.3, the highest priority, a tie
    to the greater primary address); a MASTER must be that router, a BACKUP must see it.
    Each host is then checked against the same fixed target, so hosts read at different
    moments (one while a lower-priority router was briefly master) cannot pass apart.
  - The P(failover.vrrp.vrrp_convergence#filter) filter then judges the whole fleet (one
    master per virtual router, agreed by all) on the settled hosts' results.
positional: _input, fleet_ips, preferred, fleet, master, fault_ok
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
  fleet:
    description:
      - Every host's M(failover.vrrp.vrrp_info) result, read at any moment (only the
        configured priorities and primary addresses are used), to choose each virtual
        router's master with O(preferred=true).
    type: list
    elements: dict
    default: []
  master:
    description:
      - The M(failover.vrrp.vrrp_info) result of the host that must be master of every
        virtual router it runs (after a health change, say); it replaces the choice by
        priority, with or without O(preferred).
    type: dict
  fault_ok:
    description:
      - Accept FAULT on this host (a tracked service stopped on purpose, say), as long as
        it holds none of the virtual router's addresses; otherwise FAULT is not settled.
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

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.module_utils.failover import (
    address_of,
    running_priority,
)


def _chosen_masters(fleet):
    """(interface, vrid) -> primary address of the router RFC 3768 6.4.3 makes master."""
    best = {}
    for info in fleet or []:
        if not isinstance(info, Mapping) or not info.get("running"):
            continue
        for r in info.get("routers") or []:
            if r.get("state") == "FAULT":
                continue  # it cannot be master until its fault clears
            ip = address_of(r.get("primary_ip"))
            parsed = ipaddress.ip_address(ip)
            rank = (running_priority(r), parsed.version, parsed)  # no IPv4-IPv6 comparison
            key = (r.get("interface"), r.get("vrid"))
            if key not in best or rank > best[key][0]:
                best[key] = (rank, ip)
    return {key: ip for key, (_rank, ip) in best.items()}


def vrrp_settled(info, fleet_ips, preferred=False, fleet=None, master=None, fault_ok=False):
    if not isinstance(info, Mapping):
        raise AnsibleFilterError("vrrp_settled: input must be one host's vrrp_info result")
    if not info.get("running"):
        return [f"not running ({info.get('msg') or 'no answer on the control socket'})"]
    chosen = _chosen_masters(fleet) if preferred else {}
    if isinstance(master, Mapping):
        chosen = {
            (r.get("interface"), r.get("vrid")): address_of(r.get("primary_ip"))
            for r in master.get("routers") or []
        }
    fleet_set = {address_of(a) for a in fleet_ips or []}
    local = {address_of(a) for a in info.get("local_addresses") or []}
    problems = []
    for r in info.get("routers") or []:
        name = f"{r.get('name')} ({r.get('interface')}, VRID {r.get('vrid')})"
        state = r.get("state")
        vips = [address_of(a) for a in r.get("addresses") or []]
        should = chosen.get((r.get("interface"), r.get("vrid")))
        seen_master = address_of(r.get("master_ip")) if r.get("master_ip") else None
        if state == "MASTER":
            problems.extend(f"{name}: MASTER without VIP {v}" for v in vips if v not in local)
            if should and address_of(r.get("primary_ip")) != should:
                problems.append(f"{name}: MASTER, but {should} should be")
        elif state == "BACKUP":
            problems.extend(f"{name}: BACKUP still holds VIP {v}" for v in vips if v in local)
            if should and seen_master != should:
                problems.append(f"{name}: BACKUP sees master {r.get('master_ip')}, not {should}")
            elif seen_master not in fleet_set:
                problems.append(
                    f"{name}: BACKUP sees no master of the fleet ({r.get('master_ip')})"
                )
            elif preferred and (r.get("master_priority") or 0) < running_priority(r):
                problems.append(
                    f"{name}: BACKUP with priority {running_priority(r)} under a master with "
                    f"{r.get('master_priority')} (preemption pending)"
                )
        elif state == "FAULT" and fault_ok:
            problems.extend(f"{name}: FAULT still holds VIP {v}" for v in vips if v in local)
        else:
            problems.append(f"{name}: {state}")
    return problems


class FilterModule:
    """failover.vrrp settle filter."""

    def filters(self):
        return {"vrrp_settled": vrrp_settled}
