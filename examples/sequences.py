"""Search recurrent cells for sequences ``(n_samples, timesteps, features)``.

Synthetic two-class sequences of variable length (shorter ones padded with NaN
at their end): the class is whether a bump appears early or late. The search
covers the ENAS/DARTS searched cell and equally sized GRU and LSTM cells, each
with a readout over time and a learning rate; it prints the cell found, the
space's sequence training settings, its test accuracy, and a model file round trip.

Usage::

    python examples/sequences.py [--trials 4] [--epochs 10]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import sknas
from sknas import NASClassifier
from sknas.spaces import RecurrentCellSpace


def make_sequences(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy sequences of 20 to 30 timesteps, 2 features, NaN-padded to 30."""
    rng = np.random.default_rng(seed)
    X = np.full((n, 30, 2), np.nan)
    y = rng.integers(0, 2, size=n)
    for i in range(n):
        length = int(rng.integers(20, 31))
        t = np.arange(length)
        centre = 5 if y[i] == 0 else 15
        X[i, :length, 0] = np.exp(-((t - centre) ** 2) / 8.0) + 0.3 * rng.normal(size=length)
        X[i, :length, 1] = 0.3 * rng.normal(size=length)
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    X_train, y_train = make_sequences(200, seed=0)
    X_test, y_test = make_sequences(100, seed=1)
    space = RecurrentCellSpace(hidden_size=8, n_nodes=4)
    clf = NASClassifier(
        search_space=space, n_trials=args.trials, max_epochs=args.epochs, random_state=0
    ).fit(X_train, y_train)
    print("cell found:", clf.best_architecture_)  # cell, readout over time, learning rate
    print("training settings:", space.training_config(clf.best_architecture_))
    print("sequence shape:", clf.sequence_shape_)
    print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
    print("GRU of equal size has", space.hidden_size_of("gru", 2), "state units")
    with tempfile.TemporaryDirectory() as folder:
        loaded = sknas.load(clf.save(Path(folder) / "sequences.sknas"))
        assert (loaded.predict(X_test) == clf.predict(X_test)).all()
    print("saved and loaded: same predictions")


if __name__ == "__main__":
    main()
