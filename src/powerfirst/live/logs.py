"""Structured logs of the agent: one JSON object per line on stderr (``--log-json``).

Every record has ``ts`` (UTC, ISO 8601), ``level``, ``event`` and the event's fields (an interval's
decision, a wave of commands, a watchdog trip, an instruction), so a log shipper can index them
without parsing prose. The console lines on stdout stay for people; the journal stays the record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

__all__ = ["JsonLines", "log_event", "use_json_logs"]

LOGGER = logging.getLogger("powerfirst.live")


class JsonLines(logging.Formatter):
    """A record as one JSON line: ts, level, event and its ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        line = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **fields,
        }
        return json.dumps(line, default=str, sort_keys=False)


def use_json_logs(stream: Any = None) -> logging.Handler:
    """Send the agent's events to ``stream`` (default stderr) as JSON lines; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    return handler


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with its fields (nothing is formatted unless a handler is set)."""
    if LOGGER.isEnabledFor(level):
        LOGGER.log(level, event, extra={"fields": fields})
