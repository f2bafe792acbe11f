"""Quality of the sknas strategies on NAS-Bench-201 (CIFAR-10).

Protocol of ../shared/data/README.md: each strategy searches
``cifar10_valid_acc_12ep`` through the estimators' search loop
(``sknas.benchmarks.run_benchmark``); after each query the incumbent is the
architecture with the best validation accuracy so far, and its
``cifar10_test_acc_200ep`` is reported: mean and standard error over seeds at
50 / 100 / 150 queries. The search never sees the test column.

Usage::

    nice python benchmarks/sampler_nb201.py --seeds 20 --strategies evolution bananas
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sknas.benchmarks import NB201Benchmark, run_benchmark

DEFAULT_CSV = Path(__file__).resolve().parents[1].parent / "shared/data/nb201/nb201_cifar10.csv"
#: Reference figures (300 seeds, same protocol) from ../shared/data/README.md.
REFERENCE = {
    "tpe (Optuna, reference)": (93.81, 94.15, 94.23),
    "random (reference)": (93.49, 93.74, 93.82),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=["local_search", "evolution", "reinforce", "bananas", "gp"],
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--n-trials", type=int, default=150)
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args()
    bench = NB201Benchmark.from_csv(args.csv)
    marks = [m for m in (50, 100, 150) if m <= args.n_trials]
    print("| strategy | seeds | " + " | ".join(f"test @ {m}" for m in marks) + " | wall s |")
    print("|---" * (len(marks) + 3) + "|")
    for name, values in REFERENCE.items():
        cells = " | ".join(f"{v:.2f}" for v in values[: len(marks)])
        print(f"| {name} | 300 | {cells} | |")
    for strategy in args.strategies:
        start = time.perf_counter()
        result = run_benchmark(
            bench, strategy, n_trials=args.n_trials, seeds=args.seeds, n_jobs=args.n_jobs
        )
        mean, se = result.mean_se(marks)
        cells = " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in zip(mean, se))
        wall = time.perf_counter() - start
        print(f"| {strategy} | {args.seeds} | {cells} | {wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
