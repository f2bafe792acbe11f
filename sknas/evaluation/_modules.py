"""Wrappers that put input standardisation and target scaling inside the network."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["StandardizedModule", "StandardizedMSELoss"]


def _buffer(values: Any, size: int, fill: float, dtype: torch.dtype) -> torch.Tensor:
    if values is None:
        return torch.full((size,), fill, dtype=dtype)
    return torch.as_tensor(np.asarray(values, dtype=np.float64).reshape(size)).to(dtype)


class StandardizedModule(nn.Module):
    """``(x - x_mean) / x_scale -> inner -> * y_scale + y_mean``.

    Keeping the statistics as buffers makes the fitted network self-contained:
    it predicts from raw inputs, and its ``state_dict`` carries the
    preprocessing. The target statistics are float64 and the output is
    de-standardised in float64 (whatever the network's own precision), so that
    targets far from zero, or with a tiny or huge spread, keep their digits.

    Parameters
    ----------
    inner : torch.nn.Module
        The searched network.
    n_features : int
        Width of the (flat) input.
    n_outputs : int
        Width of the output.
    x_mean, x_scale : array-like of shape (n_features,), optional
        Input statistics (defaults 0 and 1).
    y_mean, y_scale : array-like of shape (n_outputs,), optional
        Output de-standardisation. When both are None the output is the inner
        network's, in its own dtype (classification logits).
    """

    def __init__(
        self,
        inner: nn.Module,
        n_features: int,
        n_outputs: int,
        x_mean: Any = None,
        x_scale: Any = None,
        y_mean: Any = None,
        y_scale: Any = None,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.scales_output = y_mean is not None or y_scale is not None
        self.x_mean: torch.Tensor
        self.x_scale: torch.Tensor
        self.y_mean: torch.Tensor
        self.y_scale: torch.Tensor
        self.register_buffer("x_mean", _buffer(x_mean, n_features, 0.0, torch.float32))
        self.register_buffer("x_scale", _buffer(x_scale, n_features, 1.0, torch.float32))
        self.register_buffer("y_mean", _buffer(y_mean, n_outputs, 0.0, torch.float64))
        self.register_buffer("y_scale", _buffer(y_scale, n_outputs, 1.0, torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.x_mean.dtype)
        out = self.inner((x - self.x_mean) / self.x_scale)
        if not self.scales_output:
            return out
        return out.to(torch.float64) * self.y_scale + self.y_mean


class StandardizedMSELoss(nn.Module):
    """Mean squared error measured in units of each target's standard deviation.

    Computed in float64: predictions and targets may sit far from zero.

    Parameters
    ----------
    scale : array-like of shape (n_outputs,)
        Standard deviation of each target.
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns each row's error (the mean over its targets), for
        sample weights.
    """

    def __init__(self, scale: Any = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}.")
        self.reduction = reduction
        self.scale: torch.Tensor
        self.register_buffer(
            "scale", torch.as_tensor(np.asarray(scale, dtype=np.float64)).reshape(-1)
        )

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        prediction = prediction.to(torch.float64)
        target = target.to(torch.float64).reshape(prediction.shape)
        # Divide before subtracting: the difference of two huge values could overflow.
        errors = (prediction / self.scale - target / self.scale) ** 2
        if self.reduction == "none":
            return errors.reshape(len(errors), -1).mean(dim=1)
        return errors.mean()
