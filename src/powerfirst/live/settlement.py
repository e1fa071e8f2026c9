"""What a grid event's settlement needs, from the agent's journal.

For one event (a source and its event id): when it arrived; every command it caused with when it
was sent, acknowledged and confirmed; the baseline (site power measured when it arrived) and the
measured site power every few seconds while it lasted; and every deviation — a command not
confirmed, with the device's reason. Power in MW, times in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from powerfirst.errors import AgentError
from powerfirst.live.journal import CommandState, Journal

__all__ = ["settlement"]


def _utc(at: float | None) -> str | None:
    return None if at is None else dt.datetime.fromtimestamp(at, dt.UTC).isoformat()


def settlement(journal: Journal, source: str, event_id: str) -> dict[str, Any]:
    """The event's record (see the module docstring). AgentError when the agent never took it."""
    event = journal.event(source, event_id)
    if event is None:
        raise AgentError(f"no grid event {event_id!r} from {source!r} in {journal.path}")
    kind, payload, received = event
    commands = journal.event_commands(event_id)
    samples = journal.power_samples(event_id)
    sent = [j.sent_at for j, _, _ in commands if j.sent_at is not None]
    answered = [a for _, a, _ in commands if a is not None]
    confirmed = [c for j, _, c in commands if c is not None and j.state is CommandState.CONFIRMED]
    baseline = samples[0][2] if samples else None
    powers = [p for _, p, _ in samples]
    mean = sum(powers) / len(powers) if powers else None
    return {
        "source": source,
        "event_id": event_id,
        "instruction": kind,
        "mw": payload.get("mw"),
        "minutes": payload.get("minutes"),
        "received_utc": _utc(received),
        "commands": len(commands),
        "first_sent_utc": _utc(min(sent) if sent else None),
        "last_sent_utc": _utc(max(sent) if sent else None),
        "last_answered_utc": _utc(max(answered) if answered else None),
        "last_confirmed_utc": _utc(max(confirmed) if confirmed else None),
        "seconds_to_last_sent": None if not sent else max(sent) - received,
        "seconds_to_last_confirmed": None if not confirmed else max(confirmed) - received,
        "baseline_mw": baseline,
        "mean_site_power_mw": mean,
        "min_site_power_mw": min(powers) if powers else None,
        "delivered_mw": None if baseline is None or mean is None else baseline - mean,
        "power": [{"at_utc": _utc(at), "site_power_mw": p} for at, p, _ in samples],
        "deviations": [
            {
                "device_id": j.command.device_id,
                "action": str(j.command.action),
                "state": str(j.state),
                "message": j.message,
            }
            for j, _, _ in commands
            if j.state is not CommandState.CONFIRMED
        ],
    }
