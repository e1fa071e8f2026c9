"""One emulated miner's physics: work modes, sleep, warm-up ramp and reboot, as pure functions of time.

No task runs per miner: the state stores the last transition (when, from what) and every reading is
computed from the clock when asked, so ten thousand miners cost nothing between requests.

Times are *emulated* seconds: :class:`Clock` scales wall-clock time by ``time_scale`` (60 turns a
five-minute warm-up into five seconds). Power is watts at the wall [W], hashrate terahash per second
[TH/s]; power drawn is positive.

The numbers for the S19j Pro are the vendor's nameplate (104 TH/s at 29.5 J/TH ≈ 3,068 W); the
low-power mode, idle power and the warm-up and reboot durations are typical field values, not
measurements of one unit, and every one is a parameter of :class:`ModelSpec`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum

from powerfirst.errors import ConfigError

__all__ = ["MODELS", "Clock", "Fault", "MinerState", "ModelSpec", "WorkMode", "model_spec"]


class WorkMode(IntEnum):
    """Stock Antminer ``miner-mode`` / ``bitmain-work-mode`` values (web API ``set_miner_conf``)."""

    NORMAL = 0
    SLEEP = 1
    LOW = 3


class Fault(StrEnum):
    """What an emulated miner does wrong, injected per miner."""

    NONE = "none"
    SILENT = "silent"
    """Accepts connections on both ports but never answers (a hung control board)."""
    SLOW = "slow"
    """Answers every request after ``FleetConfig.slow_answer_s`` [s, wall clock]."""
    REJECT = "reject"
    """Answers reads, but every ``set_miner_conf`` is refused with an error code."""
    REBOOT = "reboot"
    """Reboots now: both ports refuse connections for ``ModelSpec.reboot_s``, then it warms up."""


@dataclass(frozen=True)
class ModelSpec:
    """A miner model's identity and physics (emulated seconds, watts, TH/s)."""

    name: str
    """Model as the firmware reports it in ``version``/``get_system_info`` (``Antminer S19j Pro``)."""
    subtype: str
    """Control/hash board type the web API ``miner_type`` reports."""
    hashrate_ths: dict[WorkMode, float]
    """Nominal hashrate per awake work mode [TH/s]."""
    power_w: dict[WorkMode, float]
    """Nominal wall power per awake work mode [W]."""
    idle_power_w: float = 15.0
    """Asleep: control board only, fans stopped [W]."""
    init_power_w: float = 250.0
    """While the hash boards initialise after a wake or boot, before hashing starts [W]."""
    init_s: float = 60.0
    """From wake (or end of boot) until hashing starts [emulated s]."""
    ramp_s: float = 240.0
    """From the start of hashing to nominal hashrate and power (linear) [emulated s]."""
    stop_s: float = 10.0
    """From a sleep command's effect to zero hashrate and idle power (linear) [emulated s]."""
    reboot_s: float = 90.0
    """Both APIs are down for this long after a reboot starts [emulated s]."""
    config_write_s: float = 20.0
    """A stock ``set_miner_conf`` answers only after this long (it rewrites the config and
    restarts bmminer; about 20 s on real units) [emulated s]."""

    def efficiency_j_per_th(self, mode: WorkMode = WorkMode.NORMAL) -> float:
        """Nominal energy per terahash in ``mode`` [J/TH]."""
        return self.power_w[mode] / self.hashrate_ths[mode]


MODELS: dict[str, ModelSpec] = {
    "S19jPro": ModelSpec(
        name="Antminer S19j Pro",
        subtype="BHB42601",
        hashrate_ths={WorkMode.NORMAL: 104.0, WorkMode.LOW: 78.0},
        power_w={WorkMode.NORMAL: 3068.0, WorkMode.LOW: 2150.0},
    ),
}


def model_spec(key: str) -> ModelSpec:
    """The spec for a model key (``S19jPro``); a clear error naming the known ones."""
    try:
        return MODELS[key]
    except KeyError:
        raise ConfigError(
            f"model: {key!r} is not an emulated model; known: {', '.join(sorted(MODELS))}"
        ) from None


@dataclass(frozen=True)
class Clock:
    """Emulated time: wall-clock seconds since start times ``time_scale``."""

    time_scale: float = 1.0
    start_wall_s: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ConfigError(f"time_scale: {self.time_scale} must be > 0 (1 = real time)")

    def now_s(self) -> float:
        """Emulated seconds since the clock started."""
        return (time.monotonic() - self.start_wall_s) * self.time_scale

    def wall_s(self, emulated_s: float) -> float:
        """Wall-clock seconds that ``emulated_s`` emulated seconds take."""
        return emulated_s / self.time_scale


@dataclass
class MinerState:
    """The last transition of one miner; readings follow from it and the clock."""

    spec: ModelSpec
    mode: WorkMode = WorkMode.NORMAL
    awake_mode: WorkMode = WorkMode.NORMAL
    """The mode a wake without an explicit mode restores (the mode it slept from)."""
    since_s: float = float("-inf")
    """When the current mode took effect [emulated s]; -inf: settled since long ago."""
    from_power_w: float = 0.0
    from_hashrate_ths: float = 0.0
    booted_at_s: float = 0.0
    down_until_s: float = float("-inf")
    """Rebooting: both APIs are down until then [emulated s]."""

    def power_w(self, now_s: float) -> float:
        """Wall power at ``now_s`` [W]."""
        return self._reading(now_s)[0]

    def hashrate_ths(self, now_s: float) -> float:
        """Hashrate at ``now_s`` [TH/s]."""
        return self._reading(now_s)[1]

    def is_down(self, now_s: float) -> bool:
        """Rebooting: no API answers."""
        return now_s < self.down_until_s

    def _reading(self, now_s: float) -> tuple[float, float]:
        spec = self.spec
        if self.is_down(now_s):
            return spec.init_power_w, 0.0
        elapsed_s = now_s - self.since_s
        if self.mode is WorkMode.SLEEP:
            left = max(0.0, 1.0 - elapsed_s / spec.stop_s)
            power = spec.idle_power_w + (self.from_power_w - spec.idle_power_w) * left
            return power, self.from_hashrate_ths * left
        target_power, target_hash = spec.power_w[self.mode], spec.hashrate_ths[self.mode]
        if elapsed_s < spec.init_s:
            return spec.init_power_w, 0.0
        done = min(1.0, (elapsed_s - spec.init_s) / spec.ramp_s)
        return spec.init_power_w + (target_power - spec.init_power_w) * done, target_hash * done

    def set_mode(self, mode: WorkMode, now_s: float) -> None:
        """Apply a work mode (what a finished ``set_miner_conf`` does); awake→awake re-inits too."""
        if mode == self.mode:
            return
        power, hashrate = self._reading(now_s)
        if mode is WorkMode.SLEEP:
            self.awake_mode = self.mode
        self.mode, self.since_s = mode, now_s
        self.from_power_w, self.from_hashrate_ths = power, hashrate

    def reboot(self, now_s: float) -> None:
        """Start a reboot: down for ``reboot_s``, then it warms up in the mode it had."""
        self.down_until_s = now_s + self.spec.reboot_s
        self.booted_at_s = self.down_until_s
        if self.mode is not WorkMode.SLEEP:
            self.since_s = self.down_until_s

    def uptime_s(self, now_s: float) -> float:
        """Seconds since the last boot ended [emulated s]."""
        return max(0.0, now_s - self.booted_at_s)

    def with_spec(self, spec: ModelSpec) -> MinerState:
        """The same state with other physics (tests shorten durations)."""
        return replace(self, spec=spec)
