"""Matplotlib figures of a fitted search (the optional ``plot`` extra).

Every ``plot_*`` function takes a fitted :class:`~sknas.NASClassifier` or
:class:`~sknas.NASRegressor` (or what the figure needs from it), draws on the
``ax`` it is given or on a new figure, and returns the
:class:`matplotlib.figure.Figure`. matplotlib is imported on first use, so
``import sknas.plotting`` is cheap and works without it.

>>> from sknas.plotting import plot_search_history  # doctest: +SKIP
>>> plot_search_history(clf).savefig("history.png")  # doctest: +SKIP
"""

from __future__ import annotations

from sknas.plotting._architecture import plot_architecture
from sknas.plotting._search import (
    plot_learning_curves,
    plot_pareto_front,
    plot_score_vs_cost,
    plot_search_history,
)

__all__ = [
    "plot_search_history",
    "plot_score_vs_cost",
    "plot_learning_curves",
    "plot_pareto_front",
    "plot_architecture",
]
