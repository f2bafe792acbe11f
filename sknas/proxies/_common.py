"""Shared helpers of the zero-cost proxies: inputs, losses, a private working copy."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["as_inputs", "as_targets", "check_module", "loss_of", "working_copy", "weighted_layers"]

#: Layers whose ``weight`` the gradient-based proxies score (as in Abdelfattah et al. 2021).
WEIGHTED_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def check_module(module: Any, proxy: str) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"proxy {proxy!r} needs a torch.nn.Module, got {type(module).__name__}; "
            "build one with search_space.build_module(arch, n_features_in, n_outputs)."
        )
    return module


def _reference_tensor(module: nn.Module) -> torch.Tensor | None:
    for param in module.parameters():
        return param
    for buffer in module.buffers():
        return buffer
    return None


def working_copy(module: Any, proxy: str, *, double: bool = False) -> nn.Module:
    """A deep copy of ``module`` that a proxy may change freely.

    Parameters
    ----------
    module : torch.nn.Module
        The caller's module; it is never modified.
    proxy : str
        Name of the proxy (for error messages).
    double : bool, default=False
        Convert the copy to float64.

    Returns
    -------
    torch.nn.Module
    """
    net = copy.deepcopy(check_module(module, proxy))
    if double:
        net = net.double()
    for param in net.parameters():
        param.grad = None
    return net


def as_inputs(X: Any, module: nn.Module, proxy: str) -> torch.Tensor:
    """``X`` as a floating tensor on the module's device and in its dtype.

    Parameters
    ----------
    X : array-like or torch.Tensor
        A batch of inputs, samples along the first axis.
    module : torch.nn.Module
        Gives the device and floating dtype.
    proxy : str
        Name of the proxy (for error messages).

    Returns
    -------
    torch.Tensor
    """
    if X is None:
        raise ValueError(
            f"proxy {proxy!r} needs a batch X (at least the input shape); got X=None."
        )
    reference = _reference_tensor(module)
    dtype = reference.dtype if reference is not None and reference.is_floating_point() else None
    device = reference.device if reference is not None else None
    tensor = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
    tensor = tensor.to(device=device, dtype=dtype or torch.get_default_dtype())
    if tensor.ndim < 2 or tensor.shape[0] < 1:
        raise ValueError(
            f"proxy {proxy!r}: X must be a batch of shape (n_samples, ...) with "
            f"n_samples >= 1, got shape {tuple(tensor.shape)}."
        )
    return tensor


def as_targets(y: Any, n_samples: int, proxy: str) -> torch.Tensor:
    """``y`` as a tensor: int64 class labels, or floating regression targets.

    Parameters
    ----------
    y : array-like or torch.Tensor
        One target (or one row of targets) per sample.
    n_samples : int
        Number of samples of the batch.
    proxy : str
        Name of the proxy (for error messages).

    Returns
    -------
    torch.Tensor
    """
    if y is None:
        raise ValueError(f"proxy {proxy!r} is data-dependent and needs targets y; got y=None.")
    tensor = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if tensor.shape[0] != n_samples:
        raise ValueError(
            f"proxy {proxy!r}: y has {tensor.shape[0]} rows but X has {n_samples} samples."
        )
    if tensor.is_floating_point():
        return tensor
    return tensor.long()


def loss_of(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for integer targets, mean squared error for floating ones.

    Parameters
    ----------
    output : torch.Tensor of shape (n_samples, n_outputs)
        The network's output.
    target : torch.Tensor
        From :func:`as_targets`.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    if target.is_floating_point():
        target = target.to(output.dtype).reshape(output.shape)
        return nn.functional.mse_loss(output, target)
    return nn.functional.cross_entropy(output, target.to(output.device))


def weighted_layers(module: nn.Module) -> Iterator[nn.Module]:
    """Convolution and linear layers of ``module``, in registration order."""
    for layer in module.modules():
        if isinstance(layer, WEIGHTED_LAYERS):
            yield layer
