#!/usr/bin/env bash
# The README's test command: set everything up, then run the whole suite (unit,
# integration in network namespaces, interop with keepalived/FRR, Ansible).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/bootstrap.sh"

.venv/bin/ruff check failover tests
.venv/bin/mypy

set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
