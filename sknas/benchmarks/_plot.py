"""Plot of test regret against the number of queries (needs matplotlib)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from sknas.benchmarks._runner import BenchmarkResult

__all__ = ["plot_regret"]


def plot_regret(
    results: Sequence[BenchmarkResult],
    path: str | os.PathLike[str],
    *,
    title: str = "NAS-Bench-201",
) -> None:
    """Save a PNG of mean test regret (± one standard error) against queries.

    Parameters
    ----------
    results : sequence of BenchmarkResult
        One result per strategy.
    path : str or path-like
        Where to write the image.
    title : str, default="NAS-Bench-201"
        Title of the plot.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    axes = figure.add_subplot()
    for result in results:
        mean, se = result.mean_se(what="test_regret")
        queries = np.arange(1, result.n_trials + 1)
        label = f"{result.strategy} ({result.n_seeds} seeds)"
        (line,) = axes.plot(queries, mean, label=label)
        axes.fill_between(
            queries, np.maximum(mean - se, 1e-3), mean + se, alpha=0.2, color=line.get_color()
        )
    axes.set_yscale("log")
    axes.set_xlabel("queries")
    axes.set_ylabel("test regret of the incumbent (accuracy points)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.savefig(path, dpi=120)
