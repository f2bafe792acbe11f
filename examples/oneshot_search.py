"""One-shot search: a GDAS supernet on digits, its cell retrained and looked up in NAS-Bench-201.

Trains one small NAS-Bench-201 supernet on 8x8 digit images (a few epochs, so
it runs in well under a minute), derives the cell, retrains it from scratch
through the estimator and prints how the architecture weights moved. When
the NAS-Bench-201 table is there, the derived cell's CIFAR-10 accuracy is
looked up (the search never read it). Last, a short DrNAS search shows its
progressive schedule: after the first half of the epochs each edge keeps its
three strongest operations. Run from the repository root::

    python examples/oneshot_search.py [path/to/nb201_cifar10.csv]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier
from sknas.oneshot import GDAS, DrNAS
from sknas.spaces import NB201Space

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/data/nb201/nb201_cifar10.csv"


def main(path: str | Path = DEFAULT) -> None:
    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        images, y, train_size=600, test_size=300, stratify=y, random_state=0
    )
    space = NB201Space(channels=4, cells_per_stage=1)
    model = NASClassifier(
        strategy=GDAS(epochs=4),  # or strategy="gdas" for the method's defaults
        search_space=space,
        max_epochs=8,
        random_state=0,
    ).fit(X_train, y_train)
    print("derived cell:", model.best_architecture_.key())
    print(f"retrained test accuracy: {model.score(X_test, y_test):.3f}")
    print("architecture weights per epoch (edge 0->3, ops in NB201 order):")
    for record in model.arch_history_:
        weights = np.round(record["weights"][3], 2)
        print(f"  epoch {record['epoch']}: tau={record['temperature']:.2f} {weights}")
    if Path(path).exists():
        from sknas.benchmarks import NB201Benchmark

        bench = NB201Benchmark.from_csv(path)
        acc = bench.query(model.best_architecture_, "test")
        pct = float((bench.values("test") < acc).mean() * 100)
        print(f"NAS-Bench-201 CIFAR-10 test accuracy of that cell: {acc:.2f} "
              f"(percentile {pct:.0f})")
    drnas = NASClassifier(
        strategy=DrNAS(epochs=4), search_space=space, max_epochs=2, random_state=0
    ).fit(X_train, y_train)
    kept = next(r["pruned_to"] for r in drnas.arch_history_ if "pruned_to" in r)
    print("DrNAS: operations kept per edge after the first stage:")
    for edge, ops in zip(("0->1", "0->2", "1->2", "0->3", "1->3", "2->3"), kept):
        print(f"  {edge}: {', '.join(ops)}")
    print("DrNAS derived cell:", drnas.best_architecture_.key())


if __name__ == "__main__":
    main(*sys.argv[1:2])
