"""Searched recurrent cells against equally sized GRU and LSTM cells and ROCKET.

Time-series classification sets bundled with ``aeon`` (UCR/UEA archive,
installed with the ``bench`` extra; nothing is downloaded): each set's own
train/test split; sets of variable-length sequences (JapaneseVowels) are
padded with NaN at their end. Per set and seed:

* ``searched``: ``NASClassifier`` over ``RecurrentCellSpace(cell_types=("searched",))``
  (``--n-trials`` candidates: cell, readout over time, learning rate; the first
  is the space's default, DARTS V2's first ``--n-nodes`` nodes at the mean
  readout and ``lr=0.003``);
* ``GRU`` / ``LSTM``: the same estimator with the same budget (``--n-trials``
  candidates: readout and learning rate), the same training (the space's
  sequence settings, epochs, early stopping, validation rows, refit on all
  the data), over a space holding only that cell, sized to the searched
  cell's parameter count (``RecurrentCellSpace.hidden_size_of``), its first
  candidate the same default readout and learning rate;
* ``ROCKET``: ``aeon``'s ``RocketClassifier`` (random convolution kernels and
  a ridge classifier).

The score is the test accuracy, median (and range) over seeds. ``SELECTION``
(ItalyPowerDemand, GunPoint) are the sets on which training settings may be
tuned; the other sets only confirm them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine_description, markdown_table, publish

#: Sets on which the training settings of ``RecurrentCellSpace`` may be tuned.
SELECTION = ("ItalyPowerDemand", "GunPoint")
SETS = (*SELECTION, "ArrowHead", "BasicMotions", "JapaneseVowels", "UnitTest")
SECTION = "Sequences: searched recurrent cells"
#: Column titles of the methods, in table order.
LABELS = {
    "searched": "searched cell",
    "gru": "GRU (equal size)",
    "lstm": "LSTM (equal size)",
    "rocket": "ROCKET",
}


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test split of an aeon set, as ``(n, timesteps, features)`` arrays.

    aeon returns variable-length sets as lists of ``(features, timesteps)``
    arrays; both splits are padded with NaN at the end to the longest training
    sequence, and test sequences longer than that are cut to it (the fitted
    networks read sequences of the training length).
    """
    from aeon.datasets import load_classification

    X, y = load_classification(name, split="train")
    X_test, y_test = load_classification(name, split="test")
    length = max(x.shape[-1] for x in X)
    cut = sum(x.shape[-1] > length for x in X_test)
    if cut:
        print(f"{name}: {cut} test sequences cut to {length} timesteps", flush=True)

    def padded(batch: list[np.ndarray]) -> np.ndarray:
        out = np.full((len(batch), length, batch[0].shape[0]), np.nan)
        for i, x in enumerate(batch):
            out[i, : x.shape[-1]] = x[:, :length].T
        return out

    return padded(list(X)), y, padded(list(X_test)), y_test


def nas(cell_type: str, args: argparse.Namespace, seed: int) -> object:
    from sknas import NASClassifier
    from sknas.spaces import RecurrentCellSpace

    space = RecurrentCellSpace(
        hidden_size=args.hidden_size, n_nodes=args.n_nodes, cell_types=(cell_type,)
    )
    return NASClassifier(
        search_space=space,
        n_trials=args.n_trials,
        max_epochs=args.max_epochs,
        patience=args.patience,
        random_state=seed,
    )


def rocket(args: argparse.Namespace, seed: int) -> object:
    from aeon.classification.convolution_based import RocketClassifier

    return RocketClassifier(n_kernels=args.rocket_kernels, random_state=seed)


def no_nan(X: np.ndarray) -> np.ndarray:
    """``(n, features, timesteps)`` for ROCKET, padding (NaN) read as zeros."""
    return np.nan_to_num(X.transpose(0, 2, 1), nan=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SETS))
    parser.add_argument("--seeds", type=int, default=3, help="repetitions (seeds 0, 1, ...)")
    parser.add_argument(
        "--n-trials", type=int, default=4, help="candidates of every method's search"
    )
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--hidden-size", type=int, default=16, help="state of the searched cell")
    parser.add_argument("--n-nodes", type=int, default=4)
    parser.add_argument("--rocket-kernels", type=int, default=10000)
    parser.add_argument(
        "--methods", nargs="+", default=list(LABELS), choices=list(LABELS),
        help="methods to run (the searched cell and the GRU are always run)",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    methods = ["searched", "gru", *[m for m in args.methods if m not in ("searched", "gru")]]
    rows, wins = [], 0
    for name in args.datasets:
        X, y, X_test, y_test = load(name)
        scores: dict[str, list[float]] = {m: [] for m in methods}
        seconds: dict[str, float] = {m: 0.0 for m in methods}
        for seed in range(args.seeds):
            for method in methods:
                model = rocket(args, seed) if method == "rocket" else nas(method, args, seed)
                start = time.process_time()
                model.fit(X if method != "rocket" else no_nan(X), y)  # type: ignore[attr-defined]
                seconds[method] += time.process_time() - start
                data = X_test if method != "rocket" else no_nan(X_test)
                scores[method].append(float(np.mean(model.predict(data) == y_test)))  # type: ignore[attr-defined]
                print(name, seed, method, f"{scores[method][-1]:.3f}",
                      getattr(model, "best_architecture_", ""), flush=True)
        medians = {m: float(np.median(v)) for m, v in scores.items()}
        wins += medians["searched"] >= medians["gru"]
        role = "selection" if name in SELECTION else "confirmation"
        rows.append(
            [f"{name} ({X.shape[0]} train, {X.shape[1]}x{X.shape[2]}, {len(set(y))} classes)",
             role]
            + [f"{medians[m]:.3f} ({min(scores[m]):.3f}–{max(scores[m]):.3f})" for m in methods]
            + [" / ".join(f"{seconds[m] / args.seeds:.0f}" for m in methods)]
        )
    initials = " / ".join(LABELS[m][0] for m in methods)
    table = markdown_table(
        ["set (train rows, timesteps x features, classes)", "role",
         *[LABELS[m] for m in methods], f"CPU s per fit ({initials})"],
        rows,
    )
    preamble = (
        f"Test accuracy, median (min–max) over {args.seeds} seed(s); every recurrent method: "
        f"{args.n_trials} candidates; searched cell: hidden size {args.hidden_size}, "
        f"{args.n_nodes} nodes; GRU/LSTM of the searched cell's parameter count; all networks: "
        f"the space's sequence training, at most {args.max_epochs} epochs. Searched cell >= GRU "
        f"(medians) on {wins} of {len(args.datasets)} sets. Machine: {machine_description()}."
    )
    publish(table, SECTION, preamble, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
