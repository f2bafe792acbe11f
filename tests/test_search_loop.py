"""The shared search loop: ask -> decode -> evaluate -> tell."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sknas._search import run_search
from sknas.spaces import MLPSpace


def _study(seed=0):
    return optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed))


def test_runs_n_trials_and_records_architectures():
    space = MLPSpace(max_layers=2)
    study = _study()
    outcome = run_search(study, space, lambda t, a: a.params["lr"], n_trials=7)
    assert outcome.n_run == 7 and not outcome.interrupted and not outcome.timed_out
    assert len(study.trials) == 7
    for trial in study.trials:
        assert trial.user_attrs["architecture"] == space.decode(trial.params).key()


def test_failures_are_recorded_and_the_search_goes_on():
    space = MLPSpace(max_layers=2)

    def objective(trial, arch):
        if arch.params["n_layers"] == 2:
            raise RuntimeError("boom")
        return 1.0

    study = _study()
    run_search(study, space, objective, n_trials=10)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed and len(study.trials) == 10
    assert all(t.user_attrs["fail_reason"] == "RuntimeError: boom" for t in failed)
    with pytest.raises(RuntimeError, match="boom"):
        run_search(_study(), space, objective, n_trials=10, catch=False)


def test_pruned_trials():
    def objective(trial, arch):
        raise optuna.TrialPruned()

    study = _study()
    run_search(study, MLPSpace(), objective, n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 3


def test_duplicates_are_answered_from_the_finished_trial():
    space = MLPSpace(
        max_layers=1, widths=(8,), activations=("relu",), dropouts=(0.0,), norms=("none",),
        residual=(False,), lr_range=(1e-3, 1e-3), weight_decay_range=(1e-5, 1e-5),
        batch_sizes=(32,), optimizers=("adam",), label_smoothings=(0.0,),
    )
    calls = []

    def objective(trial, arch):
        calls.append(arch)
        return 0.5

    study = _study()
    run_search(study, space, objective, n_trials=4)
    assert len(calls) == 1
    assert [t.value for t in study.trials] == [0.5] * 4
    assert [t.user_attrs.get("duplicate_of") for t in study.trials[1:]] == [0, 0, 0]


def test_keyboard_interrupt_stops_cleanly():
    def objective(trial, arch):
        if trial.number == 2:
            raise KeyboardInterrupt
        return 1.0

    study = _study()
    outcome = run_search(study, MLPSpace(), objective, n_trials=10)
    assert outcome.interrupted and outcome.n_run == 3
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL]


def test_timeout_stops_new_trials():
    import time

    def objective(trial, arch):
        time.sleep(0.05)
        return 1.0

    study = _study()
    outcome = run_search(study, MLPSpace(), objective, n_trials=1000, timeout=0.3)
    assert outcome.timed_out and 3 <= outcome.n_run < 20
