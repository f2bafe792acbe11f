"""Multi-fidelity search: the same time budget with and without pruning.

Searches breast_cancer for a few seconds three times: without pruning, with
Hyperband (``pruner="hyperband"``, budgets in epochs) and with BOHB
(``strategy="bohb"``: TPE that models each Hyperband bracket). Pruned
candidates stop after 1, 3 or 9 epochs, so the same budget starts more of them.

Usage::

    python examples/multi_fidelity.py [--timeout 10]
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from sknas import NASClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per search")
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    settings = {
        "no pruning": dict(pruner=None),
        "hyperband": dict(pruner="hyperband"),
        "bohb": dict(strategy="bohb"),
    }
    for name, params in settings.items():
        clf = NASClassifier(
            timeout=args.timeout, n_trials=10_000, max_epochs=27, random_state=0, **params
        ).fit(X_train, y_train)
        states = list(clf.cv_results_["state"])
        print(
            f"{name:>10}: {len(states)} candidates ({states.count('PRUNED')} pruned, "
            f"{int(sum(clf.cv_results_['n_epochs']))} epochs in all), "
            f"pruner {type(clf.study_.pruner).__name__}, "
            f"test accuracy {clf.score(X_test, y_test):.4f}"
        )


if __name__ == "__main__":
    main()
