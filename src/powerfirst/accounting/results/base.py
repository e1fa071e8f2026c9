"""The base of every result model: frozen, no unknown fields, and sections that a site does not
have left out of its JSON (not written as null)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

__all__ = ["ResultModel"]


class ResultModel(BaseModel):
    """A part of a backtest's results; fields dump in the order they are declared (the JSON order)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    omitted_when_none: ClassVar[frozenset[str]] = frozenset()
    """Fields left out of the dump when None (a section the site or the job does not have)."""

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.omitted_when_none:
            return data
        return {k: v for k, v in data.items() if not (v is None and k in self.omitted_when_none)}
