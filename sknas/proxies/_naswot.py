"""NASWOT: the log-determinant of the activation-pattern kernel (Mellor et al. 2021)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sknas.proxies._common import as_inputs, working_copy

__all__ = ["naswot"]

#: Rectifier-like activations whose input sign gives the binary code of a unit.
RECTIFIERS: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
)


def naswot(module: nn.Module, X: Any, y: Any = None) -> float:
    """Score of "Neural Architecture Search without Training" (Mellor et al. 2021).

    Every rectifier (ReLU and its smooth variants) of a train-mode copy
    records, for each sample of the batch, the binary code ``c`` of which of
    its units are active (input > 0). With ``N_A`` units in all, the kernel
    ``K[i, j] = N_A - hamming(c_i, c_j)`` (``C C^T + (1 - C)(1 - C)^T``)
    measures how alike the network sees two inputs; the score is
    ``log |det K|`` (:func:`torch.linalg.slogdet`). Networks that separate
    the inputs of a batch well score high.

    Parameters
    ----------
    module : torch.nn.Module
        A freshly initialised network (not modified) with at least one rectifier.
    X : array-like or torch.Tensor
        A batch of inputs (typically 64 to 128 samples).
    y : ignored
        Not used; present for a common signature.

    Returns
    -------
    float
        ``-inf`` when the kernel is singular (two samples with the same code).

    Raises
    ------
    ValueError
        If the module has no rectifier.
    """
    net = working_copy(module, "naswot").train()
    inputs = as_inputs(X, net, "naswot")
    n = inputs.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64)

    def record(layer: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        codes = (args[0].detach().reshape(n, -1) > 0).to(torch.float64).cpu()
        kernel.add_(codes @ codes.T).add_((1.0 - codes) @ (1.0 - codes).T)

    handles = [
        layer.register_forward_hook(record)
        for layer in net.modules()
        if isinstance(layer, RECTIFIERS)
    ]
    if not handles:
        raise ValueError(
            "proxy 'naswot' needs rectifier activations (ReLU, LeakyReLU, GELU, SiLU, ...) "
            f"registered as modules; {type(module).__name__} has none."
        )
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(0)  # dropout masks: deterministic, global state untouched
            net(inputs)
    finally:
        for handle in handles:
            handle.remove()
    sign, logabsdet = torch.linalg.slogdet(kernel)
    return float(logabsdet) if float(sign) != 0.0 else float("-inf")
