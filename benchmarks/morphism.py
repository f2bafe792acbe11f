"""Network morphisms against training from scratch, at equal wall time.

For each data set and seed, runs ``NASClassifier``/``NASRegressor`` with
``strategy="morphism"`` and with the strategies it is compared with, each under
the same ``timeout``, and reports the test score, the number of candidates
evaluated and the share of them that inherited their parent's weights.

Small check (a minute)::

    python benchmarks/morphism.py --sets digits --seeds 1 --timeout 10

Full run (on a quiet machine)::

    nice -n 10 python benchmarks/morphism.py --sets digits breast_cancer wine diabetes \\
        --seeds 5 --timeout 45 --write
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import command_line, load_dataset, machine_description, markdown_table, write_section

from sknas import NASClassifier, NASRegressor


def run_one(name: str, strategy: str, seed: int, timeout: float) -> dict[str, float]:
    data = load_dataset(name, random_state=seed)
    cls = NASClassifier if data.task == "classification" else NASRegressor
    start = time.perf_counter()
    est = cls(strategy=strategy, n_trials=10_000, timeout=timeout, random_state=seed)
    est.fit(data.X_train, data.y_train)
    trials = [t for t in est.study_.trials if t.value is not None]
    inherited = sum(t.user_attrs.get("warm_start") == "inherited" for t in trials)
    return {
        "test": float(est.score(data.X_test, data.y_test)),
        "trials": float(len(trials)),
        "inherited": inherited / max(1, len(trials)),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["digits", "breast_cancer"])
    parser.add_argument("--strategies", nargs="+", default=["morphism", "local_search", "tpe"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=45.0)
    parser.add_argument(
        "--write", action="store_true", help="write the table to docs/benchmarks.md"
    )
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        for strategy in args.strategies:
            runs = [run_one(name, strategy, seed, args.timeout) for seed in range(args.seeds)]
            test = np.array([r["test"] for r in runs])
            rows.append([
                name, strategy, f"{test.mean():.4f} ± {test.std():.4f}",
                f"{np.mean([r['trials'] for r in runs]):.1f}",
                f"{100 * np.mean([r['inherited'] for r in runs]):.0f} %",
            ])
            print(" | ".join(rows[-1]), flush=True)
    table = markdown_table(["data set", "strategy", "test score", "candidates", "inherited"], rows)
    print(table)
    if args.write:
        body = (
            f"{machine_description()}; {args.seeds} seeds, "
            f"timeout {args.timeout:g} s per search.\n\n"
            f"`{command_line()}`\n\n{table}\n"
        )
        write_section("Network morphisms", body)


if __name__ == "__main__":
    main()
