"""The supernet abstraction: mixed edges, architecture parameters, shared weights.

A :class:`Supernet` is a ``torch.nn.Module`` whose searchable choices are
:class:`MixedEdge` modules. Each mixed edge stands for one categorical
parameter of the search space (``param_names[e]``) and holds one module per
choice (``choices[e]``); one row of :attr:`Supernet.alphas` holds its
architecture parameters. An :class:`~sknas.oneshot.mixers.EdgeMixer` turns the
parameters into the edge's output. Architecture parameters and network
weights are kept apart (:meth:`Supernet.arch_parameters`,
:meth:`Supernet.weight_parameters`) so that a training rule can give them
their own optimisers and data.

Imported on first use only (it imports torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from sknas.oneshot.mixers import EdgeMixer, make_mixer
from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["MixedEdge", "Supernet", "supports_supernet", "build_supernet"]


class MixedEdge(nn.Module):
    """One searchable edge: a module per candidate choice.

    Parameters
    ----------
    ops : sequence of torch.nn.Module
        The candidates, in the order of the space's choices.
    index : int
        Row of the supernet's architecture parameters that belongs to this edge.
    """

    def __init__(self, ops: Sequence[nn.Module], index: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.index = int(index)

    def forward(self, x: torch.Tensor, net: Supernet) -> torch.Tensor:
        """The edge's output, mixed by ``net``'s mixer (or the fixed choice alone)."""
        fixed = net.fixed[self.index]
        if fixed is not None:
            return self.ops[fixed](x)
        mask = None if net.mask is None else net.mask[self.index]
        return net.mixer.mix(self.ops, x, net.alphas[self.index], self.training, mask=mask)


class Supernet(nn.Module):
    """Base class of supernets.

    Subclasses build their modules, register every :class:`MixedEdge` through
    :meth:`_init_arch` and define ``forward``.

    Parameters
    ----------
    mixer : str or EdgeMixer
        How mixed edges combine their candidates (see :mod:`sknas.oneshot.mixers`).
    """

    def __init__(self, mixer: str | EdgeMixer) -> None:
        super().__init__()
        self.mixer = make_mixer(mixer)
        self.param_names: list[str] = []
        self.choices: list[tuple[Any, ...]] = []
        self.fixed: list[int | None] = []
        self.mask: torch.Tensor | None = None
        self.edge_groups: list[list[int]] = []

    def _init_arch(
        self,
        param_names: Sequence[str],
        choices: Sequence[Sequence[Any]],
        edge_groups: Sequence[Sequence[int]] = (),
    ) -> None:
        """Create the architecture parameters (zeros: every choice equally weighted)."""
        self.param_names = list(param_names)
        self.choices = [tuple(c) for c in choices]
        n_ops = max(len(c) for c in self.choices)
        self.alphas = nn.Parameter(torch.zeros(len(self.choices), n_ops))
        self.fixed = [None] * len(self.choices)
        self.edge_groups = [list(g) for g in edge_groups]
        if self.mixer.edge_normalization:
            self.betas = nn.Parameter(torch.zeros(len(self.choices)))

    # -- parameters ----------------------------------------------------------------
    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (``alphas``, and ``betas`` with edge normalisation).

        Returns
        -------
        list of torch.nn.Parameter
        """
        params = [self.alphas]
        if hasattr(self, "betas"):
            params.append(self.betas)
        return params

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every other parameter: the shared weights of the candidate operations.

        Returns
        -------
        list of torch.nn.Parameter
        """
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def edge_scale(self, edge: int) -> torch.Tensor | float:
        """Weight of ``edge`` in its node's sum (1 without edge normalisation)."""
        if not hasattr(self, "betas"):
            return 1.0
        for group in self.edge_groups:
            if edge in group:
                weights = torch.softmax(self.betas[group], dim=-1)
                return weights[group.index(edge)]
        return 1.0

    # -- reading and fixing the architecture ----------------------------------------
    def probabilities(self) -> np.ndarray:
        """The mixer's deterministic weights of every edge, shape ``(n_edges, n_ops)``.

        Returns
        -------
        numpy.ndarray
        """
        with torch.no_grad():
            rows = [self.mixer.probabilities(self.alphas[e]) for e in range(len(self.choices))]
            probs = torch.stack(rows)
            if self.mask is not None:
                probs = probs * self.mask
        return probs.cpu().double().numpy()

    def argmax_indices(self) -> list[int]:
        """The derived choice of each edge (a fixed edge keeps its choice).

        The mixer's weights, scaled by each edge's normalisation weight, go
        through :meth:`derive`; a fixed edge enters as a one-hot row.

        Returns
        -------
        list of int
        """
        probs = self.probabilities()
        if hasattr(self, "betas"):
            with torch.no_grad():
                scales = [float(self.edge_scale(e)) for e in range(len(self.choices))]
            probs = probs * np.asarray(scales)[:, None]
        for e, f in enumerate(self.fixed):
            if f is not None:
                probs[e] = 0.0
                probs[e, f] = 1.0
        return self.derive(probs)

    def derive(self, weights: np.ndarray) -> list[int]:
        """The discrete path read off a strength per edge and choice (hook).

        The default takes the strongest choice of each edge; a supernet whose
        space constrains paths (e.g. two inputs per DARTS node) overrides it.

        Parameters
        ----------
        weights : numpy.ndarray of shape (n_edges, n_ops)
            Strength of each choice of each edge (higher is stronger).

        Returns
        -------
        list of int
            One choice index per edge; :meth:`to_params` accepts it.
        """
        return [int(np.argmax(row)) for row in weights]

    def path_sizes(self) -> list[int]:
        """Number of choices of each decision of a sampled path (hook).

        Path samplers (random sampling, the ENAS controller) draw one index
        per decision and turn it into edge choices with :meth:`path_indices`.
        The default has one decision per edge.

        Returns
        -------
        list of int
        """
        return [len(c) for c in self.choices]

    def path_indices(self, decisions: Sequence[int]) -> list[int]:
        """The edge choices of one index per decision of :meth:`path_sizes` (hook).

        Parameters
        ----------
        decisions : sequence of int

        Returns
        -------
        list of int
            One choice index per edge.
        """
        return [int(d) for d in decisions]

    def set_fixed(self, indices: Sequence[int | None]) -> None:
        """Fix the choice of each edge (None: leave the edge mixed).

        Parameters
        ----------
        indices : sequence of int or None
            One entry per edge.
        """
        if len(indices) != len(self.choices):
            raise ValueError(f"Expected {len(self.choices)} edge choices, got {len(indices)}.")
        self.fixed = [None if i is None else int(i) for i in indices]

    def clear_fixed(self) -> None:
        """Mix every edge again."""
        self.fixed = [None] * len(self.choices)

    def to_params(self, indices: Sequence[int]) -> dict[str, Any]:
        """The search-space parameters of one choice per edge.

        Parameters
        ----------
        indices : sequence of int

        Returns
        -------
        dict
        """
        return {
            name: self.choices[e][int(k)]
            for e, (name, k) in enumerate(zip(self.param_names, indices))
        }

    def indices_of(self, params: dict[str, Any]) -> list[int]:
        """The choice indices of a parameter dict of the space (inverse of :meth:`to_params`).

        Parameters
        ----------
        params : dict

        Returns
        -------
        list of int
        """
        return [self.choices[e].index(params[name]) for e, name in enumerate(self.param_names)]


def supports_supernet(space: SearchSpace) -> bool:
    """Whether ``space`` implements the optional ``build_supernet`` hook.

    Parameters
    ----------
    space : SearchSpace

    Returns
    -------
    bool
    """
    return type(space).build_supernet is not SearchSpace.build_supernet


def build_supernet(
    space: SearchSpace, n_features_in: int, n_outputs: int, mixer: str | EdgeMixer
) -> Supernet:
    """Build the supernet of ``space``, with a message that says what to do when it has none.

    Parameters
    ----------
    space : SearchSpace
    n_features_in : int
    n_outputs : int
    mixer : str or EdgeMixer

    Returns
    -------
    Supernet

    Raises
    ------
    ValueError
        When the space does not implement ``build_supernet``.
    """
    if not supports_supernet(space):
        raise ValueError(
            f"The search space {type(space).__name__} has no supernet, so a one-shot strategy "
            "cannot search it; use search_space='nb201' or 'darts' (or a space that implements "
            "build_supernet), or a black-box strategy such as strategy='tpe'."
        )
    net = space.build_supernet(n_features_in, n_outputs, make_mixer(mixer))
    if not isinstance(net, Supernet):
        raise TypeError(
            f"{type(space).__name__}.build_supernet must return a sknas.oneshot.supernet."
            f"Supernet, got {type(net).__name__}."
        )
    return net


def architecture_of(space: SearchSpace, net: Supernet, indices: Sequence[int]) -> Architecture:
    """Decode one choice per edge into an architecture of ``space``."""
    return space.decode(net.to_params(indices))
