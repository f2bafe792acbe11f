"""Model files: weights plus a JSON description, loaded without unpickling code."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_iris, load_linnerud
from sklearn.exceptions import NotFittedError

import sknas
from sknas import ModelFileError, NASClassifier, NASRegressor
from sknas.spaces import MLPSpace
from sknas.utils.preprocessing import transform_table

TINY = dict(n_trials=2, max_epochs=3, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def iris_model():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    return NASClassifier(**TINY).fit(X, labels), X


@pytest.fixture(scope="module")
def frame_model():
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "kind": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
            "town": rng.choice(["x", "y"], size=n).astype(object),
        }
    )
    frame.loc[[3, 9], "size"] = np.nan
    frame.loc[[4], "town"] = None
    y = np.where(frame["kind"] == "a", 1, 0)
    model = NASClassifier(missing_values="impute", **TINY).fit(frame, y)
    return model, frame


def _roundtrip(model, tmp_path):
    path = tmp_path / "model.sknas"
    assert model.save(path) == path
    return sknas.load(path), path


def test_classifier_round_trip_predicts_identically(iris_model, tmp_path):
    model, X = iris_model
    loaded, _ = _roundtrip(model, tmp_path)
    assert type(loaded) is NASClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded.classes_.dtype == model.classes_.dtype
    assert loaded.n_features_in_ == 4
    assert loaded.best_architecture_ == model.best_architecture_
    assert loaded.best_params_ == model.best_params_
    assert loaded.best_score_ == model.best_score_
    assert loaded.get_params() == model.get_params()
    frame = pd.DataFrame(loaded.cv_results_)
    assert len(frame) == model.n_trials_
    np.testing.assert_array_equal(
        loaded.cv_results_["mean_test_score"], model.cv_results_["mean_test_score"]
    )
    assert loaded.score(X, model.predict(X)) == 1.0


def test_dataframe_round_trip_keeps_the_preprocessing(frame_model, tmp_path):
    model, frame = frame_model
    loaded, _ = _roundtrip(model, tmp_path)
    np.testing.assert_array_equal(loaded.feature_names_in_, ["size", "kind", "town"])
    np.testing.assert_array_equal(
        loaded.preprocessor_.get_feature_names_out(), model.preprocessor_.get_feature_names_out()
    )
    np.testing.assert_array_equal(
        transform_table(loaded.preprocessor_, frame, "impute"),
        transform_table(model.preprocessor_, frame, "impute"),
    )
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(frame.rename(columns={"size": "length"}))


@pytest.mark.parametrize("multi", [False, True])
def test_regressor_round_trip(multi, tmp_path):
    X, Y = load_linnerud(return_X_y=True)
    y = Y if multi else Y[:, 0]
    model = NASRegressor(**TINY).fit(X, y)
    loaded, _ = _roundtrip(model, tmp_path)
    assert type(loaded) is NASRegressor
    assert loaded.predict(X).shape == model.predict(X).shape == y.shape
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_file_layout_is_json_and_plain_weights(iris_model, tmp_path):
    model, _ = iris_model
    path = model.save(tmp_path / "m.zip")
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"model.json", "weights.pt"}
        manifest = json.loads(archive.read("model.json"))
        state = torch.load(io.BytesIO(archive.read("weights.pt")), weights_only=True)
    assert manifest["format"] == "sknas-model" and manifest["format_version"] == 1
    assert manifest["sknas_version"] == sknas.__version__
    assert manifest["estimator"] == "NASClassifier"
    assert manifest["search_space"]["name"] == "mlp"
    assert manifest["search_space"]["params"]["max_layers"] == MLPSpace().max_layers
    assert manifest["classes"]["values"] == ["setosa", "versicolor", "virginica"]
    assert manifest["n_outputs"] == 3 and manifest["n_features_in"] == 4
    assert manifest["architecture"]["params"] == model.best_params_
    assert manifest["preprocessing"]["missing_values"] == "error"
    assert set(state) == set(model.best_estimator_.module_.state_dict())


def test_custom_search_space_is_passed_not_imported(tmp_path):
    X, y = load_iris(return_X_y=True)

    class TwoLayers(MLPSpace):
        pass

    model = NASClassifier(search_space=TwoLayers(max_layers=2), **TINY).fit(X, y)
    path = model.save(tmp_path / "custom.sknas")
    with pytest.raises(ModelFileError, match="custom search space.*search_space="):
        sknas.load(path)
    loaded = sknas.load(path, search_space=TwoLayers(max_layers=2))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_pickle_keeps_working(frame_model):
    model, frame = frame_model
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(frame), model.predict_proba(frame))


def test_load_leaves_global_rng_alone(iris_model, tmp_path):
    model, _ = iris_model
    path = model.save(tmp_path / "m.sknas")
    before = torch.get_rng_state()
    np_before = np.random.get_state()[1].copy()  # noqa: NPY002
    sknas.load(path)
    assert torch.equal(before, torch.get_rng_state())
    np.testing.assert_array_equal(np_before, np.random.get_state()[1])  # noqa: NPY002


def test_save_needs_a_refit_model(tmp_path):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(NotFittedError):
        NASClassifier(**TINY).save(tmp_path / "m.sknas")
    no_refit = NASClassifier(refit=False, **TINY).fit(X, y)
    with pytest.raises(NotFittedError, match="refit=False"):
        no_refit.save(tmp_path / "m.sknas")


# -- corrupt and foreign files -----------------------------------------------------------
def _rewrite(path, *, manifest=None, weights=None, drop=()):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if manifest is not None:
        members["model.json"] = manifest(json.loads(members["model.json"]))
        if not isinstance(members["model.json"], bytes):
            members["model.json"] = json.dumps(members["model.json"]).encode()
    if weights is not None:
        members["weights.pt"] = weights
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name not in drop:
                archive.writestr(name, data)


@pytest.fixture
def saved(iris_model, tmp_path):
    model, _ = iris_model
    return model.save(tmp_path / "m.sknas")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.sknas"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(ModelFileError, match="not an sknas model file \\(not a zip archive\\)"):
        sknas.load(path)


def test_a_pickle_is_refused(tmp_path, iris_model):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(iris_model[0]))
    with pytest.raises(ModelFileError, match="not a zip archive"):
        sknas.load(path)


def test_truncated_file(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        sknas.load(saved)


def test_foreign_zip(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelFileError, match="lacks model.json and weights.pt"):
        sknas.load(path)


def test_missing_format_marker(saved):
    _rewrite(saved, manifest=lambda m: {**m, "format": "keras"})
    with pytest.raises(ModelFileError, match="format marker"):
        sknas.load(saved)


def test_newer_format_version(saved):
    _rewrite(saved, manifest=lambda m: {**m, "format_version": 99})
    with pytest.raises(ModelFileError, match="format version 99.*Upgrade sknas"):
        sknas.load(saved)


def test_invalid_json(saved):
    _rewrite(saved, manifest=lambda m: b"{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        sknas.load(saved)


def test_incomplete_description(saved):
    _rewrite(saved, manifest=lambda m: {k: v for k, v in m.items() if k != "n_outputs"})
    with pytest.raises(ModelFileError, match="incomplete or invalid.*n_outputs"):
        sknas.load(saved)


def _widen(manifest, *, update_key: bool):
    params = manifest["architecture"]["params"]
    params["units_0"] = 16 if params["units_0"] != 16 else 32
    if update_key:
        manifest["architecture"]["key"] = MLPSpace().decode(params).key()
    return manifest


def test_architecture_that_the_space_does_not_build(saved):
    _rewrite(saved, manifest=lambda m: _widen(m, update_key=False))
    with pytest.raises(ModelFileError, match="the space differs"):
        sknas.load(saved)


def test_architecture_that_does_not_match_the_weights(saved):
    _rewrite(saved, manifest=lambda m: _widen(m, update_key=True))
    with pytest.raises(ModelFileError, match="weights do not fit the described network"):
        sknas.load(saved)


def test_weights_that_do_not_fit(saved):
    buffer = io.BytesIO()
    torch.save({"inner.weight": torch.zeros(3)}, buffer)
    _rewrite(saved, weights=buffer.getvalue())
    with pytest.raises(ModelFileError, match="weights do not fit the described network"):
        sknas.load(saved)


class _Payload:
    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Payload.ran = True
    return {}


def test_code_in_the_weights_is_never_run(saved):
    buffer = io.BytesIO()
    torch.save({"x": _Payload()}, buffer)
    _rewrite(saved, weights=buffer.getvalue())
    with pytest.raises(ModelFileError, match="weights cannot be read"):
        sknas.load(saved)
    assert not _Payload.ran


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        sknas.load(tmp_path / "absent.sknas")


def test_image_model_round_trip(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    from sknas.spaces import NB201Space

    images = X.reshape(-1, 1, 8, 8)[:60]
    space = NB201Space(cells_per_stage=1, channels=4)
    model = NASClassifier(search_space=space, n_trials=1, max_epochs=1, random_state=0,
                          device="cpu")
    model.fit(images, y[:60])
    loaded, path = _roundtrip(model, tmp_path)
    assert loaded.image_shape_ == model.image_shape_ == (1, 8, 8)
    assert type(loaded.search_space_) is type(model.search_space_)
    np.testing.assert_array_equal(loaded.predict_proba(images), model.predict_proba(images))
    with pytest.raises(ValueError, match="images of shape"):
        loaded.predict(images[:, :, :4, :4])
