"""Bad input is refused before any training, with a message naming what is wrong;
DataFrames with categorical columns and missing values are encoded inside the estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import sknas.utils.preprocessing as preprocessing
from sknas import NASClassifier, NASRegressor
from sknas.utils.preprocessing import PREPROCESSING_TYPES, fit_transform_table, transform_table

TINY = dict(n_trials=1, max_epochs=2, random_state=0, device="cpu")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    return X, y


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a candidate starts training."""
    from sknas.evaluation.training import TrainingEvaluator

    def refuse(*args, **kwargs):
        raise AssertionError("training started although the input is invalid")

    monkeypatch.setattr(TrainingEvaluator, "build_net", refuse)


# -- X -------------------------------------------------------------------------------
def test_nan_in_X_is_refused_naming_the_column(data, no_training):
    X, y = data
    X = X.copy()
    X[[2, 5], 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*column 1: 2 of 30 rows.*missing_values='impute'"):
        NASClassifier(**TINY).fit(X, y)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_X_is_refused_naming_the_column(data, value, no_training):
    X, y = data
    X = X.copy()
    X[3, 2] = value
    with pytest.raises(ValueError, match=r"infinity in column 2: 1 of 30 rows"):
        NASClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"infinity in column 2: 1 of 30 rows"):
        NASClassifier(**{**TINY, "missing_values": "impute"}).fit(X, y)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"infinity in column 'c': 1 of 30 rows"):
        NASClassifier(**TINY).fit(frame, y)


@pytest.mark.parametrize(
    "cell, value, match",
    [
        ((1, 0), np.nan, r"NaN.*column 0"),
        ((2, 1), np.inf, r"infinity in column 1: 1 of 4 rows"),
        ((0, 0), 1e300, r"column 0 holds values so far outside the range"),
    ],
)
def test_bad_values_at_predict_are_refused_naming_the_column(data, cell, value, match):
    X, y = data
    clf = NASClassifier(**TINY).fit(X, y)
    X_new = X[:4].copy()
    X_new[cell] = value
    with pytest.raises(ValueError, match=match):
        clf.predict(X_new)


def test_impute_fills_training_means(data):
    X, y = data
    X = X.copy()
    X[[0, 1], 2] = np.nan
    clf = NASClassifier(**{**TINY, "missing_values": "impute"}).fit(X, y)
    means = np.nanmean(X, axis=0)
    fills = clf.preprocessor_.named_transformers_["numeric"]["simpleimputer"].statistics_
    np.testing.assert_allclose(fills, means)
    X_new = X[2:6].copy()
    X_filled = X_new.copy()
    X_new[:, 2] = np.nan
    X_filled[:, 2] = fills[2]
    np.testing.assert_array_equal(clf.predict_proba(X_new), clf.predict_proba(X_filled))
    assert clf.__sklearn_tags__().input_tags.allow_nan
    assert not NASClassifier().__sklearn_tags__().input_tags.allow_nan


@pytest.mark.parametrize(
    "shape, match",
    [((0, 3), "0 sample"), ((1, 3), "1 sample"), ((10, 0), "0 feature")],
)
def test_empty_or_too_small_X(shape, match, no_training):
    X = np.zeros(shape)
    y = np.arange(shape[0]) % 2
    with pytest.raises(ValueError, match=match):
        NASClassifier(**TINY).fit(X, y)


def test_one_dimensional_X(no_training):
    with pytest.raises(ValueError, match="Expected 2D array"):
        NASRegressor(**TINY).fit(np.arange(10.0), np.arange(10.0))


def test_mismatched_lengths(data, no_training):
    X, y = data
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 29\]"):
        NASClassifier(**TINY).fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 29\]"):
        NASClassifier(**TINY).fit(pd.DataFrame(X, columns=list("abc")), y[:-1])


def test_wrong_number_of_features_at_predict(data):
    X, y = data
    clf = NASClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but NASClassifier is expecting 3"):
        clf.predict(X[:, :2])


def test_strings_in_an_array_are_refused(data, no_training):
    X, y = data
    X_obj = X.astype(object)
    X_obj[4, 1] = "abc"
    with pytest.raises(ValueError, match="not numbers.*'abc'.*DataFrame"):
        NASClassifier(**TINY).fit(X_obj, y)


def test_numbers_as_objects_are_accepted(data):
    X, y = data
    clf = NASClassifier(**TINY).fit(X.astype(object), y)
    assert clf.predict(X.astype(object)).shape == (30,)


def test_complex_X_is_refused(data, no_training):
    X, y = data
    with pytest.raises(ValueError, match="Complex data not supported"):
        NASClassifier(**TINY).fit(X + 1j, y)


# -- sparse --------------------------------------------------------------------------
def test_sparse_input_is_made_dense(data):
    X, y = data
    dense = NASClassifier(**TINY).fit(X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix, sp.coo_array):
        sparse = NASClassifier(**TINY).fit(fmt(X), y)
        np.testing.assert_array_equal(sparse.predict_proba(fmt(X)), dense.predict_proba(X))
        np.testing.assert_array_equal(sparse.predict_proba(X), dense.predict_proba(X))


def test_sparse_input_too_large_to_densify(data, monkeypatch, no_training):
    X, y = data
    monkeypatch.setattr(preprocessing, "MAX_DENSE_BYTES", 100)
    with pytest.raises(ValueError, match=r"Sparse input X would need a dense float32 matrix of "
                                         r"shape \(30, 3\)"):
        NASClassifier(**TINY).fit(sp.csr_matrix(X), y)


# -- y -------------------------------------------------------------------------------
def test_single_class(data, no_training):
    X, _ = data
    with pytest.raises(ValueError, match="only one class.*'a'"):
        NASClassifier(**TINY).fit(X, ["a"] * 30)


def test_continuous_target_for_classifier(data, no_training):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        NASClassifier(**TINY).fit(X, np.linspace(0, 1, 30))


def test_string_target_for_regressor(data, no_training):
    X, _ = data
    with pytest.raises(ValueError, match="numeric targets.*NASClassifier"):
        NASRegressor(**TINY).fit(X, ["low", "high"] * 15)


@pytest.mark.parametrize("estimator", [NASClassifier, NASRegressor])
def test_nan_in_y(data, estimator, no_training):
    X, y = data
    y = y.astype(float)
    y[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        estimator(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        estimator(**TINY).fit(pd.DataFrame(X, columns=list("abc")), y)


def test_y_none(data, no_training):
    X, _ = data
    with pytest.raises(ValueError, match="requires y to be passed"):
        NASRegressor(**TINY).fit(X, None)
    with pytest.raises(ValueError, match="requires y to be passed"):
        NASRegressor(**TINY).fit(pd.DataFrame(X), None)


# -- parameters ----------------------------------------------------------------------
BAD_PARAMS = [
    ("search_space", 3, "'search_space' parameter.*Got 3"),
    ("search_space", "resnet", "(?=.*'mlp')(?=.*'nb201')'search_space' parameter.*Got 'resnet'"),
    ("strategy", "genetic", "(?=.*'random')(?=.*'tpe')'strategy' parameter.*Got 'genetic'"),
    ("strategy", 1.5, "'strategy' parameter"),
    ("n_trials", 0, r"'n_trials' parameter.*range \[1, inf\).*Got 0"),
    ("n_trials", "10", "'n_trials' parameter.*Got '10'"),
    ("timeout", 0, r"'timeout' parameter.*range \(0.0, inf\)"),
    ("timeout", "1", "'timeout' parameter"),
    ("max_epochs", 0, "'max_epochs' parameter"),
    ("max_epochs", 2.5, "'max_epochs' parameter"),
    ("patience", 0, "'patience' parameter"),
    ("scoring", "nope", "'scoring' parameter.*'accuracy'"),
    ("scoring", 3, "'scoring' parameter"),
    ("validation_fraction", 0.0, r"'validation_fraction' parameter.*\(0.0, 1.0\)"),
    ("validation_fraction", 1.0, "'validation_fraction' parameter"),
    ("validation_fraction", "0.2", "'validation_fraction' parameter"),
    ("cv", 1, "'cv' parameter"),
    ("cv", "five", "'cv' parameter"),
    ("refit", "yes", "'refit' parameter"),
    ("pruner", "successive-halving", "'pruner' parameter.*'auto'"),
    ("error_score", "ignore", "'error_score' parameter.*'raise'"),
    ("missing_values", "drop", "(?=.*'error')(?=.*'impute')'missing_values' parameter.*Got 'drop'"),
    ("missing_values", 0, "'missing_values' parameter"),
    ("max_parameters", 0, r"'max_parameters' parameter.*range \[1, inf\)"),
    ("max_parameters", 1.5, "'max_parameters' parameter"),
    ("candidate_timeout", 0, r"'candidate_timeout' parameter.*range \(0.0, inf\)"),
    ("candidate_timeout", "10", "'candidate_timeout' parameter"),
    ("device", 3, "'device' parameter"),
    ("device", "tpu9", "'device' parameter must be 'auto' or a torch device"),
    ("n_jobs", "two", "'n_jobs' parameter"),
    ("n_jobs", 0, r"'n_jobs' parameter.*Got 0"),
    ("ensemble_size", 0, r"'ensemble_size' parameter.*range \[1, inf\).*Got 0"),
    ("ensemble_size", 2.5, "'ensemble_size' parameter"),
    ("refit_seeds", 0, r"'refit_seeds' parameter.*range \[1, inf\).*Got 0"),
    ("refit_seeds", "2", "'refit_seeds' parameter"),
    ("n_threads", 0, "'n_threads' parameter"),
    ("random_state", "seed", "'random_state' parameter"),
    ("verbose", -1, "'verbose' parameter"),
    ("storage", 3, "'storage' parameter"),
    ("study_name", 3, "'study_name' parameter"),
    ("callbacks", "not a list", "callbacks"),
    ("callbacks", [42], "neither a skorch"),
    ("class_weight", "heavy", "class_weight"),
    ("class_weight", 3, "class_weight"),
    ("objectives", ("latency", "score"), "objectives must start with 'score'"),
    ("objectives", 3, "'objectives' parameter"),
    ("constraints", {"latency": -1}, "constraints must map costs"),
    ("constraints", "fast", "'constraints' parameter"),
    ("latency_batch_size", 0, "'latency_batch_size' parameter"),
]


@pytest.mark.parametrize("name, value, match", BAD_PARAMS)
def test_invalid_parameters_are_named(name, value, match, data, no_training):
    X, y = data
    with pytest.raises((ValueError, TypeError), match=match):
        NASClassifier(**{**TINY, name: value}).fit(X, y)


def test_every_parameter_has_a_bad_value_tested():
    assert {name for name, _, _ in BAD_PARAMS} == set(NASClassifier().get_params(deep=False))


# -- DataFrames ----------------------------------------------------------------------
def _frame(n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size=n)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, size=n),
            "colour": pd.Categorical(colour),
            "city": rng.choice(["paris", "rome"], size=n).astype(object),
            "n_children": rng.integers(0, 4, size=n),
            "member": rng.random(n) > 0.5,
        }
    )
    y = ((colour == "red") | (frame["age"].to_numpy() > 45)).astype(int)
    return frame, y


def test_dataframe_with_categorical_columns_works():
    frame, y = _frame()
    clf = NASClassifier(**TINY).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    assert clf.n_features_in_ == 5
    assert clf.preprocessor_.get_feature_names_out().tolist() == [
        "age", "n_children", "member",
        "colour_blue", "colour_green", "colour_red", "city_paris", "city_rome",
    ]
    assert clf.predict(frame).shape == (40,)
    # An unseen category is encoded as all zeros, not refused.
    new = frame.head(3).astype({"colour": object})
    new.loc[0, "colour"] = "purple"
    assert clf.predict_proba(new).shape == (3, 2)


def test_dataframe_encoding_is_exact():
    import skops.io

    frame = pd.DataFrame({"x": [1.5, 2.0, 3.0], "c": ["b", "a", "b"]})
    pre, encoded = fit_transform_table(frame)
    x = frame["x"].to_numpy()
    z = (x - x.mean()) / x.std()
    expected = np.array([[z[0], 0, 1], [z[1], 1, 0], [z[2], 0, 1]], dtype=np.float32)
    np.testing.assert_allclose(encoded, expected, rtol=1e-6)
    assert encoded.dtype == np.float32
    np.testing.assert_array_equal(transform_table(pre, frame), encoded)
    unseen = pd.DataFrame({"x": [x.mean()], "c": ["z"]})
    np.testing.assert_allclose(transform_table(pre, unseen), [[0.0, 0.0, 0.0]], atol=1e-7)
    # The fitted transformers survive a skops round trip that trusts only the listed types.
    again = skops.io.loads(skops.io.dumps(pre), trusted=list(PREPROCESSING_TYPES))
    np.testing.assert_array_equal(transform_table(again, frame), encoded)


def test_dataframe_missing_values_refused_naming_the_column(no_training):
    frame, y = _frame()
    frame.loc[[1, 7], "city"] = None
    with pytest.raises(ValueError, match=r"NaN.*column 'city': 2 of 40 rows.*impute"):
        NASClassifier(**TINY).fit(frame, y)
    frame, y = _frame()
    frame.loc[3, "age"] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*column 'age': 1 of 40"):
        NASClassifier(**TINY).fit(frame, y)


def test_dataframe_missing_values_imputed():
    frame, y = _frame()
    frame.loc[[1, 7], "city"] = None
    frame.loc[3, "age"] = np.nan
    colour = frame["colour"].astype(object)
    colour[5] = None
    frame["colour"] = colour.astype("category")
    clf = NASClassifier(**{**TINY, "missing_values": "impute"}).fit(frame, y)
    names = clf.preprocessor_.get_feature_names_out().tolist()
    assert "city_nan" in names and "colour_nan" in names
    encoded = transform_table(clf.preprocessor_, frame, "impute")
    city_missing = encoded[:, names.index("city_nan")]
    np.testing.assert_array_equal(np.flatnonzero(city_missing), [1, 7])
    np.testing.assert_array_equal(np.flatnonzero(encoded[:, names.index("colour_nan")]), [5])
    imputer = clf.preprocessor_.named_transformers_["numeric"]["simpleimputer"]
    assert imputer.statistics_[0] == pytest.approx(frame["age"].mean(), rel=1e-12)
    # The missing age is filled with the mean, which standardises to 0.
    age = encoded[:, names.index("age")]
    assert age[3] == pytest.approx(0.0, abs=1e-6)
    assert np.count_nonzero(np.abs(age) < 1e-6) == 1
    assert np.isfinite(clf.predict_proba(frame)).all()


def test_nullable_pandas_dtypes():
    frame = pd.DataFrame(
        {
            "count": pd.array([1, 2, None, 4] * 5, dtype="Int64"),
            "flag": pd.array([True, False, True, None] * 5, dtype="boolean"),
            "name": pd.array(["a", "b", "a", None] * 5, dtype="string"),
        }
    )
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="column 'count'"):
        NASClassifier(**TINY).fit(frame, y)
    clf = NASClassifier(**{**TINY, "missing_values": "impute"}).fit(frame, y)
    assert clf.preprocessor_.get_feature_names_out().tolist() == [
        "count", "flag", "name_a", "name_b", "name_nan"
    ]


def test_dataframe_mixed_object_column_is_refused(no_training):
    frame, y = _frame()
    frame["city"] = frame["city"].astype(object)
    frame.loc[4, "city"] = 12
    with pytest.raises(ValueError, match="column 'city' holds values of several types"):
        NASClassifier(**TINY).fit(frame, y)


def test_dataframe_datetime_column_is_refused(no_training):
    frame, y = _frame()
    frame["when"] = pd.date_range("2020-01-01", periods=40)
    with pytest.raises(ValueError, match="column 'when' has dtype datetime64"):
        NASClassifier(**TINY).fit(frame, y)


def test_dataframe_numbers_column_gets_text_at_predict():
    frame, y = _frame()
    clf = NASClassifier(**TINY).fit(frame, y)
    new = frame.head(2).astype({"age": object})
    new.loc[0, "age"] = "forty"
    with pytest.raises(ValueError, match="column 'age'"):
        clf.predict(new)


def test_dataframe_column_names_must_match():
    frame, y = _frame()
    clf = NASClassifier(**TINY).fit(frame, y)
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(frame.rename(columns={"age": "years"}))


def test_array_at_predict_after_a_categorical_dataframe():
    frame, y = _frame()
    clf = NASClassifier(**TINY).fit(frame, y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = clf.predict_proba(frame.to_numpy(dtype=object))
    np.testing.assert_array_equal(from_array, clf.predict_proba(frame))


def test_dataframe_numeric_only_matches_array(data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    from_frame = NASClassifier(**TINY).fit(frame, y)
    from_array = NASClassifier(**TINY).fit(X, y)
    np.testing.assert_array_equal(from_frame.predict_proba(frame), from_array.predict_proba(X))


def test_dataframe_one_row_and_empty(no_training):
    frame, y = _frame()
    with pytest.raises(ValueError, match="1 sample"):
        NASClassifier(**TINY).fit(frame.head(1), y[:1])
    with pytest.raises(ValueError, match="0 feature"):
        NASClassifier(**TINY).fit(frame[[]], y)


def test_too_many_categories_to_encode(monkeypatch, no_training):
    frame, y = _frame()
    monkeypatch.setattr(preprocessing, "MAX_DENSE_BYTES", 1000)
    with pytest.raises(ValueError, match=r"Encoding X would need a dense float32 matrix"):
        NASClassifier(**TINY).fit(frame, y)
