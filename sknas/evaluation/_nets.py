"""skorch nets that tell early stopping from Ctrl-C and skip redundant mode switches.

skorch's ``partial_fit`` ends training quietly on ``KeyboardInterrupt``,
which its ``EarlyStopping`` raises to stop; a user's Ctrl-C in the middle of
an epoch would end only the candidate, and the search would go on. These nets
end training on :class:`~sknas.evaluation.callbacks.StopTraining` (raised by
sknas' early stopping and candidate time limit) and let ``KeyboardInterrupt``
through.

skorch calls ``module.train(True)`` on every module and criterion before
*every* training batch. ``nn.Module.train`` walks all submodules and sets an
attribute on each through ``nn.Module.__setattr__``, which for small tabular
networks costs as much as a sizeable share of the batch's forward pass. These
subclasses switch only when a module's mode differs from the one requested;
skorch changes modes only through ``_set_training`` (training, validation and
prediction steps), so each switch still happens when it is needed.

Sample weights travel with the inputs, as skorch's FAQ suggests: the net is
fitted on ``{"X": X, "sample_weight": w}`` (:func:`weighted_input`), the
module sees only ``X``, and the loss of a batch is the weighted mean of the
per-row losses of a criterion built with ``reduction="none"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor

from sknas.evaluation.callbacks import StopTraining

__all__ = [
    "INPUT_KEY",
    "SAMPLE_WEIGHT_KEY",
    "SkorchClassifier",
    "SkorchRegressor",
    "weighted_input",
]

#: Keys of the dict that carries inputs with their sample weights.
INPUT_KEY = "X"
SAMPLE_WEIGHT_KEY = "sample_weight"


def weighted_input(X: np.ndarray, sample_weight: np.ndarray | None) -> Any:
    """``X`` itself, or ``{"X": X, "sample_weight": w}`` when there are weights.

    Parameters
    ----------
    X : numpy.ndarray
        Inputs, one row per sample.
    sample_weight : numpy.ndarray, optional
        One weight per row.

    Returns
    -------
    numpy.ndarray or dict
    """
    if sample_weight is None:
        return X
    return {INPUT_KEY: X, SAMPLE_WEIGHT_KEY: np.asarray(sample_weight, dtype=np.float32)}


class _StopTrainingMixin:
    """``partial_fit`` as skorch's, but only :class:`StopTraining` ends training quietly."""

    initialized_: bool

    def partial_fit(self, X: Any, y: Any = None, classes: Any = None, **fit_params: Any) -> Any:
        """Train the module (without re-initialising it), as skorch's ``partial_fit``."""
        net: Any = self
        if not net.initialized_:
            net.initialize()
        net.notify("on_train_begin", X=X, y=y)
        try:
            net.fit_loop(X, y, **fit_params)
        except StopTraining:
            pass
        net.notify("on_train_end", X=X, y=y)
        return net


class _ModeCachingMixin:
    """Set train/eval mode only on modules and criteria not already in it."""

    _modules: list[str]
    _criteria: list[str]

    def _set_training(self, training: bool = True) -> None:
        for name in self._modules + self._criteria:
            module: Any = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)


class _EnsembleLossMixin:
    """Train every member of an ensemble network on the loss, each row by its weight.

    A module whose training output has shape ``(batch, k, n_outputs)`` (a
    TabM ensemble, see :class:`~sknas.spaces._mlp_module.MLPModule`) is
    scored on its ``k`` predictions per row, each against the row's target:
    the mean loss over members, as TabM trains them. A batch that carries
    sample weights (see :func:`weighted_input`) is scored by the weighted
    mean of its rows' losses (the criterion then reduces nothing).
    """

    def infer(self, x: Any, **fit_params: Any) -> Any:
        if isinstance(x, Mapping) and SAMPLE_WEIGHT_KEY in x:
            x = x[INPUT_KEY]
        return super().infer(x, **fit_params)  # type: ignore[misc]

    def get_loss(
        self, y_pred: Any, y_true: Any, X: Any = None, training: bool = False
    ) -> Any:
        weight = X.get(SAMPLE_WEIGHT_KEY) if isinstance(X, Mapping) else None
        if isinstance(y_pred, torch.Tensor) and y_pred.ndim == 3 and y_true is not None:
            k = y_pred.shape[1]
            y_true = torch.as_tensor(y_true, device=y_pred.device).repeat_interleave(k, dim=0)
            y_pred = y_pred.flatten(0, 1)
            if weight is not None:
                weight = torch.as_tensor(weight).repeat_interleave(k, dim=0)
        losses = super().get_loss(y_pred, y_true, X=X, training=training)  # type: ignore[misc]
        if losses.ndim == 0:
            return losses
        if weight is None:
            return losses.mean()
        weight = torch.as_tensor(weight, device=losses.device).to(losses.dtype)
        return (losses * weight).sum() / weight.sum()


class SkorchClassifier(
    _StopTrainingMixin, _EnsembleLossMixin, _ModeCachingMixin, NeuralNetClassifier
):
    """:class:`skorch.NeuralNetClassifier`: Ctrl-C goes through; ensembles trained per member."""


class SkorchRegressor(
    _StopTrainingMixin, _EnsembleLossMixin, _ModeCachingMixin, NeuralNetRegressor
):
    """:class:`skorch.NeuralNetRegressor`: Ctrl-C goes through; ensembles trained per member."""
