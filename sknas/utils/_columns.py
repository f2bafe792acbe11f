"""Column by column checks of a validated table: kinds, missing and infinite values.

Every message names the column (its label in a DataFrame, its index in an array).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = [
    "check_values",
    "column_kinds",
    "column_label",
    "column_names",
    "is_dataframe",
    "missing_mask",
]

_MISSING_HINT = (
    "Set missing_values='impute' to fill missing numbers with the column's training mean "
    "(and give missing categories a category of their own), or fill them before calling fit."
)


def is_dataframe(X: Any) -> bool:
    """True when ``X`` is a pandas DataFrame (without importing pandas)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(X, pandas.DataFrame)


def missing_mask(values: np.ndarray) -> np.ndarray:
    """Missing entries (None, NaN, pandas' NA/NaT) of an object or string array."""
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(values.shape, dtype=bool)
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        return np.asarray(pandas.isna(values), dtype=bool)
    flat = [v is None or (isinstance(v, float) and v != v) for v in values.ravel()]
    return np.array(flat, dtype=bool).reshape(values.shape)


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
        kinds = sorted({type(v).__name__ for v in values[~missing_mask(values)]})
        raise ValueError(
            f"X {label} holds values of several types ({', '.join(kinds)}). sknas uses a "
            "column either as numbers or, when all its values are strings, as categories; "
            "convert the column to one of these."
        )
    raise ValueError(
        f"X {label} has dtype {dtype}, which sknas cannot use as numbers or categories; "
        "convert it first (e.g. dates to numbers of days, or to strings)."
    )


def column_kinds(X: Any) -> list[str]:
    """``"numeric"`` or ``"categorical"`` for each column of a validated table.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
        Output of :func:`validate_table`; every column of an array is numeric.

    Returns
    -------
    list of str
    """
    if not is_dataframe(X):
        return ["numeric"] * X.shape[1]
    return [_column_kind(X.iloc[:, j], column_label(X.columns[j], j)) for j in range(X.shape[1])]


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
    missing = missing_mask(values)
    out = np.full(len(values), np.nan)
    try:
        out[~missing] = np.asarray(values[~missing], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"X {label} held numbers during fit but now holds values that are not numbers "
            f"({exc})."
        ) from exc
    return out


def _column(X: Any, j: int) -> Any:
    return X.iloc[:, j] if is_dataframe(X) else X[:, j]


def column_names(X: Any) -> list[Any]:
    return list(X.columns) if is_dataframe(X) else [None] * X.shape[1]


def _numeric_block(X: Any, columns: list[int]) -> np.ndarray:
    """The numeric columns of ``X`` as one float64 matrix, missing values as NaN."""
    if not is_dataframe(X) and X.dtype.kind in "biuf":
        return np.asarray(X[:, columns], dtype=np.float64)
    names = column_names(X)
    block = np.empty((X.shape[0], len(columns)))
    for k, j in enumerate(columns):
        block[:, k] = _as_float(_column(X, j), column_label(names[j], j))
    return block


def check_values(X: Any, kinds: list[str], *, impute: bool) -> None:
    """Refuse infinite values, and missing values unless ``impute``, naming the column.

    Parameters
    ----------
    X : ndarray or DataFrame of shape (n_samples, n_features)
        Output of :func:`validate_table`.
    kinds : list of str
        :func:`column_kinds` of the table seen in ``fit``.
    impute : bool
        Accept missing values (they are filled, or become a category).
    """
    names = column_names(X)
    numeric = [j for j, kind in enumerate(kinds) if kind == "numeric"]
    block = _numeric_block(X, numeric)
    bad_columns = ~np.isfinite(block).all(axis=0)
    for k in np.flatnonzero(bad_columns):
        j = numeric[k]
        values = block[:, k]
        if np.isinf(values).any():
            raise ValueError(
                f"Input X contains infinity in {column_label(names[j], j)}: "
                f"{int(np.isinf(values).sum())} of {len(values)} rows. sknas needs finite "
                "values; replace them (e.g. by NaN with missing_values='impute') first."
            )
        if not impute:
            label = column_label(names[j], j)
            raise ValueError(_missing_message(label, int(np.isnan(values).sum()), len(values)))
    if impute:
        return
    for j, kind in enumerate(kinds):
        if kind == "categorical":
            column = _column(X, j)
            values = column.to_numpy(dtype=object) if hasattr(column, "to_numpy") else column
            missing = missing_mask(np.asarray(values, dtype=object))
            if missing.any():
                raise ValueError(
                    _missing_message(column_label(names[j], j), int(missing.sum()), len(missing))
                )


def column_label(name: Any, index: int) -> str:
    return f"column {name!r}" if name is not None else f"column {index}"


def _missing_message(label: str, count: int, n_samples: int) -> str:
    where = f" in {label}" if label else ""
    return (
        f"Input X contains NaN (missing values){where}: {count} of {n_samples} rows. "
        + _MISSING_HINT
    )
