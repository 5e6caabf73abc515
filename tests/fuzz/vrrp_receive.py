"""Coverage-guided fuzzing (atheris: libFuzzer for Python) of what the daemon does with a
received packet: parse, validate, decode, the router's `receive` (tests/fuzz/scenario.py).

    .venv/bin/python -m tests.fuzz.vrrp_receive [libFuzzer flags] CORPUS_DIR

from the repository root. The seeds (real adverts: the golden captures of keepalived and
FRR, and adverts our codec encodes, `scenario.seeds`) are written into CORPUS_DIR first;
libFuzzer adds what it finds there. An exception is a crash: libFuzzer prints it, saves
the input (`-artifact_prefix`) and exits non-zero. The outcome tally (verdicts, accepted
adverts by interface and state, state changes) is printed at each power of two of inputs.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import atheris

# Coverage feedback from failover.protocol (so it must be first imported here) and from
# the scenario, whose branches say which interface and router state an advert reached:
# libFuzzer then keeps an input for each, not only for each path through the protocol.
with atheris.instrument_imports(include=["failover.protocol", "tests.fuzz.scenario"]):
    from tests.fuzz import mutate
    from tests.fuzz.scenario import run, seeds

TALLY: Counter[str] = Counter()
INPUTS = [0]
REPORT_FROM = 1024


def one_input(data: bytes) -> None:
    run(data, TALLY)
    INPUTS[0] += 1
    n = INPUTS[0]
    if n >= REPORT_FROM and n & (n - 1) == 0:
        report()


def report() -> None:
    """A line the short run's test reads: inputs so far and their outcomes."""
    tally = json.dumps(dict(sorted(TALLY.items())))
    print(f"fuzz-tally: {INPUTS[0]} inputs {tally}", file=sys.stderr, flush=True)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutations, made structure-aware by mutate.py."""
    return mutate.mutate(data, max_size, seed, atheris.Mutate)


def write_seeds(corpus: Path) -> int:
    corpus.mkdir(parents=True, exist_ok=True)
    count = 0
    for seed in seeds():
        (corpus / f"seed-{hashlib.sha1(seed).hexdigest()}").write_bytes(seed)
        count += 1
    return count


def main() -> None:
    dirs = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not dirs:
        sys.exit("usage: python -m tests.fuzz.vrrp_receive [libFuzzer flags] CORPUS_DIR")
    print(f"fuzz: {write_seeds(Path(dirs[0]))} seeds in {dirs[0]}", file=sys.stderr)
    atheris.Setup(sys.argv, one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
