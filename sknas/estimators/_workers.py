"""The local worker processes of ``n_jobs > 1``, and how they stop on Ctrl-C.

Ctrl-C in a terminal sends SIGINT to the whole process group: the main
process and every worker stop their running trial (marked FAIL,
"interrupted") by themselves. A SIGINT sent to the main process alone stops
the workers too: the main process then creates a stop file that each worker
watches, and a worker that sees it interrupts itself the same way. The main
process waits :data:`STOP_GRACE` seconds at most (a second Ctrl-C: not at
all) for the workers to record their trials, then kills those still running;
their trials are marked FAIL as their process died.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna

from sknas import _interrupts
from sknas._search import SearchOutcome
from sknas.estimators._job import SearchJob, run_worker_process
from sknas.estimators._progress import ProgressBar
from sknas.estimators._waiting import mark_orphans_failed
from sknas.evaluation.training import torch_threads

__all__ = ["assign_devices", "run_with_workers", "run_local_worker", "STOP_GRACE"]

#: Seconds the workers get, after an interrupt, to mark their trials and return.
STOP_GRACE = 30.0
_POLL = 0.2


@contextmanager
def _watch_stop_file(stop_file: str) -> Iterator[None]:
    """Send SIGINT to this process once ``stop_file`` exists (checked every 0.2 s)."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(_POLL):
            if os.path.exists(stop_file):
                if not _interrupts.count():
                    os.kill(os.getpid(), signal.SIGINT)
                return

    thread = threading.Thread(target=watch, name="sknas-stop-watcher", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def run_local_worker(
    stop_file: str,
    spec: Any,
    study_name: str,
    job: SearchJob,
    worker_index: int,
    n_threads: int | None,
) -> SearchOutcome:
    """Entry point of a local worker process: the job, stoppable by Ctrl-C or ``stop_file``.

    Parameters
    ----------
    stop_file : str
        Path whose creation by the main process stops this worker.
    spec, study_name, job, worker_index, n_threads
        As for :func:`sknas.estimators._job.run_worker_process`.

    Returns
    -------
    SearchOutcome
    """
    # Between tasks the (reusable) worker ignores Ctrl-C: an idle worker killed by it
    # would break the pool while the others still record their interrupted trials.
    # The main process stops idle workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with _interrupts.sigint_guard(force=True), _watch_stop_file(stop_file):
        return run_worker_process(spec, study_name, job, worker_index, n_threads)


def _wait(
    futures: Sequence[concurrent.futures.Future],
    timeout: float | None,
    study: optuna.Study,
    progress: ProgressBar | None,
) -> bool:
    """Wait for ``futures`` (at most ``timeout`` seconds); True when all are done."""
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = None if end is None else max(0.0, end - time.monotonic())
        step = _POLL if remaining is None else min(_POLL, remaining)
        _, pending = concurrent.futures.wait(futures, timeout=step)
        if progress is not None:
            progress.sync(study)
        if not pending:
            return True
        if end is not None and time.monotonic() >= end:
            return False


def assign_devices(devices: Sequence[str], n_processes: int) -> list[str]:
    """The device of each of ``n_processes`` processes: ``devices`` round-robin.

    Process 0 is the one that called ``fit`` (it also refits); worker ``k``
    gets ``devices[k % len(devices)]``.

    Parameters
    ----------
    devices : sequence of str
        Resolved torch devices, at least one.
    n_processes : int
        Processes of the search (``n_jobs``).

    Returns
    -------
    list of str
    """
    if not devices:
        raise ValueError("At least one device is needed to spread the processes over.")
    return [devices[index % len(devices)] for index in range(n_processes)]


def run_with_workers(
    job: SearchJob,
    study: optuna.Study,
    spec: Any,
    n_jobs: int,
    threads: int | None,
    callbacks: list,
    devices: Sequence[str] | None = None,
) -> SearchOutcome:
    """Run ``job`` in this process and ``n_jobs - 1`` loky worker processes.

    With ``devices``, the processes are spread over them (:func:`assign_devices`);
    otherwise every process uses ``job.device``.

    Returns this process's outcome, ``interrupted`` when a Ctrl-C stopped the
    search. A second Ctrl-C while the workers stop kills them and raises
    ``KeyboardInterrupt``.
    """
    # loky workers (joblib's) start fresh interpreters without re-running the
    # user's __main__ module, and stay alive for the next fit.
    from joblib.externals.loky import get_reusable_executor

    progress = next((c for c in callbacks if isinstance(c, ProgressBar)), None)
    pool = get_reusable_executor(max_workers=n_jobs - 1, timeout=120)
    assigned = assign_devices(devices or [job.device], n_jobs)
    killed = aborted = False
    with tempfile.TemporaryDirectory(prefix="sknas-workers-") as folder:
        stop_file = os.path.join(folder, "stop")
        futures = [
            pool.submit(
                run_local_worker, stop_file, spec, study.study_name,
                dataclasses.replace(job, device=assigned[index]), index, threads,
            )
            for index in range(1, n_jobs)
        ]
        try:
            with torch_threads(threads):
                outcome = job.run(study, worker_index=0, callbacks=callbacks)
            if not outcome.interrupted:
                try:
                    with _interrupts.interruptible():
                        _wait(futures, None, study, progress)
                except KeyboardInterrupt:
                    _interrupts.note()
                    outcome = dataclasses.replace(outcome, interrupted=True)
        finally:
            if not all(future.done() for future in futures):
                Path(stop_file).touch()
                try:
                    with _interrupts.interruptible(_interrupts.ABORT_COUNT):
                        killed = not _wait(futures, STOP_GRACE, study, progress)
                except KeyboardInterrupt:
                    killed = aborted = True
                if killed:
                    with _interrupts.shielded():
                        pool.shutdown(wait=True, kill_workers=True)
            with _interrupts.shielded():
                # Trials of workers that died (killed above, or by a Ctrl-C before they
                # started) must not stay RUNNING.
                mark_orphans_failed(study)
    if aborted:
        raise KeyboardInterrupt
    for future in futures:
        exc = None if future.cancelled() or killed else future.exception()
        if isinstance(exc, Exception):  # a dead worker must not lose the search
            warnings.warn(
                f"A worker process stopped with {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=6,  # the user's call of fit
            )
    return outcome
