"""``leaderboard()``: the candidates of a fitted search as a pandas DataFrame, best first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from sknas.spaces.base import SearchSpace

__all__ = ["leaderboard", "readable_architecture", "require_pandas"]

#: cv_results_ key -> leaderboard column, in display order.
_COLUMNS: dict[str, str] = {
    "rank_test_score": "rank",
    "mean_test_score": "score",
    "std_test_score": "score_std",
    "n_parameters": "n_parameters",
    "mean_fit_time": "fit_time",
    "n_epochs": "epochs",
    "state": "state",
}


def require_pandas(feature: str) -> Any:
    """Import pandas, or raise an ImportError that names the extra to install."""
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - pandas is in every extra that needs it
        raise ImportError(
            f"{feature} needs pandas: pip install pandas (or the 'plot' extra, "
            "pip install 'sknas[plot]')."
        ) from exc
    return pandas


def readable_architecture(space: SearchSpace, params: dict[str, Any]) -> str:
    """The space's human-readable description of the architecture ``params`` decode to.

    Parameters
    ----------
    space : SearchSpace
        The space that proposed ``params``.
    params : dict
        A trial's parameters.

    Returns
    -------
    str
        ``str(space.decode(params))``, or the parameters themselves when they
        do not decode (e.g. a failed candidate with partial parameters).
    """
    try:
        return str(space.decode(params))
    except (KeyError, TypeError, ValueError):
        return ", ".join(f"{key}={value}" for key, value in sorted(params.items()))


def leaderboard(estimator: Any, *, include_failed: bool = True) -> pd.DataFrame:
    """The candidates of a fitted search, one row each, sorted by rank.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        A fitted estimator (or one loaded with :func:`sknas.load`).
    include_failed : bool, default=True
        Keep pruned and failed candidates (they rank last).

    Returns
    -------
    pandas.DataFrame
        Indexed by trial number, with the columns ``rank``, ``score``,
        ``score_std``, further ``score_<objective>`` columns when the search
        had several, ``n_parameters``, ``fit_time`` (seconds), ``epochs``
        (epochs of the best validation score), ``state``, ``architecture``
        (readable) and ``fail_reason``.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "cv_results_")
    pd = require_pandas("leaderboard()")
    results = estimator.cv_results_
    table: dict[str, Any] = {}
    for key, column in _COLUMNS.items():
        table[column] = np.asarray(results[key])
        if key == "std_test_score":
            for extra in sorted(results):
                if (
                    extra.startswith("mean_test_")
                    and extra != "mean_test_score"
                    and not extra.startswith("mean_test_score_")
                ):
                    table["score_" + extra[len("mean_test_"):]] = np.asarray(results[extra])
    space = estimator.search_space_
    table["architecture"] = [readable_architecture(space, p) for p in results["params"]]
    table["fail_reason"] = np.asarray(results["fail_reason"])
    frame = pd.DataFrame(table, index=pd.Index(results["trial_number"], name="trial"))
    if not include_failed:
        frame = frame[frame["state"] == "COMPLETE"]
    return frame.sort_values(["rank", "fit_time"], kind="stable")
