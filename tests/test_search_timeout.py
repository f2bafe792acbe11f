"""The search loop's ``timeout`` on an injected clock: counted trials, no wall-clock bound."""

from __future__ import annotations

import time
import types

import optuna
import pytest

import sknas._search
from sknas._search import run_search
from sknas.spaces import MLPSpace


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A fake ``perf_counter`` for the search loop; the test advances ``clock[0]``."""
    now = [0.0]
    fake = types.SimpleNamespace(
        **{name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    )
    fake.perf_counter = lambda: now[0]
    monkeypatch.setattr(sknas._search, "time", fake)
    return now


@pytest.mark.parametrize(("timeout", "expected"), [(0.5, 1), (2.5, 3), (3.0, 3)])
def test_timeout_stops_after_the_trial_that_crosses_it(clock, timeout, expected):
    def objective(trial, arch):
        clock[0] += 1.0  # every candidate takes one (fake) second
        return 1.0

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    outcome = run_search(study, MLPSpace(max_layers=1), objective, n_trials=100, timeout=timeout)
    assert outcome.n_run == expected == len(study.trials)
    assert outcome.timed_out and not outcome.interrupted
    assert outcome.elapsed == pytest.approx(float(expected))


def test_no_timeout_runs_every_trial(clock):
    def objective(trial, arch):
        clock[0] += 1000.0
        return 1.0

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    outcome = run_search(study, MLPSpace(max_layers=1), objective, n_trials=4)
    assert outcome.n_run == 4 and not outcome.timed_out
