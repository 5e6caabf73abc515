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
  - A running router whose address list changes is reloaded on all its hosts in one
    rank, because a host with the new list and one with the old drop each other's adverts
    (RFC 3768 7.1, RFC 5798 7.1) and both become master. When that router's hosts must also
    be ordered (another router's master moves among them), the filter fails, naming
    both (apply the addresses and the priorities in two runs).
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

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _key(router):
    return (router.get("interface") or router.get("interface_name"), router.get("vrid"))


def _addresses(router):
    """The router's virtual addresses as a set (canonical, without prefix length)."""
    out = set()
    for a in router.get("addresses") or []:
        text = str(a).split("/", 1)[0]
        try:
            out.add(str(ipaddress.ip_address(text)))
        except ValueError:
            out.add(text.lower())
    return frozenset(out)


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


def _together(old_addrs, new_addrs, hosts):
    """Router key -> the hosts that must reload in one rank: those that run the router
    now and keep it, when its address list changes on any of them."""
    out = {}
    for key, now in old_addrs.items():
        keep = sorted(h for h in now if h in new_addrs.get(key, {}) and h in hosts)
        if any(now[h] != new_addrs[key][h] for h in keep) and len(keep) > 1:
            out[key] = keep
    return out


def vrrp_reload_order(current, desired):
    if not isinstance(current, Mapping) or not isinstance(desired, Mapping):
        raise AnsibleFilterError("vrrp_reload_order: input and desired must be mappings by host")
    old, new, masters, preempt = {}, {}, {}, {}
    old_addrs, new_addrs = {}, {}
    for host, info in current.items():
        if isinstance(info, Mapping) and info.get("running"):
            for r in info.get("routers") or []:
                old.setdefault(_key(r), {})[host] = int(r.get("priority") or 0)
                old_addrs.setdefault(_key(r), {})[host] = _addresses(r)
                if r.get("state") == "MASTER":
                    masters[_key(r)] = host
    for host, routers in desired.items():
        for r in routers or []:
            new.setdefault(_key(r), {})[host] = int(r.get("priority") or 0)
            new_addrs.setdefault(_key(r), {})[host] = _addresses(r)
            on = r.get("preempt", r.get("preempt_mode", True)) is not False
            preempt[_key(r)] = preempt.get(_key(r), True) and on
    # hosts that must share a rank are one node of the ordering (`rep`)
    rep = {h: h for h in desired}
    together = _together(old_addrs, new_addrs, rep)
    for hosts in together.values():
        merged = {rep[h] for h in hosts}
        for h, r in rep.items():
            if r in merged:
                rep[h] = min(merged)
    before = {r: set() for r in set(rep.values())}  # node -> nodes that must reload before it
    why, soft = {}, []
    for key in sorted(set(old) | set(new), key=str):
        for first, then in _edges(
            key, old.get(key, {}), new.get(key, {}), masters.get(key), preempt.get(key, True)
        ):
            if first in rep and then in rep:
                a, b = rep[first], rep[then]
                why.setdefault((a, b), f"{first} before {then} ({_label(key)})")
                if key not in old:  # a new router: its master first, unless that makes a cycle
                    soft.append((a, b))
                elif a == b:
                    shared = next(k for k, hs in together.items() if first in hs and then in hs)
                    raise AnsibleFilterError(
                        f"vrrp_reload_order: {_label(shared)} changes its addresses, so "
                        f"{', '.join(together[shared])} must reload together (a host with "
                        "the new list and one with the old drop each other's adverts, RFC "
                        f"3768 7.1, and both become master), but {first} must reload before "
                        f"{then} ({_label(key)}'s master moves). Apply the change in two "
                        "runs (the addresses first, then the priorities)."
                    )
                else:  # a running router: its master must move once at most
                    before[b].add(a)
    for a, b in soft:
        if a != b and not _reaches(before, a, b):
            before[b].add(a)
    node_rank, level, left = {}, 0, dict(before)
    while left:
        ready = sorted(n for n, deps in left.items() if not deps - set(node_rank))
        if not ready:
            cycle = sorted(why[(a, b)] for b in left for a in left[b] if a in left)
            raise AnsibleFilterError(
                "vrrp_reload_order: no order of host reloads avoids an intermediate master: "
                + "; ".join(cycle)
                + ". Apply the change in two runs (one of these routers' priorities first)."
            )
        for n in ready:
            node_rank[n] = level
            del left[n]
        level += 1
    return {h: node_rank[rep[h]] for h in desired}


class FilterModule:
    def filters(self):
        return {"vrrp_reload_order": vrrp_reload_order}
