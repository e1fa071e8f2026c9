"""The report's Jinja2 templates (``reporting/templates/``), autoescaped: every value is escaped
unless it is :class:`~markupsafe.Markup` or the template marks it safe (the inlined plotly.js and
the figures' own HTML). Values are escaped as :func:`html.escape` does (``'`` is ``&#x27;``), so
the report reads as it did before the templates."""

from __future__ import annotations

import html
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

__all__ = ["render"]


def _escape(value: Any) -> Any:
    """A value as the template prints it: Markup as is, anything else escaped like html.escape."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value)))


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("powerfirst.reporting", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_escape,
    )


def render(template: str, **context: Any) -> str:
    """The template ``template`` (a file of ``reporting/templates/``) rendered with ``context``."""
    return _environment().get_template(template).render(**context)
