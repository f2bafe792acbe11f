"""Search a neural network for scikit-learn's handwritten digits.

Runs a small architecture search with :class:`sknas.NASClassifier`, prints the
network it found and its test accuracy next to scikit-learn's
``MLPClassifier`` with default settings on the same split.

Usage::

    python examples/search_digits.py [--trials 15] [--strategy auto] [--timeout SECONDS]
                                     [--ensemble-size 5] [--refit-seeds 2]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknas import NASClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=15, help="candidates to evaluate")
    parser.add_argument("--strategy", default="auto", help="search strategy name")
    parser.add_argument("--timeout", type=float, default=None, help="whole fit time limit (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ensemble-size", type=int, default=5,
        help="top candidates combined by greedy ensemble selection (1: the single best)",
    )
    parser.add_argument(
        "--refit-seeds", type=int, default=2,
        help="networks refit per round of ensemble selection, from different seeds",
    )
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )

    start = time.perf_counter()
    nas = NASClassifier(
        n_trials=args.trials,
        strategy=args.strategy,
        timeout=args.timeout,
        max_epochs=40,
        ensemble_size=args.ensemble_size,
        refit_seeds=args.refit_seeds,
        random_state=args.seed,
        verbose=1,
    ).fit(X_train, y_train)
    nas_time = time.perf_counter() - start

    start = time.perf_counter()
    mlp = make_pipeline(StandardScaler(), MLPClassifier(random_state=args.seed))
    mlp.fit(X_train, y_train)
    mlp_time = time.perf_counter() - start

    print()
    print(f"Digits: {len(X_train)} training and {len(X_test)} test images, 10 classes")
    sampler = type(nas.study_.sampler).__name__
    print(f"Searched {nas.n_trials_} candidates with strategy {args.strategy!r} ({sampler}).")
    print(f"Best architecture: {nas.best_architecture_}")
    print(f"  parameters: {nas.cv_results_['n_parameters'][nas.best_index_]:,}")
    print(f"  validation accuracy during the search: {nas.best_score_:.4f}")
    if hasattr(nas, "ensemble_"):
        indices = nas.ensemble_.indices
        print(f"Ensemble of {len(set(indices))} candidates ({len(indices)} networks); "
              f"validation accuracy of the ensemble {nas.ensemble_.score:.4f}")
    print()
    print(f"{'model':<32}{'test accuracy':>14}{'fit time (s)':>14}")
    print(f"{'sknas NASClassifier':<32}{nas.score(X_test, y_test):>14.4f}{nas_time:>14.1f}")
    print(f"{'sklearn MLPClassifier (default)':<32}{mlp.score(X_test, y_test):>14.4f}"
          f"{mlp_time:>14.1f}")

    print()
    print("Leaderboard (top 5 candidates of the search):")
    columns = ["rank", "score", "n_parameters", "fit_time", "epochs", "state", "architecture"]
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(nas.leaderboard()[columns].head().to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
