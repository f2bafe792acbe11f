"""Shared data and tiny strategy settings of the one-shot tests."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sknas.oneshot import ONESHOT_STRATEGIES, OneShotStrategy

#: Options that keep each method to a few steps.
SMALL_OPTIONS = {
    "rsws": {"n_samples": 4},
    "enas": {"n_samples": 4, "controller_steps": 2},
    "robust_darts": {"power_iterations": 2},
}


def small_strategy(name: str) -> OneShotStrategy:
    """The method ``name`` for one epoch of one batch, with its cheapest options."""
    return ONESHOT_STRATEGIES[name](epochs=1, batch_size=64, options=SMALL_OPTIONS.get(name))


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    """48 digits as ``(n, 1, 8, 8)`` images in [0, 1]."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = rng.choice(len(X), size=48, replace=False)
    return (X[keep] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32), y[keep]
