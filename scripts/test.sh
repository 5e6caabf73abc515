#!/usr/bin/env bash
# The README's test command: set everything up, then run every tier: ruff and mypy,
# the Ansible collection's checks (ansible-test sanity, ansible-lint, Molecule), and
# pytest over unit, integration (network namespaces), interop (keepalived, FRR) and the
# collection's unit tests. With arguments, only pytest runs, with those arguments.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/bootstrap.sh"

failed=()
if [ "$#" -eq 0 ]; then
  echo "== ruff"
  .venv/bin/ruff check failover tests bench || failed+=(ruff)
  echo "== mypy"
  .venv/bin/mypy || failed+=(mypy)
  echo "== Ansible collection: sanity, lint, Molecule"
  VENV="$top/.venv" bash scripts/ansible_checks.sh --molecule || failed+=(ansible)
fi

echo "== pytest"
set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  rc=1
fi
[ "$rc" -eq 0 ] || failed+=(pytest)
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh: all passed"
