"""A custom search space: funnel-shaped MLPs described by three numbers.

The space searches a first layer width, a number of layers and a shrink factor;
each layer is ``shrink`` times narrower than the one before. It implements the
three methods a space must have (``distributions``, ``decode``, ``build_module``)
and inherits sampling, mutation and encodings from :class:`sknas.spaces.SearchSpace`.

Usage::

    python examples/custom_space.py [--trials 4]
"""

from __future__ import annotations

import argparse

from optuna.distributions import CategoricalDistribution, IntDistribution
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.spaces import Architecture, SearchSpace


class FunnelSpace(SearchSpace):
    """MLPs whose layers shrink by a constant factor.

    Parameters
    ----------
    max_layers : int, default=4
        Most hidden layers.
    first_widths : tuple of int, default=(64, 128, 256)
        Choices for the width of the first hidden layer.
    """

    name = "funnel"

    def __init__(self, max_layers: int = 4, first_widths: tuple[int, ...] = (64, 128, 256)):
        self.max_layers = max_layers
        self.first_widths = first_widths

    def distributions(self):
        return {
            "n_layers": IntDistribution(1, self.max_layers),
            "first_width": CategoricalDistribution(list(self.first_widths)),
            "shrink": CategoricalDistribution([1.0, 0.5, 0.25]),
        }

    def widths(self, params):
        width, widths = float(params["first_width"]), []
        for _ in range(int(params["n_layers"])):
            widths.append(max(4, int(width)))
            width *= float(params["shrink"])
        return widths

    def decode(self, params):
        self.check_params(params)  # every parameter present and inside its distribution
        widths = self.widths(params)
        key = "-".join(map(str, widths))  # equal widths = the same network
        return Architecture.from_params(
            self.name, params, canonical=key, description=f"funnel [{key}]"
        )

    def build_module(self, arch, n_features_in, n_outputs):
        import torch  # only here: importing the space stays cheap

        layers, width_in = [], n_features_in
        for width in self.widths(arch.params):
            layers += [torch.nn.Linear(width_in, width), torch.nn.ReLU()]
            width_in = width
        layers.append(torch.nn.Linear(width_in, n_outputs))
        return torch.nn.Sequential(*layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4, help="candidates to evaluate")
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    clf = NASClassifier(
        search_space=FunnelSpace(max_layers=3), strategy="random", n_trials=args.trials,
        max_epochs=5, random_state=0,
    ).fit(X_train, y_train)
    print(clf.leaderboard()[["rank", "score", "n_parameters", "architecture"]])
    print(f"best: {clf.best_architecture_}, test accuracy {clf.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    main()
