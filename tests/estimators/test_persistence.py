"""Model files: weights plus a JSON description, loaded without unpickling code."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from sklearn.datasets import load_iris, load_linnerud
from sklearn.exceptions import NotFittedError

import sknas
from sknas import ModelFileError, NASClassifier, NASRegressor
from sknas._model_file import LIMITS, _manifest_digest
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
    environment = {"storage", "study_name", "device", "n_jobs", "n_threads", "verbose"}
    defaults = NASClassifier().get_params()
    expected = {name: defaults[name] if name in environment else value
                for name, value in model.get_params().items()}
    assert loaded.get_params() == expected
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
        assert set(archive.namelist()) == {"model.json", "weights.pt", "preprocessor.skops"}
        manifest = json.loads(archive.read("model.json"))
        state = torch.load(io.BytesIO(archive.read("weights.pt")), weights_only=True)
        preprocessing = archive.read("preprocessor.skops")
    assert manifest["format"] == "sknas-model" and manifest["format_version"] == 2
    from sknas.utils.preprocessing import PREPROCESSING_TYPES

    assert set(skops.io.get_untrusted_types(data=preprocessing)) <= set(PREPROCESSING_TYPES)
    assert manifest["sknas_version"] == sknas.__version__
    assert manifest["estimator"] == "NASClassifier"
    assert manifest["search_space"]["name"] == "mlp"
    assert manifest["search_space"]["params"]["max_layers"] == MLPSpace().max_layers
    assert manifest["classes"]["values"] == ["setosa", "versicolor", "virginica"]
    assert manifest["n_outputs"] == 3 and manifest["n_features_in"] == 4
    assert manifest["architecture"]["params"] == model.best_params_
    assert manifest["network"]["n_parameters"] == sum(t.numel() for t in state.values())
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
def _reseal(manifest, members):
    """Recompute the digests, as a careful editor of the file would."""
    manifest["digests"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()
                           if n != "model.json"}
    manifest["digests"]["model.json"] = _manifest_digest(manifest)
    return manifest


def _rewrite(path, *, manifest=None, weights=None, preprocessor=None, drop=(), reseal=True):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if weights is not None:
        members["weights.pt"] = weights
    if preprocessor is not None:
        members["preprocessor.skops"] = preprocessor
    described = json.loads(members["model.json"])
    if manifest is not None:
        described = manifest(described)
    if isinstance(described, dict):
        if reseal:
            described = _reseal(described, members)
        described = json.dumps(described).encode()
    members["model.json"] = described
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
    with pytest.raises(ModelFileError, match="lacks model.json and weights.pt and preprocessor"):
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


# -- what a model file may not carry, and what an edited one cannot do ---------------------
def test_environment_settings_never_enter_the_file(tmp_path):
    X, y = load_iris(return_X_y=True)
    url = f"sqlite:///{tmp_path}/search.db"
    model = NASClassifier(storage=url, study_name="secret-study", verbose=0, **TINY).fit(X, y)
    path = model.save(tmp_path / "m.sknas")
    raw = b"".join(zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist())
    assert b"search.db" not in raw and b"secret-study" not in raw
    loaded = sknas.load(path)
    assert loaded.storage is None and loaded.study_name is None and loaded.device == "auto"


def test_a_storage_written_into_the_file_is_ignored(saved):
    def add_storage(manifest):
        manifest["params"].update(storage="postgresql://alice:pw@db/x", study_name="s", n_jobs=4)
        return manifest

    _rewrite(saved, manifest=add_storage)
    loaded = sknas.load(saved)
    assert loaded.storage is None and loaded.study_name is None and loaded.n_jobs == 1


def test_an_edit_without_new_digests_is_refused(saved):
    _rewrite(saved, manifest=lambda m: {**m, "best_score": 0.5}, reseal=False)
    with pytest.raises(ModelFileError, match="modified after it was written: model.json"):
        sknas.load(saved)


def test_swapped_weights_are_refused(saved, iris_model, tmp_path):
    other = NASClassifier(**{**TINY, "random_state": 1}).fit(*load_iris(return_X_y=True))
    other_path = other.save(tmp_path / "other.sknas")
    weights = zipfile.ZipFile(other_path).read("weights.pt")
    _rewrite(saved, weights=weights, reseal=False)
    with pytest.raises(ModelFileError, match="modified after it was written: weights.pt"):
        sknas.load(saved)


def test_a_padded_manifest_is_refused_before_it_is_read(saved, monkeypatch):
    _rewrite(saved, manifest=lambda m: json.dumps(m).encode() + b" " * 5000, reseal=False)
    monkeypatch.setitem(LIMITS, "manifest_bytes", 4000)
    with pytest.raises(ModelFileError, match="model.json is .* bytes, more than the 4000"):
        sknas.load(saved)


def test_a_huge_described_network_is_refused_before_allocation(saved):
    def widen(manifest):
        params = manifest["architecture"]["params"]
        params.update(n_layers=3, units_0=20000, units_1=20000, units_2=20000)
        manifest["search_space"]["params"]["widths"] = [16, 20000]
        manifest["architecture"]["key"] = MLPSpace(widths=(16, 20000)).decode(params).key()
        return manifest

    _rewrite(saved, manifest=widen)
    # The shape check on the meta device names the shapes; torch's own loading
    # (which would need the allocated network) says "size mismatch" instead.
    with pytest.raises(ModelFileError, match="weights do not fit.*other shapes"):
        sknas.load(saved)


def test_parameter_limit(saved, monkeypatch):
    monkeypatch.setitem(LIMITS, "parameters", 10)
    with pytest.raises(ModelFileError, match="parameters, more than the 10"):
        sknas.load(saved)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: {**m, "n_features_in": 5}, "preprocessing reads 4 features, its description 5"),
        (lambda m: {**m, "classes": {**m["classes"], "values": list("abcde")}},
         "5 classes for a network of 3 outputs"),
        (lambda m: {**m, "estimator": "NASRegressor"},
         "describes a classification network, but a NASRegressor"),
        (lambda m: {**m, "classes": {**m["classes"],
                                     "values": ["versicolor", "setosa", "virginica"]}},
         "classes are not sorted"),
        (lambda m: {**m, "estimator": "Pipeline"}, "unknown estimator 'Pipeline'"),
        (lambda m: {**m, "network": {**m["network"], "n_inputs": 7}}, "input width"),
        (lambda m: {**m, "network": {**m["network"], "dtype": "float16"}}, "dtype 'float16'"),
    ],
    ids=["features", "classes", "relabelled", "swapped", "foreign", "inputs", "dtype"],
)
def test_inconsistent_fields_are_refused(saved, edit, message):
    _rewrite(saved, manifest=edit)
    with pytest.raises(ModelFileError, match=message):
        sknas.load(saved)


def test_foreign_types_in_the_preprocessing_are_refused(saved):
    from sklearn.linear_model import LogisticRegression

    _rewrite(saved, preprocessor=skops.io.dumps(LogisticRegression()))
    with pytest.raises(ModelFileError, match="LogisticRegression, not a fitted transformer"):
        sknas.load(saved)


def test_fitted_state_round_trips_through_the_estimator(iris_model):
    model, X = iris_model
    state = model._get_fitted_state()
    copy = NASClassifier(**TINY)._set_fitted_state(state)
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="missing \\['classes_'\\]"):
        NASClassifier()._set_fitted_state({k: v for k, v in state.items() if k != "classes_"})
    with pytest.raises(ValueError, match="unknown \\['intruder_'\\]"):
        NASClassifier()._set_fitted_state({**state, "intruder_": 1})


class _Unlisted:
    def transform(self, X):
        return X


def test_untrusted_types_in_the_preprocessing_are_never_built(saved):
    _rewrite(saved, preprocessor=skops.io.dumps(_Unlisted()))
    with pytest.raises(ModelFileError, match="types that sknas does not load.*_Unlisted"):
        sknas.load(saved)
