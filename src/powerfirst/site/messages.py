"""Validation errors of the site file, one line each: the field (or the command-line flag that set
it), the value, the unit and the limit."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["format_loc", "format_validation_error", "unit_of", "unknown_field_line"]


_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_usd_per_gpu_hour", "USD/GPU-hour"),
    ("_usd_per_mwh_thermal", "USD/MWh thermal"),
    ("_usd_per_mw_year", "USD/MW-year"),
    ("_mwth_per_mw", "MW thermal per MW"),
    ("_mwth", "MW thermal"),
    ("gpu_hours", "GPU-hours"),
    ("gpus", "GPUs"),
    ("_hours", "hours"),
    ("_per_hour", "per hour"),
    ("_hour", "hour of day, market-local"),
    ("_usd", "USD"),
    ("_usd_per_ph_day", "USD/PH/day"),
    ("_usd_per_mwh", "USD/MWh"),
    ("_btc_per_block", "BTC/block"),
    ("_fraction", "fraction, 0 to 1"),
    ("_mw", "MW"),
    ("_min", "minutes"),
    ("_s", "s"),
    ("_ths", "TH/s"),
    ("_w", "W"),
    ("units", "count of machines"),
    ("intervals", "count of intervals"),
    ("pue", "ratio, meter power / machine power"),
)


def unit_of(
    loc: tuple[int | str, ...], suffixes: tuple[tuple[str, str], ...], *, from_parent: bool
) -> str | None:
    """The unit of the field at ``loc`` by the ending of its name (``suffixes``: ending → unit, the
    first match wins). ``from_parent``: a name without a unit ending takes its nearest parent's
    unit (a map such as ``adders_usd_per_mwh.tdsp``); otherwise only the innermost name counts."""
    for part in reversed(loc):
        if isinstance(part, str):
            for suffix, unit in suffixes:
                if part.endswith(suffix):
                    return unit
            if not from_parent:
                return None
    return None


def format_loc(loc: tuple[int | str, ...], root: str) -> str:
    """``a.b[2].c`` for an error's location; ``root`` (e.g. ``(site)``) for the file as a whole."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or root


def unknown_field_line(field: str, name: str, allowed: list[str]) -> str:
    """The line for a field the model does not have, with the nearest allowed name: one that adds a
    unit ending (block_price → block_price_usd_per_mwh), else a near spelling."""
    nearest = [f for f in allowed if f.startswith(name + "_")][:1] or difflib.get_close_matches(
        name, allowed, n=1, cutoff=0.75
    )
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    return f"{field}: unknown field{hint}"


def _unit_of(loc: tuple[int | str, ...]) -> str | None:
    return unit_of(loc, _UNIT_SUFFIXES, from_parent=True)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    return format_loc(loc, "(site)")


def _allowed_fields(
    loc: tuple[int | str, ...], root: type[BaseModel], union_tags: Mapping[str, type[BaseModel]]
) -> list[str]:
    """Field names of the model at ``loc`` below ``root`` (for suggesting the nearest name to a typo)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            if part in union_tags:
                model = union_tags[part]
                continue
            break
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            break
        model = candidates[0]
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def format_validation_error(
    exc: ValidationError,
    root: type[BaseModel],
    union_tags: Mapping[str, type[BaseModel]],
    fleets: list[Any] | None = None,
    options: Mapping[tuple[str, ...], str] | None = None,
) -> list[str]:
    """One line per problem: the field, the value, the unit and the limit (pydantic's message).

    ``root`` is the validated model (``Site``) and ``union_tags`` the tags of its discriminated
    unions (pydantic puts them in an error's location), for suggesting the nearest field name.

    ``options`` maps the fields set by command-line options to the option's flag: a problem in such
    a field names the flag (and the field it sets); a problem of a section holding one names it too.
    """
    lines = []
    for err in exc.errors(include_url=False):
        raw_loc = tuple(err["loc"])
        # drop the union tag pydantic inserts after a union field (not a field that shares its name)
        loc = tuple(
            p
            for i, p in enumerate(raw_loc)
            if not (
                isinstance(p, str) and p in union_tags and i > 0 and raw_loc[i - 1] in {"contract", "demand"}
            )
        )
        field, suffix = _format_loc(loc), ""
        flag = options.get(tuple(str(p) for p in loc)) if options else None
        if flag is not None:
            field, suffix = flag, f" (the option sets the site's {_format_loc(loc)})"
        elif options:
            within = [f for path, f in options.items() if path[: len(loc)] == loc]
            suffix = f" (with the option {', '.join(within)})" if within else ""
        if fleets is not None and len(loc) >= 2 and loc[0] == "fleets" and isinstance(loc[1], int):
            fleet = fleets[loc[1]] if loc[1] < len(fleets) else None
            if isinstance(fleet, dict) and "name" in fleet:
                field += f" (fleet {fleet['name']!r})"
        unit = _unit_of(loc)
        msg = str(err["msg"]).removeprefix("Value error, ")
        kind = err["type"]
        if kind == "missing":
            lines.append(f"{field}: required field is missing" + (f" [{unit}]" if unit else ""))
            continue
        if kind in {"union_tag_not_found", "union_tag_invalid"}:
            what = "contract" if loc and loc[-1] == "contract" else "demand"
            tags = "'index', 'fixed_block'" if what == "contract" else "'constant', 'trace', 'csv'"
            if kind == "union_tag_not_found":
                lines.append(f"{field}.kind: required field is missing; one of: {tags}")
            else:
                lines.append(
                    f"{field}.kind = {err['input'].get('kind')!r}: unknown {what} kind; one of: {tags}"
                )
            continue
        if kind == "extra_forbidden":
            allowed = _allowed_fields(raw_loc[:-1], root, union_tags)
            lines.append(unknown_field_line(field, str(raw_loc[-1]), allowed))
            continue
        value = err.get("input")
        if isinstance(value, dict | list):
            lines.append(f"{field}: {msg}{suffix}")
            continue
        unit_text = f" {unit}" if unit else ""
        lines.append(f"{field} = {value!r}{unit_text}: {msg}{suffix}")
    return lines
