"""Callbacks: stop a search once a score is reached, log every trial to a CSV file.

An Optuna trial callback ``callback(study, frozen_trial)`` runs after every
trial: one writes a CSV row per trial, another calls ``study.stop()`` when the
best validation score reaches ``--target``. A skorch callback (here skorch's
``LRScheduler``) goes into every candidate's training and the refit. The data
are imbalanced (one class in ten), so the classifier weights the classes with
``class_weight="balanced"`` and is scored by balanced accuracy.

Usage::

    python examples/callbacks.py [--n-trials 12] [--target 0.88] [--log trials.csv]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile

from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from skorch.callbacks import LRScheduler

from sknas import NASClassifier


class CSVLogger:
    """An Optuna trial callback that appends one row per finished trial."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, "w", newline="") as file:
            csv.writer(file).writerow(["trial", "state", "score", "architecture"])

    def __call__(self, study, trial) -> None:
        with open(self.path, "a", newline="") as file:
            csv.writer(file).writerow(
                [trial.number, trial.state.name, trial.value, trial.params.get("n_layers")]
            )


def stop_at(target: float):
    """An Optuna trial callback that stops the search once ``target`` is reached."""

    def callback(study, trial) -> None:
        completed = [t for t in study.trials if t.value is not None]
        if completed and study.best_value >= target:
            print(f"trial {trial.number}: best score {study.best_value:.3f} >= {target}: stop")
            study.stop()

    return callback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=12, help="most candidates to search")
    parser.add_argument("--target", type=float, default=0.88, help="score that stops the search")
    parser.add_argument("--log", default=None, help="CSV file (default: a temporary file)")
    args = parser.parse_args()

    X, y = make_classification(
        n_samples=600, n_features=12, n_informative=6, weights=[0.9, 0.1], random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    log = args.log or os.path.join(tempfile.mkdtemp(prefix="sknas-"), "trials.csv")
    clf = NASClassifier(
        n_trials=args.n_trials,
        max_epochs=20,
        scoring="balanced_accuracy",
        class_weight="balanced",
        callbacks=[
            CSVLogger(log),
            stop_at(args.target),
            LRScheduler(policy="CosineAnnealingLR", T_max=20),
        ],
        random_state=0,
    ).fit(X_train, y_train)
    print(f"trials run: {clf.n_trials_} of at most {args.n_trials}")
    print(f"best validation balanced accuracy: {clf.best_score_:.3f}")
    test = balanced_accuracy_score(y_test, clf.predict(X_test))
    print(f"test balanced accuracy: {test:.3f}")
    with open(log) as file:
        print(f"trial log ({log}):\n{file.read()}", end="")


if __name__ == "__main__":
    main()
