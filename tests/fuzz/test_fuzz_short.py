"""The fuzzer's short run, for CI: about a minute of tests/fuzz/vrrp_receive.py in a
subprocess (one libFuzzer process), then what it must show: no crash (exit 0, no crashing
input saved), enough inputs executed, and inputs that went the whole way (accepted by a
router in BACKUP and MASTER on every interface, state changes) besides every kind of
drop. The long run, 10^6 inputs, is scripts/fuzz.sh. FUZZ_SECONDS sets the length."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from failover.protocol.packet import DropReason
from tests.support import require

TOP = Path(__file__).resolve().parents[2]
# An idle core runs about 10^4 inputs a second; a floor far below it, for a busy machine,
# that a harness which stops early (or fails to start fuzzing) does not reach.
MIN_INPUTS = 20_000


def test_a_minute_of_fuzzing_finds_no_crash(tmp_path: Path) -> None:
    require(
        importlib.util.find_spec("atheris") is not None,
        "atheris is not installed (the fuzz extra: pip install -e '.[fuzz]')",
    )
    seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
    command = [
        sys.executable, "-m", "tests.fuzz.vrrp_receive", f"-max_total_time={seconds}",
        "-print_final_stats=1", f"-artifact_prefix={tmp_path}/", str(tmp_path / "corpus"),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=5 * seconds + 120,
    )  # fmt: skip
    log = done.stdout  # libFuzzer's lines, and atheris's (the exception) from both streams
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    # the exception, its traceback and the input (libFuzzer prints it in Base64)
    crash = log[max(0, log.find("Uncaught Python exception")) :][-6000:]
    assert done.returncode == 0 and not crashes, f"exit {done.returncode}, {crashes}:\n{crash}"

    runs = re.search(r"^Done (\d+) runs", log, re.MULTILINE)
    assert runs is not None, log[-2000:]
    assert int(runs.group(1)) >= MIN_INPUTS, runs.group(0)

    # the harness's last tally (tests/fuzz/vrrp_receive.py `report`)
    tallies = re.findall(r"^fuzz-tally: (\d+) inputs (\{.*\})$", log, re.MULTILINE)
    assert tallies, log[-2000:]
    tally: dict[str, int] = json.loads(tallies[-1][1])
    for iface in ("v2", "v3", "v6"):
        for state in ("BACKUP", "MASTER"):
            assert tally.get(f"accepted {iface} {state}", 0) > 0, (iface, state, tally)
    assert tally.get("BACKUP->MASTER", 0) > 0 and tally.get("MASTER->BACKUP", 0) > 0, tally
    missing = {r.value for r in DropReason} - {k.removeprefix("rejected ") for k in tally}
    assert not missing, f"no input was dropped for {sorted(missing)}: {tally}"
