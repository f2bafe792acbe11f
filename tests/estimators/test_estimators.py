"""Behaviour of NASClassifier and NASRegressor as scikit-learn estimators."""

from __future__ import annotations

import pickle

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris, load_linnerud, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknas import NASClassifier, NASRegressor
from sknas.samplers import LocalSearchSampler
from sknas.spaces import Architecture, MLPSpace

FAST = dict(n_trials=3, max_epochs=10, patience=4, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def fitted_classifier(iris):
    X_train, _, y_train, _ = iris
    return NASClassifier(**FAST).fit(X_train, y_train)


def test_classifier_learns_iris(fitted_classifier, iris):
    _, X_test, _, y_test = iris
    clf = fitted_classifier
    assert clf.score(X_test, y_test) > 0.8
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X_test)) <= set(clf.classes_)


def test_fitted_attributes(fitted_classifier):
    clf = fitted_classifier
    results = clf.cv_results_
    n = clf.n_trials_
    assert n == 3
    for key in ("params", "mean_test_score", "rank_test_score", "mean_fit_time", "state",
                "n_parameters", "param_lr", "param_n_layers"):
        assert len(results[key]) == n, key
    assert results["rank_test_score"][clf.best_index_] == 1
    assert clf.best_score_ == pytest.approx(np.nanmax(results["mean_test_score"]))
    assert clf.best_params_ == results["params"][clf.best_index_]
    assert isinstance(clf.best_architecture_, Architecture)
    assert "hidden layer" in str(clf.best_architecture_)
    assert isinstance(clf.study_, optuna.Study)
    assert len(clf.study_.trials) == n
    assert clf.refit_time_ > 0
    assert clf.n_features_in_ == 4
    assert (results["n_parameters"][results["state"] == "COMPLETE"] > 0).all()
    frame = pd.DataFrame(results)
    assert len(frame) == n


def test_best_estimator_is_a_fitted_skorch_net(fitted_classifier, iris):
    from skorch import NeuralNetClassifier

    _, X_test, _, _ = iris
    net = fitted_classifier.best_estimator_
    assert isinstance(net, NeuralNetClassifier)
    # The net reads the preprocessed (standardised) features, as float32.
    codes = net.predict(fitted_classifier.preprocessor_.transform(X_test).astype(np.float32))
    np.testing.assert_array_equal(
        fitted_classifier.classes_[codes], fitted_classifier.predict(X_test)
    )


def test_string_labels_and_binary():
    X, y = load_wine(return_X_y=True)
    mask = y < 2
    names = np.array(["barolo", "grignolino"])[y[mask]]
    clf = NASClassifier(**FAST).fit(X[mask], names)
    assert list(clf.classes_) == ["barolo", "grignolino"]
    assert set(clf.predict(X[mask])) <= {"barolo", "grignolino"}
    assert clf.score(X[mask], names) > 0.8


def test_regressor_single_and_multi_output():
    X, y = load_diabetes(return_X_y=True)
    reg = NASRegressor(**FAST).fit(X, y)
    assert reg.predict(X).shape == (len(X),)
    assert reg.score(X, y) > 0.2
    X2, Y2 = load_linnerud(return_X_y=True)
    multi = NASRegressor(**FAST).fit(X2, Y2)
    assert multi.n_outputs_ == 3
    assert multi.predict(X2).shape == Y2.shape


def test_same_random_state_same_results(iris):
    X_train, X_test, y_train, _ = iris
    a = NASClassifier(**FAST).fit(X_train, y_train)
    b = NASClassifier(**FAST).fit(X_train, y_train)
    np.testing.assert_array_equal(
        a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
    )
    assert a.cv_results_["params"] == b.cv_results_["params"]
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))


def test_global_rng_state_untouched(iris):
    import torch

    X_train, _, y_train, _ = iris
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy global state
    torch_state = torch.get_rng_state().clone()
    NASClassifier(**{**FAST, "n_trials": 2}).fit(X_train, y_train)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_clone_and_pickle(fitted_classifier, iris):
    _, X_test, _, _ = iris
    restored = pickle.loads(pickle.dumps(fitted_classifier))
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), fitted_classifier.predict_proba(X_test)
    )
    fresh = clone(fitted_classifier)
    assert fresh.get_params() == fitted_classifier.get_params()
    assert not hasattr(fresh, "best_estimator_")


def test_pipeline_with_column_transformer():
    X, y = load_iris(return_X_y=True, as_frame=True)
    X = X.assign(colour=np.where(y.to_numpy() == 0, "red", "blue"))
    from sklearn.preprocessing import OneHotEncoder

    pre = ColumnTransformer(
        [("num", StandardScaler(), list(X.columns[:4])), ("cat", OneHotEncoder(), ["colour"])]
    )
    pipe = make_pipeline(pre, NASClassifier(**FAST))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.8
    # the search ran on the transformed table: 4 scaled columns and 2 one-hot columns
    nas = pipe[-1]
    assert nas.n_features_in_ == 6 and not hasattr(nas, "feature_names_in_")
    assert set(pipe.predict(X)) <= set(y)


def test_feature_names_in(iris):
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = NASClassifier(**{**FAST, "n_trials": 1}).fit(X, y)
    assert list(clf.feature_names_in_) == list(X.columns)


def test_grid_search_and_cross_val_score():
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:200], y[:200]
    grid = GridSearchCV(NASRegressor(**{**FAST, "n_trials": 2}), {"max_epochs": [2, 8]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["max_epochs"] in (2, 8)
    assert len(grid.cv_results_["params"]) == 2
    Xi, yi = load_iris(return_X_y=True)
    scores = cross_val_score(NASClassifier(**{**FAST, "n_trials": 2}), Xi, yi, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.6


def test_set_params_reaches_the_search_space(iris):
    X_train, _, y_train, _ = iris
    clf = NASClassifier(search_space=MLPSpace(max_layers=1), **FAST)
    clf.set_params(search_space__widths=(8,))
    clf.fit(X_train, y_train)
    assert clf.search_space_.widths == (8,)
    assert set(clf.cv_results_["param_units_0"].compressed()) == {8}
    assert set(clf.cv_results_["param_n_layers"].compressed()) == {1}


def test_cv_folds_give_split_scores(iris):
    X_train, _, y_train, _ = iris
    clf = NASClassifier(**{**FAST, "n_trials": 2, "cv": 3}).fit(X_train, y_train)
    res = clf.cv_results_
    complete = res["state"] == "COMPLETE"
    folds = np.stack([res[f"split{k}_test_score"] for k in range(3)], axis=1)
    np.testing.assert_allclose(folds[complete].mean(axis=1), res["mean_test_score"][complete])


def test_refit_callable_and_refit_false(iris):
    X_train, X_test, y_train, _ = iris

    def smallest(cv_results):
        sizes = np.where(cv_results["state"] == "COMPLETE", cv_results["n_parameters"], np.inf)
        return int(np.argmin(sizes))

    clf = NASClassifier(**{**FAST, "refit": smallest}).fit(X_train, y_train)
    assert clf.best_index_ == smallest(clf.cv_results_)
    assert clf.predict(X_test).shape == (len(X_test),)

    no_refit = NASClassifier(**{**FAST, "refit": False}).fit(X_train, y_train)
    assert not hasattr(no_refit, "best_estimator_")
    with pytest.raises(NotFittedError, match="refit=False"):
        no_refit.predict(X_test)


def test_strategies_by_name_and_instance(iris):
    X_train, _, y_train, _ = iris
    instance = optuna.samplers.RandomSampler(seed=3)
    expected = {
        "random": optuna.samplers.RandomSampler,
        "tpe": optuna.samplers.TPESampler,
        "local_search": LocalSearchSampler,
    }
    for strategy, sampler_class in [*expected.items(), (instance, optuna.samplers.RandomSampler)]:
        clf = NASClassifier(**{**FAST, "n_trials": 2, "strategy": strategy}).fit(X_train, y_train)
        assert clf.n_trials_ == 2
        assert type(clf.study_.sampler) is sampler_class, strategy
    # an instance is copied, so the caller's sampler is left untouched
    assert clf.study_.sampler is not instance
    with pytest.raises(ValueError, match="strategy"):
        NASClassifier(**{**FAST, "strategy": "hill-climbing"}).fit(X_train, y_train)


def test_timeout_is_honoured(iris):
    # Counted work, not a wall-clock bound: the timeout stops the search long before
    # 1000 trials; the loop's exact stopping rule is tested on an injected clock in
    # tests/test_search_timeout.py.
    X_train, _, y_train, _ = iris
    clf = NASClassifier(**{**FAST, "n_trials": 1000, "max_epochs": 5, "timeout": 2.0})
    clf.fit(X_train, y_train)
    assert 1 <= clf.n_trials_ < 1000
    assert len(clf.study_.trials) == clf.n_trials_
    assert hasattr(clf, "best_estimator_")


def test_verbose_progress_bar(iris, capsys):
    X_train, _, y_train, _ = iris
    NASClassifier(**{**FAST, "n_trials": 2, "verbose": 1}).fit(X_train, y_train)
    err = capsys.readouterr().err
    assert "2/2" in err and "best" in err


def test_storage_resumes_study(tmp_path, iris):
    X_train, _, y_train, _ = iris
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    params = {**FAST, "storage": storage, "study_name": "iris"}
    first = NASClassifier(**{**params, "n_trials": 2}).fit(X_train, y_train)
    assert first.n_trials_ == 2
    second = NASClassifier(**{**params, "n_trials": 3}).fit(X_train, y_train)
    assert second.n_trials_ == 3
    numbers = sorted(t.number for t in second.study_.trials)
    assert numbers == [0, 1, 2]
    np.testing.assert_array_equal(
        second.cv_results_["mean_test_score"][:2], first.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_trials": 0}, "'n_trials' parameter"),
        ({"strategy": "genetic"}, "'strategy' parameter.*'random'.*'genetic'"),
        ({"search_space": "resnet"}, "'search_space' parameter.*'mlp'.*'resnet'"),
        ({"validation_fraction": 1.5}, "'validation_fraction' parameter"),
        ({"scoring": "nope"}, "'scoring' parameter"),
        ({"device": "tpu9"}, "'device' parameter"),
    ],
)
def test_parameter_errors_name_the_parameter(params, match, iris):
    X_train, _, y_train, _ = iris
    with pytest.raises(ValueError, match=match):
        NASClassifier(**params).fit(X_train, y_train)


def test_failing_candidates_do_not_end_the_search(iris):
    X_train, _, y_train, _ = iris

    class BrokenSpace(MLPSpace):
        def build_module(self, arch, n_features_in, n_outputs):
            if arch.params["n_layers"] > 1:
                raise RuntimeError("cannot build deep networks")
            return super().build_module(arch, n_features_in, n_outputs)

    clf = NASClassifier(search_space=BrokenSpace(max_layers=2), **{**FAST, "n_trials": 6})
    clf.fit(X_train, y_train)
    states = clf.cv_results_["state"]
    assert "FAIL" in states and "COMPLETE" in states
    reasons = clf.cv_results_["fail_reason"][states == "FAIL"]
    assert all("cannot build deep networks" in r for r in reasons)
    assert np.isnan(clf.cv_results_["mean_test_score"][states == "FAIL"]).all()
    assert clf.best_architecture_.params["n_layers"] == 1


def test_first_trial_is_the_spaces_initial_network(fitted_classifier):
    space = fitted_classifier.search_space_
    first = fitted_classifier.study_.trials[0]
    assert first.params == space.initial_params()[0]
    assert first.user_attrs["initial"] is True
