#!/usr/bin/env bash
# The failover.vrrp collection's checks, for CI and developers (as root for Molecule):
#   scripts/ansible_checks.sh            ansible-test sanity, the built tarball installed
#                                        into an empty path (ansible-doc of every plugin),
#                                        antsibull-changelog lint, ansible-lint
#   scripts/ansible_checks.sh --molecule the same, and beside it molecule test for every
#                                        scenario, the scenarios side by side
# The collection's unit tests run with the rest of pytest (pyproject's testpaths).
# Uses the repo's venv ($VENV, default .venv, made by scripts/bootstrap.sh) and installs
# ansible-lint, antsibull-changelog and molecule into it from PyPI when missing. Nothing comes from Galaxy.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv=${VENV:-$top/.venv}
py="$venv/bin/python"
collection="$top/ansible_collections/failover/vrrp"
molecule=0
[ "${1:-}" = "--molecule" ] && molecule=1
ci=${CI:-}
if [ "$molecule" = 1 ] && [ "$(id -u)" -ne 0 ]; then
  # the scenarios build their hosts as network namespaces (as tests/support.py: in_ci)
  if [[ ! "${ci,,}" =~ ^(|0|false|no)$ ]]; then
    echo "ansible checks: Molecule needs root (network namespaces); under CI that is a failure" >&2
    exit 1
  fi
  echo "ansible checks: skipping Molecule: needs root (network namespaces)"
  molecule=0
fi

if [ ! -x "$py" ]; then
  "$top/scripts/bootstrap.sh"
fi
want=("ansible-core>=2.19,<2.20")
[ -x "$venv/bin/ansible-lint" ] || want+=(ansible-lint)
[ -x "$venv/bin/antsibull-changelog" ] || want+=(antsibull-changelog)
[ "$molecule" = 1 ] && { [ -x "$venv/bin/molecule" ] || want+=(molecule); }
if [ "${#want[@]}" -gt 1 ] || ! "$py" -c 'import ansible' 2>/dev/null; then
  "$py" -m pip install -q "${want[@]}"
fi
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$top"
export ANSIBLE_NOCOLOR=1

# Molecule's scenarios each build a lab of their own (own namespace prefix, and Molecule
# gives every run its own ephemeral directory): they run side by side, and beside the
# static checks below. Each scenario's output is printed when it is done. The 20-router
# `fleet` runs after them, alone: beside it, the others' 10 ms pingers were starved of CPU
# on a 2-core machine and measured gaps no VIP had (every ping answered, late).
scenarios=(default rolling_upgrade ipv6_unicast)
after=(fleet)
logs=$(mktemp -d -t failover-ansible-checks.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap cleanup EXIT
scenario_test() {  # scenario_test NAME: molecule test, its output and time in $logs/NAME
  local start rc=0
  start=$(date +%s)
  molecule test -s "$1" >"$logs/$1" 2>&1 || rc=$?
  echo "molecule test -s $1: exit $rc, $(( $(date +%s) - start ))s" >>"$logs/$1"
  return "$rc"
}
if [ "$molecule" = 1 ]; then
  side=()
  for scenario in "${scenarios[@]}"; do
    scenario_test "$scenario" &
    side+=($!)
    pids+=($!)
  done
  for scenario in "${after[@]}"; do
    (
      for pid in "${side[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 5; done; done
      scenario_test "$scenario"
    ) &
    pids+=($!)
  done
  echo "== molecule test -s ${scenarios[*]}: started side by side, then ${after[*]}" \
    "(their output follows the rest)"
fi

(
  set -e
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
  dist="$logs/dist"
  ansible-galaxy collection build "$collection" --output-path "$dist" >/dev/null
  ansible-galaxy collection install --force "$dist"/failover-vrrp-*.tar.gz -p "$dist/installed" >/dev/null 2>&1
  # the installed copy alone (not this tree): every plugin and role listed and documented
  # as in the source, every playbook parses
  for type in module filter connection role; do
    listed() {
      ansible-doc -t "$type" -l --json failover.vrrp \
        | "$py" -c 'import json, sys; print(*sorted(json.load(sys.stdin)))'
    }
    installed=$(ANSIBLE_COLLECTIONS_PATH="$dist/installed" listed)
    [ "$installed" = "$(listed)" ] || {
      echo "installed $type plugins differ from the source's: $installed" >&2
      exit 1
    }
    # shellcheck disable=SC2086
    ANSIBLE_COLLECTIONS_PATH="$dist/installed" ansible-doc -t "$type" $installed >/dev/null
  done
  for playbook in "$collection"/playbooks/*.yml; do
    ANSIBLE_COLLECTIONS_PATH="$dist/installed" ansible-playbook --syntax-check -i localhost, \
      "failover.vrrp.$(basename "$playbook" .yml)" >/dev/null
  done
  echo "built, installed and documented: $(basename "$dist"/failover-vrrp-*.tar.gz)"

  echo "== antsibull-changelog: fragments, changelog.yaml, CHANGELOG.md generated from it"
  (cd "$collection" && antsibull-changelog lint && antsibull-changelog lint-changelog-yaml \
    changelogs/changelog.yaml)
  generated="$logs/changelog"
  mkdir -p "$generated"
  cp -r "$collection"/{galaxy.yml,changelogs,CHANGELOG.md} "$generated"/
  (cd "$generated" && antsibull-changelog generate)
  cmp "$generated/CHANGELOG.md" "$collection/CHANGELOG.md" || {
    echo "CHANGELOG.md is not what antsibull-changelog generates from changelog.yaml" >&2
    exit 1
  }

  echo "== ansible-lint (production profile)"
  (cd "$collection" && ansible-lint --offline --profile production)
) &
static=$!
failed=()
wait "$static" || failed+=("sanity/build/lint")

if [ "$molecule" = 1 ]; then
  all=("${scenarios[@]}" "${after[@]}")  # in the order of $pids
  for i in "${!all[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    echo "== molecule test -s ${all[$i]}"
    cat "$logs/${all[$i]}"
    [ "$rc" -eq 0 ] || failed+=("molecule ${all[$i]}")
  done
  pids=()
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "ansible checks: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "ansible checks: all passed"
