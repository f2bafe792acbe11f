"""Failing candidates never end a search; limits on size and time are honoured."""

from __future__ import annotations

import time
import weakref

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris

from sknas import NASClassifier, NASRegressor, SearchFailedError
from sknas.evaluation.training import TrainingEvaluator
from sknas.spaces import MLPSpace

FAST = dict(max_epochs=3, patience=3, random_state=0, device="cpu", pruner=None)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


class _Raising(torch.nn.Module):
    """Wraps a network; its forward pass raises ``error``."""

    def __init__(self, inner: torch.nn.Module, error: BaseException) -> None:
        super().__init__()
        self.inner = inner
        self.error = error

    def forward(self, x):
        if x.device.type == "meta":  # fit's shape check allocates nothing: nothing to fail
            return self.inner(x)
        raise self.error


#: The plain MLP space (no label smoothing choice).
PLAIN = dict(label_smoothings=(0.0,))


class FlakySpace(MLPSpace):
    """Networks with more than one layer fail in forward with the class's ``error``.

    The tests build it with ``label_smoothings=(0.0,)`` (``PLAIN``): the plain MLP's
    parameters, whose seeded draws include both one-layer and deeper networks.
    """

    error: BaseException = RuntimeError("boom")
    built: list = []
    failing_alive_at_build: list = []
    layers_built: list = []

    def build_module(self, arch, n_features_in, n_outputs):
        if torch.empty(0).device.type == "meta":  # fit's shape check, not a candidate
            return super().build_module(arch, n_features_in, n_outputs)
        cls = type(self)
        cls.layers_built.append(arch.params["n_layers"])
        cls.failing_alive_at_build.append(sum(isinstance(r(), _Raising) for r in cls.built))
        module = super().build_module(arch, n_features_in, n_outputs)
        if arch.params["n_layers"] > 1:
            module = _Raising(module, cls.error)
        cls.built.append(weakref.ref(module))
        return module


def _flaky(error: BaseException) -> type[FlakySpace]:
    return type(
        "Flaky",
        (FlakySpace,),
        {"error": error, "built": [], "failing_alive_at_build": [], "layers_built": []},
    )


def _states(clf) -> np.ndarray:
    return clf.cv_results_["state"]


@pytest.mark.parametrize(
    "error, reason",
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
         "out of memory on cpu while training the candidate (CUDA out of memory. Tried"),
        (MemoryError("Unable to allocate 9.0 TiB"),
         "out of memory on cpu while training the candidate (Unable to allocate 9.0 TiB)"),
    ],
)
def test_failing_candidates_are_recorded_and_the_search_goes_on(iris, error, reason):
    X, y = iris
    space = _flaky(error)(max_layers=3, **PLAIN)
    clf = NASClassifier(search_space=space, n_trials=6, **FAST).fit(X, y)
    states = _states(clf)
    failed = states == "FAIL"
    assert failed.any() and (states == "COMPLETE").any()
    assert all(reason in r for r in clf.cv_results_["fail_reason"][failed])
    assert all(r == "" for r in clf.cv_results_["fail_reason"][~failed])
    for trial in clf.study_.trials:
        if trial.state.name == "FAIL":
            assert reason in trial.user_attrs["fail_reason"]
    assert clf.best_architecture_.params["n_layers"] == 1
    assert clf.predict(X[:5]).shape == (5,)


def test_out_of_memory_frees_the_candidate_before_the_next(iris):
    X, y = iris
    space_class = _flaky(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    NASClassifier(search_space=space_class(max_layers=3, **PLAIN), n_trials=6, **FAST).fit(X, y)
    n_failing = sum(1 for ref in space_class.built if ref() is None)
    assert len(space_class.built) >= 6 and n_failing >= 1
    # When each candidate is built, no network of an earlier failed candidate is alive.
    assert space_class.failing_alive_at_build == [0] * len(space_class.built)


class _NaNOutput(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) * float("nan")


class DivergingSpace(MLPSpace):
    def build_module(self, arch, n_features_in, n_outputs):
        return _NaNOutput(super().build_module(arch, n_features_in, n_outputs))


def test_diverging_candidates_are_recorded(iris):
    X, y = iris
    with pytest.raises(SearchFailedError, match=r"TrainingDiverged: training loss became nan "
                                                r"at epoch 1 \(x2\)"):
        NASRegressor(search_space=DivergingSpace(), n_trials=2, **FAST).fit(X, y)


def test_error_score_raise_stops_at_the_first_failure(iris):
    X, y = iris
    space_class = _flaky(RuntimeError("cannot train deep networks"))
    space = space_class(max_layers=3, **PLAIN)
    with pytest.raises(RuntimeError, match="cannot train deep networks"):
        NASClassifier(search_space=space, n_trials=30, error_score="raise", **FAST).fit(X, y)
    layers = space_class.layers_built
    # The search stopped at the first deep (failing) network; the ones before it were fine.
    assert layers[-1] > 1 and all(n == 1 for n in layers[:-1])


def test_error_score_number_is_the_failed_score(iris):
    X, y = iris
    space = _flaky(RuntimeError("boom"))(max_layers=3, **PLAIN)
    clf = NASClassifier(search_space=space, n_trials=6, error_score=-1.0, **FAST).fit(X, y)
    failed = _states(clf) == "FAIL"
    assert failed.any()
    np.testing.assert_array_equal(clf.cv_results_["mean_test_score"][failed], -1.0)
    np.testing.assert_array_equal(clf.cv_results_["split0_test_score"][failed], -1.0)
    assert _states(clf)[clf.best_index_] == "COMPLETE"
    assert clf.best_score_ > 0


def test_all_candidates_failing_lists_the_reasons(iris):
    X, y = iris

    class AlwaysFailing(MLPSpace):
        def build_module(self, arch, n_features_in, n_outputs):
            module = super().build_module(arch, n_features_in, n_outputs)
            if arch.params["n_layers"] == 1:
                return _Raising(module, MemoryError("no memory"))
            return _Raising(module, ValueError("bad shapes"))

    with pytest.raises(SearchFailedError, match="out of 5 trials") as info:
        NASClassifier(search_space=AlwaysFailing(max_layers=2), n_trials=5, **FAST).fit(X, y)
    message = str(info.value)
    assert "ValueError: bad shapes (x" in message
    assert "CandidateOutOfMemoryError: out of memory on cpu" in message


# -- max_parameters --------------------------------------------------------------------
def _n_params(space, arch, n_in, n_out) -> int:
    return sum(p.numel() for p in space.build_module(arch, n_in, n_out).parameters())


def test_max_parameters_prunes_large_candidates_before_training(iris):
    X, y = iris
    limit = 2000
    clf = NASClassifier(
        search_space=MLPSpace(max_layers=2, widths=(8, 256)),
        n_trials=8, max_parameters=limit, **FAST,
    ).fit(X, y)
    results = clf.cv_results_
    states = _states(clf)
    over = states == "PRUNED"
    assert over.any() and (states == "COMPLETE").any()
    for reason, n in zip(results["fail_reason"][over], results["n_parameters"][over]):
        assert reason == f"{n} parameters > max_parameters={limit}"
        assert n > limit
    assert np.isnan(results["mean_fit_time"][over]).all()  # never trained
    assert (results["n_parameters"][states == "COMPLETE"] <= limit).all()
    n_best = sum(p.numel() for p in clf.best_estimator_.module_.inner.parameters())
    assert n_best <= limit


def test_max_parameters_that_nothing_fits(iris):
    X, y = iris
    with pytest.raises(SearchFailedError, match=r"parameters > max_parameters=10 \(x"):
        NASClassifier(n_trials=3, max_parameters=10, **FAST).fit(X, y)


# -- candidate_timeout and timeout -----------------------------------------------------
def test_candidate_timeout_stops_at_the_end_of_the_epoch(iris):
    X, y = iris
    space = MLPSpace(max_layers=1)
    evaluator = TrainingEvaluator(
        space, task="classification", n_outputs=3, scorer=_accuracy,
        splits=[(np.arange(0, 150, 2), np.arange(1, 150, 2))],
        max_epochs=1000, patience=1000, device="cpu", candidate_timeout=1e-9,
    )
    arch = space.sample(np.random.default_rng(0))
    result = evaluator.evaluate(arch, X.astype(np.float32), y, seed=0)
    assert result.timed_out
    assert result.best_epochs == [1]  # the limit passed during the first epoch
    assert np.isfinite(result.score)


def _accuracy(net, X, y):
    return float((net.predict(X) == y).mean())


def test_candidate_timeout_is_honoured_by_the_estimator(iris):
    X, y = iris
    limit = 0.5
    start = time.perf_counter()
    clf = NASClassifier(
        n_trials=2, max_epochs=100_000, patience=100_000, candidate_timeout=limit,
        random_state=0, device="cpu", pruner=None,
    ).fit(X, y)
    elapsed = time.perf_counter() - start
    assert (_states(clf) == "COMPLETE").all()
    assert (clf.cv_results_["n_epochs"] < 100_000).all()
    assert all(t.user_attrs["candidate_timed_out"] for t in clf.study_.trials)
    # each candidate: the limit plus the epoch in progress (a generous bound: the first
    # candidate also pays torch's warm-up, and the machine may be busy)
    assert (clf.cv_results_["mean_fit_time"] < limit + 10.0).all()
    assert elapsed < 120.0  # a hang guard only: the counted checks above are the test
    assert clf.score(X, y) > 0.5


def test_global_timeout_with_candidate_timeout(iris):
    X, y = iris
    start = time.perf_counter()
    clf = NASClassifier(
        n_trials=1000, max_epochs=100_000, patience=100_000, candidate_timeout=0.3,
        timeout=1.0, random_state=0, device="cpu", pruner=None,
    ).fit(X, y)
    elapsed = time.perf_counter() - start
    assert 1 <= clf.n_trials_ < 1000
    # the candidate in progress was cut by candidate_timeout, not by the global limit
    assert all(t.user_attrs["candidate_timed_out"] for t in clf.study_.trials)
    assert elapsed < 120.0  # a hang guard only
