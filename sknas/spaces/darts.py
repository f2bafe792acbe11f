"""The DARTS / NASNet cell search space: a normal and a reduction cell, stacked.

Each cell has ``n_nodes`` intermediate nodes; node ``j`` (numbered from 2, as
in DARTS: 0 and 1 are the outputs of the two previous cells) sums two
operations, each applied to one earlier state. The cell's output concatenates
every intermediate node. See :meth:`DARTSSpace.build_module` for the network.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from optuna.distributions import BaseDistribution, CategoricalDistribution
from sklearn.base import clone

from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["DARTSSpace", "DARTS_OPS", "Genotype", "PUBLISHED_CELLS"]

#: DARTS' eight candidate operations (``PRIMITIVES`` of the reference code).
DARTS_OPS: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
#: Every operation the network builder knows (DARTS' eight and NASNet's 7x7).
KNOWN_OPS: frozenset[str] = frozenset(DARTS_OPS) | {"sep_conv_7x7"}
_CELLS: tuple[str, ...] = ("normal", "reduce")


class Genotype(NamedTuple):
    """DARTS' genotype: two ``(operation, input)`` pairs per node of each cell.

    ``str(genotype)`` is the reference code's notation, which
    :meth:`DARTSSpace.from_genotype` reads back.
    """

    normal: list[tuple[str, int]]
    normal_concat: list[int]
    reduce: list[tuple[str, int]]
    reduce_concat: list[int]


#: Published cells (``cnn/genotypes.py`` of DARTS), by name.
PUBLISHED_CELLS: dict[str, Genotype] = {
    "darts_v1": Genotype(
        normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0),
                ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1),
                ("sep_conv_3x3", 0), ("skip_connect", 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                ("max_pool_3x3", 0), ("max_pool_3x3", 0), ("skip_connect", 2),
                ("skip_connect", 2), ("avg_pool_3x3", 0)],
        reduce_concat=[2, 3, 4, 5],
    ),
    "darts_v2": Genotype(
        normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0),
                ("sep_conv_3x3", 1), ("sep_conv_3x3", 1), ("skip_connect", 0),
                ("skip_connect", 0), ("dil_conv_3x3", 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                ("max_pool_3x3", 1), ("max_pool_3x3", 0), ("skip_connect", 2),
                ("skip_connect", 2), ("max_pool_3x3", 1)],
        reduce_concat=[2, 3, 4, 5],
    ),
}


class DARTSSpace(SearchSpace):
    """DARTS' cell space (Liu et al., 2019), NASNet's normal/reduction-cell design.

    The parameters are, for each cell (``normal``, ``reduce``), each node
    ``j = 2 ... n_nodes + 1`` and each of its two inputs ``k = 0, 1``, a
    categorical ``{cell}_{j}_{k}_input`` (an earlier state ``0 ... j - 1``)
    and a categorical ``{cell}_{j}_{k}_op`` (one of ``ops``). The canonical
    key writes each node's two ``(operation, input)`` pairs sorted, so that
    cells differing only by the order of a node's terms are one architecture.

    The network (:meth:`build_module`) is DARTS' CIFAR network: a stem of
    ``3 * channels`` channels, ``cells`` cells with reduction cells at 1/3 and
    2/3 of the depth, global pooling and a linear classifier. **Transfer**:
    candidates are trained with ``cells`` and ``channels``; the estimators'
    refit builds the chosen cells with ``final_cells`` and ``final_channels``
    (:meth:`for_refit`), as NASNet and DARTS searched on a small stack and
    trained a large one.

    Parameters
    ----------
    channels : int, default=8
        Channels ``C`` of the first cells during the search.
    cells : int, default=5
        Cells stacked during the search.
    final_cells : int, optional
        Cells of the network refit on all the data (None: ``cells``).
    final_channels : int, optional
        Channels of the network refit on all the data (None: ``channels``).
    n_nodes : int, default=4
        Intermediate nodes per cell.
    ops : sequence of str, default=DARTS_OPS
        Candidate operations, a subset of DARTS' eight (and ``sep_conv_7x7``).
    image_shape : tuple of int, optional
        ``(channels, height, width)`` of the images, which arrive flattened.
        None infers ``(3, s, s)`` or ``(1, s, s)`` from the number of features
        (the estimators set it from 4-D input).

    Examples
    --------
    >>> space = DARTSSpace()
    >>> arch = DARTSSpace.cell("darts_v2")
    >>> space.genotype(arch).normal[:2]
    [('sep_conv_3x3', 0), ('sep_conv_3x3', 1)]
    >>> space.from_genotype(str(space.genotype(arch))) == arch
    True
    >>> DARTSSpace(cells=5, final_cells=20).for_refit().cells
    20
    """

    name = "darts"

    def __init__(
        self,
        channels: int = 8,
        cells: int = 5,
        final_cells: int | None = None,
        final_channels: int | None = None,
        n_nodes: int = 4,
        ops: Sequence[str] = DARTS_OPS,
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
        self.channels = channels
        self.cells = cells
        self.final_cells = final_cells
        self.final_channels = final_channels
        self.n_nodes = n_nodes
        self.ops = ops
        self.image_shape = image_shape

    # -- configuration ------------------------------------------------------------
    def _ops(self) -> tuple[str, ...]:
        ops = tuple(self.ops)
        unknown = sorted(set(ops) - KNOWN_OPS)
        if not ops or unknown or len(set(ops)) != len(ops):
            raise ValueError(
                f"DARTSSpace: ops must be distinct names among {sorted(KNOWN_OPS)}; got "
                f"{list(ops)!r}" + (f" (unknown {unknown})." if unknown else ".")
            )
        return ops

    def _n_nodes(self) -> int:
        if isinstance(self.n_nodes, bool) or not isinstance(self.n_nodes, int) or (
            self.n_nodes < 1
        ):
            raise ValueError(f"DARTSSpace: n_nodes must be an int >= 1, got {self.n_nodes!r}.")
        return self.n_nodes

    def _slots(self) -> list[tuple[str, int, int]]:
        return [
            (cell, node, k)
            for cell in _CELLS
            for node in range(2, self._n_nodes() + 2)
            for k in (0, 1)
        ]

    # -- structure -----------------------------------------------------------------
    def distributions(self) -> dict[str, BaseDistribution]:
        """Per cell, node and input: a categorical input and a categorical operation.

        Returns
        -------
        dict of str to CategoricalDistribution
        """
        ops = self._ops()
        result: dict[str, BaseDistribution] = {}
        for cell, node, k in self._slots():
            result[f"{cell}_{node}_{k}_input"] = CategoricalDistribution(tuple(range(node)))
            result[f"{cell}_{node}_{k}_op"] = CategoricalDistribution(ops)
        return result

    def decode(self, params: Mapping[str, Any]) -> Architecture:
        """Build the :class:`Architecture` of a full parameter dict.

        Parameters
        ----------
        params : mapping
            A value for every parameter of :meth:`distributions`.

        Returns
        -------
        Architecture
            Its description is the genotype in DARTS' notation.
        """
        self.check_params(params)
        edges: dict[str, list[tuple[str, int]]] = {cell: [] for cell in _CELLS}
        for cell, node, k in self._slots():
            edges[cell].append(
                (str(params[f"{cell}_{node}_{k}_op"]), int(params[f"{cell}_{node}_{k}_input"]))
            )
        return self._from_edges(edges["normal"], edges["reduce"])

    def _from_edges(
        self, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]]
    ) -> Architecture:
        params: dict[str, Any] = {}
        for cell, edges in zip(_CELLS, (normal, reduce)):
            for (op, index), (_, node, k) in zip(edges, self._slots()):
                params[f"{cell}_{node}_{k}_input"] = int(index)
                params[f"{cell}_{node}_{k}_op"] = str(op)
        concat = list(range(2, self._n_nodes() + 2))
        genotype = Genotype(
            [(str(o), int(i)) for o, i in normal], concat,
            [(str(o), int(i)) for o, i in reduce], list(concat),
        )
        key = f"normal={_cell_key(normal)};reduce={_cell_key(reduce)}"
        return Architecture.from_params(self.name, params, canonical=key,
                                        description=str(genotype))

    def genotype(self, arch: Architecture) -> Genotype:
        """The genotype of ``arch`` in DARTS' notation.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        Genotype
        """
        params = arch.params
        edges: dict[str, list[tuple[str, int]]] = {cell: [] for cell in _CELLS}
        for cell, node, k in self._slots():
            edges[cell].append(
                (str(params[f"{cell}_{node}_{k}_op"]), int(params[f"{cell}_{node}_{k}_input"]))
            )
        concat = list(range(2, self._n_nodes() + 2))
        return Genotype(edges["normal"], concat, edges["reduce"], list(concat))

    def from_genotype(self, genotype: Genotype | str) -> Architecture:
        """The architecture of a genotype, given as a :class:`Genotype` or its string.

        Parameters
        ----------
        genotype : Genotype or str
            E.g. ``"Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5],
            reduce=[...], reduce_concat=[2, 3, 4, 5])"`` (``range(2, 6)`` is read too).

        Returns
        -------
        Architecture

        Raises
        ------
        ValueError
            When the genotype does not belong to this space (wrong number of
            nodes, an operation not in ``ops``, an input that is not an
            earlier state, or a ``concat`` other than every intermediate node).
        """
        if isinstance(genotype, str):
            genotype = _parse_genotype(genotype)
        n_nodes = self._n_nodes()
        concat = list(range(2, n_nodes + 2))
        fields = genotype._asdict() if isinstance(genotype, Genotype) else dict(genotype)
        for cell in _CELLS:
            edges = list(fields[cell])
            if len(edges) != 2 * n_nodes:
                raise ValueError(
                    f"DARTSSpace: the genotype's {cell} cell has {len(edges)} edges; this space "
                    f"(n_nodes={n_nodes}) needs {2 * n_nodes} (two per node)."
                )
            if list(fields[f"{cell}_concat"]) != concat:
                raise ValueError(
                    f"DARTSSpace: {cell}_concat={list(fields[f'{cell}_concat'])}; this space "
                    f"concatenates every intermediate node, {concat}."
                )
        params: dict[str, Any] = {}
        for cell in _CELLS:
            for (op, index), (_, node, k) in zip(fields[cell], self._slots()):
                params[f"{cell}_{node}_{k}_input"] = index
                params[f"{cell}_{node}_{k}_op"] = op
        return self.decode(params)

    @classmethod
    def cell(cls, name: str) -> Architecture:
        """A published cell by name: ``"darts_v1"`` or ``"darts_v2"``.

        Parameters
        ----------
        name : str
            A key of :data:`PUBLISHED_CELLS`.

        Returns
        -------
        Architecture
            An architecture of the default space (four nodes, DARTS' eight operations).
        """
        if name not in PUBLISHED_CELLS:
            raise ValueError(
                f"Unknown published cell {name!r}; known: {sorted(PUBLISHED_CELLS)}."
            )
        return cls().from_genotype(PUBLISHED_CELLS[name])

    def initial_params(self) -> list[dict[str, Any]]:
        """DARTS V2's cells first, when this space holds them.

        Returns
        -------
        list of dict
        """
        try:
            return [self.to_params(self.from_genotype(PUBLISHED_CELLS["darts_v2"]))]
        except ValueError:
            return []

    def for_refit(self) -> DARTSSpace:
        """The space with ``final_cells`` and ``final_channels`` as its stack.

        Returns
        -------
        DARTSSpace
            A copy whose :meth:`build_module` builds the refit network.
        """
        return clone(self).set_params(
            cells=self.cells if self.final_cells is None else self.final_cells,
            channels=self.channels if self.final_channels is None else self.final_channels,
            final_cells=None,
            final_channels=None,
        )

    # -- network -------------------------------------------------------------------
    def build_module(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> torch.nn.Module:
        """Build DARTS' CIFAR network with the cells of ``arch``.

        A 3x3 convolution stem of ``3 * channels`` channels with batch norm,
        ``cells`` cells (reduction cells at ``cells // 3`` and
        ``2 * cells // 3``: half the resolution, twice the channels), global
        average pooling and a linear classifier, layer for layer as DARTS'
        ``NetworkCIFAR`` without its auxiliary head and drop-path. The module
        takes a flat batch of shape ``(n, n_features_in)`` and reshapes it to
        the image shape.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        n_features_in : int
            Number of features of a flattened image.
        n_outputs : int
            Number of outputs (classes).

        Returns
        -------
        torch.nn.Module
        """
        from sknas.spaces._darts_module import DARTSNetwork

        genotype = self.genotype(arch)
        return DARTSNetwork(
            normal=genotype.normal,
            reduce=genotype.reduce,
            image_shape=self._image_shape(n_features_in),
            n_outputs=int(n_outputs),
            channels=self.channels,
            cells=self.cells,
        )

    def build_supernet(self, n_features_in: int, n_outputs: int, mixer: Any) -> torch.nn.Module:
        """Build DARTS' search network: a mixed edge from every state to every node.

        The supernet has the stem, cell preprocessing, reductions and
        classifier of :meth:`build_module` (``cells`` cells of ``channels``
        channels: the small search stack) and, in each cell, a mixed edge
        from every earlier state to every intermediate node holding every
        operation of ``ops`` (and ``none``). Normal cells share one block of
        architecture parameters, reduction cells another. Derivation keeps
        per node the two inputs with the strongest operation other than
        ``none`` (DARTS' rule). See :class:`sknas.oneshot.darts_supernet.DARTSSupernet`.

        Parameters
        ----------
        n_features_in : int
            Number of features of a flattened image.
        n_outputs : int
            Number of classes.
        mixer : sknas.oneshot.mixers.EdgeMixer
            How each edge combines its operations.

        Returns
        -------
        sknas.oneshot.darts_supernet.DARTSSupernet
        """
        from sknas.oneshot.darts_supernet import DARTSSupernet

        return DARTSSupernet(
            image_shape=self._image_shape(n_features_in),
            n_outputs=int(n_outputs),
            mixer=mixer,
            ops=self._ops(),
            n_nodes=self._n_nodes(),
            channels=self.channels,
            cells=self.cells,
        )

    def _image_shape(self, n_features_in: int) -> tuple[int, int, int]:
        """Check the stack's sizes and resolve the image shape."""
        from sknas.spaces._images import resolve_image_shape

        for name in ("channels", "cells"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DARTSSpace: {name} must be an int >= 1, got {value!r}.")
        return resolve_image_shape(self.image_shape, int(n_features_in), "DARTSSpace")


def _cell_key(edges: Sequence[tuple[str, int]]) -> str:
    nodes = []
    for node in range(len(edges) // 2):
        pair = sorted(f"{op}~{int(index)}" for op, index in edges[2 * node : 2 * node + 2])
        nodes.append("+".join(pair))
    return "|".join(nodes)


def _parse_genotype(text: str) -> Genotype:
    """Read DARTS' ``Genotype(normal=[...], normal_concat=..., reduce=..., reduce_concat=...)``."""
    error = ValueError(
        f"DARTSSpace: {text[:80]!r} is not a genotype; expected \"Genotype(normal=[('op', "
        "input), ...], normal_concat=[...], reduce=[...], reduce_concat=[...])\"."
    )
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise error from exc
    if not isinstance(tree, ast.Call) or tree.args:
        raise error
    fields: dict[str, Any] = {}
    for keyword in tree.keywords:
        value = keyword.value
        try:
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "range"
            ):
                fields[str(keyword.arg)] = list(
                    range(*(int(ast.literal_eval(a)) for a in value.args))
                )
            else:
                fields[str(keyword.arg)] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError) as exc:
            raise error from exc
    if set(fields) != set(Genotype._fields):
        raise error
    return Genotype(**fields)
