"""Suggestion latency of the sknas strategies on NAS-Bench-201's space.

For each strategy and each history size, a study is filled with that many
finished random trials (values from the NAS-Bench-201 table when its CSV is
given, else a fixed synthetic function of the cell), the strategy's sampler
takes over, makes one untimed warm-up proposal (imports, REINFORCE's replay of
the history), and then the median wall-clock time of ``--repeats`` proposals
(``study.ask`` over the space's distributions, each told before the next) is
reported in milliseconds.

Usage::

    nice python benchmarks/sampler_latency.py --csv ../shared/data/nb201/nb201_cifar10.csv
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna

from sknas._search import run_search
from sknas.samplers import make_sampler
from sknas.spaces.base import Architecture
from sknas.spaces.nb201 import NB201Space

DEFAULT_CSV = Path(__file__).resolve().parents[1].parent / "shared/data/nb201/nb201_cifar10.csv"
GOALS_MS = {
    "evolution": 20.0,
    "local_search": 20.0,
    "reinforce": 20.0,
    "bananas": 1000.0,
    "gp": 1000.0,
}


def _objective(csv: Path | None) -> Callable[[optuna.Trial, Architecture], float]:
    if csv is not None and csv.is_file():
        from sknas.benchmarks import NB201Benchmark

        bench = NB201Benchmark.from_csv(csv)
        return lambda trial, arch: bench.query(arch, "valid")
    weights = np.random.default_rng(0).random((6, 5))
    ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    return lambda trial, arch: float(
        sum(weights[i, ops.index(op)] for i, op in enumerate(arch.params.values()))
    )


def measure(strategy: str, n_history: int, repeats: int, objective: Callable) -> float:
    """Median milliseconds of one proposal after ``n_history`` finished trials."""
    space = NB201Space()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    run_search(study, space, objective, n_trials=n_history)
    study.sampler = make_sampler(strategy, seed=0, search_space=space)
    distributions = space.distributions()
    times = []
    for k in range(repeats + 1):
        start = time.perf_counter()
        trial = study.ask(fixed_distributions=distributions)
        elapsed = time.perf_counter() - start
        study.tell(trial, objective(trial, space.decode(trial.params)))
        if k:  # the first proposal is a warm-up
            times.append(elapsed * 1000.0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=["random", "tpe", "evolution", "local_search", "reinforce", "bananas", "gp"],
    )
    parser.add_argument("--history", nargs="+", type=int, default=[50, 200])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = _objective(args.csv)
    header = "| strategy | " + " | ".join(f"ms after {n}" for n in args.history)
    print(header + " | ratio | goal |")
    print("|---" * (len(args.history) + 3) + "|")
    for strategy in args.strategies:
        medians = [measure(strategy, n, args.repeats, objective) for n in args.history]
        ratio = medians[-1] / medians[0] if medians[0] > 0 else float("nan")
        goal = GOALS_MS.get(strategy)
        verdict = (
            "" if goal is None else f"< {goal:g} ms: {'met' if medians[-1] < goal else 'MISSED'}"
        )
        cells = " | ".join(f"{m:.1f}" for m in medians)
        print(f"| {strategy} | {cells} | {ratio:.2f} | {verdict} |", flush=True)


if __name__ == "__main__":
    main()
