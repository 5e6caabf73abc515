"""Each role's variables are the same three times: defaults/main.yml, meta/argument_specs.yml
(what ansible-doc shows and Ansible checks) and the role's README table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"


def load(role, name):
    return yaml.safe_load((ROLES / role / name).read_text())


@pytest.mark.parametrize("role", ["daemon", "verify"])
def test_argument_specs_document_exactly_the_defaults(role):
    defaults = load(role, "defaults/main.yml")
    options = load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(defaults)


@pytest.mark.parametrize("role", ["daemon", "verify"])
def test_argument_specs_defaults_are_the_defaults(role):
    defaults = load(role, "defaults/main.yml")
    options = load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    differ = {
        name: (spec["default"], defaults[name])
        for name, spec in options.items()
        if "default" in spec
        and "{{" not in str(spec["default"])  # templated: computed at run time
        and spec["default"] != defaults[name]
    }
    assert differ == {}


@pytest.mark.parametrize("role", ["daemon", "verify"])
def test_the_readme_lists_exactly_the_defaults(role):
    defaults = load(role, "defaults/main.yml")
    text = (ROLES / role / "README.md").read_text()
    listed = re.findall(r"^\| `(failover_\w+)` \|", text, re.M)
    assert sorted(listed) == sorted(defaults)


def test_every_entry_points_options_are_main_options():
    specs = load("daemon", "meta/argument_specs.yml")["argument_specs"]
    main = specs["main"]["options"]
    for entry, spec in specs.items():
        assert set(spec.get("options", {})) <= set(main), entry
