"""Behaviour specific to LocalSearchSampler: climbing, restarts, isomorphs, neighbourhoods."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from sknas._search import run_search
from sknas.samplers import LocalSearchSampler
from sknas.samplers._base import Domain
from sknas.samplers.local_search import EPISODE_ATTR, _clipped_ridge
from sknas.spaces import NB201Space
from sknas.spaces.encoding import neighbour_params
from tests.samplers.conftest import ToySpace, toy_value

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _search(space: Any, objective: Any, n_trials: int, **kwargs: Any) -> optuna.Study:
    sampler = LocalSearchSampler(search_space=space, **kwargs)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run_search(study, space, lambda trial, arch: objective(arch.params), n_trials=n_trials)
    return study


def _changes(a: dict[str, Any], b: dict[str, Any]) -> int:
    return sum(a[name] != b[name] for name in a)


@pytest.mark.parametrize("order", ["model", "random"])
def test_every_climbing_step_is_a_neighbour_of_the_episode_best(order: str) -> None:
    study = _search(ToySpace(), toy_value, 80, n_startup_trials=4, n_restart_trials=3,
                    neighbour_order=order, seed=1)
    trials = sorted(study.trials, key=lambda t: t.number)
    climbing = 0
    for k, trial in enumerate(trials):
        episode, restart = trial.system_attrs.get(EPISODE_ATTR, (0, True))
        if restart:
            continue
        climbing += 1
        earlier = [
            t for t in trials[:k]
            if t.state == TrialState.COMPLETE
            and tuple(t.system_attrs.get(EPISODE_ATTR, (0, True)))[0] == episode
        ]
        best = max(earlier, key=lambda t: t.value)
        assert _changes(trial.params, best.params) == 1
    assert climbing > 40


def test_restarts_only_when_the_neighbourhood_is_exhausted() -> None:
    study = _search(ToySpace(), toy_value, 200, n_startup_trials=3, n_restart_trials=2, seed=0)
    trials = sorted(study.trials, key=lambda t: t.number)
    episodes = [tuple(t.system_attrs.get(EPISODE_ATTR, (0, True))) for t in trials]
    new_episode_at = [k for k in range(1, len(trials)) if episodes[k][0] > episodes[k - 1][0]]
    assert new_episode_at, "200 queries on 1,024 architectures must reach a local optimum"
    space = ToySpace()
    for k in new_episode_at:
        episode = episodes[k - 1][0]
        members = [t for t, e in zip(trials[:k], episodes[:k]) if e[0] == episode]
        best = max(members, key=lambda t: t.value)
        seen = {space.decode(t.params).key() for t in trials[:k]}
        arch = space.decode(best.params)
        assert all(n.key() in seen for n in space.neighbours(arch))
        assert episodes[k][1] is True  # a new episode starts with a random point


def _episode_marks(study: optuna.Study) -> tuple[list[Any], list[tuple[int, bool]]]:
    trials = sorted(study.trials, key=lambda t: t.number)
    return trials, [tuple(t.system_attrs.get(EPISODE_ATTR, (0, True))) for t in trials]


def test_patience_restarts_a_stagnating_climb() -> None:
    patience = 3
    study = _search(ToySpace(), toy_value, 150, n_startup_trials=3, n_restart_trials=2,
                    patience=patience, seed=0)
    trials, episodes = _episode_marks(study)
    stale_restarts = 0
    for k in range(1, len(trials)):
        episode = episodes[k - 1][0]
        members = [(t, e) for t, e in zip(trials[:k], episodes[:k]) if e[0] == episode]
        best = max((t for t, _ in members), key=lambda t: t.value)
        stale = sum(1 for t, e in members if not e[1] and t.number > best.number)
        # Never more than `patience` climbing steps without an improvement ...
        assert stale <= patience
        if episodes[k][0] > episode:
            assert episodes[k][1] is True
            # ... and a stagnating climb is abandoned before its neighbourhood is used up.
            seen = {ToySpace().decode(t.params).key() for t in trials[:k]}
            arch = ToySpace().decode(best.params)
            if stale == patience:
                stale_restarts += 1
                assert not all(n.key() in seen for n in ToySpace().neighbours(arch))
    assert stale_restarts >= 3


def test_climb_points_move_from_the_episode_runners_up() -> None:
    space = ToySpace()
    study = _search(space, toy_value, 80, n_startup_trials=4, n_restart_trials=3,
                    n_climb_points=3, seed=2)
    trials, episodes = _episode_marks(study)
    from_runner_up = 0
    for k, trial in enumerate(trials):
        episode, restart = episodes[k]
        if restart:
            continue
        earlier = sorted(
            (t for t, e in zip(trials[:k], episodes[:k]) if e[0] == episode),
            key=lambda t: -t.value,
        )
        moves = [_changes(trial.params, t.params) == 1 for t in earlier[:3]]
        assert any(moves)
        from_runner_up += not moves[0]
    assert from_runner_up > 0  # with 1 climb point every step neighbours the best
    assert study.best_value == max(
        toy_value({f"c{i}": letter for i, letter in enumerate(combo)})
        for combo in np.array(np.meshgrid(*[list("abcd")] * 5)).T.reshape(-1, 5)
    )


def test_perturbed_restarts_start_near_the_incumbent() -> None:
    study = _search(ToySpace(), toy_value, 120, n_startup_trials=3, n_restart_trials=2,
                    restart_points="perturb", seed=0)
    trials, episodes = _episode_marks(study)
    later_starts = [k for k, (episode, restart) in enumerate(episodes) if restart and episode]
    assert len(later_starts) >= 2
    for k in later_starts:
        incumbent = max(trials[:k], key=lambda t: t.value)
        assert 1 <= _changes(trials[k].params, incumbent.params) <= 2
    # The first episode still starts from random architectures.
    first = [t for t, (episode, restart) in zip(trials, episodes) if restart and not episode]
    assert len(first) == 3


def test_rank_scale_searches_alike_under_any_increasing_transform() -> None:
    def proposals(transform: Any, scale: str) -> list[dict[str, Any]]:
        study = _search(ToySpace(), lambda p: transform(toy_value(p)), 40,
                        n_startup_trials=4, score_scale=scale, seed=5)
        return [t.params for t in sorted(study.trials, key=lambda t: t.number)]

    def stretched(value: float) -> float:
        return float(np.exp(value))

    assert proposals(stretched, "ranks") == proposals(float, "ranks")
    # The model of the values sees the stretched top, so its ranking changes.
    assert proposals(stretched, "values") != proposals(float, "values")


def test_finds_the_optimum_of_the_toy_space() -> None:
    best = max(
        toy_value({f"c{i}": letter for i, letter in enumerate(combo)})
        for combo in np.array(np.meshgrid(*[list("abcd")] * 5)).T.reshape(-1, 5)
    )
    found = [_search(ToySpace(), toy_value, 60, seed=s).best_value for s in range(5)]
    assert all(value == best for value in found), found


@pytest.mark.parametrize(
    "space, objective, features",
    [
        # The toy's best letter differs by position: one weight per position and choice.
        (ToySpace(), toy_value, "onehot"),
        # A cell whose operations are worth the same on every edge: choice counts.
        (NB201Space(), lambda p: float(sum(
            {"nor_conv_3x3": 3, "nor_conv_1x1": 2, "skip_connect": 1}.get(op, 0)
            for op in p.values()
        )), "counts"),
    ],
    ids=["toy-onehot", "nb201-counts"],
)
def test_model_order_climbs_faster_than_random_order(space, objective, features) -> None:
    def queries_to_optimum(order: str, seed: int) -> int:
        study = _search(space, objective, 150, neighbour_order=order,
                        model_features=features, seed=seed)
        values = [t.value for t in sorted(study.trials, key=lambda t: t.number)]
        return values.index(max(values)) + 1

    model = np.mean([queries_to_optimum("model", s) for s in range(8)])
    random = np.mean([queries_to_optimum("random", s) for s in range(8)])
    assert model < 0.8 * random, (model, random)


def test_skips_isomorphic_cells_on_nb201() -> None:
    space = NB201Space()

    def score(params: dict[str, Any]) -> float:
        ops = list(params.values())
        return 2.0 * ops.count("nor_conv_3x3") + ops.count("nor_conv_1x1") - ops.count("none")

    study = _search(space, score, 120, seed=3)
    keys = [space.isomorphism_key(space.decode(t.params)) for t in study.trials]
    assert len(set(keys)) == len(keys)
    assert study.best_value == 12.0  # all six edges nor_conv_3x3


def test_resumed_study_climbs_from_its_best_trial(tmp_path) -> None:
    storage = f"sqlite:///{tmp_path / 'ls.db'}"
    space = ToySpace()
    first = optuna.create_study(
        study_name="s", storage=storage, direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    run_search(first, space, lambda trial, arch: toy_value(arch.params), n_trials=12)
    best = first.best_trial.params
    resumed = optuna.load_study(
        study_name="s", storage=storage,
        sampler=LocalSearchSampler(search_space=space, n_startup_trials=5, seed=0),
    )
    run_search(resumed, space, lambda trial, arch: toy_value(arch.params), n_trials=1)
    newest = max(resumed.trials, key=lambda t: t.number)
    assert tuple(newest.system_attrs[EPISODE_ATTR]) == (0, False)
    assert _changes(newest.params, best) == 1


def test_works_without_a_search_space_on_mixed_parameters() -> None:
    sampler = LocalSearchSampler(n_startup_trials=3, seed=0)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 1e-3, 1.0, log=True)
        n = trial.suggest_int("n", 1, 9)
        c = trial.suggest_categorical("c", ["p", "q", "r"])
        return (np.log10(x) + 2) ** 2 + (n - 4) ** 2 + (c != "q")

    study.optimize(objective, n_trials=60)
    assert study.best_value < 0.5
    assert {t.params["c"] for t in study.trials} == {"p", "q", "r"}


def test_neighbour_params_moves_each_parameter() -> None:
    distributions = {
        "c": CategoricalDistribution(["a", "b", "c"]),
        "i": IntDistribution(0, 10),
        "f": FloatDistribution(1e-4, 1e-1, log=True),
        "fixed": IntDistribution(3, 3),
    }
    params = {"c": "b", "i": 0, "f": 1e-2, "fixed": 3}
    moves = neighbour_params(distributions, params)
    changed = [next(k for k in params if m[k] != params[k]) for m in moves]
    assert changed.count("c") == 2
    assert changed.count("i") == 1  # 0 is the lower bound: only the move up
    assert changed.count("f") == 2
    assert "fixed" not in changed
    assert {m["i"] for m in moves if m["i"] != 0} == {2}
    lower, upper = sorted(m["f"] for m in moves if m["f"] != 1e-2)
    assert lower < 1e-2 < upper and 1e-4 <= lower and upper <= 1e-1


def test_domain_keys_and_neighbours_follow_isomorphism_classes() -> None:
    space = NB201Space()
    domain = Domain(space.distributions(), space)
    edges = list(space.distributions())
    params = {name: "nor_conv_3x3" for name in edges}
    neighbours = domain.neighbours(params)
    assert len(neighbours) == 24  # no two one-change variants of this cell are isomorphic
    assert len({domain.key(n) for n in neighbours}) == 24
    # Cutting edge 0->1 makes node 1 zero, so edges 1->2 and 1->3 no longer matter:
    # their four alternatives collapse into the cell with the same edge set to conv.
    cut = {**params, "edge_0_1": "none"}
    twin = {**cut, "edge_1_2": "avg_pool_3x3"}
    assert space.decode(cut).key() != space.decode(twin).key()
    assert domain.key(cut) == domain.key(twin)
    keys = [domain.key(n) for n in domain.neighbours(cut)]
    assert len(keys) == len(set(keys)) < 24
    assert domain.key(cut) not in keys


def test_clipped_ridge_ignores_how_bad_the_bad_ones_are() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(40, 4)).astype(float)
    y = X @ np.array([1.0, 0.5, 0.0, -0.5])
    worse = y.copy()
    worse[worse < np.median(worse)] -= 100.0  # much worse failures change nothing
    X_new = np.eye(4)
    np.testing.assert_allclose(
        _clipped_ridge(X, y, X_new, 1.0), _clipped_ridge(X, worse, X_new, 1.0)
    )
    assert np.argmax(_clipped_ridge(X, y, X_new, 1.0)) == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_startup_trials": 0}, "n_startup_trials"),
        ({"n_restart_trials": 0}, "n_restart_trials"),
        ({"neighbour_order": "best"}, "neighbour_order"),
        ({"ridge_alpha": -1.0}, "ridge_alpha"),
        ({"model_features": "path"}, "model_features"),
        ({"restart_points": "best"}, "restart_points"),
        ({"n_climb_points": 0}, "n_climb_points"),
        ({"patience": 0}, "patience"),
        ({"patience": 2.5}, "patience"),
        ({"score_scale": "log"}, "score_scale"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LocalSearchSampler(**kwargs)


def test_choice_counts_pool_categoricals_with_the_same_choices() -> None:
    from sknas.spaces.encoding import encode_choice_counts

    ops = ["none", "skip", "conv"]
    distributions = {
        "e0": CategoricalDistribution(ops),
        "e1": CategoricalDistribution(ops),
        "e2": CategoricalDistribution(ops),
        "act": CategoricalDistribution(["relu", "tanh"]),
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
    }
    params = {"e0": "conv", "e1": "none", "e2": "conv", "act": "tanh", "lr": 1e-3}
    np.testing.assert_allclose(
        encode_choice_counts(distributions, params), [1, 0, 2, 0, 1, 0.5]
    )
    swapped = {**params, "e0": "none", "e1": "conv"}
    np.testing.assert_allclose(
        encode_choice_counts(distributions, swapped), encode_choice_counts(distributions, params)
    )


@pytest.mark.parametrize("features", ["pooled", "counts", "onehot", "auto"])
def test_both_model_features_reach_the_nb201_optimum_of_a_synthetic_score(features) -> None:
    space = NB201Space()

    def score(params: dict[str, Any]) -> float:
        ops = list(params.values())
        return 2.0 * ops.count("nor_conv_3x3") + ops.count("nor_conv_1x1") - ops.count("none")

    study = _search(space, score, 100, model_features=features, seed=0)
    assert study.best_value == 12.0


def test_auto_strategy_follows_the_search_space() -> None:
    from sknas.samplers import make_sampler
    from sknas.spaces import MLPSpace

    assert isinstance(make_sampler("auto", search_space=NB201Space()), LocalSearchSampler)
    assert isinstance(make_sampler("auto", search_space=MLPSpace()), optuna.samplers.TPESampler)
    assert isinstance(make_sampler("auto"), optuna.samplers.TPESampler)


def test_model_restart_points_start_episodes_from_the_model_ranking() -> None:
    space = NB201Space()

    def score(params: dict[str, Any]) -> float:
        ops = list(params.values())
        return 2.0 * ops.count("nor_conv_3x3") + ops.count("nor_conv_1x1") - ops.count("none")

    study = _search(space, score, 60, model_features="auto", restart_points="model", seed=0)
    assert study.best_value == 12.0
    restarts = [t for t in study.trials if t.system_attrs.get(EPISODE_ATTR, [0, False])[1]]
    # After four random points, model-ranked starts beat the random ones on average.
    random_starts = [t.value for t in restarts[:4]]
    model_starts = [t.value for t in restarts[4:]]
    assert model_starts and np.mean(model_starts) > np.mean(random_starts)


def test_auto_features_choose_the_one_hot_when_worth_differs_by_position() -> None:
    from sknas.samplers.local_search import _select_features

    rng = np.random.default_rng(0)
    choice = rng.integers(0, 3, size=(40, 6))  # 6 positions, 3 shared choices
    onehot = np.concatenate([np.eye(3)[choice[:, p]] for p in range(6)], axis=1)
    counts = np.stack([(choice == c).sum(axis=1) for c in range(3)], axis=1).astype(float)
    worth = rng.normal(size=(6, 3)) * 2.0  # a choice's worth depends on its position
    target = np.array([sum(worth[p, row[p]] for p in range(6)) for row in choice])
    chosen, _ = _select_features({"counts": counts, "onehot": onehot}, 40, target)
    assert chosen is onehot
    target = counts @ np.array([0.0, 1.0, 3.0])  # every position worth the same
    chosen, _ = _select_features({"counts": counts, "onehot": onehot}, 40, target)
    assert chosen is counts


def test_leave_one_out_errors_match_scikit_learn() -> None:
    from sklearn.linear_model import RidgeCV

    from sknas.samplers.local_search import loo_ridge_errors

    rng = np.random.default_rng(1)
    X = rng.integers(0, 2, size=(30, 12)).astype(float)
    y = X @ rng.normal(size=12) + 0.1 * rng.normal(size=30)
    y -= y.mean()
    alphas = (0.3, 1.0, 10.0)
    model = RidgeCV(alphas=alphas, fit_intercept=False, store_cv_results=True).fit(X, y)
    np.testing.assert_allclose(
        loo_ridge_errors(X, y, alphas), np.asarray(model.cv_results_).mean(axis=0), rtol=1e-8
    )
