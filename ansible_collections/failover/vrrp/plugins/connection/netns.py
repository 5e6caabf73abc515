# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""Run tasks inside a network namespace of the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: netns
author: failover maintainers (!UNKNOWN)
version_added: 1.0.0
short_description: Run tasks inside a network namespace on the controller
description:
  - Runs every command of a task inside a named Linux network namespace of the machine
    that runs Ansible, with C(ip netns exec NAMESPACE /bin/sh -c COMMAND), so that a
    namespace (a lab router, a test peer) is an ordinary inventory host.
  - The namespace shares the controller's filesystem, users and processes; only the
    network stack (interfaces, addresses, routes, sockets) is its own. Files are
    therefore copied locally by C(put_file) and C(fetch_file), as with
    P(ansible.builtin.local#connection).
  - C(ip netns exec) also gives the command a private mount namespace in which C(/sys)
    shows the namespace's interfaces, and bind-mounts each entry of
    C(/etc/netns/NAMESPACE/) over C(/etc/), which can give each namespaced host its own
    configuration files.
  - Processes started by a task (a daemon) stay in the network namespace after the task.
requirements:
  - Linux with network namespaces and C(ip) from iproute2 on the controller.
  - Root, or the capabilities C(ip netns exec) needs (CAP_SYS_ADMIN).
extends_documentation_fragment:
  - connection_pipelining
options:
  namespace:
    description:
      - Name of the network namespace (as listed by C(ip netns list)).
      - Defaults to the host's address, so C(ansible_host) may name the namespace.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_netns_name
  ip_command:
    description: The C(ip) executable of iproute2.
    type: str
    default: ip
    vars:
      - name: ansible_netns_ip_command
  shell:
    description: The shell that runs each command inside the namespace.
    type: str
    default: /bin/sh
    vars:
      - name: ansible_netns_shell
  become_success_timeout:
    description:
      - Seconds to wait for become to succeed when enabled (see
        P(ansible.builtin.local#connection)).
    type: int
    default: 10
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    description: Strip internal become output preceding command execution.
    type: bool
    default: true
    vars:
      - name: ansible_local_become_strip_preamble
notes:
  - The remote user is ignored; commands run as the user that runs Ansible (normally
    root, which C(ip netns exec) needs), or as the become user.
  - Set C(ansible_python_interpreter) to a Python of the controller, for example the one
    of the virtualenv that runs Ansible.
"""

EXAMPLES = r"""
# inventory.yml: three lab routers and a client, each a network namespace
all:
  vars:
    ansible_connection: failover.vrrp.netns
    ansible_python_interpreter: /usr/bin/python3
  children:
    routers:
      hosts:
        r1: {ansible_netns_name: lab-r1}
        r2: {ansible_netns_name: lab-r2}
        r3: {ansible_netns_name: lab-r3}
    clients:
      hosts:
        lab-client: {}   # the namespace is called like the host

# ad hoc: the addresses each router sees
# ansible -i inventory.yml routers -m ansible.builtin.command -a "ip -br addr"
"""

import os
import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.utils.display import Display

display = Display()

NETNS_RUN_DIR = "/run/netns"


class Connection(LocalConnection):
    """Local connection whose commands run inside a network namespace."""

    transport = "failover.vrrp.netns"
    has_pipelining = True

    @property
    def namespace(self):
        name = self.get_option("namespace") or self._play_context.remote_addr
        if not name:
            raise AnsibleConnectionFailure("netns: no namespace name (set ansible_netns_name)")
        if "/" in name or name in (".", ".."):
            raise AnsibleConnectionFailure(f"netns: {name!r} is not a namespace name")
        return name

    def _connect(self):
        name = self.namespace
        if not os.path.exists(os.path.join(NETNS_RUN_DIR, name)):
            raise AnsibleConnectionFailure(
                f"netns: network namespace {name!r} does not exist (see `ip netns list`)"
            )
        if not self._connected:
            display.vvv(f"ESTABLISH NETNS CONNECTION TO {name}", host=name)
        return super()._connect()

    def wrap(self, cmd):
        """The command line that runs `cmd` inside the namespace."""
        if not isinstance(cmd, str):
            cmd = " ".join(shlex.quote(str(part)) for part in cmd)
        return " ".join(
            [
                shlex.quote(self.get_option("ip_command")),
                "netns",
                "exec",
                shlex.quote(self.namespace),
                shlex.quote(self.get_option("shell")),
                "-c",
                shlex.quote(cmd),
            ]
        )

    def exec_command(self, cmd, in_data=None, sudoable=True):
        """Run `cmd` with `ip netns exec NAMESPACE /bin/sh -c`."""
        if not self._connected:
            self._connect()
        return super().exec_command(self.wrap(cmd), in_data=in_data, sudoable=sudoable)
