"""How an estimator runs a one-shot strategy: supernet search, then trials of the study.

:func:`run_oneshot` trains the supernet on the job's first split (weights on
its training rows, architecture parameters on its validation rows), derives
the architecture(s), enqueues them as trials of the estimator's study and
runs them through the ordinary search loop: each is trained from scratch by
the estimator's evaluator, so ``cv_results_``, ``best_architecture_``, the
refit, ``save`` and :func:`sknas.load` work as for any other strategy. The
supernet gets half of the time left before ``timeout``; the retraining gets
the rest, and the best derived architecture is retrained even when
the timeout has passed by then.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from sknas import _interrupts
from sknas._search import SearchOutcome, run_search
from sknas.oneshot import make_oneshot
from sknas.oneshot.base import SearchData

if TYPE_CHECKING:  # pragma: no cover
    from sknas.estimators._job import SearchJob

__all__ = ["run_oneshot", "ONESHOT_ATTR", "check_oneshot_space"]

#: Study user attribute holding the one-shot search's record (strategy, history, time).
ONESHOT_ATTR = "sknas:oneshot"


def check_oneshot_space(space: Any) -> None:
    """Refuse, before any training, a space without a supernet (names what to use instead).

    Parameters
    ----------
    space : SearchSpace

    Raises
    ------
    ValueError
    """
    from sknas.spaces.base import SearchSpace

    if type(space).build_supernet is SearchSpace.build_supernet:
        raise ValueError(
            f"strategy is a one-shot strategy, but the search space {type(space).__name__} "
            "has no supernet (build_supernet); use search_space='nb201' or 'darts' for images, "
            "or a black-box strategy such as strategy='tpe'."
        )


def run_oneshot(
    job: SearchJob,
    study: optuna.Study,
    objective: Any,
    *,
    worker_index: int,
    catch: bool,
    callbacks: list,
) -> SearchOutcome:
    """Run ``job``'s one-shot strategy on ``study`` (see the module docstring).

    Parameters
    ----------
    job : SearchJob
    study : optuna.Study
    objective : callable
        The job's objective ``objective(trial, arch)`` (trains from scratch).
    worker_index : int
        Only worker 0 searches; other workers return at once.
    catch : bool
        Passed to :func:`sknas._search.run_search`.
    callbacks : list
        Trial callbacks.

    Returns
    -------
    SearchOutcome
    """
    start = time.perf_counter()
    if worker_index > 0:
        return SearchOutcome(0, False, False, 0.0)
    estimator = job.estimator
    strategy = make_oneshot(estimator.strategy)  # type: ignore[arg-type]
    train, valid = job.splits[0]
    remaining = job.remaining_time()
    seed = int(np.random.SeedSequence([job.train_seed, 1201]).generate_state(1)[0] >> 1)
    data = SearchData(
        X_train=job.X[train], y_train=job.y[train], X_valid=job.X[valid], y_valid=job.y[valid],
        n_outputs=job.n_outputs, task=estimator._task, device=job.device, seed=seed,
        deadline=None if remaining is None else time.time() + remaining / 2,
        n_threads=estimator._resolve_threads(job.search_space),
    )
    try:
        with _interrupts.interruptible():
            result = strategy.search(job.search_space, data)
    except KeyboardInterrupt:
        _interrupts.note()
        return SearchOutcome(0, True, False, time.perf_counter() - start)
    study.set_user_attr(ONESHOT_ATTR, {
        "strategy": strategy.name,
        "history": result.history,
        "search_time": result.search_time,
        "stopped": result.stopped,
    })
    for rank, params in enumerate(result.candidates):
        study.enqueue_trial(params, user_attrs={
            "oneshot_strategy": strategy.name,
            "oneshot_rank": rank,
            "oneshot_search_time": result.search_time,
        })
    # The best candidate is retrained even past the timeout (the search would be
    # lost otherwise); the others only while time is left.
    outcome = run_search(
        study, job.search_space, objective, n_trials=1, catch=catch, callbacks=callbacks
    )
    if len(result.candidates) > 1 and not outcome.interrupted:
        rest = run_search(
            study, job.search_space, objective, n_trials=len(result.candidates) - 1,
            timeout=job.remaining_time(), catch=catch, callbacks=callbacks,
        )
        outcome.n_run += rest.n_run
        outcome.interrupted, outcome.timed_out = rest.interrupted, rest.timed_out
    outcome.elapsed = time.perf_counter() - start
    return outcome
