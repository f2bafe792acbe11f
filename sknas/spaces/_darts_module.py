"""PyTorch network of a :class:`~sknas.spaces.DARTSSpace` genotype (DARTS' NetworkCIFAR).

The operations, cells and stack follow the reference implementation of DARTS
(Liu et al., 2019, ``cnn/operations.py`` and ``cnn/model.py``) layer for
layer, so that parameter counts match the paper's; the auxiliary head and
drop-path are not part of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from sknas.spaces._nb201_module import ReLUConvBN

__all__ = ["DARTSNetwork", "DARTSCell", "make_darts_op", "preprocessing", "stack"]


class Zero(nn.Module):
    """The ``none`` operation: zeros of the (strided) input's shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convolutions, concatenated."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        # The shifted path is padded so that odd sizes give the same output size.
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class DilConv(nn.Sequential):
    """ReLU -> depthwise (dilated) convolution -> pointwise convolution -> batch norm."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, padding=0, bias=False),
            nn.BatchNorm2d(c_out),
        )


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable convolutions (the first one strided)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1),
            DilConv(c_in, c_out, kernel, 1, padding, 1),
        )


def make_darts_op(name: str, channels: int, stride: int) -> nn.Module:
    """The module of one DARTS operation.

    Parameters
    ----------
    name : str
        One of ``none``, ``max_pool_3x3``, ``avg_pool_3x3``, ``skip_connect``,
        ``sep_conv_3x3``, ``sep_conv_5x5``, ``sep_conv_7x7``, ``dil_conv_3x3``,
        ``dil_conv_5x5``.
    channels : int
        Channels in and out.
    stride : int
        1, or 2 on the inputs of a reduction cell.

    Returns
    -------
    torch.nn.Module
    """
    if name == "none":
        return Zero(stride)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels)
    if name.startswith("sep_conv_"):
        kernel = int(name.rsplit("x", 1)[1])
        return SepConv(channels, channels, kernel, stride, kernel // 2)
    if name.startswith("dil_conv_"):
        kernel = int(name.rsplit("x", 1)[1])
        return DilConv(channels, channels, kernel, stride, kernel - 1, 2)
    raise ValueError(f"Unknown DARTS operation {name!r}.")


def preprocessing(
    c_prev_prev: int, c_prev: int, channels: int, reduction_prev: bool
) -> tuple[nn.Module, nn.Module]:
    """The modules that bring a cell's two inputs to ``channels`` (and one resolution).

    Parameters
    ----------
    c_prev_prev, c_prev : int
        Channels of the two previous cells' outputs.
    channels : int
        Channels of the cell.
    reduction_prev : bool
        Whether the previous cell reduced (input 0 is then reduced too).

    Returns
    -------
    tuple of torch.nn.Module
    """
    first: nn.Module = (
        FactorizedReduce(c_prev_prev, channels)
        if reduction_prev
        else ReLUConvBN(c_prev_prev, channels, 1, 1, 0)
    )
    return first, ReLUConvBN(c_prev, channels, 1, 1, 0)


def stack(
    image_channels: int, channels: int, cells: int, make_cell: Callable[..., nn.Module]
) -> tuple[nn.Sequential, nn.ModuleList, int]:
    """DARTS' stem and cells: reduction cells at 1/3 and 2/3 of the depth.

    Parameters
    ----------
    image_channels : int
        Channels of the images.
    channels : int
        ``C``: channels of the first cells (the stem has ``3C``).
    cells : int
        Number of cells.
    make_cell : callable
        ``make_cell(c_prev_prev, c_prev, channels, reduction, reduction_prev)``
        returns a cell with a ``multiplier`` (nodes concatenated in its output).

    Returns
    -------
    stem : torch.nn.Sequential
    cells : torch.nn.ModuleList
    c_out : int
        Channels of the last cell's output.
    """
    c_curr = 3 * channels
    stem = nn.Sequential(
        nn.Conv2d(image_channels, c_curr, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_curr),
    )
    c_prev_prev, c_prev, c_curr = c_curr, c_curr, channels
    layers = nn.ModuleList()
    reduction_prev = False
    for i in range(cells):
        reduction = i in (cells // 3, 2 * cells // 3)
        if reduction:
            c_curr *= 2
        cell: Any = make_cell(c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
        reduction_prev = reduction
        layers.append(cell)
        c_prev_prev, c_prev = c_prev, int(cell.multiplier) * c_curr
    return stem, layers, c_prev


class DARTSCell(nn.Module):
    """A normal or reduction cell: each node sums two operations on earlier states.

    Parameters
    ----------
    edges : sequence of (str, int)
        Two ``(operation, input)`` pairs per intermediate node, in node order;
        inputs 0 and 1 are the outputs of the two previous cells.
    c_prev_prev, c_prev : int
        Channels of the two previous cells' outputs.
    channels : int
        Channels of every node of this cell.
    reduction : bool
        Whether the operations on the inputs 0 and 1 have stride 2.
    reduction_prev : bool
        Whether the previous cell reduced (then input 0 is reduced too).
    """

    def __init__(
        self,
        edges: Sequence[tuple[str, int]],
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.preprocess0, self.preprocess1 = preprocessing(
            c_prev_prev, c_prev, channels, reduction_prev
        )
        self.indices = [int(index) for _, index in edges]
        self.ops = nn.ModuleList(
            make_darts_op(name, channels, 2 if reduction and index < 2 else 1)
            for name, index in edges
        )
        self.n_nodes = len(edges) // 2
        self.multiplier = self.n_nodes

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(self.n_nodes):
            a, b = 2 * node, 2 * node + 1
            states.append(
                self.ops[a](states[self.indices[a]]) + self.ops[b](states[self.indices[b]])
            )
        return torch.cat(states[2:], dim=1)


class DARTSNetwork(nn.Module):
    """DARTS' CIFAR network: a 3x3 stem of ``3C`` channels, stacked cells, a classifier.

    Cells at 1/3 and 2/3 of the depth are reduction cells (half the
    resolution, twice the channels); every other cell is a normal cell.

    Parameters
    ----------
    normal, reduce : sequence of (str, int)
        The genotype's edges of the normal and of the reduction cell.
    image_shape : tuple of int
        ``(channels, height, width)``; the input is a flat batch reshaped to it.
    n_outputs : int
        Number of classes.
    channels : int
        ``C``: channels of the first cells.
    cells : int
        Number of cells.
    """

    def __init__(
        self,
        normal: Sequence[tuple[str, int]],
        reduce: Sequence[tuple[str, int]],
        image_shape: tuple[int, int, int],
        n_outputs: int,
        channels: int,
        cells: int,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.stem, self.cells, c_prev = stack(
            image_shape[0], channels, cells,
            lambda c_pp, c_p, c, reduction, reduction_prev: DARTSCell(
                reduce if reduction else normal, c_pp, c_p, c, reduction, reduction_prev
            ),
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], *self.image_shape)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.global_pooling(s1).flatten(1))
