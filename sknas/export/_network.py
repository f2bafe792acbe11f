"""The fitted networks as one torch module: members, ensemble average, softmax, arg-max.

Both exports (ONNX and TorchScript) start from :class:`InferenceNetwork`, which
computes from the preprocessing's output (float32 rows) exactly what
``predict_proba`` and ``predict`` compute from it: each member's
probabilities (softmax of its logits, normalised) or de-standardised
regression outputs, their weighted average with the ensemble's weights, and
for classification the index of the most probable class.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["InferenceNetwork", "inference_network"]


class InferenceNetwork(nn.Module):
    """The refit network, or the weighted ensemble of the refit members, for inference.

    Each member's searched network runs in float32 (the precision every ONNX
    runtime supports for every operator); its input standardisation stays
    inside it and, for regression, its output is de-standardised in float64.

    Parameters
    ----------
    members : list of torch.nn.Module
        The fitted networks (``StandardizedModule``), in evaluation mode.
    weights : list of float
        Each member's weight (summing to 1).
    classification : bool
        Return class probabilities and the most probable class's index
        (otherwise the regression outputs).
    """

    def __init__(self, members: list[nn.Module], weights: list[float], classification: bool):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.classification = classification
        self.weights: torch.Tensor
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Average the members' outputs.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_encoded)
            The preprocessing's output.

        Returns
        -------
        output : torch.Tensor
            float64 probabilities of shape (n_samples, n_classes), or
            regression outputs of shape (n_samples, n_outputs).
        index : torch.Tensor
            int64 index of the most probable class (classification), else the
            output again.
        """
        x = x.to(torch.float32)
        total = torch.zeros(1, dtype=torch.float64)
        for k, member in enumerate(self.members):
            out = member(x).to(torch.float64)
            if self.classification:
                out = torch.softmax(out, dim=1)
                out = out / out.sum(dim=1, keepdim=True)
            total = total + self.weights[k] * out
        if not self.classification:
            return total, total
        total = total / total.sum(dim=1, keepdim=True)
        return total, torch.argmax(total, dim=1)


def _float32_copy(module: nn.Module) -> nn.Module:
    """A float32 copy of a fitted ``StandardizedModule`` whose target scaling stays float64."""
    copied = copy.deepcopy(module).to("cpu").float().eval()
    for name in ("y_mean", "y_scale"):
        buffer = getattr(module, name, None)
        if isinstance(buffer, torch.Tensor):
            setattr(copied, name, buffer.detach().to("cpu", torch.float64).clone())
    for parameter in copied.parameters():
        parameter.requires_grad_(False)
    return copied


def inference_network(estimator: Any) -> InferenceNetwork:
    """The :class:`InferenceNetwork` of a fitted estimator (its refit network or ensemble).

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor
        Fitted with ``refit=True``.

    Returns
    -------
    InferenceNetwork
        In evaluation mode, on the CPU.
    """
    nets = getattr(estimator, "ensemble_estimators_", [estimator.best_estimator_])
    ensemble = getattr(estimator, "ensemble_", None)
    weights = [1.0] if ensemble is None or len(nets) == 1 else list(ensemble.weights)
    members = [_float32_copy(net.module_) for net in nets]
    network = InferenceNetwork(members, weights, estimator._task == "classification")
    return network.eval()
