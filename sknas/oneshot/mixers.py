"""Edge mixers: how a mixed edge of a supernet combines its candidate operations.

A mixed edge holds one module per candidate operation and a row of
architecture parameters ``alpha``; the mixer turns ``alpha`` into operation
weights and the weights into the edge's output. Each one-shot method is one
of these mixers plus a training rule (:mod:`sknas.oneshot.rules`).

Every mixer honours a *fixed* operation (``fixed`` is an index): the edge then
computes that operation alone, which is how a discrete cell is evaluated with
the supernet's shared weights (random sampling with weight sharing, ENAS,
DARTS-PT's final choice).

Imported on first use only (it imports torch).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "EdgeMixer",
    "SoftmaxMixer",
    "GumbelMixer",
    "DirichletMixer",
    "SigmoidMixer",
    "UniformMixer",
    "BinaryGateMixer",
    "PartialChannelMixer",
    "MIXERS",
    "make_mixer",
]


def _weighted_sum(ops: nn.ModuleList, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``sum_k w_k op_k(x)``, skipping operations whose weight is exactly zero.

    A skipped operation adds ``w_k`` (a zero scalar) so that a straight-through
    estimator still passes a gradient to its architecture parameter.
    """
    total: Any = 0.0
    for k, op in enumerate(ops):
        w = weights[k]
        if w.detach().item() == 0.0:
            total = total + w
        else:
            total = total + w * op(x)
    return total


def _masked(weights: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return weights if mask is None else weights * mask


class EdgeMixer:
    """Base class of edge mixers; subclasses define :meth:`weights`.

    Attributes
    ----------
    name : str
        Short name of the mixer.
    channel_fraction : int
        Operations of a mixed edge see ``channels // channel_fraction`` channels
        (PC-DARTS' partial channels; 1 elsewhere).
    edge_normalization : bool
        Whether the supernet weights each node's incoming edges by a softmax
        over its own edge parameters (PC-DARTS).
    """

    name = "mixer"
    channel_fraction = 1
    edge_normalization = False

    def __init__(self) -> None:
        self.temperature = 1.0

    def weights(self, alpha: torch.Tensor, training: bool) -> torch.Tensor:
        """Operation weights of one edge from its architecture parameters.

        Parameters
        ----------
        alpha : torch.Tensor of shape (n_ops,)
            The edge's architecture parameters.
        training : bool
            Whether the supernet is in training mode (sampling mixers sample
            only then; in evaluation they use their expected weights).

        Returns
        -------
        torch.Tensor of shape (n_ops,)
        """
        raise NotImplementedError

    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:
        """The deterministic weights used to read the architecture off the supernet.

        Parameters
        ----------
        alpha : torch.Tensor of shape (n_ops,)

        Returns
        -------
        torch.Tensor of shape (n_ops,)
        """
        return torch.softmax(alpha, dim=-1)

    def mix(
        self,
        ops: nn.ModuleList,
        x: torch.Tensor,
        alpha: torch.Tensor,
        training: bool,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The edge's output for input ``x``.

        Parameters
        ----------
        ops : torch.nn.ModuleList
            The candidate operations.
        x : torch.Tensor
            The edge's input.
        alpha : torch.Tensor of shape (n_ops,)
            The edge's architecture parameters.
        training : bool
            Training mode of the supernet.
        mask : torch.Tensor of shape (n_ops,), optional
            Multiplies the weights (0 removes an operation: DARTS-PT's perturbation).

        Returns
        -------
        torch.Tensor
        """
        return _weighted_sum(ops, x, self.apply_mask(self.weights(alpha, training), mask))

    def apply_mask(self, weights: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The weights with ``mask`` applied (hook: the plain product by default).

        Parameters
        ----------
        weights : torch.Tensor of shape (n_ops,)
        mask : torch.Tensor of shape (n_ops,), optional

        Returns
        -------
        torch.Tensor of shape (n_ops,)
        """
        return _masked(weights, mask)


class SoftmaxMixer(EdgeMixer):
    """DARTS: ``softmax(alpha / temperature)``, every operation computed."""

    name = "softmax"

    def weights(self, alpha: torch.Tensor, training: bool) -> torch.Tensor:  # noqa: D102
        return torch.softmax(alpha / self.temperature, dim=-1)


class GumbelMixer(EdgeMixer):
    """Gumbel-softmax relaxation: soft (SNAS, FBNet) or hard straight-through (GDAS).

    Parameters
    ----------
    hard : bool, default=False
        With ``hard=True`` one operation per edge is drawn (Gumbel-max) and only
        it is computed; the gradient reaches every ``alpha`` through the
        straight-through estimator.
    """

    def __init__(self, hard: bool = False) -> None:
        super().__init__()
        self.hard = hard
        self.name = "gumbel_hard" if hard else "gumbel"

    def weights(self, alpha: torch.Tensor, training: bool) -> torch.Tensor:  # noqa: D102
        if not training:
            probs = torch.softmax(alpha, dim=-1)
            if not self.hard:
                return probs
            return F.one_hot(probs.argmax(), probs.numel()).to(probs.dtype)
        return F.gumbel_softmax(alpha, tau=self.temperature, hard=self.hard, dim=-1)


class DirichletMixer(EdgeMixer):
    """DrNAS: weights drawn from ``Dirichlet(elu(alpha) + 1)`` by reparameterisation.

    A ``mask`` prunes operations (DrNAS' progressive pruning): the weights
    of the kept operations are renormalised to sum to 1.
    """

    name = "dirichlet"

    @staticmethod
    def concentration(alpha: torch.Tensor) -> torch.Tensor:
        """The Dirichlet concentration ``elu(alpha) + 1`` (positive).

        Parameters
        ----------
        alpha : torch.Tensor

        Returns
        -------
        torch.Tensor
        """
        return F.elu(alpha) + 1.0

    def weights(self, alpha: torch.Tensor, training: bool) -> torch.Tensor:  # noqa: D102
        conc = self.concentration(alpha)
        if training:
            return torch.distributions.Dirichlet(conc).rsample()
        return conc / conc.sum()

    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:  # noqa: D102
        conc = self.concentration(alpha)
        return conc / conc.sum()

    def apply_mask(  # noqa: D102
        self, weights: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        if mask is None:
            return weights
        kept = weights * mask  # pruned operations: the kept weights sum to 1 again
        return kept / kept.sum()


class SigmoidMixer(EdgeMixer):
    """Fair DARTS: independent ``sigmoid(alpha)`` weights (no competition between ops)."""

    name = "sigmoid"

    def weights(self, alpha: torch.Tensor, training: bool) -> torch.Tensor:  # noqa: D102
        return torch.sigmoid(alpha)

    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.sigmoid(alpha)


class UniformMixer(EdgeMixer):
    """Uniform path sampling (random search with weight sharing, ENAS).

    In training an edge without a fixed operation draws one uniformly and
    computes it alone; the training rule usually fixes a whole path first.
    """

    name = "uniform"

    def weights(self, alpha: torch.Tensor, training: bool) -> torch.Tensor:  # noqa: D102
        n = alpha.numel()
        if not training:
            return torch.full_like(alpha, 1.0 / n)
        k = int(torch.randint(n, (1,)).item())
        return F.one_hot(torch.tensor(k), n).to(alpha.dtype)

    def probabilities(self, alpha: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.full_like(alpha, 1.0 / alpha.numel())


class BinaryGateMixer(EdgeMixer):
    """ProxylessNAS: binary gates drawn from ``softmax(alpha)``.

    Weight steps draw one operation and compute it alone (the memory of one
    path). Architecture steps (``arch_step=True``) draw two distinct
    operations, re-normalise ``alpha`` over them and gate one of the two with
    a straight-through estimator, as ProxylessNAS' two-path update does; only
    those two operations are computed.
    """

    name = "binary_gate"

    def __init__(self) -> None:
        super().__init__()
        self.arch_step = False

    def weights(self, alpha: torch.Tensor, training: bool) -> torch.Tensor:  # noqa: D102
        probs = torch.softmax(alpha, dim=-1)
        if not training:
            return probs
        k = torch.multinomial(probs.detach(), 1)[0]
        return F.one_hot(k, probs.numel()).to(probs.dtype)

    def mix(  # noqa: D102
        self,
        ops: nn.ModuleList,
        x: torch.Tensor,
        alpha: torch.Tensor,
        training: bool,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if not (training and self.arch_step) or alpha.numel() < 2:
            return _weighted_sum(ops, x, _masked(self.weights(alpha, training), mask))
        probs = torch.softmax(alpha.detach(), dim=-1)
        pair = [int(k) for k in torch.multinomial(probs, 2, replacement=False)]
        sub = torch.softmax(alpha[pair], dim=-1)
        chosen = torch.multinomial(sub.detach(), 1)[0]
        gate = F.one_hot(chosen, 2).to(sub.dtype) - sub.detach() + sub
        return gate[0] * ops[pair[0]](x) + gate[1] * ops[pair[1]](x)


class PartialChannelMixer(SoftmaxMixer):
    """PC-DARTS: a softmax mix over ``1/k`` of the channels, the rest bypass the edge.

    The sampled channels (the first ``C/k``; the channel shuffle that follows
    moves different channels there at the next edge) go through the softmax
    mixture of operations built for ``C/k`` channels; the others are
    concatenated back unchanged (max-pooled by 2 on a strided edge, as in
    PC-DARTS' reduction cells) and the channels are shuffled in ``k``
    groups. The supernet also normalises each node's incoming edges
    (``edge_normalization``).

    Parameters
    ----------
    k : int, default=4
        Channel fraction (PC-DARTS' ``K``); 1 mixes every channel.
    """

    name = "partial_channel"
    edge_normalization = True

    def __init__(self, k: int = 4) -> None:
        super().__init__()
        self.channel_fraction = int(k)

    def mix(  # noqa: D102
        self,
        ops: nn.ModuleList,
        x: torch.Tensor,
        alpha: torch.Tensor,
        training: bool,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        k = self.channel_fraction
        if k <= 1:
            return super().mix(ops, x, alpha, training, mask)
        part = x.shape[1] // k
        out = _weighted_sum(ops, x[:, :part], _masked(self.weights(alpha, training), mask))
        rest = x[:, part:]
        if rest.shape[-1] != out.shape[-1]:  # a strided edge: the bypass is max-pooled too
            rest = F.max_pool2d(rest, 2, 2, ceil_mode=True)
        merged = torch.cat([out, rest], dim=1)
        n, c, h, w = merged.shape
        return merged.view(n, k, c // k, h, w).transpose(1, 2).reshape(n, c, h, w)


#: Mixer names and their classes.
MIXERS: dict[str, Any] = {
    "softmax": SoftmaxMixer,
    "gumbel": lambda: GumbelMixer(hard=False),
    "gumbel_hard": lambda: GumbelMixer(hard=True),
    "dirichlet": DirichletMixer,
    "sigmoid": SigmoidMixer,
    "uniform": UniformMixer,
    "binary_gate": BinaryGateMixer,
    "partial_channel": PartialChannelMixer,
}


def make_mixer(mixer: str | EdgeMixer) -> EdgeMixer:
    """The mixer of a name (see :data:`MIXERS`), or ``mixer`` itself.

    Parameters
    ----------
    mixer : str or EdgeMixer

    Returns
    -------
    EdgeMixer
    """
    if isinstance(mixer, EdgeMixer):
        return mixer
    if mixer not in MIXERS:
        raise ValueError(f"Unknown edge mixer {mixer!r}; valid names are {sorted(MIXERS)}.")
    return MIXERS[mixer]()
