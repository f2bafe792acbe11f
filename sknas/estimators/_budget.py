"""A ``timeout`` that bounds the whole fit: time kept back for the refit.

With ``timeout`` set, ``fit`` returns after about ``timeout`` seconds in all,
the refit included. The refit's networks are trained on all rows, so they cost
about what a candidate cost per split, scaled by the rows. The search
therefore stops starting candidates (and stops the one in progress after its
epoch) when the time left would no longer cover the refit it has planned,
estimated from the candidates' own training times, but it always keeps at
least ``1 - MAX_REFIT_SHARE`` of the budget. The refit then trains the planned
networks, most important first, while the time left covers the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

__all__ = ["MAX_REFIT_SHARE", "RefitClock", "RefitReserve", "network_seconds", "refit_order"]

#: Most of ``timeout`` the search keeps back for the refit.
MAX_REFIT_SHARE = 0.4


def network_seconds(trial: FrozenTrial, n_rows: int, splits: Sequence[tuple[Any, Any]]) -> float:
    """Estimated seconds to refit ``trial``'s network on ``n_rows`` rows.

    The trial's seconds per epoch and training row (its ``fit_time`` over the
    epochs it trained on every split, ``trained_epochs``), times the epochs the
    refit trains (the median of its splits' best epochs) and ``n_rows``. A trial
    that did not record its epochs is estimated by one split's training time
    instead, which also counts the epochs of patience. 0 when the trial
    recorded no training time.

    Parameters
    ----------
    trial : FrozenTrial
        A finished trial of the search.
    n_rows : int
        Rows the refit trains on.
    splits : sequence of (train, valid) index arrays
        The search's splits.

    Returns
    -------
    float
    """
    attrs = trial.user_attrs
    fit_time = attrs.get("fit_time")
    if not isinstance(fit_time, (int, float)) or not splits:
        return 0.0
    rows = n_rows / max(float(np.mean([len(train) for train, _ in splits])), 1.0)
    trained, best = attrs.get("trained_epochs"), attrs.get("best_epochs")
    if isinstance(trained, int) and trained > 0 and isinstance(best, list) and best:
        return float(fit_time) / trained * float(np.median(best)) * rows
    return float(fit_time) / len(splits) * rows


def refit_order(indices: Sequence[int], seeds: int) -> list[int]:
    """The order in which a time-bounded refit trains its networks.

    Parameters
    ----------
    indices : sequence of int
        One entry per selection of a member (``seed_networks(..., seeds=1)``),
        the best candidate first.
    seeds : int
        Networks per selection (``refit_seeds``).

    Returns
    -------
    list of int
        Every selection once with its first seed, then every selection again
        with its next seed, and so on: when time runs out, what is left out is
        a further seed of a member, not a member.
    """
    return list(indices) * seeds


class RefitReserve:
    """Trial callback: ends the search early enough for the refit to fit in ``deadline``.

    After each trial it estimates the planned refit from the completed
    candidates' training times (``n_networks`` networks, see :meth:`reserve`;
    at most ``max_reserve`` seconds), moves the end of the
    search (``evaluator.search_deadline``, which also stops the candidate in
    progress) to ``deadline`` minus that reserve, and stops the study once that
    end has passed.

    Parameters
    ----------
    deadline : float
        ``time.time()`` by which the whole fit should be done.
    n_networks : int
        Networks the refit will train.
    max_reserve : float
        Most seconds kept back.
    n_rows : int
        Rows the refit trains on.
    splits : sequence of (train, valid) index arrays
        The search's splits.
    evaluator : object
        The search's evaluator; its ``search_deadline`` is moved.
    """

    def __init__(
        self,
        deadline: float,
        n_networks: int,
        max_reserve: float,
        n_rows: int,
        splits: Sequence[tuple[Any, Any]],
        evaluator: Any,
    ) -> None:
        self.deadline = deadline
        self.n_networks = n_networks
        self.max_reserve = max_reserve
        self.n_rows = n_rows
        self.splits = splits
        self.evaluator = evaluator

    def reserve(self, study: optuna.Study) -> float:
        """Seconds to keep back for the refit, from the study's completed trials.

        Each network is estimated at the larger of the median candidate's cost
        and the mean cost of the ``n_networks`` best candidates (by the first
        objective): the refit trains the best, which often train longer.
        """
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        costs = [network_seconds(t, self.n_rows, self.splits) for t in trials]
        known = [(t, c) for t, c in zip(trials, costs) if c > 0 and t.values]
        if not known:
            return 0.0
        sign = 1.0 if study.directions[0] == StudyDirection.MAXIMIZE else -1.0
        best = sorted(known, key=lambda pair: -sign * pair[0].values[0])[: self.n_networks]
        each = max(float(np.median([c for _, c in known])), float(np.mean([c for _, c in best])))
        return min(self.max_reserve, self.n_networks * each)

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        end = self.deadline - self.reserve(study)
        self.evaluator.search_deadline = end
        if time.time() >= end:
            study.stop()


class RefitClock:
    """Decides, network by network, whether a refit still has time before ``deadline``.

    A network's estimate (:func:`network_seconds`) is corrected by the ratio of
    the time the networks refit so far took to their estimates.

    Parameters
    ----------
    deadline : float, optional
        ``time.time()`` by which the fit should end; None: no limit.
    now : callable, default=time.time
        The clock.
    """

    def __init__(
        self, deadline: float | None, now: Callable[[], float] = time.time
    ) -> None:
        self.deadline = deadline
        self.now = now
        self.spent = 0.0
        self.estimated = 0.0

    def has_time_for(self, estimate: float) -> bool:
        """Whether a network estimated at ``estimate`` seconds ends before the deadline."""
        if self.deadline is None or estimate <= 0:
            return True
        correction = self.spent / self.estimated if self.estimated > 0 else 1.0
        return self.now() + estimate * correction <= self.deadline

    def record(self, estimate: float, seconds: float) -> None:
        """Count a network refit in ``seconds`` that was estimated at ``estimate``."""
        if estimate > 0:
            self.spent += seconds
            self.estimated += estimate
