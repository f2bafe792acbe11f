"""Rule pieces the one-shot methods share: perturbation selection, path sampling,
ranking with shared weights, the ENAS controller, RobustDARTS' early stop, DrNAS'
pruning (imports torch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from sknas.oneshot._loop import SearchLoop

__all__ = [
    "perturbation_selection", "perturb_alphas", "restore_alphas", "eigenvalue_early_stop",
    "fix_random_path", "fix_path", "rank_sampled", "controller", "train_controller",
    "prune_edges",
]


def perturbation_selection(loop: SearchLoop) -> list[int]:
    """DARTS-PT: fix each edge (random order) to the op whose removal hurts accuracy most."""
    net = loop.net
    n_edges, n_ops = net.alphas.shape
    net.mask = torch.ones(n_edges, n_ops, device=net.alphas.device)
    try:
        for edge in loop.rng.permutation(n_edges):
            drops = []
            for k in range(len(net.choices[edge])):
                net.mask[edge, k] = 0.0
                drops.append(-loop.score())
                net.mask[edge, k] = 1.0
            # ties (common on small validation sets) go to the higher mixing weight
            probs = net.probabilities()[edge][: len(drops)]
            net.fixed[int(edge)] = int(np.lexsort((probs, np.asarray(drops)))[-1])
    finally:
        net.mask = None
    chosen = [int(f) for f in net.fixed if f is not None]
    net.clear_fixed()
    # the supernet reads a valid path off the chosen ops (its own rule, e.g. two inputs
    # per DARTS node ranked by the chosen op's weight); one op per edge stays as chosen
    strength = np.zeros((n_edges, n_ops))
    strength[np.arange(n_edges), chosen] = 1.0 + net.probabilities()[np.arange(n_edges), chosen]
    return net.derive(strength)


def prune_edges(net: Any, keep: int) -> list[list[Any]]:
    """DrNAS' progressive pruning: each edge keeps its ``keep`` strongest choices.

    Strength is the mixer's deterministic weight (operations pruned before
    stay pruned). The supernet's ``mask`` becomes 1 on the kept choices and
    0 elsewhere; returns the kept choices of each edge.
    """
    probs = net.probabilities()
    mask = torch.zeros(net.alphas.shape, device=net.alphas.device)
    kept = []
    for e, choices in enumerate(net.choices):
        row = probs[e, : len(choices)]
        alive = np.flatnonzero(row > 0) if net.mask is not None else np.arange(len(choices))
        top = alive[np.argsort(-row[alive], kind="stable")[:keep]]
        mask[e, top] = 1.0
        kept.append([choices[k] for k in sorted(top)])
    net.mask = mask
    return kept


def perturb_alphas(loop: SearchLoop, epsilon: float) -> None:
    """SDARTS-RS: add uniform noise in ``[-epsilon, epsilon]`` to ``alphas`` (kept to undo)."""
    alphas = loop.net.alphas
    noise = (torch.rand(alphas.shape, device=alphas.device) * 2 - 1) * epsilon
    loop.state["noise"] = noise
    with torch.no_grad():
        alphas.add_(noise)


def restore_alphas(loop: SearchLoop) -> None:
    """Undo :func:`perturb_alphas`."""
    noise = loop.state.pop("noise", None)
    if noise is not None:
        with torch.no_grad():
            loop.net.alphas.sub_(noise)


def eigenvalue_early_stop(loop: SearchLoop, record: dict[str, Any], window: int,
                          ratio: float, n_iter: int) -> bool:
    """RobustDARTS: record the Hessian's top eigenvalue; stop (and roll back) when it grew.

    Returns True when ``eig[t] / eig[t - window] > ratio``; the architecture
    parameters of epoch ``t - window`` are then restored.
    """
    eig = loop.hessian_eigenvalue(n_iter)
    record["eigenvalue"] = eig
    eigs = loop.state.setdefault("eigenvalues", [])
    snapshots = loop.state.setdefault("snapshots", [])
    eigs.append(eig)
    snapshots.append([p.detach().clone() for p in loop.net.arch_parameters()])
    if len(eigs) > window and eigs[-1 - window] > 0 and eigs[-1] / eigs[-1 - window] > ratio:
        with torch.no_grad():
            for param, saved in zip(loop.net.arch_parameters(), snapshots[-1 - window]):
                param.copy_(saved)
        record["rolled_back_to"] = len(eigs) - 1 - window
        return True
    return False


def fix_path(loop: SearchLoop, indices: list[int]) -> None:
    """Fix the supernet to one choice per edge (the path the next weight step trains)."""
    loop.net.set_fixed(indices)


def fix_random_path(loop: SearchLoop) -> None:
    """Fix a uniformly drawn path (random sampling with weight sharing)."""
    fix_path(loop, _random_path(loop))


def _random_path(loop: SearchLoop) -> list[int]:
    net = loop.net
    return net.path_indices([int(loop.rng.integers(n)) for n in net.path_sizes()])


def rank_sampled(loop: SearchLoop, n_samples: int,
                 sampler: Callable[[], list[int]] | None) -> list[list[int]]:
    """Draw ``n_samples`` distinct paths, score each with the shared weights, best first.

    The scores are kept in ``loop.state["extras"]["sampled"]`` as
    ``(params, score)`` pairs (the shared-weight ranking of the benchmark).
    """
    seen: dict[tuple[int, ...], float] = {}
    for _ in range(4 * n_samples):
        if len(seen) >= n_samples:
            break
        path = tuple(sampler() if sampler is not None else _random_path(loop))
        if path not in seen:
            seen[path] = loop.score(list(path))
    ranked = sorted(seen, key=lambda p: -seen[p])
    loop.state.setdefault("extras", {})["sampled"] = [
        (loop.net.to_params(p), seen[p]) for p in ranked
    ]
    return [list(p) for p in ranked]


def controller(loop: SearchLoop, strategy: Any) -> Any:
    """The ENAS controller of this search (built on first use, seeded from the search)."""
    if "controller" not in loop.state:
        from sknas.samplers._controller import Controller

        sizes = loop.net.path_sizes()
        seed = int(loop.rng.integers(2**31))
        loop.state["controller"] = Controller(
            sizes, "lstm", 64, seed, float(strategy.option("controller_lr"))
        )
        loop.state["baseline"] = None
    return loop.state["controller"]


def train_controller(loop: SearchLoop, strategy: Any) -> float:
    """REINFORCE steps of the controller on shared-weight validation accuracy; mean reward."""
    ctrl = controller(loop, strategy)
    rewards = []
    loop.net.clear_fixed()
    for _ in range(int(strategy.option("controller_steps"))):
        path = ctrl.sample()
        reward = loop.score(loop.net.path_indices(path), rows=loop.batch_size)
        baseline = loop.state["baseline"]
        baseline = reward if baseline is None else 0.95 * baseline + 0.05 * reward
        loop.state["baseline"] = baseline
        ctrl.step(path, reward - baseline, float(strategy.option("entropy_weight")))
        rewards.append(reward)
    return float(np.mean(rewards)) if rewards else float("nan")
