"""From what a user passes as ``X`` to the float32 matrix a network trains on.

Two steps, both run inside the estimators:

1. :func:`validate_table` checks the input with scikit-learn's
   ``validate_data`` (shape, number of samples and features, feature names,
   infinite values, targets) and returns either a numeric ndarray (missing
   values still NaN) or, for a pandas DataFrame, the DataFrame itself, whose
   columns keep their own types. Sparse matrices are accepted and made dense
   when the dense matrix fits in :data:`MAX_DENSE_BYTES`.
2. :class:`TabularPreprocessor` is fitted on that table: numeric columns pass
   through (missing values are refused, or filled with the column's training
   mean), categorical and string columns of a DataFrame are one-hot encoded
   (a category unseen during fit encodes as all zeros; a missing value is
   refused, or becomes a category of its own). Its fitted state is plain
   JSON-ready data, so it is saved with the model (see :mod:`sknas._persistence`).

pandas is never imported here: a DataFrame is recognised only when pandas has
already been imported by the caller.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.validation import assert_all_finite, validate_data

__all__ = [
    "MAX_DENSE_BYTES",
    "MISSING_VALUES_OPTIONS",
    "TabularPreprocessor",
    "is_dataframe",
    "validate_table",
]

#: Largest dense float32 matrix (in bytes) built from sparse or one-hot encoded input.
MAX_DENSE_BYTES = 2 * 1024**3

#: Values of the estimators' ``missing_values`` parameter.
MISSING_VALUES_OPTIONS = ("error", "impute")

#: Types a fitted preprocessor is made of (what model files trust when they load it).
PREPROCESSING_TYPES: tuple[str, ...] = ("sknas.utils.preprocessing.TabularPreprocessor",)

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MISSING_HINT = (
    "Set missing_values='impute' to fill missing numbers with the column's training mean "
    "(and give missing categories a category of their own), or fill them before calling fit."
)


def is_dataframe(X: Any) -> bool:
    """True when ``X`` is a pandas DataFrame (without importing pandas)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(X, pandas.DataFrame)


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
    """Check ``X`` (and ``y``) and return them ready for :class:`TabularPreprocessor`.

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
        A float ndarray (missing values as NaN), an object ndarray when
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
        "ensure_all_finite": False if keep_objects else "allow-nan",
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


# -- columns -------------------------------------------------------------------------
def _missing_mask(values: np.ndarray) -> np.ndarray:
    """Missing entries (None, NaN, pandas' NA/NaT) of an object or string array."""
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        return np.asarray(pandas.isna(values), dtype=bool)
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values], dtype=bool)


def _column_kind(series: Any, label: str) -> str:
    """``"numeric"`` or ``"categorical"`` for a DataFrame column; error for the rest."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        return "numeric"
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred in ("string", "bytes"):
            return "categorical"
        if inferred in ("integer", "floating", "mixed-integer-float", "boolean", "decimal",
                        "empty"):
            return "numeric"
        values = series.to_numpy(dtype=object)
        kinds = sorted({type(v).__name__ for v in values[~_missing_mask(values)]})
        raise ValueError(
            f"X {label} holds values of several types ({', '.join(kinds)}). sknas uses a "
            "column either as numbers or, when all its values are strings, as categories; "
            "convert the column to one of these."
        )
    raise ValueError(
        f"X {label} has dtype {dtype}, which sknas cannot use as numbers or categories; "
        "convert it first (e.g. dates to numbers of days, or to strings)."
    )


def _as_float(values: Any, label: str) -> np.ndarray:
    """A column as float64, missing values as NaN."""
    if hasattr(values, "to_numpy"):  # pandas Series
        if not (isinstance(values.dtype, np.dtype) and values.dtype.kind == "O"):
            try:
                return values.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"X {label} should hold numbers: {exc}") from exc
        values = values.to_numpy(dtype=object)
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    missing = _missing_mask(values)
    out = np.full(len(values), np.nan)
    try:
        out[~missing] = np.asarray(values[~missing], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"X {label} held numbers during fit but now holds values that are not numbers "
            f"({exc})."
        ) from exc
    return out


def _as_strings(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """A column as a str array of its present values, and its missing-value mask."""
    values = values.to_numpy(dtype=object) if hasattr(values, "to_numpy") else np.asarray(values)
    missing = _missing_mask(values)
    present = np.array([str(v) for v in values[~missing]], dtype=object)
    return present, missing


def _iter_columns(X: Any) -> Iterator[tuple[Any, Any]]:
    """(name or None, column) pairs of a DataFrame or a 2-D array."""
    if is_dataframe(X):
        for j in range(X.shape[1]):
            yield X.columns[j], X.iloc[:, j]
    else:
        for j in range(X.shape[1]):
            yield None, X[:, j]


class TabularPreprocessor:
    """Encode a validated table as the float32 matrix the network reads.

    Parameters
    ----------
    missing_values : {"error", "impute"}, default="error"
        ``"error"`` refuses missing values with a ``ValueError`` naming the
        column; ``"impute"`` fills a numeric column's missing values with its
        training mean (0 when the column has no value at all) and gives a
        categorical column's missing values a category (column) of their own.

    Attributes
    ----------
    columns_ : list of dict
        One JSON-ready description per input column: ``{"name", "kind":
        "numeric", "fill"}`` or ``{"name", "kind": "categorical",
        "categories", "missing_category"}``.
    n_features_in_ : int
        Input columns.
    n_features_out_ : int
        Columns of the encoded matrix (numeric columns, then one per category,
        in input order).

    Examples
    --------
    >>> import numpy as np
    >>> pre = TabularPreprocessor(missing_values="impute").fit(np.array([[1.0], [np.nan], [3.0]]))
    >>> pre.transform(np.array([[np.nan]]))
    array([[2.]], dtype=float32)
    """

    def __init__(self, missing_values: str = "error") -> None:
        self.missing_values = missing_values

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X: Any) -> TabularPreprocessor:
        """Learn each column's kind, fill value and categories from ``X``.

        Parameters
        ----------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            Output of :func:`validate_table`.

        Returns
        -------
        self
        """
        if self.missing_values not in MISSING_VALUES_OPTIONS:
            raise ValueError(
                f"missing_values must be one of {list(MISSING_VALUES_OPTIONS)}; "
                f"got {self.missing_values!r}."
            )
        impute = self.missing_values == "impute"
        columns: list[dict[str, Any]] = []
        frame = is_dataframe(X)
        for j, (name, values) in enumerate(_iter_columns(X)):
            label = _label(name, j)
            kind = _column_kind(values, label) if frame else "numeric"
            spec: dict[str, Any] = {"name": None if name is None else str(name), "kind": kind}
            if kind == "numeric":
                numbers = _check_numbers(_as_float(values, label), label, fill=None,
                                         allow_nan=impute)
                present = numbers[~np.isnan(numbers)]
                spec["fill"] = (float(present.mean()) if present.size else 0.0) if impute else None
            else:
                strings, missing = _as_strings(values)
                if missing.any() and not impute:
                    raise ValueError(_missing_message(label, int(missing.sum()), len(missing)))
                spec["categories"] = sorted(set(strings.tolist()))
                spec["missing_category"] = impute
            columns.append(spec)
        self.columns_ = columns
        self.n_features_in_ = len(columns)
        self.n_features_out_ = sum(_width(spec) for spec in columns)
        _check_dense_size(X.shape[0], self.n_features_out_, "Encoding X")
        return self

    @property
    def has_categorical(self) -> bool:
        """True when some column is one-hot encoded."""
        return any(spec["kind"] == "categorical" for spec in self.columns_)

    # -- transforming ----------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """Encode ``X`` as float32.

        Parameters
        ----------
        X : ndarray or DataFrame of shape (n_samples, n_features_in_)
            Output of :func:`validate_table`.

        Returns
        -------
        ndarray of shape (n_samples, n_features_out_), float32
        """
        n_samples = X.shape[0]
        if not is_dataframe(X) and not self.has_categorical and X.dtype.kind in "biuf":
            # Fast path: a numeric matrix, checked and filled column-wise at once.
            matrix = np.asarray(X, dtype=np.float64)
            fills = [spec["fill"] for spec in self.columns_]
            nan = np.isnan(matrix)
            if nan.any():
                bad = [j for j in np.flatnonzero(nan.any(axis=0)) if fills[j] is None]
                if bad:
                    j = int(bad[0])
                    label = _label(self.columns_[j]["name"], j)
                    raise ValueError(_missing_message(label, int(nan[:, j].sum()), n_samples))
                fill_row = np.array([np.nan if f is None else f for f in fills])
                matrix = np.where(nan, fill_row[None, :], matrix)
            with np.errstate(invalid="ignore"):
                too_large = np.abs(matrix) > _FLOAT32_MAX
            if too_large.any():
                j = int(np.flatnonzero(too_large.any(axis=0))[0])
                _check_numbers(matrix[:, j], _label(self.columns_[j]["name"], j), fill=None,
                               allow_nan=False)
            return matrix.astype(np.float32)
        blocks: list[np.ndarray] = []
        for j, ((_, values), spec) in enumerate(zip(_iter_columns(X), self.columns_)):
            label = _label(spec["name"], j)
            if spec["kind"] == "numeric":
                numbers = _check_numbers(_as_float(values, label), label, fill=spec["fill"],
                                         allow_nan=False)
                blocks.append(numbers[:, None])
            else:
                blocks.append(_one_hot(values, spec, label))
        if not blocks:
            return np.empty((n_samples, 0), dtype=np.float32)
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def fit_transform(self, X: Any) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform`."""
        return self.fit(X).transform(X)

    def get_feature_names_out(self) -> list[str]:
        """Names of the encoded columns (``"name=category"`` for one-hot columns)."""
        names: list[str] = []
        for j, spec in enumerate(self.columns_):
            base = spec["name"] if spec["name"] is not None else f"x{j}"
            if spec["kind"] == "numeric":
                names.append(base)
            else:
                names += [f"{base}={c}" for c in spec["categories"]]
                if spec["missing_category"]:
                    names.append(f"{base}=<missing>")
        return names

    # -- JSON ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted state as JSON-ready data."""
        return {"missing_values": self.missing_values, "columns": self.columns_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TabularPreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict`'s output."""
        pre = cls(missing_values=state["missing_values"])
        pre.columns_ = [dict(spec) for spec in state["columns"]]
        pre.n_features_in_ = len(pre.columns_)
        pre.n_features_out_ = sum(_width(spec) for spec in pre.columns_)
        return pre


def _label(name: Any, index: int) -> str:
    return f"column {name!r}" if name is not None else f"column {index}"


def _width(spec: dict[str, Any]) -> int:
    if spec["kind"] == "numeric":
        return 1
    return len(spec["categories"]) + int(spec["missing_category"])


def _missing_message(label: str, count: int, n_samples: int) -> str:
    where = f" in {label}" if label else ""
    return (
        f"Input X contains NaN (missing values){where}: {count} of {n_samples} rows. "
        + _MISSING_HINT
    )


def _check_numbers(
    values: np.ndarray, label: str, *, fill: float | None, allow_nan: bool
) -> np.ndarray:
    """Refuse infinite and too-large values; fill or refuse NaN."""
    nan = np.isnan(values)
    if nan.any() and not allow_nan:
        if fill is None:
            raise ValueError(_missing_message(label, int(nan.sum()), len(values)))
        values = np.where(nan, fill, values)
    with np.errstate(invalid="ignore"):
        too_large = np.abs(values) > _FLOAT32_MAX
    if too_large.any():
        where = f" in {label}" if label else ""
        kind = "infinity" if np.isinf(values).any() else "values too large for float32"
        raise ValueError(
            f"Input X contains {kind}{where}; sknas works in float32 and needs finite values."
        )
    return values


def _one_hot(values: Any, spec: dict[str, Any], label: str) -> np.ndarray:
    strings, missing = _as_strings(values)
    categories = np.array(spec["categories"], dtype=object)
    width = len(categories) + int(spec["missing_category"])
    block = np.zeros((len(missing), width))
    if missing.any():
        if not spec["missing_category"]:
            raise ValueError(_missing_message(label, int(missing.sum()), len(missing)))
        block[missing, -1] = 1.0
    if len(categories) and len(strings):
        sorted_categories = categories.astype(str)
        position = np.searchsorted(sorted_categories, strings.astype(str))
        clipped = np.minimum(position, len(categories) - 1)
        known = sorted_categories[clipped] == strings.astype(str)
        rows = np.flatnonzero(~missing)[known]
        block[rows, clipped[known]] = 1.0
    return block

