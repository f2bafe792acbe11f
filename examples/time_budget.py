"""A time budget for the whole fit: ``timeout`` covers the search and the refit.

Fits an ensemble (five rounds of selection, two seeds each: ten networks to
refit) on the breast cancer data within ``--timeout`` seconds. The search keeps
time back for those networks, and the refit trains the ones the time left
covers. Prints the fit's wall time, the candidates searched, the networks refit
and the test accuracy.

Usage::

    python examples/time_budget.py [--timeout 20]
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from sknas import NASClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds for the whole fit")
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    clf = NASClassifier(
        timeout=args.timeout, n_trials=10_000, ensemble_size=5, refit_seeds=2, random_state=0
    )
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    networks = len(clf.ensemble_.indices) if hasattr(clf, "ensemble_") else 1
    print(f"fit: {seconds:.1f} s for a timeout of {args.timeout:g} s")
    print(f"search: {clf.n_trials_} candidates; refit: {networks} of 10 networks "
          f"in {clf.refit_time_:.1f} s")
    print(f"test accuracy: {clf.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
