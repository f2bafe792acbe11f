"""Behaviour shared by every sknas strategy: determinism, persistence, duplicates, quality."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from sknas._search import ARCH_KEY_ATTR, run_search
from sknas.samplers import STRATEGIES, make_sampler
from tests.samplers.conftest import ToySpace, toy_value

optuna.logging.set_verbosity(optuna.logging.WARNING)

Factory = Callable[..., Any]


def _objective(trial: optuna.Trial, arch: Any) -> float:
    return toy_value(arch.params)


def _search(sampler: Any, n_trials: int, storage: Any = None, name: str | None = None) -> Any:
    study = optuna.create_study(
        direction="maximize",
        sampler=sampler,
        storage=storage,
        study_name=name,
        load_if_exists=True,
    )
    run_search(study, ToySpace(), _objective, n_trials=n_trials)
    return study


def _params(study: optuna.Study) -> list[dict[str, Any]]:
    return [t.params for t in study.get_trials(deepcopy=False)]


def test_same_seed_same_proposals(sampler_class: Factory) -> None:
    space = ToySpace()
    first = _params(_search(sampler_class(seed=3, search_space=space), 12))
    second = _params(_search(sampler_class(seed=3, search_space=space), 12))
    other = _params(_search(sampler_class(seed=4, search_space=space), 12))
    assert first == second
    assert first != other


def test_pickle_round_trip_proposes_the_same(sampler_class: Factory) -> None:
    space = ToySpace()
    sampler = sampler_class(seed=5, search_space=space)
    study = _search(sampler, 8)
    copy = pickle.loads(pickle.dumps(sampler))
    trial_id = study._storage.create_new_trial(study._study_id)
    trial = study._storage.get_trial(trial_id)
    distributions = space.distributions()
    assert sampler.sample_relative(study, trial, distributions) == copy.sample_relative(
        study, trial, distributions
    )


def test_resume_from_sqlite_in_a_new_study_object(sampler_class: Factory, tmp_path: Path) -> None:
    space = ToySpace()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    _search(sampler_class(seed=7, search_space=space), 6, storage, "resume")
    resumed = _search(sampler_class(seed=7, search_space=space), 6, storage, "resume")
    straight = _search(sampler_class(seed=7, search_space=space), 12)
    assert len(resumed.trials) == 12
    assert _params(resumed) == _params(straight)


@pytest.mark.parametrize("with_space", [True, False])
def test_duplicates_avoided(sampler_class: Factory, with_space: bool) -> None:
    space = ToySpace()
    sampler = sampler_class(seed=11, search_space=space if with_space else None)
    if with_space:
        study = _search(sampler, 30)
        keys = [t.user_attrs[ARCH_KEY_ATTR] for t in study.trials]
    else:
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(
            lambda t: toy_value(
                {name: t.suggest_categorical(name, list("abcd")) for name in space.distributions()}
            ),
            n_trials=30,
        )
        keys = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(keys)) == len(keys)


def test_minimize_direction(sampler_class: Factory) -> None:
    space = ToySpace()
    study = optuna.create_study(
        direction="minimize", sampler=sampler_class(seed=0, search_space=space)
    )
    run_search(study, space, lambda t, a: -toy_value(a.params), n_trials=25)
    best = max(toy_value(t.params) for t in study.trials)
    # the strategy improves on the first trials, i.e. it follows "minimize"
    first = max(toy_value(t.params) for t in study.trials[:3])
    assert best > first
    assert study.best_value == -best


def test_beats_random_search_on_average(
    sampler_class: Factory, request: pytest.FixtureRequest
) -> None:
    space = ToySpace()
    seeds = range(5)
    # the policy-gradient learner needs a longer run than the others to pull ahead
    n_trials = 60 if "reinforce" in request.node.name else 30

    def mean_best(make: Callable[[int], Any]) -> float:
        return float(np.mean([_search(make(s), n_trials).best_value for s in seeds]))

    strategy = mean_best(lambda s: sampler_class(seed=s, search_space=space))
    random = mean_best(lambda s: optuna.samplers.RandomSampler(seed=s))
    assert strategy >= random + 1.0


def test_multi_objective_is_refused(sampler_class: Factory) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler_class())
    with pytest.raises(ValueError, match="single-objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 0.0), n_trials=1, catch=())


def test_failed_and_nan_trials_are_ignored(sampler_class: Factory) -> None:
    space = ToySpace()
    study = optuna.create_study(
        direction="maximize", sampler=sampler_class(seed=0, search_space=space)
    )
    count = {"n": 0}

    def objective(trial: optuna.Trial, arch: Any) -> float:
        count["n"] += 1
        if count["n"] % 4 == 0:
            raise RuntimeError("boom")
        if count["n"] % 4 == 1:
            return float("nan")
        return toy_value(arch.params)

    run_search(study, space, objective, n_trials=12)
    states = [t.state for t in study.trials]
    # NaN values are told as FAIL by Optuna too
    assert states.count(TrialState.FAIL) == 6
    assert states.count(TrialState.COMPLETE) == 6
    assert all(len(t.params) == 5 for t in study.trials)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("evolution", "RegularizedEvolutionSampler"),
        ("reinforce", "ReinforceSampler"),
        ("bananas", "BananasSampler"),
        ("gp", "GPBOSampler"),
        ("local_search", "LocalSearchSampler"),
    ],
)
def test_registered(name: str, cls: str) -> None:
    import sknas.samplers

    assert name in STRATEGIES
    space = ToySpace()
    sampler = make_sampler(name, seed=0, search_space=space)
    assert type(sampler) is getattr(sknas.samplers, cls)
    assert sampler._search_space is space and sampler._seed == 0


def test_import_does_not_import_torch() -> None:
    code = "import sys, sknas.samplers; print('torch' in sys.modules, 'botorch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
