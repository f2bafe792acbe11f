"""BANANAS and GP-BO specifics: encodings, acquisition options, pending trials."""

from __future__ import annotations

import optuna
import pytest

from sknas._search import run_search
from sknas.samplers import BananasSampler, GPBOSampler
from sknas.spaces.nb201 import NB201Space
from tests.samplers.conftest import ToySpace, toy_value

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_bananas_uses_the_path_encoding_where_offered() -> None:
    assert BananasSampler(search_space=NB201Space())._encoding() == "path"
    assert BananasSampler(search_space=ToySpace())._encoding() == "onehot"
    assert BananasSampler(search_space=NB201Space(), encoding="onehot")._encoding() == "onehot"
    with pytest.raises(ValueError, match="path"):
        BananasSampler(search_space=ToySpace(), encoding="path")


@pytest.mark.parametrize("acquisition", ["its", "ucb", "ei"])
def test_bananas_acquisitions_on_nb201_space(acquisition: str) -> None:
    space = NB201Space()
    sampler = BananasSampler(
        acquisition=acquisition,
        n_models=2,
        n_epochs=20,
        n_startup_trials=4,
        seed=0,
        search_space=space,
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run_search(
        study,
        space,
        lambda t, a: float(sum(op == "nor_conv_3x3" for op in a.params.values())),
        n_trials=8,
    )
    assert len({t.user_attrs["architecture"] for t in study.trials}) == 8


def test_gp_accounts_for_running_trials() -> None:
    space = ToySpace()
    sampler = GPBOSampler(
        n_candidates=30, n_mc_samples=16, n_startup_trials=4, seed=0, search_space=space
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run_search(study, space, lambda t, a: toy_value(a.params), n_trials=8)
    distributions = space.distributions()
    running = study.ask(fixed_distributions=distributions)  # another worker's trial
    frozen = study._storage.get_trial(study._storage.create_new_trial(study._study_id))
    domain = sampler._domain(distributions)
    history = sampler._history(study, frozen, domain)
    assert history.pending == [running.params]
    proposal = sampler.sample_relative(study, frozen, distributions)
    assert space.decode(proposal).key() != space.decode(running.params).key()


def test_gp_kernel_on_encodings_and_mixed_spaces() -> None:
    sampler = GPBOSampler(
        kernel="encoding", n_candidates=20, n_mc_samples=8, n_startup_trials=3, seed=1
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(
        lambda t: (
            (t.suggest_float("x", -2, 2) - 1) ** 2 + (t.suggest_categorical("c", ["a", "b"]) == "a")
        ),
        n_trials=6,
    )
    mixed = GPBOSampler(n_candidates=20, n_mc_samples=8, n_startup_trials=3, seed=1)
    study = optuna.create_study(sampler=mixed)
    study.optimize(
        lambda t: (
            (t.suggest_float("x", -2, 2) - 1) ** 2 + (t.suggest_categorical("c", ["a", "b"]) == "a")
        ),
        n_trials=6,
    )
    assert len(study.trials) == 6
