"""The REINFORCE controller: one torch module that samples and scores decisions.

Imported on first use only (it imports torch).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.distributions import Categorical

__all__ = ["Controller"]


class Controller(torch.nn.Module):
    """A policy over a sequence of categorical decisions, with its Adam optimiser.

    ``kind="lstm"`` is the recurrent controller of Zoph & Le: an
    ``torch.nn.LSTMCell`` reads the embedding of the previous decision (a start
    token first) and a linear head gives the logits of the next one.
    ``kind="independent"`` has one free vector of logits per decision. The
    same :meth:`forward` draws a sequence (``actions=None``) and scores a given
    one, so sampling and training use one set of weights and one code path.

    Parameters
    ----------
    sizes : sequence of int
        Number of choices of each decision.
    kind : {"lstm", "independent"}
        The policy.
    hidden : int
        Width of the LSTM (ignored by ``"independent"``).
    seed : int
        Seed of the initial weights (uniform on [-0.1, 0.1]; the independent
        logits start at zero, a uniform policy).
    lr : float
        Adam step size (betas 0.9, 0.999).
    """

    def __init__(self, sizes: Sequence[int], kind: str, hidden: int, seed: int, lr: float) -> None:
        super().__init__()
        self.sizes = [int(s) for s in sizes]
        self.kind = kind
        self.offsets = [0, *np.cumsum(self.sizes).tolist()]
        total = self.offsets[-1]
        init = np.random.default_rng(seed)

        def uniform(*shape: int) -> torch.Tensor:
            return torch.from_numpy(init.uniform(-0.1, 0.1, size=shape))

        dtype = torch.float64
        if kind == "lstm":
            # torch's default initialisation draws from the global generator: keep it untouched
            with torch.random.fork_rng(devices=[]):
                self.embed = torch.nn.Embedding(total + 1, hidden, dtype=dtype)  # last: start
                self.cell = torch.nn.LSTMCell(hidden, hidden, dtype=dtype)
                self.head = torch.nn.Linear(hidden, total, dtype=dtype)
            with torch.no_grad():
                self.embed.weight.copy_(uniform(total + 1, hidden))
                self.cell.weight_ih.copy_(uniform(4 * hidden, hidden))
                self.cell.weight_hh.copy_(uniform(4 * hidden, hidden))
                self.cell.bias_ih.copy_(uniform(4 * hidden))
                self.cell.bias_hh.zero_()
                self.head.weight.copy_(uniform(total, hidden))
                self.head.bias.zero_()
            # one bias per gate, as in the paper: the cell's second bias stays zero
            self.cell.bias_hh.requires_grad_(False)
        else:
            self.logits = torch.nn.Parameter(torch.zeros(total, dtype=dtype))
        self.optimizer = torch.optim.Adam(
            [p for p in self.parameters() if p.requires_grad], lr=lr
        )

    def forward(
        self, actions: Sequence[int] | None = None
    ) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """Walk the decisions, drawing each one (``actions=None``) or taking ``actions``.

        Parameters
        ----------
        actions : sequence of int, optional
            Decisions to score; None draws them from the policy (torch's
            global generator: seed it, inside ``torch.random.fork_rng``).

        Returns
        -------
        actions : list of int
            The decisions taken.
        log_prob : torch.Tensor
            Log-probability of the whole sequence (zero when drawing).
        entropy : torch.Tensor
            Sum of the entropies of the decisions along it (zero when drawing).
        """
        taken: list[int] = []
        log_prob = torch.zeros((), dtype=torch.float64)
        entropy = torch.zeros((), dtype=torch.float64)
        state: tuple[torch.Tensor, torch.Tensor] | None = None
        token = self.offsets[-1]  # the start token
        for k in range(len(self.sizes)):
            lo, hi = self.offsets[k], self.offsets[k + 1]
            if self.kind == "lstm":
                state = self.cell(self.embed.weight[token].unsqueeze(0), state)
                logits = self.head(state[0][0])[lo:hi]
            else:
                logits = self.logits[lo:hi]
            policy = Categorical(logits=logits, validate_args=False)
            if actions is None:
                action = int(policy.sample())
            else:
                action = int(actions[k])
                log_prob = log_prob + policy.log_prob(torch.tensor(action))
                entropy = entropy + policy.entropy()
            taken.append(action)
            token = lo + action
        return taken, log_prob, entropy

    def sample(self) -> list[int]:
        """Draw one decision per parameter from the policy."""
        with torch.inference_mode():
            return self(None)[0]

    def step(self, actions: Sequence[int], advantage: float, entropy_weight: float) -> None:
        """One Adam step on ``-advantage * log p(actions) - entropy_weight * entropy``."""
        _, log_prob, entropy = self(actions)
        loss = -advantage * log_prob - entropy_weight * entropy
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
