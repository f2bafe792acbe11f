"""Figures of the search: history, score against cost, learning curves, Pareto front."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sknas.plotting._common import fitted_study, new_axes

__all__ = [
    "plot_search_history",
    "plot_score_vs_cost",
    "plot_learning_curves",
    "plot_pareto_front",
]

#: Costs :func:`plot_score_vs_cost` knows: cv_results_ key and axis label.
_COSTS: dict[str, tuple[str, str]] = {
    "n_parameters": ("n_parameters", "parameters"),
    "fit_time": ("mean_fit_time", "fit time (s)"),
    "epochs": ("n_epochs", "epochs"),
}


def _results(estimator: Any) -> dict[str, Any]:
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "cv_results_")
    return estimator.cv_results_


def plot_search_history(estimator: Any, *, ax: Any = None) -> Any:
    """Score of every candidate in trial order, with the best score so far.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        A fitted estimator.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    results = _results(estimator)
    fig, ax = new_axes(ax)
    order = np.argsort(results["trial_number"], kind="stable")
    number = np.asarray(results["trial_number"])[order]
    score = np.asarray(results["mean_test_score"], dtype=float)[order]
    state = np.asarray(results["state"])[order]
    done = (state == "COMPLETE") & np.isfinite(score)
    ax.scatter(number[done], score[done], s=18, label="candidate", zorder=3)
    if done.any():
        best = np.fmax.accumulate(np.where(done, score, -np.inf))
        shown = np.isfinite(best)
        ax.step(number[shown], best[shown], where="post", color="C1", label="best so far")
    lost = ~done
    if lost.any() and done.any():
        floor = np.nanmin(score[done])
        ax.scatter(number[lost], np.full(lost.sum(), floor), marker="x", color="0.6",
                   label="pruned / failed", zorder=2)
    ax.set_xlabel("trial")
    ax.set_ylabel("validation score")
    ax.set_title("Search history")
    ax.legend(loc="lower right")
    return fig


def plot_score_vs_cost(estimator: Any, *, cost: str = "n_parameters", ax: Any = None) -> Any:
    """Score of the completed candidates against their cost (logarithmic axis).

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        A fitted estimator.
    cost : {"n_parameters", "fit_time", "epochs"}, default="n_parameters"
        What to put on the horizontal axis.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if cost not in _COSTS:
        raise ValueError(f"plot_score_vs_cost: cost={cost!r} is not one of {sorted(_COSTS)}.")
    results = _results(estimator)
    key, label = _COSTS[cost]
    x = np.asarray(results[key], dtype=float)
    y = np.asarray(results["mean_test_score"], dtype=float)
    keep = (np.asarray(results["state"]) == "COMPLETE") & np.isfinite(y) & (x > 0)
    fig, ax = new_axes(ax)
    ax.scatter(x[keep], y[keep], s=18, zorder=3, label="candidate")
    best = getattr(estimator, "best_index_", None)
    if best is not None and keep[best]:
        ax.scatter([x[best]], [y[best]], s=80, marker="*", color="C3", zorder=4, label="chosen")
    if keep.any() and x[keep].max() > 10 * x[keep].min():
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("validation score")
    ax.set_title(f"Score vs {label}")
    ax.legend(loc="lower right")
    return fig


def plot_learning_curves(estimator: Any, *, top: int = 5, ax: Any = None) -> Any:
    """Per-epoch validation scores of the best candidates.

    The curves are the trials' intermediate values: the score each candidate
    reported to Optuna after every epoch (what pruners watch).

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        A fitted estimator that holds its study (``study_``).
    top : int, default=5
        How many of the best-ranked candidates to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if int(top) < 1:
        raise ValueError(f"plot_learning_curves: top must be >= 1, got {top!r}.")
    from matplotlib.ticker import MaxNLocator

    results = _results(estimator)
    study = fitted_study(estimator, "plot_learning_curves")
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    ranked = np.argsort(results["rank_test_score"], kind="stable")
    fig, ax = new_axes(ax)
    drawn = 0
    for i in ranked:
        trial = trials.get(int(results["trial_number"][i]))
        if trial is None or not trial.intermediate_values:
            continue
        steps = sorted(trial.intermediate_values)
        values = [trial.intermediate_values[s] for s in steps]
        ax.plot(steps, values, marker="o", markersize=3,
                label=f"trial {trial.number} (rank {int(results['rank_test_score'][i])})")
        drawn += 1
        if drawn == top:
            break
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation score")
    ax.set_title(f"Learning curves of the top {drawn} candidates")
    if drawn:
        ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_pareto_front(
    estimator: Any,
    *,
    objectives: Sequence[int] = (0, 1),
    names: Sequence[str] | None = None,
    ax: Any = None,
) -> Any:
    """The completed candidates of a multi-objective search, Pareto front highlighted.

    Parameters
    ----------
    estimator : NASClassifier, NASRegressor or optuna.Study
        A fitted estimator whose study has several objectives
        (``len(study_.directions) >= 2``), or such a study.
    objectives : pair of int, default=(0, 1)
        Which two objectives to plot (positions in ``study.directions``).
    names : pair of str, optional
        Axis labels; the study's ``metric_names`` when it has them.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the study has a single objective or ``objectives`` is not a pair
        of its objectives.
    """
    from optuna.trial import TrialState

    study = fitted_study(estimator, "plot_pareto_front")
    n_objectives = len(study.directions)
    if n_objectives < 2:
        raise ValueError(
            "plot_pareto_front: the study has a single objective; a Pareto front needs "
            "a search with several objectives."
        )
    pair = tuple(int(k) for k in objectives)
    if len(pair) != 2 or len(set(pair)) != 2 or not all(0 <= k < n_objectives for k in pair):
        raise ValueError(
            f"plot_pareto_front: objectives={tuple(objectives)!r} must be two different "
            f"positions in 0..{n_objectives - 1}."
        )
    labels = list(names) if names is not None else (
        list(study.metric_names) if study.metric_names else
        [f"objective {k}" for k in range(n_objectives)]
    )
    if names is not None and len(labels) != 2:
        raise ValueError(f"plot_pareto_front: names must be two labels, got {names!r}.")
    if names is None:
        labels = [labels[k] for k in pair]
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    points = np.array([[t.values[k] for k in pair] for t in done], dtype=float).reshape(-1, 2)
    front_numbers = {t.number for t in study.best_trials}
    on_front = np.array([t.number in front_numbers for t in done], dtype=bool)
    fig, ax = new_axes(ax)
    ax.scatter(*points[~on_front].T, s=18, color="0.6", label="dominated")
    front = points[on_front]
    front = front[np.argsort(front[:, 0], kind="stable")]
    ax.plot(*front.T, marker="o", color="C3", label="Pareto front", zorder=3)
    directions = [study.directions[k].name.lower() for k in pair]
    ax.set_xlabel(f"{labels[0]} ({directions[0]})")
    ax.set_ylabel(f"{labels[1]} ({directions[1]})")
    ax.set_title("Pareto front")
    ax.legend(loc="best")
    return fig
