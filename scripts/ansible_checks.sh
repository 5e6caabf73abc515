#!/usr/bin/env bash
# The failover.vrrp collection's checks, for CI and developers (as root for Molecule):
#   scripts/ansible_checks.sh            ansible-test sanity, ansible-lint
#   scripts/ansible_checks.sh --molecule the same, then molecule test for every scenario
# The collection's unit tests run with the rest of pytest (pyproject's testpaths).
# Uses the repo's venv ($VENV, default .venv, made by scripts/bootstrap.sh) and installs
# ansible-lint and molecule into it from PyPI when missing. Nothing comes from Galaxy.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv=${VENV:-$top/.venv}
py="$venv/bin/python"
collection="$top/ansible_collections/failover/vrrp"
molecule=0
[ "${1:-}" = "--molecule" ] && molecule=1

if [ ! -x "$py" ]; then
  "$top/scripts/bootstrap.sh"
fi
want=("ansible-core>=2.19,<2.20")
[ -x "$venv/bin/ansible-lint" ] || want+=(ansible-lint)
[ "$molecule" = 1 ] && { [ -x "$venv/bin/molecule" ] || want+=(molecule); }
if [ "${#want[@]}" -gt 1 ] || ! "$py" -c 'import ansible' 2>/dev/null; then
  "$py" -m pip install -q "${want[@]}"
fi
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$top"
export ANSIBLE_NOCOLOR=1

echo "== ansible-test sanity --venv --python 3.11"
# ansible-test --venv bootstraps pip with a get-pip.py it downloads from a host that
# may be unreachable; put the ensurepip-based stand-in in its cache first.
at=$("$py" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -o "pip='[0-9.]*'" "$at/_internal/python_requirements.py" | head -1 | tr -dc '0-9.')
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
[ -f "$cache" ] || cp "$top/scripts/ansible_test_get_pip.py" "$cache"
(cd "$collection" && ansible-test sanity --venv --python 3.11 --color no)

echo "== ansible-galaxy collection build + install: the tarball works on its own"
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
ansible-galaxy collection build "$collection" --output-path "$dist" >/dev/null
ansible-galaxy collection install --force "$dist"/failover-vrrp-*.tar.gz -p "$dist/installed" >/dev/null 2>&1
ANSIBLE_COLLECTIONS_PATH="$dist/installed" ansible-doc failover.vrrp.vrrp_config >/dev/null
ANSIBLE_COLLECTIONS_PATH="$dist/installed" ansible-doc -t connection failover.vrrp.netns >/dev/null
ANSIBLE_COLLECTIONS_PATH="$dist/installed" \
  ansible-playbook --syntax-check -i localhost, failover.vrrp.site >/dev/null
echo "built, installed and documented: $(basename "$dist"/failover-vrrp-*.tar.gz)"

echo "== ansible-lint (production profile)"
(cd "$collection" && ansible-lint --offline --profile production)

if [ "$molecule" = 1 ]; then
  for scenario in default rolling_upgrade; do
    echo "== molecule test -s $scenario"
    start=$(date +%s)
    molecule test -s "$scenario"
    echo "molecule test -s $scenario: $(( $(date +%s) - start ))s"
  done
fi
echo "ansible checks: all passed"
