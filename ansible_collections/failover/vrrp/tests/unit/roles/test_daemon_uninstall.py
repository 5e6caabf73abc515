"""The daemon role's uninstall path keeps its order: hand over, stop, prove no VIP is left,
and only then remove files; every task that changes something honours check mode."""

from __future__ import annotations

from pathlib import Path

import yaml

TASKS = Path(__file__).resolve().parents[3] / "roles" / "daemon" / "tasks"


def flat(tasks):
    """Every task, blocks unrolled, in order."""
    for task in tasks:
        if "block" in task:
            yield task
            yield from flat(task["block"])
        else:
            yield task


def uninstall():
    return list(flat(yaml.safe_load((TASKS / "uninstall.yml").read_text())))


def index(tasks, prefix):
    return next(i for i, t in enumerate(tasks) if t["name"].startswith(prefix))


def test_files_go_only_after_the_host_is_proven_empty():
    tasks = uninstall()
    handover = index(tasks, "Hand mastership over")
    stop = index(tasks, "Stop and disable the daemon")
    proven = index(tasks, "Check that no daemon answers and no virtual address is left")
    removals = [i for i, t in enumerate(tasks) if t["name"].startswith("Remove the ")]
    assert removals  # config, folder, unit, venv/state/socket
    assert handover < stop < proven < min(removals)


def test_the_handover_waits_for_the_peers_and_skips_in_check_mode():
    block = next(t for t in uninstall() if t["name"].startswith("Hand mastership over"))
    assert "failover_daemon_check_probe is not skipped" in block["when"]
    steps = [t.get("ansible.builtin.include_role", {}).get("name") for t in block["block"]]
    assert steps[-1] == "failover.vrrp.verify"
    assert "ansible.builtin.include_tasks" in block["block"][0]  # the stop, first


def test_every_removal_supports_check_mode():
    """No command or shell removes anything: file, vrrp_config and systemd report and
    honour check mode; the only commands are the probe and `failover teardown`."""
    tasks = uninstall()
    commands = [t["name"] for t in tasks if "ansible.builtin.command" in t]
    assert commands == [
        "Learn whether this runs in check mode",
        "Remove virtual addresses a killed daemon left (failover teardown)",
    ]
    teardown = next(t for t in tasks if t["name"] == commands[1])
    in_block = next(
        t for t in tasks if "block" in t and teardown in t["block"]
    )  # the no-VIP block: skipped in check mode
    assert in_block["when"] == "failover_daemon_check_probe is not skipped"


def test_main_runs_nothing_else_for_absent():
    main = yaml.safe_load((TASKS / "main.yml").read_text())
    for task in main:
        include = task.get("ansible.builtin.include_tasks")
        inner = [t.get("ansible.builtin.include_tasks") for t in task.get("block", [])]
        if include in ("install.yml", "config.yml", "service_systemd.yml", "plan.yml") or {
            "install.yml",
            "config.yml",
        } & set(inner):
            assert "failover_daemon_state != 'absent'" in task["when"], include or inner
    last = main[-1]
    assert last["ansible.builtin.include_tasks"] == "uninstall.yml"
    assert last["when"] == "failover_daemon_state == 'absent'"
