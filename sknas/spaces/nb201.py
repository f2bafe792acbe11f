"""The NAS-Bench-201 cell search space.

A cell is a directed acyclic graph on four nodes; each of its six edges
``i -> j`` (``i < j``) carries one of five operations. The same cell is
stacked to build NAS-Bench-201's CNN (see :meth:`NB201Space.build_module`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution

from sknas.spaces.base import Architecture, SearchSpace
from sknas.spaces.encoding import encode_params

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["NB201Space", "NB201_OPS", "NB201_EDGES"]

#: The five operations, in NAS-Bench-201's order.
NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)
#: The six edges ``(i, j)``, in the order of the official ``arch_str``.
NB201_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
_EDGE_NAMES: tuple[str, ...] = tuple(f"edge_{i}_{j}" for i, j in NB201_EDGES)
# Operations that carry a signal along a path (everything but ``none``).
_PATH_OPS: tuple[str, ...] = NB201_OPS[1:]
# Input -> output paths as sequences of edge indices into NB201_EDGES.
_PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))


class NB201Space(SearchSpace):
    """NAS-Bench-201's cell space: 6 edges x 5 operations, 15,625 cells.

    The parameters are six categoricals ``edge_0_1, edge_0_2, edge_1_2,
    edge_0_3, edge_1_3, edge_2_3`` (the edge ``i -> j`` of the cell), each
    choosing one of ``none``, ``skip_connect``, ``nor_conv_1x1``,
    ``nor_conv_3x3``, ``avg_pool_3x3``. The canonical key of a decoded
    architecture is the official NAS-Bench-201 ``arch_str``
    ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

    Parameters
    ----------
    channels : int, default=16
        Channels ``C`` of the first stage; the later stages use ``2C`` and ``4C``.
    cells_per_stage : int, default=5
        Cells stacked in each of the three stages.
    image_shape : tuple of int, optional
        ``(channels, height, width)`` of the images, which arrive flattened.
        When None, :meth:`build_module` infers ``(3, s, s)`` or ``(1, s, s)``
        from the number of features.

    Examples
    --------
    >>> import numpy as np
    >>> space = NB201Space()
    >>> arch = space.arch_from_str(
    ...     "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    ...     "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    ... )
    >>> arch.params["edge_0_3"]
    'skip_connect'
    >>> len(space.neighbours(arch))
    24
    >>> space.encode(arch, "path").shape
    (84,)
    """

    name = "nb201"
    encodings = ("onehot", "path", "effective")
    #: Measured best on NAS-Bench-201 at 50, 100 and 150 queries (docs/benchmarks.md).
    default_strategy = "local_search"

    def __init__(
        self,
        channels: int = 16,
        cells_per_stage: int = 5,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        self.channels = channels
        self.cells_per_stage = cells_per_stage
        self.image_shape = image_shape

    # -- structure -----------------------------------------------------------------
    def distributions(self) -> dict[str, BaseDistribution]:
        """Six categoricals, one per edge, in the order of the ``arch_str``."""
        return {name: CategoricalDistribution(NB201_OPS) for name in _EDGE_NAMES}

    def decode(self, params: Mapping[str, Any]) -> Architecture:
        """Build the :class:`Architecture` of a full parameter dict.

        Parameters
        ----------
        params : mapping
            One operation name for each of ``edge_0_1 ... edge_2_3``.

        Returns
        -------
        Architecture
            Its canonical key is the official ``arch_str``.
        """
        ops = []
        for name in _EDGE_NAMES:
            if name not in params:
                raise ValueError(f"NB201Space: parameter {name!r} is missing.")
            op = params[name]
            if op not in NB201_OPS:
                raise ValueError(
                    f"NB201Space: parameter {name!r}={op!r} is not one of {list(NB201_OPS)}."
                )
            ops.append(str(op))
        return self._from_ops(ops)

    def _from_ops(self, ops: Sequence[str]) -> Architecture:
        arch_str = _arch_str(ops)
        return Architecture.from_params(
            self.name, dict(zip(_EDGE_NAMES, ops)), canonical=arch_str, description=arch_str
        )

    def ops(self, arch: Architecture) -> tuple[str, ...]:
        """The six operations of ``arch``, in the order of :data:`NB201_EDGES`.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.

        Returns
        -------
        tuple of str
        """
        params = arch.params
        return tuple(str(params[name]) for name in _EDGE_NAMES)

    def arch_from_str(self, arch_str: str) -> Architecture:
        """Parse an official ``arch_str`` such as ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

        Parameters
        ----------
        arch_str : str
            The NAS-Bench-201 string of a cell.

        Returns
        -------
        Architecture

        Raises
        ------
        ValueError
            If the string is not a valid NAS-Bench-201 cell.
        """
        nodes = str(arch_str).strip().split("+")
        error = ValueError(
            f"NB201Space: {arch_str!r} is not a NAS-Bench-201 arch_str; expected "
            "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op in " + str(list(NB201_OPS)) + "."
        )
        if len(nodes) != 3:
            raise error
        ops: list[str] = []
        for j, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise error
            parts = node[1:-1].split("|")
            if len(parts) != j:
                raise error
            for i, part in enumerate(parts):
                op, sep, source = part.partition("~")
                if not sep or source != str(i) or op not in NB201_OPS:
                    raise error
                ops.append(op)
        return self._from_ops(ops)

    def all_architectures(self) -> Iterator[Architecture]:
        """Iterate over all 15,625 cells (the last edge varies fastest)."""
        for ops in itertools.product(NB201_OPS, repeat=len(NB201_EDGES)):
            yield self._from_ops(ops)

    def isomorphism_key(self, arch: Architecture) -> str:
        """A key shared by isomorphic cells that compute the same function.

        Each node is written as the sorted sum of its incoming terms: the input
        is ``0``, an operation on node ``i`` is ``(expr_i)@op``,
        ``skip_connect`` passes ``expr_i`` on unchanged, and ``none`` (or any
        operation on a node that is exactly zero, ``#``) contributes ``#``.
        Sorting the terms makes cells that differ only by the order of
        commuting branches share one key. This is NAS-Bench-201's own rule
        for its 6,466 unique cells.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.

        Returns
        -------
        str
        """
        ops = self.ops(arch)
        nodes = ["0"]
        for j in range(1, 4):
            terms: list[str] = []
            for e, (i, target) in enumerate(NB201_EDGES):
                if target != j:
                    continue
                if ops[e] == "none" or nodes[i] == "#":
                    terms.append("#")
                elif ops[e] == "skip_connect":
                    terms.append(nodes[i])
                else:
                    terms.append(f"({nodes[i]})@{ops[e]}")
            nodes.append("+".join(sorted(terms)))
        return nodes[3]

    def is_connected(self, arch: Architecture) -> bool:
        """Whether some path of non-``none`` operations leads from input to output.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.

        Returns
        -------
        bool
        """
        ops = self.ops(arch)
        return any(all(ops[e] != "none" for e in path) for path in _PATHS)

    def effective_ops(self, arch: Architecture) -> tuple[str, ...]:
        """The operations of ``arch`` with every edge off all live paths set to ``none``.

        An edge counts when some input -> output path through it carries no
        ``none``; any other edge adds nothing to the output.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.

        Returns
        -------
        tuple of str
        """
        ops = self.ops(arch)
        live: set[int] = set()
        for path in _PATHS:
            if all(ops[e] != "none" for e in path):
                live.update(path)
        return tuple(op if e in live else "none" for e, op in enumerate(ops))

    # -- search operators ----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Architecture:
        """Draw a cell uniformly at random.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Architecture
        """
        choice = rng.integers(len(NB201_OPS), size=len(NB201_EDGES))
        return self._from_ops([NB201_OPS[int(k)] for k in choice])

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change the operation of one random edge to a different operation.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Architecture
        """
        ops = list(self.ops(arch))
        edge = int(rng.integers(len(ops)))
        others = [op for op in NB201_OPS if op != ops[edge]]
        ops[edge] = others[int(rng.integers(len(others)))]
        return self._from_ops(ops)

    def neighbours(self, arch: Architecture) -> list[Architecture]:
        """The 24 cells that differ from ``arch`` on exactly one edge.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.

        Returns
        -------
        list of Architecture
        """
        ops = self.ops(arch)
        result = []
        for edge, current in enumerate(ops):
            for op in NB201_OPS:
                if op != current:
                    result.append(self._from_ops([*ops[:edge], op, *ops[edge + 1 :]]))
        return result

    # -- encodings -----------------------------------------------------------------
    def encode(self, arch: Architecture, kind: str = "onehot") -> np.ndarray:
        """Encode ``arch`` as a float vector.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.
        kind : {"onehot", "path", "effective"}, default="onehot"
            ``"onehot"``: 30 slots, one per (edge, operation).
            ``"path"``: the path encoding of BANANAS (White et al., 2021), 84
            slots, one per sequence of 1 to 3 operations other than ``none``;
            a slot is 1 when some input -> output path of the cell carries that
            sequence (the cell has four such paths: ``0-3``, ``0-1-3``,
            ``0-2-3``, ``0-1-2-3``; a path through a ``none`` edge does not exist).

            ``"effective"``: 35 slots, the one-hot of the cell with every edge
            that lies on no input -> output path of non-``none`` operations
            set to ``none`` (such an edge does not change what the cell
            computes), then the count of each operation on the remaining edges.

        Returns
        -------
        numpy.ndarray of shape (30,), (84,) or (35,)
        """
        if kind == "onehot":
            return encode_params(self.distributions(), arch.params)
        if kind == "path":
            return _path_encoding(self.ops(arch))
        if kind == "effective":
            live = self.effective_ops(arch)
            onehot = encode_params(self.distributions(), dict(zip(_EDGE_NAMES, live)))
            counts = [float(live.count(op)) for op in NB201_OPS]
            return np.concatenate([onehot, counts])
        raise ValueError(
            f"NB201Space does not support encoding {kind!r}; supported: {list(self.encodings)}."
        )

    # -- network -------------------------------------------------------------------
    def resolve_image_shape(self, n_features_in: int) -> tuple[int, int, int]:
        """The ``(C, H, W)`` the flat inputs are reshaped to.

        Parameters
        ----------
        n_features_in : int
            Number of features of a flattened image.

        Returns
        -------
        tuple of int

        Raises
        ------
        ValueError
            If ``image_shape`` does not match ``n_features_in``, or if it is
            None and the number of features is neither ``3 s^2`` nor ``s^2``.
        """
        from sknas.spaces._images import resolve_image_shape

        return resolve_image_shape(self.image_shape, n_features_in, "NB201Space")

    def build_module(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> torch.nn.Module:
        """Build NAS-Bench-201's CNN with ``arch`` as its cell.

        A 3x3 convolution stem with batch norm, three stages of
        ``cells_per_stage`` cells with ``C``, ``2C`` and ``4C`` channels joined
        by residual reduction blocks, then batch norm, ReLU, global average
        pooling and a linear classifier. The module takes a flat batch of
        shape ``(n, n_features_in)`` and reshapes it to the image shape.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.
        n_features_in : int
            Number of features of a flattened image.
        n_outputs : int
            Number of outputs (classes).

        Returns
        -------
        torch.nn.Module
        """
        from sknas.spaces._nb201_module import NB201Network

        if not isinstance(self.channels, int) or self.channels < 1:
            raise ValueError(f"NB201Space: channels must be an int >= 1, got {self.channels!r}.")
        if not isinstance(self.cells_per_stage, int) or self.cells_per_stage < 0:
            raise ValueError(
                "NB201Space: cells_per_stage must be an int >= 0, "
                f"got {self.cells_per_stage!r}."
            )
        return NB201Network(
            ops=self.ops(arch),
            image_shape=self.resolve_image_shape(int(n_features_in)),
            n_outputs=int(n_outputs),
            channels=self.channels,
            cells_per_stage=self.cells_per_stage,
        )

    def latency_blocks(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> list[tuple[str, torch.nn.Module, tuple[int, ...]]]:
        """The stem, every edge operation of every cell, the reductions and the head.

        Each edge is a block at its stage's channels and resolution, so a
        lookup table holds 5 operations x 3 stages plus the fixed blocks (see
        :meth:`SearchSpace.latency_blocks`); the sums at the cells' nodes are
        not counted.

        Parameters
        ----------
        arch : Architecture
            A cell of this space.
        n_features_in : int
            Number of features of a flattened image.
        n_outputs : int
            Number of classes.

        Returns
        -------
        list of (str, torch.nn.Module, tuple of int)
        """
        from sknas.latency._blocks import traced_blocks
        from sknas.spaces._nb201_module import NB201Cell

        module: Any = self.build_module(arch, n_features_in, n_outputs)
        blocks: list[torch.nn.Module] = [module.stem]
        for layer in module.cells:
            blocks.extend(layer.edges if isinstance(layer, NB201Cell) else [layer])
        blocks += [module.lastact, module.global_pooling, module.classifier]
        return traced_blocks(module, (int(n_features_in),), blocks)

def _arch_str(ops: Sequence[str]) -> str:
    nodes = []
    for j in range(1, 4):
        parts = [f"{ops[e]}~{i}" for e, (i, target) in enumerate(NB201_EDGES) if target == j]
        nodes.append("|" + "|".join(parts) + "|")
    return "+".join(nodes)


def _path_slot(seq: Sequence[str]) -> int:
    n = len(_PATH_OPS)
    offset = sum(n**k for k in range(1, len(seq)))
    index = 0
    for position, op in enumerate(seq):
        index += _PATH_OPS.index(op) * n**position
    return offset + index


def _path_encoding(ops: Sequence[str]) -> np.ndarray:
    n = len(_PATH_OPS)
    vector = np.zeros(n + n**2 + n**3)
    for path in _PATHS:
        seq = [ops[e] for e in path]
        if "none" not in seq:
            vector[_path_slot(seq)] = 1.0
    return vector
