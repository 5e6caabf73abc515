# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""In which order a group's hosts take their new priorities, so no master is in between."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_reload_order
author: failover maintainers (!UNKNOWN)
version_added: 1.1.0
short_description: Order a group's config reloads so that no router gets an intermediate master
description:
  - Takes what M(failover.vrrp.vrrp_info) returned on each host before a change (the
    running routers, their configured priorities and who is MASTER) and each host's new
    routers (P(failover.vrrp.vrrp_host_routers#filter)), and returns each host's reload
    rank; hosts of a lower rank must have applied their new config before a host of a
    higher rank applies its own; hosts of one rank may go together.
  - Per virtual router (keyed by interface and VRID), with M the master now and N the one
    the new priorities choose (RFC 3768 6.4.3, the highest priority). A backup with preempt
    on takes over when the master advertises a lower priority than its own (6.4.2), and
    the backup with the highest priority does so first (its Master_Down_Interval is the
    shortest, 6.1), so after each reload the master is the host of highest priority. The
    rules that keep it M until it becomes N, once; only hosts whose priority for the router
    changes are ordered (a new router counts as priority 0 before, a removed one after).
  - When N differs from M, N first (it preempts at once if its new priority beats M's), M last
    (its lowered priority makes N preempt, not a host in between), the others in between.
  - When N is M, it goes first if its priority rises (it stays above every new priority), last if it
    falls (the others are lowered below it first).
  - A router that runs nowhere yet (a new router), N first, so that it is master before any
    other host runs the router; as long as that orders no host both before and after
    another (a fresh group whose routers prefer different hosts; the first election of a
    new router is then not ordered).
  - A router with O(failover.vrrp.vrrp_config#module:routers[].preempt=false) is not
    ordered; backups never take over from a running master (6.4.2), whatever the order.
  - When two routers need opposite orders of the same hosts (one swaps its master from A
    to B, another from B to A), no order of whole-host reloads avoids an intermediate
    master; the filter fails, naming them (apply one change per run).
positional: _input, desired
options:
  _input:
    description:
      - Host name to that host's M(failover.vrrp.vrrp_info) result before the change
        (hosts without a running daemon have C(running=false)).
    type: dict
    required: true
  desired:
    description: Host name to that host's new routers, with C(interface), C(vrid), C(priority).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Rank each host's reload
  ansible.builtin.set_fact:
    reload_rank: "{{ (before | failover.vrrp.vrrp_reload_order(new_routers))[inventory_hostname] }}"
"""

RETURN = r"""
_value:
  description: Host name to its rank (0 first), for every host of O(desired).
  type: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _key(router):
    return (router.get("interface") or router.get("interface_name"), router.get("vrid"))


def _label(key):
    return f"{key[0]} VRID {key[1]}"


def _edges(key, old, new, master, preempt):
    """(before, after) pairs of hosts for one virtual router."""
    changed = sorted(h for h in set(old) | set(new) if old.get(h, 0) != new.get(h, 0))
    if not changed or not preempt:
        return []
    target = max(new, key=lambda h: new[h]) if new else None
    if master is None and old:
        master = max(old, key=lambda h: old[h])
    edges = []
    if (
        target is not None
        and target in changed
        and (target != master or new[target] >= old.get(target, 0))
    ):
        edges += [(target, h) for h in changed if h != target]  # target first
    if (
        master is not None
        and master in changed
        and not (master == target and new[master] >= old.get(master, 0))
    ):
        edges += [(h, master) for h in changed if h != master]  # master last
    return edges


def _reaches(before, start, goal):
    """Whether `goal` must already reload before `start` (a path in `before`)."""
    seen, todo = set(), [start]
    while todo:
        host = todo.pop()
        if host == goal:
            return True
        if host not in seen:
            seen.add(host)
            todo.extend(before[host])
    return False


def vrrp_reload_order(current, desired):
    if not isinstance(current, Mapping) or not isinstance(desired, Mapping):
        raise AnsibleFilterError("vrrp_reload_order: input and desired must be mappings by host")
    old, new, masters, preempt = {}, {}, {}, {}
    for host, info in current.items():
        if isinstance(info, Mapping) and info.get("running"):
            for r in info.get("routers") or []:
                old.setdefault(_key(r), {})[host] = int(r.get("priority") or 0)
                if r.get("state") == "MASTER":
                    masters[_key(r)] = host
    for host, routers in desired.items():
        for r in routers or []:
            new.setdefault(_key(r), {})[host] = int(r.get("priority") or 0)
            on = r.get("preempt", r.get("preempt_mode", True)) is not False
            preempt[_key(r)] = preempt.get(_key(r), True) and on
    before = {h: set() for h in desired}  # host -> hosts that must reload before it
    why, soft = {}, []
    for key in sorted(set(old) | set(new), key=str):
        for first, then in _edges(
            key, old.get(key, {}), new.get(key, {}), masters.get(key), preempt.get(key, True)
        ):
            if first in before and then in before:
                if key in old:  # a running router: its master must move once at most
                    before[then].add(first)
                else:  # a new router: its master first, unless that makes a cycle
                    soft.append((first, then))
                why.setdefault((first, then), _label(key))
    for first, then in soft:
        if not _reaches(before, first, then):
            before[then].add(first)
    rank, level, left = {}, 0, dict(before)
    while left:
        ready = sorted(h for h, deps in left.items() if not deps - set(rank))
        if not ready:
            cycle = sorted(
                f"{a} before {b} ({why[(a, b)]})" for b in left for a in left[b] if a in left
            )
            raise AnsibleFilterError(
                "vrrp_reload_order: no order of host reloads avoids an intermediate master: "
                + "; ".join(cycle)
                + ". Apply the change in two runs (one of these routers' priorities first)."
            )
        for h in ready:
            rank[h] = level
            del left[h]
        level += 1
    return rank


class FilterModule:
    def filters(self):
        return {"vrrp_reload_order": vrrp_reload_order}
