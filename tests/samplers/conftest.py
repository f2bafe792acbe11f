"""Small, fast configurations of every sknas sampler, shared by the sampler tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from optuna.distributions import CategoricalDistribution

from sknas.spaces.base import Architecture, SearchSpace

SamplerFactory = Callable[..., Any]


def _evolution(**kwargs: Any) -> Any:
    from sknas.samplers import RegularizedEvolutionSampler

    return RegularizedEvolutionSampler(
        population_size=4, sample_size=2, n_startup_trials=2, **kwargs
    )


def _reinforce(**kwargs: Any) -> Any:
    from sknas.samplers import ReinforceSampler

    return ReinforceSampler(hidden_size=8, n_startup_trials=1, **kwargs)


def _local_search(**kwargs: Any) -> Any:
    from sknas.samplers import LocalSearchSampler

    return LocalSearchSampler(n_startup_trials=2, n_restart_trials=2, **kwargs)


def _bananas(**kwargs: Any) -> Any:
    from sknas.samplers import BananasSampler

    return BananasSampler(
        n_models=2, n_epochs=30, hidden_size=16, n_candidates=30, n_startup_trials=2, **kwargs
    )


def _gp(**kwargs: Any) -> Any:
    from sknas.samplers import GPBOSampler

    return GPBOSampler(n_candidates=30, n_mc_samples=16, n_startup_trials=2, **kwargs)


def _morphism(**kwargs: Any) -> Any:
    from sknas.samplers import MorphismSampler

    return MorphismSampler(n_startup_trials=2, **kwargs)


#: Tiny configurations of every sknas strategy.
FACTORIES: dict[str, SamplerFactory] = {
    "bananas": _bananas,
    "evolution": _evolution,
    "gp": _gp,
    "local_search": _local_search,
    "morphism": _morphism,
    "reinforce": _reinforce,
}


@pytest.fixture(params=sorted(FACTORIES))
def sampler_class(request: pytest.FixtureRequest) -> SamplerFactory:
    """A factory ``(**kwargs) -> sampler`` of one sknas strategy (tiny configuration)."""
    return FACTORIES[request.param]


class ToySpace(SearchSpace):
    """Five categorical choices of four options (1,024 architectures)."""

    name = "toy"

    def distributions(self) -> dict[str, CategoricalDistribution]:
        return {f"c{i}": CategoricalDistribution(["a", "b", "c", "d"]) for i in range(5)}

    def decode(self, params: Any) -> Architecture:
        items = {f"c{i}": params[f"c{i}"] for i in range(5)}
        return Architecture.from_params(self.name, items, canonical="".join(items.values()))


def toy_value(params: dict[str, Any]) -> float:
    """A deterministic objective on :class:`ToySpace` with one best architecture.

    Each choice scores by its distance to a target, and neighbouring choices
    interact, so the landscape is learnable but not separable.
    """
    target = "dbcad"
    score = 0.0
    letters = [params[f"c{i}"] for i in range(5)]
    for i, letter in enumerate(letters):
        score -= abs(ord(letter) - ord(target[i]))
        if i and (letter == target[i]) and (letters[i - 1] == target[i - 1]):
            score += 1.0
    return score
