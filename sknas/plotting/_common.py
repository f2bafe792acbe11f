"""What the plotting functions share: the lazy matplotlib import and the axes to draw on."""

from __future__ import annotations

from typing import Any

__all__ = ["new_axes", "fitted_study"]


def new_axes(ax: Any = None, *, figsize: tuple[float, float] = (6.4, 4.2)) -> tuple[Any, Any]:
    """``(figure, axes)``: the given axes and their figure, or a new figure with one axes."""
    if ax is not None:
        return ax.get_figure(), ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sknas.plotting needs matplotlib: pip install matplotlib "
            "(or the 'plot' extra, pip install 'sknas[plot]')."
        ) from exc
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def fitted_study(estimator: Any, what: str) -> Any:
    """The Optuna study of a fitted estimator (or the study itself), with a clear error."""
    import optuna

    if isinstance(estimator, optuna.Study):
        return estimator
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "cv_results_")
    study = getattr(estimator, "study_", None)
    if study is None:
        raise ValueError(
            f"{what} reads the Optuna study (study_), which this estimator does not hold "
            "(a model file keeps cv_results_ only); plot from the estimator that ran the "
            "search, or pass its study."
        )
    return study
