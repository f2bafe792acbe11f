"""The DARTS supernet: DARTS' search network, a mixed edge from every state to every node.

Stem, cell preprocessing, reductions and classifier are the modules of
:class:`sknas.spaces._darts_module.DARTSNetwork`; each cell has a
:class:`~sknas.oneshot.supernet.MixedEdge` from every earlier state to every
intermediate node (14 edges with four nodes), holding the operations of
:func:`sknas.spaces._darts_module.make_darts_op`. The normal cells share one
block of architecture parameters and the reduction cells another, as in
DARTS. A path (one choice per edge) is a cell of the space when every node
has exactly two edges whose choice is not ``none``; :meth:`DARTSSupernet.derive`
reads such a path off the weights by DARTS' rule.

Imported on first use only (it imports torch).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from sknas.oneshot.mixers import EdgeMixer
from sknas.oneshot.supernet import MixedEdge, Supernet
from sknas.spaces._darts_module import make_darts_op, preprocessing, stack

__all__ = ["DARTSSupernet", "MixedDARTSCell", "darts_discrete_state_dict"]

_CELLS: tuple[str, ...] = ("normal", "reduce")


def _cell_edges(n_nodes: int) -> list[tuple[int, int]]:
    """``(input, node)`` of every edge of a cell, node by node (DARTS' edge order)."""
    return [(i, j) for j in range(2, n_nodes + 2) for i in range(j)]


class MixedDARTSCell(nn.Module):
    """A DARTS cell whose every (earlier state, node) pair is a :class:`MixedEdge`.

    Parameters
    ----------
    ops : sequence of str
        Candidate operations of every edge.
    n_nodes : int
        Intermediate nodes.
    c_prev_prev, c_prev, channels : int
        Channels of the two previous cells' outputs and of this cell's nodes.
    reduction, reduction_prev : bool
        Whether this cell, and the previous one, reduce the resolution.
    offset : int
        Row of the supernet's architecture parameters of this cell's first edge.
    fraction : int
        Operations see ``channels // fraction`` channels (PC-DARTS).
    """

    def __init__(
        self,
        ops: Sequence[str],
        n_nodes: int,
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction: bool,
        reduction_prev: bool,
        offset: int,
        fraction: int = 1,
    ) -> None:
        super().__init__()
        self.preprocess0, self.preprocess1 = preprocessing(
            c_prev_prev, c_prev, channels, reduction_prev
        )
        self.reduction = reduction
        self.n_nodes = n_nodes
        self.multiplier = n_nodes
        self.edges = nn.ModuleList(
            MixedEdge(
                [make_darts_op(op, channels // fraction, 2 if reduction and i < 2 else 1)
                 for op in ops],
                index=offset + e,
            )
            for e, (i, _) in enumerate(_cell_edges(n_nodes))
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, net: Supernet) -> torch.Tensor:  # noqa: D102
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for _ in range(self.n_nodes):
            total: Any = 0.0
            for state in list(states):
                edge: MixedEdge = self.edges[e]  # type: ignore[assignment]
                total = total + edge(state, net) * net.edge_scale(edge.index)
                e += 1
            states.append(total)
        return torch.cat(states[2:], dim=1)


class DARTSSupernet(Supernet):
    """DARTS' search network (built by ``DARTSSpace.build_supernet``).

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)``; the input is a flat batch reshaped to it.
    n_outputs : int
        Number of classes.
    mixer : EdgeMixer
        The edge mixer.
    ops : sequence of str
        The space's operations; ``none`` is added when absent (an edge off a
        path computes it), and it is never derived.
    n_nodes : int
        Intermediate nodes per cell.
    channels : int
        ``C``: channels of the first cells.
    cells : int
        Cells (reduction cells at ``cells // 3`` and ``2 * cells // 3``).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        n_outputs: int,
        mixer: EdgeMixer,
        ops: Sequence[str],
        n_nodes: int,
        channels: int,
        cells: int,
    ) -> None:
        super().__init__(mixer)
        fraction = self.mixer.channel_fraction
        if channels % fraction:
            raise ValueError(
                f"The partial-channel mixer needs channels divisible by k={fraction}; the "
                f"DARTS supernet has channels={channels}. Use a space with "
                f"channels={fraction * max(1, round(channels / fraction))} or a smaller k."
            )
        self.ops = tuple(ops) if "none" in ops else (*ops, "none")
        self.none_index = self.ops.index("none")
        self.real_ops = [k for k, op in enumerate(self.ops) if op != "none"]
        if not self.real_ops:
            raise ValueError("The DARTS supernet needs an operation other than 'none' in ops.")
        self.n_nodes = int(n_nodes)
        self.cell_edges = _cell_edges(self.n_nodes)
        self.image_shape = tuple(image_shape)
        n_edges = len(self.cell_edges)
        #: Row of ``alphas`` of each cell's first edge (normal cells 0, reduction cells 14).
        self.cell_offsets: list[int] = []

        def make_cell(c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool):
            self.cell_offsets.append(n_edges if reduction else 0)
            return MixedDARTSCell(
                self.ops, self.n_nodes, c_pp, c_p, c, reduction, reduction_prev,
                offset=self.cell_offsets[-1], fraction=fraction,
            )

        self.stem, self.cells, c_prev = stack(image_shape[0], channels, cells, make_cell)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, n_outputs)
        names = [f"{cell}_edge_{i}_{j}" for cell in _CELLS for i, j in self.cell_edges]
        groups = [
            [offset + e for e, (_, j) in enumerate(self.cell_edges) if j == node]
            for offset in (0, n_edges)
            for node in range(2, self.n_nodes + 2)
        ]
        self._init_arch(names, [self.ops] * len(names), edge_groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        s0 = s1 = self.stem(x.reshape(x.shape[0], *self.image_shape))
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, self)
        return self.classifier(self.global_pooling(s1).flatten(1))

    # -- paths of the space ----------------------------------------------------------
    def _node_rows(self) -> list[tuple[str, int, list[int]]]:
        """``(cell, node, rows)``: the rows of ``alphas`` of each node's incoming edges."""
        n_edges = len(self.cell_edges)
        return [
            (cell, node, [c * n_edges + e for e, (_, j) in enumerate(self.cell_edges) if j == node])
            for c, cell in enumerate(_CELLS)
            for node in range(2, self.n_nodes + 2)
        ]

    def derive(self, weights: np.ndarray) -> list[int]:
        """DARTS' rule: per node the two inputs with the strongest op other than ``none``.

        Each of a node's incoming edges is ranked by its strongest weight over
        the operations other than ``none`` (ties: the earlier input); the two
        strongest keep that operation, the node's other edges get ``none``.

        Parameters
        ----------
        weights : numpy.ndarray of shape (n_edges, n_ops)

        Returns
        -------
        list of int
        """
        real = np.asarray(self.real_ops)
        indices = [self.none_index] * len(self.choices)
        for _, _, rows in self._node_rows():
            strength = [float(np.max(weights[r, real])) for r in rows]
            for pos in sorted(range(len(rows)), key=lambda p: (-strength[p], p))[:2]:
                row = rows[pos]
                indices[row] = int(real[int(np.argmax(weights[row, real]))])
        return indices

    def path_sizes(self) -> list[int]:
        """Per cell and node: its pair of inputs (one of ``C(j, 2)``) and two operations.

        Returns
        -------
        list of int
        """
        n_real = len(self.real_ops)
        return [
            size for _, _, rows in self._node_rows()
            for size in (len(rows) * (len(rows) - 1) // 2, n_real, n_real)
        ]

    def path_indices(self, decisions: Sequence[int]) -> list[int]:
        """The edge choices of a pair of inputs and two operations per node.

        Parameters
        ----------
        decisions : sequence of int
            Three per node of :meth:`path_sizes`.

        Returns
        -------
        list of int
        """
        indices = [self.none_index] * len(self.choices)
        for n, (_, _, rows) in enumerate(self._node_rows()):
            pair, op_a, op_b = (int(d) for d in decisions[3 * n : 3 * n + 3])
            first, second = list(itertools.combinations(range(len(rows)), 2))[pair]
            indices[rows[first]] = self.real_ops[op_a]
            indices[rows[second]] = self.real_ops[op_b]
        return indices

    def to_params(self, indices: Sequence[int]) -> dict[str, Any]:
        """The ``DARTSSpace`` parameters of a path with two edges per node that are not ``none``.

        A node's two inputs are written in increasing order.

        Parameters
        ----------
        indices : sequence of int
            One choice per edge.

        Returns
        -------
        dict

        Raises
        ------
        ValueError
            When a node does not have exactly two edges other than ``none``.
        """
        params: dict[str, Any] = {}
        for cell, node, rows in self._node_rows():
            kept = [(pos, int(indices[r])) for pos, r in enumerate(rows)
                    if int(indices[r]) != self.none_index]
            if len(kept) != 2:
                raise ValueError(
                    f"The path gives node {node} of the {cell} cell {len(kept)} inputs; a "
                    "DARTS cell takes two (use derive to read a path off weights)."
                )
            for k, (pos, op) in enumerate(kept):
                params[f"{cell}_{node}_{k}_input"] = pos
                params[f"{cell}_{node}_{k}_op"] = self.ops[op]
        return params

    def indices_of(self, params: dict[str, Any]) -> list[int]:
        """The path of a ``DARTSSpace`` parameter dict (inverse of :meth:`to_params`).

        Parameters
        ----------
        params : dict

        Returns
        -------
        list of int

        Raises
        ------
        ValueError
            When a node takes one input twice or an operation is ``none`` (the
            supernet has one edge per input).
        """
        indices = [self.none_index] * len(self.choices)
        for cell, node, rows in self._node_rows():
            inputs = [int(params[f"{cell}_{node}_{k}_input"]) for k in (0, 1)]
            ops = [self.ops.index(params[f"{cell}_{node}_{k}_op"]) for k in (0, 1)]
            if inputs[0] == inputs[1] or self.none_index in ops:
                raise ValueError(
                    f"Node {node} of the {cell} cell takes input {inputs[0]} twice or a "
                    "'none' operation; the supernet holds two distinct inputs per node."
                )
            for i, op in zip(inputs, ops):
                indices[rows[i]] = op
        return indices


_EDGE_KEY = re.compile(r"^cells\.(\d+)\.edges\.(\d+)\.ops\.(\d+)\.(.*)$")


def darts_discrete_state_dict(
    net: DARTSSupernet, indices: Sequence[int]
) -> dict[str, torch.Tensor]:
    """The supernet's weights as a state dict of the discrete network of a path.

    Each kept edge gives the weights of its chosen operation to the discrete
    cell's operation of the same node and input; preprocessing, stem and
    classifier are copied and the architecture parameters dropped. The result
    loads into ``DARTSSpace.build_module(space.decode(net.to_params(indices)), ...)``.

    Parameters
    ----------
    net : DARTSSupernet
        A supernet without partial channels.
    indices : sequence of int
        A path of :meth:`DARTSSupernet.to_params`.

    Returns
    -------
    dict of str to torch.Tensor
    """
    if net.mixer.channel_fraction != 1:
        raise ValueError("A partial-channel supernet has no discrete counterpart of equal width.")
    n_edges = len(net.cell_edges)
    slots: dict[int, int] = {}  # edge of a cell -> operation of the discrete cell
    for c in (0, 1):
        counts: dict[int, int] = {}
        for e, (_, node) in enumerate(net.cell_edges):
            if int(indices[c * n_edges + e]) != net.none_index:
                k = counts.get(node, 0)
                counts[node] = k + 1
                slots[c * n_edges + e] = 2 * (node - 2) + k
    state = {}
    for key, value in net.state_dict().items():
        if key in ("alphas", "betas"):
            continue
        match = _EDGE_KEY.match(key)
        if match is None:
            state[key] = value
            continue
        cell, edge, op, rest = match.groups()
        row = int(edge) + net.cell_offsets[int(cell)]
        if row in slots and int(op) == int(indices[row]):
            state[f"cells.{cell}.ops.{slots[row]}.{rest}"] = value
    return state
