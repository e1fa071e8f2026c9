#!/usr/bin/env bash
# Create .venv at the repository root (Python >= 3.11) and install powerfirst with its test tools,
# at the versions pinned in requirements.lock (scripts/lock.sh refreshes it from pyproject.toml's ranges).
# Re-installs only when pyproject.toml or the lock changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.13 python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)" 2>/dev/null; then
      py="$cand"; break
    fi
  done
fi
if [ -z "$py" ]; then
  echo "powerfirst needs Python >= 3.11 (none found on PATH; set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.powerfirst-installed
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing powerfirst and its tools into .venv (log: .venv/install.log)..." >&2
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -r requirements.lock \
      && .venv/bin/python -m pip install --no-deps -e .; } \
      > .venv/install.log 2>&1; then
    tail -n 40 .venv/install.log >&2
    echo "installing into .venv failed; full log in .venv/install.log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
