"""Hypervolume-improvement search: Optuna's multi-objective suite, its acquisition, "auto"."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optuna
import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import MultiObjectiveSamplerTestCase

from sknas._optuna_compat import hypervolume
from sknas.samplers import HypervolumeImprovementSampler, make_sampler
from sknas.samplers._registry import AUTO_MULTI_OBJECTIVE_STRATEGY, auto_strategy
from sknas.samplers.neural_architect import hypervolume_improvement
from sknas.spaces import MLPSpace, NB201Space


class TestOptunaMultiObjectiveSuite(MultiObjectiveSamplerTestCase):
    @pytest.fixture
    def sampler(self) -> Callable[[], BaseSampler]:
        return lambda: HypervolumeImprovementSampler(seed=0, n_trees=4, n_candidates=20)


@pytest.mark.parametrize("n_points", [0, 1, 5])
def test_two_objective_improvement_equals_the_exact_hypervolume_difference(n_points):
    rng = np.random.default_rng(n_points)
    front = rng.random((n_points, 2))
    candidates = rng.random((30, 2)) * 1.2  # some beyond the reference, some dominated
    reference = np.array([1.0, 1.1])
    base = hypervolume(front, reference)
    expected = [hypervolume(np.vstack([front, c]), reference) - base for c in candidates]
    np.testing.assert_allclose(hypervolume_improvement(front, candidates, reference), expected,
                               atol=1e-12)


def test_constructor_checks_its_arguments():
    with pytest.raises(ValueError, match="kappa"):
        HypervolumeImprovementSampler(kappa=-1.0)
    with pytest.raises(ValueError, match="n_trees"):
        HypervolumeImprovementSampler(n_trees=0)
    with pytest.raises(ValueError, match="score_floor"):
        HypervolumeImprovementSampler(score_floor="mean")


def test_auto_is_hvi_with_several_objectives_only():
    space = NB201Space()
    assert auto_strategy(space, n_objectives=2) == AUTO_MULTI_OBJECTIVE_STRATEGY == "hvi"
    assert auto_strategy(space) == "local_search" and auto_strategy(MLPSpace()) == "tpe"
    sampler = make_sampler("auto", seed=0, search_space=space, n_objectives=2)
    assert isinstance(sampler, HypervolumeImprovementSampler)


def _cells_objective(space: NB201Space, trial: optuna.Trial) -> tuple[float, float]:
    params = {k: trial._suggest(k, d) for k, d in space.distributions().items()}
    ops = space.ops(space.decode(params))
    convs = sum(op.startswith("nor_conv") for op in ops)
    return float(convs + 0.5 * ops.count("skip_connect")), float(1 + convs)


def _cells(space: NB201Space, n_trials: int, seed: int, **kwargs) -> optuna.Study:
    study = optuna.create_study(
        directions=["maximize", "minimize"],
        sampler=HypervolumeImprovementSampler(
            seed=seed, n_trees=4, search_space=space, **kwargs),
    )
    study.optimize(lambda t: _cells_objective(space, t), n_trials=n_trials)
    return study


def test_same_seed_same_proposals_and_a_front_of_cells():
    space = NB201Space()
    first, second = _cells(space, 14, 3), _cells(space, 14, 3)
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert len(first.best_trials) >= 3  # a front, not a single point


def test_beats_random_search_on_the_fpga_table(nb201_csv, nb201_latency_csv):
    from sknas.benchmarks import NB201Benchmark, run_benchmark

    bench = NB201Benchmark.from_csv(nb201_csv, latency=nb201_latency_csv, device="fpga")
    kwargs = {"n_trials": 30, "seeds": [0, 1, 2], "objectives": ("valid", "latency")}
    hvi = run_benchmark(
        bench, lambda seed, space: HypervolumeImprovementSampler(
            seed=seed, n_trees=4, search_space=space), **kwargs)
    random = run_benchmark(bench, "random", **kwargs)
    # Measured: 0.78 against 0.53 (random) after 30 queries on these seeds.
    assert hvi.hypervolume[:, -1].mean() > random.hypervolume[:, -1].mean() + 0.1


def test_estimators_auto_strategy_is_hvi_in_multi_objective_searches(recwarn):
    from sknas.estimators._objectives import make_search_sampler

    space = NB201Space()
    for bounds in ({}, {"latency": 5.0}):
        sampler = make_search_sampler(
            "auto", seed=0, search_space=space, bounds=bounds, n_objectives=2)
        assert isinstance(sampler, HypervolumeImprovementSampler)
    from sknas._optuna_compat import samplers_read_trial_constraints

    if samplers_read_trial_constraints():  # Optuna >= 5: the sampler reads the constraints
        assert not [w for w in recwarn if "constraint support" in str(w.message)]
    single = make_search_sampler("auto", seed=0, search_space=space, bounds={})
    assert type(single).__name__ == "LocalSearchSampler"


def test_estimator_with_two_objectives_searches_with_hvi_by_default():
    from sklearn.datasets import load_digits

    from sknas import NASClassifier

    X, y = load_digits(return_X_y=True)
    search = NASClassifier(
        search_space=MLPSpace(max_layers=2, widths=(4, 16, 64)), objectives=("score", "params"),
        n_trials=3, max_epochs=1, random_state=0,
    )
    search.set_params(strategy="auto").fit(X[:200], y[:200])
    assert isinstance(search.study_.sampler, HypervolumeImprovementSampler)
    assert len(search.pareto_front_) >= 1


def test_mlp_space_proposals_after_the_startup_are_model_based():
    space = MLPSpace(max_layers=2, widths=(4, 16, 64))
    sampler = HypervolumeImprovementSampler(
        seed=0, n_trees=4, n_candidates=10, n_startup_trials=3, search_space=space)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        params = {k: trial._suggest(k, d) for k, d in space.distributions().items()}
        arch = space.decode(params)
        size = float(sum(space.encode(arch)))
        return -abs(size - 5.0), size

    study.optimize(objective, n_trials=8)
    assert len({repr(t.params) for t in study.trials}) == 8  # no repeated proposal


def test_new_options_are_checked():
    with pytest.raises(ValueError, match="acquisition"):
        HypervolumeImprovementSampler(acquisition="ucb")
    with pytest.raises(ValueError, match="candidate_pool"):
        HypervolumeImprovementSampler(candidate_pool="all")
    with pytest.raises(ValueError, match="all_architectures"):  # MLPSpace does not list itself
        HypervolumeImprovementSampler(candidate_pool="full", search_space=MLPSpace())
    with pytest.raises(ValueError, match="max_pool_size=100"):  # 15,625 cells > 100
        HypervolumeImprovementSampler(
            candidate_pool="full", max_pool_size=100, search_space=NB201Space())


def test_full_pool_scores_one_cell_per_isomorphism_class_and_is_not_pickled():
    import pickle

    space = NB201Space()
    study = _cells(space, 12, 0)
    sampler = study.sampler
    full = sampler.__dict__["_full"]
    assert len(full.params) == 6466  # NAS-Bench-201's isomorphism classes
    assert len(set(full.keys)) == 6466
    keys = [space.isomorphism_key(space.decode(t.params)) for t in study.trials]
    assert len(set(keys)) == len(keys)  # never an evaluated cell again
    clone = pickle.loads(pickle.dumps(sampler))
    assert "_full" not in clone.__dict__
    study.sampler = clone
    study.optimize(lambda t: _cells_objective(space, t), n_trials=1)  # rebuilt on demand
    assert len(clone.__dict__["_full"].params) == 6466


def test_neighbour_pool_when_asked_or_when_the_space_is_too_large():
    space = NB201Space()
    for kwargs in ({"candidate_pool": "neighbours"}, {"max_pool_size": 1000}):
        study = _cells(space, 12, 0, **kwargs)
        assert study.sampler.__dict__.get("_full") is None or not study.sampler._full.params


def test_surrogate_samples_centre_on_the_chosen_model():
    from sknas.samplers._hvi_models import Surrogate

    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, 6)).astype(float)
    y = X @ np.arange(6.0)  # additive: the ridge wins
    model = Surrogate(n_trees=8, seed=0).fit(X, X, y)
    samples = model.predict(X[:5], X[:5])
    assert samples.shape == (8, 5) and not model.use_forest
    np.testing.assert_allclose(samples.mean(axis=0), model.ridge.predict(X[:5]))
    assert np.all(samples.std(axis=0) >= 0)


@pytest.mark.parametrize("acquisition", ["expected", "optimistic"])
def test_both_acquisitions_find_a_front_of_cells(acquisition):
    study = _cells(NB201Space(), 14, 1, acquisition=acquisition)
    assert len(study.best_trials) >= 3


def test_early_phase_spends_twice_the_share_on_the_best_score_of_the_whole_space(monkeypatch):
    import sknas.samplers.hvi as hvi

    calls = {"hypervolume": 0, "neighbours": 0}

    def counted(name: str, function: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(hvi, "hypervolume_improvement",
                        counted("hypervolume", hvi.hypervolume_improvement))
    monkeypatch.setattr(hvi, "unseen", counted("neighbours", hvi.unseen))
    space = NB201Space()
    # share 0.5, doubled to 1 while fewer than 4 * 3 trials are evaluated: every model-based
    # proposal takes the best predicted score of the whole space (no hypervolume, no neighbours).
    study = _cells(space, 12, 0, n_startup_trials=3, score_share=0.5)
    assert calls == {"hypervolume": 0, "neighbours": 0}
    study.optimize(lambda t: _cells_objective(space, t), n_trials=8)
    assert calls["hypervolume"] > 0  # after the early phase, the usual mix
