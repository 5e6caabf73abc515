"""The daemon role's start-time settings (control_group, realtime_priority, nice) reach
vrrp_config, and the plan validates exactly what the config task then writes."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "daemon"
SETTINGS = {  # role variable -> vrrp_config option
    "failover_daemon_control_group": "control_group",
    "failover_daemon_realtime_priority": "realtime_priority",
    "failover_daemon_nice": "nice",
}
OMIT = "__omit_place_holder__"


def load(name):
    return yaml.safe_load((ROLE / name).read_text())


def vrrp_config_params(tasks):
    (task,) = [t for t in load(tasks) if "failover.vrrp.vrrp_config" in t]
    return task["failover.vrrp.vrrp_config"]


def test_the_plan_validates_the_parameters_the_config_task_writes():
    """Same parameters, same expressions: else the plan validates one file and the role
    writes another. Only the command differs (the plan's: the installed one, if any)."""
    plan = vrrp_config_params("tasks/plan.yml")
    config = vrrp_config_params("tasks/config.yml")
    assert plan.keys() == config.keys()
    differ = {k for k in config if plan[k] != config[k]}
    assert differ == {"failover_command"}
    assert "failover_daemon_command" in plan["failover_command"]


@pytest.mark.parametrize(
    ("check_mode", "installed_rc", "passed"),
    [(False, 3, "/v/bin/failover"), (False, 0, "/v/bin/failover"), (True, 0, "/v/bin/failover"),
     (True, 3, OMIT)],
)  # fmt: skip
def test_the_config_task_validates_with_the_installed_daemon(check_mode, installed_rc, passed):
    """It writes after the install, so with the installed daemon; in check mode on a fresh
    host nothing was installed, and it validates as the plan did (without)."""
    expression = vrrp_config_params("tasks/config.yml")["failover_command"]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    rendered = env.from_string(expression).render({
        "failover_daemon_command": "/v/bin/failover", "ansible_check_mode": check_mode,
        "failover_daemon_installed_marker": {"rc": installed_rc}, "omit": OMIT,
    })  # fmt: skip
    assert rendered.strip() == passed


@pytest.mark.parametrize("tasks", ["tasks/config.yml", "tasks/plan.yml"])
@pytest.mark.parametrize(
    ("variable", "value", "passed"),
    [
        ("failover_daemon_control_group", None, OMIT),
        ("failover_daemon_control_group", "monitoring", "monitoring"),
        ("failover_daemon_realtime_priority", None, OMIT),
        ("failover_daemon_realtime_priority", 10, "10"),
        ("failover_daemon_nice", None, OMIT),
        ("failover_daemon_nice", 0, "0"),  # a value, not `unset`
        ("failover_daemon_nice", -5, "-5"),
    ],
)
def test_each_setting_reaches_vrrp_config_or_is_omitted(tasks, variable, value, passed):
    expression = vrrp_config_params(tasks)[SETTINGS[variable]]
    rendered = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(expression)
    assert rendered.render({variable: value, "omit": OMIT}) == passed


def test_unset_by_default_and_documented_without_a_default():
    defaults = load("defaults/main.yml")
    options = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for variable, option in SETTINGS.items():
        assert defaults[variable] is None
        assert "default" not in options[variable]
        assert f"failover.vrrp.vrrp_config#module:{option}" in " ".join(
            options[variable]["description"]
        )
    assert options["failover_daemon_control_group"]["type"] == "str"
    assert options["failover_daemon_realtime_priority"]["type"] == "int"
    assert options["failover_daemon_nice"]["type"] == "int"
