"""Sample weights and class weights of ``fit``: checked once, then carried as one array.

The estimators combine ``sample_weight`` with the classifier's ``class_weight``
(scikit-learn's semantics: ``"balanced"`` weights each class by
``n_samples / (n_classes * weighted count of the class)``) into one weight per
row. Rows of weight 0 are dropped before anything is fitted, so that a zero
weight is exactly a removed row, and equal weights are no weights at all (each
loss and score is a weighted *mean*, which equal weights leave unchanged).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight

__all__ = ["accepts_sample_weight", "drop_unweighted_rows", "fit_weights", "remap_splits"]


def fit_weights(sample_weight: Any, X: Any, y: Any, class_weight: Any = None) -> np.ndarray | None:
    """One non-negative float64 weight per row, or None when nothing weights the rows.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        The user's weights (checked by scikit-learn's ``_check_sample_weight``:
        right length, finite, non-negative, not all zero).
    X : array-like
        The checked inputs (for their number of rows).
    y : array-like
        The labels, before encoding (for ``class_weight``).
    class_weight : dict, "balanced" or None
        The classifier's ``class_weight``.

    Returns
    -------
    ndarray of shape (n_samples,) or None
    """
    if sample_weight is None and class_weight is None:
        return None
    weights = None
    if sample_weight is not None:
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        ).astype(np.float64, copy=True)
    if class_weight is not None:
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        # "balanced" counts only the rows that weigh something (a class whose rows all
        # weigh 0 is absent); a dict may name every class of y.
        positive = np.ones(len(labels), bool) if weights is None else weights > 0
        rows = positive if isinstance(class_weight, str) else slice(None)
        classes = np.unique(labels[rows])
        try:
            per_class = compute_class_weight(
                class_weight, classes=classes, y=labels[rows],
                sample_weight=None if weights is None else weights[rows],
            )
        except ValueError as exc:
            raise ValueError(
                f"class_weight={class_weight!r} does not fit the labels {classes.tolist()!r}: "
                f"{exc}. Give weights only for classes that occur in y, or use 'balanced'."
            ) from exc
        factors = np.zeros(len(labels))
        factors[positive] = per_class[np.searchsorted(classes, labels[positive])]
        weights = factors if weights is None else weights * factors
        if not np.any(weights > 0):
            raise ValueError(
                f"class_weight={class_weight!r} together with sample_weight gives every "
                "sample a weight of 0; at least one sample needs a positive weight."
            )
    return weights


def drop_unweighted_rows(
    X: Any, y: Any, weights: np.ndarray
) -> tuple[Any, Any, np.ndarray | None, np.ndarray | None]:
    """Leave out the rows of weight 0; return None as the weights when all are equal.

    Parameters
    ----------
    X : array-like, sparse matrix or DataFrame
        The checked inputs.
    y : ndarray
        The targets.
    weights : ndarray of shape (n_samples,)
        Non-negative weights, not all zero.

    Returns
    -------
    X, y : the rows of positive weight
    weights : ndarray or None
        Their weights; None when they are all equal.
    kept : ndarray or None
        Indices of the rows kept (None: all).

    Raises
    ------
    ValueError
        When fewer than two rows have a positive weight.
    """
    keep = weights > 0
    rows = None
    if not keep.all():
        n_kept = int(keep.sum())
        if n_kept < 2:
            raise ValueError(
                f"sample_weight gives only {n_kept} of {len(weights)} samples a positive "
                "weight; fitting needs at least 2 (rows of weight 0 are left out)."
            )
        rows = np.flatnonzero(keep)
        X, y, weights = _safe_indexing(X, rows), _safe_indexing(y, rows), weights[rows]
    if np.all(weights == weights[0]):
        return X, y, None, rows
    return X, y, weights, rows


def remap_splits(splits: list, kept: np.ndarray, n_rows: int) -> list:
    """Splits given as indices of all rows, as indices of the ``kept`` rows.

    Rows of weight 0 are left out of ``fit``'s data, so a ``cv`` given as
    explicit index arrays is translated to the remaining rows.

    Parameters
    ----------
    splits : list of (train, valid) index arrays
        Into the rows ``fit`` received.
    kept : ndarray of int
        The rows kept, in order.
    n_rows : int
        How many rows ``fit`` received.

    Returns
    -------
    list of (train, valid) index arrays

    Raises
    ------
    ValueError
        When a split has no training or no validation row of positive weight.
    """
    position = np.full(n_rows, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    remapped = []
    for index, (train, valid) in enumerate(splits):
        train, valid = position[np.asarray(train)], position[np.asarray(valid)]
        train, valid = train[train >= 0], valid[valid >= 0]
        if not len(train) or not len(valid):
            raise ValueError(
                f"cv split {index} has no {'training' if not len(train) else 'validation'} "
                "row of positive sample_weight (rows of weight 0 are left out)."
            )
        remapped.append((train, valid))
    return remapped


def accepts_sample_weight(scorer: Any) -> bool:
    """Whether ``scorer(estimator, X, y, sample_weight=w)`` is a valid call.

    Parameters
    ----------
    scorer : callable
        A scikit-learn scorer or the user's callable.

    Returns
    -------
    bool
    """
    try:
        parameters = inspect.signature(scorer).parameters.values()
    except (TypeError, ValueError):
        return True  # a builtin without a signature: let the call decide
    return any(
        p.name == "sample_weight" or p.kind == inspect.Parameter.VAR_KEYWORD
        for p in parameters
    )
