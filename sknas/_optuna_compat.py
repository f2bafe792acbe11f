"""The one door to Optuna internals.

sknas drives Optuna through its public API (``create_study``, ``ask``,
``tell``, ``fail_stale_trials``, ``copy_study``) wherever one exists. A few
things have no public call; each is wrapped here, in one small documented
function, and ``tests/test_optuna_compat.py`` checks every one against the
installed Optuna, so that a change in Optuna fails those tests instead of a
search. Nothing else in sknas touches a private Optuna name.

The versions of Optuna these wrappers are tested with are
:data:`SUPPORTED_OPTUNA` (the same range as in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.storages import BaseStorage, JournalStorage
from optuna.trial import FrozenTrial

__all__ = [
    "SUPPORTED_OPTUNA",
    "storage_of",
    "trial_id_of",
    "heartbeat_enabled",
    "heartbeat",
    "journal_file_path",
    "study_identity",
    "cached_trials",
    "set_trial_system_attr",
    "set_trial_user_attr",
    "distribution_contains",
    "stoppable",
    "stop_requested",
    "pareto_mask",
    "hypervolume",
    "record_constraints",
]

#: Optuna major versions sknas is tested with: ``[low, high)``, as in ``pyproject.toml``.
SUPPORTED_OPTUNA: tuple[int, int] = (4, 6)


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage object a study reads and writes (``Study._storage``).

    For a database URL this is Optuna's caching wrapper around the
    :class:`~optuna.storages.RDBStorage`.
    """
    return study._storage


def trial_id_of(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of a trial (``_trial_id``), unique across studies of a storage."""
    return int(trial._trial_id)


def heartbeat_enabled(study: optuna.Study) -> bool:
    """Whether the study's storage records heartbeats (RDB storages with an interval)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return bool(is_heartbeat_enabled(study._storage))


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial | FrozenTrial) -> Iterator[None]:
    """Beat for ``trial`` while the block runs, as ``Study.optimize`` does for its trials.

    Without a heartbeat-enabled storage nothing happens. A trial whose beats
    stop for the storage's grace period is failed by
    :func:`optuna.storages.fail_stale_trials`; a trial that never beat is not.
    """
    from optuna.storages._heartbeat import get_heartbeat_thread

    with get_heartbeat_thread(trial_id_of(trial), study._storage):
        yield


def journal_file_path(storage: BaseStorage) -> str | None:
    """The file of a :class:`JournalStorage` over a journal file, else None."""
    from optuna.storages.journal import JournalFileBackend

    backend = getattr(storage, "_backend", None) if isinstance(storage, JournalStorage) else None
    if isinstance(backend, JournalFileBackend):
        return str(backend._file_path)
    return None


def study_identity(study: optuna.Study) -> tuple[int, int, str]:
    """``(id(storage), study id, study name)``: equal for two ``Study`` objects of one study."""
    return (id(study._storage), int(study._study_id), study.study_name)


def cached_trials(study: optuna.Study) -> list[FrozenTrial]:
    """All trials of the study, from the per-trial cache that samplers may read.

    Samplers run inside ``ask`` and must not fetch every trial from the
    storage each time; this is the read Optuna's own samplers use.
    """
    return list(study._get_trials(deepcopy=False, use_cache=True))


def set_trial_system_attr(
    study: optuna.Study, trial: optuna.Trial | FrozenTrial, key: str, value: Any
) -> None:
    """Write a system attribute of a running trial from a sampler (which holds a FrozenTrial)."""
    study._storage.set_trial_system_attr(trial_id_of(trial), key, value)


def set_trial_user_attr(study: optuna.Study, trial: FrozenTrial, key: str, value: Any) -> None:
    """Write a user attribute of a running trial that another process started.

    Used to record why a trial of a dead worker is failed before it is told
    ``FAIL`` with the public ``study.tell(trial.number, state=FAIL)``.
    """
    study._storage.set_trial_user_attr(trial_id_of(trial), key, value)



def distribution_contains(dist: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` lies inside ``dist`` (Optuna's private ``_contains``).

    Parameters
    ----------
    dist : optuna.distributions.BaseDistribution
        The distribution.
    value : object
        An external (user-facing) value, e.g. a categorical choice.

    Returns
    -------
    bool
        False also when ``value`` cannot be represented in ``dist`` at all.
    """
    try:
        return bool(dist._contains(dist.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


@contextmanager
def stoppable(study: optuna.Study) -> Iterator[None]:
    """Let code in the block call ``study.stop()``, as inside ``Study.optimize``.

    Optuna allows ``Study.stop`` only in its own optimize loop (a thread-local
    flag); sknas' search loop runs the trial callbacks in this block, and reads
    the request with :func:`stop_requested`. Any earlier request is cleared
    on entry.
    """
    local = study._thread_local
    previous = local.in_optimize_loop
    local.in_optimize_loop = True
    study._stop_flag = False
    try:
        yield
    finally:
        local.in_optimize_loop = previous


def stop_requested(study: optuna.Study) -> bool:
    """Whether ``study.stop()`` was called (see :func:`stoppable`)."""
    return bool(study._stop_flag)


def pareto_mask(loss_values: Any) -> Any:
    """Which rows of ``loss_values`` (all minimised) are non-dominated.

    Optuna's private ``_is_pareto_front`` (the one its multi-objective
    samplers use); equal rows are all kept.

    Parameters
    ----------
    loss_values : numpy.ndarray of shape (n_points, n_objectives)
        Objective values, smaller is better in each column.

    Returns
    -------
    numpy.ndarray of bool, shape (n_points,)
    """
    import numpy as np
    from optuna.study._multi_objective import _is_pareto_front

    values = np.asarray(loss_values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(_is_pareto_front(values, assume_unique_lexsorted=False), dtype=bool)


def hypervolume(loss_values: Any, reference_point: Any) -> float:
    """Hypervolume dominated by ``loss_values`` (minimised) up to ``reference_point``.

    Optuna's private ``optuna._hypervolume.compute_hypervolume`` (exact, WFG
    for three objectives or more). Points that do not dominate the reference
    point add nothing.

    Parameters
    ----------
    loss_values : numpy.ndarray of shape (n_points, n_objectives)
        Objective values, smaller is better.
    reference_point : numpy.ndarray of shape (n_objectives,)
        The worst corner of the measured region.

    Returns
    -------
    float
    """
    import numpy as np
    from optuna._hypervolume import compute_hypervolume

    values = np.asarray(loss_values, dtype=float).reshape(-1, len(reference_point))
    ref = np.asarray(reference_point, dtype=float)
    values = values[np.all(values < ref, axis=1)]
    if len(values) == 0:
        return 0.0
    return float(compute_hypervolume(values, ref, assume_pareto=False))


def record_constraints(trial: optuna.Trial, values: dict[str, float]) -> bool:
    """Record constraint values (<= 0 is feasible) on a running trial, where Optuna can.

    Optuna 5 has ``Trial.set_constraint``, which its constrained samplers
    read; Optuna 4 only takes a sampler's ``constraints_func`` (then nothing
    is recorded here and False is returned).

    Parameters
    ----------
    trial : optuna.Trial
        The running trial.
    values : dict of str to float
        Constraint values by name.

    Returns
    -------
    bool
        Whether the values were recorded.
    """
    setter = getattr(trial, "set_constraint", None)
    if setter is None:
        return False
    for key, value in values.items():
        setter(key, float(value))
    return True


def samplers_read_trial_constraints() -> bool:
    """Whether Optuna's samplers read the constraints recorded on trials (Optuna >= 5)."""
    return hasattr(optuna.trial.Trial, "set_constraint")
