"""Gradient-based proxies at initialisation: synflow, snip, grad_norm."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sknas.proxies._common import (
    as_inputs,
    as_targets,
    loss_of,
    weighted_layers,
    working_copy,
)

__all__ = ["synflow", "snip", "grad_norm"]


def synflow(module: nn.Module, X: Any = None, y: Any = None) -> float:
    """Synaptic flow (Tanaka et al. 2020), data-free.

    On a float64 copy of ``module`` whose parameters are replaced by their
    absolute values, in eval mode (fresh batch norms are then the identity,
    as the reference implementation's ``bn=False`` copy), the output for an
    all-ones input is summed to ``R``; the score is
    ``sum |theta * dR/dtheta|`` over the weights of the convolution and
    linear layers.

    Parameters
    ----------
    module : torch.nn.Module
        A freshly initialised network (not modified).
    X : array-like or torch.Tensor
        Only its shape is used: the all-ones input has shape ``(1, *X.shape[1:])``.
    y : ignored
        Not used; present for a common signature.

    Returns
    -------
    float
        0 when no weight reaches the output (e.g. a cell of ``none`` edges).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(-1.0)
    >>> synflow(net, torch.zeros(4, 3))
    6.0
    """
    net = working_copy(module, "synflow", double=True).eval()
    inputs = torch.ones_like(as_inputs(X, net, "synflow")[:1])
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    with torch.enable_grad():
        net(inputs).sum().backward()
    return _sum_over_weights(net, lambda w: (w * w.grad).abs().sum())


def snip(module: nn.Module, X: Any, y: Any) -> float:
    """SNIP connection sensitivity (Lee et al. 2019) summed over the weights.

    One forward and backward pass of the loss (cross-entropy for integer
    ``y``, mean squared error for floating ``y``) on a train-mode copy; the
    score is ``sum |theta * dL/dtheta|`` over the convolution and linear
    weights.

    Parameters
    ----------
    module : torch.nn.Module
        A freshly initialised network (not modified).
    X : array-like or torch.Tensor
        A batch of inputs.
    y : array-like or torch.Tensor
        Its targets.

    Returns
    -------
    float
    """
    net = _backward_loss(module, X, y, "snip")
    return _sum_over_weights(net, lambda w: (w * w.grad).abs().sum())


def grad_norm(module: nn.Module, X: Any, y: Any) -> float:
    """Sum over layers of the Euclidean norm of the loss gradient of their weights.

    Same pass as :func:`snip` (Abdelfattah et al. 2021).

    Parameters
    ----------
    module : torch.nn.Module
        A freshly initialised network (not modified).
    X : array-like or torch.Tensor
        A batch of inputs.
    y : array-like or torch.Tensor
        Its targets.

    Returns
    -------
    float
    """
    net = _backward_loss(module, X, y, "grad_norm")
    return _sum_over_weights(net, lambda w: torch.linalg.vector_norm(w.grad))


def _backward_loss(module: nn.Module, X: Any, y: Any, name: str) -> nn.Module:
    net = working_copy(module, name).train()
    inputs = as_inputs(X, net, name)
    targets = as_targets(y, inputs.shape[0], name)
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(0)  # dropout masks: deterministic, global state untouched
        loss_of(net(inputs), targets).backward()
    return net


def _sum_over_weights(net: nn.Module, score: Any) -> float:
    total = torch.zeros((), dtype=torch.float64)
    with torch.no_grad():
        for layer in weighted_layers(net):
            weight = layer.weight
            if weight.grad is not None:
                total += score(weight).to(torch.float64).cpu()
    return float(total)
