"""Split a built network into the blocks of a latency lookup table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["traced_blocks"]


def traced_blocks(
    module: torch.nn.Module, input_shape: Sequence[int], blocks: Sequence[torch.nn.Module]
) -> list[tuple[str, torch.nn.Module, tuple[int, ...]]]:
    """The ``(key, block, input_shape)`` list of ``blocks`` as one forward pass uses them.

    One forward pass of ``module`` on a zero batch of one records, through
    forward pre-hooks, the input shape each block receives (a block called
    several times appears once per call). The key is the block's ``repr``:
    equal keys with equal input shapes are the same operation at the same
    position, so a lookup table measures them once.

    Parameters
    ----------
    module : torch.nn.Module
        The whole network.
    input_shape : sequence of int
        Shape of one input of ``module``, without the batch dimension.
    blocks : sequence of torch.nn.Module
        Submodules of ``module`` whose latencies add up to the network's.

    Returns
    -------
    list of (str, torch.nn.Module, tuple of int)
        In the order of the forward pass; shapes without the batch dimension.
    """
    import torch

    calls: list[tuple[str, torch.nn.Module, tuple[int, ...]]] = []

    def make_hook(block: torch.nn.Module):  # noqa: ANN202
        def hook(_: torch.nn.Module, args: tuple) -> None:
            shape = tuple(int(v) for v in args[0].shape[1:])
            calls.append((" ".join(repr(block).split()), block, shape))

        return hook

    handles = [block.register_forward_pre_hook(make_hook(block)) for block in blocks]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            module(torch.zeros((1, *(int(v) for v in input_shape))))
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return calls
