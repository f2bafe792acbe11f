"""From what a user passes as ``X`` to the float32 matrix a network trains on.

Three steps, all run inside the estimators:

1. :func:`validate_table` checks the input with scikit-learn's
   ``validate_data`` (shape, number of samples and features, feature names,
   targets) and returns either a numeric ndarray (missing values still NaN) or,
   for a pandas DataFrame, the DataFrame itself, whose columns keep their own
   types. Sparse matrices are accepted and made dense when the dense matrix
   fits in :data:`MAX_DENSE_BYTES`.
2. :func:`make_preprocessor` builds the preprocessing from scikit-learn's own
   transformers: a ``ColumnTransformer`` whose numeric columns go through
   ``SimpleImputer`` (with ``missing_values="impute"``), ``MaxAbsScaler`` and
   ``StandardScaler`` (in float64, so that values of any magnitude keep their
   spread), and whose categorical and string columns (of a DataFrame) are
   one-hot encoded by ``OneHotEncoder(handle_unknown="ignore")``, which matches
   categories by value whatever the column's dtype at predict time (a missing
   value is a category of its own with ``"impute"``).
3. :func:`fit_transform_table` and :func:`transform_table` first check the
   values column by column (missing and infinite values are refused naming the
   column), then apply the preprocessing and cast its standardised output to
   float32.

pandas is never imported here unless the caller passed a DataFrame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.validation import assert_all_finite, validate_data

from sknas.utils._columns import (
    check_values,
    column_kinds,
    column_label,
    column_names,
    is_dataframe,
    missing_mask,
)

__all__ = [
    "MAX_DENSE_BYTES",
    "MISSING_VALUES_OPTIONS",
    "PREPROCESSING_TYPES",
    "categories_as_objects",
    "check_values",
    "column_kinds",
    "fit_transform_table",
    "has_categorical",
    "is_dataframe",
    "make_preprocessor",
    "transform_table",
    "validate_table",
]

#: Largest dense float32 matrix (in bytes) built from sparse or one-hot encoded input.
MAX_DENSE_BYTES = 2 * 1024**3

#: Values of the estimators' ``missing_values`` parameter.
MISSING_VALUES_OPTIONS = ("error", "impute")

#: Every type a fitted preprocessor holds, named as ``skops.io`` names them: pass
#: them as ``trusted`` to :func:`skops.io.loads`. Only the last three are not
#: trusted by skops by default (:func:`skops.io.get_untrusted_types`).
PREPROCESSING_TYPES: tuple[str, ...] = (
    "builtins.dict",
    "builtins.list",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    "numpy.float64",
    "numpy.ndarray",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "numpy.dtype",
    "sknas.utils.preprocessing.categories_as_objects",
    "sknas.utils.sequences.SequenceScaler",
)

_FLOAT32_MAX = float(np.finfo(np.float32).max)
def _check_dense_size(n_samples: int, n_columns: int, what: str) -> None:
    size = n_samples * n_columns * 4
    if size > MAX_DENSE_BYTES:
        raise ValueError(
            f"{what} would need a dense float32 matrix of shape ({n_samples}, {n_columns}) "
            f"({size / 1024**3:.1f} GiB), more than the {MAX_DENSE_BYTES / 1024**3:.0f} GiB "
            "sknas allows. Reduce the number of columns first (e.g. with TruncatedSVD, "
            "feature selection, or fewer categories)."
        )


def _check_target(estimator: Any, y: Any, multi_output: bool) -> np.ndarray:
    """Validate ``y`` like ``validate_data`` does, for inputs checked column by column."""
    if multi_output:
        return check_array(
            y, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name="y",
            estimator=estimator,
        )
    y = column_or_1d(y, warn=True)
    if y.dtype.kind == "c":
        raise ValueError("Complex data not supported in y.")
    assert_all_finite(y, input_name="y", estimator_name=type(estimator).__name__)
    return y


def validate_table(
    estimator: Any,
    X: Any,
    y: Any = "no_validation",
    *,
    reset: bool,
    ensure_min_samples: int = 1,
    multi_output: bool = False,
    keep_objects: bool = False,
) -> tuple[Any, np.ndarray | None]:
    """Check ``X`` (and ``y``) and return them ready for the preprocessing.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator; ``n_features_in_`` and ``feature_names_in_`` are set
        (``reset=True``) or checked (``reset=False``) on it.
    X : array-like, sparse matrix or pandas DataFrame of shape (n_samples, n_features)
        The input.
    y : array-like, optional
        Targets, checked for length, missing and infinite values; by default
        (``"no_validation"``) only ``X`` is checked.
    reset : bool
        True in ``fit``, False when predicting.
    ensure_min_samples : int, default=1
        Fewest samples accepted.
    multi_output : bool, default=False
        Accept a 2-D ``y``.
    keep_objects : bool, default=False
        For input that is not a DataFrame: keep non-numeric values (needed at
        predict time when categorical columns were fitted).

    Returns
    -------
    X : ndarray or DataFrame
        A float ndarray (missing and infinite values kept, for
        :func:`check_values` to name their column), an object ndarray when
        ``keep_objects``, or the DataFrame itself.
    y : ndarray or None
        None when ``y`` was not validated.
    """
    no_y = isinstance(y, str) and y == "no_validation"
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    if is_dataframe(X):
        y_checked = None if no_y else _check_target(estimator, y, multi_output)
        validate_data(estimator, X, "no_validation", reset=reset, skip_check_array=True)
        n_samples, n_features = X.shape
        name = type(estimator).__name__
        if n_samples < ensure_min_samples:
            raise ValueError(
                f"Found array with {n_samples} sample(s) (shape={X.shape}) while a minimum "
                f"of {ensure_min_samples} is required by {name}."
            )
        if n_features < 1:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {name}."
            )
        if y_checked is not None:
            check_consistent_length(X, y_checked)
        return X, y_checked

    params: dict[str, Any] = {
        "reset": reset,
        "accept_sparse": False if keep_objects else ["csr", "csc", "coo"],
        "dtype": None if keep_objects else [np.float64, np.float32],
        # Missing and infinite values are refused (or imputed) column by column
        # below, with the column's name in the message.
        "ensure_all_finite": False,
        "ensure_min_samples": ensure_min_samples,
    }
    try:
        if no_y:
            X_checked = validate_data(estimator, X, **params)
            y_checked = None
        else:
            X_checked, y_checked = validate_data(
                estimator, X, y, multi_output=multi_output, **params
            )
    except ValueError as exc:
        if "could not convert" not in str(exc):
            raise
        raise ValueError(
            f"X contains values that are not numbers ({exc}). sknas one-hot encodes "
            "categorical and string columns only when X is a pandas DataFrame; encode them "
            "first or pass a DataFrame."
        ) from exc
    if hasattr(X_checked, "toarray"):
        _check_dense_size(X_checked.shape[0], X_checked.shape[1], "Sparse input X")
        X_checked = X_checked.toarray()
    return X_checked, y_checked


# -- the scikit-learn preprocessing ----------------------------------------------------
def categories_as_objects(X: Any) -> np.ndarray:
    """Categorical columns as an object array whose missing values are all ``np.nan``.

    ``OneHotEncoder`` then compares the values themselves (``1 == 1.0``), and
    pandas' missing markers (``None``, ``pd.NA``) become one category.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_columns)

    Returns
    -------
    ndarray of shape (n_samples, n_columns), dtype object
    """
    values = X.to_numpy(dtype=object) if hasattr(X, "to_numpy") else np.asarray(X, dtype=object)
    values = np.array(values, dtype=object)
    values[missing_mask(values)] = np.nan
    return values


def make_preprocessor(kinds: list[str], missing_values: str = "error") -> Any:
    """The (unfitted) scikit-learn preprocessing of a table whose columns have ``kinds``.

    Parameters
    ----------
    kinds : list of str
        ``"numeric"`` or ``"categorical"`` per column (:func:`column_kinds`).
    missing_values : {"error", "impute"}, default="error"
        With ``"impute"``, numeric columns are filled with their training mean
        (0 when a column has no value at all) and a categorical column's missing
        values are a category of their own. With ``"error"`` missing values are
        refused before the preprocessing runs (:func:`check_values`).

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Numeric columns first (``[SimpleImputer] -> MaxAbsScaler ->
        StandardScaler``, in float64), then the one-hot encoded categorical
        columns; its output may be sparse when categorical columns exist.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        MaxAbsScaler,
        OneHotEncoder,
        StandardScaler,
    )

    if missing_values not in MISSING_VALUES_OPTIONS:
        raise ValueError(
            f"missing_values must be one of {list(MISSING_VALUES_OPTIONS)}; "
            f"got {missing_values!r}."
        )
    numeric = [j for j, kind in enumerate(kinds) if kind == "numeric"]
    categorical = [j for j, kind in enumerate(kinds) if kind == "categorical"]
    # Dividing by the largest magnitude first keeps the variance of values far
    # from zero (or huge) representable; StandardScaler's test for constant
    # columns is relative to the data.
    scaling: list[Any] = [MaxAbsScaler(), StandardScaler()]
    if missing_values == "impute":
        scaling.insert(0, SimpleImputer(strategy="mean", keep_empty_features=True))
    transformers: list[tuple[str, Any, list[int]]] = []
    if numeric:
        transformers.append(("numeric", make_pipeline(*scaling), numeric))
    if categorical:
        encoder = make_pipeline(
            FunctionTransformer(categories_as_objects, feature_names_out="one-to-one"),
            OneHotEncoder(handle_unknown="ignore"),
        )
        transformers.append(("categorical", encoder, categorical))
    return ColumnTransformer(transformers, sparse_threshold=1.0, verbose_feature_names_out=False)


def _fitted_kinds(preprocessor: Any) -> list[str]:
    kinds = [""] * preprocessor.n_features_in_
    for name, _, columns in preprocessor.transformers_:
        for j in columns:
            kinds[j] = name
    return kinds


def _encode(preprocessor: Any, X: Any, kinds: list[str], *, fit: bool) -> np.ndarray:
    if fit:
        Z = preprocessor.fit_transform(X)
    else:
        Z = preprocessor.transform(X)
    n_out = Z.shape[1]
    if hasattr(Z, "toarray"):
        _check_dense_size(Z.shape[0], n_out, "Encoding X")
        Z = Z.toarray()
    Z = np.asarray(Z, dtype=np.float64)
    # Standardised training values stay within sqrt(n_samples); a value that does not
    # fit in float32 once standardised is far outside the training range.
    numeric = [j for j, kind in enumerate(kinds) if kind == "numeric"]
    with np.errstate(invalid="ignore"):
        too_large = np.abs(Z[:, : len(numeric)]) > _FLOAT32_MAX
    if too_large.any():
        k = int(np.flatnonzero(too_large.any(axis=0))[0])
        j = numeric[k]
        raise ValueError(
            f"Input X {column_label(column_names(X)[j], j)} holds values so far outside the "
            "range seen in fit that, standardised, they exceed float32's range "
            f"({int(too_large[:, k].sum())} of {len(Z)} rows)."
        )
    return Z.astype(np.float32)


def fit_transform_table(X: Any, missing_values: str = "error") -> tuple[Any, np.ndarray]:
    """Build and fit the preprocessing on a validated table; return it and the encoded ``X``.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
        Output of :func:`validate_table`.
    missing_values : {"error", "impute"}, default="error"
        See :func:`make_preprocessor`.

    Returns
    -------
    preprocessor : sklearn.compose.ColumnTransformer
        Fitted.
    X_encoded : ndarray of shape (n_samples, n_features_out), float32
    """
    kinds = column_kinds(X)
    preprocessor = make_preprocessor(kinds, missing_values)
    check_values(X, kinds, impute=missing_values == "impute")
    return preprocessor, _encode(preprocessor, X, kinds, fit=True)


def transform_table(preprocessor: Any, X: Any, missing_values: str = "error") -> np.ndarray:
    """Encode a validated table with the fitted preprocessing, as float32.

    Parameters
    ----------
    preprocessor : sklearn.compose.ColumnTransformer
        Fitted by :func:`fit_transform_table`.
    X : ndarray or DataFrame of shape (n_samples, n_features)
        Output of :func:`validate_table`.
    missing_values : {"error", "impute"}, default="error"
        As in ``fit``.

    Returns
    -------
    ndarray of shape (n_samples, n_features_out), float32
    """
    kinds = _fitted_kinds(preprocessor)
    names = getattr(preprocessor, "feature_names_in_", None)
    if names is not None and not is_dataframe(X):
        # Fitted on a DataFrame: give the array its columns' names back, so that each
        # column goes to its transformer without a warning from every one of them.
        import pandas as pd

        X = pd.DataFrame(X, columns=names)
    check_values(X, kinds, impute=missing_values == "impute")
    return _encode(preprocessor, X, kinds, fit=False)


def has_categorical(preprocessor: Any) -> bool:
    """True when the fitted preprocessing one-hot encodes some column."""
    return "categorical" in _fitted_kinds(preprocessor)
