"""Features and targets of any magnitude give the same model as the data they were
shifted or scaled from: standardisation and de-standardisation happen in float64."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score

from sknas import NASClassifier, NASRegressor
from sknas.evaluation.training import _moments

TINY = dict(n_trials=1, max_epochs=3, random_state=0, device="cpu")


@cache
def _diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    return X[:150], y[:150], X[150:250], y[150:250]


@cache
def _base_fit() -> tuple[np.ndarray, float]:
    X, y, X_test, _ = _diabetes()
    model = NASRegressor(**TINY).fit(X, y)
    return model.predict(X_test), model.best_score_


# Each reproduction of a model that went wrong when data were cast to float32 before
# being standardised: (feature offset, feature scale, target offset, target scale).
REPRODUCTIONS = {
    "targets far from zero": (0.0, 1.0, 1e10, 1.0),
    "tiny targets": (0.0, 1.0, 0.0, 1e-15),
    "tiny features": (0.0, 1e-14, 0.0, 1.0),
    "timestamp-like features": (1.7e9, 50.0, 0.0, 1.0),
    "huge features": (0.0, 1e300, 0.0, 1.0),
}


@pytest.mark.parametrize("case", list(REPRODUCTIONS))
def test_shifted_or_scaled_data_give_the_same_model(case):
    a, b, c, d = REPRODUCTIONS[case]
    X, y, X_test, y_test = _diabetes()
    base_prediction, base_score = _base_fit()
    model = NASRegressor(**TINY).fit(a + b * X, c + d * y)
    prediction = model.predict(a + b * X_test)
    # Predictions are the base model's, shifted and scaled like the targets.
    np.testing.assert_allclose((prediction - c) / d, base_prediction, rtol=0,
                               atol=1e-4 * y.std())
    # best_score_ is scored in the user's units, and agrees with the test score.
    assert model.best_score_ == pytest.approx(base_score, abs=1e-6)
    assert r2_score(c + d * y_test, prediction) == pytest.approx(
        r2_score(y_test, base_prediction), abs=1e-6
    )


def test_shifted_features_give_the_same_classifier():
    X, y, X_test, _ = _diabetes()
    labels = (y > np.median(y)).astype(int)
    base = NASClassifier(**TINY).fit(X, labels)
    shifted = NASClassifier(**TINY).fit(1.7e9 + 50 * X, labels)
    np.testing.assert_allclose(
        shifted.predict_proba(1.7e9 + 50 * X_test), base.predict_proba(X_test), atol=1e-5
    )


LINEAR = dict(n_trials=1, max_epochs=2, random_state=0, device="cpu")


@cache
def _linear_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 2))
    y = X @ np.array([1.5, -2.0]) + 0.1 * rng.normal(size=48)
    return X, y, NASRegressor(**LINEAR).fit(X, y).predict(X)


@settings(max_examples=4, deadline=None, derandomize=True)
@given(
    x_offset=st.floats(-1e6, 1e6),
    x_exponent=st.integers(-12, 12),
    y_offset=st.floats(-1e8, 1e8),
    y_exponent=st.integers(-15, 15),
)
def test_any_offset_and_scale_give_the_same_predictions(
    x_offset, x_exponent, y_offset, y_exponent
):
    X, y, base = _linear_problem()
    x_scale, y_scale = 10.0**x_exponent, 10.0**y_exponent
    X_moved = x_scale * (x_offset + X)
    model = NASRegressor(**LINEAR).fit(X_moved, y_scale * (y_offset + y))
    prediction = model.predict(X_moved) / y_scale - y_offset
    # The moved data are themselves rounded to float64 relative to their offset.
    rounding = 1e-12 * (abs(y_offset) + abs(x_offset))
    np.testing.assert_allclose(prediction, base, rtol=0, atol=(1e-4 + rounding) * y.std())


@pytest.mark.parametrize(
    "values",
    [
        np.array([[1e10 + 1.0], [1e10 + 2.0], [1e10 + 3.0]]),
        np.array([[1e-15], [2e-15], [3e-15]]),
        np.array([[1e300], [-1e300], [5e299]]),
    ],
)
def test_moments_are_relative_to_the_data(values):
    mean, scale = _moments(values)
    standardised = (values - mean) / scale
    np.testing.assert_allclose(standardised.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(standardised.std(axis=0), 1.0, rtol=1e-6)


def test_constant_columns_keep_a_nonzero_scale():
    values = np.array([[1e10, 0.0, 1e-15]] * 4)
    mean, scale = _moments(values)
    np.testing.assert_array_equal(mean, values[0])
    assert np.all(scale > 0) and np.all(np.isfinite(scale))
    np.testing.assert_array_equal((values - mean) / scale, 0.0)
