"""BANANAS and GP-BO specifics: encodings, acquisition options, pending trials."""

from __future__ import annotations

import itertools
import pickle
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

import sknas.samplers.bananas as bananas_module
from sknas._search import run_search
from sknas.samplers import BananasSampler, GPBOSampler
from sknas.spaces.nb201 import NB201Space
from tests.samplers.conftest import ToySpace, toy_value

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_bananas_uses_the_path_encoding_where_offered() -> None:
    assert BananasSampler(search_space=NB201Space())._encoding() == "path"
    assert BananasSampler(search_space=ToySpace())._encoding() == "onehot"
    assert BananasSampler(search_space=NB201Space(), encoding="onehot")._encoding() == "onehot"
    with pytest.raises(ValueError, match="path"):
        BananasSampler(search_space=ToySpace(), encoding="path")


@pytest.mark.parametrize("acquisition", ["its", "ucb", "ei"])
def test_bananas_acquisitions_on_nb201_space(acquisition: str) -> None:
    space = NB201Space()
    sampler = BananasSampler(
        acquisition=acquisition,
        n_models=2,
        n_epochs=20,
        n_startup_trials=4,
        seed=0,
        search_space=space,
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run_search(
        study,
        space,
        lambda t, a: float(sum(op == "nor_conv_3x3" for op in a.params.values())),
        n_trials=8,
    )
    assert len({t.user_attrs["architecture"] for t in study.trials}) == 8


def test_gp_accounts_for_running_trials() -> None:
    space = ToySpace()
    sampler = GPBOSampler(
        n_candidates=30, n_mc_samples=16, n_startup_trials=4, seed=0, search_space=space
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run_search(study, space, lambda t, a: toy_value(a.params), n_trials=8)
    distributions = space.distributions()
    running = study.ask(fixed_distributions=distributions)  # another worker's trial
    frozen = study._storage.get_trial(study._storage.create_new_trial(study._study_id))
    domain = sampler._domain(distributions)
    history = sampler._history(study, frozen, domain)
    assert history.pending == [running.params]
    proposal = sampler.sample_relative(study, frozen, distributions)
    assert space.decode(proposal).key() != space.decode(running.params).key()


def _spy_acquisition(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the acquisition values of every proposal the GP makes."""
    import numpy as np

    calls: list[Any] = []
    original = GPBOSampler._acquisition_values

    def spy(self: GPBOSampler, *args: Any, **kwargs: Any) -> Any:
        values = original(self, *args, **kwargs)
        calls.append(np.asarray(values))
        return values

    monkeypatch.setattr(GPBOSampler, "_acquisition_values", spy)
    return calls


@pytest.mark.parametrize("kernel", ["encoding", "categorical"])
def test_gp_kernel_on_encodings_and_mixed_spaces(
    monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    import numpy as np

    calls = _spy_acquisition(monkeypatch)
    sampler = GPBOSampler(
        kernel=kernel, n_candidates=20, n_mc_samples=8, n_startup_trials=3, seed=1
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(
        lambda t: (
            (t.suggest_float("x", -2, 2) - 1) ** 2 + (t.suggest_categorical("c", ["a", "b"]) == "a")
        ),
        n_trials=6,
    )
    # every trial after the random start was chosen by a fitted GP: one acquisition
    # value per candidate, finite, and not all equal (the model ranks the pool)
    assert len(calls) == 3
    for values in calls:
        assert values.ndim == 1 and len(values) > 1
        assert np.isfinite(values).all() and np.ptp(values) > 0
    assert all(-2 <= t.params["x"] <= 2 and t.params["c"] in ("a", "b") for t in study.trials)


class EnumerableToySpace(ToySpace):
    """:class:`ToySpace` that can list its 1,024 architectures."""

    def all_architectures(self) -> Any:
        for letters in itertools.product("abcd", repeat=5):
            yield self.decode({f"c{i}": letter for i, letter in enumerate(letters)})


def _bananas_pool_sizes(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[Any, list[int]]:
    sizes: list[int] = []
    original = bananas_module.fit_predict_ensemble

    def spy(X: Any, y: Any, X_new: Any, **kw: Any) -> Any:
        sizes.append(len(X_new))
        return original(X, y, X_new, **kw)

    monkeypatch.setattr(bananas_module, "fit_predict_ensemble", spy)
    space = kwargs.pop("search_space")
    sampler = BananasSampler(
        n_models=2, n_epochs=20, n_startup_trials=3, **kwargs, search_space=space
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    run_search(study, space, lambda t, a: toy_value(a.params), n_trials=8)
    return study, sizes


@pytest.mark.parametrize("candidate_pool", ["auto", "full"])
def test_bananas_scores_the_whole_enumerable_space(
    monkeypatch: pytest.MonkeyPatch, candidate_pool: str
) -> None:
    study, sizes = _bananas_pool_sizes(
        monkeypatch, candidate_pool=candidate_pool, seed=0, search_space=EnumerableToySpace()
    )
    # every architecture not yet finished is a candidate: 1,024 minus the history
    assert sizes == [1024 - n for n in range(3, 8)]
    assert len({t.user_attrs["architecture"] for t in study.trials}) == 8


def test_bananas_mutation_pool_when_asked_or_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    space = EnumerableToySpace()
    for kwargs in ({"candidate_pool": "mutation"}, {"max_pool_size": 1000}):
        _, sizes = _bananas_pool_sizes(monkeypatch, seed=0, search_space=space, **kwargs)
        assert sizes and max(sizes) < 1000
    _, sizes = _bananas_pool_sizes(monkeypatch, seed=0, search_space=ToySpace())
    assert sizes and max(sizes) < 1000
    with pytest.raises(ValueError, match="all_architectures"):
        BananasSampler(candidate_pool="full", search_space=ToySpace())
    with pytest.raises(ValueError, match="candidate_pool"):
        BananasSampler(candidate_pool="everything")


def test_bananas_full_pool_is_deterministic_and_picklable() -> None:
    space = EnumerableToySpace()

    def run(seed: int) -> tuple[Any, list[dict[str, Any]]]:
        sampler = BananasSampler(
            n_models=2, n_epochs=20, n_startup_trials=3, seed=seed, search_space=space
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)
        run_search(study, space, lambda t, a: toy_value(a.params), n_trials=10)
        return sampler, [t.params for t in study.trials]

    sampler, first = run(2)
    assert first == run(2)[1]
    assert first != run(3)[1]
    assert sampler._full_cache is not None
    copy = pickle.loads(pickle.dumps(sampler))
    assert copy._full_cache is None
    assert len(pickle.dumps(sampler)) < 100_000  # the encodings are not pickled


def test_gp_score_floor_is_validated_and_ties_fall_back_to_the_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="score_floor"):
        GPBOSampler(score_floor="mean")
    # More than half of the values tie at the top: the floored scores are constant,
    # so the sampler proposes from its pool without fitting a GP.
    calls = _spy_acquisition(monkeypatch)
    sampler = GPBOSampler(n_startup_trials=3, n_candidates=10, score_floor="median", seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(lambda t: min(t.suggest_int("x", 0, 50), 1), n_trials=8)
    assert calls == []  # no GP was fitted
    xs = [t.params["x"] for t in study.trials]
    assert len(set(xs)) == 8  # each proposal is an unseen pool member
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    # scores that do not tie are modelled: the GP ranks the pool
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(lambda t: float(t.suggest_int("x", 0, 50)), n_trials=5)
    assert len(calls) == 2


def test_floor_scores_raises_the_lower_half_to_the_median() -> None:
    import numpy as np

    from sknas.samplers._base import floor_scores

    scores = np.array([10.0, 84.0, 80.0, 12.0, 85.0])
    np.testing.assert_allclose(floor_scores(scores), [80.0, 84.0, 80.0, 80.0, 85.0])
    np.testing.assert_allclose(floor_scores(scores, None), scores)
    assert floor_scores(np.array([])).size == 0
    with pytest.raises(ValueError, match="score_floor"):
        BananasSampler(score_floor="min")


def test_gp_fit_failure_is_logged_and_the_pool_still_ranked(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import botorch.fit
    from botorch.exceptions.errors import ModelFittingError

    def failing_fit(*args: Any, **kwargs: Any) -> Any:
        raise ModelFittingError("All attempts to fit the model have failed.")

    monkeypatch.setattr(botorch.fit, "fit_gpytorch_mll", failing_fit)
    calls = _spy_acquisition(monkeypatch)
    sampler = GPBOSampler(n_candidates=10, n_mc_samples=8, n_startup_trials=3, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    with caplog.at_level("WARNING", logger="sknas.samplers.gp"):
        study.optimize(lambda t: float(t.suggest_int("x", 0, 50)), n_trials=5)
    assert len(calls) == 2
    messages = [r.getMessage() for r in caplog.records if r.name == "sknas.samplers.gp"]
    assert len(messages) == 2 and all("All attempts" in m for m in messages)

    def other_error(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug, not a fitting failure")

    monkeypatch.setattr(botorch.fit, "fit_gpytorch_mll", other_error)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    with pytest.raises(RuntimeError, match="a bug"):
        study.optimize(lambda t: float(t.suggest_int("x", 0, 50)), n_trials=5, catch=())
