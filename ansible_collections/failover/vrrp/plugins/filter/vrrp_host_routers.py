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
  - A router with C(unicast=true) gets, on each host, C(unicast_peers)
    (O(failover.vrrp.vrrp_config#module:routers[].unicast_peers)), the addresses of the
    other O(peers) on the router's interface, in the router's family, in the order of
    O(peers); the router's C(unicast) is not passed on. For an
    IPv4 router, a peer's primary IPv4 address there; for an IPv6 router, its link-local
    address (IPv6 advertisements come from link-local addresses, RFC 5798 5.1.2.1). The
    router's own virtual addresses never count as a peer's.
  - A peer's addresses on an interface come from O(interface_addresses) when it names
    the interface, else from the peer's gathered facts in O(facts). The filter fails,
    naming the router and the peer, when an address is unknown, when two peers share one,
    or when a router lists C(unicast_peers) or C(unicast_source) itself (they are derived,
    never written by hand).
  - Every router is also checked with the daemon's rules for C(version),
    C(advert_interval), the address families and the unicast keys, and for unknown keys,
    so that a wrong router fails on the controller.
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
  interface_addresses:
    description:
      - Per peer, a mapping of interface name to that peer's own addresses on it (with
        or without prefix length), for example C(eth0) to C([192.0.2.11, fe80::11]);
        preferred to O(facts) for the interfaces it names.
    type: dict
    default: {}
  facts:
    description:
      - Per peer, its gathered facts (C(hostvars[peer].ansible_facts), network subset),
        where C(<interface>.ipv4.address), C(<interface>.ipv4_secondaries) and
        C(<interface>.ipv6) give its addresses.
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

# a unicast router: each host's unicast_peers are the others' addresses on eth0
routers_unicast: >-
  {{ [{'vrid': 61, 'interface': 'eth0', 'version': 3, 'addresses': ['2001:db8::61/64'],
       'unicast': true}]
     | failover.vrrp.vrrp_host_routers(inventory_hostname, groups['routers'],
         facts=dict(groups['routers'] | zip(groups['routers']
                    | map('extract', hostvars, 'ansible_facts') | map('default', {})))) }}
"""

RETURN = r"""
_value:
  description:
    - The routers, each with its C(priority), without C(priority_rotate) and C(unicast),
      and with C(unicast_peers) where C(unicast=true).
  type: list
  elements: dict
"""

import ipaddress
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.failover.vrrp.plugins.filter.vrrp_priorities import vrrp_priorities
from ansible_collections.failover.vrrp.plugins.filter.vrrp_track_weights import weight_problems
from ansible_collections.failover.vrrp.plugins.module_utils.failover import (
    ROUTER_KEYS,
    address_of,
)
from ansible_collections.failover.vrrp.plugins.module_utils.vrrp_v3 import (
    family,
    first,
    router_problems,
)

# The keys a router may have: vrrp_config's options and their daemon names, the
# rotation, and `unicast`; unicast_peers and unicast_source are derived, never given.
KNOWN_KEYS = {k for pair in ROUTER_KEYS for k in pair} | {"priority_rotate", "unicast"}
DERIVED_KEYS = ("unicast_peers", "unicast_source")


def default_name(router):
    """The daemon's name for a router without one (failover.config)."""
    interface = router.get("interface", router.get("interface_name"))
    return f"VR_{router.get('vrid')}_{interface}"


def _fact_key(interface):
    """How Ansible's network facts name an interface (`:` and `-` made `_`)."""
    return interface.replace(":", "_").replace("-", "_").replace(".", "_")


def addresses_on(peer, interface, interface_addresses, facts):
    """The peer's own addresses on `interface` (strings), or None when nothing says."""
    given = (interface_addresses or {}).get(peer) or {}
    if isinstance(given, Mapping) and given.get(interface) is not None:
        value = given[interface]
        return [str(value)] if isinstance(value, str) else [str(a) for a in value]
    seen = (facts or {}).get(peer)
    if not isinstance(seen, Mapping):
        return None
    device = seen.get(interface) or seen.get(_fact_key(interface))
    if not isinstance(device, Mapping):
        return None
    found = []
    if isinstance(device.get("ipv4"), Mapping) and device["ipv4"].get("address"):
        found.append(device["ipv4"]["address"])  # the primary: the adverts' source
    found += [a.get("address") for a in device.get("ipv4_secondaries") or []]
    found += [a.get("address") for a in device.get("ipv6") or []]
    return [str(a) for a in found if a]


def _own_address(found, fam, vips):
    """The first of `found` in family `fam` that is no VIP (IPv6: link-local only)."""
    for text in found:
        try:
            ip = ipaddress.ip_address(address_of(text))
        except ValueError:
            continue
        if ip.version == fam and str(ip) not in vips and (fam == 4 or ip.is_link_local):
            return str(ip)
    return None


def unicast_peers(name, router, host, peers, interface_addresses, facts):
    """(the other peers' addresses for the router's unicast_peers, problems)."""
    interface = first(router, "interface", "interface_name")
    fam = family(router)
    if fam is None or not isinstance(interface, str):
        return [], [f"router {name}: unicast needs the router's interface and addresses"]
    vips = {address_of(a) for a in first(router, "addresses", "ip_addresses") or []}
    what = "IPv4 address" if fam == 4 else "IPv6 link-local address"
    owner, problems = {}, []
    for peer in peers:
        found = addresses_on(peer, interface, interface_addresses, facts)
        if found is None:
            problems.append(
                f"router {name}: unicast: the addresses of {peer} on {interface} are unknown; "
                f"gather its facts (run the play on {peer} too) or set "
                f"failover_daemon_interface_addresses in its host_vars"
            )
            continue
        ip = _own_address(found, fam, vips)
        if ip is None:
            why = " (IPv6 advertisements come from link-local addresses, RFC 5798 5.1.2.1)"
            problems.append(
                f"router {name}: unicast: {peer} has no {what} on {interface} "
                f"(found: {', '.join(found) or 'none'})" + (why if fam == 6 else "")
            )
        elif ip in owner:
            problems.append(
                f"router {name}: unicast: {owner[ip]} and {peer} both have {ip} on {interface}"
            )
        else:
            owner[ip] = peer
    others = [ip for ip, peer in owner.items() if peer != host]
    if not problems and not others:
        problems.append(f"router {name}: unicast needs another host among the peers ({host} only)")
    return others, problems


def _unicast_wanted(name, given):
    """(whether the router says `unicast: true`, problems)."""
    try:
        return boolean(given.get("unicast") or False, strict=True), []
    except TypeError:
        return False, [f"router {name}: unicast must be true or false, not {given['unicast']!r}"]


def vrrp_host_routers(
    routers,
    host,
    peers,
    priorities=None,
    overrides=None,
    top=200,
    step=10,
    checks=None,
    interface_addresses=None,
    facts=None,
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
        router = {k: v for k, v in given.items() if k not in ("priority_rotate", "unicast")}
        name = router.get("name") or default_name(router)
        unknown = sorted(str(k) for k in given if k not in KNOWN_KEYS)
        if unknown:
            problems.append(f"router {name}: unknown key(s) {', '.join(unknown)}")
        derived = [k for k in DERIVED_KEYS if k in given]
        if derived:
            problems.append(
                f"router {name}: {' and '.join(derived)} are derived from the inventory, "
                "never written by hand: set unicast: true"
            )
        wanted, why = _unicast_wanted(name, given)
        problems += why
        if wanted:
            router["unicast_peers"], why = unicast_peers(
                name, router, host, peers, interface_addresses, facts
            )
            problems += why
        if not why:
            problems += [f"router {name}: {line}" for line in router_problems(router)]
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
