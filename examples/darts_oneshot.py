"""One-shot search of DARTS cells on digits: a DARTS supernet, its cells refit in a larger stack.

Trains DARTS' search network (a mixed edge from every state to every node of
a normal and a reduction cell, in a 3-cell, 4-channel stack) on 8x8 digit
images, derives the cells by DARTS' rule (per node, the two inputs with the
strongest operation other than ``none``), retrains them from scratch in the
same small stack and refits them in a 5-cell, 8-channel network
(``final_cells``, ``final_channels``). Any one-shot strategy name works
(``--strategy gdas``, ``pc_darts``, ``drnas``, ...). Run from the repository
root::

    python examples/darts_oneshot.py [--strategy darts] [--epochs 3]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.oneshot import ONESHOT_STRATEGIES
from sknas.spaces import DARTSSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="darts", choices=sorted(ONESHOT_STRATEGIES))
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        images, y, train_size=500, test_size=300, stratify=y, random_state=0
    )
    space = DARTSSpace(channels=4, cells=3, final_channels=8, final_cells=5)
    strategy = ONESHOT_STRATEGIES[args.strategy](epochs=args.epochs, batch_size=64)
    model = NASClassifier(
        strategy=strategy, search_space=space, max_epochs=10, random_state=0
    ).fit(X_train, y_train)

    print("derived cells:", model.search_space_.genotype(model.best_architecture_))
    record = model.study_.user_attrs["sknas:oneshot"]
    print(f"supernet search: {record['search_time']:.1f} s, {len(record['history'])} epochs")
    ops = model.search_space_.ops
    weights = np.asarray(model.arch_history_[-1]["weights"])
    print("normal cell, edge 0 -> 2, final weights:",
          {op: round(float(w), 3) for op, w in zip(ops, weights[0])})
    network = model.best_estimator_.module_.inner
    n_parameters = sum(p.numel() for p in network.parameters())
    print(f"refit network: {len(network.cells)} cells, {n_parameters} parameters")
    print(f"test accuracy: {model.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    main()
