"""Multi-objective runs of ``python -m sknas.benchmarks nb201 --objectives valid latency``.

Example::

    python -m sknas.benchmarks nb201 --data ../shared/data/nb201/nb201_cifar10.csv \\
        --objectives valid latency --device pixel3 --strategies random motpe lemonade \\
        --seeds 50 --trials 150 --plot pareto.png
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sknas.benchmarks._hypervolume import HypervolumeScorer
from sknas.benchmarks._runner import BenchmarkResult

__all__ = ["add_arguments", "latency_options", "summarise"]

#: The latency table looked for next to ``--data`` when ``--latency`` is not given.
LATENCY_FILE = "nb201_latency.csv.gz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--objectives``, ``--device`` and ``--latency`` to the ``nb201`` parser."""
    parser.add_argument(
        "--objectives", nargs="+", default=None,
        help="searched metrics of a multi-objective run, e.g. 'valid latency'; the table "
        "then reports the hypervolume score",
    )
    parser.add_argument("--device", default=None,
                        help="latency table device (pixel3, raspi4, fpga, eyeriss, ...)")
    parser.add_argument("--latency", default=None,
                        help=f"latency table (default: {LATENCY_FILE} next to --data)")


def latency_options(args: argparse.Namespace) -> dict[str, Any]:
    """``from_csv`` keywords for the latency metric, or ``{}`` when it is not needed."""
    wanted = args.device is not None or (args.objectives and "latency" in args.objectives)
    if not wanted:
        return {}
    if args.device is None:
        raise ValueError("--objectives with 'latency' needs --device (e.g. pixel3).")
    path = args.latency or str(Path(args.data).with_name(LATENCY_FILE))
    return {"latency": path, "device": args.device}


def attach_hypervolume(
    bench: Any, results: Sequence[BenchmarkResult], objectives: Sequence[str], report: str
) -> None:
    """Fill ``hypervolume`` of every result (the issue's normalised score)."""
    scorer = HypervolumeScorer(bench, objectives, (report, *objectives[1:]))
    for result in results:
        assert result.queried is not None
        result.hypervolume = scorer.trajectory(result.queried)
        result.objectives = tuple(objectives)


def format_hypervolume(results: Sequence[BenchmarkResult], queries: Sequence[int]) -> str:
    """Mean ± standard error of the hypervolume score, one row per strategy."""
    header = ["strategy", "seeds", *[f"HV@{q}" for q in queries], "s/run"]
    rows = []
    for result in results:
        mean, se = result.mean_se(queries, what="hypervolume")
        rows.append(
            [result.strategy, str(result.n_seeds)]
            + [f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, se)]
            + [f"{result.wall_time.mean():.2f}"]
        )
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summarise(
    args: argparse.Namespace,
    bench: Any,
    results: Sequence[BenchmarkResult],
    queries: Sequence[int],
) -> None:
    """Print the hypervolume table and write the JSON and the Pareto plot if asked."""
    attach_hypervolume(bench, results, args.objectives, "test")
    print(
        f"NAS-Bench-201 {args.dataset} on {args.device}: hypervolume score of the "
        f"non-dominated queries (searched on {' / '.join(args.objectives)}, judged on test "
        "error), mean ± standard error over seeds"
    )
    print(format_hypervolume(results, queries))
    if args.json:
        summary = {
            "dataset": args.dataset, "device": args.device, "n_trials": args.trials,
            "objectives": list(args.objectives), "queries": list(queries),
            "strategies": {
                r.strategy: {
                    "n_seeds": r.n_seeds,
                    "mean": r.mean_se(queries, what="hypervolume")[0].tolist(),
                    "se": r.mean_se(queries, what="hypervolume")[1].tolist(),
                    "wall_time_per_run": float(np.mean(r.wall_time)),
                }
                for r in results
            },
        }
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=2)
    if args.plot:
        try:
            from sknas.benchmarks._plot import plot_pareto

            plot_pareto(bench, results, args.plot, objectives=args.objectives,
                        title=f"NAS-Bench-201 {args.dataset}, {args.device}")
            print(f"plot written to {args.plot}")
        except ImportError:
            print("matplotlib is not installed, so no plot was written.")
