"""The report's Jinja2 templates (``reporting/templates/``), autoescaped: every value is escaped
unless the template marks it safe (the inlined plotly.js and the figures' own HTML)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["render"]


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("powerfirst.reporting", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """The template ``template`` (a file of ``reporting/templates/``) rendered with ``context``."""
    return _environment().get_template(template).render(**context)
