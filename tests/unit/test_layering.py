"""Who may import what: the sans-IO core stays standard library only, `check` stays light.

Each check runs in a fresh interpreter, so what an import pulls in is really measured.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import failover

PACKAGE = Path(failover.__file__).parent
SAMPLE = PACKAGE.parent / "examples" / "sample-vrrp-config.json"
HEAVY = ("voluptuous", "pyroute2", "asyncio", "failover.config")


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_core_imports_nothing_outside_the_standard_library() -> None:
    modules = loaded_after(
        "import failover.protocol.packet, failover.protocol.receive, "
        "failover.protocol.router, failover.protocol.settings"
    )
    assert "failover.protocol.router" in modules  # the probe did import the core
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_the_core_source_names_only_the_standard_library_and_itself() -> None:
    for path in sorted((PACKAGE / "protocol").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                ok = top in sys.stdlib_module_names or name.startswith("failover.protocol")
                assert ok, f"{path.name} imports {name}"


def test_failover_check_loads_neither_pyroute2_nor_asyncio() -> None:
    modules = loaded_after(
        "import contextlib, io\n"
        "from failover.cli import main\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
        f"    assert main(['check', {str(SAMPLE)!r}]) == 0\n"
    )
    assert "failover.config" in modules  # it did validate
    assert not modules & {"pyroute2", "asyncio", "failover.daemon.service"}


def test_exit_codes_load_without_the_runtime() -> None:
    modules = loaded_after("from failover.daemon.errors import ExitCode, StartupError")
    assert not modules & {"pyroute2", "asyncio", "voluptuous"}
