"""The NAS-Bench-201 supernet: the discrete network with a mixed operation per edge.

Stem, residual reductions, final batch norm and classifier are the modules of
:class:`sknas.spaces._nb201_module.NB201Network`; every cell edge holds the
five operations of :func:`sknas.spaces._nb201_module.make_op`. With a one-hot
choice per edge (fixed, or one-hot weights) the supernet computes exactly
the discrete network, given the same weights (:func:`discrete_state_dict`).
All cells share the one set of architecture parameters, as in DARTS. The
batch norms inside the cell operations have no learned scale and shift by
default (``affine=False``, as in the searches of DARTS, NAS-Bench-201 and
DrNAS): otherwise a convolution can rescale its own output and undo the
weight its edge gives it, which blurs what the architecture weights measure.

Imported on first use only (it imports torch).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn

from sknas.oneshot.mixers import EdgeMixer
from sknas.oneshot.supernet import MixedEdge, Supernet
from sknas.spaces._nb201_module import make_op, skeleton

__all__ = ["NB201Supernet", "discrete_state_dict"]

_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


class MixedCell(nn.Module):
    """A NAS-Bench-201 cell whose six edges are :class:`MixedEdge` modules."""

    def __init__(self, channels: int, fraction: int, affine: bool = False) -> None:
        super().__init__()
        op_channels = channels // fraction
        self.edges = nn.ModuleList(
            MixedEdge([make_op(op, op_channels, affine=affine) for op in _OPS], index=e)
            for e in range(len(_EDGES))
        )

    def forward(self, x: torch.Tensor, net: Supernet) -> torch.Tensor:  # noqa: D102
        nodes = [x]
        for j in range(1, 4):
            total: torch.Tensor | None = None
            for e, (i, target) in enumerate(_EDGES):
                if target == j:
                    out = self.edges[e](nodes[i], net) * net.edge_scale(e)
                    total = out if total is None else total + out
            assert total is not None  # every node has incoming edges
            nodes.append(total)
        return nodes[3]


class NB201Supernet(Supernet):
    """NAS-Bench-201's CNN with mixed cells (built by ``NB201Space.build_supernet``).

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)``; the input is a flat batch reshaped to it.
    n_outputs : int
        Number of classes.
    mixer : EdgeMixer
        The edge mixer.
    channels : int, default=16
        Channels of the first stage.
    cells_per_stage : int, default=5
        Cells in each stage.
    affine : bool, default=False
        Whether the batch norms of the cell operations learn a scale and a
        shift (the stem, reductions and final batch norm always do).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        n_outputs: int,
        mixer: EdgeMixer,
        channels: int = 16,
        cells_per_stage: int = 5,
        affine: bool = False,
    ) -> None:
        super().__init__(mixer)
        fraction = self.mixer.channel_fraction
        for c in (channels, 2 * channels, 4 * channels):
            if c % fraction:
                raise ValueError(
                    f"The partial-channel mixer needs channels divisible by k={fraction}; the "
                    f"supernet has {c}. Use a space with channels={fraction * channels} or a "
                    "smaller k."
                )
        self.image_shape = tuple(image_shape)
        stem, layers, lastact, pooling, classifier = skeleton(
            image_shape[0], n_outputs, channels, cells_per_stage,
            lambda c: MixedCell(c, fraction, affine),
        )
        self.stem, self.cells, self.lastact = stem, nn.ModuleList(layers), lastact
        self.global_pooling, self.classifier = pooling, classifier
        self._init_arch(
            [f"edge_{i}_{j}" for i, j in _EDGES],
            [_OPS] * len(_EDGES),
            edge_groups=[[e for e, (_, t) in enumerate(_EDGES) if t == j] for j in (1, 2, 3)],
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = self.stem(x.reshape(x.shape[0], *self.image_shape))
        for layer in self.cells:
            out = layer(out, self) if isinstance(layer, MixedCell) else layer(out)
        out = self.global_pooling(self.lastact(out)).flatten(1)
        return self.classifier(out)


_EDGE_KEY = re.compile(r"^(cells\.\d+\.edges\.\d+)\.ops\.(\d+)\.(.*)$")


def discrete_state_dict(net: NB201Supernet, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """The supernet's weights as a state dict of the discrete network of ``indices``.

    Every edge keeps the weights of its chosen operation; the architecture
    parameters are dropped. A batch norm of the supernet without scale and
    shift (``affine=False``) gets scale 1 and shift 0, which computes the
    same. Loading the result into ``NB201Space.build_module(arch, ...)`` for
    the same cell gives a network that computes what the supernet computes
    with that choice fixed.

    Parameters
    ----------
    net : NB201Supernet
        A supernet without partial channels.
    indices : sequence of int
        The chosen operation of each of the six edges.

    Returns
    -------
    dict of str to torch.Tensor
    """
    if net.mixer.channel_fraction != 1:
        raise ValueError("A partial-channel supernet has no discrete counterpart of equal width.")
    state = {}
    for key, value in net.state_dict().items():
        if key in ("alphas", "betas"):
            continue
        match = _EDGE_KEY.match(key)
        if match is None:
            state[key] = value
            continue
        prefix, op, rest = match.groups()
        edge = int(prefix.rsplit(".", 1)[1])
        if int(op) == int(indices[edge]):
            state[f"{prefix}.{rest}"] = value
    for name, module in net.named_modules():
        match = _EDGE_KEY.match(f"{name}.")
        if isinstance(module, nn.BatchNorm2d) and not module.affine and match is not None:
            prefix, op, rest = match.groups()
            if int(op) == int(indices[int(prefix.rsplit(".", 1)[1])]):
                ones = torch.ones(module.num_features, device=net.alphas.device)
                state[f"{prefix}.{rest}weight"] = ones
                state[f"{prefix}.{rest}bias"] = torch.zeros_like(ones)
    return state
