"""The layering rules in pyproject.toml ``[tool.importlinter]`` hold, and they can fail.

Each rule is checked twice: on the source as it is (every contract kept), and on a copy with one
deliberately wrong import added (that contract broken, named in the output) — so a contract that
could never fail (a typo in a module name, a rule about nothing) is caught too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_every_contract_is_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


WRONG_IMPORTS = [
    ("control/plant.py", "import powerfirst.backtest.engine", "control (the contract and the plant)"),
    ("dispatch/model.py", "import powerfirst.market.sources", "dispatch is arrays in, schedule out"),
    ("dispatch/optimize.py", "import pathlib", "dispatch is arrays in, schedule out"),
    ("site/schema.py", "import powerfirst.policies", "the site layer never imports policies"),
    ("reporting/html.py", "import powerfirst.backtest.runner", "reporting renders result models"),
    # the plan's report names the planning layer's model only under TYPE_CHECKING; run-time is a cycle
    ("reporting/plan_report.py", "import powerfirst.planning.report_data", "no import cycles"),
    ("cli/common.py", "import powerfirst.backtest.engine", "the CLI renders result models"),
    ("market/series.py", "import powerfirst.backtest.runner", "no import cycles"),
    ("planning/cashflows.py", "import powerfirst.dispatch.model", "planning prices plans"),
    ("live/agent.py", "import powerfirst.dispatch.model", "live (the agent's wall clock)"),
]


@pytest.mark.parametrize(("module", "line", "contract"), WRONG_IMPORTS, ids=[w[0] for w in WRONG_IMPORTS])
def test_a_wrong_import_breaks_its_contract(source_copy: Path, module: str, line: str, contract: str) -> None:
    path = source_copy / "src" / "powerfirst" / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}  # deliberately wrong\n", encoding="utf-8")
    try:
        result = _lint(source_copy)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.rstrip().endswith("BROKEN")]
    assert any(contract in line for line in broken) or (
        contract in result.stdout.split("Broken contracts")[-1]
    ), result.stdout
