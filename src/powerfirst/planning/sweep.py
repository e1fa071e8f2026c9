"""Running a sweep's independent pieces here or on a Dask cluster, with the same results.

A planning sweep — sites × scenarios × market years × chunks of Monte Carlo paths — is a list of
independent tasks: each is a call of a picklable function whose result depends only on its
arguments (a Monte Carlo chunk carries its own seed, spawned from the run's seed by its index), so
the list gives identical results, in the same order, whichever :class:`Executor` runs it:

* :class:`InProcess` — one after the other in this process (``--cluster none``, the default);
* :class:`DaskCluster` — ``dask.distributed``: ``--cluster local`` starts a ``LocalCluster`` whose
  scheduler and workers listen on 127.0.0.1 only (worker processes, one thread each; no
  dashboard), ``--cluster tcp://HOST:PORT`` connects to a running scheduler (one launched by
  Kubernetes, Slurm or ``dask scheduler``; its workers need powerfirst installed and, for
  backtests, the same data files).

Sweeping belongs on an existing distributed engine, not a home-made one (DOMAIN.md, "Markets
beyond one machine"): this module only chooses the executor and keeps the order.
"""

from __future__ import annotations

import logging
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from powerfirst.errors import ConfigError

__all__ = ["DaskCluster", "Executor", "InProcess", "executor", "parse_cluster"]

T = TypeVar("T")
R = TypeVar("R")

_TCP = re.compile(r"^tcp://(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")
MAX_LOCAL_WORKERS = 256
"""Upper limit on ``--workers`` for a local cluster."""


class Executor(ABC):
    """Runs ``fn`` over items, returning the results in the items' order."""

    name: str
    workers: int

    @abstractmethod
    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, done: Callable[[int], None] | None = None
    ) -> list[R]:
        """``[fn(item) for item in items]``; ``done(k)`` after each result (k: results so far)."""


class InProcess(Executor):
    """One after the other, in this process."""

    name = "this process"
    workers = 1

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, done: Callable[[int], None] | None = None
    ) -> list[R]:
        results = []
        for k, item in enumerate(items, start=1):
            results.append(fn(item))
            if done is not None:
                done(k)
        return results


class DaskCluster(Executor):
    """Tasks submitted to a ``dask.distributed`` client (see the module docstring)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self.workers = max(1, len(client.scheduler_info().get("workers", {})))

    def map(
        self, fn: Callable[[T], R], items: Sequence[T], *, done: Callable[[int], None] | None = None
    ) -> list[R]:
        from distributed import as_completed

        futures = self.client.map(_Warned(fn), list(items), pure=False)
        for k, _ in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
            if done is not None:
                done(k)
        # in submission order; a task's error is raised here
        answers: list[tuple[R, list[tuple[type[Warning], str]]]] = self.client.gather(futures)
        for (
            _,
            caught,
        ) in answers:  # a worker's warnings (a cache it cannot write) told here, as in this process
            for category, message in caught:
                warnings.warn(message, category, stacklevel=2)
        return [result for result, _ in answers]


@dataclass(frozen=True)
class _Warned(Generic[T, R]):
    """``fn`` run on a worker with the warnings it raises kept and sent back with its result (a
    worker's own warnings end in its log, which the user running the sweep does not see)."""

    fn: Callable[[T], R]

    def __call__(self, item: T) -> tuple[R, list[tuple[type[Warning], str]]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = self.fn(item)
        return result, [(w.category, str(w.message)) for w in caught]


def parse_cluster(value: str | None) -> tuple[str, str | None]:
    """``("none", None)``, ``("local", None)`` or ``("tcp", "tcp://HOST:PORT")`` from ``--cluster``."""
    text = (value or "none").strip()
    if text.lower() in {"none", ""}:
        return "none", None
    if text.lower() == "local":
        return "local", None
    match = _TCP.match(text)
    if match is None or not 1 <= int(match.group("port")) <= 65535:
        raise ConfigError(
            f"--cluster: {value!r} is not a cluster: give 'none' (this process), 'local' (a Dask "
            "LocalCluster on 127.0.0.1) or tcp://HOST:PORT (a running Dask scheduler, port 1-65535)"
        )
    return "tcp", text


@contextmanager
def executor(
    cluster: str | None = None, *, workers: int = 2, connect_timeout_s: float = 30.0
) -> Iterator[Executor]:
    """The executor for ``--cluster`` (see :func:`parse_cluster`); a local cluster is started here
    and stopped on exit, a remote one is only connected to. ``workers``: local worker processes."""
    kind, address = parse_cluster(cluster)
    if kind == "none":
        yield InProcess()
        return
    if not 1 <= workers <= MAX_LOCAL_WORKERS:
        raise ConfigError(f"--workers: {workers} worker processes is outside 1-{MAX_LOCAL_WORKERS}")
    from distributed import Client, LocalCluster

    if kind == "local":
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                scheduler_port=0,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as local,
            Client(local, timeout=connect_timeout_s) as client,  # type: ignore[no-untyped-call]
        ):
            yield DaskCluster(
                client,
                f"Dask LocalCluster on 127.0.0.1, {workers} worker process{'es' if workers != 1 else ''}",
            )
        return
    try:
        client = Client(address, timeout=connect_timeout_s)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"--cluster: no Dask scheduler answered at {address} within {connect_timeout_s:g} s ({exc})"
        ) from None
    with client:
        yield DaskCluster(client, f"Dask scheduler at {address}")
