"""The agent's command journal: every command written durably before it is sent (SQLite, WAL).

A restarted agent reads here what it asked of every device, so it neither loses nor repeats a
command. The journal holds

- ``commands``: one row per command, keyed by a deterministic ``command_id`` (the interval, the
  device and the action: recomputing the same decision after a restart finds the same row), with
  its life: ``journaled`` → ``sent`` → ``acked`` | ``rejected`` → ``confirmed`` | ``failed``, or
  ``superseded`` when a later decision replaced it before it was sent;
- ``devices``: the state the agent wants each device in, and the power target to restore on wake;
- ``events``: grid and manual instructions, keyed by (source, event id): the same event from the
  same source twice is one event;
- ``instructions``: instructions queued by ``powerfirst instruct`` for the agent: manual ones, and
  grid events (a source and an event id, e.g. a utility's demand-response call) held for a duration;
- ``power``: measured and baseline site power for settlement [MW], a few seconds apart;
- ``agent_state``: the agent's own progress (the last interval it started, for ``--resume``);
- ``audit``: every command, outcome and decision, in order.

Every write is one transaction committed with ``synchronous=FULL`` (the WAL is synced at commit),
so a row the agent has read back survives a SIGKILL or a power cut. Times are seconds since the
epoch (UTC) as floats, on the agent's clock (a replay's clock in a replay).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from powerfirst.errors import AgentError
from powerfirst.live.devices import Action, Command, CommandOutcome
from powerfirst.live.journal_records import (
    INSTRUCTION_KINDS,
    OPEN_STATES,
    SCHEMA,
    CommandState,
    Instruction,
    JournaledCommand,
    journaled,
)

__all__ = ["INSTRUCTION_KINDS", "OPEN_STATES", "CommandState", "Instruction", "Journal", "JournaledCommand"]


class Journal:
    """One agent's journal at ``path`` (created when missing). ``owner=True`` takes the agent's
    exclusive lock (a second agent on the same journal is an :class:`~powerfirst.errors.AgentError`);
    ``owner=False`` only queues instructions and reads."""

    def __init__(self, path: Path, *, owner: bool = True) -> None:
        self.path = path
        self._lock_fd: int | None = None
        self._made_lock: Path | None = None  # a lock file this refused open made: removed again
        if path.is_dir():
            raise AgentError(f"journal {path}: is a folder; give --journal the path of a journal file")
        if not path.parent.is_dir():
            raise AgentError(
                f"journal {path}: its folder {path.parent} does not exist; create it or give another --journal"
            )
        if owner:
            lock_path = path.with_name(path.name + ".lock")
            self._made_lock = None if lock_path.exists() else lock_path
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise AgentError(
                    f"journal {path}: cannot open its lock file {lock_path} ({exc.strerror})"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise AgentError(
                    f"{path}: another agent holds this journal (lock {lock_path}); "
                    "stop it first, or give this agent its own --journal"
                ) from None
            self._lock_fd = fd
        existed = path.exists()
        try:
            self._db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
            if existed:  # never write into a file this program did not make
                marked = self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'powerfirst_journal'"
                ).fetchone()
                if marked is None:
                    raise AgentError(
                        f"{path}: exists and is not a powerfirst agent journal; it is left as it is "
                        "(give --journal a new path or an existing journal)"
                    )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._refused()
            raise AgentError(
                f"{path}: exists and is not a powerfirst agent journal ({exc}); it is left as it is"
            ) from exc
        except AgentError:
            self._refused()
            raise
        self._made_lock = None

    def _refused(self) -> None:
        """Close, and remove the lock file this open made beside a file it refuses."""
        made = self._made_lock
        self.close()
        if made is not None:
            made.unlink(missing_ok=True)

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            self._db = None  # type: ignore[assignment]
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- commands
    def journal(
        self, commands: list[Command], *, reason: str, at: float, event_id: str | None = None
    ) -> list[Command]:
        """Write ``commands`` in one transaction before any is sent; returns those newly written.
        A command whose id is already journaled (the same decision made again, e.g. after a
        restart) is not written twice and not returned."""
        written: list[Command] = []
        with self._tx() as db:
            for command in commands:
                cur = db.execute(
                    "INSERT OR IGNORE INTO commands (command_id, device_id, action, power_limit_w, reason,"
                    " event_id, state, journaled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        command.command_id,
                        command.device_id,
                        str(command.action),
                        command.power_limit_w,
                        reason,
                        event_id,
                        str(CommandState.JOURNALED),
                        at,
                    ),
                )
                if cur.rowcount == 1:
                    written.append(command)
                    self._audit(db, at, "journaled", command_id=command.command_id, reason=reason)
        return written

    def mark_sent(self, command_ids: list[str], at: float) -> None:
        """The commands are about to go out (one transaction)."""
        with self._tx() as db:
            db.executemany(
                "UPDATE commands SET state = ?, sent_at = ?, attempts = attempts + 1 WHERE command_id = ?",
                [(str(CommandState.SENT), at, c) for c in command_ids],
            )
            for c in command_ids:
                self._audit(db, at, "sent", command_id=c)

    def mark_answered(self, outcomes: list[CommandOutcome], at: float) -> None:
        """The devices' answers: acknowledged or rejected (one transaction)."""
        with self._tx() as db:
            for outcome in outcomes:
                state = CommandState.ACKED if outcome.accepted else CommandState.REJECTED
                db.execute(
                    "UPDATE commands SET state = ?, answered_at = ?, message = ? WHERE command_id = ?",
                    (str(state), at, outcome.message, outcome.command_id),
                )
                self._audit(
                    db,
                    at,
                    str(state),
                    command_id=outcome.command_id,
                    device_id=outcome.device_id,
                    message=outcome.message,
                    seconds=round(outcome.seconds, 4),
                )

    def settle(self, settled: list[tuple[str, CommandState, str]], at: float) -> None:
        """Close commands: (id, ``confirmed`` | ``failed`` | ``superseded``, why) (one transaction)."""
        with self._tx() as db:
            for command_id, state, message in settled:
                if state not in (CommandState.CONFIRMED, CommandState.FAILED, CommandState.SUPERSEDED):
                    raise ValueError(f"settle() takes confirmed, failed or superseded, not {state}")
                db.execute(
                    "UPDATE commands SET state = ?, confirmed_at = ?, message = ? WHERE command_id = ?",
                    (str(state), at, message, command_id),
                )
                self._audit(db, at, str(state), command_id=command_id, message=message)

    def open_commands(self) -> list[JournaledCommand]:
        """Commands not yet settled (journaled, sent or acknowledged), oldest first."""
        marks = ",".join("?" * len(OPEN_STATES))
        rows = self._db.execute(
            "SELECT command_id, device_id, action, power_limit_w, state, reason, event_id, journaled_at,"
            f" sent_at, attempts, message FROM commands WHERE state IN ({marks}) ORDER BY journaled_at, command_id",
            [str(s) for s in OPEN_STATES],
        ).fetchall()
        return [journaled(row) for row in rows]

    def command(self, command_id: str) -> JournaledCommand | None:
        row = self._db.execute(
            "SELECT command_id, device_id, action, power_limit_w, state, reason, event_id, journaled_at,"
            " sent_at, attempts, message FROM commands WHERE command_id = ?",
            (command_id,),
        ).fetchone()
        return None if row is None else journaled(row)

    def last_command(self, device_id: str, action: Action | None = None) -> JournaledCommand | None:
        """The latest command journaled for ``device_id`` (of ``action`` when given)."""
        sql = (
            "SELECT command_id, device_id, action, power_limit_w, state, reason, event_id, journaled_at,"
            " sent_at, attempts, message FROM commands WHERE device_id = ?"
            + (" AND action = ?" if action is not None else "")
            + " ORDER BY journaled_at DESC, rowid DESC LIMIT 1"
        )
        args: tuple[str, ...] = (device_id, str(action)) if action is not None else (device_id,)
        row = self._db.execute(sql, args).fetchone()
        return None if row is None else journaled(row)

    def sent_since(self, since: float) -> dict[str, int]:
        """Commands sent to each device since ``since`` [count] (the per-device cycling limit)."""
        rows = self._db.execute(
            "SELECT device_id, COUNT(*) FROM commands WHERE sent_at >= ? GROUP BY device_id", (since,)
        ).fetchall()
        return {str(d): int(n) for d, n in rows}

    def counts_by_state(self) -> dict[str, int]:
        rows = self._db.execute("SELECT state, COUNT(*) FROM commands GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in rows}

    # --- desired device states
    def set_desired(self, wanted: list[tuple[str, str, float | None]], at: float) -> None:
        """Record the state the agent wants each device in: (device id, ``running`` or
        ``curtailed``, the power target to restore on wake [W] or None to keep the one recorded)."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO devices (device_id, desired, restore_power_limit_w, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET desired = excluded.desired,"
                " restore_power_limit_w = COALESCE(excluded.restore_power_limit_w, devices.restore_power_limit_w),"
                " updated_at = excluded.updated_at",
                [(d, s, w, at) for d, s, w in wanted],
            )

    def desired(self) -> dict[str, tuple[str, float | None]]:
        """Every device's desired state and power target to restore [W]."""
        rows = self._db.execute("SELECT device_id, desired, restore_power_limit_w FROM devices").fetchall()
        return {str(d): (str(s), None if w is None else float(w)) for d, s, w in rows}

    # --- events and instructions
    def record_event(self, source: str, event_id: str, kind: str, payload: dict[str, Any], at: float) -> bool:
        """Take a grid or manual event once: False when (source, event_id) was taken before."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO events (source, event_id, kind, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (source, event_id, kind, json.dumps(payload, sort_keys=True), at),
            )
            fresh = cur.rowcount == 1
            self._audit(
                db,
                at,
                "event" if fresh else "event_repeated",
                source=source,
                event_id=event_id,
                event_kind=kind,
            )
            return fresh

    def queue_instruction(
        self,
        kind: str,
        at: float,
        mw: float | None = None,
        note: str = "",
        *,
        source: str | None = None,
        event_id: str | None = None,
        minutes: float | None = None,
    ) -> int:
        """Queue an instruction for the agent; returns its number."""
        if kind not in INSTRUCTION_KINDS:
            raise AgentError(f"instruction {kind!r} is not one of {', '.join(INSTRUCTION_KINDS)}")
        if (source is None) != (event_id is None):
            raise AgentError("a grid event names both its source and its event id")
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO instructions (kind, mw, note, queued_at, source, event_id, minutes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, mw, note, at, source, event_id, minutes),
            )
            self._audit(
                db,
                at,
                "instruction_queued",
                instruction=kind,
                mw=mw,
                note=note,
                source=source,
                event_id=event_id,
                minutes=minutes,
            )
            return int(cur.lastrowid or 0)

    def take_instructions(self, at: float) -> list[Instruction]:
        """Instructions queued and not yet taken, oldest first; each is taken once."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT seq, kind, mw, note, queued_at, source, event_id, minutes FROM instructions"
                " WHERE taken_at IS NULL ORDER BY seq"
            ).fetchall()
            db.execute("UPDATE instructions SET taken_at = ? WHERE taken_at IS NULL", (at,))
            for row in rows:
                self._audit(db, at, "instruction_taken", seq=row[0], instruction=row[1], mw=row[2])
        return [
            Instruction(
                int(s),
                str(k),
                None if m is None else float(m),
                str(n),
                float(q),
                None if src is None else str(src),
                None if e is None else str(e),
                None if mins is None else float(mins),
            )
            for s, k, m, n, q, src, e, mins in rows
        ]

    def event(self, source: str, event_id: str) -> tuple[str, dict[str, Any], float] | None:
        """(kind, payload, received at) of a grid event, None when it was never taken."""
        row = self._db.execute(
            "SELECT kind, payload, received_at FROM events WHERE source = ? AND event_id = ?",
            (source, event_id),
        ).fetchone()
        return None if row is None else (str(row[0]), json.loads(row[1]), float(row[2]))

    def event_commands(self, event_id: str) -> list[tuple[JournaledCommand, float | None, float | None]]:
        """The commands sent for a grid event with (answered at, confirmed at), in order."""
        rows = self._db.execute(
            "SELECT command_id, device_id, action, power_limit_w, state, reason, event_id, journaled_at,"
            " sent_at, attempts, message, answered_at, confirmed_at FROM commands WHERE event_id = ?"
            " ORDER BY journaled_at, command_id",
            (event_id,),
        ).fetchall()
        return [
            (
                journaled(tuple(r[:11])),
                None if r[11] is None else float(r[11]),
                None if r[12] is None else float(r[12]),
            )
            for r in rows
        ]

    def power_samples(self, event_id: str | None = None) -> list[tuple[float, float, float | None]]:
        """(at, measured site power [MW], baseline [MW]) samples, of one event when given."""
        sql = (
            "SELECT at, site_power_mw, baseline_mw FROM power"
            + (" WHERE event_id = ?" if event_id else "")
            + " ORDER BY at"
        )
        rows = self._db.execute(sql, (event_id,) if event_id else ()).fetchall()
        return [(float(a), float(p), None if b is None else float(b)) for a, p, b in rows]

    # --- the agent's own progress
    def set_state(self, key: str, value: float, detail: dict[str, Any] | None = None) -> None:
        """Remember a number (and a mapping) across restarts: ``last_step_s``, the last interval
        started; ``override``, the instruction or grid event in force."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO agent_state (key, value, detail) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE"
                " SET value = excluded.value, detail = excluded.detail",
                (key, value, None if detail is None else json.dumps(detail, sort_keys=True)),
            )

    def get_state(self, key: str) -> float | None:
        row = self._db.execute("SELECT value FROM agent_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else float(row[0])

    def get_state_detail(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT detail FROM agent_state WHERE key = ?", (key,)).fetchone()
        return None if row is None or row[0] is None else dict(json.loads(row[0]))

    # --- settlement and audit
    def record_power(
        self, at: float, site_power_mw: float, baseline_mw: float | None, event_id: str | None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO power (at, site_power_mw, baseline_mw, event_id) VALUES (?, ?, ?, ?)",
                (at, site_power_mw, baseline_mw, event_id),
            )

    def audit(self, at: float, kind: str, **detail: Any) -> None:
        with self._tx() as db:
            self._audit(db, at, kind, **detail)

    def audit_many(self, at: float, kind: str, details: list[dict[str, Any]]) -> None:
        """Several audit records of one kind in one transaction."""
        with self._tx() as db:
            for detail in details:
                self._audit(db, at, kind, **detail)

    def audit_log(self, kind: str | None = None) -> list[tuple[float, str, dict[str, Any]]]:
        sql = "SELECT at, kind, detail FROM audit" + (" WHERE kind = ?" if kind else "") + " ORDER BY seq"
        rows = self._db.execute(sql, (kind,) if kind else ()).fetchall()
        return [(float(at), str(k), json.loads(d)) for at, k, d in rows]

    @staticmethod
    def _audit(db: sqlite3.Connection, at: float, kind: str, **detail: Any) -> None:
        db.execute(
            "INSERT INTO audit (at, kind, detail) VALUES (?, ?, ?)",
            (at, kind, json.dumps(detail, sort_keys=True, default=str)),
        )
