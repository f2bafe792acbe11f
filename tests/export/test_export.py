"""ONNX and TorchScript exports run the whole inference path, as predict does."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sknas import NASClassifier, NASRegressor
from sknas.export import ExportError, onnx_inputs, torchscript_inputs

ort = pytest.importorskip("onnxruntime")

# PyTorch deprecates TorchScript (torch.jit.load warns); the exported modules still load.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

TINY = {"n_trials": 3, "max_epochs": 2, "random_state": 0}


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.lognormal(10, 1, n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "city": rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], n).astype(object),
            "rooms": rng.integers(1, 6, n),
        }
    )
    frame.loc[frame.index % 7 == 0, "age"] = np.nan
    frame.loc[frame.index % 9 == 0, "city"] = None
    return frame


def _target(frame: pd.DataFrame) -> np.ndarray:
    return (
        0.05 * frame["age"].fillna(40).to_numpy()
        + (frame["colour"] == "red").to_numpy()
        + np.log(frame["income"].to_numpy())
    )


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = _frame(150, 0), _frame(40, 1)
    test.loc[3, "city"] = "Quito"  # a category not seen in fit: all zeros, as in predict
    test.loc[4, "colour"] = np.nan
    return train, test


@pytest.fixture(scope="module")
def frame_classifier(frames):
    train, _ = frames
    score = _target(train)
    y = np.where(score > np.median(score), "high", "low")
    return NASClassifier(missing_values="impute", **TINY).fit(train, y)


@pytest.fixture(scope="module")
def array_ensemble():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(160, 6)) * [1, 10, 100, 0.1, 1, 1]
    y = (X[:, 0] + X[:, 1] / 10 > 0).astype(int) + (X[:, 2] > 50)
    # The plain MLP space: with this seed the ensemble combines several networks.
    clf = NASClassifier(ensemble_size=4, search_space="mlp", **TINY).fit(X, y)
    return clf, rng.normal(size=(30, 6)) * [1, 10, 100, 0.1, 1, 1]


@pytest.fixture(scope="module")
def frame_regressor(frames):
    train, _ = frames
    y = 1e4 + 50 * _target(train)  # far from zero: the de-standardisation must keep digits
    # The plain MLP space and a seed whose ensemble has two members.
    settings = {**TINY, "random_state": 3, "search_space": "mlp"}
    return NASRegressor(missing_values="impute", ensemble_size=3, **settings).fit(train, y)


def _onnx_session(estimator, tmp_path):
    path = estimator.export_onnx(tmp_path / "model.onnx")
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _torchscript(estimator, tmp_path):
    path = estimator.export_torchscript(tmp_path / "model.pt")
    return torch.jit.load(str(path))


# -- ONNX ------------------------------------------------------------------------------
def test_onnx_dataframe_classifier_matches_predict_proba(frame_classifier, frames, tmp_path):
    _, test = frames
    session = _onnx_session(frame_classifier, tmp_path)
    inputs = {i.name: i.type for i in session.get_inputs()}
    assert inputs == {
        "age": "tensor(float)", "income": "tensor(float)", "colour": "tensor(string)",
        "city": "tensor(string)", "rooms": "tensor(float)",
    }
    label, proba = session.run(["label", "probabilities"], onnx_inputs(frame_classifier, test))
    np.testing.assert_allclose(proba, frame_classifier.predict_proba(test), atol=1e-4)
    np.testing.assert_array_equal(label, frame_classifier.predict(test))


@pytest.mark.parametrize("method", ["onnx", "torchscript"])
def test_periodic_embeddings_and_clipped_inputs_are_exported(method, tmp_path):
    from sknas.spaces import MLPSpace

    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 4)) * [1, 50, 0.1, 1]
    y = (np.sin(X[:, 0] * 3) + X[:, 1] / 50 > 0).astype(int)
    space = MLPSpace(embeddings=("periodic",), input_clips=(True,), max_layers=1)
    clf = NASClassifier(search_space=space, **{**TINY, "n_trials": 1}).fit(X, y)
    X_new = rng.normal(size=(25, 4)) * [1, 50, 0.1, 1]
    if method == "onnx":
        _, proba = _onnx_session(clf, tmp_path).run(None, {"X": X_new.astype(np.float32)})
    else:
        _, proba = _torchscript(clf, tmp_path)(torch.as_tensor(X_new, dtype=torch.float32))
    np.testing.assert_allclose(np.asarray(proba), clf.predict_proba(X_new), atol=1e-4)


def test_onnx_array_ensemble_matches_predict_proba(array_ensemble, tmp_path):
    clf, X = array_ensemble
    assert len(clf.ensemble_.indices) > 1
    session = _onnx_session(clf, tmp_path)
    assert [i.name for i in session.get_inputs()] == ["X"]
    label, proba = session.run(None, {"X": X.astype(np.float32)})
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-4)
    np.testing.assert_array_equal(label, clf.predict(X))
    assert label.dtype == np.int64


def test_onnx_regressor_matches_predict(frame_regressor, frames, tmp_path):
    _, test = frames
    assert len(frame_regressor.ensemble_.indices) > 1
    session = _onnx_session(frame_regressor, tmp_path)
    assert [o.name for o in session.get_outputs()] == ["prediction"]
    (prediction,) = session.run(None, onnx_inputs(frame_regressor, test))
    expected = frame_regressor.predict(test)
    assert prediction.shape == expected.shape
    np.testing.assert_allclose(prediction, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


# -- TorchScript -----------------------------------------------------------------------
def test_torchscript_dataframe_classifier_round_trip(frame_classifier, frames, tmp_path):
    _, test = frames
    module = _torchscript(frame_classifier, tmp_path)
    assert list(module.numeric_columns) == ["age", "income", "rooms"]
    assert list(module.categorical_columns) == ["colour", "city"]
    X, categories = torchscript_inputs(frame_classifier, test)
    label, proba = module(X, categories)
    np.testing.assert_allclose(proba.numpy(), frame_classifier.predict_proba(test), atol=1e-4)
    names = np.asarray(list(module.classes))[label.numpy()]  # string classes: indices
    np.testing.assert_array_equal(names, frame_classifier.predict(test))


def test_torchscript_array_ensemble_round_trip(array_ensemble, tmp_path):
    clf, X = array_ensemble
    module = _torchscript(clf, tmp_path)
    label, proba = module(torch.as_tensor(X, dtype=torch.float32))
    np.testing.assert_allclose(proba.numpy(), clf.predict_proba(X), atol=1e-4)
    np.testing.assert_array_equal(label.numpy(), clf.predict(X))  # numeric classes: values


def test_torchscript_regressor_round_trip(frame_regressor, frames, tmp_path):
    _, test = frames
    module = _torchscript(frame_regressor, tmp_path)
    prediction = module(*torchscript_inputs(frame_regressor, test)).numpy()
    expected = frame_regressor.predict(test)
    np.testing.assert_allclose(prediction, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_torchscript_refuses_inputs_of_the_wrong_layout(frame_classifier, frames, tmp_path):
    _, test = frames
    module = _torchscript(frame_classifier, tmp_path)
    X, categories = torchscript_inputs(frame_classifier, test)
    with pytest.raises(Exception, match="one list of strings per categorical column"):
        module(X, categories[:1])
    with pytest.raises(Exception, match=r"X must have shape \(n_samples, 3\)"):
        module(X[:, :2], categories)


# -- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["export_onnx", "export_torchscript"])
def test_unfitted_estimator_is_refused(method, tmp_path):
    with pytest.raises(NotFittedError):
        getattr(NASClassifier(), method)(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_estimator_without_refit_is_refused(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 3))
    clf = NASClassifier(refit=False, n_trials=1, max_epochs=1, random_state=0)
    clf.fit(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(NotFittedError, match="refit=True"):
        clf.export_onnx(tmp_path / "model.onnx")


def test_categories_equal_as_strings_are_refused(tmp_path):
    frame = pd.DataFrame(
        {"x": np.arange(40.0), "kind": ["", "a", None, "b"] * 10}
    )
    clf = NASClassifier(missing_values="impute", n_trials=1, max_epochs=1, random_state=0)
    clf.fit(frame, np.arange(40) % 2)
    for method in (clf.export_onnx, clf.export_torchscript):
        with pytest.raises(ExportError, match="'kind'.*equal once written as strings"):
            method(tmp_path / "model")


def test_missing_export_extra_is_named(frame_classifier, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"sknas\[export\]"):
        frame_classifier.export_onnx(tmp_path / "model.onnx")


# -- other inputs ----------------------------------------------------------------------
def test_images_keep_their_shape_in_both_exports(tmp_path):
    from sknas.spaces import NB201Space

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 1, 8, 8)).astype(np.float32)
    y = (X.mean(axis=(1, 2, 3)) > 0).astype(int)
    space = NB201Space(channels=4, cells_per_stage=1)
    clf = NASClassifier(search_space=space, n_trials=1, max_epochs=1, random_state=0).fit(X, y)
    session = _onnx_session(clf, tmp_path)
    assert session.get_inputs()[0].shape[1:] == [1, 8, 8]
    _, proba = session.run(None, {"X": X})
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-4)
    _, proba = _torchscript(clf, tmp_path)(torch.as_tensor(X))
    np.testing.assert_allclose(proba.numpy(), clf.predict_proba(X), atol=1e-4)


def test_a_loaded_model_file_exports_the_same_model(frame_classifier, frames, tmp_path):
    import sknas

    _, test = frames
    loaded = sknas.load(frame_classifier.save(tmp_path / "model.sknas"))
    module = _torchscript(loaded, tmp_path)
    _, proba = module(*torchscript_inputs(loaded, test))
    np.testing.assert_allclose(proba.numpy(), frame_classifier.predict_proba(test), atol=1e-4)


@pytest.mark.parametrize("method", ["export_onnx", "export_torchscript"])
def test_sequence_models_are_refused_clearly(method, tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 5, 2))
    clf = NASClassifier(n_trials=1, max_epochs=1, random_state=0)
    clf.fit(X, (X[:, 0, 0] > 0).astype(int))
    with pytest.raises(ExportError, match="sequences"):
        getattr(clf, method)(tmp_path / "model")
    assert not (tmp_path / "model").exists()
