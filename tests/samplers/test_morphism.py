"""Hill climbing by network morphisms: proposals, weight inheritance, the estimator."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_digits

from sknas import NASClassifier
from sknas._search import run_search
from sknas.samplers import MorphismSampler, make_sampler
from sknas.samplers.morphism import MORPHISM_ATTR
from sknas.spaces import MLPSpace
from sknas.spaces.morphisms import _child_of_step

SPACE = MLPSpace(
    max_layers=3, widths=(8, 16, 32), activations=("relu",), norms=("none", "batch"),
    label_smoothings=(0.0,),
)
TINY = dict(
    search_space=SPACE, max_epochs=4, patience=4, random_state=0, device="cpu",
    strategy="morphism",
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def _size_objective(trial, arch):
    """Larger networks score better: the climb must keep growing."""
    return float(sum(SPACE.layer_widths(arch))) + 0.1 * bool(arch.params["residual"])


def test_proposals_are_morphism_children_of_the_best_trial():
    study = optuna.create_study(
        direction="maximize",
        sampler=MorphismSampler(n_startup_trials=2, seed=0, search_space=SPACE),
    )
    run_search(study, SPACE, _size_objective, n_trials=12)
    children = [t for t in study.trials if MORPHISM_ATTR in t.system_attrs]
    assert len(children) >= 4
    for trial in children:
        plan = trial.system_attrs[MORPHISM_ATTR]
        earlier = [t for t in study.trials[: trial.number] if t.value is not None]
        assert plan["parent"] == max(earlier, key=lambda t: t.value).number
        # Replaying the steps on the parent's architecture gives the child.
        arch = SPACE.decode(study.trials[plan["parent"]].params)
        for step in plan["steps"]:
            arch = _child_of_step(SPACE, arch, step)
        assert arch.key() == SPACE.decode(trial.params).key()
        assert 1 <= len(plan["steps"]) <= 2
        assert plan["epochs"] == 5
    values = [t.value for t in study.trials]
    # It climbs: the best network is larger than every random start.
    assert max(values) > max(values[:2])


def test_the_registry_builds_it():
    sampler = make_sampler("morphism", seed=0, search_space=SPACE)
    assert isinstance(sampler, MorphismSampler)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_operators": 0}, "max_operators"), ({"child_epochs": 0}, "child_epochs")],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MorphismSampler(**kwargs)


def test_estimator_children_inherit_their_parents_weights(digits):
    clf = NASClassifier(n_trials=6, **TINY).fit(*digits)
    trials = clf.study_.trials
    inherited = [t for t in trials if t.user_attrs.get("warm_start") == "inherited"]
    assert inherited, [t.user_attrs.get("warm_start") for t in trials]
    for child in inherited:
        parent = trials[child.user_attrs["morphism_parent"]]
        # The child starts from its parent's function: after one epoch it scores
        # about what its parent ended with (a network from scratch scores far less).
        assert child.intermediate_values[1] >= parent.value - 0.1
        # Its epochs count those of the weights it inherited.
        assert child.user_attrs["best_epochs"][0] > parent.user_attrs["best_epochs"][0]
    assert clf.score(*digits) > 0.5


def test_estimator_is_reproducible(digits):
    first = NASClassifier(n_trials=5, **TINY).fit(*digits)
    second = NASClassifier(n_trials=5, **TINY).fit(*digits)
    np.testing.assert_array_equal(
        first.cv_results_["mean_test_score"], second.cv_results_["mean_test_score"]
    )
    assert first.best_params_ == second.best_params_


def test_resumed_search_trains_children_from_scratch(tmp_path, digits):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    NASClassifier(n_trials=4, storage=url, study_name="m", **TINY).fit(*digits)
    clf = NASClassifier(n_trials=7, storage=url, study_name="m", **TINY).fit(*digits)
    trials = clf.study_.trials
    assert len(trials) == 7
    resumed = [t for t in trials[4:] if "warm_start" in t.user_attrs]
    assert resumed
    for trial in resumed:
        state = trial.user_attrs["warm_start"]
        # Parents of the first run are not in this process; later ones may be.
        assert state == "inherited" or state.startswith("scratch: the weights of trial")
        if trial.user_attrs["morphism_parent"] < 4:
            assert state.startswith("scratch")
