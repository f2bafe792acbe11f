"""Export a fitted estimator's whole inference path to one TorchScript module.

The preprocessing is re-expressed as torch code from the fitted transformers'
attributes (``SimpleImputer.statistics_``, ``MaxAbsScaler.scale_``,
``StandardScaler.mean_``/``scale_``, ``OneHotEncoder.categories_``), in
float64 as scikit-learn computes it; the network (or the ensemble) is traced
(:func:`torch.jit.trace`) and the whole is scripted (:func:`torch.jit.script`).

The scripted module's ``forward(X, categories=None)`` reads:

* ``X``: the numeric columns, in the order of the data seen in ``fit``, as a
  float tensor of shape ``(n_samples, n_numeric)`` (NaN for a missing value);
  for images, ``(n_samples, channels, height, width)``;
* ``categories``: for a model fitted on a DataFrame with categorical columns,
  one list of strings per categorical column (in the data's order), each of
  ``n_samples`` values; ``""`` is a missing value and a category not seen in
  ``fit`` encodes as all zeros, as in ``predict``.

The module's attributes ``numeric_columns`` and ``categorical_columns`` name
the columns each argument holds.
"""

# No ``from __future__ import annotations``: TorchScript reads the annotations as types.

import warnings
from typing import Any, Dict, List, Optional, Tuple  # noqa: UP035 (TorchScript reads these)

import numpy as np
import torch
from torch import nn

from sknas.export._columns import ExportError, InputLayout, input_layout
from sknas.export._network import inference_network

__all__ = ["to_torchscript"]


def _steps(pipeline: Any) -> dict[str, Any]:
    return {type(step).__name__: step for _, step in pipeline.steps}


class Preprocessing(nn.Module):
    """The fitted ``ColumnTransformer`` of :mod:`sknas.utils.preprocessing` in torch.

    Parameters
    ----------
    preprocessor : sklearn.compose.ColumnTransformer
        The estimator's ``preprocessor_``.
    layout : InputLayout
        The columns' kinds and categories as strings.
    """

    category_maps: List[Dict[str, int]]  # noqa: UP006
    category_offsets: List[int]  # noqa: UP006

    def __init__(self, preprocessor: Any, layout: InputLayout) -> None:
        super().__init__()
        numeric = [j for j, kind in enumerate(layout.kinds) if kind == "numeric"]
        categorical = [j for j, kind in enumerate(layout.kinds) if kind == "categorical"]
        n = len(numeric)
        fill = np.full(n, np.nan)
        max_abs, mean, scale = np.ones(n), np.zeros(n), np.ones(n)
        self.impute = False
        for kind, transformer, _ in preprocessor.transformers_:
            if kind != "numeric":
                continue
            steps = _steps(transformer)
            if "SimpleImputer" in steps:
                self.impute = True
                fill = np.asarray(steps["SimpleImputer"].statistics_, dtype=np.float64)
            max_abs = np.asarray(steps["MaxAbsScaler"].scale_, dtype=np.float64)
            standard = steps["StandardScaler"]
            if standard.mean_ is not None:
                mean = np.asarray(standard.mean_, dtype=np.float64)
            if standard.scale_ is not None:
                scale = np.asarray(standard.scale_, dtype=np.float64)
        self.n_numeric = n
        self.flatten = layout.image_shape is not None
        self.fill: torch.Tensor
        self.max_abs: torch.Tensor
        self.mean: torch.Tensor
        self.scale: torch.Tensor
        self.register_buffer("fill", torch.as_tensor(np.nan_to_num(fill)))
        self.register_buffer("max_abs", torch.as_tensor(max_abs))
        self.register_buffer("mean", torch.as_tensor(mean))
        self.register_buffer("scale", torch.as_tensor(scale))
        self.category_maps = [
            {value: k for k, value in enumerate(layout.categories[j])} for j in categorical
        ]
        offsets = [0]
        for j in categorical:
            offsets.append(offsets[-1] + len(layout.categories[j]))
        self.category_offsets = offsets

    def forward(
        self, x: torch.Tensor, categories: Optional[List[List[str]]] = None  # noqa: UP006, UP045
    ) -> torch.Tensor:
        """The encoded rows the network reads, as float32.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_numeric)
            The numeric columns (images: of shape (n_samples, C, H, W)).
        categories : list of list of str, optional
            The categorical columns, one list per column.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_encoded)
        """
        if self.flatten:
            x = x.reshape(x.shape[0], -1)
        columns: List[List[str]] = []  # noqa: UP006
        if categories is not None:
            columns = categories
        if x.dim() != 2 or x.shape[1] != self.n_numeric:
            raise ValueError(
                "X must have shape (n_samples, " + str(self.n_numeric)
                + ") (the numeric columns), got " + str(list(x.shape)) + "."
            )
        if len(columns) != len(self.category_maps):
            raise ValueError(
                "categories must hold one list of strings per categorical column ("
                + str(len(self.category_maps)) + "), got " + str(len(columns)) + "."
            )
        n_rows = x.shape[0]
        x = x.to(torch.float64)
        if self.impute:
            x = torch.where(torch.isnan(x), self.fill.expand_as(x), x)
        numeric = ((x / self.max_abs) - self.mean) / self.scale
        onehot = torch.zeros(n_rows, self.category_offsets[-1], dtype=torch.float64)
        for k, mapping in enumerate(self.category_maps):
            values = columns[k]
            if len(values) != n_rows:
                raise ValueError(
                    "categories[" + str(k) + "] holds " + str(len(values))
                    + " values for " + str(n_rows) + " rows of X."
                )
            for i in range(n_rows):
                index = mapping.get(values[i], -1)
                if index >= 0:
                    onehot[i, self.category_offsets[k] + index] = 1.0
        # The ColumnTransformer's order: numeric columns first, then the one-hot columns.
        return torch.cat([numeric, onehot], dim=1).to(torch.float32)


class _Exported(nn.Module):
    """The preprocessing and the traced network, with the columns' names."""

    numeric_columns: List[str]  # noqa: UP006
    categorical_columns: List[str]  # noqa: UP006

    def __init__(self, preprocessing: Preprocessing, network: Any, layout: InputLayout) -> None:
        super().__init__()
        self.preprocessing = preprocessing
        self.network = network
        self.numeric_columns, self.categorical_columns = _column_names(layout)


class _Classifier(_Exported):
    """``forward`` returns ``(label, probabilities)``."""

    classes: List[str]  # noqa: UP006

    def __init__(
        self, preprocessing: Preprocessing, network: Any, layout: InputLayout, classes: Any
    ) -> None:
        super().__init__(preprocessing, network, layout)
        self.classes = [str(value) for value in classes]
        values = np.asarray(classes)
        self.class_values: torch.Tensor
        kinds = {"b": np.bool_, "i": np.int64, "u": np.int64, "f": np.float64}
        if values.dtype.kind in kinds:  # labels are the values; otherwise indices
            labels = torch.as_tensor(values.astype(kinds[values.dtype.kind]))
        else:
            labels = torch.arange(len(values))
        self.register_buffer("class_values", labels)

    def forward(
        self, x: torch.Tensor, categories: Optional[List[List[str]]] = None  # noqa: UP006, UP045
    ) -> Tuple[torch.Tensor, torch.Tensor]:  # noqa: UP006
        """Predict labels and class probabilities (see the module's docstring)."""
        probabilities, index = self.network(self.preprocessing(x, categories))
        return self.class_values[index], probabilities


class _Regressor(_Exported):
    """``forward`` returns the predictions."""

    def __init__(
        self, preprocessing: Preprocessing, network: Any, layout: InputLayout, y_was_1d: bool
    ) -> None:
        super().__init__(preprocessing, network, layout)
        self.y_was_1d = y_was_1d

    def forward(
        self, x: torch.Tensor, categories: Optional[List[List[str]]] = None  # noqa: UP006, UP045
    ) -> torch.Tensor:
        """Predict the targets (see the module's docstring)."""
        prediction, _ = self.network(self.preprocessing(x, categories))
        return prediction.reshape(-1) if self.y_was_1d else prediction


def _column_names(layout: InputLayout) -> tuple[list[str], list[str]]:
    names = layout.names if layout.per_column else [
        f"column_{j}" for j in range(len(layout.kinds))
    ]
    numeric = [name for name, kind in zip(names, layout.kinds) if kind == "numeric"]
    categorical = [name for name, kind in zip(names, layout.kinds) if kind == "categorical"]
    return numeric, categorical


def to_torchscript(estimator: Any) -> Any:
    """The ``torch.jit.ScriptModule`` of a fitted estimator (see the module's docstring)."""
    layout = input_layout(estimator)
    network = inference_network(estimator)
    n_encoded = len(estimator.preprocessor_.get_feature_names_out())
    example = torch.zeros(2, n_encoded, dtype=torch.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            traced = torch.jit.trace(network, (example,), check_trace=False)
    except Exception as exc:  # tracing raises many types
        raise ExportError(
            f"torch.jit.trace could not trace the network {estimator.best_architecture_} "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    preprocessing = Preprocessing(estimator.preprocessor_, layout)
    module: nn.Module
    if network.classification:
        module = _Classifier(preprocessing, traced, layout, estimator.classes_)
    else:
        module = _Regressor(
            preprocessing, traced, layout, bool(getattr(estimator, "_y_was_1d", False))
        )
    with warnings.catch_warnings():
        # PyTorch deprecates TorchScript in favour of torch.export, whose programs
        # cannot hold the string categories; the scripted module still loads and runs.
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(module.eval())
