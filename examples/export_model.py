"""Export a fitted model for deployment: ONNX (onnxruntime) and TorchScript (torch only).

The exported model reads the raw table, as ``predict`` does: its missing values are filled,
its categorical columns one-hot encoded and its numbers scaled inside the model, then the
network (here an ensemble of two) and the softmax run. The production side below uses only
numpy and onnxruntime (or torch), never sknas, scikit-learn or skorch.

Needs the ``export`` extra (``pip install "sknas[export]"``). Run with
``python examples/export_model.py`` (about 20 seconds on a laptop CPU, most of it the ONNX
conversion of the network).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sknas import NASClassifier


def make_loans(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Loan applications with missing values: is the loan repaid?"""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(9, 0.6, size=n),
            "years": rng.integers(1, 30, size=n).astype(float),
            "purpose": rng.choice(["car", "home", "study", "other"], size=n).astype(object),
            "region": pd.Categorical(rng.choice(["north", "south", "east"], size=n)),
        }
    )
    score = -np.log(frame["amount"]) / 3 + 0.05 * frame["years"] + (frame["purpose"] == "home")
    repaid = np.where(score + rng.normal(0, 0.3, n) > np.median(score), "repaid", "default")
    frame.loc[rng.random(n) < 0.1, "years"] = np.nan
    frame.loc[rng.random(n) < 0.1, "purpose"] = None
    return frame, repaid


def onnx_feed(frame: pd.DataFrame, categorical: set[str]) -> dict[str, np.ndarray]:
    """What the ONNX model reads: one (n, 1) input per column; strings for categories."""
    feed = {}
    for name in frame.columns:
        column = frame[name]
        if name in categorical:  # a missing category is the empty string
            values = np.array(["" if pd.isna(v) else str(v) for v in column], dtype=object)
        else:  # numbers as float32, NaN where missing
            values = column.to_numpy(dtype=np.float32, na_value=np.nan)
        feed[name] = values.reshape(-1, 1)
    return feed


def main() -> None:
    X, y = make_loans()
    X_train, X_new = X.iloc[:300], X.iloc[300:]
    clf = NASClassifier(
        n_trials=4, max_epochs=10, ensemble_size=3, missing_values="impute", random_state=0
    ).fit(X_train, y[:300])
    print("ensemble members:", len(clf.ensemble_.indices), "weights:", clf.ensemble_.weights)

    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = clf.export_onnx(Path(tmp) / "loans.onnx")
        script_path = clf.export_torchscript(Path(tmp) / "loans.pt")

        # -- the production side: onnxruntime only ------------------------------------
        import onnxruntime

        session = onnxruntime.InferenceSession(str(onnx_path))
        print("ONNX inputs:", [(i.name, i.type) for i in session.get_inputs()])
        strings = {i.name for i in session.get_inputs() if i.type == "tensor(string)"}
        label, proba = session.run(["label", "probabilities"], onnx_feed(X_new, strings))

        # -- or torch only ------------------------------------------------------------
        import torch

        module = torch.jit.load(str(script_path))
        numbers = torch.tensor(
            X_new[list(module.numeric_columns)].to_numpy(dtype=np.float32, na_value=np.nan)
        )
        categories = [
            ["" if pd.isna(v) else str(v) for v in X_new[name]]
            for name in module.categorical_columns
        ]
        index, proba_torch = module(numbers, categories)

    expected = clf.predict_proba(X_new)
    print(f"ONNX vs predict_proba: max difference {np.abs(proba - expected).max():.1e}")
    print(f"TorchScript vs predict_proba: max difference "
          f"{np.abs(proba_torch.numpy() - expected).max():.1e}")
    assert (label == clf.predict(X_new)).all()
    assert (np.asarray(module.classes)[index.numpy()] == clf.predict(X_new)).all()
    print("first labels:", label[:5].tolist())


if __name__ == "__main__":
    main()
