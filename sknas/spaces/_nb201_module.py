"""PyTorch network of a :class:`~sknas.spaces.NB201Space` cell (NAS-Bench-201's CNN)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = ["NB201Network", "NB201Cell", "ResidualReduction", "ReLUConvBN"]

_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


class ReLUConvBN(nn.Sequential):
    """ReLU -> convolution (no bias) -> batch norm (``affine=False``: no scale and shift)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class Zero(nn.Module):
    """The ``none`` operation: a zero tensor of the input's shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int, affine: bool = True) -> nn.Module:
    """The module of one cell operation (stride 1, same channels in and out).

    Parameters
    ----------
    name : str
        One of ``none``, ``skip_connect``, ``nor_conv_1x1``, ``nor_conv_3x3``,
        ``avg_pool_3x3``.
    channels : int
        Channels of the cell.
    affine : bool, default=True
        Whether the batch norms of the convolutions learn a scale and a
        shift (supernets use False, as DARTS and NAS-Bench-201's searches do).

    Returns
    -------
    torch.nn.Module
    """
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0, affine=affine)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1, affine=affine)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"Unknown NAS-Bench-201 operation {name!r}.")


class NB201Cell(nn.Module):
    """One cell: node ``j`` is the sum over ``i < j`` of ``op_ij(node_i)``; node 3 is the output."""

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, 4):
            total = None
            for e, (i, target) in enumerate(_EDGES):
                if target == j:
                    out = self.edges[e](nodes[i])
                    total = out if total is None else total + out
            assert total is not None
            nodes.append(total)
        return nodes[3]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction block: a stride-2 residual basic block.

    Main path: ReLU-Conv3x3(stride 2)-BN, ReLU-Conv3x3-BN; shortcut: 2x2 average
    pooling followed by a 1x1 convolution.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def skeleton(
    in_channels: int,
    n_outputs: int,
    channels: int,
    cells_per_stage: int,
    make_cell: Callable[[int], nn.Module],
) -> tuple[nn.Module, list[nn.Module], nn.Module, nn.Module, nn.Module]:
    """The modules of NAS-Bench-201's CNN around its cells (shared with the supernet).

    Returns the stem, the list of cells (``make_cell(channels)``) and
    reductions of the three stages, the final batch norm + ReLU, the global
    pooling and the linear classifier.
    """
    stem = nn.Sequential(
        nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
    )
    layers: list[nn.Module] = []
    c_prev = channels
    for stage, c in enumerate((channels, 2 * channels, 4 * channels)):
        if stage > 0:
            layers.append(ResidualReduction(c_prev, c))
        layers.extend(make_cell(c) for _ in range(cells_per_stage))
        c_prev = c
    lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
    return stem, layers, lastact, nn.AdaptiveAvgPool2d(1), nn.Linear(c_prev, n_outputs)


class NB201Network(nn.Module):
    """NAS-Bench-201's CNN: stem, three stages of cells, reductions, classifier.

    Parameters
    ----------
    ops : sequence of str
        The six operations of the cell, edges ``0-1, 0-2, 1-2, 0-3, 1-3, 2-3``.
    image_shape : tuple of int
        ``(channels, height, width)``; the input is a flat batch reshaped to it.
    n_outputs : int
        Number of classes.
    channels : int, default=16
        Channels of the first stage.
    cells_per_stage : int, default=5
        Cells in each stage.
    """

    def __init__(
        self,
        ops: Sequence[str],
        image_shape: tuple[int, int, int],
        n_outputs: int,
        channels: int = 16,
        cells_per_stage: int = 5,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        stem, layers, lastact, pooling, classifier = skeleton(
            image_shape[0], n_outputs, channels, cells_per_stage, lambda c: NB201Cell(ops, c)
        )
        self.stem, self.cells, self.lastact = stem, nn.Sequential(*layers), lastact
        self.global_pooling, self.classifier = pooling, classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], *self.image_shape)
        out = self.lastact(self.cells(self.stem(x)))
        out = self.global_pooling(out).flatten(1)
        return self.classifier(out)
