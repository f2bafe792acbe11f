"""The recurrent-cell search space for sequences (ENAS/DARTS cells, with LSTM and GRU).

A searched cell has ``n_nodes`` nodes; node ``j`` reads one earlier node and
applies one activation in a highway step (see
:class:`sknas.spaces._recurrent_module.SearchedCell`). The cell type itself is
a parameter: ``"gru"`` and ``"lstm"`` are members of the space, sized to the
searched cell's parameter count, so that a search compares its cells with the
standard ones on equal terms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution

from sknas.spaces.base import Architecture, SearchSpace

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "RecurrentCellSpace", "RECURRENT_ACTIVATIONS", "CELL_TYPES", "PUBLISHED_RECURRENT", "READOUTS",
]

#: The activations a node chooses from (DARTS' recurrent primitives other than ``none``).
RECURRENT_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "identity")
#: The cell types: the searched cell and the two standard gated cells.
CELL_TYPES: tuple[str, ...] = ("searched", "gru", "lstm")
#: Published recurrent cells (``rnn/genotypes.py`` of DARTS): ``(activation, input)`` per node.
PUBLISHED_RECURRENT: dict[str, list[tuple[str, int]]] = {
    "darts_v1": [("relu", 0), ("relu", 1), ("tanh", 2), ("relu", 3), ("relu", 4),
                 ("identity", 1), ("relu", 5), ("relu", 1)],
    "darts_v2": [("sigmoid", 0), ("relu", 1), ("relu", 1), ("identity", 1), ("tanh", 2),
                 ("sigmoid", 5), ("tanh", 3), ("relu", 5)],
}
_GATES = {"gru": 3, "lstm": 4}
#: How the head reads the states over time (see ``RecurrentNetwork``).
READOUTS: tuple[str, ...] = ("mean", "last", "max")


class RecurrentCellSpace(SearchSpace):
    """Recurrent cells for sequences ``(n_samples, timesteps, features)``.

    The parameters are ``cell_type`` (one of ``cell_types``), ``readout``
    (one of ``readouts``: what the head reads over time), ``lr`` (one of
    ``learning_rates``) and, for each node ``j = 1 ... n_nodes``,
    ``node_{j}_input`` (an earlier node ``0 ... j - 1``; node 0 mixes the input
    with the previous state) and ``node_{j}_activation``. The node parameters
    describe the searched cell and are ignored by ``"gru"`` and ``"lstm"``:
    a GRU is one architecture per readout and learning rate (key
    ``"gru [mean, lr=0.003]"``).

    **Training for sequences.** Recurrent networks on a few dozen sequences
    need more optimisation steps than an epoch of them holds, a learning rate
    chosen per network and bounded gradients. The space's training settings
    (:meth:`training_config`) are the same for every cell type, so that GRU,
    LSTM and searched cells are trained alike: Adam at the searched ``lr``
    with ``weight_decay``, batches of ``batch_size`` sequences, gradients
    clipped to the norm ``grad_clip``, and early stopping that waits at least
    ``patience_steps`` optimisation steps (so that on 32 training sequences in
    batches of 8 it waits 75 epochs, on 10,000 sequences the estimator's ``patience``).

    **Equal size.** The searched cell has ``hidden_size`` state units and
    ``2 h (f + h) + 2 n h^2`` weights (``f`` input features, ``n`` nodes),
    plus ``2 h (n + 1)`` biases with ``bias=True``; a
    GRU or LSTM of the space gets the largest state whose cell has at most as
    many parameters (:meth:`hidden_size_of`), so that cell types are compared
    at equal size, not equal width.

    Parameters
    ----------
    hidden_size : int, default=32
        State units of the searched cell.
    n_nodes : int, default=8
        Nodes of the searched cell (8 in DARTS).
    activations : sequence of str, default=RECURRENT_ACTIVATIONS
        The activations a node chooses from.
    cell_types : sequence of str, default=("searched", "gru", "lstm")
        The cell types searched over; ``("searched",)`` searches cells only,
        ``("gru",)`` is a plain GRU.
    sequence_shape : tuple of int, optional
        ``(timesteps, features)`` of one sequence, which arrives flattened.
        None reads the rows as univariate sequences ``(n_features, 1)`` (the
        estimators set it from 3-D input).
    readouts : sequence of str, default=("mean", "last")
        Readouts searched over, among ``"mean"`` and ``"max"`` (of the states
        over the sequence's timesteps) and ``"last"`` (the final state).
    learning_rates : sequence of float, default=(0.003, 0.001, 0.01)
        Adam learning rates searched over.
    batch_size : int, default=16
        Sequences per optimisation step (fewer on small data, see
        :func:`sknas.evaluation.training.effective_batch_size`).
    weight_decay : float, default=1e-4
        L2 penalty of Adam.
    grad_clip : float, default=1.0
        Largest gradient norm (0: no clipping).
    patience_steps : int, default=300
        Fewest optimisation steps without a better validation score before
        early stopping (the estimator's ``patience`` in epochs when larger).
    bias : bool, default=True
        Whether the searched cell's projections have a bias, its gates
        starting at ``sigmoid(-1)`` so that each step begins by keeping most
        of the state (``False``: DARTS' cell exactly, without bias). Counted
        in the equal size.

    Examples
    --------
    >>> space = RecurrentCellSpace()
    >>> RecurrentCellSpace.cell("gru").key()
    'gru [mean, lr=0.003]'
    >>> print(RecurrentCellSpace.cell("darts_v2", readout="last"))
    searched: sigmoid~0|relu~1|relu~1|identity~1|tanh~2|sigmoid~5|tanh~3|relu~5 [last, lr=0.003]
    >>> space.hidden_size_of("gru", n_features=1)
    78
    """

    name = "recurrent"
    #: A recurrent step is many small operations: a second thread costs more than it saves.
    preferred_threads = 1

    def __init__(
        self,
        hidden_size: int = 32,
        n_nodes: int = 8,
        activations: Sequence[str] = RECURRENT_ACTIVATIONS,
        cell_types: Sequence[str] = CELL_TYPES,
        sequence_shape: tuple[int, int] | None = None,
        readouts: Sequence[str] = ("mean", "last"),
        learning_rates: Sequence[float] = (3e-3, 1e-3, 1e-2),
        batch_size: int = 16,
        weight_decay: float = 1e-4,
        grad_clip: float = 1.0,
        patience_steps: int = 300,
        bias: bool = True,
    ) -> None:
        self.hidden_size = hidden_size
        self.n_nodes = n_nodes
        self.activations = activations
        self.cell_types = cell_types
        self.sequence_shape = sequence_shape
        self.readouts = readouts
        self.learning_rates = learning_rates
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.patience_steps = patience_steps
        self.bias = bias

    # -- configuration ------------------------------------------------------------
    def _choices(self, name: str, allowed: Sequence[str]) -> tuple[str, ...]:
        values = tuple(getattr(self, name))
        unknown = sorted(set(values) - set(allowed))
        if not values or unknown or len(set(values)) != len(values):
            raise ValueError(
                f"RecurrentCellSpace: {name} must be distinct names among {list(allowed)}; "
                f"got {list(values)!r}."
            )
        return values

    def _learning_rates(self) -> tuple[float, ...]:
        values = tuple(self.learning_rates)
        if not values or len(set(values)) != len(values) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v for v in values
        ):
            raise ValueError(
                "RecurrentCellSpace: learning_rates must be distinct positive numbers; "
                f"got {list(values)!r}."
            )
        return tuple(float(v) for v in values)

    def _n_nodes(self) -> int:
        n = self.n_nodes
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"RecurrentCellSpace: n_nodes must be an int >= 1, got {n!r}.")
        return n

    # -- structure -----------------------------------------------------------------
    def distributions(self) -> dict[str, BaseDistribution]:
        """``cell_type``, ``readout``, ``lr``, then an input and an activation per node.

        Returns
        -------
        dict of str to CategoricalDistribution
        """
        activations = self._choices("activations", RECURRENT_ACTIVATIONS)
        result: dict[str, BaseDistribution] = {
            "cell_type": CategoricalDistribution(self._choices("cell_types", CELL_TYPES)),
            "readout": CategoricalDistribution(self._choices("readouts", READOUTS)),
            "lr": CategoricalDistribution(self._learning_rates()),
        }
        for j in range(1, self._n_nodes() + 1):
            result[f"node_{j}_input"] = CategoricalDistribution(tuple(range(j)))
            result[f"node_{j}_activation"] = CategoricalDistribution(activations)
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
            Key ``"gru"``, ``"lstm"`` or ``"searched: act~input|..."``,
            followed by ``" [readout, lr=...]"``.
        """
        self.check_params(params)
        clean: dict[str, Any] = {
            "cell_type": str(params["cell_type"]),
            "readout": str(params["readout"]),
            "lr": float(params["lr"]),
        }
        for j in range(1, self._n_nodes() + 1):
            clean[f"node_{j}_input"] = int(params[f"node_{j}_input"])
            clean[f"node_{j}_activation"] = str(params[f"node_{j}_activation"])
        cell_type = clean["cell_type"]
        if cell_type == "searched":
            key = "searched: " + "|".join(f"{a}~{i}" for a, i in self._nodes(clean))
        else:
            key = cell_type
        key += f" [{clean['readout']}, lr={clean['lr']:g}]"
        return Architecture.from_params(self.name, clean, canonical=key)

    def _nodes(self, params: Mapping[str, Any]) -> list[tuple[str, int]]:
        return [
            (str(params[f"node_{j}_activation"]), int(params[f"node_{j}_input"]))
            for j in range(1, self._n_nodes() + 1)
        ]

    def genotype(self, arch: Architecture) -> list[tuple[str, int]]:
        """The searched cell's ``(activation, input)`` per node, DARTS' ``recurrent`` list.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        list of (str, int)
        """
        return self._nodes(arch.params)

    def from_genotype(
        self, recurrent: Sequence[tuple[str, int]], *, readout: str | None = None,
        lr: float | None = None,
    ) -> Architecture:
        """The searched cell of DARTS' ``Genotype.recurrent`` list.

        Parameters
        ----------
        recurrent : sequence of (str, int)
            ``(activation, input node)`` of every node; inputs index earlier nodes.
        readout : str, optional
            The readout (default: the first of ``readouts``).
        lr : float, optional
            The learning rate (default: the first of ``learning_rates``).

        Returns
        -------
        Architecture
        """
        nodes = list(recurrent)
        if len(nodes) != self._n_nodes():
            raise ValueError(
                f"RecurrentCellSpace: the genotype has {len(nodes)} nodes; this space has "
                f"n_nodes={self.n_nodes}."
            )
        params: dict[str, Any] = {
            "cell_type": "searched",
            "readout": self._choices("readouts", READOUTS)[0] if readout is None else readout,
            "lr": self._learning_rates()[0] if lr is None else lr,
        }
        for j, (activation, source) in enumerate(nodes, start=1):
            params[f"node_{j}_input"] = source
            params[f"node_{j}_activation"] = activation
        return self.decode(params)

    @classmethod
    def cell(cls, name: str, *, readout: str = "mean", lr: float = 3e-3) -> Architecture:
        """A known member of the default space: ``gru``, ``lstm``, ``darts_v1``, ``darts_v2``.

        Parameters
        ----------
        name : str
            A cell type other than ``"searched"``, or a key of :data:`PUBLISHED_RECURRENT`.
        readout : {"mean", "last"}, default="mean"
            The readout over time.
        lr : float, default=0.003
            The learning rate, one of the default ``learning_rates``.

        Returns
        -------
        Architecture
        """
        space = cls()
        if name in PUBLISHED_RECURRENT:
            return space.from_genotype(PUBLISHED_RECURRENT[name], readout=readout, lr=lr)
        if name in _GATES:
            params: dict[str, Any] = {"cell_type": name, "readout": readout, "lr": lr}
            for j, (activation, source) in enumerate(PUBLISHED_RECURRENT["darts_v2"], 1):
                params[f"node_{j}_input"] = source
                params[f"node_{j}_activation"] = activation
            return space.decode(params)
        raise ValueError(
            f"Unknown recurrent cell {name!r}; known: {sorted([*_GATES, *PUBLISHED_RECURRENT])}."
        )

    def initial_params(self) -> list[dict[str, Any]]:
        """The known defaults first: DARTS V2's cell, at the first readout and learning rate.

        A space of fewer than 8 nodes starts from the cell's first ``n_nodes``
        nodes (each reads an earlier node, so they are a cell of their own); a
        space without the searched cell (``cell_types=("gru",)``) starts from
        its first cell type, so that every cell type's search starts from the
        same default readout and learning rate.

        Returns
        -------
        list of dict
        """
        darts_v2 = PUBLISHED_RECURRENT["darts_v2"]
        n_nodes = self._n_nodes()
        genotype = darts_v2[:n_nodes] if n_nodes <= len(darts_v2) else None
        if genotype is None:
            return []
        cell_types = self._choices("cell_types", CELL_TYPES)
        params: dict[str, Any] = {
            "cell_type": "searched" if "searched" in cell_types else cell_types[0],
            "readout": self._choices("readouts", READOUTS)[0],
            "lr": self._learning_rates()[0],
        }
        for j, (activation, source) in enumerate(genotype, start=1):
            params[f"node_{j}_input"] = source
            params[f"node_{j}_activation"] = activation
        try:
            return [self.to_params(self.decode(params))]
        except ValueError:  # e.g. an activation of the cell that this space does not offer
            return []

    # -- search operators ----------------------------------------------------------
    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """Change one node of a searched cell, or the cell type.

        A GRU or LSTM changes its cell type, readout or learning rate (its
        node parameters are ignored); a searched cell changes one of those or
        one node's input or activation, each parameter equally likely.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Architecture
        """
        distributions = self.distributions()
        params = self.to_params(arch)
        names = list(distributions)
        if params["cell_type"] != "searched":
            names = ["cell_type", "readout", "lr"]
        for _ in range(20):
            name = names[int(rng.integers(len(names)))]
            choices = [c for c in distributions[name].choices  # type: ignore[attr-defined]
                       if c != params[name]]
            if not choices:
                continue
            child = self.decode({**params, name: choices[int(rng.integers(len(choices)))]})
            if child.key() != arch.key():
                return child
        return arch

    # -- training ------------------------------------------------------------------
    def training_config(self, arch: Architecture) -> dict[str, Any]:
        """The sequence training settings, the same for every cell type (see the class notes).

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.

        Returns
        -------
        dict
            ``lr`` (the architecture's), ``weight_decay``, ``batch_size``,
            ``optimizer`` (``"adam"``), ``grad_clip`` and ``patience_steps``.
        """
        for name in ("batch_size", "patience_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"RecurrentCellSpace: {name} must be an int >= 1, got {value!r}."
                )
        for name in ("weight_decay", "grad_clip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"RecurrentCellSpace: {name} must be a number >= 0, got {value!r}."
                )
        return {
            "lr": float(arch.params["lr"]),
            "weight_decay": float(self.weight_decay),
            "batch_size": int(self.batch_size),
            "optimizer": "adam",
            "grad_clip": float(self.grad_clip),
            "patience_steps": int(self.patience_steps),
        }

    # -- network -------------------------------------------------------------------
    def resolve_sequence_shape(self, n_features_in: int) -> tuple[int, int]:
        """The ``(timesteps, features)`` that flat rows of ``n_features_in`` values hold.

        Parameters
        ----------
        n_features_in : int
            Width of a flattened sequence.

        Returns
        -------
        tuple of int
        """
        if self.sequence_shape is None:
            return (int(n_features_in), 1)
        shape = tuple(int(v) for v in self.sequence_shape)
        if len(shape) != 2 or min(shape) < 1 or math.prod(shape) != n_features_in:
            raise ValueError(
                f"RecurrentCellSpace: sequence_shape={self.sequence_shape!r} is not "
                f"(timesteps, features) of {n_features_in} values."
            )
        return (shape[0], shape[1])

    def hidden_size_of(self, cell_type: str, n_features: int) -> int:
        """State units of a cell of ``cell_type`` (GRU and LSTM: sized to the searched cell).

        Parameters
        ----------
        cell_type : {"searched", "gru", "lstm"}
            The cell type.
        n_features : int
            Features per timestep.

        Returns
        -------
        int
            ``hidden_size`` for the searched cell; for a GRU (LSTM) the largest
            ``g`` with ``k (f g + g^2 + 2 g) <= 2 h (f + h) + 2 n h^2 (+ 2 h (n + 1))``,
            ``k = 3`` (4); the last term with ``bias=True``.
        """
        h = self.hidden_size
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ValueError(f"RecurrentCellSpace: hidden_size must be an int >= 1, got {h!r}.")
        if cell_type == "searched":
            return h
        n = self._n_nodes()
        budget = 2 * h * (n_features + h) + 2 * n * h * h + (2 * h * (n + 1) if self.bias else 0)
        k = _GATES[cell_type]
        # k g^2 + k (f + 2) g - budget <= 0
        b = k * (n_features + 2)
        g = int((-b + math.sqrt(b * b + 4 * k * budget)) / (2 * k))
        while k * (g + 1) * (n_features + g + 3) <= budget:
            g += 1
        while g > 1 and k * g * (n_features + g + 2) > budget:
            g -= 1
        return max(1, g)

    def build_module(
        self, arch: Architecture, n_features_in: int, n_outputs: int
    ) -> torch.nn.Module:
        """Build the recurrent network of ``arch``: the cell over the sequence, a linear head.

        Parameters
        ----------
        arch : Architecture
            An architecture of this space.
        n_features_in : int
            Width of a flattened sequence (``timesteps * features``).
        n_outputs : int
            Number of outputs.

        Returns
        -------
        torch.nn.Module
            See :class:`sknas.spaces._recurrent_module.RecurrentNetwork` (NaN
            timesteps at the end of a sequence are padding).
        """
        from sknas.spaces._recurrent_module import RecurrentNetwork

        timesteps, n_features = self.resolve_sequence_shape(int(n_features_in))
        params = arch.params
        cell_type = str(params["cell_type"])
        return RecurrentNetwork(
            cell_type,
            self._nodes(params),
            timesteps,
            n_features,
            self.hidden_size_of(cell_type, n_features),
            int(n_outputs),
            readout=str(params["readout"]),
            bias=bool(self.bias),
        )
