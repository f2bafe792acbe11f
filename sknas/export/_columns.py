"""What the exported models read: one input per column, or one matrix of numbers.

The fitted preprocessing (``preprocessor_``, see
:mod:`sknas.utils.preprocessing`) is described here once for both exports:
which columns are numeric and which categorical, the input names, and each
categorical column's categories as the strings the exported model compares.
A missing category is the empty string :data:`MISSING_CATEGORY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sknas.utils._columns import missing_mask

__all__ = ["MISSING_CATEGORY", "ExportError", "InputLayout", "input_layout"]

#: The string that stands for a missing value in a categorical input.
MISSING_CATEGORY = ""


class ExportError(ValueError):
    """The fitted estimator cannot be exported in the format asked for; the message says why."""


@dataclass(frozen=True)
class InputLayout:
    """The inputs of an exported model.

    Attributes
    ----------
    names : list of str
        One name per column (a DataFrame's column names; ``column_<j>`` when
        they are not strings), or ``["X"]`` for a model fitted on an array.
    kinds : list of str
        ``"numeric"`` or ``"categorical"`` per column of the data seen in ``fit``.
    categories : dict of int to list of str
        For each categorical column (by position): its categories as
        strings, in the one-hot encoding's order; a missing value is
        :data:`MISSING_CATEGORY`.
    per_column : bool
        One input per column (fitted on a DataFrame) rather than one matrix.
    image_shape : tuple of int or None
        ``(channels, height, width)`` for a model fitted on images.
    """

    names: list[str]
    kinds: list[str]
    categories: dict[int, list[str]]
    per_column: bool
    image_shape: tuple[int, ...] | None


def _category_strings(values: np.ndarray, name: str) -> list[str]:
    """The fitted categories of one column as strings; refuse those strings cannot tell apart."""
    missing = missing_mask(np.asarray(values, dtype=object))
    strings = [MISSING_CATEGORY if m else str(v) for v, m in zip(values, missing)]
    if len(set(strings)) != len(strings):
        seen = [s for s in strings if strings.count(s) > 1]
        raise ExportError(
            f"Column {name!r} has categories that are equal once written as strings "
            f"({sorted(set(seen))!r}; a missing value is written as {MISSING_CATEGORY!r}). "
            "The exported model reads categories as strings: rename the categories of this "
            "column (e.g. X[col] = X[col].astype(str) with no empty strings) and fit again."
        )
    return strings


def input_layout(estimator: Any) -> InputLayout:
    """Describe the inputs an exported model of ``estimator`` reads.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted.

    Returns
    -------
    InputLayout
    """
    preprocessor = estimator.preprocessor_
    n_features = int(preprocessor.n_features_in_)
    kinds = ["numeric"] * n_features
    categories: dict[int, list[str]] = {}
    names_in = getattr(preprocessor, "feature_names_in_", None)
    per_column = names_in is not None or any(
        kind == "categorical" for kind, _, _ in preprocessor.transformers_
    )
    if names_in is not None:
        names = [str(name) for name in names_in]
    else:
        names = [f"column_{j}" for j in range(n_features)] if per_column else ["X"]
    for kind, transformer, columns in preprocessor.transformers_:
        if kind != "categorical":
            continue
        encoder = transformer[-1]
        for j, values in zip(columns, encoder.categories_):
            kinds[j] = "categorical"
            label = names[j] if per_column else f"column {j}"
            categories[j] = _category_strings(np.asarray(values, dtype=object), label)
    if per_column and len(set(names)) != len(names):
        raise ExportError(
            f"The columns' names {list(names)!r} are not distinct once written as strings; "
            "the exported model names one input per column. Rename the columns and fit again."
        )
    return InputLayout(names, kinds, categories, per_column, estimator.image_shape_)
