"""Network morphisms of :class:`~sknas.spaces.MLPSpace` networks.

A network morphism turns a trained network into a larger one that computes
the same function (Chen et al., "Net2Net", 2016; Elsken et al., "Simple and
efficient architecture search for CNNs" (NASH), 2017), so the larger network
starts from its parent's weights instead of from scratch. Three operators:

``"deepen"``
    Insert a hidden layer, as wide as the layer before it, that computes the
    identity. In a network without skip connections the new layer's weights
    are the identity matrix, which is exact because its input is the output
    of a ReLU (non-negative) and ReLU is the identity there; batch norm is
    set to the identity transform (zero mean, unit variance, unit scale). In
    a residual network the new block adds its (identity) skip path to a body
    whose output is exactly zero: its normalisation's scale and shift are
    zero (batch or layer norm), or, without a norm, its linear layer is zero
    (every activation of the space maps 0 to 0).
``"widen"``
    Net2WiderNet: widen one hidden layer to the next wider choice of the
    space by replicating randomly chosen units (weights, bias, batch-norm
    parameters and statistics) and dividing their outgoing weights by the
    number of copies.
``"skip"``
    Add skip connections (the space's ``residual=True``) whose projections
    start at zero.

Each operator is split in two: :func:`plan_morphism` decides, from the
architecture alone, the child architecture and a JSON-serialisable *step*
(the layer, the new width, a seed for the random choices); :func:`apply_morphism`
replays a step on a trained module. Samplers plan, evaluators apply. The
convenience functions :func:`deepen`, :func:`widen` and :func:`add_skip` do both.

An operator that cannot produce an exactly function-preserving child of the
space raises :class:`MorphismError` with the reason:

* ``deepen`` when the network already has ``max_layers`` layers; without skip
  connections unless the activation is ReLU with no or batch norm (the
  identity initialisation is exact only for ReLU on non-negative inputs, and
  layer norm is no identity); with skip connections, ReLU without a norm (a
  zero-initialised ReLU block is exact but never receives a gradient);
* ``widen`` when every layer already has the space's widest choice, or with
  layer norm (it normalises across a layer's units: copies change its mean
  and variance);
* ``skip`` when the network already has skip connections or the space offers
  none;
* every operator on TabM ensembles (``ensemble_size > 1``: their batch-ensemble
  layers are not transformed). Numeric embeddings are kept as they are.

The child module is the parent's, transformed; where the space's own module
would use an identity skip path (equal widths), the child may hold a
bias-free linear skip (zero-initialised by ``"skip"``, or the identity with
replicated rows or columns after ``"widen"``): a superset that computes the
same function.

Examples
--------
>>> import numpy as np
>>> from sknas.spaces import MLPSpace
>>> space = MLPSpace(max_layers=3, widths=(8, 16), residual=(False, True))
>>> params = space.initial_params()[0] | {"n_layers": 1, "units_0": 8}
>>> arch = space.decode(params)
>>> child, step = plan_morphism(space, arch, "widen", np.random.default_rng(0))
>>> space.layer_widths(child), step["op"], step["width"]
([16], 'widen', 16)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sknas.spaces.base import Architecture

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

    from sknas.spaces.mlp import MLPSpace

__all__ = [
    "MORPHISMS",
    "MorphismError",
    "add_skip",
    "apply_morphism",
    "deepen",
    "plan_morphism",
    "widen",
]

#: Names of the operators, in the order :func:`plan_morphism` knows them.
MORPHISMS = ("deepen", "widen", "skip")


class MorphismError(ValueError):
    """The operator has no function-preserving child of this architecture in its space."""


# -- planning (architecture only) -----------------------------------------------------
def _check_space(space: MLPSpace, arch: Architecture) -> dict[str, Any]:
    if arch.space != space.name:
        raise MorphismError(
            f"Network morphisms transform architectures of the space {space.name!r}; "
            f"got one of {arch.space!r}."
        )
    params = dict(arch.params)
    if int(params.get("ensemble_size", 1)) > 1:
        raise MorphismError(
            "Network morphisms do not transform TabM ensembles (ensemble_size="
            f"{params['ensemble_size']}); only single networks (ensemble_size=1)."
        )
    return params


def _with_widths(params: dict[str, Any], widths: list[int]) -> dict[str, Any]:
    child = dict(params)
    child["n_layers"] = len(widths)
    for i, width in enumerate(widths):
        child[f"units_{i}"] = int(width)
    return child


def _plan_deepen(
    space: MLPSpace, params: dict[str, Any], widths: list[int], rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, Any]]:
    if len(widths) >= int(space.max_layers):
        raise MorphismError(
            f"deepen: the network already has the space's max_layers={space.max_layers} layers."
        )
    activation, norm = str(params["activation"]), str(params["norm"])
    if bool(params["residual"]):
        if activation == "relu" and norm == "none":
            raise MorphismError(
                "deepen: a zero-initialised ReLU block without normalisation would compute "
                "the identity but never receive a gradient; add a norm or use another "
                "activation."
            )
    elif activation != "relu" or norm == "layer":
        raise MorphismError(
            "deepen: without skip connections a new layer is initialised to the identity, "
            "which is exact only for ReLU with no or batch norm; this network uses "
            f"{activation} with norm={norm!r} (add skip connections first)."
        )
    layer = int(rng.integers(len(widths)))
    child = _with_widths(params, widths[: layer + 1] + [widths[layer]] + widths[layer + 1 :])
    step = {"op": "deepen", "layer": layer, "seed": int(rng.integers(2**31))}
    return child, step


def _plan_widen(
    space: MLPSpace, params: dict[str, Any], widths: list[int], rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, Any]]:
    if str(params["norm"]) == "layer":
        raise MorphismError(
            "widen: layer norm normalises across a layer's units, so replicating units "
            "changes its output; widen is exact with no or batch norm."
        )
    choices = sorted(int(w) for w in space.widths)
    wider = {i: [c for c in choices if c > w] for i, w in enumerate(widths)}
    layers = [i for i, options in wider.items() if options]
    if not layers:
        raise MorphismError(
            f"widen: every layer already has the space's widest choice ({choices[-1]})."
        )
    layer = int(rng.choice(layers))
    width = wider[layer][0]
    new_widths = list(widths)
    new_widths[layer] = width
    step = {"op": "widen", "layer": layer, "width": width, "seed": int(rng.integers(2**31))}
    return _with_widths(params, new_widths), step


def _plan_skip(
    space: MLPSpace, params: dict[str, Any], widths: list[int], rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, Any]]:
    if bool(params["residual"]):
        raise MorphismError("skip: the network already has skip connections.")
    if True not in [bool(r) for r in space.residual]:
        raise MorphismError("skip: the space offers no skip connections (residual=(False,)).")
    return {**params, "residual": True}, {"op": "skip"}


_PLANNERS = {"deepen": _plan_deepen, "widen": _plan_widen, "skip": _plan_skip}


def plan_morphism(
    space: MLPSpace, arch: Architecture, name: str, rng: np.random.Generator
) -> tuple[Architecture, dict[str, Any]]:
    """Decide the child of ``arch`` under one operator, without touching weights.

    Parameters
    ----------
    space : MLPSpace
        The space of ``arch``; the child is an architecture of it.
    arch : Architecture
        The parent.
    name : {"deepen", "widen", "skip"}
        The operator.
    rng : numpy.random.Generator
        Chooses the layer and the seed of the step's random choices.

    Returns
    -------
    child : Architecture
        The child architecture (``space.decode`` of its parameters).
    step : dict
        JSON-serialisable description that :func:`apply_morphism` replays.

    Raises
    ------
    MorphismError
        When the operator has no exactly function-preserving child in ``space``.
    """
    if name not in _PLANNERS:
        raise ValueError(f"Unknown morphism {name!r}; expected one of {list(MORPHISMS)}.")
    params = _check_space(space, arch)
    child, step = _PLANNERS[name](space, params, space.layer_widths(arch), rng)
    return space.decode(child), step


def _child_of_step(
    space: MLPSpace, arch: Architecture, step: Mapping[str, Any]
) -> Architecture:
    """The architecture that ``step`` makes of ``arch`` (the plan, replayed)."""
    params = _check_space(space, arch)
    widths = space.layer_widths(arch)
    op = step.get("op")
    if op == "deepen":
        layer = int(step["layer"])
        params = _with_widths(params, widths[: layer + 1] + [widths[layer]] + widths[layer + 1 :])
    elif op == "widen":
        widths[int(step["layer"])] = int(step["width"])
        params = _with_widths(params, widths)
    elif op == "skip":
        params["residual"] = True
    else:
        raise ValueError(f"Unknown morphism step {dict(step)!r}; its 'op' is one of {MORPHISMS}.")
    return space.decode(params)


# -- applying (weights) ---------------------------------------------------------------
def apply_morphism(
    space: MLPSpace, arch: Architecture, module: nn.Module, step: Mapping[str, Any]
) -> tuple[Architecture, nn.Module]:
    """Replay a planned step on a trained network of ``arch``.

    Parameters
    ----------
    space : MLPSpace
        The space of ``arch``.
    arch : Architecture
        The parent's architecture.
    module : torch.nn.Module
        The parent's network (an ``MLPModule``, or a child module made by an
        earlier morphism); it is left unchanged.
    step : mapping
        A step returned by :func:`plan_morphism`.

    Returns
    -------
    child : Architecture
    child_module : torch.nn.Module
        A new module that computes, in evaluation mode, the function of ``module``.

    Raises
    ------
    MorphismError
        When ``module`` is not a plain MLP network (e.g. a TabM ensemble).
    """
    from sknas.spaces import _morphism_ops

    child = _child_of_step(space, arch, step)
    return child, _morphism_ops.apply_step(module, child.params, step)


_OPERATOR_DOC = """{summary}

Parameters
----------
space : MLPSpace
    The space of ``arch``.
arch : Architecture
    The parent's architecture.
module : torch.nn.Module
    The parent's trained network (left unchanged).
random_state : int or numpy.random.Generator, optional
    {rng}

Returns
-------
child : Architecture
    The child architecture, of ``space``.
child_module : torch.nn.Module
    A new network of ``child`` that computes, in evaluation mode, the function of ``module``.

Raises
------
MorphismError
    When the operator has no exactly function-preserving child (see the module's notes).
"""


def _operator(name: str, function_name: str, summary: str, rng: str) -> Any:
    def operator(
        space: MLPSpace, arch: Architecture, module: nn.Module, *, random_state: Any = None
    ) -> tuple[Architecture, nn.Module]:
        _, step = plan_morphism(space, arch, name, np.random.default_rng(random_state))
        return apply_morphism(space, arch, module, step)

    operator.__name__ = operator.__qualname__ = function_name
    operator.__doc__ = _OPERATOR_DOC.format(summary=summary, rng=rng)
    return operator


deepen = _operator(
    "deepen", "deepen", "Insert an identity-initialised hidden layer after a random one.",
    "Chooses the layer.",
)
widen = _operator(
    "widen", "widen",
    "Widen a random hidden layer to the space's next wider choice (Net2WiderNet).",
    "Chooses the layer and the replicated units.",
)
add_skip = _operator(
    "skip", "add_skip", "Add zero-initialised skip connections to every block.",
    "Unused (the operator makes no random choice); accepted for symmetry.",
)
