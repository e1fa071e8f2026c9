#!/usr/bin/env bash
# Whole test suite: lint (ruff), types (mypy --strict), layering rules (import-linter) and tests
# (pytest), in .venv.
# Installs .venv (scripts/bootstrap.sh), Chromium for the report test (scripts/system-deps.sh) and
# Slurm + munge for the GPU-job tests (scripts/install-slurm.sh, apt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
"$root/scripts/system-deps.sh"
"$root/scripts/install-slurm.sh"
cd "$root"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
.venv/bin/pytest "$@"
