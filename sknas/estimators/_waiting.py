"""End of a shared search: wait for other workers, clean up after dead ones."""

from __future__ import annotations

import os
import socket
import time
import warnings
from typing import Any

import optuna
from optuna.storages import fail_stale_trials
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.trial import TrialState

from sknas._search import FAIL_REASON_ATTR
from sknas.estimators._job import WORKER_ATTR

__all__ = ["wait_for_running_trials", "mark_orphans_failed", "copy_to_memory"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_running_trials(study: optuna.Study, job: Any, poll: float = 0.5) -> None:
    """Wait until no trial of ``study`` is running, failing the stale ones.

    Trials of dead worker processes on this host are marked FAIL at once
    (:func:`mark_orphans_failed`). With a heartbeat (database storages),
    trials of workers elsewhere that stopped beating are marked FAIL after the
    grace period, so the wait ends even when a remote worker was killed.
    Without one, the wait ends when no trial is running or the job's deadline
    (if any) has passed.
    """
    heartbeat = is_heartbeat_enabled(study._storage)
    while True:
        mark_orphans_failed(study)
        if heartbeat:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fail_stale_trials(study)
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return
        if not heartbeat and job.remaining_time() == 0.0:
            return
        time.sleep(poll)


def mark_orphans_failed(study: optuna.Study) -> None:
    """Mark FAIL the running trials whose worker process on this host is gone."""
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER_ATTR, "")
        name, _, pid = worker.rpartition(":")
        if name != host or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        storage = study._storage
        try:
            storage.set_trial_user_attr(
                trial._trial_id, FAIL_REASON_ATTR, f"worker process {worker} died"
            )
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        except RuntimeError:
            pass  # finished meanwhile


def copy_to_memory(study: optuna.Study) -> optuna.Study:
    """A copy of ``study`` in memory (its storage is about to be deleted)."""
    memory = optuna.storages.InMemoryStorage()
    optuna.copy_study(
        from_study_name=study.study_name, from_storage=study._storage, to_storage=memory
    )
    return optuna.load_study(study_name=study.study_name, storage=memory)
