"""Validation errors of a scenario file, one line each: the field, the value, the unit and the limit
(pydantic's message states the limit: "Input should be less than or equal to 600")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from powerfirst.site.messages import format_loc, unit_of, unknown_field_line

__all__ = ["format_scenario_errors"]

_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_usd_per_mw_year", "USD/MW-year"),
    ("_usd_per_mw_month", "USD/MW-month"),
    ("_usd_per_gpu_month", "USD/GPU-month"),
    ("_usd_per_mw", "USD/MW"),
    ("_usd_per_month", "USD/month"),
    ("usd_per_gpu", "USD/GPU"),
    ("_usd", "USD"),
    ("_pct_per_year", "%/year"),
    ("_pct_of_cost", "% of cost"),
    ("_pct", "%"),
    ("_mw_per_utility_mw", "IT MW per utility MW"),
    ("gpus_per_it_mw", "GPUs per IT MW"),
    ("watts_per_gpu", "W per GPU"),
    ("_mw", "MW"),
    ("_months", "months"),
    ("_usd_per_th_day", "USD/(TH/s)/day"),
    ("chunk_paths", "paths per task"),
    ("paths", "paths"),
    ("seed", "integer ≥ 0"),
    ("months", "calendar months 1–12"),
    ("_month", "YYYY-MM"),
    ("_years", "years"),
    ("_factor", "multiplier"),
    ("gpus", "GPUs"),
    ("pue", "ratio, meter power / IT power"),
)
"""Field-name endings and their units (first match wins: longer endings first)."""

_TAGS = {"colocation_lease", "gpu_cloud"}
"""Tags of the business union (pydantic puts them in an error's location)."""


def _fields_at(loc: tuple[int | str, ...], root: type[BaseModel]) -> list[str]:
    """Field names of the model at ``loc`` (for the nearest name to a typo)."""
    from powerfirst.planning.deals import ColocationLease, GpuCloud

    tagged: dict[str, type[BaseModel]] = {"colocation_lease": ColocationLease, "gpu_cloud": GpuCloud}
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if part in tagged:
            model = tagged[part]
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        args = (field.annotation, *getattr(field.annotation, "__args__", ()))
        found = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if not found:
            inner = [b for a in args for b in getattr(a, "__args__", ())]
            found = [b for b in inner if isinstance(b, type) and issubclass(b, BaseModel)]
        if not found:
            return []
        model = found[0]
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def format_scenario_errors(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem of a scenario ``root`` refused."""
    lines = []
    for err in exc.errors(include_url=False):
        raw_loc = tuple(err["loc"])
        loc = tuple(p for p in raw_loc if not (isinstance(p, str) and p in _TAGS))
        field, unit = format_loc(loc, "(scenario)"), unit_of(loc, _UNIT_SUFFIXES, from_parent=False)
        msg = str(err["msg"]).removeprefix("Value error, ")
        kind = err["type"]
        if kind == "missing":
            lines.append(f"{field}: required field is missing" + (f" [{unit}]" if unit else ""))
        elif kind in {"union_tag_not_found", "union_tag_invalid"}:
            tag = err["input"].get("kind") if isinstance(err["input"], dict) else None
            what = (
                "required field is missing" if kind == "union_tag_not_found" else f" = {tag!r}: unknown kind"
            )
            lines.append(f"{field}.kind{what}; one of: 'colocation_lease', 'gpu_cloud'")
        elif kind == "extra_forbidden":
            lines.append(unknown_field_line(field, str(raw_loc[-1]), _fields_at(raw_loc[:-1], root)))
        elif isinstance(err.get("input"), dict) or (
            isinstance(err.get("input"), list)
            and not all(isinstance(x, int | float | str) for x in err["input"])
        ):
            lines.append(f"{field}: {msg}")
        else:
            unit_text = f" {unit}" if unit else ""
            lines.append(f"{field} = {err.get('input')!r}{unit_text}: {msg}")
    return lines
