"""REINFORCE: the controller cache equals a replay of the finished trials."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from sknas._search import run_search
from sknas.samplers import ReinforceSampler
from tests.samplers.conftest import ToySpace, toy_value


@pytest.mark.parametrize("controller", ["lstm", "independent"])
def test_replay_rebuilds_the_same_controller(controller: str) -> None:
    space = ToySpace()
    sampler = ReinforceSampler(controller=controller, hidden_size=8, seed=0, search_space=space)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run_search(study, space, lambda t, a: toy_value(a.params), n_trials=15)
    fresh = ReinforceSampler(controller=controller, hidden_size=8, seed=0, search_space=space)
    trial = study._storage.get_trial(study._storage.create_new_trial(study._study_id))
    distributions = space.distributions()
    assert fresh.sample_relative(study, trial, distributions) == sampler.sample_relative(
        study, trial, distributions
    )
    assert sampler._state is not None and fresh._state is not None
    ours, theirs = sampler._state.controller.state_dict(), fresh._state.controller.state_dict()
    assert list(ours) == list(theirs)
    for name, tensor in ours.items():
        np.testing.assert_array_equal(tensor.numpy(), theirs[name].numpy())
    assert sampler._state.next_number == 15


def test_policy_concentrates_on_good_choices() -> None:
    sampler = ReinforceSampler(controller="independent", learning_rate=0.1, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: float(t.suggest_categorical("x", [0, 1, 2, 3, 4])), n_trials=40)
    last = [t.params["x"] for t in study.trials[-15:]]
    assert np.mean(last) > 2.5


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="controller"):
        ReinforceSampler(controller="gru")
    with pytest.raises(ValueError, match="baseline_decay"):
        ReinforceSampler(baseline_decay=1.0)


def test_reward_floor_raises_rewards_below_the_running_median() -> None:
    floored = ReinforceSampler(seed=0)
    plain = ReinforceSampler(seed=0, reward_floor=None)
    seen = []
    for sampler, log in ((floored, []), (plain, [])):
        state = sampler._new_state("k", _ChoiceSpaceStub())
        for reward in (5.0, 1.0, 9.0, 0.0):
            sampler._step(state, [0], reward)
            log.append(state.baseline)
        seen.append(log)
    # floored rewards: 5, max(1, 3) = 3, 9, max(0, 2.5) = 2.5: a higher baseline throughout
    assert seen[0][0] == seen[1][0] == 5.0
    assert seen[0][1] == pytest.approx(0.9 * 5.0 + 0.1 * 3.0)
    assert seen[1][1] == pytest.approx(0.9 * 5.0 + 0.1 * 1.0)
    assert all(a >= b for a, b in zip(seen[0], seen[1]))
    with pytest.raises(ValueError, match="reward_floor"):
        ReinforceSampler(reward_floor="mean")


class _ChoiceSpaceStub:
    sizes = [3]
