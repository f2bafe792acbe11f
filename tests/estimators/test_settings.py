"""Settings that cannot work for the data are refused before any candidate trains."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.utils._param_validation import InvalidParameterError

from sknas import NASClassifier, NASRegressor
from sknas.estimators._checks import check_device_for_task, clamp_threads
from sknas.evaluation.training import TrainingEvaluator
from sknas.spaces import MLPSpace, NB201Space

TINY = dict(n_trials=1, max_epochs=1, random_state=0, device="cpu", pruner=None)


@pytest.fixture
def trainings(monkeypatch):
    """Counts candidates that start training."""
    calls: list[object] = []
    original = TrainingEvaluator.evaluate

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TrainingEvaluator, "evaluate", counting)
    return calls


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.mark.parametrize("n_jobs", [0])
def test_n_jobs_zero_is_refused(iris, n_jobs, trainings):
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter.*Got 0"):
        NASClassifier(n_jobs=n_jobs, **TINY).fit(*iris)
    assert trainings == []


def test_five_dimensional_input_lists_the_accepted_shapes(trainings):
    X = np.random.default_rng(0).normal(size=(200, 5, 6, 1, 1))
    y = np.arange(200) % 2
    with pytest.raises(ValueError, match=r"5 dimensions \(200, 5, 6, 1, 1\).*2-D tables.*"
                                         r"3-D sequences.*4-D image"):
        NASClassifier(**TINY).fit(X, y)
    assert trainings == []


def test_five_dimensional_input_is_refused(trainings):
    with pytest.raises(ValueError, match="5 dimensions"):
        NASClassifier(**TINY).fit(np.zeros((10, 1, 2, 2, 2)), np.arange(10) % 2)
    assert trainings == []


def test_sequences_are_refused_at_predict_by_a_model_of_tables(iris):
    model = NASClassifier(**TINY).fit(*iris)
    with pytest.raises(ValueError, match=r"sequences of shape \(2, 2\).*fitted on None"):
        model.predict(iris[0].reshape(150, 2, 2))


def test_images_too_small_for_the_space_are_refused(trainings):
    X = np.random.default_rng(0).normal(size=(40, 1, 5, 6))
    with pytest.raises(ValueError, match=r"NB201Space cannot build a network for input of shape "
                                         r"\(1, 5, 6\)"):
        NASClassifier(**TINY).fit(X, np.arange(40) % 2)
    assert trainings == []


def test_cell_space_on_a_table_is_refused(iris, trainings):
    with pytest.raises(ValueError, match=r"NB201Space cannot build a network for input of shape "
                                         r"\(7,\)"):
        NASClassifier(search_space="nb201", **TINY).fit(iris[0][:, [0, 1, 2, 3, 0, 1, 2]], iris[1])
    assert trainings == []


def test_images_that_fit_are_searched(trainings):
    X = np.random.default_rng(0).normal(size=(40, 1, 8, 8)).astype(np.float32)
    space = NB201Space(cells_per_stage=1, channels=4)
    NASClassifier(search_space=space, **TINY).fit(X, np.arange(40) % 2)
    assert len(trainings) == 1


@pytest.mark.parametrize(
    ("estimator", "data", "scoring"),
    [
        (NASRegressor, load_diabetes, "accuracy"),
        (NASRegressor, load_diabetes, "roc_auc"),
        (NASClassifier, load_iris, "roc_auc"),
        (NASClassifier, load_iris, "f1"),
    ],
)
def test_scorer_that_cannot_score_the_task_is_refused(estimator, data, scoring, trainings):
    X, y = data(return_X_y=True)
    with pytest.raises(ValueError, match=f"scoring='{scoring}' cannot score this"):
        estimator(scoring=scoring, **TINY).fit(X, y)
    assert trainings == []


@pytest.mark.parametrize("scoring", ["roc_auc", "neg_log_loss", "f1", "balanced_accuracy"])
def test_scorers_that_fit_the_task_are_accepted(scoring, trainings):
    X, y = load_breast_cancer(return_X_y=True)
    NASClassifier(scoring=scoring, **TINY).fit(X[:120], y[:120])
    assert len(trainings) == 1


def test_a_device_that_is_not_here_is_refused(iris, trainings):
    missing = "mps" if not torch.backends.mps.is_available() else "cuda:99"
    with pytest.raises(ValueError, match=f"device='{missing}' was requested but"):
        NASClassifier(**{**TINY, "device": missing}).fit(*iris)
    beyond = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ValueError, match=f"device='{beyond}' was requested but"):
        NASClassifier(**{**TINY, "device": beyond}).fit(*iris)
    assert trainings == []


def test_more_threads_than_cores_are_clamped_with_a_warning(iris):
    cores = os.cpu_count() or 1
    with pytest.warns(UserWarning, match=f"n_threads={cores + 10000} is more than the {cores}"
                      ) as caught:
        model = NASClassifier(n_threads=cores + 10000, **TINY).fit(*iris)
    assert sum("more than the" in str(w.message) for w in caught) == 1  # once per fit
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # predicting cuts silently
        assert model._resolve_threads(model.search_space_) == cores
        model.predict(iris[0])
    assert clamp_threads(1) == 1 and clamp_threads(None) is None


def test_nested_parameters_of_a_named_component_are_explained():
    expected = "search_space=.auto. is a name.*MLPSpace\\(max_layers=3\\)"
    with pytest.raises(ValueError, match=expected):
        NASClassifier().set_params(search_space__max_layers=3)
    with pytest.raises(ValueError, match="strategy='tpe' is a name"):
        NASClassifier(strategy="tpe").set_params(strategy__seed=3)
    model = NASClassifier().set_params(search_space=MLPSpace(), search_space__max_layers=3)
    assert model.search_space.max_layers == 3


def test_regression_is_refused_on_mps():
    with pytest.raises(ValueError, match="float64, which the MPS backend does not support"):
        check_device_for_task("mps", "regression")
    with pytest.raises(ValueError, match="MPS"):
        check_device_for_task("mps:0", "regression")
    check_device_for_task("mps", "classification")
    check_device_for_task("cuda:0", "regression")


def test_cv_auto_uses_folds_on_small_data_and_the_hold_out_on_large_data():
    from sknas.estimators.base import SMALL_DATA_FOLDS, SMALL_DATA_ROWS

    small_X, small_y = np.zeros((150, 2)), np.repeat([0, 1, 2], 50)
    folds = NASClassifier(cv="auto")._make_splits(small_X, small_y, seed=0)
    assert len(folds) == SMALL_DATA_FOLDS
    valid = np.concatenate([v for _, v in folds])
    assert sorted(valid) == list(range(150))  # every row scored once
    assert all(np.bincount(small_y[v]).tolist() == [10, 10, 10] for _, v in folds)  # stratified
    large_X, large_y = np.zeros((SMALL_DATA_ROWS, 2)), np.arange(SMALL_DATA_ROWS) % 2
    assert len(NASClassifier(cv="auto")._make_splits(large_X, large_y, seed=0)) == 1
    assert len(NASClassifier()._make_splits(small_X, small_y, seed=0)) == 1  # None: hold-out
    regression = NASRegressor(cv="auto")._make_splits(small_X, np.linspace(0, 1, 150), seed=0)
    assert len(regression) == SMALL_DATA_FOLDS
