#!/usr/bin/python
# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)

from __future__ import annotations

DOCUMENTATION = r"""
module: vrrp_config
short_description: Write the failover daemon's JSON configuration
version_added: 1.0.0
author: failover maintainers (!UNKNOWN)
description:
  - Builds the C(vrrp-config.json) of the C(failover) VRRP daemon (VRRPv2, RFC 3768, and
    VRRPv3, RFC 5798, over IPv4 or IPv6, multicast or unicast) from structured
    parameters and writes it atomically (a temporary file in the same folder, validated,
    then renamed over the old one).
  - Without any of O(control_socket), O(control_group), O(garp_repeat), O(garp_delay),
    O(metrics_listen), O(realtime_priority), O(nice), O(checks), O(sync_groups),
    O(routers[].track) or O(routers[].notify) the file is a list of router objects, the
    format of the original failover, so the file also works with it. With any of them,
    the object form (C(checks), C(virtual_routers), C(sync_groups) and the settings) is
    written.
  - Health tracking (O(checks), O(routers[].track), O(routers[].notify), O(sync_groups))
    is written under the daemon's own keys; what a valid check, weight or hook is, the
    daemon's C(failover check) decides, as for every other key.
  - The new file is validated with the daemon's own C(failover check) when the daemon is
    installed (see O(failover_command)); an invalid config is never written and the
    module fails with the daemon's error messages.
  - Before anything is read or written, the routers' version, advertisement interval,
    address families and unicast keys are checked with the daemon's rules (the daemon's
    words, each prefixed with the router's place, for example
    C(routers[0].advert_interval)), so a wrong router fails even where the daemon is not
    installed yet; so are the ranges of O(realtime_priority) and O(nice).
  - A router's O(routers[].unicast_peers) must not name one of this host's own addresses
    (read with C(ip -json addr)); the module fails naming the router and the address.
  - Idempotent, the file is left untouched when its JSON content already equals the
    desired one, whatever its formatting.
  - Authentication passwords are never printed; they are masked in the returned config
    and in the diff.
  - With O(state=absent) the file is removed (the other options but O(path) and
    O(backup) are ignored); the running daemon is not told. The C(failover.vrrp.daemon)
    role's C(failover_daemon_state=absent) stops and uninstalls it with a handoff first.
options:
  path:
    description: Where the config file goes.
    type: path
    default: /etc/failover/vrrp-config.json
  state:
    description:
      - V(present) writes the config; V(absent) removes the file (changed when it
        existed; check mode and diff supported).
    type: str
    choices: [present, absent]
    default: present
  routers:
    description:
      - The virtual routers, one entry each. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the virtual router, unique in the file. The daemon makes one up from
            the VRID and interface when it is absent.
        type: str
      vrid:
        description: Virtual router identifier (1-255), shared by all routers of the group.
        type: int
        required: true
      interface:
        description: Interface the virtual router runs on.
        type: str
        required: true
        aliases: [interface_name]
      addresses:
        description:
          - Virtual addresses in CIDR form (V(192.0.2.254/24) or V(2001:db8::100/64)).
          - One family per router; IPv6 needs O(routers[].version=3). RFC 5798 5.2.9
            wants an IPv6 router's link-local address (V(fe80::100/64)) first; the daemon
            warns otherwise.
        type: list
        elements: str
        required: true
        aliases: [ip_addresses]
      priority:
        description: VRRP priority (1-255; 255 only for the owner of the addresses).
        type: int
      advert_interval:
        description:
          - Advertisement interval in seconds, the same on every router of the group (the
            daemon's default is V(1)).
          - Whole seconds from V(1) to V(255) with version 2; V(0.01) to V(40.95) in steps
            of V(0.01) with version 3 (RFC 5798 5.2.7).
        type: float
      preempt:
        description: Whether a higher-priority backup takes over from a lower-priority master.
        type: bool
        aliases: [preempt_mode]
      preempt_delay:
        description: Seconds a backup waits before preempting.
        type: float
      auth_type:
        description: Authentication of advertisements (RFC 3768 5.3.6).
        type: str
        choices: [none, simple]
      auth_password:
        description:
          - Password for O(routers[].auth_type=simple), at most 8 bytes. Never logged.
        type: str
      version:
        description:
          - VRRP version, V(2) (RFC 3768, the daemon's default) or V(3) (RFC 5798).
          - Version 3 has no authentication (O(routers[].auth_type) must be V(none) or
            unset), and is needed for IPv6 addresses and intervals under a second.
        type: int
        choices: [2, 3]
      unicast_peers:
        description:
          - Send advertisements to these addresses instead of the multicast group, and
            accept them only from these (keepalived's C(unicast_peer)); the other routers
            of the group, in the router's family. For IPv6, their link-local addresses
            (RFC 5798 5.1.2.1, IPv6 advertisements come from link-local addresses).
          - At least one address; unset means multicast (an empty list is an error, never
            a silent fallback to multicast). None may be one of this host's own.
          - The failover.vrrp.daemon role derives them from the inventory (the router
            item's C(unicast=true)).
        type: list
        elements: str
      unicast_source:
        description:
          - The source address of unicast advertisements, in the router's family (the
            daemon uses the interface's primary, or link-local, address when unset).
            Only with O(routers[].unicast_peers).
        type: str
      use_vmac:
        description:
          - Hold the virtual addresses on a macvlan with the virtual router's MAC address
            (RFC 5798 7.3), as keepalived's C(use_vmac).
        type: bool
      checksum_ipv4_pseudo_header:
        description:
          - Version 3 over IPv4 only. V(true) (the daemon's default) computes the checksum
            over RFC 5798 5.2.8's pseudo-header; V(false) leaves it out as RFC 9568 allows,
            for peers that do (keepalived's C(vrrp_checksum_with_no_pseudo_header)).
        type: bool
      track:
        description:
          - Checks of O(checks) weighed into the router's effective priority (the
            daemon's C(track)).
          - A negative weight applies while the check fails, a positive one while it is
            healthy; V(0) (the daemon's default) puts the router in FAULT while the check
            fails. The effective priority is clamped to 1-254; an owner (255) never moves.
          - P(failover.vrrp.vrrp_host_routers#filter) (used by the failover.vrrp.daemon
            role) fails when a negative weight cannot bring the master below the next
            backup's priority, so a failing check would never move the addresses.
        type: list
        elements: dict
        suboptions:
          check:
            description: Name of a check of O(checks).
            type: str
            required: true
          weight:
            description: -254 to 254; V(0) or unset means a failure is FAULT.
            type: int
      notify:
        description:
          - A hook told of each state change of the router, an argv list from an absolute
            path (never a shell); the daemon appends keepalived's four arguments and sets
            C(FAILOVER_*) environment variables, and runs one hook at a time, in event
            order.
        type: list
        elements: str
  checks:
    description:
      - The health checks routers track, by name (the daemon's top-level C(checks)); each
        value is a mapping of the daemon's keys, converted to their types here and
        validated by C(failover check).
      - C(type) (V(exec), V(tcp), V(http), V(file) or V(interface)) is required; then,
        as the kind needs them, C(interval), C(timeout) (seconds), C(rise), C(fall),
        C(command) (argv list), C(user), C(host), C(port), C(url), C(expect_status)
        (V([lowest, highest])), C(path) and C(interface). See the daemon's README,
        "Health checks and FAULT".
      - Unknown keys are errors.
    type: dict
  sync_groups:
    description: Routers that change state together (the daemon's C(sync_groups)).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the group.
        type: str
        required: true
      routers:
        description: Names of the routers of O(routers) in the group (two or more).
        type: list
        elements: str
        required: true
      notify:
        description: A hook told of the group's state changes, an argv list as O(routers[].notify).
        type: list
        elements: str
  control_socket:
    description: Path of the daemon's control socket (object form).
    type: str
  garp_repeat:
    description: Gratuitous ARPs sent per virtual address on becoming master (object form).
    type: int
  garp_delay:
    description: Seconds between repeated gratuitous ARPs (object form).
    type: float
  metrics_listen:
    description:
      - V(ADDRESS:PORT) where the daemon serves Prometheus metrics at C(/metrics), for
        example V(127.0.0.1:9165) or V([::1]:9165) (object form). Off when unset.
      - The daemon reads it at start only; a change takes a restart.
    type: str
  control_group:
    description:
      - A group whose members may use C(failover status) and C(failover events) on the
        control socket, the daemon's C(control_group) (object form); the socket is then
        created 0660 in that group instead of 0600 root. C(reload) stays root's.
      - The group must exist on the host (C(failover check) says so). The daemon cannot
        chown, so under systemd it must run with C(Group=) that group; the
        failover.vrrp.daemon role's unit does when C(failover_daemon_control_group) is set.
      - The daemon reads it at start only; a change takes a restart (a reload warns and
        keeps the old group).
    type: str
  realtime_priority:
    description:
      - Run the daemon with the real-time policy SCHED_RR at this priority, V(1) to
        V(99), so that its timers fire on time on a busy host (the daemon's
        C(realtime_priority), keepalived's C(vrrp_rt_priority); object form). The
        normal policy when unset.
      - Applied once, when the daemon starts; a reload leaves the running scheduling as
        it is (and warns), a change takes a restart.
      - Needs CAP_SYS_NICE and, under systemd, C(RestrictRealtime=no) and the
        C(sched_setscheduler) system call allowed; without them the daemon logs an error
        naming the key and runs on without it. The failover.vrrp.daemon role's unit
        allows it when C(failover_daemon_realtime_priority) is set.
    type: int
  nice:
    description:
      - The daemon's nice value, V(-20) to V(19) (the daemon's C(nice), keepalived's
        C(vrrp_priority); object form). Left as it is when unset.
      - Applied once, when the daemon starts; a reload leaves it as it is (and warns), a
        change takes a restart.
      - Under systemd the C(setpriority) system call must be allowed, and a value below
        V(0) needs CAP_SYS_NICE; without them the daemon logs an error naming the key
        and runs on without it. The failover.vrrp.daemon role's unit allows it when
        C(failover_daemon_nice) is set.
    type: int
  validate:
    description:
      - Validate the new content with C(failover check) before writing it.
      - When V(true) and the daemon is not installed, validation is skipped with a warning.
    type: bool
    default: true
  failover_command:
    description:
      - The C(failover) executable used for validation, for example the one in the
        daemon's virtualenv. By default it is looked up in E(PATH) and the usual places.
    type: path
  backup:
    description: Keep a timestamped copy of the old file when it changes.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows the old and new file, passwords masked.
  platform:
    platforms: posix
    support: full
    description: Runs on the host that runs the daemon.
notes:
  - The daemon re-reads the file on reload; this module only writes it. The
    failover.vrrp.daemon role reloads the daemon when the file changes.
seealso:
  - module: failover.vrrp.vrrp_info
"""

EXAMPLES = r"""
- name: Two virtual routers on eth0, original list format
  failover.vrrp.vrrp_config:
    path: /etc/failover/vrrp-config.json
    routers:
      - name: VR_1
        vrid: 51
        interface: eth0
        addresses: [192.0.2.254/24]
        priority: "{{ (groups['routers'] | failover.vrrp.vrrp_priorities)[inventory_hostname] }}"
      - name: VR_2
        vrid: 52
        interface: eth0
        addresses: [192.0.2.253/24]
        auth_type: simple
        auth_password: "{{ vault_vrrp_password }}"

- name: Object form with a control socket, validated with the daemon in its virtualenv
  failover.vrrp.vrrp_config:
    path: /etc/failover/vrrp-config.json
    control_socket: /run/failover/failover.sock
    failover_command: /opt/failover/bin/failover
    owner: root
    mode: "0600"
    routers:
      - vrid: 51
        interface: eth0
        addresses: [192.0.2.254/24]
  register: cfg

# The daemon's systemd unit must allow SCHED_RR and run with Group=monitoring
# (the failover.vrrp.daemon role's unit does, from its variables).
- name: Real-time timers on a busy host; members of monitoring may read the status
  failover.vrrp.vrrp_config:
    failover_command: /opt/failover/bin/failover
    control_group: monitoring
    realtime_priority: 10
    routers:
      - vrid: 51
        interface: eth0
        addresses: [192.0.2.254/24]

- name: A firewall pair guarding its web service, both sides moving together
  failover.vrrp.vrrp_config:
    failover_command: /opt/failover/bin/failover
    checks:
      web: {type: http, url: "http://192.0.2.11:8080/healthz", interval: 1, rise: 2, fall: 2}
      uplink: {type: interface, interface: eth1}
    routers:
      - name: inside
        vrid: 51
        interface: eth0
        addresses: [192.0.2.100/24]
        priority: 150
        track:
          - {check: web, weight: -100}
          - {check: uplink, weight: 0}
        notify: [/usr/local/bin/vrrp-event, --site, a]
      - name: outside
        vrid: 52
        interface: eth1
        addresses: [198.51.100.1/24]
        priority: 150
    sync_groups:
      - name: fw
        routers: [inside, outside]
        notify: [/usr/local/bin/vrrp-event]

- name: A VRRPv3 IPv6 router at 100 ms, unicast to the other routers' link-local addresses
  failover.vrrp.vrrp_config:
    failover_command: /opt/failover/bin/failover
    routers:
      - name: gw6
        vrid: 61
        interface: eth0
        version: 3
        advert_interval: 0.1
        addresses: ["fe80::61/64", "2001:db8::61/64"]
        unicast_peers: ["fe80::5054:ff:fe00:12", "fe80::5054:ff:fe00:13"]

- name: Remove the config (the daemon role's failover_daemon_state=absent stops the daemon first)
  failover.vrrp.vrrp_config:
    path: /etc/failover/vrrp-config.json
    state: absent
"""

RETURN = r"""
path:
  description: The config file's path.
  returned: always
  type: str
  sample: /etc/failover/vrrp-config.json
config:
  description:
    - The config written (or that would be written), passwords masked.
    - With O(state=absent), the config removed (V(null) when there was no file, or it
      was not JSON).
  returned: always
  type: raw
  sample:
    - {"name": "VR_1", "vrid": 51, "interface_name": "eth0", "ip_addresses": ["192.0.2.254/24"]}
  contains:
    checks:
      description: The named checks (object form, when O(checks) is given).
      returned: when O(checks) is given
      type: dict
      sample: {"web": {"type": "http", "url": "http://192.0.2.11:8080/healthz", "interval": 1}}
    virtual_routers:
      description: The routers, with C(track) and C(notify) when given (object form).
      returned: in the object form
      type: list
      elements: dict
    sync_groups:
      description: The sync groups (object form, when O(sync_groups) is given).
      returned: when O(sync_groups) is given
      type: list
      elements: dict
      sample: [{"name": "fw", "routers": ["inside", "outside"]}]
validated:
  description: Whether C(failover check) validated the content.
  returned: always
  type: bool
  sample: true
check_output:
  description: What C(failover check) printed, one line per router, check and sync group.
  returned: when validated
  type: list
  elements: str
  sample:
    - "VR_1: vrid=51 interface=eth0 priority=100 interval=1s preempt=on auth=none
      addresses=192.0.2.254/24"
backup_file:
  description: The copy of the old file, when O(backup=true) and the file changed.
  returned: changed and backup requested
  type: str
  sample: /etc/failover/vrrp-config.json.12345.2026-01-01@00:00:00~
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.failover.vrrp.plugins.module_utils.failover import (
    build_config,
    local_addresses,
    redact,
    render,
    setting_problems,
)
from ansible_collections.failover.vrrp.plugins.module_utils.vrrp_v3 import (
    own_peers,
    router_problems,
)

FAILOVER_DIRS = ["/opt/failover/bin", "/usr/local/bin", "/usr/bin"]

ROUTER_SPEC = dict(
    name=dict(type="str"),
    vrid=dict(type="int", required=True),
    interface=dict(type="str", required=True, aliases=["interface_name"]),
    addresses=dict(type="list", elements="str", required=True, aliases=["ip_addresses"]),
    priority=dict(type="int"),
    advert_interval=dict(type="float"),
    preempt=dict(type="bool", aliases=["preempt_mode"]),
    preempt_delay=dict(type="float"),
    auth_type=dict(type="str", choices=["none", "simple"]),
    auth_password=dict(type="str", no_log=True),
    version=dict(type="int", choices=[2, 3]),
    unicast_peers=dict(type="list", elements="str"),
    unicast_source=dict(type="str"),
    use_vmac=dict(type="bool"),
    checksum_ipv4_pseudo_header=dict(type="bool"),
    track=dict(
        type="list",
        elements="dict",
        options=dict(check=dict(type="str", required=True), weight=dict(type="int")),
    ),
    notify=dict(type="list", elements="str"),
)
SYNC_GROUP_SPEC = dict(
    name=dict(type="str", required=True),
    routers=dict(type="list", elements="str", required=True),
    notify=dict(type="list", elements="str"),
)
# One named check of O(checks): types only; what a valid check is, `failover check` says.
CHECK_SPEC = dict(
    type=dict(type="str", required=True),
    interval=dict(type="float"),
    timeout=dict(type="float"),
    rise=dict(type="int"),
    fall=dict(type="int"),
    command=dict(type="list", elements="str"),
    user=dict(type="str"),
    host=dict(type="str"),
    port=dict(type="int"),
    url=dict(type="str"),
    expect_status=dict(type="list", elements="int"),
    path=dict(type="str"),
    interface=dict(type="str"),
)


def read_current(path):
    """(text, parsed JSON or None) of the current file; (None, None) when absent."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None, None
    text = raw.decode("utf-8", errors="replace")
    try:
        return text, json.loads(text)
    except ValueError:
        return text, None


def typed_checks(module, checks):
    """O(checks) with each check's values converted to their types (an argument spec
    cannot describe a mapping of named entries); every problem at once."""
    if checks is None:
        return None
    out, problems = {}, []
    for name, spec in checks.items():
        if not isinstance(spec, dict):
            problems.append(f"checks.{name}: must be a mapping of the check's keys")
            continue
        result = ArgumentSpecValidator(CHECK_SPEC).validate(spec)
        for err in result.errors:
            what = "unknown key " if isinstance(err, UnsupportedError) else ""
            problems.append(f"checks.{name}: {what}{to_native(err)}")
        out[name] = result.validated_parameters
    if problems:
        module.fail_json(msg="invalid checks:\n" + "\n".join(problems))
    return out


def check_routers(module, routers):
    """The daemon's rules for the VRRPv3, IPv6 and unicast keys, and no router's unicast
    peer one of this host's addresses: every problem at once, before anything is written."""
    problems = [
        f"routers[{i}].{line}" for i, r in enumerate(routers) for line in router_problems(r)
    ]
    if not problems and any(r.get("unicast_peers") for r in routers):
        own = local_addresses(module)
        for i, r in enumerate(routers):
            problems.extend(
                f"routers[{i}].unicast_peers: {ip} is this host's own address; list the "
                "other routers of the group"
                for ip in own_peers(r.get("unicast_peers"), own)
            )
    if problems:
        module.fail_json(msg="invalid routers:\n" + "\n".join(problems))


def check_settings(module, params):
    """The daemon's ranges of the settings it reads at start, before anything is written."""
    problems = setting_problems(params)
    if problems:
        module.fail_json(msg="invalid settings:\n" + "\n".join(problems))


def validate(module, command, content, directory):
    """Run `failover check` on the content in a temporary file; return its stdout lines."""
    fd, tmp = tempfile.mkstemp(prefix=".vrrp-config-check.", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(to_bytes(content))
        rc, out, err = module.run_command([command, "check", tmp])
    finally:
        os.unlink(tmp)
    if rc != 0:
        module.fail_json(
            msg="failover check rejected the configuration:\n" + err.replace(tmp, "<new config>"),
            rc=rc,
            stderr=err,
        )
    return [line for line in out.splitlines() if line.strip()]


def remove(module, path):
    """state=absent: remove the file (check mode and diff honoured); exit."""
    old_text, old_doc = read_current(path)
    result = dict(changed=old_text is not None, path=path, validated=False)
    result["config"] = redact(old_doc) if old_doc is not None else None
    if old_text is not None and module._diff:
        before = render(redact(old_doc)) if old_doc is not None else old_text
        result["diff"] = dict(before_header=path, after_header=path, before=before, after="")
    if old_text is not None and not module.check_mode:
        if module.params["backup"]:
            result["backup_file"] = module.backup_local(path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            result["changed"] = False
        except OSError as err:
            module.fail_json(msg=f"cannot remove {path}: {to_native(err)}")
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/failover/vrrp-config.json"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            routers=dict(type="list", elements="dict", options=ROUTER_SPEC),
            control_socket=dict(type="str"),
            garp_repeat=dict(type="int"),
            garp_delay=dict(type="float"),
            metrics_listen=dict(type="str"),
            control_group=dict(type="str"),
            realtime_priority=dict(type="int"),
            nice=dict(type="int"),
            checks=dict(type="dict"),
            sync_groups=dict(type="list", elements="dict", options=SYNC_GROUP_SPEC),
            validate=dict(type="bool", default=True),
            failover_command=dict(type="path"),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        required_if=[("state", "present", ("routers",))],
        supports_check_mode=True,
    )
    p = module.params
    path = p["path"]
    if p["state"] == "absent":
        remove(module, path)
    if not p["routers"]:
        module.fail_json(msg="routers must list at least one virtual router")
    check_routers(module, p["routers"])
    check_settings(module, p)

    desired = build_config(p["routers"], dict(p, checks=typed_checks(module, p["checks"])))
    content = render(desired)
    old_text, old_doc = read_current(path)
    changed = old_doc != desired
    result = dict(changed=changed, path=path, config=redact(desired), validated=False)

    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory) and not module.check_mode:
        module.fail_json(msg=f"folder {directory} does not exist")

    if p["validate"]:
        command = p["failover_command"] or module.get_bin_path("failover", opt_dirs=FAILOVER_DIRS)
        if command and os.path.exists(command):
            if os.path.isdir(directory):
                result["check_output"] = validate(module, command, content, directory)
                result["validated"] = True
        elif p["failover_command"]:
            module.fail_json(msg=f"failover_command {p['failover_command']} does not exist")
        else:
            module.warn("the failover daemon is not installed: the config was not validated")

    if changed and module._diff:
        before = render(redact(old_doc)) if old_doc is not None else (old_text or "")
        result["diff"] = dict(
            before_header=path,
            after_header=path,
            before=before,
            after=render(redact(desired)),
        )

    if changed and not module.check_mode:
        if p["backup"] and old_text is not None:
            result["backup_file"] = module.backup_local(path)
        fd, tmp = tempfile.mkstemp(prefix=".vrrp-config.", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(to_bytes(content))
                f.flush()
                os.fsync(f.fileno())
            new_file = not os.path.exists(path)
            module.atomic_move(tmp, path, unsafe_writes=p["unsafe_writes"])
            if new_file and p["mode"] is None:
                os.chmod(path, 0o600)  # may hold passwords: private unless `mode` says otherwise
        except Exception as err:  # pylint: disable=broad-except
            if os.path.exists(tmp):
                os.unlink(tmp)
            module.fail_json(msg=f"cannot write {path}: {to_native(err)}")

    if os.path.exists(path):
        file_args = module.load_file_common_arguments(p)
        result["changed"] = module.set_fs_attributes_if_different(
            file_args, result["changed"], diff=result.get("diff")
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
