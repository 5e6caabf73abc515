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
    sees.
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
  description: One entry per virtual router of the daemon, in the daemon's order.
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
      description: What holds it in FAULT (empty otherwise).
      type: list
      elements: str
      sample: []
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
    adverts_received:
      description: Advertisements received.
      type: int
    dual_master_periods:
      description:
        - Periods in which this router, as master, heard another master (a healed
          network split, or briefly a preemption); V(null) from a daemon without it.
      type: int
    drops:
      description: Dropped advertisements by reason.
      type: dict
  sample:
    - name: VR_1
      vrid: 51
      interface: eth0
      state: MASTER
      priority: 200
      master_ip: 192.0.2.11
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
        by_name=dict((r["name"], r) for r in routers),
        masters=[r["name"] for r in routers if r["state"] == "MASTER"],
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
