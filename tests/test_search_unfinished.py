"""No trial stays RUNNING behind an exception of the search loop, wherever it is raised."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sknas._search import run_search, suggest_params
from sknas.spaces import MLPSpace


def _study() -> optuna.Study:
    return optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))


def test_suggest_params_matches_ask_with_fixed_distributions():
    distributions = MLPSpace().distributions()
    fixed = _study().ask(fixed_distributions=distributions)
    suggested = _study().ask()
    assert suggest_params(suggested, distributions) == fixed.params
    assert suggested.distributions == fixed.distributions


def test_an_error_inside_optuna_after_ask_fails_the_trial_with_its_reason():
    """A space the study's earlier trials contradict (issue: endless wait after resume)."""
    study = _study()
    run_search(study, MLPSpace(), lambda trial, arch: 0.5, n_trials=2)
    narrow = MLPSpace(max_layers=1, widths=(8,))
    outcome = run_search(study, narrow, lambda trial, arch: 0.5, n_trials=2)
    assert outcome.n_run == 2
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert len(failed) == 2
    assert all("dynamic value space" in t.user_attrs["fail_reason"] for t in failed)
    assert not study.get_trials(states=(TrialState.RUNNING,))


def test_an_escaping_base_exception_still_fails_the_trial():
    study = _study()

    def objective(trial, arch):
        raise SystemExit("stopped from inside the objective")

    with pytest.raises(SystemExit):
        run_search(study, MLPSpace(), objective, n_trials=3)
    (trial,) = study.get_trials()
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "SystemExit: stopped from inside the objective"


def test_an_error_while_telling_a_failure_still_finishes_the_trial(monkeypatch):
    study = _study()
    calls = {"n": 0}
    original = optuna.Trial.set_user_attr

    def flaky(self, key, value):  # the fail_reason write of the except branch breaks once
        if key == "fail_reason" and calls["n"] == 0:
            calls["n"] += 1
            raise OSError("storage hiccup")
        original(self, key, value)

    monkeypatch.setattr(optuna.Trial, "set_user_attr", flaky)

    def objective(trial, arch):
        raise ValueError("bad candidate")

    with pytest.raises(OSError, match="storage hiccup"):
        run_search(study, MLPSpace(), objective, n_trials=2)
    (trial,) = study.get_trials()
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "OSError: storage hiccup"
