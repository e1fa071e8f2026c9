"""The journal's rows as Python values, and its SQLite schema (see :mod:`powerfirst.live.journal`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from powerfirst.live.devices import Action, Command

__all__ = [
    "INSTRUCTION_KINDS",
    "OPEN_STATES",
    "SCHEMA",
    "CommandState",
    "Instruction",
    "JournaledCommand",
    "journaled",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS powerfirst_journal (version INTEGER NOT NULL);
INSERT INTO powerfirst_journal (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM powerfirst_journal);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    action TEXT NOT NULL,
    power_limit_w REAL,
    reason TEXT NOT NULL,
    event_id TEXT,
    state TEXT NOT NULL,
    journaled_at REAL NOT NULL,
    sent_at REAL,
    answered_at REAL,
    confirmed_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS commands_open ON commands (state);
CREATE INDEX IF NOT EXISTS commands_device ON commands (device_id, journaled_at);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    desired TEXT NOT NULL,
    restore_power_limit_w REAL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (source, event_id)
);
CREATE TABLE IF NOT EXISTS instructions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    mw REAL,
    note TEXT NOT NULL DEFAULT '',
    queued_at REAL NOT NULL,
    taken_at REAL,
    source TEXT,
    event_id TEXT,
    minutes REAL
);
CREATE TABLE IF NOT EXISTS power (
    at REAL NOT NULL,
    site_power_mw REAL NOT NULL,
    baseline_mw REAL,
    event_id TEXT
);
CREATE TABLE IF NOT EXISTS agent_state (
    key TEXT PRIMARY KEY,
    value REAL NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


class CommandState(StrEnum):
    """Where a command is in its life (see the module docstring)."""

    JOURNALED = "journaled"
    SENT = "sent"
    ACKED = "acked"
    REJECTED = "rejected"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    SUPERSEDED = "superseded"


OPEN_STATES = (CommandState.JOURNALED, CommandState.SENT, CommandState.ACKED)
"""Commands whose effect is not settled yet: a restarted agent reconciles these."""


@dataclass(frozen=True)
class JournaledCommand:
    """A command as the journal holds it."""

    command: Command
    state: CommandState
    reason: str
    event_id: str | None
    journaled_at: float
    sent_at: float | None
    attempts: int
    message: str


@dataclass(frozen=True)
class Instruction:
    """An instruction: ``curtail`` (``mw`` [MW] off now), ``hold`` (keep devices as they are) or
    ``release`` (back to the policy); a grid event also names its ``source`` and ``event_id`` and
    may last ``minutes`` [min] (None: until released)."""

    seq: int
    kind: str
    mw: float | None
    note: str
    queued_at: float
    source: str | None = None
    event_id: str | None = None
    minutes: float | None = None


INSTRUCTION_KINDS = ("curtail", "hold", "release")


def journaled(row: tuple[Any, ...]) -> JournaledCommand:
    command_id, device_id, action, limit, state, reason, event_id, at, sent_at, attempts, message = row
    return JournaledCommand(
        Command(str(command_id), str(device_id), Action(action), None if limit is None else float(limit)),
        CommandState(state),
        str(reason),
        None if event_id is None else str(event_id),
        float(at),
        None if sent_at is None else float(sent_at),
        int(attempts),
        str(message),
    )
