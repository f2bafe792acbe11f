"""``timeout`` bounds the whole fit: the search keeps time back for the refit."""

from __future__ import annotations

import time
from collections import Counter
from types import SimpleNamespace

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from sklearn.datasets import load_iris

import sknas.estimators._budget as budget
import sknas.estimators.base as base
from sknas import NASClassifier
from sknas._optuna_compat import stop_requested, stoppable
from sknas.estimators._budget import RefitClock, RefitReserve, network_seconds, refit_order
from sknas.estimators._job import SearchJob, fetch_job, publish_job

TINY = dict(max_epochs=3, patience=2, random_state=0, device="cpu", search_space="mlp")


def _split(n_train: int, n_valid: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n_train), np.arange(n_train, n_train + n_valid)


def _trial(
    fit_time: float | None, value: float = 0.5, **attrs: object
) -> optuna.trial.FrozenTrial:
    if fit_time is not None:
        attrs["fit_time"] = fit_time
    return optuna.trial.create_trial(
        value=value, params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)},
        user_attrs=attrs,
    )


def test_network_seconds_scales_one_split_to_all_rows():
    splits = [_split(80, 20), _split(80, 20)]
    # 10 s over two splits of 80 training rows: 5 s per split, x 100 / 80 rows.
    assert network_seconds(_trial(10.0), 100, splits) == pytest.approx(6.25)
    assert network_seconds(_trial(None), 100, splits) == 0.0
    # With its epochs known: 10 s for 40 epochs over both splits is 0.25 s per epoch of 80
    # rows; the refit trains the median best epoch (12) on 100 rows.
    known = _trial(10.0, trained_epochs=40, best_epochs=[10, 14])
    assert network_seconds(known, 100, splits) == pytest.approx(0.25 * 12 * 100 / 80)


def test_refit_order_trains_every_member_before_a_second_seed():
    assert refit_order([4, 4, 7], 2) == [4, 4, 7, 4, 4, 7]
    assert refit_order([3], 1) == [3]


def _study(fit_times, values=None):
    study = optuna.create_study(direction="maximize")
    for fit_time, value in zip(fit_times, values or [0.5] * len(fit_times)):
        study.add_trial(_trial(fit_time, value))
    return study


def test_reserve_is_the_planned_networks_at_the_median_cost_capped():
    splits = [_split(100, 25)]
    evaluator = SimpleNamespace(search_deadline=None)

    def reserve(n_networks, fit_times, values=None, cap=30.0):
        plan = RefitReserve(time.time() + 1_000, n_networks, cap, 100, splits, evaluator)
        return plan.reserve(_study(fit_times, values))

    assert reserve(4, []) == 0.0
    # Cheap best candidates: the median cost (2 s) per network.
    assert reserve(2, [1.0, 2.0, 9.0], [0.9, 0.8, 0.1]) == pytest.approx(4.0)
    # Costly best candidates: their mean cost (9 s, then 5.5 s) per network.
    assert reserve(1, [1.0, 2.0, 9.0], [0.1, 0.8, 0.9]) == pytest.approx(9.0)
    assert reserve(2, [1.0, 2.0, 9.0], [0.1, 0.8, 0.9]) == pytest.approx(11.0)
    assert reserve(4, [20.0]) == pytest.approx(30.0)  # capped


def test_reserve_moves_the_search_end_and_stops_the_study_once_it_passed():
    splits = [_split(100, 25)]
    evaluator = SimpleNamespace(search_deadline=None)
    study = _study([5.0])
    deadline = time.time() + 1_000
    far = RefitReserve(deadline, 2, 100.0, 100, splits, evaluator)
    with stoppable(study):
        far(study, study.trials[0])
        assert evaluator.search_deadline == pytest.approx(deadline - 10.0)
        assert not stop_requested(study)
        near = RefitReserve(time.time() + 5.0, 2, 100.0, 100, splits, evaluator)
        near(study, study.trials[0])  # 10 s of refit no longer fit in 5 s
        assert stop_requested(study)


def test_the_job_payload_carries_the_refit_plan():
    X = np.zeros((8, 2), dtype=np.float32)
    job = SearchJob(
        estimator=NASClassifier(), search_space=base.make_search_space("mlp"), X=X,
        y=np.zeros(8, dtype=np.int64), n_outputs=2, splits=[_split(6, 2)], sampler_seed=0,
        train_seed=0, device="cpu", n_trials=3, deadline=123.0, refit_networks=6,
        refit_reserve_max=40.0,
    )
    study = optuna.create_study()
    assert publish_job(study, job)
    fetched = fetch_job(study)
    assert fetched is not None
    assert fetched.refit_networks == 6 and fetched.refit_reserve_max == 40.0


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def test_the_refit_clock_corrects_estimates_by_what_networks_took():
    now = [100.0]
    clock = RefitClock(110.0, now=lambda: now[0])
    assert clock.has_time_for(9.0) and not clock.has_time_for(11.0)
    clock.record(4.0, 2.0)  # networks take half their estimate
    now[0] = 102.0
    assert clock.has_time_for(16.0) and not clock.has_time_for(17.0)
    assert RefitClock(None).has_time_for(1e9)
    assert clock.has_time_for(0.0)  # nothing known about the network: try it


def test_the_whole_budget_for_the_refit_ends_the_search_after_one_trial(iris, monkeypatch):
    # The refit may take the whole timeout and each network is estimated at an hour:
    # the search stops after its first trial.
    monkeypatch.setattr(base, "MAX_REFIT_SHARE", 1.0)
    monkeypatch.setattr(budget, "network_seconds", lambda *args: 3_600.0)
    model = NASClassifier(n_trials=5, timeout=600, ensemble_size=2, **TINY).fit(*iris)
    assert model.n_trials_ == 1
    assert model.score(*iris) > 0.3


def test_a_refit_out_of_time_keeps_the_best_network(iris, monkeypatch):
    monkeypatch.setattr(budget.RefitClock, "has_time_for", lambda self, estimate: False)
    model = NASClassifier(n_trials=3, timeout=3_600, ensemble_size=3, refit_seeds=2, **TINY)
    model.fit(*iris)
    assert model.n_trials_ == 3
    assert not hasattr(model, "ensemble_") and not hasattr(model, "ensemble_estimators_")
    assert model.score(*iris) > 0.3


def test_a_refit_cut_short_keeps_every_member_before_a_second_seed(iris, monkeypatch):
    kwargs = dict(n_trials=4, ensemble_size=3, refit_seeds=2, **TINY)
    full = NASClassifier(**kwargs).fit(*iris)
    answers = iter([True] * 2 + [False] * 10)  # the 2nd and 3rd networks, not the 4th
    monkeypatch.setattr(budget.RefitClock, "has_time_for", lambda self, e: next(answers))
    cut = NASClassifier(timeout=3_600, **kwargs).fit(*iris)
    assert len(cut.ensemble_.indices) == 3 and len(cut.ensemble_estimators_) == 3
    # The first round of seeds: every selection of the full ensemble once.
    first_round = {i: c // 2 for i, c in Counter(full.ensemble_.indices).items()}
    assert Counter(cut.ensemble_.indices) == Counter(first_round)
    assert cut.ensemble_.weights == pytest.approx((1 / 3,) * 3)
    assert cut.score(*iris) > 0.3


def test_without_time_pressure_every_planned_network_is_refit(iris):
    kwargs = dict(n_trials=4, ensemble_size=3, refit_seeds=2, **TINY)
    timed = NASClassifier(timeout=3_600, **kwargs).fit(*iris)
    untimed = NASClassifier(**kwargs).fit(*iris)
    assert timed.n_trials_ == untimed.n_trials_ == 4
    assert len(timed.ensemble_.indices) == 6
    assert timed.ensemble_.indices == untimed.ensemble_.indices
    np.testing.assert_allclose(timed.predict_proba(iris[0]), untimed.predict_proba(iris[0]))
