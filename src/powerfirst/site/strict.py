"""The base of every model of the site file: strict, frozen, no unknown fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Strict"]


class Strict(BaseModel):
    """Strict: YAML ``yes`` is not a number and ``"5"`` is not 5; NaN and infinity are not values;
    a field the model does not have is an error (with the nearest name, see
    :mod:`powerfirst.site.messages`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
