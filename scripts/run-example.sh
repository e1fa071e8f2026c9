#!/usr/bin/env bash
# Main job: backtest the bundled West Texas example over 2023 with all three strategies,
# print the comparison and write the report to out/west-texas-2023/report.html.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
exec .venv/bin/powerfirst backtest examples/west-texas-fixed-block.yaml \
  --start 2023-01-01 --end 2023-12-31 \
  --strategy perfect --strategy breakeven --strategy always-on \
  --out out/west-texas-2023 "$@"
