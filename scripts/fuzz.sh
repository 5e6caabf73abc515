#!/usr/bin/env bash
# The long fuzzing run: RUNS inputs (default 10^6) through tests/fuzz/vrrp_receive.py
# (received packet -> parse -> validate -> decode -> the router's receive), in one
# process, then its figures: inputs, exec/s, wall time, coverage (libFuzzer's cov: and
# ft:), the outcome tally, crashes. The short run is tests/fuzz/test_fuzz_short.py.
#   scripts/fuzz.sh [RUNS [libFuzzer flags...]]
# Uses the repo's venv ($VENV, default .venv, made by scripts/bootstrap.sh with the
# fuzz extra). The corpus, log and any crashing input go to a new directory ($FUZZ_DIR,
# default a temporary one), printed at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv=${VENV:-$top/.venv}
[ -x "$venv/bin/python" ] || "$top/scripts/bootstrap.sh"
runs=${1:-1000000}
shift || true
out=${FUZZ_DIR:-$(mktemp -d -t failover-fuzz.XXXXXX)}
mkdir -p "$out"
log="$out/fuzz.log"

echo "fuzz: $runs inputs, one process; log $log"
start=$(date +%s%N)
rc=0
"$venv/bin/python" -m tests.fuzz.vrrp_receive -runs="$runs" -print_final_stats=1 \
  -artifact_prefix="$out/" "$@" "$out/corpus" >"$log" 2>&1 || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))

grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::' "$log" || true
grep '^fuzz-tally:' "$log" | tail -n 1 || true
crashes=$(find "$out" -maxdepth 1 -name 'crash-*' | wc -l)
printf 'fuzz: wall time %d.%03d s, exit %d, %d crashing input(s) in %s\n' \
  $((ms / 1000)) $((ms % 1000)) "$rc" "$crashes" "$out"
if [ "$rc" -ne 0 ]; then
  grep -A 30 'Uncaught Python exception' "$log" >&2 || tail -n 40 "$log" >&2
fi
exit "$rc"
