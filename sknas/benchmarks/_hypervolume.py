"""Hypervolume score of a multi-objective search on a table (the issue's protocol).

The search sees one set of metrics (e.g. 12-epoch validation accuracy and
latency); the user receives the non-dominated set of what was queried, judged
on another set (200-epoch test error and latency). Both are normalised with
the table's ideal point (best value of each judged metric) and reference
point (median of an accuracy, the worst value of a cost); the score is the
hypervolume of the received set divided by that of the table's true front.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sknas._optuna_compat import hypervolume, pareto_mask

__all__ = ["HypervolumeScorer"]


class HypervolumeScorer:
    """Scores sets of queried table rows by normalised hypervolume.

    Parameters
    ----------
    benchmark : NB201Benchmark or another table with ``values`` and ``higher_is_better``
        The table.
    searched : sequence of str
        Metrics the search optimised (decide which queried rows are received).
    judged : sequence of str
        Metrics the received rows are judged on, one per searched metric.

    Attributes
    ----------
    ideal_, reference_ : numpy.ndarray
        Normalisation points in loss space (smaller is better).
    front_hypervolume_ : float
        Normalised hypervolume of the table's true front on ``judged``.
    """

    def __init__(self, benchmark: Any, searched: Sequence[str], judged: Sequence[str]) -> None:
        if len(searched) != len(judged) or len(searched) < 2:
            raise ValueError(
                f"searched and judged metrics must pair up, two or more; got {list(searched)} "
                f"and {list(judged)}."
            )
        self.searched_losses = self._losses(benchmark, searched)
        judged_losses = self._losses(benchmark, judged)
        accuracy = [benchmark.higher_is_better(m) for m in judged]
        self.ideal_ = judged_losses.min(axis=0)
        self.reference_ = np.array([
            np.median(judged_losses[:, j]) if accuracy[j] else judged_losses[:, j].max()
            for j in range(len(judged))
        ])
        self.judged = (judged_losses - self.ideal_) / (self.reference_ - self.ideal_)
        self.front_hypervolume_ = hypervolume(self.judged, np.ones(len(judged)))

    @staticmethod
    def _losses(benchmark: Any, metrics: Sequence[str]) -> np.ndarray:
        return np.column_stack([
            -benchmark.values(m) if benchmark.higher_is_better(m) else benchmark.values(m)
            for m in metrics
        ]).astype(float)

    def score(self, rows: Sequence[int] | np.ndarray) -> float:
        """Hypervolume score of the received set of the queried ``rows``.

        Parameters
        ----------
        rows : sequence of int
            Table indices that were queried (repeats allowed).

        Returns
        -------
        float
            In ``[0, 1]``; 1 means the received set is as good as the true front.
        """
        unique = np.unique(np.asarray(rows, dtype=int))
        if len(unique) == 0:
            return 0.0
        received = unique[pareto_mask(self.searched_losses[unique])]
        ones = np.ones(self.judged.shape[1])
        return hypervolume(self.judged[received], ones) / self.front_hypervolume_

    def trajectory(self, queried: np.ndarray) -> np.ndarray:
        """Score after each query of each run.

        Parameters
        ----------
        queried : numpy.ndarray of int, shape (n_runs, n_queries)
            Table index of every query (-1 for a query that did not complete).

        Returns
        -------
        numpy.ndarray of shape (n_runs, n_queries)
        """
        out = np.zeros(queried.shape, dtype=float)
        for r, run in enumerate(np.asarray(queried, dtype=int)):
            for k in range(run.shape[0]):
                rows = run[: k + 1]
                out[r, k] = self.score(rows[rows >= 0])
        return out
