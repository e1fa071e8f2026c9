"""``powerfirst agent`` (the live loop) and ``powerfirst instruct`` (manual instructions to it)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from powerfirst.cli.common import console, fail
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.interrupt import Interrupted
from powerfirst.live import eventloop
from powerfirst.live.agent import StepRecord
from powerfirst.live.journal import INSTRUCTION_KINDS, Journal
from powerfirst.live.logs import use_json_logs
from powerfirst.live.metrics import AgentMetrics
from powerfirst.live.settlement import settlement
from powerfirst.live.setup import journal_path, live_setup, miner_driver, replay_setup, slurm_driver
from powerfirst.policies.registry import STRATEGIES, load_site

__all__ = ["agent", "instruct", "settlement_report"]

KEPT = "the journal holds every command sent and its state; the next start reconciles the open ones"


def agent(
    site_file: Annotated[
        Path, typer.Argument(help="Site YAML file with a live: section.", metavar="SITE.yaml")
    ],
    strategy: Annotated[str, typer.Option(help=f"The policy that decides: {', '.join(STRATEGIES)}.")],
    replay: Annotated[
        bool, typer.Option(help="Replay the --start..--end history on a fast clock instead of the live feed.")
    ] = False,
    start: Annotated[str | None, typer.Option(help="--replay: first day (or time) of the history.")] = None,
    end: Annotated[str | None, typer.Option(help="--replay: last day (or end time) of the history.")] = None,
    speed: Annotated[
        float, typer.Option(help="--replay: agent seconds per real second (900 = 15 minutes per second).")
    ] = 900.0,
    prices: Annotated[str | None, typer.Option(help="--replay: price SOURCE (as for backtest).")] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="--replay: go on from the interval the journal last started (after a crash), deciding "
            "the ones before again without commanding anything."
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the commands instead of sending them.")] = False,
    log_json: Annotated[
        bool,
        typer.Option(
            help="Structured logs: each interval, command wave and watchdog trip as a JSON line on stderr."
        ),
    ] = False,
    journal: Annotated[
        Path | None,
        typer.Option(help="Command journal (SQLite); default: live.journal beside the site file."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT (default: live.metrics_port)."),
    ] = None,
) -> None:
    """Run the live agent: decide each interval with the strategy, command the miners, confirm."""
    try:
        site = load_site(site_file)
        if replay:
            if start is None or end is None:
                raise ConfigError("--replay needs --start and --end (the history to replay)")
            if not 0 < speed <= 1e7:
                raise ConfigError(f"--speed = {speed:g}: agent seconds per real second must be in (0, 1e7]")
            setup = replay_setup(site, strategy, start, end, speed=speed, prices=prices)
        else:
            if start is not None or end is not None or prices is not None or resume:
                raise ConfigError(
                    "--start, --end, --prices and --resume belong to --replay; a live run starts now"
                )
            setup = live_setup(site, strategy)
        assert site.live is not None
        config = site.live
        port = metrics_port if metrics_port is not None else config.metrics_port
        if port is not None and not 1 <= port <= 65_535:
            raise ConfigError(f"--metrics-port = {port}: a TCP port must be in [1, 65535]")
        path = journal_path(site_file, config, journal)
        if dry_run:
            path = path.with_name(path.name + ".dry-run")
        book = Journal(path)
        if resume:
            _check_resume(book, setup.start_s, setup.end_s)
    except PowerfirstError as exc:
        if "book" in locals():
            book.close()
        fail(exc)
    if log_json:
        use_json_logs()
    metrics = AgentMetrics()
    if port is not None:
        try:
            metrics.serve(port)
        except OSError as exc:
            book.close()
            fail(ConfigError(f"metrics port {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror})"))
        console.print(f"metrics on http://127.0.0.1:{port}/metrics")
    console.print(
        f"agent: {setup.description}, strategy {strategy}, journal {path}" + (" (dry run)" if dry_run else "")
    )

    def echo(line: str) -> None:
        console.print(line, highlight=False, markup=False)

    def show(record: StepRecord) -> None:
        when = dt.datetime.fromtimestamp(record.start_s, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        echo(
            f"{when}  {float(record.power_mw.sum()):8.2f} MW  miners {sum(record.running):>6} wanted "
            f"{sum(record.observed_running):>6} hashing  {record.commands:>5} commands  {record.basis}"
        )

    async def main() -> None:
        driver = miner_driver(config)
        jobs = slurm_driver(config)
        try:
            live = setup.agent(
                config,
                book,
                driver,
                dry_run=dry_run,
                echo=echo,
                metrics=metrics,
                on_step=show,
                jobs_driver=jobs,
            )
            await live.run(setup.start_s, setup.end_s, resume=resume)
            states = live.device_states()
            tally: dict[str, int] = {}
            for state in states.values():
                key = state.split(" ")[0]
                tally[key] = tally.get(key, 0) + 1
            echo("miners: " + (", ".join(f"{n} {k}" for k, n in sorted(tally.items())) or "none commanded"))
            echo("commands: " + ", ".join(f"{n} {k}" for k, n in sorted(book.counts_by_state().items())))
        finally:
            await setup.source.close()
            if driver is not None:
                await driver.close()
            if jobs is not None:
                await jobs.close()

    try:
        eventloop.run(main())
    except Interrupted as exc:
        exc.kept = KEPT
        raise
    except PowerfirstError as exc:
        fail(exc)
    finally:
        metrics.stop()
        book.close()


def _check_resume(book: Journal, start_s: float, end_s: float | None) -> None:
    """``--resume`` needs a journal whose last started interval lies in this replay's window."""
    last = book.get_state("last_step_s")
    if last is None:
        raise ConfigError(
            f"--resume: the journal {book.path} has no interval started, so there is nothing to resume; "
            "run without --resume (or give --journal the interrupted run's journal)"
        )
    if not start_s <= last < (end_s if end_s is not None else float("inf")):
        when = dt.datetime.fromtimestamp(last, dt.UTC).isoformat()
        raise ConfigError(
            f"--resume: the journal {book.path} last started {when}, outside this replay's window; "
            "resume with the interrupted run's --start and --end"
        )


def instruct(
    site_file: Annotated[
        Path, typer.Argument(help="Site YAML file of the running agent.", metavar="SITE.yaml")
    ],
    kind: Annotated[
        str, typer.Argument(help=f"One of {', '.join(INSTRUCTION_KINDS)}.", metavar="INSTRUCTION")
    ],
    mw: Annotated[float | None, typer.Option(help="curtail: megawatts to take off now [MW].")] = None,
    note: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
    source: Annotated[
        str | None, typer.Option(help="A grid event's source (e.g. ercot-ers, the utility); with --event-id.")
    ] = None,
    event_id: Annotated[
        str | None, typer.Option(help="A grid event's id: the same event from the same source is taken once.")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(help="How long the instruction holds [min] (default: until released).")
    ] = None,
    journal: Annotated[Path | None, typer.Option(help="The agent's journal (default: live.journal).")] = None,
) -> None:
    """Queue an instruction for the agent: curtail --mw N, hold, or release (back to the policy);
    a grid event with --source and --event-id (taken once, logged for settlement)."""
    try:
        site = load_site(site_file)
        if site.live is None:
            raise ConfigError("the site file has no live: section")
        if kind not in INSTRUCTION_KINDS:
            raise ConfigError(f"INSTRUCTION = {kind!r}: choose one of {', '.join(INSTRUCTION_KINDS)}")
        if kind == "curtail" and (mw is None or not 0 < mw <= 100_000):
            raise ConfigError(f"--mw = {mw}: curtail needs the megawatts to take off, in (0, 100000] MW")
        if kind != "curtail" and mw is not None:
            raise ConfigError(f"--mw belongs to curtail, not {kind}")
        if (source is None) != (event_id is None):
            raise ConfigError("--source and --event-id name a grid event together: give both or neither")
        for flag, value in (("--source", source), ("--event-id", event_id)):
            if value is not None and not value.strip():
                raise ConfigError(f"{flag} = {value!r}: a grid event needs a non-empty {flag[2:]}")
        if minutes is not None and not 0 < minutes <= 7 * 24 * 60:
            raise ConfigError(f"--minutes = {minutes:g}: must be in (0, 10080] minutes (a week)")
        path = journal_path(site_file, site.live, journal)
        if not path.is_file():  # a typo would queue where no agent ever looks
            raise ConfigError(
                f"journal {path}: no such file; start the agent first (it makes its journal), or give "
                "--journal the running agent's journal"
            )
        book = Journal(path, owner=False)
        try:
            at = dt.datetime.now(dt.UTC).timestamp()
            seq = book.queue_instruction(
                kind, at, mw, note, source=source, event_id=event_id, minutes=minutes
            )
        finally:
            book.close()
    except PowerfirstError as exc:
        fail(exc)
    console.print(f"instruction {seq} queued in {path}: {kind}" + (f" {mw:g} MW" if mw else ""))


def settlement_report(
    site_file: Annotated[Path, typer.Argument(help="Site YAML file of the agent.", metavar="SITE.yaml")],
    source: Annotated[str, typer.Option(help="The grid event's source.")],
    event_id: Annotated[str, typer.Option(help="The grid event's id.")],
    journal: Annotated[Path | None, typer.Option(help="The agent's journal (default: live.journal).")] = None,
) -> None:
    """Print a grid event's settlement record as JSON: arrival, every command's times, baseline and
    measured site power, deviations with reasons."""
    try:
        site = load_site(site_file)
        if site.live is None:
            raise ConfigError("the site file has no live: section")
        path = journal_path(site_file, site.live, journal)
        if not path.is_file():
            raise ConfigError(f"journal {path}: no such file; give --journal the running agent's journal")
        book = Journal(path, owner=False)
        try:
            record = settlement(book, source, event_id)
        finally:
            book.close()
    except PowerfirstError as exc:
        fail(exc)
    typer.echo(json.dumps(record, indent=2))
