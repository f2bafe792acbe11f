"""Strategy names: a real frozenset from a function, registration, parameter validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import optuna
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sknas import NASClassifier
from sknas.samplers import STRATEGIES, _registry, make_sampler, register_strategy, strategy_names


def test_strategy_names_is_a_frozenset_that_stores_its_names() -> None:
    names = strategy_names()
    assert isinstance(names, frozenset)
    assert names == {"auto", *STRATEGIES}
    assert {"auto", "random", "tpe", "bananas", "local_search"} <= names
    assert names | {"x"} == {"auto", *STRATEGIES, "x"}
    assert sorted(names) == sorted(set(names))


def test_strategies_are_read_only() -> None:
    with pytest.raises(TypeError):
        STRATEGIES["mine"] = lambda seed, space: None  # type: ignore[index]


@pytest.fixture
def registered() -> Iterator[str]:
    name = "test-only-random"
    register_strategy(name, lambda seed, space: optuna.samplers.RandomSampler(seed=seed))
    yield name
    _registry._FACTORIES.pop(name)
    _registry._VALID_NAMES.discard(name)


def test_registered_strategy_is_valid_everywhere(registered: str) -> None:
    assert registered in strategy_names() and registered in STRATEGIES
    assert isinstance(make_sampler(registered, seed=1), optuna.samplers.RandomSampler)
    NASClassifier(strategy=registered)._validate_params()  # accepted by the estimators
    with pytest.raises(InvalidParameterError, match="strategy"):
        NASClassifier(strategy="no-such-strategy")._validate_params()


@pytest.mark.parametrize(
    ("name", "factory", "error"),
    [
        ("auto", lambda s, sp: None, ValueError),
        ("", lambda s, sp: None, ValueError),
        ("mine", "not callable", TypeError),
    ],
)
def test_bad_registrations_are_refused(name: str, factory: Any, error: type) -> None:
    with pytest.raises(error):
        register_strategy(name, factory)
    assert name not in strategy_names() or name == "auto"
