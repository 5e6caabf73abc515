# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""Which state changes a fleet made that its change did not need (from the daemons' counters)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_transitions
author: failover maintainers (!UNKNOWN)
version_added: 1.1.0
short_description: List a fleet's unnecessary VRRP state changes between two readings
description:
  - Takes each host's M(failover.vrrp.vrrp_info) result before a change and after it
    (each router's C(transitions) counters, the states entered since its daemon started)
    and lists what the change did not need; an empty list means none.
  - A change moves a virtual router's master at most once, from the old master to the
    one it has after. So only that host may have entered MASTER, once, and not at all if
    it was master before (a master that stayed also never entered BACKUP). A host that
    entered MASTER and is no longer master was an intermediate master.
  - A host whose daemon restarted in between (another pid, or not running before) counts
    from its start.
  - Routers of a daemon that does not report C(transitions) are not judged, nor routers
    that ran on no host before (their first election).
positional: _input, after
options:
  _input:
    description: Host name to its M(failover.vrrp.vrrp_info) result before the change.
    type: dict
    required: true
  after:
    description: Host name to its M(failover.vrrp.vrrp_info) result after it.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail on a master in between
  ansible.builtin.assert:
    that: before | failover.vrrp.vrrp_transitions(after) | length == 0
"""

RETURN = r"""
_value:
  description: One line per unnecessary state change; empty when there was none.
  type: list
  elements: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _routers(info):
    if not isinstance(info, Mapping) or not info.get("running"):
        return {}
    return {(r.get("interface"), r.get("vrid")): r for r in info.get("routers") or []}


def vrrp_transitions(before, after):
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        raise AnsibleFilterError("vrrp_transitions: input and after must be mappings by host")
    problems = []
    existing = set().union(*(_routers(info) for info in before.values())) if before else set()
    for host in sorted(after):
        now, then = _routers(after[host]), _routers(before.get(host))
        info_then = before.get(host) or {}
        same_daemon = bool(then) and info_then.get("pid") == after[host].get("pid")
        for key, r in sorted(now.items(), key=str):
            counts = r.get("transitions")
            if not isinstance(counts, Mapping) or key not in existing:
                continue
            old = then.get(key) if same_daemon else None
            base = (old or {}).get("transitions") or {}
            entered = {s: int(n) - int(base.get(s, 0)) for s, n in counts.items()}
            was_master = old is not None and old.get("state") == "MASTER"
            is_master = r.get("state") == "MASTER"
            masters = entered.get("MASTER", 0)
            name = f"{host}: {r.get('name')} ({key[0]}, VRID {key[1]})"
            if masters and not is_master:
                problems.append(f"{name}: was master in between ({masters} time(s))")
            elif is_master and masters > (0 if was_master else 1):
                problems.append(f"{name}: entered MASTER {masters} times")
            elif was_master and is_master and entered.get("BACKUP", 0):
                problems.append(f"{name}: left MASTER and came back")
    return problems


class FilterModule:
    def filters(self):
        return {"vrrp_transitions": vrrp_transitions}
