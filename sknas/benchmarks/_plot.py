"""Plot of test regret against the number of queries (needs matplotlib)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

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


def plot_pareto(
    bench: Any,
    results: Sequence[BenchmarkResult],
    path: str | os.PathLike[str],
    *,
    objectives: Sequence[str] = ("valid", "latency"),
    report: str = "test",
    title: str = "NAS-Bench-201",
) -> None:
    """Save a PNG of test error against the second objective, with each strategy's front.

    Every cell of the table is a grey dot, the table's true front a black line;
    for each strategy the received set (the non-dominated queries on the
    searched ``objectives``) of its first seed after all queries is drawn,
    judged on ``report``.

    Parameters
    ----------
    bench : NB201Benchmark
        The table (with the second objective as a metric).
    results : sequence of BenchmarkResult
        Multi-objective results (``queried`` is read).
    path : str or path-like
        Where to write the image.
    objectives : sequence of str, default=("valid", "latency")
        The searched metrics.
    report : str, default="test"
        The accuracy the points are judged on.
    title : str, default="NAS-Bench-201"
        Title of the plot.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    from matplotlib.figure import Figure

    from sknas._optuna_compat import pareto_mask

    cost = bench.values(objectives[1])
    error = 100.0 - bench.values(report)
    searched = np.column_stack([-bench.values(objectives[0]), cost])
    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    axes = figure.add_subplot()
    axes.scatter(cost, error, s=2, color="0.8", label="all cells")
    true = np.flatnonzero(pareto_mask(np.column_stack([error, cost])))
    order = true[np.argsort(cost[true])]
    axes.step(cost[order], error[order], where="post", color="black", label="true front")
    for result in results:
        if result.queried is None:
            continue
        rows = np.unique(result.queried[0][result.queried[0] >= 0])
        received = rows[pareto_mask(searched[rows])]
        received = received[np.argsort(cost[received])]
        axes.plot(cost[received], error[received], "o-", ms=4, label=f"{result.strategy}")
    axes.set_xscale("log")
    axes.set_ylim(error.min() - 0.5, float(np.median(error)) + 1.0)
    axes.set_xlabel(objectives[1])
    axes.set_ylabel(f"{report} error (%)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.savefig(path, dpi=120)
