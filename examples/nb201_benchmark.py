"""Search NAS-Bench-201 by table lookup: random search, TPE and local search in seconds.

Uses the CIFAR-10 table bundled with sknas, or another table in the same format::

    python examples/nb201_benchmark.py [path/to/nb201_cifar10.csv]
"""

from __future__ import annotations

import sys
from pathlib import Path

from sknas.benchmarks import NB201Benchmark, run_benchmark


def main(path: str | Path | None = None) -> None:
    bench = NB201Benchmark.bundled() if path is None else NB201Benchmark.from_csv(path)
    print(bench)
    print(f"best test accuracy in the table: {bench.optimum('test'):.2f} %")
    for strategy in ("random", "tpe", "local_search"):
        result = run_benchmark(bench, strategy, n_trials=100, seeds=5)
        queries = (25, 50, 100)
        mean, se = result.mean_se(queries)
        cells = ", ".join(f"{q} queries {m:.2f} ± {s:.2f}" for q, m, s in zip(queries, mean, se))
        print(f"{strategy:>12}: {cells}")
    best = bench.arch_at(bench.best_index("valid"))
    print("cell with the best validation accuracy:", best.key())
    print("its parameters (M):", bench.query(best, "params"))


if __name__ == "__main__":
    main(*sys.argv[1:])
