"""A fleet of identical ASIC miners in the site file: its model or specification, power and limits.

Power is MW at the meter (IT power × PUE); see :mod:`powerfirst.site.schema` for the conventions.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from powerfirst.site import limits
from powerfirst.site.asic_catalog import asic_models, lookup_asic_model
from powerfirst.site.strict import Strict

__all__ = ["Fleet"]


class Fleet(Strict):
    """A fleet of identical ASIC miners.

    Give ``model`` from the bundled table (``powerfirst models`` lists it), or ``hashrate_ths`` and
    ``power_w`` per unit, not both (a model's values are the table's). The fleet is switched unit by
    unit, so its power is continuous in [min, max]; anti-cycling holds a unit off for
    ``min_off_time_min`` after it is switched off, and a unit that starts draws power for
    ``restart_time_min`` before it hashes again.
    """

    name: str = Field(min_length=1, max_length=64)
    model: str | None = None
    units: Annotated[int, limits.UNITS]
    hashrate_ths: Annotated[float, limits.HASHRATE_THS] | None = None
    """Hashrate per unit [TH/s]."""
    power_w: Annotated[float, limits.MINER_POWER_W] | None = None
    """Power per unit at the machine [W]."""
    pue: Annotated[float, limits.PUE] | None = None
    """Power usage effectiveness: meter power / machine power [-]. Give this or ``overhead_fraction``."""
    overhead_fraction: Annotated[float, limits.OVERHEAD_FRACTION] | None = None
    """Cooling and auxiliary power as a fraction of machine power [-] (PUE = 1 + overhead)."""
    pool_fee_fraction: float = Field(default=0.02, ge=0.0, lt=1.0)
    """Share of mining revenue kept by the pool [-]."""
    min_off_time_min: Annotated[float, limits.MIN_OFF_TIME_MIN] = 0.0
    """Anti-cycling: a unit switched off stays off at least this long [min]."""
    restart_time_min: Annotated[float, limits.RESTART_TIME_MIN] = 0.0
    """A unit that starts draws full power this long before it hashes [min]."""
    min_power_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of the fleet that must run in every interval (e.g. hosted machines under contract) [-]."""
    switch_block_units: Annotated[int, limits.UNITS] | None = None
    """Units that can only be switched together (a container, a breaker) [count]. Unset: unit by
    unit. Set, the fleet's power is a whole number of blocks and the hindsight optimum is a MILP."""

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str | None) -> str | None:
        if value is not None and lookup_asic_model(value) is None:
            known = ", ".join(m.model for m in asic_models().values())
            raise ValueError(
                f"unknown ASIC model; known models: {known} (or give hashrate_ths and power_w per unit)"
            )
        return value

    @model_validator(mode="after")
    def _resolve_spec(self) -> Fleet:
        if self.model is None and (self.hashrate_ths is None or self.power_w is None):
            raise ValueError("give either 'model' or both 'hashrate_ths' [TH/s] and 'power_w' [W] per unit")
        if self.model is not None and (self.hashrate_ths is not None or self.power_w is not None):
            given = " and ".join(
                f"{name} = {value:g}"
                for name, value in (("hashrate_ths", self.hashrate_ths), ("power_w", self.power_w))
                if value is not None
            )
            raise ValueError(
                f"model {self.model!r} sets hashrate_ths and power_w from the table (`powerfirst models`); "
                f"{given} conflicts: give either 'model' or 'hashrate_ths' and 'power_w', not both"
            )
        efficiency, (low, high) = self.efficiency_j_per_th, limits.EFFICIENCY_J_PER_TH
        if not low <= efficiency <= high:
            raise ValueError(
                f"power_w / hashrate_ths = {efficiency:.4g} J/TH is outside {low:g} to {high:g} J/TH "
                "(a unit mix-up? power_w is watts per machine, hashrate_ths TH/s per machine)"
            )
        if self.max_power_mw > limits.MAX_LOAD_MW:
            raise ValueError(
                f"the fleet draws {self.max_power_mw:,.0f} MW at full power (units × power_w × PUE); "
                f"the limit is {limits.MAX_LOAD_MW:,.0f} MW"
            )
        if self.pue is not None and self.overhead_fraction is not None:
            raise ValueError("give 'pue' or 'overhead_fraction', not both")
        if self.switch_block_units is not None and self.units % self.switch_block_units:
            raise ValueError(
                f"units {self.units} is not a whole number of switch blocks of {self.switch_block_units} units"
            )
        return self

    @property
    def unit_hashrate_ths(self) -> float:
        if self.hashrate_ths is not None:
            return self.hashrate_ths
        spec = lookup_asic_model(self.model or "")
        assert spec is not None  # guaranteed by _resolve_spec
        return spec.hashrate_ths

    @property
    def unit_power_w(self) -> float:
        if self.power_w is not None:
            return self.power_w
        spec = lookup_asic_model(self.model or "")
        assert spec is not None  # guaranteed by _resolve_spec
        return spec.power_w

    @property
    def effective_pue(self) -> float:
        if self.pue is not None:
            return self.pue
        if self.overhead_fraction is not None:
            return 1.0 + self.overhead_fraction
        return 1.0

    @property
    def efficiency_j_per_th(self) -> float:
        return self.unit_power_w / self.unit_hashrate_ths

    @property
    def hashrate_ths_total(self) -> float:
        return self.unit_hashrate_ths * self.units

    @property
    def max_power_mw(self) -> float:
        """Fleet at full power, measured at the meter (machines × PUE) [MW]."""
        return self.units * self.unit_power_w * self.effective_pue / 1e6

    @property
    def block_power_mw(self) -> float:
        """Power of one switch block at the meter [MW]; 0 when units switch one by one."""
        if self.switch_block_units is None:
            return 0.0
        return self.switch_block_units * self.unit_power_w * self.effective_pue / 1e6

    @property
    def min_power_mw(self) -> float:
        """Power that must run in every interval, at the meter [MW] (whole blocks, rounded up)."""
        must_run = self.max_power_mw * self.min_power_fraction
        block = self.block_power_mw
        if block > 0:
            return math.ceil(must_run / block - 1e-9) * block
        return must_run
