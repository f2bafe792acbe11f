"""Network specifications of the mobile space and the known MobileNet/MnasNet layouts.

A :class:`NetworkSpec` is the resolved form of a mobile architecture: its stem,
its MBConv blocks with their channels and their stride in the 224x224 layout,
and its head. :func:`resolve_strides` adapts the strides to the input's
resolution. Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "ACTIVATIONS",
    "BlockSpec",
    "KNOWN_NETWORKS",
    "NetworkSpec",
    "known_network",
    "make_divisible",
    "resolve_strides",
]

#: Activation names the blocks understand (``hswish`` is MobileNetV3's hard swish).
ACTIVATIONS: tuple[str, ...] = ("relu", "relu6", "hswish")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never down by more than 10 %.

    The rule of the MobileNet and MnasNet reference implementations.

    Parameters
    ----------
    value : float
        The channel count to round.
    divisor : int, default=8
        The multiple.

    Returns
    -------
    int

    Examples
    --------
    >>> make_divisible(32 * 0.75), make_divisible(20), make_divisible(3)
    (24, 24, 8)
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


@dataclass(frozen=True)
class BlockSpec:
    """One MBConv (inverted residual) block.

    Parameters
    ----------
    out : int
        Output channels.
    kernel : int
        Kernel size of the depthwise convolution.
    expanded : int
        Channels of the expanded (depthwise) layer; equal to the input's, the
        block has no expansion convolution.
    se : bool
        Squeeze-and-excitation after the depthwise convolution.
    act : str
        Activation, one of :data:`ACTIVATIONS`.
    stride : int
        Stride in the 224x224 layout (1 or 2); see :func:`resolve_strides`.
    """

    out: int
    kernel: int
    expanded: int
    se: bool
    act: str
    stride: int = 1


@dataclass(frozen=True)
class NetworkSpec:
    """A whole network: stem convolution, MBConv blocks, head.

    Parameters
    ----------
    stem : int
        Channels of the 3x3 stem convolution.
    stem_act : str
        Its activation.
    blocks : tuple of BlockSpec
        The blocks in order.
    head : int
        Channels of the final 1x1 convolution (before global pooling).
    head_act : str
        Its activation (and the hidden layer's).
    hidden : int, default=0
        Width of a hidden linear layer after pooling (MobileNetV3); 0 for none.
    dropout : float, default=0.2
        Dropout before the classifier.
    stem_stride : int, default=2
        Stride of the stem in the 224x224 layout.
    """

    stem: int
    stem_act: str
    blocks: tuple[BlockSpec, ...]
    head: int
    head_act: str
    hidden: int = 0
    dropout: float = 0.2
    stem_stride: int = 2


def expanded_channels(c_in: int, ratio: float) -> int:
    """Channels of a block's expanded layer: ``round(c_in * ratio)``, at least 1."""
    return max(1, int(round(c_in * float(ratio))))


def resolve_strides(spec: NetworkSpec, height: int, width: int) -> tuple[int, list[int]]:
    """Strides of the stem and of each block for an input of ``height`` x ``width``.

    The reductions of the 224x224 layout (stride 2 of the stem and of some
    blocks) are kept while the feature map stays at least 4 pixels wide,
    i.e. at most ``floor(log2(min(height, width) / 4))`` of them; those that
    go are the earliest ones, so a small image keeps full resolution through
    the first blocks and is reduced late, as the reference layout reduces a
    224x224 image to 7x7 in five steps.

    Parameters
    ----------
    spec : NetworkSpec
        The network.
    height, width : int
        Input resolution.

    Returns
    -------
    tuple of (int, list of int)
        The stem's stride and the strides of the blocks.
    """
    side = min(int(height), int(width))
    allowed = max(0, int(math.floor(math.log2(side / 4)))) if side >= 4 else 0
    positions = [-1] if spec.stem_stride == 2 else []
    positions += [i for i, block in enumerate(spec.blocks) if block.stride == 2]
    kept = set(positions[len(positions) - allowed :]) if allowed else set()
    strides = [2 if i in kept else 1 for i in range(len(spec.blocks))]
    return (2 if -1 in kept else 1), strides


def _stages(
    stem: int,
    settings: Sequence[tuple[int, int, int, float, int]],
    act: str,
    width_mult: float,
) -> list[BlockSpec]:
    """Blocks of stages ``(out, kernel, stride, expansion ratio, repeats)`` (V2, MnasNet)."""
    blocks: list[BlockSpec] = []
    c_in = stem
    for out, kernel, stride, ratio, repeats in settings:
        c_out = make_divisible(out * width_mult)
        for i in range(repeats):
            blocks.append(
                BlockSpec(c_out, kernel, expanded_channels(c_in, ratio), False, act,
                          stride if i == 0 else 1)
            )
            c_in = c_out
    return blocks


def _mobilenet_v2(w: float) -> NetworkSpec:
    stem = make_divisible(32 * w)
    settings = [(16, 3, 1, 1, 1), (24, 3, 2, 6, 2), (32, 3, 2, 6, 3), (64, 3, 2, 6, 4),
                (96, 3, 1, 6, 3), (160, 3, 2, 6, 3), (320, 3, 1, 6, 1)]
    blocks = _stages(stem, settings, "relu6", w)
    return NetworkSpec(stem, "relu6", tuple(blocks), make_divisible(1280 * max(1.0, w)), "relu6")


def _mnasnet_1_0(w: float) -> NetworkSpec:
    # MnasNet-B1: a separable 3x3 convolution (an MBConv of ratio 1), then six stages.
    stem = make_divisible(32 * w)
    settings = [(16, 3, 1, 1, 1), (24, 3, 2, 3, 3), (40, 5, 2, 3, 3), (80, 5, 2, 6, 3),
                (96, 3, 1, 6, 2), (192, 5, 2, 6, 4), (320, 3, 1, 6, 1)]
    blocks = _stages(stem, settings, "relu", w)
    return NetworkSpec(stem, "relu", tuple(blocks), 1280, "relu")


# MobileNetV3 rows: (kernel, expanded, out, se, activation, stride), as in the paper's tables.
_V3_LARGE = [
    (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
    (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1),
    (5, 960, 160, True, "hswish", 1),
]
_V3_SMALL = [
    (3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hswish", 2), (5, 240, 40, True, "hswish", 1),
    (5, 240, 40, True, "hswish", 1), (5, 120, 48, True, "hswish", 1),
    (5, 144, 48, True, "hswish", 1), (5, 288, 96, True, "hswish", 2),
    (5, 576, 96, True, "hswish", 1), (5, 576, 96, True, "hswish", 1),
]


def _mobilenet_v3(rows: Sequence[tuple], hidden: int, w: float) -> NetworkSpec:
    blocks = [
        BlockSpec(make_divisible(out * w), kernel, make_divisible(expanded * w), se, act, stride)
        for kernel, expanded, out, se, act, stride in rows
    ]
    head = 6 * blocks[-1].out
    return NetworkSpec(make_divisible(16 * w), "hswish", tuple(blocks), head, "hswish",
                       hidden=make_divisible(hidden * w))


#: Builders of the known networks by name, each taking the width multiplier.
KNOWN_NETWORKS: dict[str, Callable[[float], NetworkSpec]] = {
    "mobilenet_v2": _mobilenet_v2,
    "mnasnet_1_0": _mnasnet_1_0,
    "mobilenet_v3_small": lambda w: _mobilenet_v3(_V3_SMALL, 1024, w),
    "mobilenet_v3_large": lambda w: _mobilenet_v3(_V3_LARGE, 1280, w),
}


def known_network(name: str, width_mult: float = 1.0) -> NetworkSpec:
    """The :class:`NetworkSpec` of a known network.

    Parameters
    ----------
    name : str
        A key of :data:`KNOWN_NETWORKS`.
    width_mult : float, default=1.0
        Width multiplier of the channels.

    Returns
    -------
    NetworkSpec
    """
    if name not in KNOWN_NETWORKS:
        raise ValueError(
            f"MobileSpace: unknown network {name!r}; known: {sorted(KNOWN_NETWORKS)}."
        )
    return KNOWN_NETWORKS[name](float(width_mult))
