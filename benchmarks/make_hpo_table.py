"""Measure a hyperparameter grid with scikit-learn and store it as a benchmark table.

A real table from a source other than NAS-Bench-201, for ``TableBenchmark``: every
combination of a preprocessing and an RBF SVC on scikit-learn's digits
(600 training images, the other 1,197 for test) is fitted once. The search metric
``valid_acc`` is the 3-fold cross-validated accuracy (%) on the training images, the
reported metric ``test_acc`` the accuracy (%) on the test images. Four categorical
columns: ``scaler`` (4) x ``pca`` (4) x ``C`` (6) x ``gamma`` (6) = 576 rows.

Usage::

    nice python benchmarks/make_hpo_table.py            # writes benchmarks/data/hpo_svc_digits.csv
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler
from sklearn.svm import SVC

OUT = Path(__file__).resolve().parent / "data" / "hpo_svc_digits.csv"
GRID = {
    "scaler": ["none", "standard", "minmax", "quantile"],
    "pca": ["none", "8", "16", "32"],
    "C": ["0.1", "1", "10", "100", "1000", "10000"],
    "gamma": ["scale", "0.0001", "0.001", "0.01", "0.1", "1"],
}


def _pipeline(scaler: str, pca: str, C: str, gamma: str, seed: int):
    steps = []
    if scaler == "standard":
        steps.append(StandardScaler())
    elif scaler == "minmax":
        steps.append(MinMaxScaler())
    elif scaler == "quantile":
        steps.append(QuantileTransformer(n_quantiles=100, random_state=seed))
    if pca != "none":
        steps.append(PCA(n_components=int(pca), random_state=seed))
    g: str | float = gamma if gamma == "scale" else float(gamma)
    steps.append(SVC(kernel="rbf", C=float(C), gamma=g))
    return make_pipeline(*steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=600, stratify=y, random_state=args.seed
    )
    folds = StratifiedKFold(3, shuffle=True, random_state=args.seed)
    start = time.perf_counter()
    rows = []
    for combo in itertools.product(*GRID.values()):
        model = _pipeline(*combo, seed=args.seed)
        valid = cross_val_score(model, X_train, y_train, cv=folds).mean()
        test = model.fit(X_train, y_train).score(X_test, y_test)
        rows.append([*combo, f"{100 * valid:.4f}", f"{100 * test:.4f}"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*GRID, "valid_acc", "test_acc"])
        writer.writerows(rows)
    valid_col = np.array([float(r[-2]) for r in rows])
    print(f"{len(rows)} rows in {time.perf_counter() - start:.0f} s -> {args.out}; "
          f"best valid {valid_col.max():.2f}, median {np.median(valid_col):.2f}")


if __name__ == "__main__":
    main()
