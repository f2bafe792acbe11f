"""Any table of results as a NAS benchmark, and a surrogate fitted on part of it.

The table here is measured on the spot: a small grid of decision-tree settings on
scikit-learn's digits (cross-validated accuracy to search, test accuracy to report).
Strategies then search it by lookup, and a surrogate model fitted on half of the rows
answers for every combination.

    python examples/table_benchmark.py
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.tree import DecisionTreeClassifier

from sknas.benchmarks import SurrogateBenchmark, TableBenchmark, run_benchmark

GRID = {
    "criterion": ["gini", "entropy"],
    "max_depth": [2, 4, 6, 8, 12, 16],
    "min_samples_leaf": [1, 2, 4, 8, 16],
    "max_features": ["sqrt", "log2", "all"],
}


def measure_table() -> dict[str, list]:
    """Fit every combination of ``GRID`` once: a table with one row per setting."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    table: dict[str, list] = {name: [] for name in [*GRID, "cv_acc", "test_acc"]}
    for combo in itertools.product(*GRID.values()):
        params = dict(zip(GRID, combo))
        features = None if params["max_features"] == "all" else params["max_features"]
        model = DecisionTreeClassifier(**{**params, "max_features": features}, random_state=0)
        table["cv_acc"].append(cross_val_score(model, X_train, y_train, cv=3).mean())
        table["test_acc"].append(model.fit(X_train, y_train).score(X_test, y_test))
        for name, value in params.items():
            table[name].append(value)
    return table


def main() -> None:
    bench = TableBenchmark(measure_table(), space_columns=list(GRID),
                           search_metric="cv_acc", report_metric="test_acc")
    print(bench)
    print(f"best test accuracy in the table: {bench.optimum('test'):.3f}")
    for strategy in ("random", "tpe", "auto"):  # "auto": local search on a table
        result = run_benchmark(bench, strategy, n_trials=30, seeds=5)
        mean, se = result.mean_se([10, 30])
        print(f"{strategy:>7}: test accuracy after 10 / 30 queries "
              f"{mean[0]:.3f} ± {se[0]:.3f} / {mean[1]:.3f} ± {se[1]:.3f}")

    surrogate = SurrogateBenchmark.fit(bench, n_train=0.5, model="hgb", random_state=0)
    print(surrogate)
    print(f"Kendall tau on the held-back rows: {surrogate.kendall_tau('valid'):.2f}")
    result = run_benchmark(surrogate, "auto", n_trials=30, seeds=3)
    print(f"local search on the surrogate, predicted test accuracy after 30 queries: "
          f"{np.mean(result.incumbent_test[:, -1]):.3f}")


if __name__ == "__main__":
    main()
