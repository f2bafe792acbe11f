"""The supernet of the mobile space (ProxylessNAS, FBNet): mixed MBConv blocks per slot.

Channels change tensor shapes, so the supernet fixes the parameters that set
them: ``width_mult``, every ``stageS_channels`` and, so that stem and head do
not change either, every activation, all at the space's first candidate
(:meth:`MobileSpace.supernet_params`). Every block slot holds one MBConv per
joint choice of kernel, expansion and squeeze-and-excitation, mixed by one
row of architecture parameters (one per stage with ``granularity="stage"``,
shared by the stage's blocks; one per block otherwise). Depth is mixed as the
space chooses it: ``depth="blocks"`` mixes the stage's output after 1, 2, ...
blocks; ``depth="skip"`` mixes a block with the identity (within the block's
joint choice, as FBNet's "skip" candidate, with ``granularity="block"``; as
its own ``stageS_blockB_skip`` row with ``granularity="stage"``).

Imported on first use only (it imports torch).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from sknas.oneshot.mixers import EdgeMixer
from sknas.oneshot.supernet import Supernet
from sknas.spaces._mobile_module import ConvBNAct, MBConv, MobileHead
from sknas.spaces._mobile_nets import (
    BlockSpec,
    NetworkSpec,
    expanded_channels,
    make_divisible,
    resolve_strides,
)
from sknas.spaces.mobile import _number

if TYPE_CHECKING:  # pragma: no cover
    from sknas.spaces.mobile import MobileSpace

__all__ = ["MobileSupernet", "SKIP", "discrete_state_dict"]

#: The identity candidate of a block slot (FBNet's "skip").
SKIP = "skip"


def _mix(net: Supernet, index: int, fns: Sequence[Callable[[torch.Tensor], torch.Tensor]],
         x: torch.Tensor) -> torch.Tensor:
    """Edge ``index`` of ``net`` mixing the callables ``fns`` (its first ``len(fns)`` alphas)."""
    fixed = net.fixed[index]
    if fixed is not None:
        return fns[fixed](x)
    n = len(fns)
    mask = None if net.mask is None else net.mask[index, :n]
    ops = cast(nn.ModuleList, list(fns))  # the mixers only index and iterate their ops
    return net.mixer.mix(ops, x, net.alphas[index, :n], net.training, mask=mask)


class MobileSupernet(Supernet):
    """Stem, mixed MBConv slots and head of a :class:`~sknas.spaces.MobileSpace`.

    Built by ``MobileSpace.build_supernet``; see the module docstring for what
    is mixed and what is fixed. ``param_names[e]`` of a block edge is the
    prefix of its parameters (``"stage1_"`` or ``"stage1_block2_"``) and its
    choices are ``(kernel, expand, se)`` tuples (and :data:`SKIP`);
    :meth:`to_params` turns them into the space's parameters.

    Parameters
    ----------
    space : MobileSpace
        The space (its choices, depth and granularity).
    image_shape : tuple of int
        ``(channels, height, width)``; the input is a flat batch reshaped to it.
    n_outputs : int
        Number of outputs.
    mixer : EdgeMixer
        The edge mixer.
    """

    def __init__(self, space: MobileSpace, image_shape: Sequence[int], n_outputs: int,
                 mixer: EdgeMixer) -> None:
        super().__init__(mixer)
        if self.mixer.channel_fraction != 1 or self.mixer.edge_normalization:
            raise ValueError(
                f"The {self.mixer.name} mixer (PC-DARTS' partial channels) does not apply to the "
                "mobile supernet, whose blocks change the channel count; use another one-shot "
                "strategy (proxyless, fbnet, darts, gdas, ...)."
            )
        self.image_shape = tuple(int(v) for v in image_shape)
        self.fixed_params: dict[str, Any] = space.supernet_params()
        self.depth, self.granularity = space.depth, space.granularity
        combos = list(itertools.product(
            [int(k) for k in space.kernel_sizes], [_number(e) for e in space.expansions],
            [bool(v) for v in space.se],
        ))
        n_stages, n_slots = len(space._stage_channels()), int(space.max_blocks)
        width = float(self.fixed_params["width_mult"])
        act = str(self.fixed_params[_act_name(space, 0, 0)])
        bn = float(space.bn_momentum)
        stem = make_divisible(space.stem_channels * width)
        outs = [make_divisible(self.fixed_params[f"stage{s}_channels"] * width)
                for s in range(n_stages)]
        full = NetworkSpec(stem, act, tuple(
            BlockSpec(outs[s], 3, outs[s], False, act, 2 if s > 0 and b == 0 else 1)
            for s in range(n_stages) for b in range(n_slots)
        ), int(space.head_channels), act)
        stem_stride, strides = resolve_strides(full, self.image_shape[1], self.image_shape[2])
        self.stem = ConvBNAct(self.image_shape[0], stem, 3, stem_stride, act=act, bn_momentum=bn)

        names: list[str] = []
        choices: list[list[Any]] = []
        self.kinds: list[str] = []  # "block" or "value" per edge

        def edge(name: str, options: list[Any], kind: str) -> int:
            names.append(name)
            choices.append(options)
            self.kinds.append(kind)
            return len(names) - 1

        joint_skip = self.depth == "skip" and self.granularity == "block"
        self.block_edge: list[list[int]] = []
        self.depth_edge: list[int | list[int | None] | None] = []
        stages = []
        c_in = stem
        for s in range(n_stages):
            stage_edge = edge(f"stage{s}_", combos, "block") if self.granularity == "stage" else -1
            slots, slot_edges = [], []
            for b in range(n_slots):
                stride = strides[s * n_slots + b]
                ops: list[nn.Module] = [
                    MBConv(c_in, outs[s], k, expanded_channels(c_in, e), se, act, stride, bn)
                    for k, e, se in combos
                ]
                if self.granularity == "stage":
                    slot_edges.append(stage_edge)
                elif joint_skip and b > 0:
                    ops.append(nn.Identity())
                    slot_edges.append(edge(f"stage{s}_block{b}_", [*combos, SKIP], "block"))
                else:
                    slot_edges.append(edge(f"stage{s}_block{b}_", combos, "block"))
                slots.append(nn.ModuleList(ops))
                c_in = outs[s]
            stages.append(nn.ModuleList(slots))
            self.block_edge.append(slot_edges)
            if self.depth == "blocks":
                self.depth_edge.append(
                    edge(f"stage{s}_blocks", list(range(1, n_slots + 1)), "value")
                )
            elif joint_skip:
                self.depth_edge.append(None)
            else:
                self.depth_edge.append([None] + [
                    edge(f"stage{s}_block{b}_skip", [False, True], "value")
                    for b in range(1, n_slots)
                ])
        self.stages = nn.ModuleList(stages)
        self.head = MobileHead(c_in, int(space.head_channels), act, 0, float(space.dropout),
                               int(n_outputs), bn)
        self._init_arch(names, choices)
        self._latency: dict[str, Any] | None = None

    # -- forward ---------------------------------------------------------------------
    def _slot(self, s: int, b: int, x: torch.Tensor) -> torch.Tensor:
        ops = cast(nn.ModuleList, self.stages[s][b])  # type: ignore[index]
        return _mix(self, self.block_edge[s][b], list(ops), x)

    def _stage(self, s: int, x: torch.Tensor) -> torch.Tensor:
        n_slots = len(self.block_edge[s])
        if self.depth == "blocks":
            outputs = [x]

            def after(d: int, _: torch.Tensor) -> torch.Tensor:
                while len(outputs) <= d:  # computed once, as deep as a choice needs
                    outputs.append(self._slot(s, len(outputs) - 1, outputs[-1]))
                return outputs[d]

            depth = cast(int, self.depth_edge[s])
            return _mix(self, depth, [partial(after, d) for d in range(1, n_slots + 1)], x)
        x = self._slot(s, 0, x)
        for b in range(1, n_slots):
            if self.granularity == "block":  # the skip is one of the block's own choices
                x = self._slot(s, b, x)
            else:
                skip = cast(list, self.depth_edge[s])[b]
                x = _mix(self, skip, [partial(self._slot, s, b), _identity], x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = self.stem(x.reshape(x.shape[0], *self.image_shape))
        for s in range(len(self.stages)):
            out = self._stage(s, out)
        return self.head(out)

    # -- architecture ----------------------------------------------------------------
    def probabilities(self) -> np.ndarray:
        """The mixer's deterministic weights of every edge, zero beyond an edge's choices.

        Returns
        -------
        numpy.ndarray
            Shape ``(n_edges, n_ops)``.
        """
        probs = np.zeros(tuple(self.alphas.shape))
        with torch.no_grad():
            for e, options in enumerate(self.choices):
                n = len(options)
                row = self.mixer.probabilities(self.alphas[e, :n])
                if self.mask is not None:
                    row = row * self.mask[e, :n]
                probs[e, :n] = row.cpu().double().numpy()
        return probs

    def to_params(self, indices: Sequence[int]) -> dict[str, Any]:
        """The space's full parameter dict of one choice per edge (fixed parameters included).

        Parameters
        ----------
        indices : sequence of int

        Returns
        -------
        dict
        """
        params = dict(self.fixed_params)
        for e, k in enumerate(indices):
            name, choice = self.param_names[e], self.choices[e][int(k)]
            if self.kinds[e] == "value":
                params[name] = choice
                continue
            if SKIP in self.choices[e]:
                params[name + "skip"] = choice == SKIP
                choice = self.choices[e][0] if choice == SKIP else choice
            params.update(zip((name + "kernel", name + "expand", name + "se"), choice))
        return params

    def indices_of(self, params: Mapping[str, Any]) -> list[int]:  # type: ignore[override]
        """The choice indices of a parameter dict of the space (inverse of :meth:`to_params`).

        Parameters
        ----------
        params : mapping

        Returns
        -------
        list of int
        """
        indices = []
        for e, name in enumerate(self.param_names):
            if self.kinds[e] == "value":
                indices.append(self.choices[e].index(params[name]))
            elif params.get(name + "skip", False) and SKIP in self.choices[e]:
                indices.append(self.choices[e].index(SKIP))
            else:
                key = (params[name + "kernel"], params[name + "expand"], params[name + "se"])
                indices.append(self.choices[e].index(key))
        return indices

    def expected_cost(self) -> torch.Tensor:
        """Expected latency under the mixer's weights, over the costliest network's (in [0, 1]).

        See :mod:`sknas.spaces._mobile_latency`.

        Returns
        -------
        torch.Tensor
        """
        from sknas.spaces._mobile_latency import expected_latency

        return expected_latency(self)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _act_name(space: MobileSpace, s: int, b: int) -> str:
    return f"stage{s}_act" if space.granularity == "stage" else f"stage{s}_block{b}_act"


def discrete_state_dict(net: MobileSupernet, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """The supernet's weights as a state dict of the discrete network of ``indices``.

    Every block present keeps the weights of its chosen candidate; loading
    the result into ``MobileSpace.build_module(arch, ...)`` for the
    architecture of ``net.to_params(indices)`` gives a network that computes
    what the supernet computes with that choice fixed.

    Parameters
    ----------
    net : MobileSupernet
    indices : sequence of int

    Returns
    -------
    dict of str to torch.Tensor
    """
    params = net.to_params(indices)
    state = net.state_dict()
    out = {k: v for k, v in state.items() if k.startswith(("stem.", "head."))}
    i = 0
    for s, slots in enumerate(net.block_edge):
        for b, e in enumerate(slots):
            if net.depth == "blocks":
                present = b < int(params[f"stage{s}_blocks"])
            else:
                present = b == 0 or not params[f"stage{s}_block{b}_skip"]
            if not present:
                continue
            k = int(indices[e])
            prefix = f"stages.{s}.{b}.{k}."
            out.update({f"blocks.{i}." + key[len(prefix):]: v
                        for key, v in state.items() if key.startswith(prefix)})
            i += 1
    return out
