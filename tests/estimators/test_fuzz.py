"""Random inputs: each either fits and predicts sensibly or raises a documented error."""

from __future__ import annotations

import traceback
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sknas import NASClassifier, NASRegressor, SearchFailedError

TINY = dict(n_trials=1, max_epochs=2, random_state=0, device="cpu")
DOCUMENTED = (ValueError, TypeError, SearchFailedError)
COLUMN_KINDS = ("float32", "float64", "int", "bool", "object_numbers", "strings", "category")


def _column(draw, kind: str, n: int, nan: bool) -> np.ndarray | pd.Series:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind in ("float32", "float64"):
        scale = draw(st.sampled_from([1e-3, 1.0, 1e6]))
        values = (rng.normal(size=n) * scale).astype(kind)
        if nan and n:
            values[rng.random(n) < 0.3] = np.nan
        return values
    if kind == "int":
        return rng.integers(-5, 5, size=n)
    if kind == "bool":
        return rng.random(n) > 0.5
    if kind == "object_numbers":
        values = rng.normal(size=n).astype(object)
        if nan and n:
            values[rng.random(n) < 0.3] = None
        return values
    words = rng.choice(["red", "green", "blue", "é", ""], size=n).astype(object)
    if nan and n:
        words[rng.random(n) < 0.3] = None
    return pd.Series(words, dtype="category") if kind == "category" else words


@st.composite
def problems(draw):
    # Mostly sizes that can work, sometimes degenerate ones.
    # Mostly sizes that can work, sometimes degenerate ones (the rare branches are not the
    # draws hypothesis tries first, so a derandomised run still fits many networks).
    n = draw(st.integers(0, 3)) if draw(st.integers(0, 7)) == 5 else draw(st.integers(4, 25))
    n_features = 0 if draw(st.integers(0, 9)) == 5 else draw(st.integers(1, 4))
    kinds = [draw(st.sampled_from(COLUMN_KINDS)) for _ in range(n_features)]
    nan = draw(st.integers(0, 2)) == 1
    columns = [_column(draw, kind, n, nan) for kind in kinds]
    as_frame = draw(st.booleans())
    if as_frame:
        X = pd.DataFrame({f"c{j}": col for j, col in enumerate(columns)}, index=range(n))
    elif columns:
        X = np.column_stack([np.asarray(col, dtype=object) if not isinstance(col, np.ndarray)
                             else col for col in columns])
        if len({np.asarray(c).dtype for c in columns}) > 1:
            X = X.astype(object)
    else:
        X = np.empty((n, 0))
    regression = draw(st.booleans())
    usual = ["float"] if regression else ["int", "str", "bool"]
    unusual = ["int", "str", "bool", "float", "float_nan"]
    label = draw(st.sampled_from(unusual if draw(st.integers(0, 3)) == 2 else usual))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n_y = max(0, n - 1) if draw(st.integers(0, 9)) == 5 else n
    y: np.ndarray
    if label == "int":
        y = rng.integers(0, draw(st.integers(1, 4)), size=n_y)
    elif label == "str":
        y = rng.choice(["yes", "no", "maybe"], size=n_y)
    elif label == "bool":
        y = rng.random(n_y) > 0.5
    else:
        y = rng.normal(size=n_y)
        if label == "float_nan" and n_y:
            y[0] = np.nan
    estimator_class = NASRegressor if regression else NASClassifier
    missing_values = draw(st.sampled_from(["error", "impute"]))
    return estimator_class(missing_values=missing_values, **TINY), X, y


def _assert_documented(exc: BaseException) -> None:
    assert isinstance(exc, DOCUMENTED), f"undocumented {type(exc).__name__}: {exc}"
    assert str(exc).strip(), f"{type(exc).__name__} without a message"
    innermost = traceback.extract_tb(exc.__traceback__)[-1].filename
    assert "/torch/" not in innermost and "/skorch/" not in innermost, (
        f"{type(exc).__name__} raised from inside {innermost}: {exc}"
    )


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(problems())
def test_random_inputs_fit_or_raise_a_documented_error(problem):
    estimator, X, y = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            estimator.fit(X, y)
        except BaseException as exc:  # noqa: BLE001 - every exception is inspected
            _assert_documented(exc)
            return
        prediction = estimator.predict(X)
    assert len(prediction) == len(X)
    if isinstance(estimator, NASClassifier):
        assert set(np.unique(prediction)) <= set(estimator.classes_)
        proba = estimator.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    else:
        assert np.isfinite(prediction).all()
