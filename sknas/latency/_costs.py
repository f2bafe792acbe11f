"""Parameter and FLOP counts of a module (no training, no timing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["count_parameters", "count_flops"]


def count_parameters(module: torch.nn.Module) -> int:
    """Number of parameters of ``module`` (trainable or not).

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    int

    Examples
    --------
    >>> import torch
    >>> count_parameters(torch.nn.Linear(3, 2))
    8
    """
    return int(sum(p.numel() for p in module.parameters()))


def count_flops(module: torch.nn.Module, input_shape: Sequence[int], *, batch_size: int = 1) -> int:
    """Floating-point operations of one forward pass, counted by torch.

    Counted with :class:`torch.utils.flop_counter.FlopCounterMode` (a
    multiply-add is two FLOPs; matrix products and convolutions are counted,
    element-wise operations are not), in evaluation mode without gradients.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    input_shape : sequence of int
        Shape of one input, without the batch dimension.
    batch_size : int, default=1
        Inputs per forward pass.

    Returns
    -------
    int

    Examples
    --------
    >>> import torch
    >>> count_flops(torch.nn.Linear(3, 2), (3,))
    12
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    was_training = module.training
    module.eval()
    x = torch.zeros((int(batch_size), *(int(v) for v in input_shape)))
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(x)
    finally:
        module.train(was_training)
    return int(counter.get_total_flops())
