#!/usr/bin/env bash
# Set-up shared by the README's two commands and CI: Debian packages (as root), then a
# venv in .venv with failover and its test/Ansible extras. Idempotent; safe to run again.
# As another user it installs no packages (it says which are missing) and still makes
# the venv: unit tests and linters need no root; the tiers that do skip (fail in CI).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# python3-venv: the venv; procps: sysctl in the lab's namespaces; the rest: the lab,
# its client and the interop peers; prometheus: a real server and promtool for the
# metrics tests; systemd: systemd-analyze checks the shipped unit.
debs=(python3 python3-venv procps iproute2 iputils-ping nftables keepalived frr tshark prometheus
  systemd)
missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bootstrap: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: not root, so no apt-get; missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: tests that need them skip (fail under CI=true); as root run" \
      "scripts/bootstrap.sh to install them" >&2
  fi
fi

py=${PYTHON:-python3}
if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv  # none, or half made (a venv without ensurepip has no pip)
  "$py" -m venv .venv || {
    rm -rf .venv
    echo "bootstrap: cannot make a venv with $py (Debian: apt-get install python3-venv, as root)" >&2
    exit 2
  }
fi
stamp=.venv/.failover-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,ansible]"
  touch "$stamp"
fi
