"""Search DARTS cells on digits with a small stack, refit the chosen cells in a larger one.

The 8x8 digits are given as ``(n, 1, 8, 8)`` images. Candidates are trained in
a 3-cell, 4-channel network; the refit of the best cells on all the training
data builds a 5-cell, 8-channel network (``final_cells``, ``final_channels``),
the transfer NASNet and DARTS made from a proxy network to the final one.

Usage::

    python examples/darts_space.py [--trials 3] [--epochs 3]
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.spaces import DARTSSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 1, 8, 8) / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X[:600], y[:600], random_state=0)

    space = DARTSSpace(channels=4, cells=3, n_nodes=2, final_channels=8, final_cells=5)
    clf = NASClassifier(
        search_space=space, strategy="evolution", n_trials=args.trials,
        max_epochs=args.epochs, random_state=0,
    ).fit(X_train, y_train)

    genotype = clf.search_space_.genotype(clf.best_architecture_)
    network = clf.best_estimator_.module_.inner
    n_parameters = sum(p.numel() for p in network.parameters())
    print("cells found:", genotype)
    print(f"refit network: {len(network.cells)} cells, {n_parameters} parameters")
    print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
    published = DARTSSpace.cell("darts_v2")
    print("DARTS V2 (published):", published)


if __name__ == "__main__":
    main()
