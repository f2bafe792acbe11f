"""Hypervolume of multi-objective strategies on NAS-Bench-201 (accuracy against latency).

The protocol of docs/benchmarks.md ("Multi-objective"): each run searches
(12-epoch validation accuracy, device latency) for ``--trials`` queries; the
user receives the non-dominated set of its queries, judged on (200-epoch test
error, latency), normalised by the table's ideal point and its reference
point (median test error, highest latency); the score is the hypervolume of
the received set over that of the table's true front.

Usage (the full table of the docs: 50 seeds, 150 queries)::

    python benchmarks/multi_objective.py --seeds 50 --trials 150 \\
        --devices pixel3 fpga --strategies random nsga2 motpe lemonade neural_architect hvi

A strategy written ``name:N`` runs ``N`` seeds instead of ``--seeds``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sknas.benchmarks import NB201Benchmark, run_benchmark

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA / "nb201_cifar10.csv"))
    parser.add_argument("--latency", default=str(DATA / "nb201_latency.csv.gz"))
    parser.add_argument("--devices", nargs="+", default=["pixel3", "fpga"])
    parser.add_argument("--strategies", nargs="+",
                        default=["random", "nsga2", "motpe", "lemonade", "neural_architect", "hvi"])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--trials", type=int, default=150)
    parser.add_argument("--queries", type=int, nargs="+", default=[50, 100, 150])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the results as JSON")
    args = parser.parse_args()
    queries = [q for q in args.queries if q <= args.trials]
    summary: dict[str, dict] = {}
    for device in args.devices:
        bench = NB201Benchmark.from_csv(args.data, latency=args.latency, device=device)
        summary[device] = {}
        for text in args.strategies:
            name, _, count = text.partition(":")
            n_seeds = int(count) if count else args.seeds
            start = time.perf_counter()
            result = run_benchmark(bench, name, n_trials=args.trials, seeds=n_seeds,
                                   n_jobs=args.jobs, objectives=("valid", "latency"))
            mean, se = result.mean_se(queries, what="hypervolume")
            median = np.median(result.hypervolume[:, np.asarray(queries) - 1], axis=0)
            cells = " / ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, se))
            medians = " / ".join(f"{m:.3f}" for m in median)
            print(f"{device:8s} {name:18s} seeds={n_seeds:3d}  HV@{queries}: {cells}  "
                  f"median {medians}  ({time.perf_counter() - start:.0f} s)", flush=True)
            summary[device][name] = {"n_seeds": n_seeds, "queries": queries,
                                     "mean": mean.tolist(), "se": se.tolist(),
                                     "median": median.tolist(),
                                     "hypervolume": result.hypervolume.tolist(),
                                     "queried": result.queried.tolist()}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
