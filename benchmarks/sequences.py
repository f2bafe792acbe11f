"""Searched recurrent cells against equally sized GRU and LSTM cells and ROCKET.

Time-series classification sets bundled with ``aeon`` (UCR/UEA archive,
installed with the ``bench`` extra; nothing is downloaded): each set's own
train/test split. Per set and seed:

* ``searched``: ``NASClassifier`` over ``RecurrentCellSpace(cell_types=("searched",))``
  (``--n-trials`` candidates);
* ``GRU`` / ``LSTM``: the same estimator, the same training (epochs, early
  stopping, validation rows, refit on all the data), over a space holding only
  that cell, sized to the searched cell's parameter count
  (``RecurrentCellSpace.hidden_size_of``): one candidate;
* ``ROCKET``: ``aeon``'s ``RocketClassifier`` (random convolution kernels and
  a ridge classifier).

The score is the test accuracy, mean (and standard deviation) over seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine_description, markdown_table, publish

SETS = ("ArrowHead", "GunPoint", "ItalyPowerDemand", "BasicMotions")
SECTION = "Sequences: searched recurrent cells"
#: Column titles of the methods, in table order.
LABELS = {
    "searched": "searched cell",
    "gru": "GRU (equal size)",
    "lstm": "LSTM (equal size)",
    "rocket": "ROCKET",
}


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test split of an aeon set, as ``(n, timesteps, features)`` arrays."""
    from aeon.datasets import load_classification

    X, y = load_classification(name, split="train")
    X_test, y_test = load_classification(name, split="test")
    return X.transpose(0, 2, 1), y, X_test.transpose(0, 2, 1), y_test


def nas(cell_type: str, args: argparse.Namespace, seed: int) -> object:
    from sknas import NASClassifier
    from sknas.spaces import RecurrentCellSpace

    space = RecurrentCellSpace(
        hidden_size=args.hidden_size, n_nodes=args.n_nodes, cell_types=(cell_type,)
    )
    return NASClassifier(
        search_space=space,
        n_trials=args.n_trials if cell_type == "searched" else 1,
        max_epochs=args.max_epochs,
        patience=args.patience,
        random_state=seed,
    )


def rocket(args: argparse.Namespace, seed: int) -> object:
    from aeon.classification.convolution_based import RocketClassifier

    return RocketClassifier(n_kernels=args.rocket_kernels, random_state=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SETS))
    parser.add_argument("--seeds", type=int, default=3, help="repetitions (seeds 0, 1, ...)")
    parser.add_argument("--n-trials", type=int, default=20, help="candidates of the search")
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--hidden-size", type=int, default=16, help="state of the searched cell")
    parser.add_argument("--n-nodes", type=int, default=8)
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
                start = time.perf_counter()
                model.fit(X if method != "rocket" else X.transpose(0, 2, 1), y)  # type: ignore[attr-defined]
                seconds[method] += time.perf_counter() - start
                data = X_test if method != "rocket" else X_test.transpose(0, 2, 1)
                scores[method].append(float(np.mean(model.predict(data) == y_test)))  # type: ignore[attr-defined]
                print(name, seed, method, f"{scores[method][-1]:.3f}", flush=True)
        means = {m: float(np.mean(v)) for m, v in scores.items()}
        wins += means["searched"] >= means["gru"]
        rows.append(
            [f"{name} ({X.shape[0]} train, {X.shape[1]}x{X.shape[2]})"]
            + [f"{means[m]:.3f} ± {np.std(scores[m]):.3f}" for m in methods]
            + [" / ".join(f"{seconds[m] / args.seeds:.0f}" for m in methods)]
        )
    initials = " / ".join(LABELS[m][0] for m in methods)
    table = markdown_table(
        ["set (train rows, timesteps x features)", *[LABELS[m] for m in methods],
         f"fit seconds ({initials})"],
        rows,
    )
    preamble = (
        f"Test accuracy, mean ± std over {args.seeds} seed(s); searched cell: "
        f"{args.n_trials} candidates, hidden size {args.hidden_size}, {args.n_nodes} nodes; "
        f"GRU/LSTM: one network of the searched cell's parameter count; all networks: at most "
        f"{args.max_epochs} epochs, patience {args.patience}. Searched cell >= GRU on "
        f"{wins} of {len(args.datasets)} sets. Machine: {machine_description()}."
    )
    publish(table, SECTION, preamble, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
