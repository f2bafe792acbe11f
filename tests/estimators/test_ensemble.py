"""Ensembles of the best candidates (greedy ensemble selection with replacement)."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import signal
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.metrics import get_scorer
from sklearn.utils.estimator_checks import parametrize_with_checks

import sknas
from sknas import ModelFileError, NASClassifier, NASRegressor, _interrupts
from sknas._model_file import _manifest_digest
from sknas.estimators._ensemble import (
    MAX_ENCODED_CHARS,
    PREDICTIONS_ATTR,
    Ensemble,
    decode_predictions,
    encode_predictions,
    greedy_selection,
    seed_networks,
    select_ensemble,
    splits_digest,
)
from sknas.evaluation.training import TrainingEvaluator
from sknas.testing import expected_failed_checks
from sknas.utils.preprocessing import transform_table

#: The plain MLP space: with these seeds its top candidates are close, so the ensembles
#: below combine several networks (the tests read their members).
TINY = dict(n_trials=4, max_epochs=4, random_state=0, device="cpu", search_space="mlp")
#: As tests/estimators/test_sklearn_checks.py, with a third candidate to combine.
CHECKS = dict(n_trials=3, max_epochs=15, patience=5, random_state=0, device="cpu")


# -- the selection, on hand-made predictions ---------------------------------------------
def _neg_mse(target):
    return lambda prediction: -float(np.mean((prediction - target) ** 2))


def test_greedy_selection_combines_opposite_errors():
    target = np.linspace(-1, 1, 20)[:, None]
    a = target + 0.3  # best alone (tied with b), starts the ensemble
    b = target - 0.3
    c = target + 1.0
    picks = greedy_selection([a, b, c], _neg_mse(target), 4, first=0)
    assert picks[:2] == [0, 1]  # the average of a and b is exact
    assert sorted(picks) == [0, 0, 1, 1]


def test_greedy_selection_keeps_a_lone_winner_and_allows_repeats():
    target = np.zeros((10, 1))
    good = target + 0.01
    bad = target + 1.0
    assert greedy_selection([bad, good], _neg_mse(target), 3, first=1) == [1, 1, 1]


def test_greedy_selection_weights_by_counts():
    target = np.zeros((5, 1))
    # a + 2 c averages to the target: a chosen once, c twice
    a, b, c = target + 2.0, target + 3.0, target - 1.0
    picks = greedy_selection([a, b, c], _neg_mse(target), 3, first=0)
    assert sorted(picks) == [0, 2, 2]


def test_greedy_selection_ignores_nan_scores():
    target = np.zeros((4, 1))
    a, broken = target + 0.5, np.full((4, 1), np.nan)
    assert greedy_selection([a, broken], _neg_mse(target), 2, first=0) == [0, 0]


def _trial(state, predictions=None):
    attrs = {} if predictions is None else {PREDICTIONS_ATTR: predictions}
    return SimpleNamespace(state=SimpleNamespace(name=state), user_attrs=attrs)


def test_select_ensemble_starts_from_the_chosen_candidate_and_weights_sum_to_one():
    y = np.array([0, 1, 0, 1, 1, 0])
    splits = [(np.arange(6), np.arange(6))]
    digest = splits_digest(splits)
    onehot = np.eye(2)[y]
    right = 0.6 * onehot + 0.2  # every row right, not confident
    wrong_half = right.copy()
    wrong_half[:3] = right[:3, ::-1]
    trials = [
        _trial("COMPLETE", encode_predictions([wrong_half], "classification", digest)),
        _trial("PRUNED"),
        _trial("COMPLETE", encode_predictions([right], "classification", digest)),
        _trial("COMPLETE"),  # no predictions: left out, counted
    ]
    ensemble, n_missing = select_ensemble(
        trials, splits=splits, y=y, scorer=get_scorer("accuracy"), task="classification",
        best_index=2, size=5,
    )
    assert n_missing == 1
    assert ensemble.indices[0] == 2
    assert set(ensemble.indices) <= {0, 2}
    assert sum(ensemble.weights) == pytest.approx(1.0)
    assert ensemble.score == pytest.approx(1.0)


def test_seed_networks_gives_every_selection_its_own_networks():
    selected = Ensemble((7, 2, 4), (0.6, 0.2, 0.2), 0.9)
    once = seed_networks(selected, size=5, seeds=1)
    assert once.indices == (7, 7, 7, 2, 4)
    twice = seed_networks(selected, size=5, seeds=2)
    assert twice.indices == (7,) * 6 + (2, 2, 4, 4)
    assert twice.weights == pytest.approx((0.1,) * 10)
    assert twice.score == 0.9
    # Each member keeps its selection weight, spread over its networks.
    for member, weight in zip(selected.indices, selected.weights):
        share = sum(w for i, w in zip(twice.indices, twice.weights) if i == member)
        assert share == pytest.approx(weight)
    alone = seed_networks(Ensemble((3,), (1.0,), 0.5), size=1, seeds=3)
    assert alone.indices == (3, 3, 3)
    assert alone.weights == pytest.approx((1 / 3,) * 3)


def test_predictions_round_trip_and_refusals():
    splits = [(np.arange(3), np.arange(3, 7)), (np.arange(4), np.arange(4, 7))]
    digest = splits_digest(splits)
    parts = [np.random.default_rng(0).random((4, 2)), np.random.default_rng(1).random((3, 2))]
    encoded = encode_predictions(parts, "regression", digest)
    json.dumps(encoded)  # a JSON value, fit for any Optuna storage
    decoded = decode_predictions(encoded, digest)
    for got, expected in zip(decoded, parts):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert decode_predictions(encoded, "another split") is None
    assert decode_predictions({**encoded, "rows": [4, 4]}, digest) is None
    assert decode_predictions({**encoded, "data": "not base64!"}, digest) is None
    assert decode_predictions("junk", digest) is None
    noise = np.random.default_rng(0).random((MAX_ENCODED_CHARS // 2, 1))
    assert encode_predictions([noise], "regression", digest) is None


# -- the estimator ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def ensemble_model(diabetes):
    return NASRegressor(ensemble_size=5, **TINY).fit(*diabetes)


@pytest.fixture(scope="module")
def single_model(diabetes):
    return NASRegressor(**TINY).fit(*diabetes)


def _member_outputs(model, X):
    X32 = transform_table(model.preprocessor_, np.asarray(X), model.missing_values)
    return [net.predict(X32).ravel() for net in model.ensemble_estimators_]


def test_ensemble_predicts_the_weighted_average_of_its_members(ensemble_model, diabetes):
    X, _ = diabetes
    ensemble = ensemble_model.ensemble_
    assert len(ensemble.indices) >= 2  # this search's ensemble combines networks
    assert len(ensemble_model.ensemble_estimators_) == len(ensemble.indices)
    assert sum(ensemble.weights) == pytest.approx(1.0)
    assert ensemble.indices[0] == ensemble_model.best_index_
    assert ensemble_model.ensemble_estimators_[0] is ensemble_model.best_estimator_
    expected = sum(w * out for w, out in zip(ensemble.weights, _member_outputs(ensemble_model, X)))
    np.testing.assert_allclose(ensemble_model.predict(X), expected, rtol=1e-12)
    assert ensemble.score >= ensemble_model.best_score_


def test_ensemble_size_one_is_the_single_best_network(ensemble_model, single_model, diabetes):
    X, _ = diabetes
    assert not hasattr(single_model, "ensemble_")
    assert all(PREDICTIONS_ATTR not in t.user_attrs for t in single_model.study_.trials)
    # The search and best_estimator_ are those of a search without an ensemble.
    np.testing.assert_array_equal(
        single_model.cv_results_["mean_test_score"], ensemble_model.cv_results_["mean_test_score"]
    )
    assert single_model.best_index_ == ensemble_model.best_index_
    X32 = transform_table(single_model.preprocessor_, X, "error")
    np.testing.assert_array_equal(
        single_model.predict(X), single_model.best_estimator_.predict(X32).ravel()
    )
    np.testing.assert_array_equal(
        single_model.best_estimator_.predict(X32), ensemble_model.best_estimator_.predict(X32)
    )


def test_ensemble_is_reproducible(ensemble_model, diabetes):
    X, y = diabetes
    again = NASRegressor(ensemble_size=5, **TINY).fit(X, y)
    assert again.ensemble_ == ensemble_model.ensemble_
    np.testing.assert_array_equal(again.predict(X), ensemble_model.predict(X))


def test_pickle_and_clone(ensemble_model, diabetes):
    X, _ = diabetes
    restored = pickle.loads(pickle.dumps(ensemble_model))
    np.testing.assert_array_equal(restored.predict(X), ensemble_model.predict(X))
    assert clone(ensemble_model).get_params()["ensemble_size"] == 5


def test_classifier_ensemble_averages_probabilities():
    X, y = load_iris(return_X_y=True)
    model = NASClassifier(ensemble_size=4, **TINY).fit(X, y)
    X32 = transform_table(model.preprocessor_, X, "error")
    probas = [net.predict_proba(X32) for net in model.ensemble_estimators_]
    probas = [p / p.sum(axis=1, keepdims=True) for p in probas]
    expected = sum(w * p for w, p in zip(model.ensemble_.weights, probas))
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.argmax(expected, axis=1))


@pytest.fixture(scope="module")
def seeded_model(diabetes):
    return NASRegressor(refit_seeds=3, **TINY).fit(*diabetes)


def test_refit_seeds_average_networks_of_the_best_architecture(
    seeded_model, single_model, diabetes
):
    X, _ = diabetes
    model = seeded_model
    assert model.ensemble_.indices == (model.best_index_,) * 3
    assert len(model.ensemble_estimators_) == 3
    assert model.ensemble_estimators_[0] is model.best_estimator_
    # The first network is the one a single refit trains; the others start from other seeds.
    X32 = transform_table(model.preprocessor_, X, "error")
    outputs = _member_outputs(model, X)
    np.testing.assert_array_equal(outputs[0], single_model.best_estimator_.predict(X32).ravel())
    assert not np.allclose(outputs[0], outputs[1])
    assert not np.allclose(outputs[1], outputs[2])
    np.testing.assert_allclose(model.predict(X), np.mean(outputs, axis=0), rtol=1e-12)


def test_repeated_selections_are_refit_from_different_seeds(ensemble_model, diabetes):
    X, _ = diabetes
    indices = ensemble_model.ensemble_.indices
    assert len(indices) == 5  # one network per round of selection
    outputs = _member_outputs(ensemble_model, X)
    for a in range(len(indices)):
        for b in range(a + 1, len(indices)):
            assert not np.allclose(outputs[a], outputs[b])


def test_seeded_networks_survive_save_and_load(seeded_model, diabetes, tmp_path):
    X, _ = diabetes
    loaded = sknas.load(seeded_model.save(tmp_path / "seeds.sknas"))
    assert loaded.ensemble_ == seeded_model.ensemble_
    np.testing.assert_array_equal(loaded.predict(X), seeded_model.predict(X))


def test_refit_seeds_must_be_a_positive_integer(diabetes):
    with pytest.raises(ValueError, match="refit_seeds"):
        NASRegressor(refit_seeds=0, **TINY).fit(*diabetes)


def test_refit_false_builds_no_ensemble(diabetes):
    model = NASRegressor(ensemble_size=3, refit=False, **TINY).fit(*diabetes)
    assert not hasattr(model, "ensemble_")
    assert not hasattr(model, "ensemble_estimators_")


def test_a_callable_refit_chooses_the_first_member(diabetes):
    def last_complete(results):
        return int(np.flatnonzero(results["state"] == "COMPLETE")[-1])

    model = NASRegressor(ensemble_size=3, refit=last_complete, **TINY).fit(*diabetes)
    assert model.ensemble_.indices[0] == model.best_index_ == last_complete(model.cv_results_)


def test_resumed_search_without_stored_predictions_warns(tmp_path, diabetes):
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    params = {**TINY, "n_trials": 2, "storage": storage, "study_name": "s"}
    NASRegressor(**params).fit(*diabetes)
    with pytest.warns(UserWarning, match="[23] completed candidates have no held-out"):
        model = NASRegressor(**{**params, "n_trials": 4, "ensemble_size": 3}).fit(*diabetes)
    trials = model.study_.get_trials()
    with_predictions = {i for i in (2, 3) if PREDICTIONS_ATTR in trials[i].user_attrs}
    assert set(model.ensemble_.indices) <= with_predictions | {model.best_index_}


def test_worker_processes_keep_their_candidates_predictions(diabetes):
    model = NASRegressor(ensemble_size=3, n_jobs=2, **TINY).fit(*diabetes)
    complete = [t for t in model.study_.trials if t.state.name == "COMPLETE"]
    assert complete and all(PREDICTIONS_ATTR in t.user_attrs for t in complete)
    assert sum(model.ensemble_.weights) == pytest.approx(1.0)


def _interrupt_member_refit(monkeypatch, interrupts: int) -> None:
    """Deliver ``interrupts`` Ctrl-C (to fit's handler) as the second network's refit begins."""
    original = TrainingEvaluator.fit_final
    calls = []

    def fit_final(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            for _ in range(interrupts):
                _interrupts._on_sigint(signal.SIGINT, None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TrainingEvaluator, "fit_final", fit_final)


def test_one_interrupt_during_a_member_refit_lets_it_finish(monkeypatch, diabetes):
    _interrupt_member_refit(monkeypatch, 1)
    with pytest.warns(UserWarning, match="after the search had finished"):
        model = NASRegressor(ensemble_size=5, **TINY).fit(*diabetes)
    assert len(model.ensemble_estimators_) == len(model.ensemble_.indices) >= 2


def test_second_interrupt_during_a_member_refit_abandons_it(monkeypatch, diabetes):
    _interrupt_member_refit(monkeypatch, 2)
    model = NASRegressor(ensemble_size=5, **TINY)
    with pytest.raises(KeyboardInterrupt):
        model.fit(*diabetes)
    for name in ("ensemble_", "ensemble_estimators_", "best_estimator_"):
        assert not hasattr(model, name)
    assert hasattr(model, "cv_results_")  # the search's results are kept


# -- model files -----------------------------------------------------------------------
def test_save_load_round_trip_predicts_identically(ensemble_model, diabetes, tmp_path):
    X, _ = diabetes
    path = ensemble_model.save(tmp_path / "m.sknas")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    n_members = len(ensemble_model.ensemble_.indices)
    assert names == {"model.json", "weights.pt", "preprocessor.skops"} | {
        f"member_{k}.pt" for k in range(1, n_members)
    }
    loaded = sknas.load(path)
    assert loaded.ensemble_ == ensemble_model.ensemble_
    np.testing.assert_array_equal(loaded.predict(X), ensemble_model.predict(X))


def _rewrite(path, edit_members=None, edit_manifest=None):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members.pop("model.json"))
    if edit_members:
        edit_members(members)
    if edit_manifest:
        edit_manifest(manifest)
        manifest["digests"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
        manifest["digests"]["model.json"] = _manifest_digest(manifest)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.json", json.dumps(manifest))
        for name, data in members.items():
            archive.writestr(name, data)


def test_a_tampered_member_is_refused(ensemble_model, tmp_path):
    path = ensemble_model.save(tmp_path / "m.sknas")

    def flip(members):
        data = bytearray(members["member_1.pt"])
        data[len(data) // 2] ^= 0xFF
        members["member_1.pt"] = bytes(data)

    _rewrite(path, edit_members=flip)
    with pytest.raises(ModelFileError, match="member_1.pt differ from the digests"):
        sknas.load(path)


def test_member_weights_that_do_not_fit_are_refused(ensemble_model, tmp_path):
    path = ensemble_model.save(tmp_path / "m.sknas")

    def replace(members):
        buffer = io.BytesIO()
        torch.save({"inner.weight": torch.zeros(3)}, buffer)
        members["member_1.pt"] = buffer.getvalue()

    _rewrite(path, edit_members=replace, edit_manifest=lambda m: None)
    with pytest.raises(ModelFileError, match="weights do not fit the described network"):
        sknas.load(path)


def test_an_inconsistent_ensemble_is_refused(ensemble_model, tmp_path):
    path = ensemble_model.save(tmp_path / "m.sknas")

    def reweigh(manifest):
        manifest["ensemble"]["members"][0]["weight"] += 0.5

    _rewrite(path, edit_manifest=reweigh)
    with pytest.raises(ModelFileError, match="ensemble is inconsistent"):
        sknas.load(path)


def test_an_undescribed_member_is_refused(ensemble_model, tmp_path):
    path = ensemble_model.save(tmp_path / "m.sknas")
    _rewrite(path, edit_manifest=lambda m: m.update(ensemble=None))
    with pytest.raises(ModelFileError, match="does not describe"):
        sknas.load(path)


# -- scikit-learn's estimator checks, with an ensemble -------------------------------------
@parametrize_with_checks(
    [
        NASClassifier(ensemble_size=3, **CHECKS),
        NASRegressor(ensemble_size=3, **CHECKS),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_checks_with_an_ensemble(estimator, check):
    check(estimator)
