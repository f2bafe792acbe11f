"""The cost model of the resource and latency terms (SNAS, ProxylessNAS, FBNet).

A stand-in for a measured per-operation latency table: the cost of a choice
is the number of parameters of its candidate modules, summed over every
mixed edge that shares its architecture parameter, divided by the cost of the
costliest cell (so the expected cost lies in ``[0, 1]``). It is
deterministic, which keeps seeded searches reproducible; parameter-free
operations (``none``, ``skip_connect``, pooling) cost nothing. Swapping in a
measured latency table means replacing :func:`op_costs` alone, or giving the
supernet an ``expected_cost()`` method, which :func:`expected_cost` then uses
(the mobile space's supernet does, with a lookup table of measured block
latencies).

Imported on first use only (it imports torch).
"""

from __future__ import annotations

import torch

from sknas.oneshot.supernet import MixedEdge, Supernet

__all__ = ["op_costs", "expected_cost"]


def op_costs(net: Supernet) -> torch.Tensor:
    """Normalised cost of every (edge, choice) of ``net``, shape ``alphas.shape``.

    Parameters
    ----------
    net : Supernet

    Returns
    -------
    torch.Tensor
    """
    cached = getattr(net, "_op_costs", None)
    if cached is not None:
        return cached
    costs = torch.zeros_like(net.alphas, requires_grad=False)
    for module in net.modules():
        if isinstance(module, MixedEdge):
            for k, op in enumerate(module.ops):
                costs[module.index, k] += sum(p.numel() for p in op.parameters())
    total = costs.max(dim=1).values.sum()
    costs = (costs / total if total > 0 else costs).detach()
    net._op_costs = costs  # type: ignore[assignment]
    return costs


def expected_cost(net: Supernet) -> torch.Tensor:
    """Expected normalised cost of the cell under the mixer's weights (differentiable).

    Parameters
    ----------
    net : Supernet

    Returns
    -------
    torch.Tensor
        A scalar in ``[0, 1]`` for softmax-like weights.
    """
    own = getattr(net, "expected_cost", None)
    if callable(own):  # the supernet's own (measured) cost model
        return own()
    costs = op_costs(net)
    weights = torch.stack(
        [net.mixer.probabilities(net.alphas[e]) for e in range(net.alphas.shape[0])]
    )
    return (weights * costs).sum()
