"""ASIC miners behind :class:`DeviceDriver`, through pyasic (docs/architecture.md, "Live control:
miner library").

Discovery is pyasic's own (``MinerFactory.get_multiple_miners``: the web root's digest realm and the
cgminer ``version`` reply name the firmware, ``get_system_info``/``version`` the model). Commands:

- stock Antminer (pyasic ``AntminerModern``): SLEEP reads ``get_miner_conf``, remembers the work
  mode, and writes the same config back with ``miner-mode`` 1 (``set_miner_conf``), as pyasic's
  ``stop_mining`` does, but the firmware's answer code (``M000``) decides ``accepted``; WAKE writes
  back the remembered mode (or, with ``power_limit_w`` below the normal-mode power, low-power mode 3).
  Stock firmware has no power target, so SET_POWER_LIMIT is refused as unsupported.
- many commands to stock Antminers (:meth:`MinerDriver.send_all`): the same config write through
  :class:`~powerfirst.live.miners.stock_bulk.StockBulkClient` (one kept connection per miner, the
  digest nonce reused: one POST per command), from the config of the last telemetry read; a
  fast-path failure other than a timeout (refused connection, framing, digest) falls back to pyasic
  for that miner. Telemetry reads take ``get_miner_conf`` over the same kept connection and
  ``summary+stats`` through :mod:`~powerfirst.live.miners.cgminer_rpc` (pyasic where either fails).
- other firmwares: pyasic's ``stop_mining``/``resume_mining``/``set_power_limit`` and their boolean.

Every library call runs under this driver's own per-firmware timeout (pyasic's cgminer reads wait up
to 100 s on their own), is retried at most ``retries`` times, and a failure is an outcome or an
UNAVAILABLE reading, never an exception. Power [W], hashrate [TH/s], times [s].
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from powerfirst.live.devices import (
    Action,
    Command,
    CommandOutcome,
    DeviceDriver,
    DeviceInfo,
    DeviceReading,
    DeviceStatus,
)
from powerfirst.live.miners import cgminer_rpc
from powerfirst.live.miners._pyasic import (
    AntminerModern,
    MinerFactory,
    MiningModeConfig,
    pyasic,
    pyasic_settings,
)
from powerfirst.live.miners.cgminer_rpc import RpcError
from powerfirst.live.miners.config import FirmwareTimeouts, MinerDriverConfig
from powerfirst.live.miners.stock_bulk import BulkError, StockBulkClient
from powerfirst.live.miners.telemetry import NAMEPLATE_J_PER_TH, classify, parse_power_w

__all__ = ["FirmwareTimeouts", "MinerDriver", "MinerDriverConfig"]

_T = TypeVar("_T")
_SLEEP, _NORMAL, _LOW = 1, 0, 3
_MODE_NAMES = {_NORMAL: "normal", _SLEEP: "sleep", _LOW: "low"}


def _with_mode(conf: dict[str, Any], mode: int) -> dict[str, Any]:
    """The full config pyasic writes for ``conf`` (pools included) with work mode ``mode``."""
    config = pyasic.MinerConfig.from_am_modern(conf)
    config.mining_mode = {
        _SLEEP: MiningModeConfig.sleep,
        _LOW: MiningModeConfig.low,
        _NORMAL: MiningModeConfig.normal,
    }[mode]()
    out: dict[str, Any] = config.as_am_modern()
    return out


def _family(miner: Any) -> str:
    firmware = str(getattr(miner, "firmware", "") or "").lower()
    return "stock" if firmware in ("", "stock") else firmware


class _AttemptError(Exception):
    """One attempt failed; the message is the reason an outcome or reading carries."""


class MinerDriver(DeviceDriver):
    """ASICs through pyasic: discover, sleep/wake/power-limit, read telemetry."""

    kind = "miner"

    def __init__(self, config: MinerDriverConfig) -> None:
        self.config = config
        self.max_concurrency = config.max_concurrency
        self._miners: dict[str, Any] = {}
        self._infos: dict[str, DeviceInfo] = {}
        self._awake_mode: dict[str, int] = {}
        self._conf: dict[str, dict[str, Any]] = {}
        """Each stock miner's last ``get_miner_conf`` answer (what a fast-path write posts back)."""
        self.bulk: StockBulkClient | None = None
        """The stock fast path's client, made on first use (its connections live in the loop)."""
        # pyasic's own limits sit under ours, so our timeout (not pyasic's) decides a failure.
        pyasic_settings.update("factory_get_timeout", max(1, math.ceil(config.discover_timeout_s)))
        write_s = max(t.write_s for t in config.timeouts.values())
        pyasic_settings.update("api_function_timeout", math.ceil(write_s) + 1)

    def _timeouts(self, miner: Any) -> FirmwareTimeouts:
        table = self.config.timeouts
        return table.get(_family(miner)) or table.get("default") or table.get("stock") or FirmwareTimeouts()

    async def _bounded(self, make: Callable[[], Awaitable[_T]], timeout_s: float, what: str) -> _T:
        """Run ``make()`` under ``timeout_s``, retried ``retries`` times; raise :class:`_AttemptError`."""
        reason = ""
        for _ in range(1 + self.config.retries):
            try:
                return await asyncio.wait_for(make(), timeout=timeout_s)
            except TimeoutError:
                reason = f"{what}: no answer within {timeout_s:g} s"
            except _AttemptError as exc:
                reason = str(exc)
            except Exception as exc:  # the library's own errors (APIError, httpx, parse)
                reason = f"{what}: {type(exc).__name__}: {exc}"
        raise _AttemptError(reason)

    # -- discovery ---------------------------------------------------------------------------
    async def discover(self) -> list[DeviceInfo]:
        """Identify every configured address with pyasic; unreachable ones are left out."""
        hosts = self.config.hosts()
        limit = asyncio.Semaphore(self.config.max_concurrency)
        factory = MinerFactory()
        budget_s = 2 * self.config.discover_timeout_s + 1.0

        async def one(ip: str) -> Any:
            async with limit:
                try:
                    return await asyncio.wait_for(factory.get_miner(ip), timeout=budget_s)
                except Exception:  # one address's failure leaves it out
                    return None

        found = [m for m in await asyncio.gather(*(one(ip) for ip in hosts)) if m is not None]
        infos = await asyncio.gather(*(self._describe(m) for m in found))
        for miner, info in zip(found, infos, strict=True):
            self._miners[info.device_id] = miner
            self._infos[info.device_id] = info
        return list(infos)

    async def _describe(self, miner: Any) -> DeviceInfo:
        ip = str(miner.ip)
        model = str(miner.model or "unknown").replace(" (Stock)", "")
        power_w: float | None = None
        efficiency = NAMEPLATE_J_PER_TH.get(model)
        try:
            stats = await self._bounded(lambda: miner.rpc.stats(), self._timeouts(miner).read_s, "stats")
            body = stats["STATS"][1]
            measured_w = parse_power_w(body)
            ideal_ths = float(body.get("total_rateideal", 0.0)) / 1000.0
            hashrate_ths = float(body.get("GHS 5s", 0.0)) / 1000.0
            at_speed = ideal_ths > 0 and hashrate_ths >= self.config.rules.running_fraction * ideal_ths
            if measured_w and at_speed:  # running at its settings: measured power and efficiency
                power_w, efficiency = measured_w, measured_w / ideal_ths
            elif efficiency is not None and ideal_ths > 0:  # asleep or warming up: nameplate
                power_w = efficiency * ideal_ths
        except (_AttemptError, LookupError, TypeError, ValueError):
            pass
        return DeviceInfo(
            device_id=ip,
            kind="miner",
            model=f"{miner.make} {model}".strip(),
            firmware=_family(miner),
            nominal_power_w=power_w or 0.0,
            efficiency_j_per_th=efficiency,
        )

    # -- commands ----------------------------------------------------------------------------
    async def send(self, command: Command) -> CommandOutcome:
        """Send one command; an outcome for every failure (unknown device, timeout, refusal)."""
        started = time.monotonic()
        miner = self._miners.get(command.device_id)
        if miner is None:
            return CommandOutcome(
                command.command_id, command.device_id, False, "unknown device (not discovered)"
            )
        try:
            message = await self._dispatch(miner, command)
            accepted = True
        except _AttemptError as exc:
            accepted, message = False, str(exc)
        return CommandOutcome(
            command.command_id, command.device_id, accepted, message, time.monotonic() - started
        )

    async def _dispatch(self, miner: Any, command: Command) -> str:
        timeout_s = self._timeouts(miner).write_s
        if isinstance(miner, AntminerModern):
            return await self._stock(miner, command, timeout_s)
        if command.action is Action.SLEEP:
            ok = await self._bounded(lambda: miner.stop_mining(), timeout_s, "stop_mining")
        elif command.action is Action.WAKE:
            ok = await self._bounded(lambda: miner.resume_mining(), timeout_s, "resume_mining")
            if ok and command.power_limit_w is not None:
                watts = int(command.power_limit_w)
                ok = await self._bounded(lambda: miner.set_power_limit(watts), timeout_s, "set_power_limit")
        elif command.action is Action.SET_POWER_LIMIT and command.power_limit_w is not None:
            watts = int(command.power_limit_w)
            ok = await self._bounded(lambda: miner.set_power_limit(watts), timeout_s, "set_power_limit")
        else:
            raise _AttemptError(f"{command.action}: not a miner command (or no power_limit_w)")
        if not ok:
            raise _AttemptError(f"{command.action}: refused by the firmware (or not supported)")
        return "ok"

    async def _stock(self, miner: Any, command: Command, timeout_s: float) -> str:
        ip = str(miner.ip)
        if command.action is Action.SET_POWER_LIMIT:
            raise _AttemptError("set_power_limit: not supported by stock Antminer firmware (work modes only)")
        if command.action not in (Action.SLEEP, Action.WAKE):
            raise _AttemptError(f"{command.action}: not a miner command")

        async def write() -> str:
            conf = await miner.web.get_miner_conf()
            if "bitmain-work-mode" not in conf:
                raise _AttemptError(
                    f"web API get_miner_conf: {conf.get('message', 'no work mode in the answer')}"
                )
            mode = self._mode_for(ip, conf, command)
            answer = await miner.web.set_miner_conf(_with_mode(conf, mode))
            if answer.get("code") != "M000" and answer.get("stats") != "success":
                raise _AttemptError(
                    f"set_miner_conf: refused ({answer.get('code', '')} {answer.get('msg') or answer.get('message', '')})"
                )
            self._conf[ip] = {**conf, "bitmain-work-mode": str(mode)}
            return f"miner-mode {mode} ({_MODE_NAMES[mode]})"

        return await self._bounded(write, timeout_s, "set_miner_conf")

    def _wake_mode(self, ip: str, power_limit_w: float | None) -> int:
        """The work mode a wake restores: the remembered one, or low power under a lower target."""
        if power_limit_w is None:
            return self._awake_mode.get(ip, _NORMAL)
        nominal = self._infos[ip].nominal_power_w if ip in self._infos else 0.0
        return _LOW if nominal and power_limit_w < nominal else _NORMAL

    def _bulk_client(self, miner: Any) -> StockBulkClient:
        if self.bulk is None:
            web = miner.web
            self.bulk = StockBulkClient(
                str(web.username or "root"), str(web.pwd or "root"), max_concurrency=self.max_concurrency
            )
        return self.bulk

    def _fast(self, command: Command) -> bool:
        miner = self._miners.get(command.device_id)
        return (
            self.config.bulk_stock
            and isinstance(miner, AntminerModern)
            and _family(miner) == "stock"
            and command.action in (Action.SLEEP, Action.WAKE)
        )

    async def send_all(self, commands: Iterable[Command]) -> list[CommandOutcome]:
        """Send many commands: SLEEP/WAKE to stock Antminers through the fast path (a failure other
        than a timeout falls back to pyasic for that miner), the rest through :meth:`send`, at most
        :attr:`max_concurrency` pyasic commands at once. Outcomes in order; never raises."""
        limit = asyncio.Semaphore(self.max_concurrency)

        async def slow(command: Command) -> CommandOutcome:
            async with limit:
                return await self.send(command)

        async def one(command: Command) -> CommandOutcome:
            if not self._fast(command):
                return await slow(command)
            outcome = await self._send_fast(command)
            return outcome if outcome is not None else await slow(command)

        return list(await asyncio.gather(*(one(c) for c in commands)))

    async def _send_fast(self, command: Command) -> CommandOutcome | None:
        """One SLEEP/WAKE through :class:`StockBulkClient`; None: the fast path failed (fall back)."""
        started = time.monotonic()
        miner = self._miners[command.device_id]
        ip = command.device_id
        timeout_s = self._timeouts(miner).write_s
        chosen: list[int] = []

        def payload(conf: dict[str, Any]) -> dict[str, Any]:
            mode = self._mode_for(ip, conf, command)
            chosen.append(mode)
            return _with_mode(conf, mode)

        def done(accepted: bool, message: str) -> CommandOutcome:
            return CommandOutcome(command.command_id, ip, accepted, message, time.monotonic() - started)

        try:
            answer = await asyncio.wait_for(
                self._bulk_client(miner).set_conf(ip, self._conf.get(ip), payload), timeout=timeout_s
            )
        except TimeoutError:
            return done(False, f"set_miner_conf: no answer within {timeout_s:g} s")
        except (BulkError, KeyError, TypeError, ValueError):
            return None  # the fast path could not do it: pyasic tries
        if answer.get("code") != "M000" and answer.get("stats") != "success":
            why = f"{answer.get('code', '')} {answer.get('msg') or answer.get('message', '')}"
            return done(False, f"set_miner_conf: refused ({why.strip()})")
        mode = chosen[-1]
        if ip in self._conf:
            self._conf[ip] = {**self._conf[ip], "bitmain-work-mode": str(mode)}
        return done(True, f"miner-mode {mode} ({_MODE_NAMES[mode]})")

    def _mode_for(self, ip: str, conf: dict[str, Any], command: Command) -> int:
        """The work mode ``command`` asks for, remembering the awake mode a sleep leaves."""
        current = int(conf["bitmain-work-mode"] or 0)
        if command.action is Action.SLEEP:
            if current != _SLEEP:
                self._awake_mode[ip] = current
            return _SLEEP
        return self._wake_mode(ip, command.power_limit_w)

    async def close(self) -> None:
        """Close the fast path's kept connections."""
        if self.bulk is not None:
            await self.bulk.close()
            self.bulk = None

    # -- telemetry ---------------------------------------------------------------------------
    async def read(self, device_id: str) -> DeviceReading:
        """One reading; UNAVAILABLE with the reason when the miner does not answer in time."""
        now = time.time()
        miner = self._miners.get(device_id)
        if miner is None:
            return DeviceReading(
                device_id, DeviceStatus.UNAVAILABLE, now, reason="unknown device (not discovered)"
            )
        timeout_s = self._timeouts(miner).read_s
        try:
            if isinstance(miner, AntminerModern):
                return await self._bounded(lambda: self._read_stock(miner, now), timeout_s, "read")
            return await self._bounded(lambda: self._read_generic(miner, now), timeout_s, "read")
        except _AttemptError as exc:
            return DeviceReading(device_id, DeviceStatus.UNAVAILABLE, now, reason=str(exc))

    async def _get_conf(self, miner: Any) -> dict[str, Any]:
        """``get_miner_conf``: over the fast path's kept connection when it is free, else pyasic."""
        if self.config.bulk_stock and _family(miner) == "stock":
            with contextlib.suppress(BulkError):
                conf = await self._bulk_client(miner).get_conf(str(miner.ip))
                if conf is not None:
                    return conf
        answer: dict[str, Any] = await miner.web.get_miner_conf()
        return answer

    async def _rpc(self, miner: Any) -> dict[str, Any]:
        """cgminer ``summary+stats``: the lean read (:mod:`.cgminer_rpc`) with the fast path on,
        pyasic's where that fails or the fast path is off."""
        if self.config.bulk_stock:
            with contextlib.suppress(RpcError):
                return dict(await cgminer_rpc.multicommand(str(miner.ip), "summary", "stats"))
        answer: dict[str, Any] = await miner.rpc.multicommand("summary", "stats")
        return answer

    async def _read_stock(self, miner: Any, now: float) -> DeviceReading:
        rpc, conf = await asyncio.gather(self._rpc(miner), self._get_conf(miner))
        if conf.get("success") is False:  # pyasic's web layer answers errors as {"success": False, ...}
            raise _AttemptError(f"web API get_miner_conf: {conf.get('message', 'failed')}")
        if "bitmain-work-mode" in conf:
            self._conf[str(miner.ip)] = conf
        if not rpc.get("summary") or not rpc.get("stats"):
            raise _AttemptError("cgminer API summary+stats: no answer (connection refused or closed)")
        try:
            summary = rpc["summary"][0]["SUMMARY"][0]
            stats = rpc["stats"][0]["STATS"][1]
            hashrate_ths = float(summary["GHS 5s"]) / 1000.0
            expected_ths = float(stats.get("total_rateideal", 0.0)) / 1000.0
            mode = int(conf["bitmain-work-mode"] or 0)
        except (LookupError, TypeError, ValueError) as exc:
            raise _AttemptError(f"read: unexpected answer ({type(exc).__name__}: {exc})") from None
        power_w = parse_power_w(stats)
        status, why = classify(mode != _SLEEP, hashrate_ths, expected_ths, power_w, self.config.rules)
        return DeviceReading(
            device_id=str(miner.ip),
            status=status,
            observed_at_s=now,
            power_w=power_w,
            hashrate_ths=hashrate_ths,
            # stock firmware has work modes, not power targets: in low-power mode the power it
            # runs at stands for its target, so a wake after a restart (the journal keeps it)
            # restores low power rather than normal mode
            power_limit_w=power_w if mode == _LOW else None,
            extra={"work_mode": _MODE_NAMES.get(mode, str(mode)), "detail": why},
        )

    async def _read_generic(self, miner: Any, now: float) -> DeviceReading:
        data = await miner.get_data(
            include=["hashrate", "expected_hashrate", "wattage", "wattage_limit", "is_mining"]
        )
        hashrate = float(data.hashrate) if data.hashrate is not None else None
        expected = float(data.expected_hashrate) if data.expected_hashrate is not None else None
        power = float(data.wattage) if data.wattage is not None else None
        status, why = classify(data.is_mining, hashrate, expected, power, self.config.rules)
        limit = float(data.wattage_limit) if data.wattage_limit is not None else None
        return DeviceReading(str(miner.ip), status, now, power, hashrate, limit, extra={"detail": why})
