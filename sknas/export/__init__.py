"""Export a fitted estimator's whole inference path: ONNX and TorchScript.

The exported model reads the raw features, as ``predict`` does, and runs
the fitted preprocessing (imputation, scaling, one-hot encoding), the refit
network or the ensemble's weighted average, and the softmax or the target's
de-standardisation; a production system then needs only ``onnxruntime`` (or
``torch``), not sknas, skorch or scikit-learn.

* :func:`export_onnx` writes an ONNX model (``skl2onnx`` converts the
  preprocessing, :func:`torch.onnx.export` the network,
  :func:`onnx.compose.merge_models` joins them). Fitted on a DataFrame, it
  has one input per column, named after it, of shape ``(n, 1)``: float32
  for numeric columns (NaN: missing), strings for categorical ones (``""``:
  missing); fitted on an array, one float32 input ``X``. A classifier's
  outputs are ``label`` and ``probabilities``, a regressor's ``prediction``.
* :func:`export_torchscript` writes a TorchScript module whose
  ``forward(X, categories=None)`` reads the numeric columns as one tensor and
  the categorical ones as lists of strings (see
  :mod:`sknas.export._torchscript`).

:func:`onnx_inputs` and :func:`torchscript_inputs` turn a table into what
each model reads. The ONNX part needs the ``export`` extra
(``pip install "sknas[export]"``: onnx, onnxscript, onnxruntime, skl2onnx).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sknas.export._columns import MISSING_CATEGORY, ExportError, input_layout

__all__ = [
    "MISSING_CATEGORY",
    "ExportError",
    "export_onnx",
    "export_torchscript",
    "onnx_inputs",
    "torchscript_inputs",
]

_EXTRA_HINT = 'install the export extra: pip install "sknas[export]"'


def _require(*modules: str) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(
                f"Exporting to ONNX needs the package {name!r}, which is not installed; "
                f"{_EXTRA_HINT}."
            ) from exc


def _fitted(estimator: Any, method: str) -> None:
    estimator._check_refitted(method)
    if getattr(estimator, "sequence_shape_", None) is not None:
        raise ExportError(
            f"{method} does not support models fitted on sequences "
            "(n_samples, timesteps, features) yet; save them with `save` and load "
            "them with `sknas.load` instead."
        )


def _write(path: str | os.PathLike, data: bytes) -> Path:
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def export_onnx(estimator: Any, path: str | os.PathLike) -> Path:
    """Write the fitted estimator's whole inference path as an ONNX model.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted with ``refit=True``.
    path : str or path-like
        Where to write the model (replaced if it exists).

    Returns
    -------
    Path

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the estimator has no refit network.
    ExportError
        When something of the fitted model cannot be written as ONNX (the
        message says what).
    ImportError
        When the ``export`` extra is not installed.
    """
    _fitted(estimator, "export_onnx")
    _require("onnx", "onnxscript", "skl2onnx")
    from sknas.export._onnx import to_onnx

    model = to_onnx(estimator)
    return _write(path, model.SerializeToString())


def export_torchscript(estimator: Any, path: str | os.PathLike) -> Path:
    """Write the fitted estimator's whole inference path as a TorchScript module.

    Load it with :func:`torch.jit.load`; ``module(X, categories)`` returns
    ``(label, probabilities)`` for a classifier (``label`` holds the class
    values when they are numbers, else indices into ``module.classes``) and
    the predictions for a regressor.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted with ``refit=True``.
    path : str or path-like
        Where to write the module (replaced if it exists).

    Returns
    -------
    Path

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the estimator has no refit network.
    ExportError
        When the network cannot be traced.
    """
    _fitted(estimator, "export_torchscript")
    import io

    import torch

    from sknas.export._torchscript import to_torchscript

    buffer = io.BytesIO()
    module = to_torchscript(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # see _torchscript.to_torchscript
        torch.jit.save(module, buffer)
    return _write(path, buffer.getvalue())


def _table_columns(estimator: Any, X: Any) -> list[np.ndarray]:
    """The columns of ``X`` (validated as ``predict`` validates it), as arrays."""
    from sknas.utils._columns import is_dataframe

    if is_dataframe(X):
        names = getattr(estimator, "feature_names_in_", None)
        if names is not None and list(X.columns) != list(names):
            raise ValueError(
                f"X's columns {list(X.columns)!r} differ from those seen in fit {list(names)!r}."
            )
        return [X.iloc[:, j].to_numpy(dtype=object) for j in range(X.shape[1])]
    values = np.asarray(X, dtype=object)
    if getattr(estimator, "image_shape_", None) is not None:
        values = values.reshape(len(values), -1)
    return [values[:, j] for j in range(values.shape[1])]


def _as_strings(values: np.ndarray) -> np.ndarray:
    from sknas.utils._columns import missing_mask

    missing = missing_mask(values)
    return np.array(
        [MISSING_CATEGORY if m else str(v) for v, m in zip(values, missing)], dtype=object
    )


def _as_floats(values: np.ndarray) -> np.ndarray:
    from sknas.utils._columns import missing_mask

    out = np.full(len(values), np.nan, dtype=np.float32)
    present = ~missing_mask(values)
    out[present] = np.asarray(values[present], dtype=np.float64)
    return out


def onnx_inputs(estimator: Any, X: Any) -> dict[str, np.ndarray]:
    """What the exported ONNX model of ``estimator`` reads for the rows of ``X``.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        The fitted estimator that was exported.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Rows, as ``predict`` takes them.

    Returns
    -------
    dict of str to ndarray
        Input name to values: ``(n, 1)`` float32 or string arrays per column,
        or one float32 array ``X`` (images keep their shape).
    """
    layout = input_layout(estimator)
    if not layout.per_column:
        values = np.asarray(X, dtype=np.float32)
        return {"X": values}
    columns = _table_columns(estimator, X)
    return {
        name: (_as_strings(values) if kind == "categorical" else _as_floats(values)).reshape(
            -1, 1
        )
        for name, kind, values in zip(layout.names, layout.kinds, columns)
    }


def torchscript_inputs(estimator: Any, X: Any) -> tuple[Any, list[list[str]]]:
    """What the exported TorchScript module of ``estimator`` reads for the rows of ``X``.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        The fitted estimator that was exported.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Rows, as ``predict`` takes them.

    Returns
    -------
    X : torch.Tensor
        The numeric columns (float32, NaN for missing values); images keep
        their shape.
    categories : list of list of str
        The categorical columns, one list per column (``""``: missing).
    """
    import torch

    layout = input_layout(estimator)
    if not layout.per_column:
        return torch.as_tensor(np.asarray(X, dtype=np.float32)), []
    columns = _table_columns(estimator, X)
    numeric = [_as_floats(v) for v, kind in zip(columns, layout.kinds) if kind == "numeric"]
    matrix = np.stack(numeric, axis=1) if numeric else np.zeros((len(columns[0]), 0), np.float32)
    categories = [
        [str(s) for s in _as_strings(v)]
        for v, kind in zip(columns, layout.kinds)
        if kind == "categorical"
    ]
    return torch.as_tensor(matrix), categories
