#!/usr/bin/env bash
# The README's test command. Sets everything up first (scripts/bootstrap.sh), then:
#   scripts/test.sh           every tier: the quick tier first (ruff, mypy, unit tests),
#                             a minute of fuzzing (tests/fuzz), then the root tiers side
#                             by side, their labs being independent
#                             (each has its own namespace prefix): integration and interop
#                             tests under pytest-xdist, and the Ansible collection's checks
#                             (ansible-test sanity, ansible-lint, Molecule) in the background
#   scripts/test.sh --quick   the quick tier alone: no root needed, seconds
#   scripts/test.sh ARGS...   pytest alone, with ARGS (e.g. tests/unit -q)
# Without root the root tiers skip with a reason; under CI=true (.ci/run) they fail.
# TEST_WORKERS sets the pytest-xdist workers of the root tiers (default 4: their tests
# mostly wait on protocol timers, not on the CPU). pytest's exit 5 (no tests) fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/bootstrap.sh"

failed=()
run_pytest() {  # run_pytest LABEL ARGS...: pytest ARGS; a failure (exit 5 too) under LABEL
  local label=$1 rc=0
  shift
  .venv/bin/python -m pytest -ra "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; that is a failure" >&2
  fi
  [ "$rc" -eq 0 ] || failed+=("$label")
}

finish() {
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
  fi
  echo "test.sh: all passed"
  exit 0
}

quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *)
    run_pytest pytest "$@"
    finish
    ;;
esac

start=$(date +%s)
echo "== quick tier: ruff, mypy, unit tests"
.venv/bin/ruff check failover tests bench ansible_collections molecule scripts || failed+=(ruff)
.venv/bin/mypy || failed+=(mypy)
run_pytest unit -q tests/unit ansible_collections/failover/vrrp/tests/unit
echo "== quick tier: $(( $(date +%s) - start ))s"
[ "$quick" = 1 ] && finish

echo "== fuzzing: a minute of tests/fuzz (the long run: scripts/fuzz.sh)"
run_pytest fuzz -q tests/fuzz

echo "== root tiers, side by side: Ansible checks (background), integration + interop"
ansible_log=$(mktemp -t failover-ansible-checks.XXXXXX)
VENV="$top/.venv" bash scripts/ansible_checks.sh --molecule >"$ansible_log" 2>&1 &
ansible_pid=$!
trap 'kill "$ansible_pid" 2>/dev/null || true' EXIT
echo "Ansible checks: pid $ansible_pid, log $ansible_log (printed when done)"

run_pytest integration+interop -n "${TEST_WORKERS:-4}" tests/integration tests/interop

ansible_rc=0
wait "$ansible_pid" || ansible_rc=$?
trap - EXIT
echo "== Ansible checks (exit $ansible_rc):"
cat "$ansible_log"
rm -f "$ansible_log"
[ "$ansible_rc" -eq 0 ] || failed+=(ansible)
echo "== all tiers: $(( $(date +%s) - start ))s"
finish
