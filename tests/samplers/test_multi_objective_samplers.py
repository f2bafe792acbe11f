"""LEMONADE and Neural Architect: Optuna's multi-objective suite and behaviour on NB201 cells."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optuna
import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import MultiObjectiveSamplerTestCase

from sknas.samplers import make_sampler
from sknas.samplers.lemonade import LemonadeSampler
from sknas.samplers.neural_architect import NeuralArchitectSampler, hypervolume_improvement
from sknas.spaces import NB201Space

FACTORIES = {
    "lemonade": lambda **kw: LemonadeSampler(**kw),
    "neural_architect": lambda **kw: NeuralArchitectSampler(controller_steps=2, **kw),
}


@pytest.fixture(params=sorted(FACTORIES))
def sampler_class(request: pytest.FixtureRequest) -> Callable[..., BaseSampler]:
    return FACTORIES[request.param]


class TestOptunaMultiObjectiveSuite(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self, sampler_class: Callable[..., BaseSampler]) -> Callable[[], BaseSampler]:
        return lambda: sampler_class(seed=0)


def _toy(space: NB201Space) -> Callable[[optuna.Trial], tuple[float, float]]:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        ops = space.ops(space.decode({k: trial.params[k] for k in space.distributions()}))
        convs = sum(op.startswith("nor_conv") for op in ops)
        return float(convs + 0.5 * ops.count("skip_connect")), float(1 + convs)

    return objective


@pytest.mark.parametrize("name", ["lemonade", "neural_architect", "nsga2", "nsga3", "motpe"])
def test_named_multi_objective_strategies_search_nb201_cells(name):
    space = NB201Space()
    objective = _toy(space)
    runs = []
    for _ in range(2):
        study = optuna.create_study(
            directions=["maximize", "minimize"],
            sampler=make_sampler(name, seed=3, search_space=space),
        )

        def wrapped(trial: optuna.Trial) -> tuple[float, float]:
            for key, dist in space.distributions().items():
                trial._suggest(key, dist)
            return objective(trial)

        study.optimize(wrapped, n_trials=14)
        runs.append([t.params for t in study.trials])
        assert len(study.best_trials) >= 2  # a front, not a single point
    assert runs[0] == runs[1]  # same seed, same proposals


def test_hypervolume_improvement_is_zero_for_dominated_candidates():
    front = np.array([[0.0, 1.0], [1.0, 0.0]])
    gains = hypervolume_improvement(front, np.array([[1.5, 1.5], [0.5, 0.5]]), np.array([2.0, 2.0]))
    assert gains[0] == 0.0 and gains[1] == pytest.approx(0.25)
