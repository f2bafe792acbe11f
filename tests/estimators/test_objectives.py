"""Several objectives, constraints, the Pareto front and the refit choice."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from sknas import NASClassifier, NASRegressor, load
from sknas.spaces import MLPSpace

SPACE = MLPSpace(max_layers=3, widths=(4, 16, 64, 128))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:240], y[:240]


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return NASClassifier(
        search_space=SPACE, objectives=("score", "latency", "params"), n_trials=6,
        max_epochs=2, strategy="random", random_state=0,
    ).fit(X, y)


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def test_each_objective_has_a_column_and_the_front_is_non_dominated(fitted):
    results = fitted.cv_results_
    assert len(fitted.study_.directions) == 3
    for name in ("cost_latency", "cost_params"):
        assert np.all(np.isfinite(results[name])) and np.all(results[name] > 0)
    front = fitted.pareto_front_
    assert len(front) >= 1
    losses = np.column_stack(
        [-results["mean_test_score"], results["cost_latency"], results["cost_params"]]
    )
    for i in front:  # nothing dominates a front point; every other point is dominated
        assert not any(_dominates(losses[j], losses[i]) for j in range(len(losses)))
    for j in set(range(len(losses))) - set(front.tolist()):
        assert any(_dominates(losses[i], losses[j]) or np.all(losses[i] == losses[j])
                   for i in front)
    # refit=True: the best score on the front, which is the best score overall
    assert fitted.best_index_ in front
    assert fitted.best_score_ == np.max(results["mean_test_score"])
    n_params = sum(p.numel() for p in fitted.best_estimator_.module_.parameters())
    assert results["cost_params"][fitted.best_index_] == n_params


def test_refit_dict_picks_the_best_front_point_under_the_bound(fitted, digits):
    results = fitted.cv_results_
    front = fitted.pareto_front_
    bound = float(np.sort(results["cost_params"][front])[0]) + 0.5  # only the smallest fits
    est = clone(fitted).set_params(refit={"params": bound}).fit(*digits)
    assert est.cv_results_["cost_params"][est.best_index_] <= bound
    assert est.best_index_ in est.pareto_front_
    with pytest.raises(ValueError, match="No candidate on the Pareto front meets"):
        clone(fitted).set_params(refit={"params": 1.0}).fit(*digits)


def test_refit_callable_gets_cv_results(fitted, digits):
    def smallest(results):
        return int(np.nanargmin(results["cost_params"]))

    est = clone(fitted).set_params(refit=smallest).fit(*digits)
    assert est.best_index_ == smallest(est.cv_results_)


def test_save_and_load_keep_the_front(fitted, tmp_path):
    loaded = load(fitted.save(tmp_path / "model.zip"))
    np.testing.assert_array_equal(loaded.pareto_front_, fitted.pareto_front_)
    np.testing.assert_array_equal(
        loaded.cv_results_["cost_latency"], fitted.cv_results_["cost_latency"]
    )
    assert loaded.objectives == fitted.objectives


def test_constraints_reach_optuna_and_filter_the_front(digits):
    X, y = digits
    est = NASClassifier(
        search_space=SPACE, objectives=("score", "flops"), constraints={"params": 3000},
        n_trials=5, max_epochs=1, strategy="nsga2", random_state=0,
    ).fit(X, y)
    results = est.cv_results_
    assert np.all(results["cost_params"][est.pareto_front_] <= 3000)
    assert results["cost_params"][est.best_index_] <= 3000
    stored = [  # Optuna 5 keeps them per name (Trial.set_constraint), Optuna 4 as a list
        list(getattr(t, "constraints", {}).values()) or t.system_attrs.get("constraints")
        for t in est.study_.trials
    ]
    assert all(c for c in stored)  # Optuna's samplers received the constraint values
    assert all((c[0] <= 0) == (p <= 3000) for c, p in zip(stored, results["cost_params"]))


def test_single_objective_with_constraint_refits_a_feasible_candidate(digits):
    X, y = digits
    with pytest.warns(UserWarning, match="no constraint support"):
        est = NASRegressor(
            search_space=SPACE, constraints={"params": 2500}, n_trials=4, max_epochs=1,
            strategy="random", random_state=1,
        ).fit(X, y.astype(float))
    assert len(est.study_.directions) == 1
    assert est.cv_results_["cost_params"][est.best_index_] <= 2500


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"objectives": ("latency", "score")}, "objectives must start with 'score'"),
        ({"objectives": ("score", "speed")}, "objectives must start with 'score'"),
        ({"constraints": {"latency": -1}}, "constraints must map costs"),
        ({"refit": {"memory": 3}}, "refit must map costs"),
        ({"objectives": ("score", "params"), "pruner": "median"}, "Optuna does not prune"),
    ],
)
def test_invalid_settings_name_the_parameter(digits, params, match):
    with pytest.raises(ValueError, match=match):
        NASClassifier(n_trials=1, max_epochs=1, **params).fit(*digits)


def test_mnasnet_reward_is_a_single_objective_any_strategy_can_search(digits):
    from sknas.latency import MnasNetReward

    X, y = digits
    est = NASClassifier(
        search_space=SPACE, objectives=("mnasnet_hard:0.001",), n_trials=3, max_epochs=1,
        strategy="evolution", random_state=0,
    ).fit(X, y)
    results = est.cv_results_
    assert len(est.study_.directions) == 1
    reward = MnasNetReward(0.001, hard=True)
    for i in range(3):  # every network is over a 1 microsecond target: score / (lat / T)
        raw = results["split0_test_score"][i]
        assert results["mean_test_score"][i] == pytest.approx(
            reward(raw, results["cost_latency"][i])
        )
        assert results["mean_test_score"][i] < raw
    assert MnasNetReward(5.0)(0.9, 5.0) == 0.9


def test_a_stored_study_of_other_objectives_is_not_resumed(digits, tmp_path):
    X, y = digits
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    NASClassifier(search_space=SPACE, n_trials=1, max_epochs=1, storage=storage,
                  study_name="s", refit=False, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="Use another study_name"):
        NASClassifier(search_space=SPACE, n_trials=1, max_epochs=1, storage=storage,
                      study_name="s", objectives=("score", "params"), random_state=0).fit(X, y)
