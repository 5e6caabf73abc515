# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""A Vault-encrypted auth password reaches the config file and is never printed.

Runs the real ansible-playbook (and ansible-vault) next to this Python, on localhost,
with -vvv and --diff, so every place Ansible could print a value is exercised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import require

ROOT = Path(__file__).resolve().parents[7]
BIN = Path(sys.executable).parent
SECRET = "Vlt9pass"  # 8 bytes: the whole RFC 3768 auth data field


def run(argv, cwd, check=False, timeout=300):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT), ANSIBLE_NOCOLOR="1")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=check, timeout=timeout
    )


def test_vaulted_password_is_written_and_never_printed(tmp_path):
    require((BIN / "ansible-playbook").exists(), "ansible-playbook is not installed here")
    (tmp_path / "vault-pass").write_text("correct horse battery staple\n")
    enc = run(
        [str(BIN / "ansible-vault"), "encrypt_string", "--vault-password-file", "vault-pass",
         SECRET, "--name", "vrrp_password"],
        tmp_path,
        check=True,
    )  # fmt: skip
    assert SECRET not in enc.stdout
    (tmp_path / "secrets.yml").write_text(enc.stdout)
    conf = tmp_path / "vrrp-config.json"
    (tmp_path / "play.yml").write_text(
        textwrap.dedent(
            f"""
            - hosts: localhost
              gather_facts: false
              vars_files: [secrets.yml]
              tasks:
                - failover.vrrp.vrrp_config:
                    path: {conf}
                    failover_command: {BIN / "failover"}
                    routers:
                      - vrid: 51
                        interface: eth0
                        addresses: [192.0.2.254/24]
                        auth_type: simple
                        auth_password: "{{{{ vrrp_password }}}}"
                  register: written
                - ansible.builtin.debug:
                    var: written
            """
        )
    )
    done = run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-vvv", "--diff",
         "--vault-password-file", "vault-pass",
         "-e", f"ansible_python_interpreter={sys.executable}", "play.yml"],
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "changed=1" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    written = json.loads(conf.read_text())
    assert written[0]["auth_password"] == SECRET
    assert written[0]["auth_type"] == "simple"
    assert conf.stat().st_mode & 0o077 == 0, "a file with a password must not be world-readable"
