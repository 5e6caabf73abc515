#!/usr/bin/python
# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)

from __future__ import annotations

DOCUMENTATION = r"""
module: vrrp_info
short_description: Read the state of the running failover daemon
version_added: 1.0.0
author: failover maintainers (!UNKNOWN)
description:
  - Asks the running C(failover) daemon for the state of its virtual routers over its
    control socket (a unix socket answering newline-delimited JSON) and returns, per
    router, its name, VRID, interface, state, priority and the address of the master it
    sees, its effective priority and tracked items, and its counters; and the
    interfaces the daemon listens on. The fields are the daemon's status schema
    (C(StatusReply) in C(failover/control.py)), passed on unchanged.
  - The one way to read a fleet's state; the C(failover.vrrp.check) playbook and the
    C(failover.vrrp.verify) role judge what it returns with the
    P(failover.vrrp.vrrp_convergence#filter) filter.
  - Read-only; never changes anything.
options:
  control_socket:
    description: Path of the daemon's control socket.
    type: path
    default: /run/failover/failover.sock
  timeout:
    description: Seconds to wait for the daemon's answer.
    type: float
    default: 5
  with_addresses:
    description:
      - Also return RV(local_addresses), the IPv4 and IPv6 addresses configured on the
        host's interfaces (read with C(ip -json addr)), to see where the virtual
        addresses are.
    type: bool
    default: false
  missing_ok:
    description:
      - When V(true), a daemon that is not running (no socket, or nobody listening) is not
        an error; the module then returns RV(running=false) and no routers.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: failover.vrrp.vrrp_config
"""

EXAMPLES = r"""
- name: Read the daemon's state
  failover.vrrp.vrrp_info:
    control_socket: /run/failover/failover.sock
  register: vrrp

- name: Show which virtual routers this host is master of
  ansible.builtin.debug:
    msg: "{{ vrrp.routers | selectattr('state', 'equalto', 'MASTER')
              | map(attribute='name') | list }}"

- name: Is the daemon running at all?
  failover.vrrp.vrrp_info:
    missing_ok: true
  register: vrrp_probe
"""

RETURN = r"""
running:
  description: Whether the daemon answered on its control socket.
  returned: always
  type: bool
  sample: true
control_socket:
  description: The control socket asked.
  returned: always
  type: str
  sample: /run/failover/failover.sock
routers:
  description:
    - One entry per virtual router of the daemon, in the daemon's order, the daemon's
      C(RouterStatus) (C(failover/control.py)) unchanged. A key an older daemon lacks is
      V(null).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the virtual router.
      type: str
      sample: VR_1
    vrid:
      description: Virtual router identifier.
      type: int
      sample: 51
    interface:
      description: Interface the virtual router runs on.
      type: str
      sample: eth0
    state:
      description:
        - RFC 3768 state, V(INITIALIZE), V(BACKUP) or V(MASTER); or V(FAULT) (not the
          RFC's) while its link is down or a weight-0 tracked item fails.
      type: str
      sample: MASTER
    priority:
      description: Configured priority of this router.
      type: int
      sample: 200
    effective_priority:
      description:
        - The priority it runs with, the configured one plus the weights of its tracked
          items, 1 to 254 (255 for an address owner).
      type: int
      sample: 200
    faults:
      description:
        - What holds it in FAULT (failing weight-0 tracked items, C(interface X down));
          empty otherwise.
      type: list
      elements: str
      sample: []
    tracks:
      description: The router's tracked items (C(track)), empty without tracking.
      type: list
      elements: dict
      contains:
        check:
          description: Name of the check (a key of the config's C(checks)).
          type: str
          sample: web
        kind:
          description: The check's type, V(exec), V(tcp), V(http), V(file) or V(interface).
          type: str
          sample: http
        weight:
          description: The weight tracked with; V(0) makes a failure FAULT.
          type: int
          sample: -100
        status:
          description: V(healthy), V(failing) or V(unknown) (after rise/fall).
          type: str
          sample: healthy
        value:
          description: A V(file) check's integer, else V(null).
          type: int
        adds:
          description: What it adds to the effective priority now.
          type: int
          sample: 0
        fault:
          description: Whether it holds the router in FAULT.
          type: bool
          sample: false
        detail:
          description: The last result in words, or V(null) before the first.
          type: str
          sample: "192.0.2.11:8080: HTTP 200"
        age:
          description: Seconds since the last result, or V(null) before the first.
          type: float
          sample: 0.4
    master_ip:
      description:
        - Primary address of the master this router sees (its own when master), or
          V(null); for an IPv6 router, the master's link-local address.
      type: str
      sample: 192.0.2.11
    master_priority:
      description: Priority of the master this router sees (its own when master), or V(null).
      type: int
      sample: 200
    since:
      description: Seconds the router has been in its state (V(null) before its first state).
      type: float
      sample: 12.5
    primary_ip:
      description:
        - This host's address on the interface, the source of its advertisements (for
          an IPv6 router its link-local address, RFC 5798 5.1.2.1).
      type: str
      sample: 192.0.2.11
    addresses:
      description: The virtual addresses, in CIDR form.
      type: list
      elements: str
      sample: [192.0.2.254/24]
    adverts_sent:
      description: Advertisements sent.
      type: int
      sample: 12
    adverts_received:
      description: Advertisements received (that passed the RFC 3768 7.1 checks).
      type: int
      sample: 0
    send_errors:
      description: Advertisements the kernel refused to send.
      type: int
      sample: 0
    dual_master_periods:
      description:
        - Periods in which this router, as master, heard another master (a healed
          network split, or briefly a preemption); V(null) from a daemon without it.
      type: int
      sample: 0
    transitions:
      description:
        - State changes since the daemon started, by the state entered (V(MASTER),
          V(BACKUP), V(FAULT)); what P(failover.vrrp.vrrp_transitions#filter) compares
          before and after a change. V(null) from a daemon without it.
      type: dict
      sample: {BACKUP: 1, MASTER: 1}
    drops:
      description: Dropped advertisements by reason (for example C(vrid), C(auth)).
      type: dict
      sample: {}
  sample:
    - name: VR_1
      vrid: 51
      interface: eth0
      state: MASTER
      priority: 200
      effective_priority: 200
      faults: []
      tracks:
        - check: web
          kind: http
          weight: -100
          status: healthy
          value: null
          adds: 0
          fault: false
          detail: "192.0.2.11:8080: HTTP 200"
          age: 0.4
      master_ip: 192.0.2.11
      master_priority: 200
      since: 12.5
      primary_ip: 192.0.2.11
      addresses: [192.0.2.254/24]
      adverts_sent: 12
      adverts_received: 0
      send_errors: 0
      dual_master_periods: 0
      drops: {}
      transitions: {BACKUP: 1, MASTER: 1}
interfaces:
  description:
    - The interfaces the daemon listens on, with the advertisements dropped there before
      any router saw them (the daemon's C(InterfaceStatus)). An interface in use for
      both families is listed twice. Empty with a daemon too old to say.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Interface name.
      type: str
      sample: eth0
    family:
      description: V(4) or V(6).
      type: int
      sample: 4
    index:
      description: The kernel's interface index.
      type: int
      sample: 2
    primary_ip:
      description: The interface's address the daemon sends from.
      type: str
      sample: 192.0.2.11
    drops:
      description: Dropped advertisements by reason (for example C(unknown_vrid)).
      type: dict
      sample: {}
  sample:
    - {name: eth0, family: 4, index: 2, primary_ip: 192.0.2.11, drops: {}}
by_name:
  description: The same routers, keyed by name.
  returned: always
  type: dict
  sample: {"VR_1": {"vrid": 51, "state": "MASTER", "priority": 200, "master_ip": "192.0.2.11"}}
pid:
  description: Process id of the daemon.
  returned: when running
  type: int
  sample: 4242
local_addresses:
  description:
    - Addresses on the host's interfaces, in CIDR form, the IPv4 ones first (in the order
      of C(ip -4 addr)), then the IPv6 ones (link-local ones too).
  returned: when O(with_addresses=true)
  type: list
  elements: str
  sample: [192.0.2.1/24, 192.0.2.254/24, "2001:db8::100/64", "fe80::1/64"]
masters:
  description: Names of the virtual routers this host is master of.
  returned: always
  type: list
  elements: str
  sample: [VR_1]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.failover.vrrp.plugins.module_utils.failover import (
    DEFAULT_CONTROL_SOCKET,
    ROUTER_STATUS_KEYS,
    STATUS,
    ControlError,
    control_request,
    local_addresses,
)


def normalise(router):
    """Every documented field present (None when an older daemon lacks it); others pass."""
    out = dict(router)
    for field in ROUTER_STATUS_KEYS:
        out.setdefault(field, None)
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            control_socket=dict(type="path", default=DEFAULT_CONTROL_SOCKET),
            timeout=dict(type="float", default=5.0),
            with_addresses=dict(type="bool", default=False),
            missing_ok=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    path = module.params["control_socket"]
    result = dict(
        changed=False, running=False, control_socket=path, routers=[], by_name={}, masters=[]
    )
    if module.params["with_addresses"]:
        result["local_addresses"] = local_addresses(module)
    try:
        reply = control_request(path, {"command": STATUS}, module.params["timeout"])
    except ControlError as err:
        if err.unreachable and module.params["missing_ok"]:
            module.exit_json(**result)
        module.fail_json(msg=str(err), **result)
    routers = reply.get("routers")
    if not isinstance(routers, list):
        module.fail_json(msg="the daemon's status answer has no routers list", reply=reply)
    routers = [normalise(r) for r in routers if isinstance(r, dict)]
    result.update(
        running=True,
        pid=reply.get("pid"),
        routers=routers,
        interfaces=[i for i in reply.get("interfaces") or [] if isinstance(i, dict)],
        by_name=dict((r["name"], r) for r in routers),
        masters=[r["name"] for r in routers if r["state"] == "MASTER"],
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
