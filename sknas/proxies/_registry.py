"""Proxy names -> functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from torch import nn

from sknas.proxies._gradient import grad_norm, snip, synflow
from sknas.proxies._naswot import naswot
from sknas.proxies._params import params

__all__ = ["PROXIES", "DATA_FREE", "compute_proxy"]

Proxy = Callable[[nn.Module, Any, Any], float]

#: Every zero-cost proxy by name: ``proxy(module, X, y) -> float``, larger is better.
PROXIES: Mapping[str, Proxy] = MappingProxyType(
    {
        "synflow": synflow,
        "naswot": naswot,
        "snip": snip,
        "grad_norm": grad_norm,
        "params": params,
    }
)
#: Proxies that need no data (``synflow`` reads only the shape of ``X``).
DATA_FREE: frozenset[str] = frozenset({"synflow", "params"})


def compute_proxy(name: str, module: nn.Module, X: Any = None, y: Any = None) -> float:
    """Score a freshly initialised ``module`` with the proxy called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`PROXIES`.
    module : torch.nn.Module
        The network (not modified; the proxy works on a copy).
    X : array-like or torch.Tensor, optional
        A batch of inputs (``synflow`` reads only its shape; ``params`` ignores it).
    y : array-like or torch.Tensor, optional
        Its targets (needed by ``snip`` and ``grad_norm``).

    Returns
    -------
    float
        Larger means a more promising architecture.

    Raises
    ------
    ValueError
        If ``name`` is not a registered proxy, or the proxy lacks data it needs.
    TypeError
        If ``module`` is not a ``torch.nn.Module``.

    Examples
    --------
    >>> import torch
    >>> compute_proxy("params", torch.nn.Linear(4, 3))
    15.0
    """
    if not isinstance(name, str) or name not in PROXIES:
        raise ValueError(
            f"Unknown zero-cost proxy {name!r}; choose one of {sorted(PROXIES)}."
        )
    return float(PROXIES[name](module, X, y))
