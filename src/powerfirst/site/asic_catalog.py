"""A small table of common ASIC miner models (nominal TH/s and W per unit).

The table ships as ``data/asic_models.csv`` with a source for every row, so a fleet can be given
as ``model: S19jPro, units: 10000``. Lookup ignores case, spaces, dashes and underscores.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from powerfirst._paths import DATA_DIR

__all__ = ["AsicModel", "asic_models", "lookup_asic_model"]


@dataclass(frozen=True)
class AsicModel:
    """Nominal specification of one ASIC model."""

    model: str
    hashrate_ths: float
    """Hashrate per unit [TH/s]."""
    power_w: float
    """Power per unit at the wall of the machine [W]."""
    source: str

    @property
    def efficiency_j_per_th(self) -> float:
        """Energy per terahash [J/TH] = W / (TH/s)."""
        return self.power_w / self.hashrate_ths


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch == "+")


@cache
def asic_models() -> dict[str, AsicModel]:
    """All bundled models, keyed by their normalised name."""
    text = (DATA_DIR / "asic_models.csv").read_text(encoding="utf-8")
    table: dict[str, AsicModel] = {}
    for row in csv.DictReader(text.splitlines()):
        model = AsicModel(
            model=row["model"],
            hashrate_ths=float(row["hashrate_ths"]),
            power_w=float(row["power_w"]),
            source=row["source"],
        )
        table[_key(model.model)] = model
    return table


def lookup_asic_model(name: str) -> AsicModel | None:
    """The bundled model called ``name``, or None when the table has no such model."""
    return asic_models().get(_key(name))
