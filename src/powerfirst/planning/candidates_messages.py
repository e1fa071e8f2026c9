"""The errors of the candidates file (``powerfirst sites rank``): one line per problem naming the
field (with the candidate's name), the value, the unit and the limit."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from powerfirst.errors import ConfigError

__all__ = ["candidates_error"]

_UNITS: tuple[tuple[str, str], ...] = (
    ("_usd_per_ph_day", "USD/PH/day"),
    ("_usd_per_gpu_hour", "USD/GPU-hour"),
    ("_usd_per_mw", "USD/MW"),
    ("usd_per_gpu", "USD/GPU"),
    ("_pct_per_year", "%/year"),
    ("_life_years", "years"),
    ("_usd_per_mwh_thermal", "USD/MWh thermal"),
    ("_fraction", "fraction, 0 to 1"),
    ("_kw_per_gpu", "kW per GPU"),
    ("pue", "ratio, meter power / IT power"),
    ("policy_risk_score", "score, 0 to 10"),
    ("market_years", "year"),
    ("months", "calendar month"),
)
_TAG = re.compile(r"^(str|int|float|bool|none|dict\[.*|list\[.*|literal\[.*|function-.*|[A-Z]\w*)$")
"""Parts pydantic adds to an error's location for a union's member (not field names)."""


def _unit(parts: list[str]) -> str:
    for part in reversed(parts):
        for suffix, unit in _UNITS:
            if part.endswith(suffix):
                return f" {unit}"
    return " weight" if parts[:1] == ["weights"] and len(parts) == 2 else ""


def _location(loc: tuple[int | str, ...], data: Any) -> tuple[str, list[str]]:
    text, parts, node = "", [], data
    for part in loc:
        if isinstance(part, str) and _TAG.match(part):
            continue
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            name = node.get("name") if isinstance(node, dict) else None
            text += f"[{part}]" + (f" ({name!r})" if isinstance(name, str) else "")
        else:
            node = node.get(part) if isinstance(node, dict) else None
            text += f".{part}" if text else part
            parts.append(part)
    return text or "(file)", parts


def _nested(value: Any) -> bool:
    """A mapping, or a list holding one (a whole section: not printed as a value)."""
    return isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
    )


def candidates_error(
    exc: ValidationError, data: Any, source: str | None, models: Sequence[type[BaseModel]]
) -> ConfigError:
    """One line per problem: ``field = value unit: limit`` (``models``: those of the file, whose
    field names are suggested for a misspelt one)."""
    names = sorted({name for model in models for name in model.model_fields})
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        field, parts = _location(tuple(err["loc"]), data)
        unit = _unit(parts)
        msg = str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            near = difflib.get_close_matches(str(err["loc"][-1]), names, n=1, cutoff=0.75)
            line = f"{field}: unknown field" + (f"; did you mean {near[0]!r}?" if near else "")
        elif err["type"] == "missing":
            line = f"{field}: required field is missing" + (f" [{unit.strip()}]" if unit else "")
        elif _nested(value) or (err["type"] == "value_error" and not parts):
            line = f"{field}: {msg}"
        else:
            line = f"{field} = {value!r}{unit}: {msg}"
        if line not in lines:
            lines.append(line)
    text = lines[0] if len(lines) == 1 else "\n" + "\n".join(f"  - {line}" for line in lines)
    return ConfigError(f"invalid candidates file: {text}", source=source)
