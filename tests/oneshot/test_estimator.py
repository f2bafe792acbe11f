"""One-shot strategies in the estimators: supernet search, trial, refit, save/load."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

import sknas
from sknas import NASClassifier
from sknas.oneshot import GDAS, ONESHOT_STRATEGIES, RSWS
from sknas.spaces import NB201Space
from tests.oneshot.conftest import small_strategy

SPACE = NB201Space(channels=4, cells_per_stage=1)


@pytest.mark.parametrize("name", sorted(ONESHOT_STRATEGIES))
def test_every_strategy_runs_end_to_end_and_survives_save_load(name, images, tmp_path):
    X, y = images
    model = NASClassifier(
        strategy=small_strategy(name), search_space=SPACE, max_epochs=1, random_state=0,
    ).fit(X, y)
    assert model.n_trials_ == 1
    assert model.cv_results_["state"][0] == "COMPLETE"
    trial = model.study_.trials[0]
    assert trial.user_attrs["oneshot_strategy"] == name
    assert model.best_architecture_ == SPACE.decode(trial.params)
    assert len(model.arch_history_) == 1
    assert np.asarray(model.arch_history_[0]["weights"]).shape[0] == 6
    loaded = sknas.load(model.save(tmp_path / "m.zip"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_name_uses_the_method_defaults_and_is_reproducible(images):
    X, y = images
    make = lambda: NASClassifier(  # noqa: E731
        strategy=GDAS(epochs=2), search_space=SPACE, max_epochs=1, random_state=3
    ).fit(X[:60], y[:60])
    a, b = make(), make()
    assert a.best_params_ == b.best_params_
    assert a.arch_history_ == b.arch_history_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    temps = [r["temperature"] for r in a.arch_history_]
    assert temps == pytest.approx([10.0, 0.1])  # GDAS' schedule, from its defaults


def test_ranking_strategy_can_hand_over_several_candidates(images):
    X, y = images
    model = NASClassifier(
        strategy=RSWS(epochs=1, n_candidates=2, options={"n_samples": 5}),
        search_space=SPACE, max_epochs=1, random_state=0,
    ).fit(X, y)
    assert model.n_trials_ == 2
    ranks = [t.user_attrs["oneshot_rank"] for t in model.study_.trials]
    assert ranks == [0, 1]


def test_space_without_supernet_is_refused_before_training():
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="has no supernet"):
        NASClassifier(strategy="darts", search_space="mlp").fit(X[:50], y[:50])


@pytest.mark.parametrize("objectives", [("score", "latency"), ("mnasnet:5",)])
def test_other_objectives_than_the_score_are_refused_before_training(images, objectives):
    X, y = images
    with pytest.raises(ValueError, match="needs a black-box strategy"):
        NASClassifier(strategy="gdas", search_space=SPACE, objectives=objectives).fit(X, y)


def test_bad_options_name_the_parameter(images):
    X, y = images
    with pytest.raises(ValueError, match="unknown options"):
        NASClassifier(
            strategy=GDAS(options={"nope": 1}), search_space=SPACE, max_epochs=1
        ).fit(X, y)


def test_timeout_stops_the_supernet_and_still_returns_a_network(images):
    X, y = images
    model = NASClassifier(
        strategy=GDAS(epochs=10_000, batch_size=16), search_space=SPACE, max_epochs=1,
        timeout=4.0, random_state=0,
    ).fit(X, y)
    record = model.study_.user_attrs["sknas:oneshot"]
    assert record["stopped"] == "deadline"
    assert len(model.arch_history_) < 10_000
    assert model.predict(X).shape == (len(X),)


class _CtrlCGDAS(GDAS):
    """GDAS whose first epoch ends with a Ctrl-C."""

    def end_epoch(self, loop, epoch, record):
        import signal

        signal.raise_signal(signal.SIGINT)
        return False


def test_ctrl_c_during_the_supernet_stops_the_fit(images):
    import signal

    X, y = images
    before = signal.getsignal(signal.SIGINT)
    model = NASClassifier(
        strategy=_CtrlCGDAS(epochs=50), search_space=SPACE, max_epochs=1, random_state=0
    )
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert signal.getsignal(signal.SIGINT) is before
    assert not hasattr(model, "best_estimator_")
