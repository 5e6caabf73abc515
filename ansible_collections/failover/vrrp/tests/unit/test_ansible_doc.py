"""`ansible-doc` documents every plugin and role of the collection, as users reach them.

One ansible-doc per plugin type, against the source tree: the listing (`-l`) names
exactly the plugin files (a plugin whose documentation does not load drops out of it),
and each plugin's documentation has a description, examples and return values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTION = Path(__file__).resolve().parents[2]
TOP = COLLECTION.parents[2]  # holds ansible_collections/
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")
TYPES = {"module": "modules", "filter": "filter", "connection": "connection"}


def ansible_doc(*args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(TOP), ANSIBLE_NOCOLOR="1")
    done = subprocess.run(
        [str(ANSIBLE_DOC), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "[WARNING]" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def names(kind):
    return sorted(
        f"failover.vrrp.{p.stem}"
        for p in (COLLECTION / "plugins" / TYPES[kind]).glob("*.py")
        if not p.name.startswith("_")
    )


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_every_plugin_is_listed_and_documented(kind):
    expected = names(kind)
    assert expected  # the glob found the plugins
    assert sorted(ansible_doc("-t", kind, "-l", "--json", "failover.vrrp")) == expected
    docs = ansible_doc("-t", kind, "--json", *expected)
    assert sorted(docs) == expected
    for name, doc in docs.items():
        assert doc["doc"]["short_description"], name
        assert doc["doc"]["description"], name
        if kind != "connection":
            assert doc["examples"], name
            assert doc["return"], name


def test_every_role_entry_point_is_documented():
    roles = sorted(p.name for p in (COLLECTION / "roles").iterdir() if p.is_dir())
    docs = ansible_doc("-t", "role", "--json", *(f"failover.vrrp.{r}" for r in roles))
    assert sorted(docs) == [f"failover.vrrp.{r}" for r in roles]
    for name, doc in docs.items():
        for entry, spec in doc["entry_points"].items():
            assert spec["short_description"] and spec["options"], f"{name} {entry}"
