"""Assemble an agent from a site file: replay (a window of history at ``speed``) or live (wall clock).

- **Replay** loads the window like a backtest does (:func:`~powerfirst.backtest.runner.prepare_backtest`:
  the same prices, hashprice and market data, the same learned policy) and reveals it through a
  :class:`~powerfirst.live.signals.ReplaySource` on a :class:`~powerfirst.live.clock.ReplayClock`.
- **Live** reads the site's ``live.price_feed`` over HTTP on the wall clock, with the hashprice of
  the site's Bitcoin source; strategies that learn from market history need a replay (or a
  history), so a live run takes the strategies that decide from what they observe.

The miners come from the site's ``live.fleets`` through the miner driver; ``dry_run`` still
discovers and reads them but sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from powerfirst.backtest.reveal import WindowReveal
from powerfirst.backtest.runner import learned_policy, prepare_backtest
from powerfirst.control.contract import Policy
from powerfirst.errors import ConfigError
from powerfirst.live.agent import Agent, StepRecord
from powerfirst.live.clock import AgentClock, ReplayClock, WallClock
from powerfirst.live.devices import DeviceDriver
from powerfirst.live.journal import Journal
from powerfirst.live.metrics import AgentMetrics
from powerfirst.live.signals import HttpPriceFeed, ReplaySource, SignalSource
from powerfirst.market.information import MarketData
from powerfirst.policies import make_policy
from powerfirst.site.compile import hashprice_source, site_params
from powerfirst.site.live import LiveConfig
from powerfirst.site.params import SiteParams
from powerfirst.site.schema import Site

__all__ = ["AgentSetup", "journal_path", "live_setup", "miner_driver", "replay_setup", "slurm_driver"]

LIVE_INTERVAL_S = 900.0
"""Settlement interval of a live price feed [s] (ERCOT and most ISOs settle real time in 15 minutes)."""


@dataclass
class AgentSetup:
    """What an agent is made of (built by :func:`replay_setup` or :func:`live_setup`)."""

    params: SiteParams
    policy: Policy
    source: SignalSource
    hashprice_daily: pd.Series
    clock: AgentClock
    start_s: float
    end_s: float | None
    market: MarketData | None
    description: str
    window: WindowReveal | None = None
    """A replay's calendar and demand (GPU hall sites)."""

    def agent(
        self,
        config: LiveConfig,
        journal: Journal,
        driver: DeviceDriver | None,
        *,
        dry_run: bool = False,
        echo: Callable[[str], None] = print,
        metrics: AgentMetrics | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
        jobs_driver: DeviceDriver | None = None,
    ) -> Agent:
        return Agent(
            site=self.params,
            policy=self.policy,
            source=self.source,
            hashprice_daily=self.hashprice_daily,
            clock=self.clock,
            driver=driver,
            config=config,
            journal=journal,
            market=self.market,
            dry_run=dry_run,
            echo=echo,
            metrics=metrics,
            on_step=on_step,
            window=self.window,
            jobs_driver=jobs_driver,
        )


def _check_site(site: Site) -> LiveConfig:
    if site.live is None:
        raise ConfigError(
            "the site file has no live: section; add live.fleets (each fleet's miner addresses) to run the agent"
        )
    return site.live


def replay_setup(
    site: Site, strategy: str, start: str, end: str, *, speed: float, prices: str | None = None
) -> AgentSetup:
    """A replay of the window [start, end] of the site's (or ``prices``) history at ``speed``."""
    _check_site(site)
    bt = prepare_backtest(site, start, end, prices=prices)
    policy = learned_policy(bt, strategy)
    if policy.uses_hindsight:
        raise ConfigError(
            f"--strategy {strategy}: the hindsight bound sees the whole window in advance; no agent can "
            "run it (it is a bound for backtests, not a strategy)"
        )
    inputs = bt.inputs
    series = pd.Series(inputs.price_usd_per_mwh, index=inputs.times_utc)
    interval_s = inputs.site.interval_hours * 3600.0
    start_s = bt.window.start_utc.value / 1e9
    daily = bt.hashprice.daily(bt.window.start_utc - pd.Timedelta(days=1), bt.window.end_utc)
    return AgentSetup(
        params=inputs.site,
        policy=policy,
        source=ReplaySource(series, interval_s, f"replay of {bt.prices.name} at {speed:g}x"),
        hashprice_daily=daily,
        clock=ReplayClock(start_s, speed),
        start_s=start_s,
        end_s=bt.window.end_utc.value / 1e9,
        market=bt.market,
        description=f"replay of {bt.window.start_utc.isoformat()} to {bt.window.end_utc.isoformat()} at {speed:g}x",
        window=WindowReveal(inputs, bt.demand_before_gpus),
    )


def live_setup(site: Site, strategy: str, *, now_s: float | None = None) -> AgentSetup:
    """The live loop on the wall clock, reading ``live.price_feed``."""
    config = _check_site(site)
    if site.gpu_hall is not None:
        raise ConfigError(
            "gpu_hall: a live run has no source of inference demand and rental prices yet; run a "
            "GPU hall site as a --replay (its training jobs are driven through Slurm)"
        )
    if config.price_feed is None:
        raise ConfigError("live.price_feed: a live run needs a price feed URL (or run a --replay)")
    policy = make_policy(strategy, site)
    if policy.learns or policy.uses_hindsight:
        raise ConfigError(
            f"--strategy {strategy}: it learns from market history (or needs hindsight); a live run "
            "takes always-on, breakeven or rule-based, or run it as a --replay"
        )
    clock = WallClock()
    now = clock.now() if now_s is None else now_s
    start_s = (now // LIVE_INTERVAL_S + 1) * LIVE_INTERVAL_S
    today = pd.Timestamp(int(now * 1e9), tz="UTC").floor("D")
    daily = hashprice_source(site.bitcoin).daily(today - pd.Timedelta(days=2), today + pd.Timedelta(days=2))
    feed = config.price_feed
    return AgentSetup(
        params=site_params(site, LIVE_INTERVAL_S / 3600.0),
        policy=policy,
        source=HttpPriceFeed(feed.url, LIVE_INTERVAL_S, timeout_s=feed.timeout_s),
        hashprice_daily=daily,
        clock=clock,
        start_s=start_s,
        end_s=None,
        market=None,
        description=f"live, prices from {feed.url}",
    )


def journal_path(site_file: Path, config: LiveConfig, given: Path | None) -> Path:
    """``--journal``, else ``live.journal`` relative to the site file."""
    if given is not None:
        return given
    path = Path(config.journal)
    return path if path.is_absolute() else site_file.parent / path


def miner_driver(config: LiveConfig) -> DeviceDriver | None:
    """The miner driver for every address of ``live.fleets`` (None: no fleet has miners), with
    the fleets' longest per-request timeout for reads."""
    addresses = [a for group in config.fleets.values() for a in group.addresses]
    if not addresses:
        return None
    from powerfirst.live.miners import FirmwareTimeouts, MinerDriver, MinerDriverConfig

    read_s = max(group.timeout_s for group in config.fleets.values())
    networks = [a for a in addresses if "/" in a]
    ips = [a for a in addresses if "/" not in a]
    return MinerDriver(
        MinerDriverConfig(
            ips=ips,
            networks=networks,
            timeouts={"stock": FirmwareTimeouts(read_s=read_s, write_s=max(30.0, read_s))},
        )
    )


def slurm_driver(config: LiveConfig) -> DeviceDriver | None:
    """The Slurm driver of ``live.slurm`` (None: no Slurm section): only jobs in its preemptible
    partition may be shed, never those in its protected one."""
    slurm = config.slurm
    if slurm is None:
        return None
    from powerfirst.live.slurm import SlurmDriver

    return SlurmDriver(
        slurm_conf=slurm.slurm_conf,
        protected_partitions=(slurm.protected_partition,),
        preemptible_partitions=(slurm.preemptible_partition,),
    )
