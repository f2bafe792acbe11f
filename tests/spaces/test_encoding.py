"""Generic sampling, mutation and encodings of flat Optuna search spaces."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from sknas.spaces.encoding import (
    check_supported,
    encode_params,
    encoding_length,
    mutate_params,
    sample_params,
)

SPACE = {
    "c": CategoricalDistribution(["a", "b", "c"]),
    "i": IntDistribution(1, 9, step=2),
    "li": IntDistribution(1, 1000, log=True),
    "f": FloatDistribution(0.0, 1.0),
    "lf": FloatDistribution(1e-5, 1e-1, log=True),
    "sf": FloatDistribution(0.0, 1.0, step=0.25),
}


def test_samples_lie_in_their_distributions():
    rng = np.random.default_rng(0)
    for _ in range(200):
        params = sample_params(SPACE, rng)
        for name, value in params.items():
            assert SPACE[name]._contains(SPACE[name].to_internal_repr(value)), (name, value)


def test_log_float_is_sampled_log_uniformly():
    rng = np.random.default_rng(0)
    values = np.array([sample_params(SPACE, rng)["lf"] for _ in range(2000)])
    below = np.mean(values < 1e-3)  # half of the log-range
    assert 0.45 < below < 0.55


def test_mutation_changes_exactly_n_parameters():
    rng = np.random.default_rng(1)
    parent = sample_params(SPACE, rng)
    for n in (1, 2, 3):
        child = mutate_params(SPACE, parent, rng, n_changes=n)
        changed = [k for k in SPACE if child[k] != parent[k]]
        assert len(changed) == n
        for name in changed:
            assert SPACE[name]._contains(SPACE[name].to_internal_repr(child[name]))


def test_encoding():
    params = {"c": "b", "i": 5, "li": 1, "f": 0.25, "lf": 1e-3, "sf": 1.0}
    vector = encode_params(SPACE, params)
    assert vector.shape == (encoding_length(SPACE),) == (8,)
    np.testing.assert_allclose(vector, [0, 1, 0, 0.5, 0.0, 0.25, 0.5, 1.0])
    missing = encode_params(SPACE, {})
    np.testing.assert_allclose(missing, [0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5])


def test_unsupported_distribution():
    with pytest.raises(TypeError, match="x"):
        check_supported({"x": object()})
