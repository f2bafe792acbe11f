"""Surrogate benchmarks on NAS-Bench-201: ranking quality and whether strategies rank the same.

NAS-Bench-301's validation of a surrogate, on a table where the truth is known:

1. fit a surrogate (``SurrogateBenchmark.fit``) on ``--fraction`` of the cells for
   each model and encoding, and report Kendall's tau between its predictions and
   the table on the held-back cells (searched metric ``valid`` and reported ``test``);
2. run strategies on the table and on the surrogate (the default model and
   encoding) and compare their mean incumbent at ``--trials`` queries, and the
   Kendall tau between the two rankings of the strategies.

Usage::

    nice python benchmarks/surrogate.py --seeds 20 --trials 100
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from sknas.benchmarks import NB201Benchmark, SurrogateBenchmark, run_benchmark

DEFAULT_CSV = Path(__file__).resolve().parents[1].parent / "shared/data/nb201/nb201_cifar10.csv"
SETTINGS = [
    ("hgb", ("onehot",)), ("hgb", ("onehot", "path")), ("hgb", ("effective",)),
    ("mlp", ("onehot",)), ("mlp", ("effective",)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--strategies", nargs="+",
                        default=["random", "tpe", "evolution", "local_search", "reinforce"])
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args()
    table = NB201Benchmark.from_csv(args.csv)

    print("| model | encoding | tau valid | tau test | fit s |\n|---|---|---|---|---|")
    default = None
    for model, encodings in SETTINGS:
        start = time.perf_counter()
        surrogate = SurrogateBenchmark.fit(table, n_train=args.fraction, model=model,
                                           encodings=encodings, random_state=args.random_state)
        seconds = time.perf_counter() - start
        print(f"| {model} | {'+'.join(encodings)} | {surrogate.kendall_tau('valid'):.3f} | "
              f"{surrogate.kendall_tau('test'):.3f} | {seconds:.0f} |", flush=True)
        if (model, encodings) == ("hgb", ("effective",)):
            default = surrogate
    assert default is not None

    print(f"\n| strategy | table @{args.trials} | surrogate @{args.trials} (predicted) |")
    print("|---|---|---|")
    means = {"table": [], "surrogate": []}
    for strategy in args.strategies:
        cells = []
        for name, bench in (("table", table), ("surrogate", default)):
            result = run_benchmark(bench, strategy, n_trials=args.trials, seeds=args.seeds)
            mean, se = result.mean_se([args.trials])
            means[name].append(mean[0])
            cells.append(f"{mean[0]:.2f} ± {se[0]:.2f}")
        print(f"| {strategy} | {cells[0]} | {cells[1]} |", flush=True)
    tau = kendalltau(means["table"], means["surrogate"]).statistic
    order = [args.strategies[k] for k in np.argsort(means["table"])[::-1]]
    order_s = [args.strategies[k] for k in np.argsort(means["surrogate"])[::-1]]
    print(f"\nranking on the table:     {' > '.join(order)}")
    print(f"ranking on the surrogate: {' > '.join(order_s)}")
    print(f"Kendall tau between the rankings: {tau:.2f} ({args.seeds} seeds each)")


if __name__ == "__main__":
    main()
