"""``preprocessor_`` is scikit-learn's own transformers: categories match by value
whatever their dtype at predict, the fitted object holds only known types, and
class labels that cannot be classes are refused with a message saying why."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer

from sknas import NASClassifier, NASRegressor
from sknas.utils.preprocessing import PREPROCESSING_TYPES, fit_transform_table, transform_table

TINY = dict(n_trials=1, max_epochs=2, random_state=0, device="cpu")


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a candidate starts training."""
    from sknas.evaluation.training import TrainingEvaluator

    def refuse(*args, **kwargs):
        raise AssertionError("training started although the input is invalid")

    monkeypatch.setattr(TrainingEvaluator, "build_net", refuse)


def _coded_frame(n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    code = rng.integers(1, 3, size=n)
    frame = pd.DataFrame({"x": rng.normal(size=n), "code": pd.Categorical(code)})
    return frame, (code == 2).astype(int)


# -- categories by value ---------------------------------------------------------------
@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda c: c.astype(float), id="float"),
        pytest.param(lambda c: c.astype(int), id="int"),
        pytest.param(lambda c: c.astype(int).astype(object), id="object-int"),
        pytest.param(lambda c: c.astype(float).astype(object), id="object-float"),
        pytest.param(lambda c: c.astype(float).astype("category"), id="category-float"),
    ],
)
def test_integer_coded_categories_match_by_value_at_predict(convert):
    frame, y = _coded_frame()
    clf = NASClassifier(**TINY).fit(frame, y)
    moved = frame.assign(code=convert(frame["code"].astype(int)))
    np.testing.assert_array_equal(
        transform_table(clf.preprocessor_, moved), transform_table(clf.preprocessor_, frame)
    )
    np.testing.assert_array_equal(clf.predict_proba(moved), clf.predict_proba(frame))


def test_string_categories_match_whatever_the_dtype():
    frame = pd.DataFrame({"c": pd.Categorical(["b", "a", "b", "c"])})
    pre, encoded = fit_transform_table(frame)
    np.testing.assert_array_equal(encoded, [[0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    for column in (frame["c"].astype(object), frame["c"].astype("string")):
        np.testing.assert_array_equal(transform_table(pre, frame.assign(c=column)), encoded)


def test_unseen_category_still_encodes_as_zeros():
    frame, _ = _coded_frame()
    pre, _ = fit_transform_table(frame)
    unseen = transform_table(pre, pd.DataFrame({"x": [0.0, 0.0], "code": [3.0, 1.0]}))
    names = pre.get_feature_names_out().tolist()
    assert names == ["x", "code_1", "code_2"]
    np.testing.assert_array_equal(unseen[:, 1:], [[0, 0], [1, 0]])


# -- the fitted object -----------------------------------------------------------------
def _messy_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [31.0, np.nan, 45.0, 52.0, 23.0, 38.0],
            "colour": pd.Categorical(["red", "blue", None, "red", "blue", "red"]),
            "code": pd.Categorical([1, 2, 2, None, 1, 1]),
            "city": np.array(["rome", None, "paris", "rome", "paris", "rome"], dtype=object),
            "name": pd.array(["a", "b", None, "a", "b", "a"], dtype="string"),
            "count": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),
        }
    )


def _types_in(data: bytes) -> set[str]:
    """Every type named in a skops file's schema."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "__module__" in node and "__class__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def test_fitted_preprocessor_holds_only_the_listed_types():
    frame = _messy_frame()
    pre, encoded = fit_transform_table(frame, "impute")
    data = skops.io.dumps(pre)
    # Every listed type but the sequence scaler, which only sequence models hold.
    sequence_types = {"sknas.utils.sequences.SequenceScaler"}
    assert _types_in(data) == set(PREPROCESSING_TYPES) - sequence_types
    assert set(skops.io.get_untrusted_types(data=data)) == {
        "numpy.dtype", "sknas.utils.preprocessing.categories_as_objects"
    }
    again = skops.io.loads(data, trusted=list(PREPROCESSING_TYPES))
    np.testing.assert_array_equal(transform_table(again, frame, "impute"), encoded)
    numeric_only, _ = fit_transform_table(np.arange(12.0).reshape(6, 2))
    assert _types_in(skops.io.dumps(numeric_only)) <= set(PREPROCESSING_TYPES)


def test_fitted_sequence_scaler_holds_only_listed_types():
    from sknas.utils.sequences import SequenceScaler

    X = np.random.default_rng(0).normal(size=(6, 4 * 2))
    scaler = SequenceScaler(4, 2).fit(X)
    data = skops.io.dumps(scaler)
    assert "sknas.utils.sequences.SequenceScaler" in _types_in(data)
    assert _types_in(data) <= set(PREPROCESSING_TYPES)
    again = skops.io.loads(data, trusted=list(PREPROCESSING_TYPES))
    np.testing.assert_array_equal(again.transform(X), scaler.transform(X))


def test_preprocessor_is_scikit_learns_column_transformer():
    frame = _messy_frame()
    y = np.array([0, 1, 0, 1, 0, 1])
    clf = NASClassifier(**{**TINY, "missing_values": "impute"}).fit(frame, y)
    pre = clf.preprocessor_
    assert isinstance(pre, ColumnTransformer)
    steps = [step for _, pipeline, _ in pre.transformers_ for _, step in pipeline.steps]
    assert {type(step).__module__.split(".")[0] for step in steps} == {"sklearn"}
    assert isinstance(clone(pre), BaseEstimator)
    assert pre.get_feature_names_out().tolist() == [
        "age", "count", "colour_blue", "colour_red", "colour_nan", "code_1", "code_2",
        "code_nan", "city_paris", "city_rome", "city_nan", "name_a", "name_b", "name_nan",
    ]


# -- class labels ----------------------------------------------------------------------
@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(6, 2))


@pytest.mark.parametrize(
    "y",
    [
        np.array(["a", 1, "b", 1, "a", "b"], dtype=object),
        pd.Series(["a", 1, "b", 1, "a", "b"]),
    ],
)
def test_labels_mixing_int_and_str_are_refused(X, y, no_training):
    with pytest.raises(ValueError, match=r"mixes class labels of several types: number \(1\), "
                                         r"str \('a'\).*astype\(str\)"):
        NASClassifier(**TINY).fit(X, y)


@pytest.mark.parametrize(
    "y",
    [
        np.array(["a", None, "b", "a", "b", "a"], dtype=object),
        pd.Series([1, None, 2, "a", 1, 2]),
        pd.Series(["a", "b", pd.NA, "a", "b", "a"], dtype="string"),
    ],
)
def test_missing_labels_are_refused(X, y, no_training):
    with pytest.raises(ValueError, match=r"1 missing class labels \(None or NaN\), first at "
                                         r"row [12]\. Every sample needs a label"):
        NASClassifier(**TINY).fit(X, y)


def test_regressor_targets_stay_float64(X):
    reg = NASRegressor(**TINY)
    y, n_outputs = reg._validate_targets(1e10 + np.arange(6.0))
    assert y.dtype == np.float64 and n_outputs == 1
    np.testing.assert_array_equal(y.ravel() - 1e10, np.arange(6.0))


def test_labels_mixing_types_in_a_list_are_refused(X, no_training):
    with pytest.raises(ValueError, match="mixes class labels of several types"):
        NASClassifier(**TINY).fit(X, ["a", 1, "b", 1, "a", "b"])
