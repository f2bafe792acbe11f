"""The parameter count, the baseline every zero-cost proxy is compared with."""

from __future__ import annotations

from typing import Any

from torch import nn

from sknas.proxies._common import check_module

__all__ = ["params"]


def params(module: nn.Module, X: Any = None, y: Any = None) -> float:
    """Number of trainable parameters of ``module``, data-free.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    X, y : ignored
        Not used; present for a common signature.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> params(torch.nn.Linear(3, 2))
    8.0
    """
    net = check_module(module, "params")
    return float(sum(p.numel() for p in net.parameters() if p.requires_grad))
