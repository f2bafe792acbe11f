"""``cv_results_`` from the trials of an Optuna study."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState
from scipy.stats import rankdata

from sknas._search import ARCH_KEY_ATTR, FAIL_REASON_ATTR
from sknas.estimators._objectives import COSTS, COSTS_ATTR

__all__ = ["build_cv_results", "FINISHED_STATES"]

FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _param_column(trials: Sequence[FrozenTrial], name: str) -> np.ma.MaskedArray:
    values = np.empty(len(trials), dtype=object)
    mask = np.ones(len(trials), dtype=bool)
    for i, trial in enumerate(trials):
        if name in trial.params:
            values[i] = trial.params[name]
            mask[i] = False
    return np.ma.MaskedArray(values, mask=mask)


def build_cv_results(
    trials: Sequence[FrozenTrial], error_score: float = np.nan
) -> dict[str, Any]:
    """Turn finished trials into a ``GridSearchCV``-like ``cv_results_`` dict.

    Parameters
    ----------
    trials : sequence of FrozenTrial
        Finished trials (complete, pruned or failed), in trial order.
    error_score : float, default=nan
        Score given to failed trials.

    Returns
    -------
    dict of str to ndarray or list
        ``params``, ``param_<name>``, ``mean_test_score``, ``std_test_score``,
        ``split<k>_test_score``, ``rank_test_score``, ``mean_fit_time``,
        ``state``, ``n_parameters``, ``mean_valid_loss``, ``n_epochs``, ``architecture``,
        ``fail_reason`` and ``trial_number``; pruned trials score NaN. Costs
        measured for the objectives or constraints (see
        :mod:`sknas.estimators._objectives`) add ``cost_params``,
        ``cost_flops`` and ``cost_latency`` (ms).
    """
    n = len(trials)
    results: dict[str, Any] = {}
    names = sorted({name for trial in trials for name in trial.params})
    results["params"] = [dict(trial.params) for trial in trials]
    for name in names:
        results[f"param_{name}"] = _param_column(trials, name)

    n_splits = max((len(t.user_attrs.get("split_scores", [])) for t in trials), default=0)
    splits = np.full((n, max(n_splits, 1)), np.nan)
    mean = np.full(n, np.nan)
    for i, trial in enumerate(trials):
        if trial.state == TrialState.COMPLETE and trial.values:
            mean[i] = trial.values[0]
            scores = trial.user_attrs.get("split_scores", [trial.values[0]])
            splits[i, : len(scores)] = scores
        elif trial.state == TrialState.FAIL:
            mean[i] = error_score
            splits[i, :] = error_score
    for k in range(n_splits):
        results[f"split{k}_test_score"] = splits[:, k]
    results["mean_test_score"] = mean
    with np.errstate(invalid="ignore"):
        results["std_test_score"] = (
            np.nanstd(splits, axis=1) if n_splits > 1 else np.zeros(n)
        )
    # Rank like GridSearchCV: 1 is best; NaN scores share the last rank.
    finite = np.isfinite(mean)
    ranks = np.full(n, finite.sum() + 1, dtype=np.int32)
    if finite.any():
        ranks[finite] = rankdata(-mean[finite], method="min").astype(np.int32)
    results["rank_test_score"] = ranks
    results["mean_fit_time"] = np.array(
        [float(t.user_attrs.get("fit_time", np.nan)) for t in trials]
    )
    results["state"] = np.array([t.state.name for t in trials], dtype=object)
    results["n_parameters"] = np.array(
        [int(t.user_attrs.get("n_parameters", -1)) for t in trials]
    )
    results["mean_valid_loss"] = np.array(
        [float(t.user_attrs.get("valid_loss", np.nan)) for t in trials]
    )
    results["n_epochs"] = np.array(
        [int(np.median(t.user_attrs.get("best_epochs", [0]))) for t in trials]
    )
    results["architecture"] = np.array(
        [t.user_attrs.get(ARCH_KEY_ATTR, "") for t in trials], dtype=object
    )
    results["fail_reason"] = np.array(
        [t.user_attrs.get(FAIL_REASON_ATTR, "") for t in trials], dtype=object
    )
    results["trial_number"] = np.array([t.number for t in trials])
    costs = [t.user_attrs.get(COSTS_ATTR, {}) for t in trials]
    for name in COSTS:
        if any(name in c for c in costs):
            results[f"cost_{name}"] = np.array([float(c.get(name, np.nan)) for c in costs])
    return results
