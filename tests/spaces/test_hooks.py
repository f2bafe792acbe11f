"""The optional SearchSpace hooks: their defaults, the conformance suite, their callers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sknas.evaluation.training import DEFAULT_TRAINING, TrainingEvaluator
from sknas.spaces.base import Architecture
from sknas.testing import SearchSpaceConformance
from tests.samplers.conftest import ToySpace


class ToyModuleSpace(ToySpace):
    """:class:`ToySpace` that builds a linear module, so it can run the whole suite."""

    def decode(self, params: Any) -> Architecture:
        space_params = self.distributions()
        for name in space_params:
            if name not in params:
                raise ValueError(f"ToyModuleSpace: parameter {name!r} is missing.")
        return super().decode(params)

    def build_module(self, arch: Architecture, n_features_in: int, n_outputs: int) -> Any:
        import torch

        return torch.nn.Linear(n_features_in, n_outputs)


class ListedToySpace(ToyModuleSpace):
    """Lists its 1,024 architectures; two choices are isomorphic; it picks a learning rate."""

    def all_architectures(self) -> Iterator[Architecture]:
        for letters in itertools.product("abcd", repeat=5):
            yield self.decode({f"c{i}": letter for i, letter in enumerate(letters)})

    def isomorphism_key(self, arch: Architecture) -> str:
        return arch.key().replace("b", "a")  # "a" and "b" compute the same function

    def training_config(self, arch: Architecture) -> dict[str, Any]:
        return {"lr": 0.01 if arch.params["c0"] == "a" else 0.001}


class TestDefaultHooksConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self) -> ToyModuleSpace:
        return ToyModuleSpace()


class TestListedHooksConformance(SearchSpaceConformance):
    @pytest.fixture
    def space(self) -> ListedToySpace:
        return ListedToySpace()


def test_defaults() -> None:
    space = ToySpace()
    arch = space.sample(np.random.default_rng(0))
    assert space.isomorphism_key(arch) == arch.key()
    assert space.all_architectures() is None
    assert space.training_config(arch) == {}


def _evaluator(space: Any) -> TrainingEvaluator:
    return TrainingEvaluator(
        space,
        task="regression",
        n_outputs=1,
        scorer=lambda *a: 0.0,
        splits=[],
        max_epochs=1,
        patience=1,
    )


def test_training_config_fills_defaults_and_refuses_unknown_keys() -> None:
    space = ListedToySpace()
    arch = space.decode({f"c{i}": "a" for i in range(5)})
    assert _evaluator(space).training_config(arch) == {**DEFAULT_TRAINING, "lr": 0.01}

    class Bad(ListedToySpace):
        def training_config(self, arch: Architecture) -> dict[str, Any]:
            return {"momentum": 0.9}

    with pytest.raises(ValueError, match="momentum"):
        _evaluator(Bad()).training_config(arch)


class _Broken(ListedToySpace):
    """Breaks the hook contracts the suite checks."""

    def training_config(self, arch: Architecture) -> dict[str, Any]:
        return {"momentum": 0.9}

    def isomorphism_key(self, arch: Architecture) -> str:
        return str(id(arch))  # not stable across equal architectures

    def all_architectures(self) -> Iterator[Architecture]:
        arch = self.decode({f"c{i}": "a" for i in range(5)})
        yield arch
        yield arch


@pytest.mark.parametrize(
    "check",
    [
        "test_training_config_returns_only_known_keys",
        "test_isomorphism_key_is_stable_and_equal_for_equal_architectures",
        "test_all_architectures_round_trip_when_listed",
    ],
)
def test_the_suite_catches_broken_hooks(check: str) -> None:
    suite = SearchSpaceConformance()
    space = _Broken()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(5)]
    method = getattr(suite, check)
    with pytest.raises(AssertionError):
        if check == "test_all_architectures_round_trip_when_listed":
            method(space)
        else:
            method(space, archs)
