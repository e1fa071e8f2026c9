#!/usr/bin/env bash
# Refresh requirements.lock: resolve pyproject.toml's ranges (with the dev and bench extras) in a
# throw-away virtual environment and pin every package it installed. Run after changing a dependency;
# scripts/bootstrap.sh installs from the lock, so the tests run on exactly these versions.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q "$root[dev,bench]"
{
  echo "# Pinned versions the test suite runs on (scripts/lock.sh writes this file from pyproject.toml)."
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -v -i '^powerfirst[ =@]'
} > "$root/requirements.lock.tmp"
mv "$root/requirements.lock.tmp" "$root/requirements.lock"
echo "wrote $root/requirements.lock"
