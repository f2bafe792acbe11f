"""A messy pandas DataFrame: categorical and numeric columns with missing values.

sknas encodes the categorical columns, fills the missing values (``missing_values="impute"``),
searches a small network, and the model is saved to a file, loaded back and used to predict.

Run with ``python examples/messy_dataframe.py`` (about 10 seconds on a laptop CPU).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

import sknas
from sknas import NASClassifier


def make_customers(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Customers of a shop: will they buy again?"""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, size=n).round(),
            "income": rng.lognormal(10, 0.5, size=n),
            "visits": rng.poisson(3, size=n),
            "plan": pd.Categorical(rng.choice(["free", "basic", "premium"], size=n)),
            "country": rng.choice(["fr", "de", "it", "es"], size=n).astype(object),
            "newsletter": rng.random(n) > 0.5,
        }
    )
    score = (
        0.8 * (frame["plan"] == "premium")
        + 0.3 * frame["visits"]
        - 0.02 * (frame["age"] - 40).abs()
        + 0.5 * frame["newsletter"]
        + rng.normal(0, 0.5, size=n)
    )
    buys = pd.Series(np.where(score > score.median(), "buys", "leaves"), name="outcome")
    # Messy data: missing values in numeric and categorical columns.
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    frame.loc[rng.random(n) < 0.1, "country"] = None
    frame["plan"] = frame["plan"].mask(rng.random(n) < 0.05)
    return frame, buys


def main() -> None:
    X, y = make_customers()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    clf = NASClassifier(
        n_trials=4,
        max_epochs=20,
        missing_values="impute",
        max_parameters=50_000,
        candidate_timeout=5.0,
        random_state=0,
    ).fit(X_train, y_train)
    print("best architecture:", clf.best_architecture_)
    print("encoded columns:", clf.preprocessor_.get_feature_names_out().tolist())
    print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
    columns = ["state", "mean_test_score", "n_parameters", "fail_reason"]
    print(pd.DataFrame(clf.cv_results_)[columns].to_string())

    with tempfile.TemporaryDirectory() as tmp:
        path = clf.save(Path(tmp) / "customers.sknas")
        loaded = sknas.load(path)
    assert (loaded.predict(X_test) == clf.predict(X_test)).all()
    print("loaded model predicts:", loaded.predict(X_test.head(5)).tolist())


if __name__ == "__main__":
    main()
