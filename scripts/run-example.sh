#!/usr/bin/env bash
# Main job: backtest the bundled examples over 2023 and write their reports.
#  1. West Texas mining site: perfect, breakeven, always-on, rolling → out/west-texas-2023/
#  2. West Texas hybrid site (ASICs + GPU hall, 4CP, ancillary services): perfect, rule-based,
#     breakeven, rolling → out/west-texas-hybrid-2023/
# rolling fits its forecaster on 2021–2022 and re-solves every hour of 2023: one to two minutes per site.
# Extra arguments go to both runs (e.g. --tx-fees-btc-per-block 0.3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
cd "$root"
.venv/bin/powerfirst backtest examples/west-texas-fixed-block.yaml \
  --start 2023-01-01 --end 2023-12-31 \
  --strategy perfect --strategy breakeven --strategy always-on --strategy rolling \
  --out out/west-texas-2023 "$@"
exec .venv/bin/powerfirst backtest examples/west-texas-hybrid.yaml \
  --start 2023-01-01 --end 2023-12-31 \
  --strategy perfect --strategy rule-based --strategy breakeven --strategy rolling \
  --out out/west-texas-hybrid-2023 "$@"
