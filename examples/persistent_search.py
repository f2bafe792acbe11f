"""A search that persists in SQLite, runs on two processes and resumes.

The first ``fit`` runs part of the budget with two worker processes sharing
the study in ``search.db``; the second ``fit`` (same storage and study name)
keeps those trials and runs only the rest. While either runs, another machine
(or terminal) can join with::

    sknas worker --storage sqlite:///search.db --study digits-persistent

Usage::

    python examples/persistent_search.py [--db search.db] [--trials 12]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="search.db", help="SQLite file of the study")
    parser.add_argument("--trials", type=int, default=12, help="trials in the whole study")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    storage = f"sqlite:///{Path(args.db).resolve()}"
    common = dict(
        storage=storage,
        study_name="digits-persistent",
        max_epochs=20,
        n_jobs=args.jobs,
        random_state=0,
    )

    first = NASClassifier(n_trials=args.trials // 2, **common).fit(X_train, y_train)
    print(f"first fit: {first.n_trials_} trials in the study, best {first.best_score_:.4f}")

    # Same storage and study name: finished trials are kept, only the rest run.
    second = NASClassifier(n_trials=args.trials, **common).fit(X_train, y_train)
    workers = {t.user_attrs.get("worker") for t in second.study_.trials} - {None}
    print(f"second fit: {second.n_trials_} trials, evaluated by {len(workers)} processes")
    print(f"best architecture: {second.best_architecture_}")
    print(f"test accuracy: {second.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
