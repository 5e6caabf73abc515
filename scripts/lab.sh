#!/usr/bin/env bash
# The README's first command: set everything up, then show a failover live in a
# namespaced lab (routers + client on a bridge), and tear it all down.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/bootstrap.sh"
exec "$top/.venv/bin/failover" lab "$@"
