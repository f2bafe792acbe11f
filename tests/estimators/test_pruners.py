"""Multi-fidelity: the ``pruner`` options, and the ``"bohb"`` strategy (TPE + Hyperband)."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from sklearn.datasets import load_iris
from sklearn.utils._param_validation import InvalidParameterError

from sknas import NASClassifier
from sknas.evaluation import REDUCTION_FACTOR, make_pruner
from sknas.samplers import _registry, default_pruner, register_strategy
from sknas.spaces.base import Architecture, SearchSpace

TINY = dict(max_epochs=3, patience=3, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    return load_iris(return_X_y=True)


@pytest.mark.parametrize(
    ("pruner", "strategy", "expected"),
    [
        ("auto", "auto", optuna.pruners.MedianPruner),
        ("median", "auto", optuna.pruners.MedianPruner),
        ("hyperband", "auto", optuna.pruners.HyperbandPruner),
        ("asha", "auto", optuna.pruners.SuccessiveHalvingPruner),
        (None, "auto", optuna.pruners.NopPruner),
        ("auto", "bohb", optuna.pruners.HyperbandPruner),
        ("median", "bohb", optuna.pruners.MedianPruner),  # an explicit pruner wins
        (None, "bohb", optuna.pruners.NopPruner),
    ],
)
def test_each_option_gives_its_optuna_pruner(iris, pruner, strategy, expected) -> None:
    X, y = iris
    clf = NASClassifier(n_trials=2, pruner=pruner, strategy=strategy, **TINY).fit(X, y)
    assert type(clf.study_.pruner) is expected


def test_a_pruner_instance_is_copied(iris) -> None:
    X, y = iris
    mine = optuna.pruners.PercentilePruner(25.0, n_startup_trials=1)
    clf = NASClassifier(n_trials=2, pruner=mine, **TINY).fit(X, y)
    assert type(clf.study_.pruner) is optuna.pruners.PercentilePruner
    assert clf.study_.pruner is not mine and clf.pruner is mine


@pytest.mark.parametrize("value", ["hyper-band", "Median", 3, optuna.samplers.TPESampler()])
def test_invalid_pruners_are_refused(iris, value: Any) -> None:
    X, y = iris
    with pytest.raises(InvalidParameterError, match="'pruner' parameter"):
        NASClassifier(pruner=value, **TINY).fit(X, y)


def _curve(good_trials: int, n_steps: int):
    def objective(trial: optuna.Trial) -> float:
        level = 1.0 if trial.number < good_trials else 0.0
        for step in range(1, n_steps + 1):
            trial.report(level * step / n_steps, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return level

    return objective


@pytest.mark.parametrize(("name", "rungs"), [("hyperband", {1, 3, 9}), ("asha", {1, 3, 9})])
def test_budgets_are_epochs(name: str, rungs: set[int]) -> None:
    # min_resource=1 epoch, eta=3: a trailing curve stops at epoch 1, 3 or 9 of 27
    assert REDUCTION_FACTOR == 3
    pruner = make_pruner(name, max_epochs=27)
    study = optuna.create_study(direction="maximize", pruner=pruner, study_name="fixed")
    study.optimize(_curve(good_trials=6, n_steps=27), n_trials=30)
    pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    assert pruned and {t.last_step for t in pruned} <= rungs
    assert all(t.number >= 6 for t in pruned)


def test_unknown_pruner_name() -> None:
    assert type(make_pruner("auto", max_epochs=10, default="asha")).__name__ == (
        "SuccessiveHalvingPruner"
    )
    with pytest.raises(ValueError, match="Unknown pruner 'x'"):
        make_pruner("x", max_epochs=10)


class GoodBadSpace(SearchSpace):
    """Linear models that learn, and constant ones that cannot (zero gradient).

    ``variant`` only makes architectures distinct, so no candidate is a duplicate.
    """

    name = "goodbad"

    def distributions(self) -> dict[str, Any]:
        return {
            "kind": CategoricalDistribution(["good", "bad"]),
            "variant": IntDistribution(0, 10_000),
        }

    def decode(self, params: Any) -> Architecture:
        items = {"kind": params["kind"], "variant": int(params["variant"])}
        return Architecture.from_params(
            self.name, items, canonical=f"{items['kind']}-{items['variant']}"
        )

    def training_config(self, arch: Architecture) -> dict[str, Any]:
        return {"lr": 0.05, "batch_size": 16}

    def build_module(self, arch: Architecture, n_features_in: int, n_outputs: int) -> Any:
        import torch

        if arch.params["kind"] == "good":
            return torch.nn.Linear(n_features_in, n_outputs)
        return _constant_module(n_outputs)


def _constant_module(n_outputs: int) -> Any:
    import torch

    class Constant(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(n_outputs))

        def forward(self, x: Any) -> Any:
            return x[:, :1] * 0.0 + self.bias * 0.0  # the same output for every row

    return Constant()



def test_hyperband_prunes_candidates_that_cannot_learn() -> None:
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-3, 1, (60, 2)), rng.normal(3, 1, (60, 2))])
    y = np.repeat([0, 1], 60)
    clf = NASClassifier(
        search_space=GoodBadSpace(),
        strategy="random",
        pruner="hyperband",
        n_trials=16,
        max_epochs=9,
        patience=9,
        random_state=0,
        device="cpu",
    ).fit(X, y)
    results = clf.cv_results_
    kinds = np.array([p["kind"] for p in results["params"]])
    states = results["state"]
    assert "PRUNED" in states and "COMPLETE" in states
    assert set(kinds[states == "PRUNED"]) == {"bad"}  # only constant models are stopped
    assert (results["n_epochs"][states == "PRUNED"] < 9).all()
    assert clf.best_params_["kind"] == "good" and clf.score(X, y) > 0.95


def test_bohb_is_reproducible_and_resumes_from_sqlite(iris, tmp_path) -> None:
    X, y = iris
    params = dict(strategy="bohb", max_epochs=4, patience=4, random_state=3, device="cpu")
    # Hyperband's brackets hash the study's name: a private study's name comes from the seeds
    first = NASClassifier(n_trials=14, **params).fit(X, y)
    again = NASClassifier(n_trials=14, **params).fit(X, y)
    assert [t.params for t in first.study_.trials] == [t.params for t in again.study_.trials]
    states = [t.state for t in first.study_.trials]
    assert states == [t.state for t in again.study_.trials]
    assert optuna.trial.TrialState.PRUNED in states
    assert isinstance(first.study_.sampler, optuna.samplers.TPESampler)

    url = f"sqlite:///{tmp_path / 'bohb.db'}"
    stored = dict(storage=url, study_name="bohb", **params)
    NASClassifier(n_trials=2, **stored).fit(X, y)
    resumed = NASClassifier(n_trials=4, **stored).fit(X, y)
    assert resumed.n_trials_ == 4
    assert type(resumed.study_.pruner) is optuna.pruners.HyperbandPruner


def test_bohb_with_two_processes(iris) -> None:
    X, y = iris
    clf = NASClassifier(
        strategy="bohb", n_trials=4, n_jobs=2, max_epochs=3, patience=3, random_state=0,
        device="cpu",
    ).fit(X, y)
    assert clf.n_trials_ == 4
    assert len({t.user_attrs.get("worker") for t in clf.study_.trials}) >= 1
    assert clf.score(X, y) > 0.5


def test_default_pruner_of_a_registered_strategy() -> None:
    assert default_pruner("bohb") == "hyperband"
    assert default_pruner("tpe") == default_pruner("auto") == "median"
    assert default_pruner(optuna.samplers.TPESampler()) == "median"
    name = "test-asha-strategy"
    try:
        register_strategy(name, _registry.STRATEGIES["random"], pruner="asha")
        assert default_pruner(name) == "asha"
        with pytest.raises(ValueError, match="pruner must be one of"):
            register_strategy(name, _registry.STRATEGIES["random"], pruner="auto")
    finally:
        _registry._FACTORIES.pop(name, None)
        _registry._VALID_NAMES.discard(name)
        _registry._PRUNERS.pop(name, None)
