"""Hill climbing by network morphisms: children inherit their parents' weights.

Each child is a deeper, wider or skip-connected version of the best network so far that
starts from its trained weights and trains for a few epochs. The script prints, per trial,
whether it inherited and what its first epoch scored.

Usage::

    python examples/morphism_search.py [--trials 8]
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.spaces import MLPSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="candidates to evaluate")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    space = MLPSpace(max_layers=3, widths=(16, 32, 64), activations=("relu",))
    clf = NASClassifier(
        search_space=space, strategy="morphism", n_trials=args.trials, max_epochs=8,
        random_state=0,
    ).fit(X_train, y_train)
    for trial in clf.study_.trials:
        origin = trial.user_attrs.get("warm_start", "random start")
        ops = "+".join(trial.user_attrs.get("morphisms", [])) or "-"
        first = trial.intermediate_values.get(1, float("nan"))
        print(
            f"trial {trial.number}: {clf.search_space_.decode(trial.params).description}\n"
            f"    {origin} ({ops}), first epoch {first:.3f}, best {trial.value:.3f}"
        )
    print(f"test accuracy of the best network: {clf.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
