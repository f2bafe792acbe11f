"""Accuracy against device latency on NAS-Bench-201: "hvi" against MOTPE and random search.

Searches the 15,625 cells for (12-epoch validation accuracy, latency on one
device of ``nb201_latency.csv.gz``) by table look-up and scores the front each
strategy returns by hypervolume (1.0 = the table's true front; see
docs/benchmarks.md). The CIFAR-10 table ships with sknas; the latency table is
the one of ``shared/data/nb201`` (or give its path)::

    python examples/multi_objective_nb201.py [path/to/nb201_latency.csv.gz] [device]

Three seeds of 50 queries each: about half a minute on a laptop CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sknas.benchmarks import NB201Benchmark, run_benchmark

LATENCY = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201_latency.csv.gz"


def main(latency: str | Path = LATENCY, device: str = "fpga") -> None:
    table = NB201Benchmark.bundled()
    bench = NB201Benchmark.from_csv(table.source, latency=latency, device=device)
    for strategy in ("random", "motpe", "hvi"):
        result = run_benchmark(bench, strategy, n_trials=50, seeds=3,
                               objectives=("valid", "latency"))
        mean, se = result.mean_se([25, 50], what="hypervolume")
        print(f"{device} {strategy:>6}: hypervolume {mean[0]:.3f} ± {se[0]:.3f} after 25 "
              f"queries, {mean[1]:.3f} ± {se[1]:.3f} after 50")


if __name__ == "__main__":
    main(*sys.argv[1:])
