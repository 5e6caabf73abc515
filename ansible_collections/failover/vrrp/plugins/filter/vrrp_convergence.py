# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""Judge a fleet's VRRP state: one master per virtual router, agreed by all, VIPs placed."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_convergence
author: failover maintainers (!UNKNOWN)
version_added: 1.0.0
short_description: Judge whether a fleet of failover daemons has converged
description:
  - Takes what M(failover.vrrp.vrrp_info) returned on every host (with
    O(failover.vrrp.vrrp_info#module:with_addresses=true)) and checks, for every virtual
    router seen on any host, that exactly one host is MASTER, that every BACKUP names
    that master's address as its master, that each virtual address is configured on the
    master and on no other host, and (with O(preferred=true)) that the master is the
    host with the highest priority.
  - Virtual routers are told apart as the daemon tells them apart, by interface and
    VRID, not by name; names are only labels, and may differ from host to host (a
    group whose members name their interface differently is judged as two groups).
  - Returns the verdict, the list of problems in words, and a table of who is in which
    state, for a readable failure message.
positional: _input, preferred, master, fault_ok, expected
options:
  _input:
    description:
      - A mapping of host name to that host's M(failover.vrrp.vrrp_info) result
        (V(running), V(routers), V(local_addresses)).
    type: dict
    required: true
  preferred:
    description: Also require the master to be the host with the highest priority.
    type: bool
    default: false
  master:
    description:
      - A host that must be the master of every virtual router it runs (after a health
        change moved the group, say), whatever the priorities.
    type: str
  fault_ok:
    description:
      - Hosts whose virtual routers may be in FAULT (a tracked service stopped on
        purpose, say), holding none of the addresses; FAULT elsewhere is a problem.
    type: list
    elements: str
    default: []
  expected:
    description:
      - The virtual routers the fleet should run (the inventory's
        C(failover_daemon_routers), mappings with V(vrid) and V(interface), V(name)
        optional). One that no running host reports has no master (RV(_value.no_master)).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Judge the fleet
  ansible.builtin.set_fact:
    verdict: "{{ dict(hosts | zip(info.results)) | failover.vrrp.vrrp_convergence }}"

- name: Fail with the table
  ansible.builtin.fail:
    msg: "{{ verdict.problems + [verdict.table] }}"
  when: not verdict.converged
"""

RETURN = r"""
_value:
  description: The verdict.
  type: dict
  contains:
    converged:
      description: Whether every check passed.
      type: bool
    problems:
      description: One line per failed check.
      type: list
      elements: str
    table:
      description:
        - A text table, one row per virtual router; its master host (C(NONE), or every
          master joined with C(+) in a split brain), then one column per host, with
          C(STATE pPRIORITY m=MASTER_SEEN) and C(+vip) when the host holds one of the
          router's addresses. A priority that tracking moved reads C(pEFFECTIVE(CONFIGURED)).
      type: str
    split_brain:
      description:
        - The virtual routers (C(NAME (INTERFACE, VRID VRID))) with more than one master,
          or one of whose addresses is on more than one host.
      type: list
      elements: str
    no_master:
      description:
        - The virtual routers no host is master of, the O(expected) ones that no running
          host reports included.
      type: list
      elements: str
    masters:
      description:
        - The master host of each virtual router that has exactly one, keyed by
          C(interface/VRID), for example C(eth0/51).
      type: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_host_routers import default_name
from ansible_collections.failover.vrrp.plugins.module_utils.failover import (
    address_of,
    running_priority,
)


def _names(seen):
    """`VR_1`, or every name the hosts use for one virtual router (`VR_1/gw`)."""
    return "/".join(dict.fromkeys(str(r.get("name")) for r in seen.values()))


def _label(key, seen):
    """`VR_1 (eth0, VRID 51)`."""
    return f"{_names(seen)} ({key[0]}, VRID {key[1]})"


def _same_ip(a, b):
    """Whether two addresses are one (`2001:db8::1` and `2001:DB8:0::1` are)."""
    return a is not None and address_of(a) == address_of(b)


def vrrp_convergence(fleet, preferred=False, master=None, fault_ok=(), expected=()):
    if not isinstance(fleet, Mapping):
        raise AnsibleFilterError("vrrp_convergence: input must map host names to vrrp_info results")
    problems = []
    hosts = [str(h) for h in fleet]
    routers = {}  # (interface, vrid) -> {host: router status}, as the daemon keys them
    local = {}
    for host in hosts:
        info = fleet[host] or {}
        local[host] = {address_of(a) for a in info.get("local_addresses") or []}
        if not info.get("running"):
            why = info.get("msg") or "the daemon does not answer on its control socket"
            problems.append(f"{host}: not running ({why})")
            continue
        for r in info.get("routers") or []:
            routers.setdefault((r.get("interface"), r.get("vrid")), {})[host] = r

    masters, split_brain, no_master = {}, [], []
    for r in expected or []:
        key = (r.get("interface", r.get("interface_name")), r.get("vrid"))
        if key not in routers:
            label = _label(key, {"": {"name": r.get("name") or default_name(r)}})
            no_master.append(label)
            problems.append(f"{label}: no running host reports it")
    for key, seen in routers.items():
        name = _label(key, seen)
        state_of = {h: str(r.get("state")) for h, r in seen.items()}
        master_hosts = [h for h, s in state_of.items() if s == "MASTER"]
        (split_brain if len(master_hosts) > 1 else no_master if not master_hosts else []).append(
            name
        )
        if len(master_hosts) != 1:
            problems.append(
                f"{name}: {len(master_hosts)} masters"
                + (f" ({', '.join(master_hosts)})" if master_hosts else "")
                + ", expected exactly 1"
            )
        problems.extend(
            f"{name}: {h} is {s}"
            for h, s in state_of.items()
            if s not in ("MASTER", "BACKUP") and not (s == "FAULT" and h in fault_ok)
        )
        if len(master_hosts) != 1:
            continue
        actual = master_hosts[0]
        if master is not None and master in seen and actual != master:
            problems.append(f"{name}: master is {actual}, not {master}")
        masters[f"{key[0]}/{key[1]}"] = actual
        m = seen[actual]
        master_ip = m.get("primary_ip") or m.get("master_ip")
        problems.extend(
            f"{name}: {h} sees master {seen[h].get('master_ip')}, "
            f"but the master is {actual} ({master_ip})"
            for h, s in state_of.items()
            if s == "BACKUP" and master_ip and not _same_ip(seen[h].get("master_ip"), master_ip)
        )
        if preferred:
            able = [h for h in seen if state_of[h] != "FAULT"]  # FAULT cannot be master
            best = max(able, key=lambda h: running_priority(seen[h]))
            if best != actual and running_priority(seen[best]) > running_priority(m):
                problems.append(
                    f"{name}: master is {actual} (priority {running_priority(m)}), but "
                    f"{best} has priority {running_priority(seen[best])} (preemption pending?)"
                )
        for vip in m.get("addresses") or []:
            ip = address_of(vip)
            if ip not in local.get(actual, set()):
                problems.append(f"{name}: VIP {ip} is not on the master {actual}")
            others = [h for h in hosts if h != actual and ip in local.get(h, set())]
            if others:
                problems.append(f"{name}: VIP {ip} is also on {', '.join(others)}")
                if name not in split_brain:
                    split_brain.append(name)

    return {
        "converged": not problems,
        "problems": problems,
        "table": _table(hosts, routers, local),
        "masters": masters,
        "split_brain": split_brain,
        "no_master": no_master,
    }


def _priority(router):
    """`200`, or `100(200)` when tracking moved the configured 200 to 100."""
    running, configured = running_priority(router), router.get("priority")
    return str(configured) if running == configured else f"{running}({configured})"


def _table(hosts, routers, local):
    header = ["router", "interface", "vrid", "master", *hosts]
    rows = [header]
    for (interface, vrid), seen in routers.items():
        vips = {address_of(a) for r in seen.values() for a in (r.get("addresses") or [])}
        master_hosts = [h for h, r in seen.items() if r.get("state") == "MASTER"]
        row = [_names(seen), str(interface), str(vrid), "+".join(master_hosts) or "NONE"]
        for h in hosts:
            r = seen.get(h)
            if r is None:
                row.append("-")
                continue
            cell = f"{r.get('state')} p{_priority(r)}"
            if r.get("master_ip"):
                cell += f" m={r.get('master_ip')}"
            if vips & local.get(h, set()):
                cell += " +vip"
            row.append(cell)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


class FilterModule:
    """failover.vrrp convergence filter."""

    def filters(self):
        return {"vrrp_convergence": vrrp_convergence}
