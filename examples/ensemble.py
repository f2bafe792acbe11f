"""Ensembles of the best candidates: one search, the single best network and an ensemble.

Searches the wine data set once with ``ensemble_size=5``: greedy ensemble
selection with replacement over the candidates' held-out predictions chooses
up to five networks (with repetition), which are refit on all the training
data and averaged with their selection weights. ``best_estimator_`` is still
the single best network, so both can be compared on the test set.

Usage::

    python examples/ensemble.py [--n-trials 8]
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

from sknas import NASClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=8, help="candidates to search")
    args = parser.parse_args()

    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    clf = NASClassifier(
        n_trials=args.n_trials, max_epochs=30, ensemble_size=5, random_state=0
    ).fit(X_train, y_train)
    for index, weight in zip(clf.ensemble_.indices, clf.ensemble_.weights):
        print(
            f"member: trial {clf.cv_results_['trial_number'][index]}, weight {weight:.2f}, "
            f"validation accuracy {clf.cv_results_['mean_test_score'][index]:.4f}"
        )
    # best_estimator_ reads the preprocessed rows as float32 and predicts class indices.
    rows = clf.preprocessor_.transform(X_test).astype("float32")
    single = (clf.classes_[clf.best_estimator_.predict(rows)] == y_test).mean()
    ensemble = clf.score(X_test, y_test)
    print(f"single best network: test accuracy {single:.4f}")
    print(f"ensemble of {len(clf.ensemble_.indices)} networks: test accuracy {ensemble:.4f}")


if __name__ == "__main__":
    main()
