"""End of a shared search: wait for other workers, clean up after dead ones.

Every wait here ends. A trial of another process is waited for only while
something says it is alive: its heartbeat (database storages), its process
(same host) or, when neither can be seen, a bounded poll that gives up after
a stretch without any change among the running trials.
"""

from __future__ import annotations

import os
import socket
import time
import warnings

import optuna
from optuna.storages import fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

from sknas._optuna_compat import heartbeat_enabled, set_trial_user_attr, storage_of
from sknas._search import FAIL_REASON_ATTR
from sknas.estimators._job import WORKER_ATTR

__all__ = ["wait_for_running_trials", "mark_orphans_failed", "fail_trial", "copy_to_memory"]

#: Seconds without any change among the running trials after which a wait with
#: neither heartbeat nor deadline gives up (the trials are left as they are).
STALL_LIMIT = 600.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_trial(study: optuna.Study, trial: FrozenTrial, reason: str) -> None:
    """Mark another process's running ``trial`` FAIL with ``reason``, if it is still running."""
    try:
        set_trial_user_attr(study, trial, FAIL_REASON_ATTR, reason)
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
    except (RuntimeError, ValueError):
        pass  # finished meanwhile


def wait_for_running_trials(
    study: optuna.Study,
    *,
    deadline: float | None = None,
    silent_limit: float = 20.0,
    stall_limit: float = STALL_LIMIT,
    poll: float = 0.5,
) -> list[int]:
    """Wait until no trial of ``study`` is running; every path of the wait ends.

    - Trials of dead worker processes on this host are marked FAIL at once
      (:func:`mark_orphans_failed`).
    - With a heartbeat (database storages), trials whose worker stopped
      beating are marked FAIL by Optuna after the grace period; a running
      trial that no sknas worker has claimed (it never beat: a process
      stopped between ``ask`` and training) is marked FAIL once it has been
      seen so for ``silent_limit`` seconds.
    - Without a heartbeat, the wait ends at ``deadline`` (``time.time()``),
      or after ``stall_limit`` seconds in which no running trial finished
      and none started, with a warning.

    Parameters
    ----------
    study : optuna.Study
        The shared study.
    deadline : float, optional
        The search's deadline (``time.time()``).
    silent_limit : float, default=20.0
        Seconds an unclaimed running trial of a heartbeat storage is waited for.
    stall_limit : float, default=STALL_LIMIT
        Seconds without progress after which a wait without heartbeat gives up.
    poll : float, default=0.5
        Seconds between looks at the storage.

    Returns
    -------
    list of int
        Numbers of the trials still running when the wait gave up (empty
        when every trial finished).
    """
    beats = heartbeat_enabled(study)
    unclaimed_since: dict[int, float] = {}
    last_change = time.monotonic()
    previous: frozenset[int] | None = None
    while True:
        mark_orphans_failed(study)
        if beats:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fail_stale_trials(study)
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return []
        now = time.monotonic()
        numbers = frozenset(t.number for t in running)
        if numbers != previous:
            previous, last_change = numbers, now
        if beats:
            for trial in running:
                if WORKER_ATTR in trial.user_attrs:
                    continue
                if now - unclaimed_since.setdefault(trial.number, now) >= silent_limit:
                    fail_trial(
                        study,
                        trial,
                        "left running without a heartbeat by a process that stopped "
                        "before training it",
                    )
            continue_waiting = True
        else:
            past_deadline = deadline is not None and time.time() >= deadline
            continue_waiting = not past_deadline and now - last_change < stall_limit
        if not continue_waiting:
            left = sorted(numbers)
            warnings.warn(
                f"Stopped waiting for trials {left} of study {study.study_name!r}, still "
                "running in other processes: the storage has no heartbeat to tell whether "
                "they are alive. They are left as they are and not counted in this fit.",
                RuntimeWarning,
                stacklevel=3,
            )
            return left
        time.sleep(poll)


def mark_orphans_failed(study: optuna.Study) -> None:
    """Mark FAIL the running trials whose worker process on this host is gone."""
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER_ATTR, "")
        name, _, pid = worker.rpartition(":")
        if name != host or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        fail_trial(study, trial, f"worker process {worker} died")


def copy_to_memory(study: optuna.Study) -> optuna.Study:
    """A copy of ``study`` in memory (its storage is about to be deleted)."""
    memory = optuna.storages.InMemoryStorage()
    optuna.copy_study(
        from_study_name=study.study_name, from_storage=storage_of(study), to_storage=memory
    )
    return optuna.load_study(study_name=study.study_name, storage=memory)
