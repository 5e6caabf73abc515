"""Wall time of a no-op `failover.vrrp.site` run: N namespaced routers, already deployed.

Builds a lab of N routers (failover.lab), a wheelhouse of this tree, an inventory like
Molecule's (each namespace a host over the collection's netns connection, its own
venv/config/socket/state folder, two virtual routers). Runs `site --check` on the fresh
hosts (it must pass, report changes, and wait for nothing), `site` once to deploy, then
times --runs more runs, which must report changed=0 on every host, as must a last
`site --check`. Needs root.

    .venv/bin/python bench/collection_noop.py --routers 3 [--runs 2] [--forks 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from failover.lab import Lab  # noqa: E402

ROUTERS = [
    {"name": "VR_1", "vrid": 51, "interface": "eth0", "addresses": ["192.0.2.254/24"]},
    {"name": "VR_2", "vrid": 52, "interface": "eth0", "addresses": ["192.0.2.253/24"],
     "priority_rotate": 1},
]  # fmt: skip


def inventory(lab: Lab, wheelhouse: Path) -> dict[str, object]:
    hosts = {h.name: {"ansible_netns_name": h.ns} for h in lab.routers}
    return {"routers": {"hosts": hosts, "vars": {
        "ansible_connection": "failover.vrrp.netns",
        "ansible_python_interpreter": "/usr/bin/python3",
        "failover_host_dir": f"{lab.dir}/{{{{ inventory_hostname }}}}",
        "failover_daemon_venv": "{{ failover_host_dir }}/venv",
        "failover_daemon_state_dir": "{{ failover_host_dir }}/state",
        "failover_daemon_config_path": "{{ failover_host_dir }}/etc/vrrp-config.json",
        "failover_daemon_control_socket": "{{ failover_host_dir }}/failover.sock",
        "failover_daemon_wheelhouse": str(wheelhouse),
        "failover_daemon_service_manager": "supervisor",
        "failover_daemon_routers": ROUTERS,
    }}}  # fmt: skip


def site(inv: Path, env: dict[str, str], *extra: str) -> tuple[float, str]:
    start = time.monotonic()
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    run = subprocess.run(
        [playbook, "-i", str(inv), "failover.vrrp.site", *extra],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.monotonic() - start
    if run.returncode != 0:
        raise SystemExit(f"site failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}\n"
                         + "\n".join(failed_tasks(run.stdout)))  # fmt: skip
    return took, run.stdout


def failed_tasks(out: str) -> list[str]:
    """Each `fatal:` line of a play's output, after the name of its task."""
    task, found = "", []
    for line in out.splitlines():
        if line.startswith("TASK ["):
            task = line.rstrip(" *")
        elif line.startswith("fatal:"):
            found.append(f"{task}\n{line}")
    return found


def changed_counts(out: str) -> list[str]:
    return re.findall(r" changed=(\d+)", out)


def require_noop(out: str, routers: int) -> None:
    changed = changed_counts(out)
    if len(changed) != routers or any(c != "0" for c in changed):
        raise SystemExit(f"not a no-op run: changed={changed}\n{out[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--forks", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fo-noop-") as tmp, Lab(routers=args.routers) as lab:
        wheelhouse = Path(tmp) / "wheelhouse"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheelhouse),
             str(ROOT)],
            check=True, cwd=tmp,
        )  # fmt: skip
        inv = Path(tmp) / "inventory.json"
        inv.write_text(json.dumps(inventory(lab, wheelhouse)))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT), ANSIBLE_FORKS=str(args.forks),
                   ANSIBLE_PIPELINING="1", ANSIBLE_HOST_KEY_CHECKING="0",
                   ANSIBLE_NOCOLOR="1")  # fmt: skip
        fresh_check, out = site(inv, env, "--check")
        if "0" in changed_counts(out):
            raise SystemExit(f"check mode on fresh hosts reported no change:\n{out[-3000:]}")
        first, _ = site(inv, env)
        times = []
        for _ in range(args.runs):
            took, out = site(inv, env)
            require_noop(out, args.routers)
            times.append(took)
        last_check, out = site(inv, env, "--check")
        require_noop(out, args.routers)
        print(json.dumps({
            "routers": args.routers, "fresh_check_s": round(fresh_check, 1),
            "deploy_s": round(first, 1), "uptodate_check_s": round(last_check, 1),
            "noop_s": [round(t, 1) for t in times],
            "noop_median_s": round(statistics.median(times), 1),
            "load_average": os.getloadavg()[0], "forks": args.forks,
        }))  # fmt: skip


if __name__ == "__main__":
    main()
