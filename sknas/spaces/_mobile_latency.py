"""The latency term of the mobile supernet: a lookup table of its candidate blocks (FBNet).

Every candidate of every block slot, the stem and the head are timed once on
this machine (batch 1, one thread, :func:`sknas.latency.measure_latency`; a
candidate of equal operation and input shape is timed once), the first time a
latency-aware strategy (``proxyless``, ``fbnet``, ``snas``) asks for the cost.
The expected latency of the supernet is the stem's and head's plus, for every
slot, the probability that the block is present times the mixer-weighted
latency of its candidates; it is divided by the latency of the costliest
network (every slot present with its slowest candidate), so it lies in
``[0, 1]`` like the parameter-count stand-in of :mod:`sknas.oneshot.costs`.
Measured times move a little from run to run, so a seeded search with a
latency term can derive a different architecture on another run or machine,
as FBNet's searches do.

Imported on first use only (it imports torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import torch

from sknas.latency import measure_latency

if TYPE_CHECKING:  # pragma: no cover
    from sknas.spaces._mobile_supernet import MobileSupernet

__all__ = ["latency_table", "expected_latency", "REPEATS", "WARMUP"]

#: Timed passes of each table entry (median) and untimed passes before them.
REPEATS, WARMUP = 10, 2


def latency_table(net: MobileSupernet) -> dict[str, Any]:
    """The milliseconds of the stem and head (``"fixed"``) and of each slot's candidates.

    Cached on ``net``. ``"slots"[s][b]`` is a tensor of the candidates'
    latencies in the order of the slot's edge choices (the identity costs 0).

    Parameters
    ----------
    net : MobileSupernet

    Returns
    -------
    dict
    """
    cached = getattr(net, "_latency", None)
    if cached is not None:
        return cached
    device = net.alphas.device
    entries: dict[tuple[str, tuple[int, ...]], float] = {}

    def timed(module: torch.nn.Module, shape: tuple[int, ...]) -> float:
        if isinstance(module, torch.nn.Identity):
            return 0.0
        key = (" ".join(repr(module).split()), shape)
        if key not in entries:
            entries[key] = measure_latency(module, shape, repeats=REPEATS, warmup=WARMUP,
                                           n_threads=1, device=str(device))
        return entries[key]

    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            x = torch.zeros((1, *net.image_shape), device=device)
            fixed = timed(net.stem, tuple(x.shape[1:]))
            x = net.stem(x)
            slots = []
            for stage in net.stages:
                row = []
                for slot in cast(torch.nn.ModuleList, stage):
                    ops = cast(torch.nn.ModuleList, slot)
                    shape = tuple(int(v) for v in x.shape[1:])
                    row.append(torch.tensor([timed(op, shape) for op in ops], device=device))
                    x = ops[0](x)
                slots.append(row)
            fixed += timed(net.head, tuple(int(v) for v in x.shape[1:]))
    finally:
        net.train(was_training)
    slowest = fixed + sum(float(t.max()) for row in slots for t in row)
    net._latency = {"fixed": fixed, "slots": slots, "slowest": slowest}
    return net._latency


def expected_latency(net: MobileSupernet) -> torch.Tensor:
    """Expected latency of ``net`` under its mixer's weights, over the slowest network's.

    Differentiable in the architecture parameters (see the module docstring).

    Parameters
    ----------
    net : MobileSupernet

    Returns
    -------
    torch.Tensor
        A scalar in ``[0, 1]`` for softmax-like weights.
    """
    table = latency_table(net)

    def probs(edge: int) -> torch.Tensor:
        return net.mixer.probabilities(net.alphas[edge, : len(net.choices[edge])])

    total: Any = table["fixed"]
    for s, row in enumerate(table["slots"]):
        depth = net.depth_edge[s]
        for b, latencies in enumerate(row):
            block = (probs(net.block_edge[s][b]) * latencies).sum()
            if b == 0 or depth is None:  # always present, or the skip is a block choice
                present: Any = 1.0
            elif isinstance(depth, int):  # present when the stage is deeper than b
                present = probs(depth)[b:].sum()
            else:
                present = probs(cast(int, depth[b]))[0]  # the "not skipped" choice
            total = total + present * block
    return total / table["slowest"]
